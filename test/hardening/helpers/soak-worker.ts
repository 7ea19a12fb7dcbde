/**
 * One process of the soak test: a NetworkManager on the shared conf and cache dirs running random
 * setups, teardowns and GCs on a shared pool of containers, one at a time, until `stop` arrives on
 * stdin (or it is killed). Run with --expose-gc.
 *
 *   node --expose-gc --import tsx soak-worker.ts <confDir> <pluginDir> <cacheDir> <containers> <seed>
 *
 * Prints `ready`, then after each operation `stats <ops> <errors> <fds> <heapUsed> <rss>` (fds and
 * heap measured between operations, after a full GC), `error <name>: <message>` for each failure,
 * and `stopped` at the end.
 */
import { readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { NetworkManager } from '../../../src/runtime/manager.ts';

const [confDir, pluginDir, cacheDir, containers, seedText] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const ids = containers.split(',');
let seed = Number(seedText) >>> 0 || 1;
/** xorshift32: a reproducible sequence per worker. */
function random(n: number): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
}

const manager = new NetworkManager({
  confDir,
  pluginDirs: [pluginDir],
  cacheDir,
  networks: 'all',
  lockFiles: true,
  lockTimeoutMs: 60_000,
});
await manager.start();
const control = { stop: false };
createInterface({ input: process.stdin }).on('line', (l) => {
  if (l === 'stop') control.stop = true;
});
process.stdout.write('ready\n');

const gc = (globalThis as { gc?: () => void }).gc;
let ops = 0;
let errors = 0;
while (!control.stop) {
  const id = ids[random(ids.length)] as string;
  const roll = random(100);
  try {
    if (roll < 45) await manager.setup(id, `/run/netns/${id}`);
    else if (roll < 90) await manager.teardown(id, `/run/netns/${id}`);
    else {
      const valid = ids.filter(() => random(2) === 0);
      const report = await manager.gc(valid);
      for (const e of report.errors) throw e;
    }
  } catch (e) {
    errors++;
    const err = e as Error;
    process.stdout.write(`error ${err.name}: ${err.message.replace(/\n/g, ' ')}\n`);
  }
  ops++;
  gc?.();
  const mem = process.memoryUsage();
  const fds = readdirSync('/proc/self/fd').length;
  process.stdout.write(`stats ${ops} ${errors} ${fds} ${mem.heapUsed} ${mem.rss}\n`);
}
await manager.close();
process.stdout.write('stopped\n');
// stdin stays open (the parent's pipe) and would keep the process alive.
process.exit(0);

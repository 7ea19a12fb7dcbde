/**
 * Section 6 (runs in its own process, started by bench/memory.ts): memory after many ADD/DEL
 * cycles of the fixture chain through CNIConfig, 8 containers at a time. After a warm-up, at each
 * checkpoint (cycles done) it forces two full GCs and prints one JSON line with
 * process.memoryUsage(). Needs --expose-gc.
 *
 *   node --expose-gc --import tsx bench/memory-child.ts <exec: default|spawner> <checkpoint>...
 */
import { CNIConfig } from '../src/cni/index.ts';
import { networkConfFromBytes } from '../src/config/parse.ts';
import { DefaultExec } from '../src/invoke/exec.ts';
import { SpawnerExec } from '../src/invoke/spawner.ts';
import { FIXTURE_CONFLIST, FIXTURE_PLUGIN_DIR } from './fixture-chain.ts';
import { onCleanup, runWithCleanup, scratchDir } from './scratch.ts';
import { now, pool } from './stats.ts';

const WARMUP = 200;
const WIDTH = 8;

await runWithCleanup(async () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  const mode = process.argv[2];
  const checkpoints = process.argv.slice(3).map(Number);
  const helperPath = process.env.LIBCNI_BENCH_HELPER;
  const exec =
    mode === 'spawner' ? new SpawnerExec(helperPath ? { helperPath } : undefined) : new DefaultExec();
  if (exec instanceof SpawnerExec) onCleanup('close spawner', () => exec.close());
  const cni = new CNIConfig({ path: [FIXTURE_PLUGIN_DIR], cacheDir: await scratchDir('mem'), exec });
  const list = networkConfFromBytes(FIXTURE_CONFLIST);
  const cycle = async (i: number): Promise<void> => {
    const rt = { containerId: `lcb-mem-${String(i)}`, netns: '/run/netns/lcb-mem', ifName: 'eth0' };
    await cni.addNetworkList(list, rt);
    await cni.delNetworkList(list, rt);
  };
  await pool(WARMUP, WIDTH, cycle);
  let done = 0;
  const t0 = now();
  for (const target of checkpoints) {
    await pool(target - done, WIDTH, (i) => cycle(done + i));
    done = target;
    gc();
    gc();
    const m = process.memoryUsage();
    console.log(
      JSON.stringify({
        cycles: done,
        elapsedMs: now() - t0,
        rss: m.rss,
        heapUsed: m.heapUsed,
        heapTotal: m.heapTotal,
        external: m.external,
        arrayBuffers: m.arrayBuffers,
      }),
    );
  }
});

/**
 * Watch a config dir: a `NetworkManager` with `watch: true` reloads when a file in `confDir` changes
 * and says so with a `configLoaded` event (its `reason` is `change`). Here a network file is
 * written, seen loaded, removed, and seen gone. No plugin runs, so no root is needed; a network is
 * only used when its plugins are installed, so the reference plugins must be there.
 *
 *   node --import tsx examples/watch-config.ts [--work <dir>] [--plugins /usr/lib/cni]
 *
 * It removes its temp dir at the end; `--work` uses that dir instead and leaves it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type ConfigLoadedEvent, NetworkManager } from '../src/index.ts';

const { values: opt } = parseArgs({
  options: { work: { type: 'string' }, plugins: { type: 'string', default: '/usr/lib/cni' } },
});
const work = opt.work ?? (await mkdtemp(path.join(os.tmpdir(), 'libcni-watch-')));
const confDir = path.join(work, 'net.d');

const manager = new NetworkManager({
  confDir,
  pluginDirs: [opt.plugins],
  cacheDir: path.join(work, 'cache'),
  networks: 'all',
  // The manager was asked for networks, but an empty dir is a normal start here.
  minNetworks: 0,
  watch: true,
});
manager.on('watchError', (e) => {
  console.error(`watch error: ${e.message}`);
});

/** The next `configLoaded` event that `wanted` accepts; fails after 30 s rather than hanging. */
function nextLoad(wanted: (e: ConfigLoadedEvent) => boolean): Promise<ConfigLoadedEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      manager.off('configLoaded', listener);
      reject(new Error('no matching configLoaded event within 30 s'));
    }, 30_000);
    const listener = (e: ConfigLoadedEvent): void => {
      if (!wanted(e)) return;
      clearTimeout(timer);
      manager.off('configLoaded', listener);
      resolve(e);
    };
    manager.on('configLoaded', listener);
  });
}
const names = (e: ConfigLoadedEvent): string => e.networks.map((n) => n.name).join(',') || '(none)';

try {
  await manager.start(); // creates confDir if missing, loads it (empty), starts watching
  const initial = manager.networks.map((n) => n.name).join(',') || '(none)';
  console.log(`watching ${confDir}: networks ${initial}`);

  const file = path.join(confDir, '10-watched.conflist');
  const loaded = nextLoad((e) => e.networks.some((n) => n.name === 'watched'));
  await writeFile(
    file,
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'watched',
      plugins: [
        { type: 'bridge', bridge: 'cni-watched', ipam: { type: 'host-local', subnet: '10.214.0.0/24' } },
      ],
    }),
  );
  const added = await loaded;
  console.log(`configLoaded (${added.reason}): networks ${names(added)}`);

  const unloaded = nextLoad((e) => !e.networks.some((n) => n.name === 'watched'));
  await rm(file);
  const removed = await unloaded;
  console.log(`configLoaded (${removed.reason}): networks ${names(removed)}`);
} finally {
  await manager.close();
  if (opt.work === undefined) await rm(work, { recursive: true, force: true });
}

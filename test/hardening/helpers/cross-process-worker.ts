/**
 * One of the two processes of the cross-process test: a NetworkManager on the shared conf dir and
 * cache dir that sets up and tears down the shared containers over and over.
 *
 *   node --import tsx cross-process-worker.ts <confDir> <pluginDir> <cacheDir> <goFile> <iterations> <lockFiles>
 *
 * Prints `ready` once loaded, starts when <goFile> exists, prints `done` at the end.
 */
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { NetworkManager } from '../../../src/runtime/manager.ts';

const [confDir, pluginDir, cacheDir, goFile, iterations, lockFiles] = process.argv.slice(2);
const manager = new NetworkManager({
  confDir: confDir as string,
  pluginDirs: [pluginDir as string],
  cacheDir,
  lockFiles: lockFiles === 'true',
  lockTimeoutMs: 60_000,
});
await manager.start();
process.stdout.write('ready\n');
while (!existsSync(goFile as string)) await sleep(2);
await Promise.all(
  ['shared-0', 'shared-1'].map(async (id) => {
    for (let i = 0; i < Number(iterations); i++) {
      await manager.setup(id, `/run/netns/${id}`);
      await manager.teardown(id, `/run/netns/${id}`);
    }
  }),
);
process.stdout.write('done\n');

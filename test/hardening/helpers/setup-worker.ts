/**
 * A process that sets up one container through a NetworkManager and is killed while it does so
 * (crash-mid-add test), or runs random operations (soak test, see soak-worker.ts).
 *
 *   node --import tsx setup-worker.ts <confDir> <pluginDir> <cacheDir> <containerId>
 *
 * Prints `ready` once loaded, then sets up <containerId> in a made-up namespace path.
 */
import { NetworkManager } from '../../../src/runtime/manager.ts';

const [confDir, pluginDir, cacheDir, containerId] = process.argv.slice(2) as [string, string, string, string];
const manager = new NetworkManager({ confDir, pluginDirs: [pluginDir], cacheDir, networks: 'all' });
await manager.start();
process.stdout.write('ready\n');
await manager.setup(containerId, `/run/netns/${containerId}`);
process.stdout.write('done\n');

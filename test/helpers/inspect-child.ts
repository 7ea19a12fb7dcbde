// Run as its own process (`node --import tsx test/helpers/inspect-child.ts '<json>'`) to call
// NetworkManager.inspect in a process that never ran setup, as a restarted runtime would. Argument:
// { confDir, pluginDirs, cacheDir, containerId, check? }. Prints the report as JSON on stdout,
// errors replaced by their name and message.
import { NetworkManager } from '../../src/runtime/manager.ts';

interface ChildArgs {
  confDir: string;
  pluginDirs: string[];
  cacheDir: string;
  containerId: string;
  check?: boolean;
}

const args = JSON.parse(process.argv[2] ?? '{}') as ChildArgs;
const manager = new NetworkManager({
  confDir: args.confDir,
  pluginDirs: args.pluginDirs,
  cacheDir: args.cacheDir,
  timeoutMs: 30_000,
});
const report = await manager.inspect(args.containerId, { check: args.check === true });
await manager.close();
process.stdout.write(
  JSON.stringify(report, (_key, value: unknown) =>
    value instanceof Error ? { name: value.name, message: value.message } : value,
  ),
);

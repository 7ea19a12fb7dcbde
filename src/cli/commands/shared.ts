/**
 * What the plugin-running commands share: loading the named network, building the CNIConfig from
 * the environment, and the up-front checks that make bad input fail before any plugin runs.
 */
import { stat } from 'node:fs/promises';
import { CNIConfig } from '../../cni/index.ts';
import { loadNetworkConf } from '../../config/load.ts';
import type { NetworkConfigList } from '../../config/types.ts';
import { NativeExec } from '../../invoke/native-exec.ts';
import { netnsExists } from '../../netns/netns.ts';
import { ErrorCode, ValidationError } from '../../core/errors.ts';
import type { CliOptions } from '../args.ts';
import type { CliIO } from '../output.ts';
import { cacheDirOf, cniPath, netConfPath } from '../runtime-inputs.ts';
import { verboseExec } from '../verbose.ts';

/** The network `name` from NETCONFPATH, with Go's lookup and errors. */
export function loadNamedNetwork(name: string, io: CliIO): Promise<NetworkConfigList> {
  return loadNetworkConf(netConfPath(io.env), name);
}

/**
 * A CNIConfig for this invocation: CNI_PATH, the cache dir, --timeout, plugin stderr copied to
 * ours as Go's DefaultExec does, and with --verbose each plugin call shown (verbose.ts).
 */
export function cniConfigFor(options: CliOptions, io: CliIO): CNIConfig {
  const exec = new NativeExec({
    onStderr: (_plugin, text) => {
      io.stderr(text.endsWith('\n') ? text : `${text}\n`);
    },
  });
  return new CNIConfig({
    path: cniPath(io.env),
    cacheDir: cacheDirOf(options.cacheDir, io.env),
    timeoutMs: options.timeoutMs,
    // Forwarded by the exec below, to `io.stderr` (the process's stderr, or a test's recorder).
    stderr: 'ignore',
    exec: options.verbose ? verboseExec(exec, io) : exec,
  });
}

/**
 * Every plugin of the list must be on CNI_PATH before the first one runs: otherwise a chain that
 * fails at its third plugin has already made a bridge, a veth and an IP lease that nobody asked for.
 */
export async function requirePlugins(cni: CNIConfig, list: NetworkConfigList): Promise<void> {
  for (const plugin of list.plugins) {
    await cni.findPlugin(plugin.network.type);
  }
}

/**
 * ADD and CHECK need a real network namespace: plugins such as bridge create host-side devices
 * before they open the namespace, so a wrong path would leave those behind.
 */
export async function requireNetns(nsPath: string): Promise<void> {
  if (await netnsExists(nsPath)) return;
  let exists = false;
  try {
    await stat(nsPath);
    exists = true;
  } catch {
    // missing (or unreadable, which netnsExists would have reported)
  }
  const msg = exists
    ? `${nsPath} is not a network namespace (expected e.g. /var/run/netns/<name> or /proc/<pid>/ns/net)`
    : `network namespace ${nsPath} does not exist (create one with "cnitool netns add <name>" or "ip netns add <name>")`;
  throw new ValidationError('netns', ErrorCode.InvalidNetNS, msg);
}

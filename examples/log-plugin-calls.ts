/**
 * Log every CNI plugin call and every operation, with nothing but `node:diagnostics_channel`.
 *
 * libcni publishes on two TracingChannels (and nothing at all while nobody subscribes):
 * - `libcni:plugin`: one plugin process — command, plugin type, plugin path, network, container
 *   id, interface, duration, exit code (and signal), the error if it failed;
 * - `libcni:operation`: one ADD/CHECK/DEL/GC/STATUS of a network list — command, network, plugin
 *   types, container id, interface, duration, the spec error code if it failed.
 * Both carry the TRACEPARENT handed to the plugins, when there is one.
 *
 * Run it (VERSION calls only, no root needed):
 *   node --import tsx examples/log-plugin-calls.ts /etc/cni/net.d/10-mynet.conflist
 * With a network namespace (root): ADD, CHECK and DEL of container `log-example`:
 *   ip netns add demo
 *   node --import tsx examples/log-plugin-calls.ts /etc/cni/net.d/10-mynet.conflist /run/netns/demo
 *
 * Output (one line per event, on stderr):
 *   libcni plugin    ADD   bridge   net=mynet ctr=log-example if=eth0 exit=0 12.3ms
 *   libcni operation ADD   mynet    ctr=log-example if=eth0 ok 15.8ms
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { pathToFileURL } from 'node:url';
import { CHANNELS, type OperationMessage, type PluginCallMessage } from '../src/core/diagnostics.ts';
import { CNIConfig, networkConfFromFile } from '../src/index.ts';

/**
 * Subscribe a logger to both channels; returns the function that unsubscribes it. Only the
 * `asyncEnd` event is needed (the `tracing:<name>:asyncEnd` channel): by then the message holds the
 * duration, exit code and error. Subscribe to `start` as well to see calls begin.
 */
export function logPluginCalls(
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): () => void {
  // A TracingChannel named N publishes on the channels `tracing:N:start`, `:end`, `:asyncStart`,
  // `:asyncEnd` and `:error`; `tracingChannel(N).subscribe({...})` subscribes to several at once.
  const pluginEnd = `tracing:${CHANNELS.plugin}:asyncEnd`;
  const operationEnd = `tracing:${CHANNELS.operation}:asyncEnd`;
  const where = (m: {
    network?: string | undefined;
    containerId?: string | undefined;
    ifName?: string | undefined;
  }) =>
    [m.network && `net=${m.network}`, m.containerId && `ctr=${m.containerId}`, m.ifName && `if=${m.ifName}`]
      .filter(Boolean)
      .join(' ');
  const onPlugin = (message: unknown) => {
    const m = message as PluginCallMessage;
    const outcome = m.signal ? `signal=${m.signal}` : `exit=${m.exitCode ?? '?'}`;
    const failure = m.error === undefined ? '' : ` error: ${(m.error as Error).message}`;
    log(
      `libcni plugin    ${m.command.padEnd(7)} ${String(m.plugin).padEnd(10)} ${where(m)} ${outcome} ${(m.durationMs ?? 0).toFixed(1)}ms${failure}`,
    );
  };
  const onOperation = (message: unknown) => {
    const m = message as OperationMessage;
    const outcome = m.error === undefined ? 'ok' : `failed code=${m.errorCode ?? '-'}`;
    log(
      `libcni operation ${m.command.padEnd(7)} ${m.network.padEnd(10)} ${where({ containerId: m.containerId, ifName: m.ifName })} ${outcome} ${(m.durationMs ?? 0).toFixed(1)}ms`,
    );
  };
  subscribe(pluginEnd, onPlugin);
  subscribe(operationEnd, onOperation);
  return () => {
    unsubscribe(pluginEnd, onPlugin);
    unsubscribe(operationEnd, onOperation);
  };
}

async function main(conflist: string, netns: string | undefined): Promise<void> {
  const stop = logPluginCalls();
  try {
    const list = await networkConfFromFile(conflist);
    const cni = new CNIConfig({
      path: (process.env.CNI_PATH ?? '/opt/cni/bin:/usr/lib/cni').split(':'),
      cacheDir: process.env.CNI_CACHE_DIR,
      timeoutMs: 30_000,
    });
    await cni.validateNetworkList(list);
    if (netns !== undefined) {
      const rt = { containerId: 'log-example', netns, ifName: 'eth0' };
      await cni.addNetworkList(list, rt);
      await cni.checkNetworkList(list, rt).catch(() => undefined); // CHECK needs spec >= 0.4.0
      await cni.delNetworkList(list, rt);
    }
  } finally {
    stop();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [conflist, netns] = process.argv.slice(2);
  if (conflist === undefined) {
    process.stderr.write('usage: log-plugin-calls.ts <conflist> [netns-path]\n');
    process.exit(2);
  }
  main(conflist, netns).catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}

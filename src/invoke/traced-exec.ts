/**
 * An {@link Exec} that publishes every plugin call on the `libcni:plugin` TracingChannel
 * (core/diagnostics.ts). CNIConfig wraps whatever Exec it is given with it.
 */
import { performance } from 'node:perf_hooks';
import { listened, type PluginCallMessage, pluginChannel } from '../core/diagnostics.ts';
import { type ErrorContext, PluginError } from '../core/errors.ts';
import type { Exec, ExecOptions, ExecOutput } from './exec.ts';

/**
 * Wrap an {@link Exec} so that every `execPlugin` call is published on `libcni:plugin`. The wrapper
 * checks for subscribers on every call, so subscribing later works, and calls straight through when
 * there are none.
 */
export function tracePluginCalls(exec: Exec): Exec {
  return {
    execPlugin(
      pluginPath: string,
      stdin: Uint8Array,
      env: Record<string, string>,
      options?: ExecOptions,
    ): Promise<ExecOutput> {
      if (!listened(pluginChannel)) return exec.execPlugin(pluginPath, stdin, env, options);
      const ctx = options?.context;
      const message: PluginCallMessage = {
        command: options?.command ?? env.CNI_COMMAND ?? '',
        plugin: ctx?.plugin,
        pluginPath,
        network: ctx?.network,
        containerId: ctx?.containerId,
        ifName: ctx?.ifName,
        traceparent: env.TRACEPARENT,
      };
      const started = performance.now();
      return pluginChannel.tracePromise(async () => {
        try {
          const out = await exec.execPlugin(pluginPath, stdin, env, options);
          message.durationMs = out.durationMs;
          message.exitCode = out.exitCode;
          message.signal = null;
          return out;
        } catch (e) {
          // Facts of the run travel on the error; an Exec that throws something else has none.
          const run = e instanceof PluginError ? e.exec : undefined;
          message.durationMs = run?.durationMs ?? performance.now() - started;
          message.exitCode = run?.exitCode ?? null;
          message.signal = run?.signal ?? null;
          throw e;
        }
      }, message);
    },
    findInPath(type: string, paths: readonly string[], context?: ErrorContext): Promise<string> {
      return exec.findInPath(type, paths, context);
    },
  };
}

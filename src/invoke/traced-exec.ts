/**
 * An {@link Exec} that publishes every plugin call on the `libcni:plugin` TracingChannel
 * (core/diagnostics.ts). CNIConfig wraps whatever Exec it is given with it.
 */
import { performance } from 'node:perf_hooks';
import { listened, type PluginCallMessage, pluginChannel } from '../core/diagnostics.ts';
import { PluginError } from '../core/errors.ts';
import type { Exec } from './exec.ts';
import { commandOf } from './exec-options.ts';

/**
 * Wrap an {@link Exec} so that every `execPlugin` call is published on `libcni:plugin`. The wrapper
 * checks for subscribers on every call, so subscribing later works, and calls straight through when
 * there are none.
 */
export function tracePluginCalls(exec: Exec): Exec {
  return {
    // Parameter types come from Exec.
    execPlugin(pluginPath, stdin, env, options) {
      if (!listened(pluginChannel)) return exec.execPlugin(pluginPath, stdin, env, options);
      const ctx = options?.context;
      const message: PluginCallMessage = {
        command: commandOf(options, env),
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
    findInPath(type, paths, context) {
      return exec.findInPath(type, paths, context);
    },
  };
}

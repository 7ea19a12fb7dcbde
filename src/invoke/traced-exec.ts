/**
 * An {@link Exec} that publishes every plugin call on the `libcni:plugin` TracingChannel
 * (core/diagnostics.ts). CNIConfig wraps whatever Exec it is given with it.
 */
import { performance } from 'node:perf_hooks';
import {
  listened,
  type PluginCallMessage,
  type PluginCallOutput,
  pluginChannel,
  roundMs,
  stderrTail,
} from '../core/diagnostics.ts';
import { PluginError } from '../core/errors.ts';
import type { Exec, ExecOutput } from './exec.ts';
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
      let out: ExecOutput | undefined;
      // What the channel's `result` holds is a summary that logs well as JSON (text, not a Buffer);
      // the caller still gets the ExecOutput itself.
      return pluginChannel
        .tracePromise(async (): Promise<PluginCallOutput> => {
          try {
            out = await exec.execPlugin(pluginPath, stdin, env, options);
            message.durationMs = roundMs(out.durationMs);
            message.exitCode = out.exitCode;
            message.signal = null;
            message.stderr = stderrTail(out.stderr);
            return { stdout: out.stdout.toString('utf8'), stderr: out.stderr, exitCode: out.exitCode };
          } catch (e) {
            // Facts of the run travel on the error; an Exec that throws something else has none.
            const run = e instanceof PluginError ? e.exec : undefined;
            message.durationMs = roundMs(run?.durationMs ?? performance.now() - started);
            message.exitCode = run?.exitCode ?? null;
            message.signal = run?.signal ?? null;
            message.stderr = stderrTail(run?.stderr ?? '');
            throw e;
          }
        }, message)
        .then(() => out as ExecOutput);
    },
    findInPath(type, paths, context) {
      return exec.findInPath(type, paths, context);
    },
  };
}

/**
 * An {@link Exec} that publishes every plugin call on the `libcni:plugin` TracingChannel
 * (core/diagnostics.ts), and hands the same message to one CNIConfig's observer (its logger).
 * CNIConfig wraps whatever Exec it is given with it.
 */
import { performance } from 'node:perf_hooks';
import {
  listened,
  type PluginCallMessage,
  type PluginCallOutput,
  pluginChannel,
  roundMs,
  settle,
  stderrTail,
} from '../core/diagnostics.ts';
import { PluginError } from '../core/errors.ts';
import type { Exec, ExecOutput } from './exec.ts';
import { commandOf } from './exec-options.ts';

/**
 * Wrap an {@link Exec} so that every `execPlugin` call is published on `libcni:plugin`, and given
 * settled to `observe` when there is one (it must not throw). The wrapper checks for subscribers on
 * every call, so subscribing later works, and calls straight through when there are none and no
 * observer.
 */
export function tracePluginCalls(exec: Exec, observe?: (message: PluginCallMessage) => void): Exec {
  return {
    // Parameter types come from Exec.
    execPlugin(pluginPath, stdin, env, options) {
      const publish = listened(pluginChannel);
      if (!publish && observe === undefined) return exec.execPlugin(pluginPath, stdin, env, options);
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
      const run = async (): Promise<PluginCallOutput> => {
        try {
          out = await exec.execPlugin(pluginPath, stdin, env, options);
          message.durationMs = roundMs(out.durationMs);
          message.exitCode = out.exitCode;
          message.signal = null;
          message.stderr = stderrTail(out.stderr);
          return { stdout: out.stdout.toString('utf8'), stderr: out.stderr, exitCode: out.exitCode };
        } catch (e) {
          // Facts of the run travel on the error; an Exec that throws something else has none.
          const facts = e instanceof PluginError ? e.exec : undefined;
          message.durationMs = roundMs(facts?.durationMs ?? performance.now() - started);
          message.exitCode = facts?.exitCode ?? null;
          message.signal = facts?.signal ?? null;
          message.stderr = stderrTail(facts?.stderr ?? '');
          throw e;
        }
      };
      const traced = publish ? pluginChannel.tracePromise(run, message) : run();
      return (observe === undefined ? traced : settle(traced, message, observe)).then(
        () => out as ExecOutput,
      );
    },
    findInPath(type, paths, context) {
      return exec.findInPath(type, paths, context);
    },
  };
}

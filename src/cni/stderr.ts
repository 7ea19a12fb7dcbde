/**
 * Where a plugin's stderr goes (CNIConfig option `stderr`).
 *
 * Go libcni's default exec (pkg/invoke/raw_exec.go, `RawExec{Stderr: os.Stderr}`) captures the
 * plugin's stderr and, when the plugin succeeded, copies it to the runtime's own stderr; when it
 * failed, the text goes into the error instead (Go's `pluginErr`). `'inherit'` does the same.
 * A runtime that wants plugin warnings in its log passes a listener: it gets every chunk as it
 * arrives, for successful and failing calls alike, with the call it belongs to.
 */
import { type ErrorContext, PluginError } from '../core/errors.ts';
import type { Exec, ExecOptions, ExecOutput } from '../invoke/exec.ts';

/** The call a chunk of plugin stderr came from. */
export interface PluginStderrInfo extends ErrorContext {
  pluginPath: string;
}

/** Receives a plugin's stderr, chunk by chunk, as the plugin writes it. */
export type PluginStderrListener = (chunk: Buffer, info: PluginStderrInfo) => void;

/**
 * - `'inherit'` (default): as Go, a successful plugin's stderr is written to this process's stderr
 *   when it exits (the kept tail, at most `maxStderrBytes`); a failed plugin's is in its error.
 * - `'ignore'`: stderr is only kept for errors.
 * - a listener: every chunk as it arrives, success or failure (an Exec that cannot stream, such as
 *   SpawnerExec, delivers the kept tail once the call settles). Exceptions it throws are ignored.
 */
export type PluginStderr = 'inherit' | 'ignore' | PluginStderrListener;

function deliver(listener: PluginStderrListener, chunk: Buffer, info: PluginStderrInfo): void {
  try {
    listener(chunk, info);
  } catch {
    // Logging is best effort: it must not fail the plugin call.
  }
}

/** `exec` with its plugins' stderr sent where `mode` says. */
export function routePluginStderr(exec: Exec, mode: PluginStderr | undefined): Exec {
  if (mode === 'ignore') return exec;
  if (mode === undefined || mode === 'inherit') {
    return {
      async execPlugin(pluginPath, stdin, env, options): Promise<ExecOutput> {
        const out = await exec.execPlugin(pluginPath, stdin, env, options);
        if (out.stderr.length > 0) process.stderr.write(out.stderr);
        return out;
      },
      findInPath: (type, paths, context) => exec.findInPath(type, paths, context),
    };
  }
  if (typeof mode !== 'function') {
    throw new TypeError(`CNIConfig: options.stderr must be 'inherit', 'ignore' or a function`);
  }
  return {
    async execPlugin(pluginPath, stdin, env, options): Promise<ExecOutput> {
      const info: PluginStderrInfo = { ...options?.context, pluginPath };
      // An object, not a `let`: it is set by the listener, which the compiler does not follow.
      const state = { streamed: false };
      const withListener: ExecOptions = {
        ...options,
        onStderr: (chunk) => {
          state.streamed = true;
          deliver(mode, chunk, info);
        },
      };
      let out: ExecOutput;
      try {
        out = await exec.execPlugin(pluginPath, stdin, env, withListener);
      } catch (e) {
        if (!state.streamed && e instanceof PluginError && e.exec.stderr.length > 0)
          deliver(mode, Buffer.from(e.exec.stderr), info);
        throw e;
      }
      if (!state.streamed && out.stderr.length > 0) deliver(mode, Buffer.from(out.stderr), info);
      return out;
    },
    findInPath: (type, paths, context) => exec.findInPath(type, paths, context),
  };
}

/**
 * The `Exec` seam: how the rest of the library finds and runs plugins. Tests replace it with an
 * in-process fake; a runtime with a large heap can replace it with one that spawns through a small
 * helper process (spawn costs ~29 ms per GiB of parent RSS; BENCHMARKS.md).
 */
import type { ErrorContext } from '../core/errors.ts';
import { findInPath } from './find.ts';
import { type ExecOptions, type ExecOutput, spawnPlugin } from './spawn-plugin.ts';

export { EXEC_DEFAULTS, type ExecOptions, type ExecOutput, spawnPlugin } from './spawn-plugin.ts';

/** Finds and runs plugins (Go's `invoke.Exec`, minus `Decode`, which is a pure function here). */
export interface Exec {
  /**
   * Run the plugin with `stdin` and exactly `env`; resolve with its output when it exits 0, reject
   * with a `PluginError` (or subclass) / `PluginSpawnError` otherwise. From CNIConfig, `env` is
   * frozen: the plugins of one operation share it (copy it to change it).
   */
  execPlugin(
    pluginPath: string,
    stdin: Uint8Array,
    env: Record<string, string>,
    options?: ExecOptions,
  ): Promise<ExecOutput>;
  /**
   * Resolve a plugin `type` on the search path; rejects with `PluginNotFoundError`, or with
   * `PluginSpawnError` (ENOEXEC) for a file that is neither ELF nor `#!` (see find.ts). `context`
   * is the caller's (command, network, ...), for those errors to carry.
   */
  findInPath(type: string, paths: readonly string[], context?: ErrorContext): Promise<string>;
}

/** Options of {@link DefaultExec}. */
export interface DefaultExecOptions {
  /**
   * Called with a successful plugin's stderr when it wrote any. Go copies it to the runtime's own
   * stderr; a runtime usually wants it in its log instead. Without it, stderr stays in
   * {@link ExecOutput.stderr} only. Exceptions thrown here are ignored.
   */
  onStderr?: ((pluginPath: string, text: string) => void) | undefined;
}

/** The default {@link Exec}: spawns plugins directly (`spawnPlugin` in src/invoke/spawn-plugin.ts) and looks them up on disk. */
export class DefaultExec implements Exec {
  readonly #onStderr: ((pluginPath: string, text: string) => void) | undefined;

  constructor(options?: DefaultExecOptions) {
    this.#onStderr = options?.onStderr;
  }

  // Parameter types come from Exec.
  async execPlugin(
    ...[pluginPath, stdin, env, options]: Parameters<Exec['execPlugin']>
  ): Promise<ExecOutput> {
    const out = await spawnPlugin(pluginPath, stdin, env, options);
    reportStderr(this.#onStderr, pluginPath, out.stderr);
    return out;
  }

  findInPath(type: string, paths: readonly string[], context?: ErrorContext): Promise<string> {
    return findInPath(type, paths, context);
  }
}

/** Hand a successful call's stderr to the caller's logger; a failing logger must not fail the call. */
export function reportStderr(
  onStderr: ((pluginPath: string, text: string) => void) | undefined,
  pluginPath: string,
  stderr: string,
): void {
  if (onStderr === undefined || stderr.length === 0) return;
  try {
    onStderr(pluginPath, stderr);
  } catch {
    // Logging is best effort.
  }
}

/**
 * Running a plugin for a result, or just for success: Go's `invoke.ExecPluginWithResult` and
 * `ExecPluginWithoutResult`, over the {@link Exec} seam.
 */
import { type ErrorContext, PluginError } from '../types/errors.ts';
import { decodePluginResult, type Result } from '../types/result.ts';
import type { Exec, ExecOptions, ExecOutput } from './exec.ts';

/** {@link ExecOptions} plus the version the plugin's config was written in. */
export interface PluginCallOptions extends ExecOptions {
  /**
   * The request config's `cniVersion`. A result without a `cniVersion` is read as this version, as
   * Go does since cni#895 (`""` means 0.1.0).
   */
  configVersion: string;
}

/**
 * Run the plugin and decode its stdout as a result (Go's `ExecPluginWithResult`). The result is not
 * required to be in `configVersion`, as in Go; it is validated for the version it declares.
 *
 * @throws whatever {@link Exec.execPlugin} throws; a {@link PluginError} wrapping the
 *   `ResultError` (as `cause`) when the output is not a valid result; the message names the
 *   plugin path and command, and `exec` holds the output that was refused.
 */
export async function execPluginWithResult(
  exec: Exec,
  pluginPath: string,
  stdinConfig: Uint8Array,
  env: Record<string, string>,
  options: PluginCallOptions,
): Promise<Result> {
  const { configVersion, ...execOptions } = options;
  const out = await exec.execPlugin(pluginPath, stdinConfig, env, execOptions);
  try {
    return decodePluginResult(out.stdout, configVersion);
  } catch (err) {
    throw invalidResult(err, out, pluginPath, options.command ?? env.CNI_COMMAND ?? '', options.context);
  }
}

/**
 * Run the plugin for its exit status only (Go's `ExecPluginWithoutResult`): stdout is ignored.
 * `configVersion` is accepted for symmetry with {@link execPluginWithResult} and not used.
 */
export async function execPluginWithoutResult(
  exec: Exec,
  pluginPath: string,
  stdinConfig: Uint8Array,
  env: Record<string, string>,
  options?: ExecOptions & { configVersion?: string | undefined },
): Promise<void> {
  const { configVersion: _unused, ...execOptions } = options ?? {};
  await exec.execPlugin(pluginPath, stdinConfig, env, execOptions);
}

/** How much of the refused stdout an error keeps. */
const STDOUT_HEAD_BYTES = 4096;

function invalidResult(
  err: unknown,
  out: ExecOutput,
  pluginPath: string,
  command: string,
  context: ErrorContext | undefined,
): PluginError {
  const reason = err instanceof Error ? err.message : String(err);
  return new PluginError(
    0,
    `plugin ${pluginPath} (${command || 'unknown command'}) returned an invalid result: ${reason}`,
    undefined,
    {
      pluginPath,
      command,
      exitCode: out.exitCode,
      signal: null,
      stderr: out.stderr,
      stdout: out.stdout.subarray(0, STDOUT_HEAD_BYTES).toString('utf8'),
      durationMs: out.durationMs,
    },
    { cause: err, context },
  );
}

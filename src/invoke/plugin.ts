/**
 * Running a plugin for a result, or just for success: Go's `invoke.ExecPluginWithResult` and
 * `ExecPluginWithoutResult`, over the {@link Exec} seam.
 */
import { type ErrorContext, PluginError, type PluginExecInfo } from '../core/errors.ts';
import { goJsonKind, parseJsonLikeGo } from '../go/json-decode.ts';
import { goFold } from '../go/struct.ts';
import { decodePluginResult } from '../types/result.ts';
import type { Result } from '../types/result-model.ts';
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
 * Unlike Go, a plugin that exits 0 but prints the spec's error object (`code` and `msg`, and none of
 * a result's fields) has failed: Go decodes that as an empty result and reports success, which
 * leaves the runtime believing in an attachment that does not exist. The plugin's `code`, `msg` and
 * `details` are kept, so callers branch on them as for any plugin error.
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
  const command = options.command ?? env.CNI_COMMAND ?? '';
  let result: Result;
  try {
    result = decodePluginResult(out.stdout, configVersion);
  } catch (err) {
    const refused = errorObjectOf(out.stdout);
    if (refused !== undefined) throw errorOnSuccess(refused, out, pluginPath, command, options.context);
    throw invalidResult(err, out, pluginPath, command, options.context);
  }
  // Only an empty result can be an error object in disguise; parse the output again only then.
  if (Object.keys(result).length <= 1 || (Object.keys(result).length === 2 && isEmptyDns(result))) {
    const refused = errorObjectOf(out.stdout);
    if (refused !== undefined) throw errorOnSuccess(refused, out, pluginPath, command, options.context);
  }
  return result;
}

/** Keys of a result of any version (lower-cased: Go matches keys case-insensitively). */
const RESULT_KEYS = new Set(['interfaces', 'ips', 'routes', 'dns', 'ip4', 'ip6']);

function isEmptyDns(result: Result): boolean {
  const dns = (result as { dns?: unknown }).dns;
  return typeof dns === 'object' && dns !== null && Object.keys(dns).length === 0;
}

/** The spec's error object, when `stdout` is one: integer `code`, non-empty `msg`, no result field. */
function errorObjectOf(
  stdout: Buffer,
): { code: number; msg: string; details: string | undefined } | undefined {
  const parsed = parseJsonLikeGo(stdout);
  if (!parsed.ok || goJsonKind(parsed.value) !== 'object') return undefined;
  let code: unknown;
  let msg: unknown;
  let details: unknown;
  for (const [key, value] of Object.entries(parsed.value as Record<string, unknown>)) {
    const k = goFold(key);
    if (RESULT_KEYS.has(k)) return undefined;
    if (k === 'code') code = value;
    else if (k === 'msg') msg = value;
    else if (k === 'details') details = value;
  }
  if (typeof code !== 'number' || !Number.isInteger(code) || code < 0) return undefined;
  if (typeof msg !== 'string' || msg === '') return undefined;
  return { code, msg, details: typeof details === 'string' && details !== '' ? details : undefined };
}

function errorOnSuccess(
  refused: { code: number; msg: string; details: string | undefined },
  out: ExecOutput,
  pluginPath: string,
  command: string,
  context: ErrorContext | undefined,
): PluginError {
  return new PluginError(refused.code, refused.msg, refused.details, runInfo(out, pluginPath, command), {
    context,
  });
}

function runInfo(out: ExecOutput, pluginPath: string, command: string): PluginExecInfo {
  return {
    pluginPath,
    command,
    exitCode: out.exitCode,
    signal: null,
    stderr: out.stderr,
    stdout: out.stdout.subarray(0, STDOUT_HEAD_BYTES).toString('utf8'),
    durationMs: out.durationMs,
  };
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
    runInfo(out, pluginPath, command),
    { cause: err, context },
  );
}

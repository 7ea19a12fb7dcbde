/**
 * Turning a failed plugin run into an error, with Go libcni's exact messages (`RawExec.pluginErr`).
 * Users and upstream tests match on these texts (`netplugin failed with no error message`, ...),
 * so the wording follows Go; everything else about the run travels in {@link PluginExecInfo}.
 * Both {@link spawnPlugin} and SpawnerExec build their errors here, so they match field for field.
 */
import {
  type ErrorContext,
  PluginAbortedError,
  PluginError,
  type PluginExecInfo,
  PluginSpawnError,
  PluginTimeoutError,
} from '../core/errors.ts';
import { goJsonKind, parseJsonLikeGo } from '../go/json-decode.ts';
import { goDescribeExit } from '../go/process.ts';
import { goQuoteBytes } from '../go/quote.ts';
import { decodeStruct, goString, goUint, isJsonObject, type StructSpec } from '../go/struct.ts';

/** How much of stdout errors keep. */
const STDOUT_HEAD_BYTES = 4096;

/** The facts of one run that every plugin error carries (`error.exec`). */
export function execInfo(
  pluginPath: string,
  command: string,
  exitCode: number | null,
  signal: string | null,
  stdout: Buffer | undefined,
  stderr: string,
  durationMs: number,
): PluginExecInfo {
  return {
    pluginPath,
    command,
    exitCode,
    signal,
    stderr,
    stdout: stdout === undefined ? '' : stdout.subarray(0, STDOUT_HEAD_BYTES).toString('utf8'),
    durationMs,
  };
}

/**
 * The plugin could not be started. Go reports a failed start as
 * `netplugin failed with no error message: fork/exec <path>: <errno text>`.
 */
export function forkExecError(
  pluginPath: string,
  reason: string,
  errno: string | undefined,
  attempts: number,
  command: string,
  options: { cause: unknown; context: ErrorContext | undefined },
): PluginSpawnError {
  return new PluginSpawnError(
    `netplugin failed with no error message: fork/exec ${pluginPath}: ${reason}`,
    pluginPath,
    errno,
    attempts,
    { cause: options.cause, context: { command, pluginPath, ...options.context } },
  );
}

/** What a stopped call's error carries besides its facts. */
export interface StopOptions {
  /** The abort signal's reason: an abort's cause. */
  abortReason: unknown;
  /** A timeout's cause, if any. */
  cause?: unknown;
  context: ErrorContext | undefined;
}

/**
 * The error of a call whose deadline passed (`timeout`) or whose signal fired (`abort`). The abort's
 * cause is the signal's reason; a timeout may carry a `cause` of its own.
 */
export function stoppedCallError(
  kind: 'timeout' | 'abort',
  timeoutMs: number,
  info: PluginExecInfo,
  options: StopOptions,
): PluginError {
  return kind === 'abort'
    ? new PluginAbortedError(info, { cause: options.abortReason, context: options.context })
    : new PluginTimeoutError(timeoutMs, info, { cause: options.cause, context: options.context });
}

interface DecodedErrorObject {
  code: number;
  msg: string;
  details: string;
  /** The first decode problem, in Go's words; the fields decoded before and after it are kept. */
  problem: string | undefined;
}

const ERROR_STRUCT: StructSpec = {
  name: 'Error',
  path: [],
  keepUnknown: false,
  fields: [
    ['code', goUint('Error', ['code'])],
    ['msg', goString('Error', ['msg'])],
    ['details', goString('Error', ['details'])],
  ],
};

/**
 * Decode `stdout` into the spec's error object the way Go's `json.Unmarshal(stdout, &types.Error{})`
 * does: syntax errors decode nothing; `null` and unknown keys are ignored; a wrong-typed field is a
 * problem but the other fields still decode.
 */
function decodeErrorObject(stdout: Buffer): DecodedErrorObject {
  const out: DecodedErrorObject = { code: 0, msg: '', details: '', problem: undefined };
  const parsed = parseJsonLikeGo(stdout);
  if (!parsed.ok) {
    out.problem = parsed.reason;
    return out;
  }
  const value = parsed.value;
  if (value === null) return out;
  if (!isJsonObject(value)) {
    out.problem = `json: cannot unmarshal ${goJsonKind(value)} into Go value of type types.Error`;
    return out;
  }
  const { view, problem } = decodeStruct(Object.entries(value), ERROR_STRUCT, {}, 'return');
  out.code = typeof view.code === 'number' ? view.code : 0;
  out.msg = typeof view.msg === 'string' ? view.msg : '';
  out.details = typeof view.details === 'string' ? view.details : '';
  out.problem = problem?.message;
  return out;
}

/**
 * The error for a plugin that exited unsuccessfully, as Go's `pluginErr`:
 * - stdout non-empty and a valid error object → its code, msg and details (stderr is not in the
 *   message, but is kept in `exec.stderr`);
 * - stdout non-empty but not decodable → `netplugin failed but error parsing its diagnostic message "<stdout>": <reason>`;
 * - stdout empty, stderr non-empty → `netplugin failed: "<stderr>": exit status N`;
 * - both empty → `netplugin failed with no error message: exit status N`.
 * Quoting is Go's `%q`.
 */
export function pluginFailure(
  stdout: Buffer,
  stderr: Buffer,
  info: PluginExecInfo,
  context?: ErrorContext,
): PluginError {
  const exit = goDescribeExit(info.exitCode, info.signal);
  const opts = { context };
  if (stdout.length === 0) {
    const msg =
      stderr.length === 0
        ? `netplugin failed with no error message: ${exit}`
        : `netplugin failed: ${goQuoteBytes(stderr)}: ${exit}`;
    return new PluginError(0, msg, undefined, info, opts);
  }
  const decoded = decodeErrorObject(stdout);
  const msg =
    decoded.problem === undefined
      ? decoded.msg
      : `netplugin failed but error parsing its diagnostic message ${goQuoteBytes(stdout)}: ${decoded.problem}`;
  return new PluginError(decoded.code, msg, decoded.details || undefined, info, opts);
}

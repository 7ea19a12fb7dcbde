/**
 * Turning a failed plugin run into an error, with Go libcni's exact messages (`RawExec.pluginErr`).
 * Users and upstream tests match on these texts (`netplugin failed with no error message`, ...),
 * so the wording follows Go; everything else about the run travels in {@link PluginExecInfo}.
 */
import { type ErrorContext, PluginError, type PluginExecInfo } from '../types/errors.ts';
import { goJsonKind, parseJsonLikeGo } from '../types/go-json-parse.ts';
import { goQuoteBytes } from './go-quote.ts';

/** Go's names for Linux signals (`syscall.Signal.String()`), keyed by Node's signal names. */
const GO_SIGNAL_TEXT: Readonly<Record<string, string>> = {
  SIGHUP: 'hangup',
  SIGINT: 'interrupt',
  SIGQUIT: 'quit',
  SIGILL: 'illegal instruction',
  SIGTRAP: 'trace/breakpoint trap',
  SIGABRT: 'aborted',
  SIGIOT: 'aborted',
  SIGBUS: 'bus error',
  SIGFPE: 'floating point exception',
  SIGKILL: 'killed',
  SIGUSR1: 'user defined signal 1',
  SIGSEGV: 'segmentation fault',
  SIGUSR2: 'user defined signal 2',
  SIGPIPE: 'broken pipe',
  SIGALRM: 'alarm clock',
  SIGTERM: 'terminated',
  SIGSTKFLT: 'stack fault',
  SIGCHLD: 'child exited',
  SIGCONT: 'continued',
  SIGSTOP: 'stopped (signal)',
  SIGTSTP: 'stopped',
  SIGTTIN: 'stopped (tty input)',
  SIGTTOU: 'stopped (tty output)',
  SIGURG: 'urgent I/O condition',
  SIGXCPU: 'CPU time limit exceeded',
  SIGXFSZ: 'file size limit exceeded',
  SIGVTALRM: 'virtual timer expired',
  SIGPROF: 'profiling timer expired',
  SIGWINCH: 'window changed',
  SIGIO: 'I/O possible',
  SIGPOLL: 'I/O possible',
  SIGPWR: 'power failure',
  SIGSYS: 'bad system call',
};

/** How Go describes a finished process (`os.ProcessState.String()`): `exit status 1`, `signal: killed`. */
export function describeExit(exitCode: number | null, signal: string | null): string {
  if (exitCode !== null) return `exit status ${exitCode}`;
  if (signal !== null) return `signal: ${GO_SIGNAL_TEXT[signal] ?? signal}`;
  return 'exit status unknown';
}

/** Go matches JSON keys to struct fields case-insensitively, with Unicode's k/s special folds. */
function foldKey(key: string): string {
  return key.toLowerCase().replaceAll('\u017f', 's').replaceAll('\u212a', 'k');
}

interface DecodedErrorObject {
  code: number;
  msg: string;
  details: string;
  /** The first decode problem, in Go's words; the fields decoded before and after it are kept. */
  problem: string | undefined;
}

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
  if (typeof value !== 'object' || Array.isArray(value)) {
    out.problem = `json: cannot unmarshal ${goJsonKind(value)} into Go value of type types.Error`;
    return out;
  }
  const typeProblem = (what: string, field: string, type: string): void => {
    out.problem ??= `json: cannot unmarshal ${what} into Go struct field Error.${field} of type ${type}`;
  };
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === null) continue;
    const field = foldKey(key);
    if (field === 'code') {
      if (typeof v !== 'number') typeProblem(goJsonKind(v), 'code', 'uint');
      else if (!Number.isInteger(v) || v < 0 || v >= 2 ** 64) {
        typeProblem(`number ${String(v)}`, 'code', 'uint');
      } else out.code = v;
    } else if (field === 'msg' || field === 'details') {
      if (typeof v !== 'string') typeProblem(goJsonKind(v), field, 'string');
      else out[field] = v;
    }
  }
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
  const exit = describeExit(info.exitCode, info.signal);
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

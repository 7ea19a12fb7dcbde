/**
 * How cnitool writes: results as Go's `json.MarshalIndent(result, "", "    ")` bytes (what Go's
 * cnitool prints), errors as one line on stderr or, with --json, as the spec's error object.
 */
import { goMarshal } from '../go/json-encode.ts';
import {
  CacheError,
  CniError,
  type CniErrorObject,
  ConfigError,
  ErrorCode,
  NoConfigsFoundError,
  NotFoundError,
  PluginNotFoundError,
  ResultError,
  VersionError,
} from '../core/errors.ts';
import { CliUsageError } from './errors.ts';

/** Where a command writes. Tests pass string collectors; main.ts passes the process streams. */
export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Fires on Ctrl-C / SIGTERM: running plugins are killed. */
  signal?: AbortSignal | undefined;
}

/**
 * Re-indent compact JSON as Go's json.Indent does: one member per line, `"key": value`, empty
 * objects and arrays kept as `{}` and `[]`, no trailing newline. The input must be valid JSON.
 */
export function indentJson(compact: string, indent = '    '): string {
  let out = '';
  let depth = 0;
  let inString = false;
  // Go's Indent waits for the next byte before breaking after an opener, so `{}` stays together.
  let pendingOpen = false;
  const newline = () => `\n${indent.repeat(depth)}`;
  for (let i = 0; i < compact.length; i++) {
    const c = compact[i] as string;
    if (inString) {
      out += c;
      if (c === '\\') {
        out += compact[i + 1] ?? '';
        i++;
      } else if (c === '"') inString = false;
      continue;
    }
    if (c === ' ' || c === '\n' || c === '\t' || c === '\r') continue;
    if (pendingOpen) {
      pendingOpen = false;
      if (c === '}' || c === ']') {
        depth--;
        out += c;
        continue;
      }
      out += newline();
    }
    switch (c) {
      case '{':
      case '[':
        out += c;
        depth++;
        pendingOpen = true;
        break;
      case '}':
      case ']':
        depth--;
        out += newline() + c;
        break;
      case ',':
        out += `,${newline()}`;
        break;
      case ':':
        out += ': ';
        break;
      case '"':
        inString = true;
        out += c;
        break;
      default:
        out += c;
    }
  }
  return out;
}

/**
 * A result as Go's cnitool prints it (`Result.Print()`): Go's encoder (HTML-safe escaping, struct
 * field order as the result model keeps it), 4-space indent, no trailing newline.
 */
export function formatResult(result: unknown): string {
  return indentJson(goMarshal(result, { sortKeys: false }));
}

/** Pretty JSON for our own commands' --json output, with a trailing newline. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * An error as one line: the message Go's cnitool would print, with any embedded line breaks
 * (joined errors, multi-line plugin details) folded into "; ".
 */
export function errorLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const line = msg
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .join('; ');
  if (err instanceof CliUsageError) {
    const help = err.command ? `cnitool ${err.command} --help` : 'cnitool --help';
    return `cnitool: ${line}${line.includes('--help') ? '' : ` (see "${help}")`}`;
  }
  return line === '' ? 'unknown error' : `${fileOf(err, line)}${line}${inputHint(err, line)}`;
}

/**
 * The configuration file at fault, as a `<file>: ` prefix, when the error names one and the message
 * does not already say it (Go's messages for a file that does not parse name no file).
 */
function fileOf(err: unknown, line: string): string {
  for (const e of causeChain(err)) {
    if (e instanceof ConfigError && e.file !== undefined && !line.includes(e.file)) return `${e.file}: `;
  }
  return '';
}

/** Which of cnitool's environment variables gave the input at fault, when that is the story. */
function inputHint(err: unknown, line: string): string {
  for (const e of causeChain(err)) {
    if (e instanceof PluginNotFoundError && e.reason === 'no-paths' && !line.includes('CNI_PATH')) {
      return ' (CNI_PATH is unset or empty: set it to the plugin directories, e.g. CNI_PATH=/usr/lib/cni)';
    }
    if ((e instanceof NotFoundError || e instanceof NoConfigsFoundError) && !line.includes('NETCONFPATH')) {
      return ' (networks are read from NETCONFPATH, default /etc/cni/net.d)';
    }
  }
  return '';
}

/** The spec version stamped on --json errors: the newest this library speaks. */
const ERROR_CNI_VERSION = '1.1.0';

/**
 * The spec's error object for any failure. `code` is always a spec code, never 0:
 * - the first non-zero code on the error's `cause` chain: a plugin's own code (a failure inside a
 *   network list keeps it, with our full message), or the code of an input check (3, 4, 7, 8);
 * - otherwise by the kind of failure, the first one found along the chain: 4 bad invocation, 7
 *   configuration, 1 version, 6 a result that cannot be decoded, 5 cache I/O, and 999 for anything
 *   else. A plugin that failed without an error object (non-zero exit with nothing on stdout,
 *   killed by a signal, timed out, interrupted) carries code 0, as in Go, which is no spec code:
 *   such a failure gets 999 (or 6 when its output was a result that could not be decoded).
 */
export function errorObject(err: unknown): CniErrorObject {
  const code = specCode(err);
  if (err instanceof CniError) return { ...err.toJSON(ERROR_CNI_VERSION), code };
  return { cniVersion: ERROR_CNI_VERSION, code, msg: errorLine(err) };
}

/** `err` and its causes, outermost first (bounded: cause chains can be cyclic). */
function* causeChain(err: unknown): Generator {
  let e: unknown = err;
  for (let depth = 0; depth < 16 && e !== undefined && e !== null; depth++) {
    yield e;
    e = e instanceof Error ? e.cause : undefined;
  }
}

function specCode(err: unknown): number {
  for (const e of causeChain(err)) if (e instanceof CniError && e.code !== ErrorCode.Unknown) return e.code;
  for (const e of causeChain(err)) {
    if (e instanceof CliUsageError) return ErrorCode.InvalidEnvironmentVariables; // the invocation is wrong
    if (e instanceof ConfigError) return ErrorCode.InvalidNetworkConfig;
    if (e instanceof VersionError) return ErrorCode.IncompatibleCNIVersion;
    if (e instanceof ResultError) return ErrorCode.DecodingFailure;
    if (e instanceof CacheError) return ErrorCode.IOFailure;
  }
  return ErrorCode.Internal;
}

/** Write an error the way the options ask for: a line, or the spec's JSON object (both on stderr). */
export function reportError(io: CliIO, err: unknown, json: boolean): void {
  if (json) io.stderr(`${JSON.stringify(errorObject(err))}\n`);
  else io.stderr(`${errorLine(err)}\n`);
}

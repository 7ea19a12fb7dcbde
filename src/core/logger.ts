/**
 * Log lines for what the diagnostics channels carry, written once: the `logger` option of
 * CNIConfig and NetworkManager and `NODE_DEBUG=libcni` both turn a {@link PluginCallMessage} /
 * {@link OperationMessage} / {@link CacheQuarantineMessage} into a {@link LogEntry} here, so a line
 * reads the same wherever it ends up.
 */
import { debuglog } from 'node:util';
import {
  type CacheQuarantineMessage,
  type OperationMessage,
  type PluginCallMessage,
  operationChannel,
  pluginChannel,
} from './diagnostics.ts';

/** Structured data of a log entry: plain strings, numbers and arrays, so it serializes as JSON. */
export type LogFields = Record<string, unknown>;

/**
 * What the `logger` option takes: `(message, fields)` per level, as `console` and winston take
 * them. pino and bunyan put the fields first; wrap them as docs/observability.md shows. A logger
 * that throws (or rejects) never fails an operation: its failure is dropped.
 */
export interface Logger {
  // What a method returns is ignored (a promise's rejection included), hence `unknown`.
  /** Successful plugin calls and operations, attachments made and removed. */
  debug(message: string, fields?: LogFields): unknown;
  /** Configuration loads and GC reports. */
  info(message: string, fields?: LogFields): unknown;
  /** Failed plugin calls, ignored config files, unused capabilities, rollbacks, quarantined cache entries. */
  warn(message: string, fields?: LogFields): unknown;
  /** Failed operations and watch errors. */
  error(message: string, fields?: LogFields): unknown;
}

/** The level of a log entry: the name of the {@link Logger} method it goes to. */
export type LogLevel = keyof Logger;

/** One line: its level, the text (complete on its own) and the same facts as fields. */
export interface LogEntry {
  level: LogLevel;
  message: string;
  fields: LogFields;
}

/** Hand an entry to a logger; whatever the logger does wrong stays in the logger. */
export function writeLog(logger: Logger | undefined, entry: LogEntry): void {
  if (logger === undefined) return;
  try {
    const out = logger[entry.level](entry.message, entry.fields);
    // An async logger's rejection must not become an unhandled rejection of ours.
    if (typeof (out as { then?: unknown } | undefined)?.then === 'function') {
      (out as Promise<unknown>).then(undefined, () => undefined);
    }
  } catch {
    // Logging is best effort.
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function where(m: {
  network?: string | undefined;
  containerId?: string | undefined;
  ifName?: string | undefined;
}): string {
  return `net=${m.network ?? '-'} ctr=${m.containerId || '-'} if=${m.ifName || '-'}`;
}

/** Drop undefined and empty-string fields, so a JSON line carries only what is known. */
function compact(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}

/** A settled plugin call: debug when it exited 0, warn when it failed. */
export function pluginCallEntry(m: PluginCallMessage): LogEntry {
  const outcome = m.signal ? `signal=${m.signal}` : `exit=${m.exitCode ?? '-'}`;
  const failed = m.error !== undefined;
  const failure = failed ? ` error=${JSON.stringify(errorText(m.error))}` : '';
  const stderr = m.stderr ? ` stderr=${JSON.stringify(m.stderr)}` : '';
  return {
    level: failed ? 'warn' : 'debug',
    message: `plugin ${m.command} ${m.plugin ?? m.pluginPath} ${where(m)} ${outcome} ${m.durationMs}ms${failure}${stderr}`,
    fields: compact({
      event: 'plugin',
      command: m.command,
      plugin: m.plugin,
      pluginPath: m.pluginPath,
      network: m.network,
      containerId: m.containerId,
      ifName: m.ifName,
      durationMs: m.durationMs,
      exitCode: m.exitCode,
      signal: m.signal ?? undefined,
      stderr: m.stderr,
      error: failed ? errorText(m.error) : undefined,
      traceparent: m.traceparent,
    }),
  };
}

/**
 * A settled operation: debug when it succeeded; a failure is an error, but for STATUS, whose
 * failure is an answer ("not ready"), a warning.
 */
export function operationEntry(m: OperationMessage): LogEntry {
  const failed = m.error !== undefined;
  const outcome = failed ? `failed code=${m.errorCode ?? '-'}` : 'ok';
  const failure = failed ? ` error=${JSON.stringify(errorText(m.error))}` : '';
  return {
    level: !failed ? 'debug' : m.command === 'STATUS' ? 'warn' : 'error',
    message: `operation ${m.command} ${where(m)} ${outcome} ${m.durationMs}ms${failure}`,
    fields: compact({
      event: 'operation',
      command: m.command,
      network: m.network,
      cniVersion: m.cniVersion,
      plugins: m.plugins,
      containerId: m.containerId,
      ifName: m.ifName,
      durationMs: m.durationMs,
      errorCode: m.errorCode,
      error: failed ? errorText(m.error) : undefined,
      traceparent: m.traceparent,
    }),
  };
}

/** A corrupt cache entry moved aside: a warning (the DEL that found it ran without prevResult). */
export function quarantineEntry(
  m: Pick<CacheQuarantineMessage, 'path' | 'movedTo' | 'reason'> & Partial<CacheQuarantineMessage>,
): LogEntry {
  return {
    level: 'warn',
    message: `cache entry ${m.path} is corrupt (${m.reason}); ${m.movedTo === undefined ? 'removed' : `moved to ${m.movedTo}`}`,
    fields: compact({
      event: 'cacheQuarantine',
      path: m.path,
      movedTo: m.movedTo,
      reason: m.reason,
      network: m.network,
      containerId: m.containerId,
      ifName: m.ifName,
    }),
  };
}

/** What a settled call or operation was, for the subscriber of one channel event. */
function onSettled<M extends object>(fn: (message: M) => void) {
  const nothing = () => undefined;
  return { start: nothing, end: nothing, asyncStart: nothing, error: nothing, asyncEnd: fn };
}

/**
 * `NODE_DEBUG=libcni`: one line per plugin call and per operation on stderr, through
 * `util.debuglog`, as a subscriber of the channels (so it sees exactly what any other subscriber
 * sees). Subscribed only when the variable names this section: otherwise the channels stay
 * unlistened and cost nothing.
 */
function subscribeDebugLog(): void {
  const log = debuglog('libcni');
  if (!log.enabled) return;
  pluginChannel.subscribe(
    onSettled((m: PluginCallMessage) => {
      log('%s', pluginCallEntry(m).message);
    }),
  );
  operationChannel.subscribe(
    onSettled((m: OperationMessage) => {
      log('%s', operationEntry(m).message);
    }),
  );
}

subscribeDebugLog();

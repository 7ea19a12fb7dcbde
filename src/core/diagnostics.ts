/**
 * Every `node:diagnostics_channel` channel this library publishes on, in one module that imports
 * nothing of the library but its errors (as undici's `lib/core/diagnostics.js`): any layer can
 * publish where the event happens.
 *
 * - `libcni:plugin` — a TracingChannel around every plugin process (ADD, CHECK, DEL, GC, STATUS and
 *   VERSION calls), message {@link PluginCallMessage} (published by invoke/traced-exec.ts);
 * - `libcni:operation` — a TracingChannel around every CNIConfig operation on a network (list),
 *   message {@link OperationMessage};
 * - `libcni:cache:quarantine` — a plain channel: a corrupt cache entry was moved aside,
 *   message {@link CacheQuarantineMessage}.
 *
 * `NODE_DEBUG=libcni` logs both tracing channels on stderr (core/logger.ts).
 *
 * A TracingChannel publishes `start` and `end` around the synchronous part, then `asyncStart` and
 * `asyncEnd` when the call settles (with `result` or `error` set on the message), and `error` when it
 * failed. `durationMs` and `exitCode` are on the message by `asyncStart`. Nothing is built or
 * published while a channel has no subscribers, so an application that does not listen pays one
 * property read per call.
 */
import { channel, type TracingChannel, tracingChannel } from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import { findCniError } from './errors.ts';

/** W3C trace context handed to plugins as `TRACEPARENT` / `TRACESTATE` / `BAGGAGE`. */
export interface TraceContext {
  /** `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`; anything else is ignored. */
  traceparent: string;
  tracestate?: string | undefined;
  baggage?: string | undefined;
}

/** The channel names, for `diagnostics_channel.tracingChannel(name)` / `subscribe(name, fn)`. */
export const CHANNELS = {
  /** TracingChannel: one plugin process. */
  plugin: 'libcni:plugin',
  /** TracingChannel: one operation (ADD, CHECK, DEL, GC, STATUS) on one network (list). */
  operation: 'libcni:operation',
  /** Channel: a corrupt cache entry was moved aside. */
  cacheQuarantine: 'libcni:cache:quarantine',
} as const;

/** What `libcni:plugin` carries for one plugin process. */
export interface PluginCallMessage {
  /** CNI_COMMAND: ADD, CHECK, DEL, GC, STATUS or VERSION. */
  command: string;
  /** The plugin `type`, when known. */
  plugin: string | undefined;
  /** Absolute path of the executable. */
  pluginPath: string;
  network: string | undefined;
  containerId: string | undefined;
  ifName: string | undefined;
  /** TRACEPARENT handed to the plugin, if any. */
  traceparent: string | undefined;
  /** Set when the call settles: wall time of the process (spawn to exit). */
  durationMs?: number;
  /** Set when the call settles: the exit status; null when killed by a signal or never started. */
  exitCode?: number | null;
  /** Set when the call settles: the signal that ended the process, if one did. */
  signal?: string | null;
  /** Set when the call settles: the last 512 characters (`STDERR_TAIL_CHARS`) of its stderr. */
  stderr?: string;
  /** Set by the TracingChannel when the call succeeded: the plugin's output, as text. */
  result?: PluginCallOutput;
  /** Set by the TracingChannel when the call failed. */
  error?: unknown;
}

/** What `libcni:plugin`'s `result` holds: plain strings and numbers, so it logs well as JSON. */
export interface PluginCallOutput {
  /** stdout, decoded as UTF-8. */
  stdout: string;
  /** The tail of stderr the Exec kept. */
  stderr: string;
  exitCode: number;
}

/** How much of a plugin's stderr a `libcni:plugin` message carries. */
export const STDERR_TAIL_CHARS = 512;

/** The end of a plugin's stderr, for a message. */
export function stderrTail(text: string): string {
  return text.length <= STDERR_TAIL_CHARS ? text : text.slice(-STDERR_TAIL_CHARS);
}

/** Milliseconds with at most 3 decimals (microseconds), so durations print and log readably. */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** The spec's commands (`CNI_COMMAND`). */
export type CniCommand = 'ADD' | 'CHECK' | 'DEL' | 'GC' | 'STATUS' | 'VERSION';

/** The commands that operate on a network (list), reported on `libcni:operation`: all but VERSION. */
export type OperationCommand = Exclude<CniCommand, 'VERSION'>;

/** What `libcni:operation` carries for one operation on one network (list). */
export interface OperationMessage {
  command: OperationCommand;
  /** Network (list) name. */
  network: string;
  /** The list's `cniVersion` (may be `""`). */
  cniVersion: string;
  /** The plugin types of the list, in order. */
  plugins: string[];
  /** Empty for GC and STATUS. */
  containerId: string;
  ifName: string;
  /** TRACEPARENT handed to the plugins, if any. */
  traceparent: string | undefined;
  /** Set when the operation settles. */
  durationMs?: number;
  /** Set when the operation failed: the spec error code of the failure, when it has one. */
  errorCode?: number | undefined;
  /** Set by the TracingChannel when the operation succeeded. */
  result?: unknown;
  /** Set by the TracingChannel when the operation failed. */
  error?: unknown;
}

/** What `libcni:cache:quarantine` carries. */
export interface CacheQuarantineMessage {
  /** The cache file that could not be read. */
  path: string;
  /** Where it was moved; undefined when it could not be moved and was removed instead. */
  movedTo: string | undefined;
  /** Why it was unreadable. */
  reason: string;
  network: string | undefined;
  containerId: string | undefined;
  ifName: string | undefined;
}

export const pluginChannel: TracingChannel<unknown, PluginCallMessage> = tracingChannel(CHANNELS.plugin);
export const operationChannel: TracingChannel<unknown, OperationMessage> = tracingChannel(CHANNELS.operation);
const quarantineChannel = channel(CHANNELS.cacheQuarantine);

/**
 * Whether anyone listens on a TracingChannel. (`TracingChannel.hasSubscribers` exists from Node
 * 20.13, but is not in every @types/node; this is what it computes.)
 */
export function listened(tc: TracingChannel<unknown, object>): boolean {
  return (
    tc.start.hasSubscribers ||
    tc.end.hasSubscribers ||
    tc.asyncStart.hasSubscribers ||
    tc.asyncEnd.hasSubscribers ||
    tc.error.hasSubscribers
  );
}

/**
 * Run `fn` as one operation, published on `libcni:operation` when anyone listens. `observe` (one
 * CNIConfig's logger) is given the settled message whether or not anyone listens; it must not throw.
 */
export function traceOperation<T>(
  message: Omit<OperationMessage, 'traceparent'>,
  trace: TraceContext | undefined,
  fn: () => Promise<T>,
  observe?: (message: OperationMessage) => void,
): Promise<T> {
  const publish = listened(operationChannel);
  if (!publish && observe === undefined) return fn();
  const full: OperationMessage = { ...message, traceparent: trace?.traceparent };
  const started = performance.now();
  const run = async () => {
    try {
      const out = await fn();
      full.durationMs = roundMs(performance.now() - started);
      return out;
    } catch (e) {
      full.durationMs = roundMs(performance.now() - started);
      full.errorCode = findCniError(e)?.code;
      throw e;
    }
  };
  const traced = publish ? operationChannel.tracePromise(run, full) : run();
  return observe === undefined ? traced : settle(traced, full, observe);
}

/**
 * Tell `observe` how a traced call ended, then hand its outcome on unchanged. `error` is set as
 * the TracingChannel sets it, for an observer that is not a channel subscriber.
 */
export function settle<T, M extends { error?: unknown }>(
  traced: Promise<T>,
  message: M,
  observe: (message: M) => void,
): Promise<T> {
  return traced.then(
    (out) => {
      observe(message);
      return out;
    },
    (e: unknown) => {
      message.error ??= e;
      observe(message);
      throw e;
    },
  );
}

/** Publish a quarantined cache entry on `libcni:cache:quarantine` (when anyone listens). */
export function publishCacheQuarantine(message: CacheQuarantineMessage): void {
  if (quarantineChannel.hasSubscribers) quarantineChannel.publish(message);
}

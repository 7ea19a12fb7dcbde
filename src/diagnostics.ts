/**
 * Every `node:diagnostics_channel` channel this library publishes on, in one module (as undici's
 * `lib/core/diagnostics.js`): the rest of the code only calls the helpers here.
 *
 * - `libcni:plugin` — a TracingChannel around every plugin process (ADD, CHECK, DEL, GC, STATUS and
 *   VERSION calls), message {@link PluginCallMessage};
 * - `libcni:operation` — a TracingChannel around every CNIConfig operation on a network (list),
 *   message {@link OperationMessage};
 * - `libcni:cache:quarantine` — a plain channel: a corrupt cache entry was moved aside,
 *   message {@link CacheQuarantineMessage}.
 *
 * A TracingChannel publishes `start` and `end` around the synchronous part, then `asyncStart` and
 * `asyncEnd` when the call settles (with `result` or `error` set on the message), and `error` when it
 * failed. `durationMs` and `exitCode` are on the message by `asyncStart`. Nothing is built or
 * published while a channel has no subscribers, so an application that does not listen pays one
 * property read per call.
 *
 * This module also finds the W3C trace context for plugins (`TRACEPARENT`) in the application's
 * OpenTelemetry context, when the application has `@opentelemetry/api`; it is an optional peer and
 * is loaded lazily, never required.
 */
import { channel, type TracingChannel, tracingChannel } from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import type { TraceContext } from './invoke/env.ts';
import type { Exec, ExecOptions, ExecOutput } from './invoke/exec.ts';
import { findCniError, PluginError } from './core/errors.ts';

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
  /** Set by the TracingChannel when the call succeeded. */
  result?: ExecOutput;
  /** Set by the TracingChannel when the call failed. */
  error?: unknown;
}

/** The operations `libcni:operation` reports. */
export type OperationCommand = 'ADD' | 'CHECK' | 'DEL' | 'GC' | 'STATUS';

/** What `libcni:operation` carries for one operation on one network (list). */
export interface OperationMessage {
  command: OperationCommand;
  /** Network (list) name. */
  network: string;
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

const pluginChannel: TracingChannel<unknown, PluginCallMessage> = tracingChannel(CHANNELS.plugin);
const operationChannel: TracingChannel<unknown, OperationMessage> = tracingChannel(CHANNELS.operation);
const quarantineChannel = channel(CHANNELS.cacheQuarantine);

/**
 * Whether anyone listens on a TracingChannel. (`TracingChannel.hasSubscribers` exists from Node
 * 20.13, but is not in every @types/node; this is what it computes.)
 */
function listened(tc: TracingChannel<unknown, object>): boolean {
  return (
    tc.start.hasSubscribers ||
    tc.end.hasSubscribers ||
    tc.asyncStart.hasSubscribers ||
    tc.asyncEnd.hasSubscribers ||
    tc.error.hasSubscribers
  );
}

/**
 * Wrap an {@link Exec} so that every `execPlugin` call is published on `libcni:plugin`. The wrapper
 * checks for subscribers on every call, so subscribing later works, and calls straight through when
 * there are none.
 */
export function tracePluginCalls(exec: Exec): Exec {
  return {
    execPlugin(
      pluginPath: string,
      stdin: Uint8Array,
      env: Record<string, string>,
      options?: ExecOptions,
    ): Promise<ExecOutput> {
      if (!listened(pluginChannel)) return exec.execPlugin(pluginPath, stdin, env, options);
      const ctx = options?.context;
      const message: PluginCallMessage = {
        command: options?.command ?? env.CNI_COMMAND ?? '',
        plugin: ctx?.plugin,
        pluginPath,
        network: ctx?.network,
        containerId: ctx?.containerId,
        ifName: ctx?.ifName,
        traceparent: env.TRACEPARENT,
      };
      const started = performance.now();
      return pluginChannel.tracePromise(async () => {
        try {
          const out = await exec.execPlugin(pluginPath, stdin, env, options);
          message.durationMs = out.durationMs;
          message.exitCode = out.exitCode;
          message.signal = null;
          return out;
        } catch (e) {
          // Facts of the run travel on the error; an Exec that throws something else has none.
          const run = e instanceof PluginError ? e.exec : undefined;
          message.durationMs = run?.durationMs ?? performance.now() - started;
          message.exitCode = run?.exitCode ?? null;
          message.signal = run?.signal ?? null;
          throw e;
        }
      }, message);
    },
    findInPath(type: string, paths: readonly string[]): Promise<string> {
      return exec.findInPath(type, paths);
    },
  };
}

/** Run `fn` as one operation, published on `libcni:operation` when anyone listens. */
export function traceOperation<T>(
  message: Omit<OperationMessage, 'traceparent'>,
  trace: TraceContext | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  if (!listened(operationChannel)) return fn();
  const full: OperationMessage = { ...message, traceparent: trace?.traceparent };
  const started = performance.now();
  return operationChannel.tracePromise(async () => {
    try {
      const out = await fn();
      full.durationMs = performance.now() - started;
      return out;
    } catch (e) {
      full.durationMs = performance.now() - started;
      full.errorCode = findCniError(e)?.code;
      throw e;
    }
  }, full);
}

/** Publish a quarantined cache entry on `libcni:cache:quarantine` (when anyone listens). */
export function publishCacheQuarantine(message: CacheQuarantineMessage): void {
  if (quarantineChannel.hasSubscribers) quarantineChannel.publish(message);
}

// ---- W3C trace context from OpenTelemetry ------------------------------------------------------

/** The part of an OpenTelemetry `SpanContext` we read. */
export interface OtelSpanContextLike {
  traceId: string;
  spanId: string;
  traceFlags: number;
  traceState?: { serialize(): string } | undefined;
}

/** The part of `@opentelemetry/api` we use; structural, so the package stays optional. */
export interface OtelApiLike {
  context: { active(): unknown };
  trace: { getSpanContext(context: unknown): OtelSpanContextLike | undefined };
  propagation?:
    | { getBaggage(context: unknown): { getAllEntries(): Array<[string, { value: string }]> } | undefined }
    | undefined;
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

/**
 * The W3C trace context of the active OpenTelemetry span, as Go libcni builds it for plugins: only
 * when the span context is valid; `tracestate` and `baggage` only when non-empty.
 */
export function traceContextFromOtel(api: OtelApiLike): TraceContext | undefined {
  const active = api.context.active();
  const sc = api.trace.getSpanContext(active);
  if (sc === undefined) return undefined;
  if (!HEX32.test(sc.traceId) || /^0+$/.test(sc.traceId)) return undefined;
  if (!HEX16.test(sc.spanId) || /^0+$/.test(sc.spanId)) return undefined;
  const flags = (sc.traceFlags & 0xff).toString(16).padStart(2, '0');
  const out: TraceContext = { traceparent: `00-${sc.traceId}-${sc.spanId}-${flags}` };
  const state = sc.traceState?.serialize();
  if (state) out.tracestate = state;
  const entries = api.propagation?.getBaggage(active)?.getAllEntries() ?? [];
  if (entries.length > 0) {
    out.baggage = entries
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v.value)}`)
      .join(',');
  }
  return out;
}

function asOtelApi(mod: unknown): OtelApiLike | undefined {
  const m = mod as { default?: unknown } & Partial<OtelApiLike>;
  const api = (m.trace === undefined ? m.default : m) as Partial<OtelApiLike> | undefined;
  if (typeof api?.context?.active !== 'function' || typeof api.trace?.getSpanContext !== 'function') {
    return undefined;
  }
  return api as OtelApiLike;
}

let otelApi: Promise<OtelApiLike | undefined> | undefined;

/**
 * `@opentelemetry/api`, imported once on first use; undefined when the application does not have
 * it. The specifier is a variable so that neither TypeScript nor a bundler insists on the package.
 */
function loadOtel(): Promise<OtelApiLike | undefined> {
  otelApi ??= (async () => {
    const specifier = '@opentelemetry/api';
    try {
      return asOtelApi(await import(specifier));
    } catch {
      return undefined;
    }
  })();
  return otelApi;
}

/**
 * The trace context for an operation: the caller's explicit one when given, else the active
 * OpenTelemetry span's when the application has `@opentelemetry/api`, else none. Never throws.
 */
export async function resolveTraceContext(
  explicit: TraceContext | undefined,
): Promise<TraceContext | undefined> {
  if (explicit !== undefined) return explicit;
  const api = await loadOtel();
  if (api === undefined) return undefined;
  try {
    return traceContextFromOtel(api);
  } catch {
    return undefined; // a broken tracer must not break networking
  }
}

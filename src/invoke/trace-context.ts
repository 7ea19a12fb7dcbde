/**
 * The W3C trace context for plugins (`TRACEPARENT`), found in the application's OpenTelemetry
 * context when the application has `@opentelemetry/api`; it is an optional peer and is loaded
 * lazily, never required.
 */
import type { TraceContext } from '../core/diagnostics.ts';

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

/** Where `@opentelemetry/api` 1.x (the peer dependency's range) keeps what is registered. */
const OTEL_GLOBAL = Symbol.for('opentelemetry.js.api.1');

/**
 * Whether the application has registered an OpenTelemetry context manager. Without one,
 * `context.active()` is always the root context, which holds no span and no baggage, so there is
 * nothing to propagate. Checking this first spares an application that has the package but does
 * not trace the import (~30 ms, on its first operation).
 */
function otelContextRegistered(): boolean {
  const registered = (globalThis as Record<symbol, { context?: unknown } | undefined>)[OTEL_GLOBAL];
  return registered?.context !== undefined;
}

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
  if (otelApi === undefined && !otelContextRegistered()) return undefined;
  const api = await loadOtel();
  if (api === undefined) return undefined;
  try {
    return traceContextFromOtel(api);
  } catch {
    return undefined; // a broken tracer must not break networking
  }
}

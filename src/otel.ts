/**
 * `libcni/otel`: OpenTelemetry spans from the `libcni:operation` and `libcni:plugin` tracing
 * channels (core/diagnostics.ts). The one module that imports `@opentelemetry/api` (an optional
 * peer dependency): the rest of the library never needs it.
 *
 * ```ts
 * import { instrumentLibcni } from 'libcni/otel';
 * const stop = instrumentLibcni(); // the global tracer provider; or { tracerProvider } / { tracer }
 * // ... every CNIConfig operation is now a `cni.ADD` (etc.) span with a child span per plugin
 * stop();
 * ```
 * @packageDocumentation
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type Attributes,
  type Context,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import {
  type OperationMessage,
  operationChannel,
  type PluginCallMessage,
  pluginChannel,
} from './core/diagnostics.ts';

/** Options of {@link instrumentLibcni}. */
export interface InstrumentLibcniOptions {
  /** The tracer to make spans with; wins over `tracerProvider`. */
  tracer?: Tracer | undefined;
  /** Where to get the tracer (named `libcni`) from; default: the global provider (`trace`). */
  tracerProvider?: TracerProvider | undefined;
}

/** The instrumentation scope name of the spans. */
const TRACER_NAME = 'libcni';

/** Attributes of the parts an operation and a plugin call share; empty values are left out. */
function placeAttributes(m: {
  command: string;
  network?: string | undefined;
  containerId?: string | undefined;
  ifName?: string | undefined;
}): Attributes {
  const out: Attributes = { 'cni.command': m.command };
  if (m.network) out['cni.network'] = m.network;
  if (m.containerId) out['cni.container_id'] = m.containerId;
  if (m.ifName) out['cni.ifname'] = m.ifName;
  return out;
}

function recordFailure(span: Span, error: unknown): void {
  if (error instanceof Error) span.recordException(error);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}

function nothing(): void {
  // a TracingChannel subscriber has to give every event a handler
}

/**
 * Turn libcni's tracing channels into spans, until the returned function is called:
 * - every operation (ADD, CHECK, DEL, GC, STATUS of a network) is a span `cni.<COMMAND>` with
 *   `cni.command`, `cni.network`, `cni.version`, `cni.plugins`, `cni.container_id` and
 *   `cni.ifname` (not for GC and STATUS), and `cni.error_code` and an error status when it fails.
 *   Its parent is the span active where the operation was called, or the operation it runs in
 *   (GC's DELs);
 * - every plugin process is a child span `cni.<COMMAND> <type>` with `cni.plugin.type`,
 *   `cni.plugin.path`, `cni.plugin.exit_code` (or `cni.plugin.signal`) and
 *   `cni.plugin.duration_ms`. A VERSION probe outside any operation hangs off the active span.
 *
 * Calling it twice makes every span twice; call the returned function once you are done.
 */
export function instrumentLibcni(options: InstrumentLibcniOptions = {}): () => void {
  const tracer = options.tracer ?? (options.tracerProvider ?? trace).getTracer(TRACER_NAME);
  // The operation's span context, seen by the plugin calls made inside it: TracingChannel runs the
  // traced function inside the stores bound to its `start` channel.
  const current = new AsyncLocalStorage<Context>();
  const spans = new WeakMap<object, Span>();
  const parent = () => current.getStore() ?? context.active();

  const startOperation = (m: OperationMessage): Context => {
    const ctx = parent();
    const span = tracer.startSpan(
      `cni.${m.command}`,
      {
        kind: SpanKind.INTERNAL,
        attributes: { ...placeAttributes(m), 'cni.version': m.cniVersion, 'cni.plugins': m.plugins },
      },
      ctx,
    );
    spans.set(m, span);
    return trace.setSpan(ctx, span);
  };
  const endOperation = (m: OperationMessage) => {
    const span = spans.get(m);
    if (span === undefined) return;
    spans.delete(m);
    if (m.error !== undefined) {
      if (m.errorCode !== undefined) span.setAttribute('cni.error_code', m.errorCode);
      recordFailure(span, m.error);
    }
    span.end();
  };
  const startPlugin = (m: PluginCallMessage) => {
    const type = m.plugin ?? m.pluginPath.slice(m.pluginPath.lastIndexOf('/') + 1);
    const attributes = { ...placeAttributes(m), 'cni.plugin.type': type, 'cni.plugin.path': m.pluginPath };
    spans.set(
      m,
      tracer.startSpan(`cni.${m.command} ${type}`, { kind: SpanKind.INTERNAL, attributes }, parent()),
    );
  };
  const endPlugin = (m: PluginCallMessage) => {
    const span = spans.get(m);
    if (span === undefined) return;
    spans.delete(m);
    if (typeof m.exitCode === 'number') span.setAttribute('cni.plugin.exit_code', m.exitCode);
    if (m.signal) span.setAttribute('cni.plugin.signal', m.signal);
    if (m.durationMs !== undefined) span.setAttribute('cni.plugin.duration_ms', m.durationMs);
    if (m.error !== undefined) recordFailure(span, m.error);
    span.end();
  };

  const operationHandlers = {
    start: nothing,
    end: nothing,
    asyncStart: nothing,
    error: nothing,
    asyncEnd: endOperation,
  };
  const pluginHandlers = {
    start: startPlugin,
    end: nothing,
    asyncStart: nothing,
    error: nothing,
    asyncEnd: endPlugin,
  };
  operationChannel.start.bindStore(current, startOperation);
  operationChannel.subscribe(operationHandlers);
  pluginChannel.subscribe(pluginHandlers);
  let active = true;
  return () => {
    if (!active) return;
    active = false;
    operationChannel.start.unbindStore(current);
    operationChannel.unsubscribe(operationHandlers);
    pluginChannel.unsubscribe(pluginHandlers);
  };
}

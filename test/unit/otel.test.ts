// libcni/otel: spans from the tracing channels — attributes, parent/child, errors, nesting,
// the caller's active span as parent, and nothing left behind after the unsubscribe.
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import {
  type Context,
  type ContextManager,
  context,
  ROOT_CONTEXT,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { CNIConfig } from '../../src/cni/index.ts';
import { networkConfFromBytes } from '../../src/config/parse.ts';
import { listened, operationChannel, pluginChannel } from '../../src/core/diagnostics.ts';
import { instrumentLibcni } from '../../src/otel.ts';
import { FakeExec } from '../../src/testing.ts';

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function newCni(): Promise<CNIConfig> {
  const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'libcni-otel-'));
  dirs.push(cacheDir);
  const exec = new FakeExec()
    .plugin('ipam-like', (call) =>
      call.command === 'ADD' ? { result: { cniVersion: '1.1.0', ips: [{ address: '10.8.0.2/24' }] } } : {},
    )
    .plugin('broken', () => ({ error: { code: 11, msg: 'no more addresses' } }));
  return new CNIConfig({ path: ['/fake'], cacheDir, exec });
}

const list = (plugins: string[]) =>
  networkConfFromBytes(
    JSON.stringify({ cniVersion: '1.1.0', name: 'otelnet', plugins: plugins.map((type) => ({ type })) }),
  );
const rt = { containerId: 'c1', netns: '/run/netns/c1', ifName: 'eth0' };

function tracing() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return { exporter, provider, spans: () => exporter.getFinishedSpans() };
}

const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
const idOf = (s: ReadableSpan) => s.spanContext().spanId;

test('an ADD is a cni.ADD span with CNI attributes, and each plugin a child span', async () => {
  const t = tracing();
  const stop = instrumentLibcni({ tracerProvider: t.provider });
  try {
    await (await newCni()).addNetworkList(list(['ipam-like', 'ipam-like']), rt);
  } finally {
    stop();
  }
  const spans = t.spans();
  const op = spans.find((s) => s.name === 'cni.ADD');
  assert.ok(op);
  assert.equal(parentOf(op), undefined);
  assert.deepEqual(op.attributes, {
    'cni.command': 'ADD',
    'cni.network': 'otelnet',
    'cni.container_id': 'c1',
    'cni.ifname': 'eth0',
    'cni.version': '1.1.0',
    'cni.plugins': ['ipam-like', 'ipam-like'],
  });
  const children = spans.filter((s) => parentOf(s) === idOf(op));
  assert.deepEqual(
    children.map((s) => s.name),
    ['cni.ADD ipam-like', 'cni.ADD ipam-like'],
  );
  for (const c of children) {
    assert.equal(c.spanContext().traceId, op.spanContext().traceId);
    assert.equal(c.attributes['cni.plugin.path'], '/fake/ipam-like');
    assert.equal(c.attributes['cni.plugin.exit_code'], 0);
    assert.equal(typeof c.attributes['cni.plugin.duration_ms'], 'number');
  }
  assert.equal(spans.length, 3);
});

test('a failure sets the error status, the spec code and the exception on both spans', async () => {
  const t = tracing();
  const stop = instrumentLibcni({ tracer: t.provider.getTracer('mine') });
  try {
    await assert.rejects((await newCni()).addNetworkList(list(['broken']), rt), /no more addresses/);
  } finally {
    stop();
  }
  const [plugin, op] = t.spans() as [ReadableSpan, ReadableSpan];
  assert.equal(op.name, 'cni.ADD');
  assert.equal(op.instrumentationScope.name, 'mine', 'the tracer given wins');
  assert.equal(op.status.code, SpanStatusCode.ERROR);
  assert.match(op.status.message ?? '', /no more addresses/);
  assert.equal(op.attributes['cni.error_code'], 11);
  assert.equal(plugin.name, 'cni.ADD broken');
  assert.equal(plugin.status.code, SpanStatusCode.ERROR);
  assert.equal(plugin.attributes['cni.plugin.exit_code'], 1);
  assert.ok(plugin.events.some((e) => e.name === 'exception'));
});

test("GC's DELs of stale attachments are children of the GC span", async () => {
  const cni = await newCni();
  const l = list(['ipam-like']);
  await cni.addNetworkList(l, rt);
  const t = tracing();
  const stop = instrumentLibcni({ tracerProvider: t.provider });
  try {
    await cni.gcNetworkList(l, { validAttachments: [] });
  } finally {
    stop();
  }
  const spans = t.spans();
  const gc = spans.find((s) => s.name === 'cni.GC');
  const del = spans.find((s) => s.name === 'cni.DEL');
  assert.ok(gc && del);
  assert.equal(parentOf(del), idOf(gc));
  assert.equal(spans.find((s) => s.name === 'cni.DEL ipam-like')?.parentSpanContext?.spanId, idOf(del));
  assert.equal(spans.find((s) => s.name === 'cni.GC ipam-like')?.parentSpanContext?.spanId, idOf(gc));
});

/** A minimal AsyncLocalStorage context manager, as an application's SDK would register one. */
class AlsContextManager implements ContextManager {
  readonly #als = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.#als.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.#als.run(ctx, () => fn.apply(thisArg, args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    return this;
  }
}

test("an operation's parent is the caller's active span", async () => {
  const t = tracing();
  assert.ok(context.setGlobalContextManager(new AlsContextManager()));
  const stop = instrumentLibcni({ tracerProvider: t.provider });
  try {
    const cni = await newCni();
    const tracer = t.provider.getTracer('app');
    await tracer.startActiveSpan('handle-pod', async (span) => {
      await cni.addNetworkList(list(['ipam-like']), rt);
      span.end();
    });
  } finally {
    stop();
    context.disable();
  }
  const spans = t.spans();
  const app = spans.find((s) => s.name === 'handle-pod');
  const op = spans.find((s) => s.name === 'cni.ADD');
  assert.ok(app && op);
  assert.equal(parentOf(op), idOf(app));
  assert.equal(op.spanContext().traceId, app.spanContext().traceId);
  assert.equal(trace.getActiveSpan(), undefined);
});

test('after the unsubscribe no span is made and the channels are unlistened again', async () => {
  const t = tracing();
  const before = listened(operationChannel) || listened(pluginChannel);
  const stop = instrumentLibcni({ tracerProvider: t.provider });
  assert.ok(listened(operationChannel) && listened(pluginChannel));
  stop();
  stop(); // twice is harmless
  assert.equal(listened(operationChannel) || listened(pluginChannel), before);
  await (await newCni()).addNetworkList(list(['ipam-like']), rt);
  assert.deepEqual(t.spans(), []);
});

test("a plugin gets the active span's TRACEPARENT once a context manager is registered, and none before", async () => {
  const seen: Array<string | undefined> = [];
  const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'libcni-otel-'));
  dirs.push(cacheDir);
  const exec = new FakeExec().plugin('probe', (call) => {
    seen.push(call.env.TRACEPARENT);
    return call.command === 'ADD' ? { result: { cniVersion: '1.1.0' } } : {};
  });
  const cni = new CNIConfig({ path: ['/fake'], cacheDir, exec });
  const t = tracing();
  const tracer = t.provider.getTracer('app');
  // No context manager: no span can be active, so nothing is propagated (and nothing imported).
  await tracer.startActiveSpan('no-manager', async (span) => {
    await cni.addNetworkList(list(['probe']), { ...rt, containerId: 'c-none' });
    span.end();
  });
  assert.deepEqual(seen, [undefined]);
  assert.ok(context.setGlobalContextManager(new AlsContextManager()));
  try {
    await tracer.startActiveSpan('handle-pod', async (span) => {
      await cni.addNetworkList(list(['probe']), { ...rt, containerId: 'c-traced' });
      const { traceId, spanId } = span.spanContext();
      assert.equal(seen[1], `00-${traceId}-${spanId}-01`);
      span.end();
    });
  } finally {
    context.disable();
  }
  assert.equal(seen.length, 2);
});

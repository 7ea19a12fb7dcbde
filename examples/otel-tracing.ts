/**
 * OpenTelemetry spans for CNI operations with `libcni/otel`: ADD, CHECK and DEL of the reference
 * `loopback` plugin in a fresh network namespace, traced into an in-memory exporter, then printed
 * as a tree (or, with `--json`, one JSON object per span).
 *
 * As root, with Debian's containernetworking-plugins installed (or `--plugins <dir>`):
 *
 *   node --import tsx examples/otel-tracing.ts [--json] [--plugins /usr/lib/cni]
 *
 * In an application, give `instrumentLibcni` your tracer provider (or nothing, for the global one)
 * and an exporter to your backend instead of the in-memory one.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { CNIConfig, createNetns, deleteNetns, networkConfFromBytes } from '../src/index.ts';
import { instrumentLibcni } from '../src/otel.ts';

const { values: opt } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    plugins: { type: 'string', default: '/usr/lib/cni' },
  },
});

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const stop = instrumentLibcni({ tracerProvider: provider });

const work = await mkdtemp(path.join(os.tmpdir(), 'libcni-otel-'));
const ns = await createNetns(`otel-ex-${process.pid}`);
try {
  const list = networkConfFromBytes(
    JSON.stringify({ cniVersion: '1.0.0', name: 'otel-lo', plugins: [{ type: 'loopback' }] }),
  );
  const cni = new CNIConfig({ path: [opt.plugins], cacheDir: path.join(work, 'cache'), timeoutMs: 30_000 });
  const rt = { containerId: `otel-ex-${process.pid}`, netns: ns.path, ifName: 'lo' };
  await cni.addNetworkList(list, rt);
  await cni.checkNetworkList(list, rt);
  await cni.delNetworkList(list, rt);
} finally {
  stop();
  await deleteNetns(ns.path);
  await rm(work, { recursive: true, force: true });
}

await provider.forceFlush();
const spans = exporter.getFinishedSpans();
const idOf = (s: ReadableSpan) => s.spanContext().spanId;
if (opt.json) {
  for (const s of spans) {
    console.log(
      JSON.stringify({
        name: s.name,
        spanId: idOf(s),
        traceId: s.spanContext().traceId,
        parentSpanId: s.parentSpanContext?.spanId,
        status: s.status.code,
        attributes: s.attributes,
      }),
    );
  }
} else {
  // Operations first (spans without a parent among ours), each followed by its plugin calls.
  const ids = new Set(spans.map(idOf));
  for (const op of spans.filter((s) => !ids.has(s.parentSpanContext?.spanId ?? ''))) {
    console.log(`${op.name}  ${JSON.stringify(op.attributes)}`);
    for (const child of spans.filter((s) => s.parentSpanContext?.spanId === idOf(op))) {
      console.log(`  └─ ${child.name}  ${JSON.stringify(child.attributes)}`);
    }
  }
}
await provider.shutdown();

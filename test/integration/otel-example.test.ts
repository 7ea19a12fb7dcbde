// examples/otel-tracing.ts runs as documented (real loopback plugin, fresh namespace) and prints
// an operation span per ADD/CHECK/DEL, each the parent of its plugin's span.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const ROOT = path.resolve(import.meta.dirname, '../..');
const EXAMPLE = path.join(ROOT, 'examples/otel-tracing.ts');

function skipReason(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (creates a network namespace)';
  // As root, a missing plugin is a failure naming the package, not a skip.
  if (!existsSync('/usr/lib/cni/loopback'))
    throw new Error('cannot run here: needs /usr/lib/cni/loopback; install containernetworking-plugins');
  return false;
}

interface PrintedSpan {
  name: string;
  spanId: string;
  traceId: string;
  parentSpanId?: string;
  status: number;
  attributes: Record<string, unknown>;
}

test('examples/otel-tracing.ts: operation spans with their plugin spans as children', {
  skip: skipReason(),
  timeout: 180_000,
}, async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', EXAMPLE, '--json'], {
    cwd: ROOT,
    timeout: 150_000,
  });
  const spans = stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as PrintedSpan);
  const ops = spans.filter((s) => s.parentSpanId === undefined);
  assert.deepEqual(
    ops.map((s) => s.name),
    ['cni.ADD', 'cni.CHECK', 'cni.DEL'],
  );
  for (const op of ops) {
    const command = op.name.slice('cni.'.length);
    assert.equal(op.status, 0, 'unset status: no error');
    assert.equal(op.attributes['cni.command'], command);
    assert.equal(op.attributes['cni.network'], 'otel-lo');
    assert.equal(op.attributes['cni.version'], '1.0.0');
    assert.equal(op.attributes['cni.ifname'], 'lo');
    assert.match(String(op.attributes['cni.container_id']), /^otel-ex-\d+$/);
    const children = spans.filter((s) => s.parentSpanId === op.spanId);
    assert.deepEqual(
      children.map((c) => c.name),
      [`cni.${command} loopback`],
    );
    const [child] = children as [PrintedSpan];
    assert.equal(child.traceId, op.traceId);
    assert.equal(child.attributes['cni.plugin.type'], 'loopback');
    assert.equal(child.attributes['cni.plugin.path'], '/usr/lib/cni/loopback');
    assert.equal(child.attributes['cni.plugin.exit_code'], 0);
    assert.equal(typeof child.attributes['cni.plugin.duration_ms'], 'number');
  }
  assert.equal(spans.length, 6);
});

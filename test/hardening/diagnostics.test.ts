/**
 * Observability: the `libcni:plugin` and `libcni:operation` TracingChannels see every plugin call
 * and every operation with their facts; nothing is built while nobody listens; W3C trace context
 * reaches the plugins (explicitly, or from OpenTelemetry when the application has it); the
 * documented example logs what it promises.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { logPluginCalls } from '../../examples/log-plugin-calls.ts';
import { CNIConfig, type RuntimeConf } from '../../src/cni/index.ts';
import { networkConfFromBytes } from '../../src/config/parse.ts';
import {
  CHANNELS,
  type OperationMessage,
  type PluginCallMessage,
  traceOperation,
} from '../../src/core/diagnostics.ts';
import {
  type OtelApiLike,
  resolveTraceContext,
  traceContextFromOtel,
} from '../../src/invoke/trace-context.ts';
import { tracePluginCalls } from '../../src/invoke/traced-exec.ts';
import type { Exec } from '../../src/invoke/exec.ts';
import { NetworkPluginError } from '../../src/core/errors.ts';
import { makePluginDir, type PluginDir } from '../helpers/fixtures.ts';

type Phase = 'start' | 'end' | 'asyncStart' | 'asyncEnd' | 'error';

/** Subscribe to every event of a TracingChannel; returns the recorded [phase, snapshot] list and an unsubscribe. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- M only types what the test reads
function record<M extends object>(name: string): { events: Array<[Phase, M]>; stop: () => void } {
  const events: Array<[Phase, M]> = [];
  const phases = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'] as const;
  // A TracingChannel's events are the channels `tracing:<name>:<phase>`.
  const handlers = phases.map((phase) => {
    const fn = (m: unknown) => {
      events.push([phase, { ...(m as M) }]);
    };
    subscribe(`tracing:${name}:${phase}`, fn);
    return [phase, fn] as const;
  });
  return {
    events,
    stop: () => {
      for (const [phase, fn] of handlers) unsubscribe(`tracing:${name}:${phase}`, fn);
    },
  };
}

const RT: RuntimeConf = { containerId: 'diag-ctr', netns: '/run/netns/diag', ifName: 'eth0' };
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('diagnostics channels', () => {
  let plugins: PluginDir;
  let cni: CNIConfig;
  const list = networkConfFromBytes(
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'diagnet',
      plugins: [{ type: 'first' }, { type: 'second' }],
    }),
  );

  before(async () => {
    plugins = await makePluginDir({ first: 'fake', second: 'fake' });
    await plugins.writePlan('first', {
      ADD: { result: { cniVersion: '1.0.0', ips: [{ address: '10.1.0.2/24' }] } },
    });
    await plugins.writePlan('second', { ADD: { result: 'PASSTHROUGH' } });
    cni = new CNIConfig({ path: [plugins.dir], cacheDir: path.join(plugins.root, 'cache') });
  });
  after(() => plugins.cleanup());

  test('ADD and DEL: one operation event each, one plugin event per plugin call, with their facts', async () => {
    const ops = record<OperationMessage>(CHANNELS.operation);
    const calls = record<PluginCallMessage>(CHANNELS.plugin);
    try {
      await cni.addNetworkList(list, RT, { trace: { traceparent: TRACEPARENT } });
      await cni.delNetworkList(list, RT);
    } finally {
      ops.stop();
      calls.stop();
    }
    const opEnds = ops.events.filter(([p]) => p === 'asyncEnd').map(([, m]) => m);
    assert.deepEqual(
      opEnds.map((m) => [m.command, m.network, m.plugins, m.containerId, m.ifName, m.traceparent]),
      [
        ['ADD', 'diagnet', ['first', 'second'], 'diag-ctr', 'eth0', TRACEPARENT],
        ['DEL', 'diagnet', ['first', 'second'], 'diag-ctr', 'eth0', undefined],
      ],
    );
    for (const m of opEnds) {
      assert.ok((m.durationMs ?? -1) >= 0);
      assert.equal(m.error, undefined);
    }
    assert.deepEqual(
      ops.events.map(([p, m]) => `${p}:${m.command}`),
      [
        'start:ADD',
        'end:ADD',
        'asyncStart:ADD',
        'asyncEnd:ADD',
        'start:DEL',
        'end:DEL',
        'asyncStart:DEL',
        'asyncEnd:DEL',
      ],
    );

    const callEnds = calls.events.filter(([p]) => p === 'asyncEnd').map(([, m]) => m);
    assert.deepEqual(
      callEnds.map((m) => [
        m.command,
        m.plugin,
        m.pluginPath,
        m.network,
        m.containerId,
        m.ifName,
        m.exitCode,
      ]),
      [
        ['ADD', 'first', plugins.path('first'), 'diagnet', 'diag-ctr', 'eth0', 0],
        ['ADD', 'second', plugins.path('second'), 'diagnet', 'diag-ctr', 'eth0', 0],
        ['DEL', 'second', plugins.path('second'), 'diagnet', 'diag-ctr', 'eth0', 0],
        ['DEL', 'first', plugins.path('first'), 'diagnet', 'diag-ctr', 'eth0', 0],
      ],
    );
    for (const m of callEnds) assert.ok((m.durationMs ?? 0) > 0, 'the process took some time');
    assert.deepEqual(
      callEnds.map((m) => m.traceparent),
      [TRACEPARENT, TRACEPARENT, undefined, undefined],
    );
    // The plugins got it too.
    const env = (await plugins.calls('first')).map((c) => c.env.TRACEPARENT);
    assert.deepEqual(env.slice(-2), [TRACEPARENT, undefined]);
  });

  test('a failing plugin: error events with its exit code, the operation with the spec code', async () => {
    await plugins.writePlan('second', { ADD: { error: { code: 42, msg: 'no luck' }, exitCode: 3 } });
    const ops = record<OperationMessage>(CHANNELS.operation);
    const calls = record<PluginCallMessage>(CHANNELS.plugin);
    try {
      await assert.rejects(cni.addNetworkList(list, RT), NetworkPluginError);
    } finally {
      ops.stop();
      calls.stop();
      await plugins.writePlan('second', { ADD: { result: 'PASSTHROUGH' } });
    }
    const failedCall = calls.events.find(([p]) => p === 'error')?.[1];
    assert.equal(failedCall?.plugin, 'second');
    assert.equal(failedCall.exitCode, 3);
    assert.ok(failedCall.error instanceof Error);
    const failedOp = ops.events.find(([p]) => p === 'asyncEnd')?.[1];
    assert.equal(failedOp?.command, 'ADD');
    assert.equal(failedOp.errorCode, 42);
    assert.ok(failedOp.error instanceof NetworkPluginError);
  });

  test('GC and STATUS are operations too', async () => {
    const ops = record<OperationMessage>(CHANNELS.operation);
    try {
      await cni.gcNetworkList(list, { validAttachments: [] });
      await cni.getStatusNetworkList(list);
    } finally {
      ops.stop();
    }
    assert.deepEqual(
      ops.events.filter(([p]) => p === 'asyncEnd').map(([, m]) => [m.command, m.network, m.containerId]),
      [
        ['GC', 'diagnet', ''],
        ['STATUS', 'diagnet', ''],
      ],
    );
  });

  test('with no subscriber, calls go straight through: the very promise of the wrapped call', async () => {
    const promise = Promise.resolve({ stdout: Buffer.from('{}'), stderr: '', exitCode: 0, durationMs: 1 });
    const exec: Exec = { execPlugin: () => promise, findInPath: () => Promise.resolve('/x') };
    assert.equal(tracePluginCalls(exec).execPlugin('/x', new Uint8Array(), {}), promise);
    const op = Promise.resolve(7);
    const msg = {
      command: 'ADD',
      network: 'n',
      cniVersion: '1.0.0',
      plugins: [],
      containerId: 'c',
      ifName: 'eth0',
    } as const;
    assert.equal(
      traceOperation({ ...msg, plugins: [] }, undefined, () => op),
      op,
    );
    await promise;
  });

  test('the documented example logs one line per plugin call and per operation', async () => {
    const lines: string[] = [];
    const stop = logPluginCalls((l) => lines.push(l));
    try {
      await cni.addNetworkList(list, RT);
      await cni.delNetworkList(list, RT);
    } finally {
      stop();
    }
    assert.equal(lines.length, 6);
    assert.match(
      lines[0] ?? '',
      /^libcni plugin {4}ADD {5}first {6}net=diagnet ctr=diag-ctr if=eth0 exit=0 \d+\.\dms$/,
    );
    assert.match(lines[2] ?? '', /^libcni operation ADD {5}diagnet {4}ctr=diag-ctr if=eth0 ok \d+\.\dms$/);
    assert.match(lines[5] ?? '', /^libcni operation DEL /);
  });
});

describe('W3C trace context from OpenTelemetry', () => {
  /** A stand-in for `@opentelemetry/api` with one active span. */
  function fakeOtel(
    span: { traceId: string; spanId: string; traceFlags: number } | undefined,
    state = '',
    baggage: Array<[string, string]> = [],
  ): OtelApiLike {
    const active = { marker: 'ctx' };
    return {
      context: { active: () => active },
      trace: {
        getSpanContext: (ctx) => {
          assert.equal(ctx, active, 'read from the active context');
          return span && { ...span, traceState: { serialize: () => state } };
        },
      },
      propagation: {
        getBaggage: () => ({ getAllEntries: () => baggage.map(([k, v]) => [k, { value: v }]) }),
      },
    };
  }

  test('the active span becomes TRACEPARENT, with TRACESTATE and BAGGAGE when non-empty', () => {
    const span = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 };
    assert.deepEqual(traceContextFromOtel(fakeOtel(span)), { traceparent: TRACEPARENT });
    assert.deepEqual(
      traceContextFromOtel(
        fakeOtel(span, 'congo=t61rcWkgMzE', [
          ['user id', 'a b'],
          ['k', 'v'],
        ]),
      ),
      {
        traceparent: TRACEPARENT,
        tracestate: 'congo=t61rcWkgMzE',
        baggage: 'user%20id=a%20b,k=v',
      },
    );
    assert.equal(
      traceContextFromOtel(fakeOtel({ ...span, traceFlags: 0 }))?.traceparent,
      '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00',
    );
  });

  test('no span, or an invalid one (all-zero ids), gives no trace context', () => {
    assert.equal(traceContextFromOtel(fakeOtel(undefined)), undefined);
    assert.equal(
      traceContextFromOtel(fakeOtel({ traceId: '0'.repeat(32), spanId: 'b7ad6b7169203331', traceFlags: 1 })),
      undefined,
    );
    assert.equal(
      traceContextFromOtel(
        fakeOtel({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: '0'.repeat(16), traceFlags: 1 }),
      ),
      undefined,
    );
  });

  test('an explicit trace option wins; without @opentelemetry/api installed there is none, and no error', async (t) => {
    const explicit = { traceparent: TRACEPARENT };
    assert.equal(await resolveTraceContext(explicit), explicit);
    let installed = true;
    try {
      createRequire(import.meta.url).resolve('@opentelemetry/api');
    } catch {
      installed = false;
    }
    if (installed) {
      t.diagnostic('@opentelemetry/api is installed: its absence is not tested here');
      return;
    }
    assert.equal(await resolveTraceContext(undefined), undefined);
  });
});

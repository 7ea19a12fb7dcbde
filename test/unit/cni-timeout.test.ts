// A plugin that never answers (Go libcni api_test.go "Invoking a sleep plugin" T1–T9): every
// operation gives up after its timeout with Go's `netplugin failed with no error message` text, as
// a PluginTimeoutError, and ADD caches nothing. Upstream uses a 2 s context; 300 ms is enough here.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { RuntimeConf } from '../../src/cni/index.ts';
import { networkConfFromBytes, pluginConfFromBytes } from '../../src/config/parse.ts';
import { AbortError } from '../../src/core/abort.ts';
import {
  AggregateLibcniError,
  NetworkPluginError,
  PluginAbortedError,
  PluginTimeoutError,
} from '../../src/core/errors.ts';
import { cleanupFixtures, CURRENT, makeCniFixture } from '../helpers/cni-setup.ts';

after(cleanupFixtures);

const TIMEOUT_MS = 300;

const PLUGIN_CONFIG = `{
  "type": "sleep",
  "name": "apitest",
  "some-key": "some-value",
  "cniVersion": "${CURRENT}",
  "capabilities": { "portMappings": true }
}`;

const RT: RuntimeConf = { containerId: 'some-container-id', netns: '/some/netns/path', ifName: 'some-eth0' };

/** The PluginTimeoutError inside `err`: itself, a list operation's cause, or one of validation's errors. */
function timeoutIn(err: unknown): PluginTimeoutError | undefined {
  if (err instanceof PluginTimeoutError) return err;
  if (err instanceof AggregateLibcniError) {
    assert.equal(err.errors.length, 1);
    return timeoutIn(err.errors[0]);
  }
  if (err instanceof NetworkPluginError) return timeoutIn(err.cause);
  return undefined;
}

async function sleepFixture() {
  const f = await makeCniFixture({ sleep: 'sleep' }, { timeoutMs: TIMEOUT_MS });
  const net = pluginConfFromBytes(PLUGIN_CONFIG);
  const list = networkConfFromBytes(
    `{"name":"some-list","cniVersion":"${CURRENT}","plugins":[${PLUGIN_CONFIG}]}`,
  );
  return { ...f, net, list };
}

type Fixture = Awaited<ReturnType<typeof sleepFixture>>;

const operations: Array<[string, (f: Fixture) => Promise<unknown>]> = [
  ['addNetwork (T1)', (f) => f.cni.addNetwork(f.net, RT)],
  ['delNetwork (T2)', (f) => f.cni.delNetwork(f.net, RT)],
  ['checkNetwork (T3)', (f) => f.cni.checkNetwork(f.net, RT)],
  ['getVersionInfo (T4)', (f) => f.cni.getVersionInfo('sleep')],
  ['validateNetwork (T5)', (f) => f.cni.validateNetwork(f.net)],
  ['addNetworkList (T6)', (f) => f.cni.addNetworkList(f.list, RT)],
  ['delNetworkList (T7)', (f) => f.cni.delNetworkList(f.list, RT)],
  ['checkNetworkList (T8)', (f) => f.cni.checkNetworkList(f.list, RT)],
  ['validateNetworkList (T9)', (f) => f.cni.validateNetworkList(f.list)],
];

describe('a plugin that never answers', { concurrency: true }, () => {
  for (const [name, run] of operations) {
    test(`${name} fails with a timeout error`, async () => {
      const f = await sleepFixture();
      await assert.rejects(run(f), (err: Error) => {
        assert.match(err.message, /netplugin failed with no error message/);
        const timeout = timeoutIn(err);
        assert.ok(timeout, `expected a PluginTimeoutError in ${err.name}: ${err.message}`);
        assert.equal(timeout.timeoutMs, TIMEOUT_MS);
        assert.equal(timeout.exec.pluginPath, f.plugins.path('sleep'));
        return true;
      });
      // Nothing cached: a timed-out ADD is a failed ADD.
      assert.deepEqual(await f.cacheNames(), []);
    });
  }

  test("a per-call timeoutMs overrides the CNIConfig's", async () => {
    const f = await sleepFixture();
    await assert.rejects(f.cni.addNetwork(f.net, RT, { timeoutMs: 100 }), (err: Error) => {
      assert.ok(err instanceof PluginTimeoutError);
      assert.equal(err.timeoutMs, 100);
      return true;
    });
  });

  test('an AbortSignal ends the call as an AbortError (cause: the reason), the killed call inside', async () => {
    const f = await sleepFixture();
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const pending = f.cni.addNetworkList(f.list, RT, { signal: controller.signal, timeoutMs: 60_000 });
    setTimeout(() => {
      controller.abort(reason);
    }, 50);
    await assert.rejects(pending, (err: Error) => {
      assert.ok(err instanceof AbortError, String(err));
      assert.equal(err.name, 'AbortError');
      assert.equal(err.cause, reason);
      assert.ok(err.interrupted instanceof NetworkPluginError);
      assert.ok(err.interrupted.cause instanceof PluginAbortedError);
      assert.match(err.message, /netplugin failed with no error message/);
      return true;
    });
    assert.deepEqual(await f.cacheNames(), []);
  });
});

// One error for every abort: already aborted, aborted while queued behind another operation on the
// same container (or namespace name), and aborted while a plugin runs — on CNIConfig, on
// NetworkManager and on the netns functions — is an AbortError (a LibcniError, name 'AbortError')
// whose cause is the signal's reason.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, it, type TestContext } from 'node:test';
import { CNIConfig } from '../../src/cni/config.ts';
import { networkConfFromBytes } from '../../src/config/parse.ts';
import { AbortError } from '../../src/core/abort.ts';
import { LibcniError, NetworkPluginError, PluginAbortedError } from '../../src/core/errors.ts';
import { SetupError } from '../../src/core/runtime-errors.ts';
import { createNetns, deleteNetns, netnsExists } from '../../src/netns/netns.ts';
import { NetworkManager } from '../../src/runtime/manager.ts';
import { makeRuntimeSandbox, type RuntimeSandbox } from '../helpers/runtime-plugins.ts';

let sb: RuntimeSandbox;
const managers: NetworkManager[] = [];

beforeEach(async () => {
  sb = await makeRuntimeSandbox();
});
afterEach(async () => {
  for (const m of managers.splice(0)) await m.close();
  await sb.cleanup();
});

function manager(): NetworkManager {
  const m = new NetworkManager({ confDir: sb.confDir, pluginDirs: [sb.pluginDir], cacheDir: sb.cacheDir });
  managers.push(m);
  return m;
}

/** Asserts `p` rejects with an AbortError caused by `reason`; returns it. */
async function abortOf(p: Promise<unknown>, reason: unknown): Promise<AbortError> {
  const err = await p.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof AbortError, `expected an AbortError, got ${String(err)}`);
  assert.ok(err instanceof LibcniError);
  assert.equal(err.name, 'AbortError');
  assert.equal(err.cause, reason);
  return err;
}

/** Resolves once the fake plugin has started a call (its "begin" record). */
async function pluginStarted(cmd: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if ((await sb.calls(true)).some((c) => c.cmd === cmd && c.phase === 'begin')) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`the plugin never started ${cmd}`);
}

const RT = { containerId: 'c1', netns: '/x', ifName: 'eth0' };

describe('CNIConfig', () => {
  async function slowList() {
    const file = await sb.writeNetwork('10-a.conflist', 'neta', { tdelay: '30' });
    return networkConfFromBytes(await fs.readFile(file));
  }
  const cni = () => new CNIConfig({ path: [sb.pluginDir], cacheDir: sb.cacheDir });

  it('an already aborted signal: AbortError, no plugin runs', async () => {
    const list = await slowList();
    const reason = new Error('stop');
    const err = await abortOf(cni().addNetworkList(list, RT, { signal: AbortSignal.abort(reason) }), reason);
    assert.equal(err.interrupted, undefined);
    await abortOf(cni().delNetworkList(list, RT, { signal: AbortSignal.abort(reason) }), reason);
    await abortOf(cni().getVersionInfo('rtfake', { signal: AbortSignal.abort(reason) }), reason);
    assert.deepEqual(await sb.calls(true), []);
  });

  it('aborted while the plugin runs: AbortError, the killed call as `interrupted`', async () => {
    const list = await slowList();
    const ac = new AbortController();
    const pending = cni().addNetworkList(list, RT, { signal: ac.signal });
    await pluginStarted('ADD');
    ac.abort('caller gave up');
    const err = await abortOf(pending, 'caller gave up');
    assert.ok(err.interrupted instanceof NetworkPluginError);
    assert.ok(err.interrupted.cause instanceof PluginAbortedError);
  });
});

describe('NetworkManager', () => {
  it('an already aborted signal: AbortError from setup, teardown, check and gc, no plugin runs', async () => {
    await sb.writeNetwork('10-a.conflist', 'neta');
    const m = manager();
    const reason = new Error('stop');
    const signal = AbortSignal.abort(reason);
    await abortOf(m.setup('c1', '/x', { signal }), reason);
    await abortOf(m.teardown('c1', '/x', { signal }), reason);
    await abortOf(m.check('c1', '/x', { signal }), reason);
    await abortOf(m.gc([], { signal }), reason);
    await abortOf(m.status({ signal }), reason);
    assert.deepEqual(await sb.calls(true), []);
  });

  it('aborted while queued behind another operation on the same container', async () => {
    const gate = path.join(sb.root, 'gate');
    await sb.writeNetwork('10-a.conflist', 'neta', { twait: gate });
    const m = manager();
    const first = m.setup('c1', '/x');
    await pluginStarted('ADD');
    const ac = new AbortController();
    const queued = m.teardown('c1', '/x', { signal: ac.signal });
    ac.abort('not waiting');
    const err = await abortOf(queued, 'not waiting');
    assert.equal(err.interrupted, undefined);
    await fs.writeFile(gate, '');
    await first;
    // The queued teardown never ran: only the first setup's ADD reached the plugin.
    assert.deepEqual(
      (await sb.calls()).map((c) => c.cmd),
      ['ADD'],
    );
  });

  it('aborted while a plugin runs: AbortError, the rolled-back SetupError as `interrupted`', async () => {
    const gate = path.join(sb.root, 'gate');
    await sb.writeNetwork('10-a.conflist', 'neta', { twait: gate });
    const m = manager();
    const ac = new AbortController();
    const pending = m.setup('c1', '/x', { signal: ac.signal });
    await pluginStarted('ADD');
    const reason = new Error('caller gave up');
    ac.abort(reason);
    const err = await abortOf(pending, reason);
    assert.ok(err.interrupted instanceof SetupError);
    assert.equal(err.interrupted.rollback.ok, true);
  });
});

describe('netns functions', () => {
  const isRoot = process.getuid?.() === 0;
  const skip = (t: TestContext): boolean => {
    if (!isRoot) t.skip('needs root');
    return !isRoot;
  };

  it('an already aborted signal: AbortError, nothing created or deleted', async (t) => {
    if (skip(t)) return;
    const name = `abort-pre-${process.pid}`;
    const reason = new Error('stop');
    await abortOf(createNetns(name, { signal: AbortSignal.abort(reason) }), reason);
    assert.equal(await netnsExists(`/run/netns/${name}`), false);
    await abortOf(deleteNetns(name, { signal: AbortSignal.abort(reason) }), reason);
  });

  it('aborted while queued behind another call on the same name; the call ahead completes', async (t) => {
    if (skip(t)) return;
    const name = `abort-q-${process.pid}`;
    try {
      const first = createNetns(name);
      const ac = new AbortController();
      const queued = createNetns(name, { signal: ac.signal });
      ac.abort('not waiting');
      await abortOf(queued, 'not waiting');
      const handle = await first;
      assert.equal(await netnsExists(handle.path), true);
    } finally {
      await deleteNetns(name).catch(() => undefined);
    }
    assert.equal(await netnsExists(`/run/netns/${name}`), false);
  });
});

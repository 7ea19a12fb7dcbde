// GC and STATUS over a network list (Go libcni api_test.go L13–L14). Our documented difference:
// the set of valid attachments is required (a missing argument is a TypeError, `[]` means none is
// valid) and plugins get `[]`, never Go's `null`.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { networkConfFromBytes } from '../../src/config/parse.ts';
import { AggregateLibcniError, CniError, LibcniError } from '../../src/core/errors.ts';
import {
  cleanupFixtures,
  cniVarsOf,
  CURRENT,
  json,
  listFixture,
  makeCniFixture,
  stdinOf,
  trace,
} from '../helpers/cni-setup.ts';

after(cleanupFixtures);

/** A Go-written cache entry for `some-list`, made by hand (no ADD needed). */
function cacheEntry(containerId: string, ifName: string, network = 'some-list'): string {
  const config = Buffer.from(`{"name":"${network}"}`).toString('base64');
  return (
    `{"kind":"cniCacheV1","containerId":"${containerId}","config":"${config}","ifName":"${ifName}",` +
    `"networkName":"${network}","netns":"/run/netns/${containerId}","cniArgs":[["K","${containerId}"]],` +
    `"result":{"cniVersion":"1.1.0","ips":[{"address":"10.1.2.3/24"}]}}`
  );
}

/** A one-plugin list: enough where the three-plugin chain adds nothing but plugin calls. */
function oneNoop(cniVersion: string) {
  return networkConfFromBytes(
    `{"name":"some-list","cniVersion":"${cniVersion}","plugins":[{"type":"noop","k":1}]}`,
  );
}

/** The variables GC and STATUS run with: no attachment, so container, netns, ifname and args are empty. */
function emptyVars(command: string, dir: string) {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: '',
    CNI_NETNS: '',
    CNI_IFNAME: '',
    CNI_ARGS: '',
    CNI_PATH: dir,
  };
}

describe('gcNetworkList (L13)', { concurrency: true }, () => {
  test('ADD, GC with disableGC, GC keeping the attachment, GC with none valid: ADD, GC, DEL, GC', async () => {
    const f = await listFixture();
    await f.cni.addNetworkList(f.list, f.rt);

    await f.cni.gcNetworkList({ ...f.list, disableGC: true }, { validAttachments: [] });
    assert.equal((await f.calls()).length, 3, 'disableGC runs nothing, not even the DEL of stale entries');

    const valid = [{ containerId: f.rt.containerId, ifName: f.rt.ifName }];
    await f.cni.gcNetworkList(f.list, { validAttachments: valid });
    await f.cni.gcNetworkList(f.list, { validAttachments: [] });

    const calls = await f.calls();
    assert.deepEqual(trace(calls), [
      ['ADD', 0],
      ['ADD', 1],
      ['ADD', 2],
      ['GC', 0],
      ['GC', 1],
      ['GC', 2],
      ['DEL', 2],
      ['DEL', 1],
      ['DEL', 0],
      ['GC', 0],
      ['GC', 1],
      ['GC', 2],
    ]);

    // GC: the plugin config with name, cniVersion and both attachment keys; nothing else injected.
    const keep = [{ containerID: 'some-container-id', ifname: 'some-eth0' }];
    for (const [i, call] of calls.slice(3, 6).entries()) {
      assert.deepEqual(cniVarsOf(call), emptyVars('GC', f.plugins.dir));
      assert.deepEqual(stdinOf(call), {
        ...json(f.texts[i] as string),
        name: 'some-list',
        cniVersion: CURRENT,
        'cni.dev/valid-attachments': keep,
        'cni.dev/attachments': keep,
      });
    }
    // The stale attachment is DELeted with what the cache knew of it.
    const result = {
      cniVersion: CURRENT,
      ips: [{ address: '10.1.2.3/24' }],
      dns: { nameservers: ['1.2.3.4'] },
    };
    for (const call of calls.slice(6, 9)) {
      assert.deepEqual(cniVarsOf(call), f.expectedVars('DEL'));
      assert.deepEqual(stdinOf(call).prevResult, result);
    }
    // Ours: an empty valid set is sent as [] (Go sends null for a nil slice).
    for (const call of calls.slice(9)) {
      assert.deepEqual(stdinOf(call)['cni.dev/valid-attachments'], []);
      assert.match(call.stdin ?? '', /"cni\.dev\/valid-attachments":\s*\[\]/);
    }
    assert.deepEqual(await f.cacheNames(), []);
  });

  test('only stale attachments of this network are DELeted, with their cached runtime inputs', async () => {
    const f = await makeCniFixture({ noop: 'fake' });
    await f.writeCache('some-list', { containerId: 'c1', ifName: 'eth0' }, cacheEntry('c1', 'eth0'));
    await f.writeCache('some-list', { containerId: 'c2', ifName: 'eth0' }, cacheEntry('c2', 'eth0'));
    await f.writeCache(
      'other-net',
      { containerId: 'c3', ifName: 'eth0' },
      cacheEntry('c3', 'eth0', 'other-net'),
    );

    await f.cni.gcNetworkList(oneNoop(CURRENT), {
      validAttachments: [{ containerId: 'c1', ifName: 'eth0' }],
    });

    const calls = await f.plugins.calls('noop');
    assert.deepEqual(
      calls.map((c) => c.command),
      ['DEL', 'GC'],
    );
    assert.deepEqual(cniVarsOf(calls[0]), {
      CNI_COMMAND: 'DEL',
      CNI_CONTAINERID: 'c2',
      CNI_NETNS: '/run/netns/c2',
      CNI_IFNAME: 'eth0',
      CNI_ARGS: 'K=c2',
      CNI_PATH: f.plugins.dir,
    });
    assert.deepEqual(await f.cacheNames(), ['other-net-c3-eth0', 'some-list-c1-eth0']);
  });

  test('before 1.1.0 stale attachments are still DELeted but no plugin gets GC', async () => {
    const f = await makeCniFixture({ noop: 'fake' });
    await f.writeCache('some-list', { containerId: 'c2', ifName: 'eth0' }, cacheEntry('c2', 'eth0'));
    await f.cni.gcNetworkList(oneNoop('1.0.0'), { validAttachments: [] });
    assert.deepEqual(
      (await f.plugins.calls('noop')).map((c) => c.command),
      ['DEL'],
    );
    assert.deepEqual(await f.cacheNames(), []);
  });

  test('failures are collected: a failed DEL does not stop the GC calls', async () => {
    const f = await makeCniFixture({ noop: 'fake' });
    await f.plugins.writePlan('noop', {
      DEL: { error: { code: 100, msg: 'del banana' } },
      GC: { error: { code: 101, msg: 'gc banana' } },
    });
    const file = await f.writeCache(
      'some-list',
      { containerId: 'c2', ifName: 'eth0' },
      cacheEntry('c2', 'eth0'),
    );
    await assert.rejects(f.cni.gcNetworkList(oneNoop(CURRENT), { validAttachments: [] }), (err: Error) => {
      assert.ok(err instanceof AggregateLibcniError);
      assert.deepEqual(
        err.errors.map((e) => e.message),
        [
          'failed to delete stale attachment c2 eth0: plugin type="noop" failed (delete): del banana',
          'failed to GC plugin noop: gc banana',
        ],
      );
      // Go's errors.Join: one message per line.
      assert.equal(err.message, err.errors.map((e) => e.message).join('\n'));
      return true;
    });
    assert.deepEqual(
      (await f.plugins.calls('noop')).map((c) => c.command),
      ['DEL', 'GC'],
    );
    // The DEL failed, so the entry stays for the next GC.
    assert.deepEqual(await f.cacheNames(), [file.slice(file.lastIndexOf('/') + 1)]);
  });

  test('a single failure is thrown as itself', async () => {
    const f = await makeCniFixture({ noop: 'fake' });
    await f.plugins.writePlan('noop', { GC: { error: { code: 101, msg: 'gc banana' } } });
    await assert.rejects(f.cni.gcNetworkList(oneNoop(CURRENT), { validAttachments: [] }), (err: Error) => {
      assert.ok(err instanceof LibcniError);
      assert.equal(err.message, 'failed to GC plugin noop: gc banana');
      assert.ok(err.cause instanceof CniError);
      assert.equal(err.cause.code, 101);
      return true;
    });
  });

  test('ours: the valid set is required; without it GC refuses before touching anything', async () => {
    const f = await makeCniFixture({ noop: 'fake' });
    await f.writeCache('some-list', { containerId: 'c2', ifName: 'eth0' }, cacheEntry('c2', 'eth0'));
    const list = oneNoop(CURRENT);
    const gc = f.cni.gcNetworkList.bind(f.cni) as (l: typeof list, args?: unknown) => Promise<void>;
    await assert.rejects(gc(list), TypeError);
    await assert.rejects(gc(list, {}), TypeError);
    await assert.rejects(gc(list, { validAttachments: null }), TypeError);
    assert.deepEqual(await f.plugins.calls('noop'), []);
    assert.deepEqual(await f.cacheNames(), ['some-list-c2-eth0']);
  });
});

describe('getStatusNetworkList (L14)', { concurrency: true }, () => {
  test('sends STATUS to every plugin with only name and cniVersion injected', async () => {
    const f = await listFixture();
    await f.cni.getStatusNetworkList(f.list);
    const calls = await f.calls();
    assert.deepEqual(trace(calls), [
      ['STATUS', 0],
      ['STATUS', 1],
      ['STATUS', 2],
    ]);
    for (const [i, call] of calls.entries()) {
      assert.deepEqual(cniVarsOf(call), emptyVars('STATUS', f.plugins.dir));
      assert.deepEqual(stdinOf(call), {
        ...json(f.texts[i] as string),
        name: 'some-list',
        cniVersion: CURRENT,
      });
    }
  });

  test("the first failure is the plugin's own error (code 50) and later plugins are not asked", async () => {
    const f = await listFixture({
      plan: { STATUS: [{}, { error: { code: 50, msg: 'plugin error: banana' } }] },
    });
    await assert.rejects(f.cni.getStatusNetworkList(f.list), (err: Error) => {
      assert.ok(err instanceof CniError);
      assert.equal(err.code, 50);
      assert.equal(err.message, 'plugin error: banana');
      return true;
    });
    assert.deepEqual(trace(await f.calls()), [
      ['STATUS', 0],
      ['STATUS', 1],
    ]);
  });

  test('a list older than 1.1.0 reports nothing and runs nothing', async () => {
    const f = await listFixture({ cniVersion: '1.0.0' });
    await f.cni.getStatusNetworkList(f.list);
    assert.deepEqual(await f.calls(), []);
  });
});

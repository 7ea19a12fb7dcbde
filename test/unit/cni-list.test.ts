// CNIConfig on a network config list (Go libcni api_test.go "Invoking a plugin list" L1–L11), plus
// two documented differences from Go: ADD's prevResult is converted to the list's cniVersion, and
// ADD of a list without plugins is refused. The list is upstream's: three `noop` plugins (the fake
// plugin) with capabilities [portMappings, otherCapability], [otherCapability] and none, answering
// ADD with an IP, PASSTHROUGH and INJECT-DNS. All three record into one log, so the order in which
// they ran is visible.
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import { after, describe, test } from 'node:test';
import type { RuntimeConf } from '../../src/cni/index.ts';
import { networkConfFromBytes } from '../../src/config/parse.ts';
import {
  CacheError,
  CniError,
  ErrorCode,
  NetworkPluginError,
  PluginNotFoundError,
  ValidationError,
  VersionError,
} from '../../src/core/errors.ts';
import {
  cleanupFixtures,
  cniVarsOf,
  CURRENT,
  IP_RESULT,
  IP_RESULT_040,
  json,
  listFixture,
  pluginIndex,
  stdinOf,
  trace,
  withPluginType,
} from '../helpers/cni-setup.ts';

after(cleanupFixtures);

/** Assert `err` is the list wrapper around `cause`, with Go's `plugin type="noop" failed (<verb>):` prefix. */
function assertWrapped(err: unknown, verb: 'add' | 'delete', type = 'noop'): Error {
  assert.ok(err instanceof NetworkPluginError, `expected a NetworkPluginError, got ${String(err)}`);
  assert.ok(err.message.startsWith(`plugin type="${type}" failed (${verb}): `), err.message);
  assert.ok(err.cause instanceof Error);
  assert.equal(err.message, `plugin type="${type}" failed (${verb}): ${err.cause.message}`);
  return err.cause;
}

describe('addNetworkList (L1–L9)', { concurrency: true }, () => {
  test('runs every plugin in order, chaining prevResult; returns and caches the last result (L1–L3)', async () => {
    const f = await listFixture();
    const result = await f.cni.addNetworkList(f.list, f.rt);
    // IP from the first plugin, DNS injected by the last.
    const expected = {
      cniVersion: CURRENT,
      ips: [{ address: '10.1.2.3/24' }],
      dns: { nameservers: ['1.2.3.4'] },
    };
    assert.deepEqual(result, expected);

    const calls = await f.calls();
    assert.deepEqual(trace(calls), [
      ['ADD', 0],
      ['ADD', 1],
      ['ADD', 2],
    ]);
    const prev = { cniVersion: CURRENT, ips: [{ address: '10.1.2.3/24' }] };
    calls.forEach((call, i) => {
      assert.deepEqual(cniVarsOf(call), f.expectedVars('ADD'), `env of plugin ${i}`);
      // Plugins 1 and 2 get the previous plugin's result in place of the prevResult in their file.
      const want = i === 0 ? f.stdinData[0] : { ...f.stdinData[i], prevResult: prev };
      assert.deepEqual(stdinOf(call), want, `stdin of plugin ${i}`);
    });

    assert.deepEqual(await f.cni.getNetworkListCachedResult(f.list, f.rt), result);
    const cached = await f.cni.getNetworkListCachedConfig(f.list, f.rt);
    assert.ok(cached);
    assert.ok(Buffer.from(cached.config).equals(Buffer.from(f.list.bytes)));
    assert.deepEqual(cached.rt.args, f.rt.args);
    assert.deepEqual(cached.rt.capabilityArgs, f.rt.capabilityArgs);
  });

  test('a missing second plugin stops the chain after the first and caches nothing (L4)', async () => {
    const f = await listFixture();
    await assert.rejects(f.cni.addNetworkList(withPluginType(f.list, 1, 'does-not-exist'), f.rt), (err) => {
      const cause = assertWrapped(err, 'add', 'does-not-exist');
      assert.ok(cause instanceof PluginNotFoundError);
      assert.match(cause.message, /failed to find plugin "does-not-exist"/);
      return true;
    });
    assert.deepEqual(trace(await f.calls()), [['ADD', 0]]);
    assert.deepEqual(await f.cacheNames(), []);
  });

  describe('inputs that reach file paths are validated before any plugin runs (L5–L7)', () => {
    const cases: Array<{
      what: string;
      change: Partial<RuntimeConf> | { network: string };
      code: number;
      msg: string;
      details: string;
    }> = [
      {
        what: 'container id with %',
        change: { containerId: 'some-%%container-id' },
        code: ErrorCode.InvalidEnvironmentVariables,
        msg: 'invalid characters in containerID',
        details: 'some-%%container-id',
      },
      {
        what: 'network name with %',
        change: { network: 'invalid-%%-name' },
        code: ErrorCode.InvalidNetworkConfig,
        msg: 'invalid characters found in network name',
        details: 'invalid-%%-name',
      },
      { what: 'empty ifname', change: { ifName: '' }, code: 4, msg: 'interface name is empty', details: '' },
      {
        what: '16-byte ifname',
        change: { ifName: '1234567890123456' },
        code: 4,
        msg: 'interface name is too long',
        details: 'interface name should be less than 16 characters',
      },
      { what: 'ifname .', change: { ifName: '.' }, code: 4, msg: 'interface name is . or ..', details: '' },
      { what: 'ifname ..', change: { ifName: '..' }, code: 4, msg: 'interface name is . or ..', details: '' },
      ...['test/test', 'test:test', 'test test'].map((ifName) => ({
        what: `ifname ${JSON.stringify(ifName)}`,
        change: { ifName },
        code: 4,
        msg: 'interface name contains / or : or whitespace characters',
        details: '',
      })),
    ];

    test('each refusal has Go\'s code, msg and details under the "failed (add)" prefix', async () => {
      const f = await listFixture();
      for (const c of cases) {
        const list = 'network' in c.change ? { ...f.list, name: c.change.network } : f.list;
        const rt = 'network' in c.change ? f.rt : { ...f.rt, ...c.change };
        await assert.rejects(f.cni.addNetworkList(list, rt), (err) => {
          const cause = assertWrapped(err, 'add');
          assert.ok(cause instanceof ValidationError, c.what);
          assert.deepEqual(
            { code: cause.code, msg: cause.msg, details: cause.details ?? '' },
            { code: c.code, msg: c.msg, details: c.details },
            c.what,
          );
          return true;
        });
      }
      assert.deepEqual(await f.calls(), []);
      assert.deepEqual(await f.cacheNames(), []);
    });
  });

  test('a failing second plugin: its error under the "failed (add)" prefix, no third plugin, no cache (L8)', async () => {
    const f = await listFixture({
      plan: { ADD: [{ result: IP_RESULT }, { error: { code: 100, msg: 'plugin error: banana' } }] },
    });
    await assert.rejects(f.cni.addNetworkList(f.list, f.rt), (err) => {
      const cause = assertWrapped(err, 'add');
      assert.ok(cause instanceof CniError);
      assert.equal(cause.message, 'plugin error: banana');
      assert.equal((err as NetworkPluginError).code, 100);
      return true;
    });
    assert.deepEqual(trace(await f.calls()), [
      ['ADD', 0],
      ['ADD', 1],
    ]);
    assert.equal(existsSync(f.cacheFile('some-list', f.rt)), false);
  });

  test('an unwritable cache fails the ADD before any plugin runs (L9)', async () => {
    const f = await listFixture();
    await fs.mkdir(f.cacheDir, { recursive: true });
    await fs.writeFile(`${f.cacheDir}/results`, 'afdsasdfasdf');
    await assert.rejects(f.cni.addNetworkList(f.list, f.rt), (err: Error) => {
      assert.ok(err instanceof CacheError);
      assert.match(err.message, /^failed to set network "some-list" cached result: /);
      return true;
    });
    // Go runs all three plugins and then loses the result; the record written before ADD (issue
    // 16, item 7) fails first here, so nothing is attached that nothing could find.
    assert.equal((await f.calls()).length, 0);
  });
});

describe('addNetworkList: our differences from Go', { concurrency: true }, () => {
  test("prevResult is converted to the list's version before it reaches the next plugin", async () => {
    // Plugin 0 answers in 0.4.0 inside a 1.1.0 list; Go would hand that 0.4.0 result on as is.
    const f = await listFixture({
      plan: { ADD: [{ result: IP_RESULT_040 }, { result: 'PASSTHROUGH' }, { result: 'INJECT-DNS' }] },
    });
    const result = await f.cni.addNetworkList(f.list, f.rt);
    const calls = await f.calls();
    const converted = { cniVersion: CURRENT, ips: [{ address: '10.1.2.3/24' }] };
    assert.deepEqual(stdinOf(calls[1]).prevResult, converted);
    assert.deepEqual(stdinOf(calls[2]).prevResult, converted);
    assert.deepEqual(result, { ...converted, dns: { nameservers: ['1.2.3.4'] } });
    assert.deepEqual(await f.cni.getNetworkListCachedResult(f.list, f.rt), result);
  });

  test('a list without plugins is refused and nothing is cached', async () => {
    const f = await listFixture();
    const empty = networkConfFromBytes(`{"name":"empty","cniVersion":"${CURRENT}"}`);
    assert.equal(empty.plugins.length, 0);
    await assert.rejects(f.cni.addNetworkList(empty, f.rt), (err: Error) => {
      assert.ok(err instanceof ValidationError);
      assert.equal(err.code, ErrorCode.InvalidNetworkConfig);
      assert.equal(err.message, 'network "empty" has no plugins');
      return true;
    });
    assert.deepEqual(await f.cacheNames(), []);
  });
});

describe('checkNetworkList (L10)', { concurrency: true }, () => {
  test('runs CHECK on every plugin in order, each with the cached result as prevResult', async () => {
    const f = await listFixture();
    await f.writeCache('some-list', f.rt, IP_RESULT);
    await f.cni.checkNetworkList(f.list, f.rt);
    const calls = await f.calls();
    assert.deepEqual(trace(calls), [
      ['CHECK', 0],
      ['CHECK', 1],
      ['CHECK', 2],
    ]);
    calls.forEach((call, i) => {
      assert.deepEqual(cniVarsOf(call), f.expectedVars('CHECK'));
      assert.deepEqual(stdinOf(call), { ...f.stdinData[i], prevResult: json(IP_RESULT) });
    });
  });

  test('disableCheck runs no plugin', async () => {
    const f = await listFixture();
    await f.cni.checkNetworkList({ ...f.list, disableCheck: true }, f.rt);
    assert.deepEqual(await f.calls(), []);
  });

  test('a 0.4.0 list passes the cached 0.4.0 result as it is', async () => {
    const f = await listFixture({ cniVersion: '0.4.0' });
    await f.writeCache('some-list', f.rt, IP_RESULT_040);
    await f.cni.checkNetworkList(f.list, f.rt);
    const calls = await f.calls();
    assert.equal(calls.length, 3);
    for (const call of calls) assert.deepEqual(stdinOf(call).prevResult, json(IP_RESULT_040));
  });

  test('a list older than 0.4.0 is refused before anything runs', async () => {
    const f = await listFixture({ cniVersion: '0.3.1' });
    await assert.rejects(f.cni.checkNetworkList(f.list, f.rt), (err: Error) => {
      assert.ok(err instanceof VersionError);
      assert.equal(err.message, 'configuration version "0.3.1" does not support the CHECK command');
      return true;
    });
    // disableCheck is looked at only after the version, as in Go.
    await assert.rejects(f.cni.checkNetworkList({ ...f.list, disableCheck: true }, f.rt), VersionError);
    assert.deepEqual(await f.calls(), []);
  });

  test('a missing second plugin is reported unwrapped, after the first one ran', async () => {
    const f = await listFixture();
    await assert.rejects(
      f.cni.checkNetworkList(withPluginType(f.list, 1, 'does-not-exist'), f.rt),
      (err: Error) => {
        assert.ok(err instanceof PluginNotFoundError);
        assert.equal(err.message, `failed to find plugin "does-not-exist" in path [${f.plugins.dir}]`);
        return true;
      },
    );
    assert.deepEqual(trace(await f.calls()), [['CHECK', 0]]);
  });

  test("the second plugin's error is returned unwrapped and the third never runs", async () => {
    const f = await listFixture({
      plan: { CHECK: [{}, { error: { code: 100, msg: 'plugin error: banana' } }] },
    });
    await assert.rejects(f.cni.checkNetworkList(f.list, f.rt), (err: Error) => {
      assert.ok(err instanceof CniError);
      assert.equal(err.message, 'plugin error: banana');
      return true;
    });
    assert.deepEqual(trace(await f.calls()), [
      ['CHECK', 0],
      ['CHECK', 1],
    ]);
  });

  test("a cache file that is not JSON fails with Go's message", async () => {
    const f = await listFixture();
    await f.writeCache('some-list', f.rt, 'adfadsfasdfasfdsafaf');
    await assert.rejects(
      f.cni.checkNetworkList(f.list, f.rt),
      (err: Error) =>
        err.message ===
        'failed to get network "some-list" cached result: decoding version from network config: invalid character \'a\' looking for beginning of value',
    );
    assert.deepEqual(await f.calls(), []);
  });
});

describe('delNetworkList (L11)', { concurrency: true }, () => {
  test('runs DEL on every plugin in reverse order, each with its request config', async () => {
    const f = await listFixture();
    await f.cni.delNetworkList(f.list, f.rt);
    const calls = await f.calls();
    assert.deepEqual(trace(calls), [
      ['DEL', 2],
      ['DEL', 1],
      ['DEL', 0],
    ]);
    for (const call of calls) {
      assert.deepEqual(cniVarsOf(call), f.expectedVars('DEL'));
      // Nothing cached: each plugin reads its config as written (plugins 1 and 2 keep the
      // prevResult of their file), with name, cniVersion and runtimeConfig injected.
      assert.deepEqual(stdinOf(call), f.stdinData[pluginIndex(call)]);
    }
    assert.equal(await f.cni.getNetworkListCachedResult(f.list, f.rt), undefined);
    assert.equal(await f.cni.getNetworkListCachedConfig(f.list, f.rt), undefined);
  });

  test('a 0.4.0 list passes the cached result; an older one does not', async () => {
    // The files' own prevResult is the 1.1.0 one, so the injected 0.4.0 result is visible in all three.
    const f = await listFixture({ cniVersion: '0.4.0' });
    await f.writeCache('some-list', f.rt, IP_RESULT_040);
    await f.cni.delNetworkList(f.list, f.rt);
    const calls = await f.calls();
    assert.equal(calls.length, 3);
    for (const call of calls) assert.deepEqual(stdinOf(call).prevResult, json(IP_RESULT_040));

    const old = await listFixture({ cniVersion: '0.3.1' });
    const oldCache = await old.writeCache('some-list', old.rt, IP_RESULT_040.replace('0.4.0', '0.3.1'));
    await old.cni.delNetworkList(old.list, old.rt);
    const oldFirst = (await old.calls()).find((c) => pluginIndex(c) === 0);
    assert.doesNotMatch(oldFirst?.stdin ?? '', /"prevResult":/);
    assert.equal(existsSync(oldCache), false, 'the cache entry is removed after DEL whatever the version');
  });

  test('a missing plugin stops the reverse chain under the "failed (delete)" prefix; the cache is kept', async () => {
    const f = await listFixture();
    const file = await f.writeCache('some-list', f.rt, IP_RESULT);
    await assert.rejects(f.cni.delNetworkList(withPluginType(f.list, 1, 'does-not-exist'), f.rt), (err) => {
      const cause = assertWrapped(err, 'delete', 'does-not-exist');
      assert.match(cause.message, /failed to find plugin "does-not-exist"/);
      return true;
    });
    assert.deepEqual(trace(await f.calls()), [['DEL', 2]]);
    assert.ok(existsSync(file));
  });

  test('a failing plugin stops the reverse chain under the "failed (delete)" prefix; the cache is kept', async () => {
    const f = await listFixture({
      plan: { DEL: [{}, { error: { code: 100, msg: 'plugin error: banana' } }] },
    });
    const file = await f.writeCache('some-list', f.rt, IP_RESULT);
    await assert.rejects(f.cni.delNetworkList(f.list, f.rt), (err) => {
      assert.equal(assertWrapped(err, 'delete').message, 'plugin error: banana');
      return true;
    });
    assert.deepEqual(trace(await f.calls()), [
      ['DEL', 2],
      ['DEL', 1],
    ]);
    assert.equal(await fs.readFile(file, 'utf8'), IP_RESULT);
  });

  test('a cache file that is not JSON is tolerated: moved aside, DEL runs without prevResult', async () => {
    const f = await listFixture();
    const file = await f.writeCache('some-list', f.rt, 'adfadsfasdfasfdsafaf');
    await f.cni.delNetworkList(f.list, f.rt);
    const calls = await f.calls();
    assert.deepEqual(
      calls.map((c) => stdinOf(c)),
      [f.stdinData[2], f.stdinData[1], f.stdinData[0]],
    );
    assert.equal(existsSync(file), false);
    assert.equal(await fs.readFile(`${file}.corrupt`, 'utf8'), 'adfadsfasdfasfdsafaf');
  });
});

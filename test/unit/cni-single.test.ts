// CNIConfig on a single plugin config (Go libcni api_test.go "Capabilities" C1–C2, "Invoking a
// single plugin" A1–A4, K1–K9, D1–D9, and backwards_compatibility_test.go B1), with the fake
// plugin standing in for upstream's noop: every test checks what the plugin received (command,
// CNI_* environment, stdin with the injected keys) and what the cache holds afterwards.
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import { after, describe, test } from 'node:test';
import type { RuntimeConf } from '../../src/cni/index.ts';
import { pluginConfFromBytes } from '../../src/config/parse.ts';
import type { PluginConfig } from '../../src/config/types.ts';
import { CacheError, CniError, PluginNotFoundError, VersionError } from '../../src/core/errors.ts';
import { cleanupFixtures, cniVarsOf, CURRENT, json, makeCniFixture, stdinOf } from '../helpers/cni-setup.ts';
import type { FakePlan } from '../helpers/fixtures.ts';

after(cleanupFixtures);

const PORT_MAPPINGS = [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }];

/** What the plugin answers to ADD (upstream's `debug.ReportResult`). */
const REPORT = `{"cniVersion":"${CURRENT}","ips":[{"address":"10.1.2.3/24"}],"dns":{}}`;
/** REPORT as Go's typed model returns it: a 1.x result leaves out an empty `dns`. */
const REPORTED_RESULT = { cniVersion: CURRENT, ips: [{ address: '10.1.2.3/24' }] };

const PLUGIN_CONFIG = `{
  "type": "noop",
  "name": "apitest",
  "some-key": "some-value",
  "cniVersion": "${CURRENT}",
  "capabilities": { "portMappings": true }
}`;

/** The plugin config as the plugin must read it: the file plus the runtimeConfig it asked for. */
const EXPECTED_STDIN = { ...json(PLUGIN_CONFIG), runtimeConfig: { portMappings: PORT_MAPPINGS } };

/** The same plugin config, looked up under another executable name (Go mutates `Network.Type`). */
function withType(conf: PluginConfig, type: string): PluginConfig {
  return { network: { ...conf.network, type }, bytes: conf.bytes };
}

/** Upstream's single-plugin setup: one noop plugin whose debug file is named in CNI_ARGS. */
async function single(plan: FakePlan = { ADD: { result: REPORT } }) {
  const f = await makeCniFixture({ noop: 'fake' });
  const debugFile = f.plugins.debugFile('noop');
  await f.plugins.writePlan('noop', plan);
  const rt: RuntimeConf = {
    containerId: 'some-container-id',
    netns: '/some/netns/path',
    ifName: 'some-eth0',
    args: [['DEBUG', debugFile]],
    capabilityArgs: { portMappings: PORT_MAPPINGS },
  };
  const net = pluginConfFromBytes(PLUGIN_CONFIG);
  const expectedVars = (command: string) => ({
    CNI_COMMAND: command,
    CNI_CONTAINERID: 'some-container-id',
    CNI_NETNS: '/some/netns/path',
    CNI_IFNAME: 'some-eth0',
    CNI_ARGS: `DEBUG=${debugFile}`,
    CNI_PATH: f.plugins.dir,
  });
  return { ...f, debugFile, rt, net, expectedVars, calls: () => f.plugins.calls('noop') };
}

describe('capabilities (C1–C2)', { concurrency: true }, () => {
  const CAPS_CONFIG = `{
    "type": "noop",
    "name": "apitest",
    "cniVersion": "${CURRENT}",
    "capabilities": { "portMappings": true, "somethingElse": true, "noCapability": false }
  }`;

  test('runtimeConfig holds exactly the capabilities the plugin enables and the runtime supplies (C1)', async () => {
    const f = await single();
    const net = pluginConfFromBytes(CAPS_CONFIG);
    f.rt.capabilityArgs = {
      portMappings: PORT_MAPPINGS,
      somethingElse: ['foobar', 'baz'],
      noCapability: true,
      notAdded: [true, false],
    };
    await f.cni.addNetwork(net, f.rt);
    const calls = await f.calls();
    assert.deepEqual(
      calls.map((c) => c.command),
      ['ADD'],
    );
    assert.deepEqual(stdinOf(calls[0]).runtimeConfig, {
      portMappings: PORT_MAPPINGS,
      somethingElse: ['foobar', 'baz'],
    });
  });

  test('no runtimeConfig key at all when no enabled capability was supplied (C2)', async () => {
    const f = await single();
    const net = pluginConfFromBytes(CAPS_CONFIG);
    f.rt.capabilityArgs = { portMappings22: PORT_MAPPINGS, somethingElse22: ['foobar', 'baz'] };
    await f.cni.addNetwork(net, f.rt);
    const stdin = stdinOf((await f.calls())[0]);
    assert.equal(Object.hasOwn(stdin, 'runtimeConfig'), false);
    // Everything the file said passes through, capabilities included.
    assert.deepEqual(stdin, json(CAPS_CONFIG));
  });
});

describe('addNetwork (A1–A4)', { concurrency: true }, () => {
  test('runs ADD with the request env and config, returns and caches the result (A1)', async () => {
    const f = await single();
    const result = await f.cni.addNetwork(f.net, f.rt);
    assert.deepEqual(result, REPORTED_RESULT);

    const calls = await f.calls();
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.command, 'ADD');
    assert.deepEqual(cniVarsOf(calls[0]), f.expectedVars('ADD'));
    assert.deepEqual(stdinOf(calls[0]), EXPECTED_STDIN);
    assert.match(calls[0].stdin ?? '', /"portMappings":/);

    // The cached config is the plugin config's exact bytes; the runtime inputs come back as given.
    const cached = await f.cni.getNetworkCachedConfig(f.net, f.rt);
    assert.ok(cached);
    assert.equal(Buffer.from(cached.config).toString('utf8'), PLUGIN_CONFIG);
    assert.deepEqual(cached.rt.args, f.rt.args);
    assert.deepEqual(cached.rt.capabilityArgs, f.rt.capabilityArgs);

    assert.deepEqual(await f.cni.getNetworkCachedResult(f.net, f.rt), result);

    for (const containerId of [undefined, '', 'some-container-id']) {
      const attachments = await f.cni.getCachedAttachments(containerId);
      assert.equal(attachments.length, 1, `attachments for container id ${String(containerId)}`);
      const [a] = attachments;
      assert.ok(a);
      assert.equal(Buffer.from(a.config).toString('utf8'), PLUGIN_CONFIG);
      assert.deepEqual(
        { ...a, config: undefined },
        {
          containerId: 'some-container-id',
          network: 'apitest',
          ifName: 'some-eth0',
          config: undefined,
          netns: '/some/netns/path',
          cniArgs: f.rt.args,
          capabilityArgs: f.rt.capabilityArgs,
        },
      );
    }

    // On disk: Go's cniCacheV1 layout, config base64-encoded as Go encodes a []byte.
    const onDisk = JSON.parse(await fs.readFile(f.cacheFile('apitest', f.rt), 'utf8')) as Record<
      string,
      unknown
    >;
    assert.equal(onDisk.kind, 'cniCacheV1');
    assert.equal(onDisk.config, Buffer.from(PLUGIN_CONFIG).toString('base64'));
    assert.deepEqual(onDisk.result, REPORTED_RESULT);
  });

  test('a plugin type not on the path fails before anything runs (A2)', async () => {
    const f = await single();
    await assert.rejects(f.cni.addNetwork(withType(f.net, 'does-not-exist'), f.rt), (err: Error) => {
      assert.ok(err instanceof PluginNotFoundError);
      assert.match(err.message, /failed to find plugin "does-not-exist"/);
      return true;
    });
    assert.deepEqual(await f.calls(), []);
    assert.deepEqual(await f.cacheNames(), []);
  });

  test("the plugin's error object is returned as is, unwrapped, and nothing is cached (A3)", async () => {
    const f = await single({ ADD: { error: { code: 100, msg: 'plugin error: banana' } } });
    await assert.rejects(f.cni.addNetwork(f.net, f.rt), (err: Error) => {
      assert.ok(err instanceof CniError);
      assert.equal(err.message, 'plugin error: banana');
      assert.equal(err.code, 100);
      return true;
    });
    assert.deepEqual(await f.cacheNames(), []);
  });

  test('a results path that is not a directory fails the ADD before the plugin runs (A4)', async () => {
    const f = await single();
    await fs.mkdir(f.cacheDir, { recursive: true });
    await fs.writeFile(`${f.cacheDir}/results`, 'afdsasdfasdf');
    await assert.rejects(f.cni.addNetwork(f.net, f.rt), (err: Error) => {
      assert.ok(err instanceof CacheError);
      assert.match(err.message, /^failed to set network "apitest" cached result: /);
      return true;
    });
    // Go (cni#601) runs the plugin first and loses its result; here the record written before ADD
    // (issue 16, item 7) fails first, so no attachment is made that nothing could find.
    assert.deepEqual(await f.calls(), []);
  });
});

describe('checkNetwork (K1–K9)', { concurrency: true }, () => {
  const CACHED_V1 = `{"cniVersion":"${CURRENT}","ips":[{"address":"10.1.2.3/24"}]}`;
  const CACHED_040 = '{"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.1.2.3/24"}],"dns":{}}';

  test('runs CHECK with the request env, runtimeConfig and the cached result as prevResult (K1)', async () => {
    const f = await single();
    await f.writeCache('apitest', f.rt, CACHED_V1);
    await f.cni.checkNetwork(f.net, f.rt);
    const calls = await f.calls();
    assert.equal(calls.length, 1);
    assert.deepEqual(cniVarsOf(calls[0]), f.expectedVars('CHECK'));
    assert.deepEqual(stdinOf(calls[0]), { ...EXPECTED_STDIN, prevResult: json(CACHED_V1) });
  });

  test('a plugin type not on the path is reported (K2)', async () => {
    const f = await single();
    await assert.rejects(
      f.cni.checkNetwork(withType(f.net, 'does-not-exist'), f.rt),
      /failed to find plugin "does-not-exist"/,
    );
    assert.deepEqual(await f.calls(), []);
  });

  test("the plugin's error is returned unwrapped (K3)", async () => {
    const f = await single({ CHECK: { error: { code: 100, msg: 'plugin error: banana' } } });
    await assert.rejects(f.cni.checkNetwork(f.net, f.rt), (err: Error) => {
      assert.ok(err instanceof CniError);
      assert.equal(err.message, 'plugin error: banana');
      return true;
    });
    // Nothing was cached, so the plugin got no prevResult (Go does not refuse, see §7.3).
    assert.equal(Object.hasOwn(stdinOf((await f.calls())[0]), 'prevResult'), false);
  });

  test('a config older than 0.4.0 is refused without running the plugin (K4)', async () => {
    const f = await single();
    const net = pluginConfFromBytes('{"type":"noop","name":"apitest","cniVersion":"0.3.1"}');
    await assert.rejects(f.cni.checkNetwork(net, f.rt), (err: Error) => {
      assert.ok(err instanceof VersionError);
      assert.equal(err.message, 'configuration version "0.3.1" does not support the CHECK command');
      return true;
    });
    assert.deepEqual(await f.calls(), []);
  });

  test('a legacy cache file holding only a result is passed as prevResult, nothing else (K5)', async () => {
    const f = await single();
    await f.writeCache(
      'apitest',
      f.rt,
      `{"cniVersion":"${CURRENT}","ips":[{"address":"10.1.2.3/24"}],"dns":{}}`,
    );
    await f.cni.checkNetwork(f.net, f.rt);
    const [call] = await f.calls();
    assert.deepEqual(stdinOf(call).prevResult, REPORTED_RESULT);
    assert.doesNotMatch(call?.stdin ?? '', /"config":/);
    assert.doesNotMatch(call?.stdin ?? '', /"kind":/);
  });

  test('a 0.4.0 config gets its cached result as prevResult (K6)', async () => {
    const f = await single();
    const net = pluginConfFromBytes(`{
      "type": "noop", "name": "apitest", "cniVersion": "0.4.0",
      "capabilities": { "portMappings": true, "somethingElse": true, "noCapability": false }
    }`);
    await f.writeCache('apitest', f.rt, CACHED_040);
    await f.cni.checkNetwork(net, f.rt);
    const stdin = stdinOf((await f.calls())[0]);
    assert.equal(stdin.cniVersion, '0.4.0');
    assert.deepEqual(stdin.prevResult, json(CACHED_040));
    assert.deepEqual(stdin.runtimeConfig, { portMappings: PORT_MAPPINGS });
  });

  test("a cache file that is not JSON fails with Go's message, before the plugin runs (K7)", async () => {
    const f = await single();
    const file = await f.writeCache('apitest', f.rt, 'adfadsfasdfasfdsafaf');
    await assert.rejects(f.cni.checkNetwork(f.net, f.rt), (err: Error) => {
      assert.ok(err instanceof CacheError);
      assert.equal(
        err.message,
        'failed to get network "apitest" cached result: decoding version from network config: invalid character \'a\' looking for beginning of value',
      );
      return true;
    });
    assert.deepEqual(await f.calls(), []);
    // CHECK only reads: the bad entry is left where it is.
    assert.equal(await fs.readFile(file, 'utf8'), 'adfadsfasdfasfdsafaf');
  });

  test('a cached result of an older version is converted to the config version (K8)', async () => {
    const f = await single();
    await f.writeCache(
      'apitest',
      f.rt,
      '{"cniVersion":"0.3.1","ips":[{"version":"4","address":"10.1.2.3/24"}],"dns":{}}',
    );
    await f.cni.checkNetwork(f.net, f.rt);
    assert.deepEqual(stdinOf((await f.calls())[0]).prevResult, REPORTED_RESULT);
  });

  test('a cached result of an unknown version fails the CHECK (K9)', async () => {
    const f = await single();
    await f.writeCache(
      'apitest',
      f.rt,
      '{"cniVersion":"0.4567.0","ips":[{"version":"4","address":"10.1.2.3/24"}],"dns":{}}',
    );
    await assert.rejects(
      f.cni.checkNetwork(f.net, f.rt),
      (err: Error) =>
        err.message ===
        'failed to get network "apitest" cached result: unsupported CNI result version "0.4567.0"',
    );
    assert.deepEqual(await f.calls(), []);
  });
});

describe('delNetwork (D1–D9)', { concurrency: true }, () => {
  const CACHED_V1 = `{"cniVersion":"${CURRENT}","ips":[{"address":"10.1.2.3/24"}]}`;
  const CACHED_031 = '{"cniVersion":"0.3.1","ips":[{"version":"4","address":"10.1.2.3/24"}],"dns":{}}';
  const CACHED_040 = '{"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.1.2.3/24"}],"dns":{}}';

  test('runs DEL with the cached result as prevResult, then forgets the attachment (D1)', async () => {
    const f = await single();
    await f.writeCache('apitest', f.rt, CACHED_V1);
    await f.cni.delNetwork(f.net, f.rt);
    const calls = await f.calls();
    assert.equal(calls.length, 1);
    assert.deepEqual(cniVarsOf(calls[0]), f.expectedVars('DEL'));
    assert.deepEqual(stdinOf(calls[0]), { ...EXPECTED_STDIN, prevResult: json(CACHED_V1) });

    assert.equal(await f.cni.getNetworkCachedResult(f.net, f.rt), undefined);
    assert.equal(await f.cni.getNetworkCachedConfig(f.net, f.rt), undefined);
    assert.deepEqual(await f.cni.getCachedAttachments(), []);
    assert.deepEqual(await f.cni.getCachedAttachments('some-container-id'), []);
    assert.deepEqual(await f.cacheNames(), []);
  });

  test('a plugin type not on the path is reported and the cache kept (D2)', async () => {
    const f = await single();
    const file = await f.writeCache('apitest', f.rt, CACHED_V1);
    await assert.rejects(
      f.cni.delNetwork(withType(f.net, 'does-not-exist'), f.rt),
      /failed to find plugin "does-not-exist"/,
    );
    assert.ok(existsSync(file));
  });

  test("the plugin's error is returned unwrapped and the cache kept for a retry (D3)", async () => {
    const f = await single({ DEL: { error: { code: 100, msg: 'plugin error: banana' } } });
    const file = await f.writeCache('apitest', f.rt, CACHED_V1);
    await assert.rejects(f.cni.delNetwork(f.net, f.rt), (err: Error) => {
      assert.ok(err instanceof CniError);
      assert.equal(err.message, 'plugin error: banana');
      return true;
    });
    assert.equal(await fs.readFile(file, 'utf8'), CACHED_V1);
  });

  test('a second DEL finds no cache and still succeeds, without prevResult (D4)', async () => {
    const f = await single();
    const file = await f.writeCache('apitest', f.rt, CACHED_040);
    await f.cni.delNetwork(f.net, f.rt);
    assert.equal(existsSync(file), false);
    await f.cni.delNetwork(f.net, f.rt);
    const calls = await f.calls();
    assert.deepEqual(
      calls.map((c) => c.command),
      ['DEL', 'DEL'],
    );
    assert.ok(Object.hasOwn(stdinOf(calls[0]), 'prevResult'));
    assert.equal(Object.hasOwn(stdinOf(calls[1]), 'prevResult'), false);
  });

  test('a config older than 0.4.0 gets no prevResult, and the cache is removed anyway (D5)', async () => {
    const f = await single();
    const file = await f.writeCache('apitest', f.rt, CACHED_031);
    const net = pluginConfFromBytes('{"type":"noop","name":"apitest","cniVersion":"0.3.1"}');
    await f.cni.delNetwork(net, f.rt);
    const [call] = await f.calls();
    assert.equal(call?.command, 'DEL');
    assert.doesNotMatch(call.stdin ?? '', /"prevResult":/);
    assert.equal(existsSync(file), false);
  });

  test('a 0.4.0 config gets its cached result as prevResult (D6)', async () => {
    const f = await single();
    await f.writeCache('apitest', f.rt, CACHED_040);
    const net = pluginConfFromBytes('{"type":"noop","name":"apitest","cniVersion":"0.4.0"}');
    await f.cni.delNetwork(net, f.rt);
    assert.deepEqual(stdinOf((await f.calls())[0]).prevResult, json(CACHED_040));
  });

  test('a cache file that is not JSON does not block DEL: moved aside, no prevResult (D7)', async () => {
    const f = await single();
    const file = await f.writeCache('apitest', f.rt, 'adfadsfasdfasfdsafaf');
    await f.cni.delNetwork(f.net, f.rt);
    const [call] = await f.calls();
    assert.equal(call?.command, 'DEL');
    assert.equal(Object.hasOwn(stdinOf(call), 'prevResult'), false);
    // Ours: renamed to <file>.corrupt (Go deletes it).
    assert.equal(existsSync(file), false);
    assert.equal(await fs.readFile(`${file}.corrupt`, 'utf8'), 'adfadsfasdfasfdsafaf');
  });

  test('a cached result of an older version is converted for DEL (D8)', async () => {
    const f = await single();
    await f.writeCache('apitest', f.rt, CACHED_031);
    await f.cni.delNetwork(f.net, f.rt);
    assert.deepEqual(stdinOf((await f.calls())[0]).prevResult, REPORTED_RESULT);
  });

  test('a cached result that cannot be converted does not block DEL (D9)', async () => {
    const f = await single();
    const bad = '{"cniVersion":"0.4567.0","ips":[{"version":"4","address":"10.1.2.3/24"}],"dns":{}}';
    const file = await f.writeCache('apitest', f.rt, bad);
    await f.cni.delNetwork(f.net, f.rt);
    assert.equal(Object.hasOwn(stdinOf((await f.calls())[0]), 'prevResult'), false);
    assert.equal(existsSync(file), false);
    assert.equal(await fs.readFile(`${file}.corrupt`, 'utf8'), bad);
  });
});

describe('backwards compatibility (B1)', { concurrency: true }, () => {
  /** What a plugin built against libcni of the 0.1.0 era prints: no cniVersion, ip4/dns only. */
  const LEGACY_OUTPUT =
    '{"ip4":{"ip":"10.1.2.3/24","gateway":"10.1.2.1","routes":[{"dst":"0.0.0.0/0","gw":"10.1.0.1"}]},' +
    '"dns":{"nameservers":["8.8.8.8"],"domain":"example.com"}}';

  test('a 0.1.0-era plugin: its ADD output is read as a 0.1.0 result, DEL works, VERSION means 0.1.0', async () => {
    const f = await makeCniFixture({ example_v010: 'fake' });
    // Such a plugin prints its result for every command and knows no VERSION.
    await f.plugins.writePlan('example_v010', {
      '*': { result: LEGACY_OUTPUT },
      VERSION: { version: 'old' },
    });
    const net = pluginConfFromBytes('{ "name": "old-thing", "type": "example_v010" }');
    const rt: RuntimeConf = { containerId: 'some-container-id', netns: '/some/netns/path', ifName: 'eth0' };

    const result = await f.cni.addNetwork(net, rt);
    assert.deepEqual(result, {
      cniVersion: '0.1.0',
      ip4: { ip: '10.1.2.3/24', gateway: '10.1.2.1', routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }] },
      dns: { nameservers: ['8.8.8.8'], domain: 'example.com' },
    });
    assert.deepEqual(await f.cni.getNetworkCachedResult(net, rt), result);

    await f.cni.delNetwork(net, rt);
    assert.deepEqual(await f.cni.validateNetwork(net), []);

    const calls = await f.plugins.calls('example_v010');
    assert.deepEqual(
      calls.map((c) => c.command),
      ['ADD', 'DEL', 'VERSION'],
    );
    // The config has no version: "" is injected, as Go does, and DEL (< 0.4.0) gets no prevResult.
    assert.deepEqual(stdinOf(calls[0]), { name: 'old-thing', type: 'example_v010', cniVersion: '' });
    assert.deepEqual(stdinOf(calls[1]), { name: 'old-thing', type: 'example_v010', cniVersion: '' });
    assert.equal(cniVarsOf(calls[1]).CNI_ARGS, '');
    assert.deepEqual(await f.cacheNames(), []);
  });

  test('a 0.2.0-era plugin: VERSION without a list means 0.1.0 and 0.2.0; its 0.2.0 result is kept as is', async () => {
    const f = await makeCniFixture({ example_v020: 'fake' });
    await f.plugins.writePlan('example_v020', {
      ADD: { result: '{"cniVersion":"0.2.0","ip4":{"ip":"10.1.2.3/24","gateway":"10.1.2.1"},"dns":{}}' },
      VERSION: { version: { cniVersion: '0.2.0' } },
    });
    const net = pluginConfFromBytes('{"cniVersion":"0.2.0","name":"old-thing","type":"example_v020"}');
    const rt: RuntimeConf = { containerId: 'some-container-id', netns: '/some/netns/path', ifName: 'eth0' };

    assert.deepEqual((await f.cni.getVersionInfo('example_v020')).supportedVersions, ['0.1.0', '0.2.0']);
    const result = await f.cni.addNetwork(net, rt);
    assert.deepEqual(result, {
      cniVersion: '0.2.0',
      ip4: { ip: '10.1.2.3/24', gateway: '10.1.2.1' },
      dns: {},
    });
    await f.cni.delNetwork(net, rt);
    const calls = await f.plugins.calls('example_v020');
    assert.deepEqual(
      calls.map((c) => c.command),
      ['VERSION', 'ADD', 'DEL'],
    );
    assert.equal(Object.hasOwn(stdinOf(calls[2]), 'prevResult'), false);
    assert.deepEqual(await f.cacheNames(), []);
  });
});

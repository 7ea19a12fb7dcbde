// CNIConfig's cache operations (Go libcni api_test.go "Cache operations" S1–S5), plus what we do
// beyond Go: a corrupt entry met by DEL is moved aside to `<file>.corrupt` (Go deletes it), and
// GetCachedAttachments' filtering rules on hand-written cache directories.
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { CNIConfig, type RuntimeConf } from '../../src/cni/index.ts';
import { pluginConfFromBytes } from '../../src/config/parse.ts';
import type { NetworkConfigList, PluginConfig } from '../../src/config/types.ts';
import { CacheError } from '../../src/core/errors.ts';
import { cleanupFixtures, CURRENT, makeCniFixture, stdinOf } from '../helpers/cni-setup.ts';

after(cleanupFixtures);

const NET_NAME = 'cachetest';
const CONTAINER_ID = 'some-container-id';
const NETNS = '/some/netns/path';
const PLUGIN_CONFIG = `{
  "type": "noop",
  "name": "${NET_NAME}",
  "cniVersion": "${CURRENT}"
}`;

function reportFor(ip: string): string {
  return `{"cniVersion":"${CURRENT}","ips":[{"version":"4","address":"${ip}"}]}`;
}

/** A list that only names the network: all the cache getters need (Go passes `{Name: netName}`). */
function bareList(name: string): NetworkConfigList {
  return {
    name,
    cniVersion: '',
    disableCheck: false,
    disableGC: false,
    loadOnlyInlinedPlugins: false,
    plugins: [],
    bytes: new Uint8Array(),
  };
}

/** A plugin config with no name (Go's empty `PluginConf`) or the given one. */
function barePlugin(name?: string): PluginConfig {
  return { network: name === undefined ? { type: 'noop' } : { type: 'noop', name }, bytes: new Uint8Array() };
}

async function cacheFixture() {
  const f = await makeCniFixture({ noop: 'fake' });
  const debugFile = f.plugins.debugFile('noop');
  await f.plugins.writePlan('noop', { ADD: { result: reportFor('10.1.2.3/24') } });
  const rt: RuntimeConf = {
    containerId: CONTAINER_ID,
    netns: NETNS,
    ifName: 'eth0',
    args: [['DEBUG', debugFile]],
  };
  return {
    ...f,
    debugFile,
    rt,
    net: pluginConfFromBytes(PLUGIN_CONFIG),
    calls: () => f.plugins.calls('noop'),
  };
}

describe('cache operations (S1–S5)', { concurrency: true }, () => {
  test('two interfaces on one network get one cache file each (S1)', async () => {
    const f = await cacheFixture();
    await f.cni.addNetwork(f.net, f.rt);
    await f.plugins.writePlan('noop', { ADD: { result: reportFor('10.1.2.5/24') } });
    await f.cni.addNetwork(f.net, { ...f.rt, ifName: 'eth1' });

    // Exactly two entries: the atomic writes leave no temp files behind.
    assert.deepEqual(await f.cacheNames(), [
      `${NET_NAME}-${CONTAINER_ID}-eth0`,
      `${NET_NAME}-${CONTAINER_ID}-eth1`,
    ]);
    for (const [ifName, ip] of [
      ['eth0', '10.1.2.3/24'],
      ['eth1', '10.1.2.5/24'],
    ] as const) {
      const text = await fs.readFile(f.cacheFile(NET_NAME, { containerId: CONTAINER_ID, ifName }), 'utf8');
      const entry = JSON.parse(text) as Record<string, unknown>;
      assert.equal(entry.kind, 'cniCacheV1');
      assert.equal(entry.containerId, CONTAINER_ID);
      assert.equal(entry.networkName, NET_NAME);
      assert.equal(entry.ifName, ifName);
      assert.deepEqual(entry.result, { cniVersion: CURRENT, ips: [{ address: ip }] });
      // Go's field order, so that both libraries write the same bytes.
      assert.ok(text.startsWith('{"kind":"cniCacheV1","containerId":'), text);
    }
  });

  test('the cached config comes back with the runtime inputs the ADD was given (S2)', async () => {
    const f = await cacheFixture();
    f.rt.capabilityArgs = { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] };
    await f.cni.addNetwork(f.net, f.rt);

    // The caller knows only the attachment's identity; args and capabilityArgs come from the cache.
    const lookup: RuntimeConf = { containerId: CONTAINER_ID, netns: NETNS, ifName: 'eth0' };
    const cached = await f.cni.getNetworkListCachedConfig(bareList(NET_NAME), lookup);
    assert.ok(cached);
    assert.equal(Buffer.from(cached.config).toString('utf8'), PLUGIN_CONFIG);
    assert.equal(cached.rt.ifName, 'eth0');
    assert.equal(cached.rt.containerId, CONTAINER_ID);
    assert.equal(cached.rt.netns, NETNS);
    assert.deepEqual(cached.rt.args, f.rt.args);
    assert.deepEqual(cached.rt.capabilityArgs, f.rt.capabilityArgs);
    // A copy: the caller's object is not changed.
    assert.equal(lookup.args, undefined);
  });

  test("cached capabilityArgs replace the caller's even when none were cached, as in Go (S2)", async () => {
    const f = await cacheFixture();
    await f.cni.addNetwork(f.net, f.rt);
    const cached = await f.cni.getNetworkCachedConfig(f.net, {
      containerId: CONTAINER_ID,
      netns: NETNS,
      ifName: 'eth0',
      capabilityArgs: { stale: true },
    });
    assert.equal(cached?.rt.capabilityArgs, undefined);
  });

  test('an incomplete attachment identity names all three parts, for both getters (S3)', async () => {
    const f = await cacheFixture();
    const cases: Array<{ name: string; rt: RuntimeConf; message: string }> = [
      {
        name: '',
        rt: { containerId: CONTAINER_ID, netns: '', ifName: 'eth0' },
        message:
          'cache file path requires network name (""), container ID ("some-container-id"), and interface name ("eth0")',
      },
      {
        name: 'foobar',
        rt: { containerId: '', netns: '', ifName: 'eth0' },
        message:
          'cache file path requires network name ("foobar"), container ID (""), and interface name ("eth0")',
      },
      {
        name: 'foobar',
        rt: { containerId: CONTAINER_ID, netns: '', ifName: '' },
        message:
          'cache file path requires network name ("foobar"), container ID ("some-container-id"), and interface name ("")',
      },
    ];
    for (const c of cases) {
      const plugin = barePlugin(c.name === '' ? undefined : c.name);
      for (const get of [
        () => f.cni.getNetworkCachedConfig(plugin, c.rt),
        () => f.cni.getNetworkListCachedConfig(bareList(c.name), c.rt),
        () => f.cni.getNetworkCachedResult(plugin, c.rt),
      ]) {
        await assert.rejects(get(), (err: Error) => {
          assert.ok(err instanceof CacheError);
          assert.equal(err.message, c.message);
          return true;
        });
      }
    }
  });

  test("a cache file that is not JSON: Go's message for the config getter (S4)", async () => {
    const f = await cacheFixture();
    await f.writeCache(NET_NAME, f.rt, 'adfadsfasdfasfdsafaf');
    await assert.rejects(f.cni.getNetworkCachedConfig(f.net, f.rt), (err: Error) => {
      assert.ok(err instanceof CacheError);
      assert.equal(
        err.message,
        'failed to unmarshal cached network "cachetest" config: invalid character \'a\' looking for beginning of value',
      );
      assert.equal(err.corrupt, true);
      return true;
    });
  });

  test('a legacy entry (a bare result) has the wrong kind for the config getter', async () => {
    const f = await cacheFixture();
    await f.writeCache(NET_NAME, f.rt, reportFor('10.1.2.3/24'));
    await assert.rejects(
      f.cni.getNetworkCachedConfig(f.net, f.rt),
      (err: Error) => err.message === 'read cached network "cachetest" config has wrong kind: ',
    );
    // ...but it is still a result for the result getter, as in Go.
    assert.deepEqual(await f.cni.getNetworkCachedResult(f.net, f.rt), {
      cniVersion: CURRENT,
      ips: [{ address: '10.1.2.3/24' }],
    });
  });

  test('no cache entry is not an error: undefined (S5)', async () => {
    const f = await cacheFixture();
    await fs.mkdir(path.join(f.cacheDir, 'results'), { recursive: true });
    assert.equal(await f.cni.getNetworkCachedConfig(f.net, f.rt), undefined);
    assert.equal(await f.cni.getNetworkListCachedConfig(bareList(NET_NAME), f.rt), undefined);
    assert.equal(await f.cni.getNetworkCachedResult(f.net, f.rt), undefined);
    // Nor is a missing cache directory.
    const elsewhere = new CNIConfig({ path: [f.plugins.dir], cacheDir: path.join(f.cacheDir, 'none') });
    assert.equal(await elsewhere.getNetworkCachedConfig(f.net, f.rt), undefined);
    assert.deepEqual(await elsewhere.getCachedAttachments(), []);
  });
});

describe('corrupt entries met by DEL are moved aside (ours)', { concurrency: true }, () => {
  test('renamed to <file>.corrupt, reported, skipped by listings; a second one gets .corrupt.1', async () => {
    const f = await makeCniFixture({ noop: 'fake' });
    const moved: Array<{ path: string; movedTo: string | undefined; reason: string }> = [];
    const cni = new CNIConfig({
      path: [f.plugins.dir],
      cacheDir: f.cacheDir,
      cacheSync: 'none',
      onCacheQuarantine: (info) => moved.push(info),
    });
    const net = pluginConfFromBytes(PLUGIN_CONFIG);
    const rt: RuntimeConf = { containerId: CONTAINER_ID, netns: NETNS, ifName: 'eth0' };

    const file = await f.writeCache(NET_NAME, rt, '{"kind":"cniCacheV1",');
    await cni.delNetwork(net, rt);
    await f.writeCache(NET_NAME, rt, 'adfadsfasdfasfdsafaf');
    await cni.delNetwork(net, rt);

    const calls = await f.plugins.calls('noop');
    assert.deepEqual(
      calls.map((c) => [c.command, Object.hasOwn(stdinOf(c), 'prevResult')]),
      [
        ['DEL', false],
        ['DEL', false],
      ],
    );
    assert.deepEqual(moved, [
      {
        path: file,
        movedTo: `${file}.corrupt`,
        reason: 'decoding version from network config: unexpected end of JSON input',
      },
      {
        path: file,
        movedTo: `${file}.corrupt.1`,
        reason: "decoding version from network config: invalid character 'a' looking for beginning of value",
      },
    ]);
    assert.equal(existsSync(file), false);
    assert.equal(await fs.readFile(`${file}.corrupt`, 'utf8'), '{"kind":"cniCacheV1",');
    assert.equal(await fs.readFile(`${file}.corrupt.1`, 'utf8'), 'adfadsfasdfasfdsafaf');
    assert.deepEqual(await cni.getCachedAttachments(), []);
  });
});

describe('getCachedAttachments (Go GetCachedAttachments)', () => {
  /** A cache entry as Go writes it. */
  function entry(network: string, containerId: string, ifName: string, extra = ''): string {
    const config = Buffer.from(`{"name":"${network}"}`).toString('base64');
    return `{"kind":"cniCacheV1","containerId":"${containerId}","config":"${config}","ifName":"${ifName}","networkName":"${network}"${extra}}`;
  }

  test('lists valid entries sorted by file name, filters by container, skips what Go skips', async () => {
    const f = await makeCniFixture({});
    const write = (name: string, text: string) => fs.writeFile(path.join(f.cacheDir, 'results', name), text);
    await fs.mkdir(path.join(f.cacheDir, 'results'), { recursive: true });
    await write('netb-c1-eth0', entry('netb', 'c1', 'eth0', ',"netns":"/run/netns/x","cniArgs":[["K","V"]]'));
    await write('neta-c1-eth1', entry('neta', 'c1', 'eth1', ',"capabilityArgs":{"mac":"aa"}'));
    await write('neta-c2-eth0', entry('neta', 'c2', 'eth0'));
    await write('neta-c3-eth0', 'not json');
    await write('neta-c4-eth0', reportFor('10.1.2.3/24')); // legacy: no kind
    await write('neta-c1-eth9', entry('neta', 'other', 'eth9')); // file name and content disagree
    await write('neta-c1-eth8', entry('', 'c1', 'eth8')); // no network name

    const all = await f.cni.getCachedAttachments();
    assert.deepEqual(
      all.map((a) => `${a.network}/${a.containerId}/${a.ifName}`),
      ['neta/c1/eth1', 'neta/other/eth9', 'neta/c2/eth0', 'netb/c1/eth0'],
    );
    const c1 = await f.cni.getCachedAttachments('c1');
    assert.deepEqual(
      c1.map((a) => `${a.network}/${a.containerId}/${a.ifName}`),
      ['neta/c1/eth1', 'netb/c1/eth0'],
    );
    const [first, second] = c1;
    assert.equal(Buffer.from(first?.config ?? []).toString('utf8'), '{"name":"neta"}');
    assert.deepEqual(first?.capabilityArgs, { mac: 'aa' });
    assert.equal(first.netns, '');
    assert.deepEqual(second?.cniArgs, [['K', 'V']]);
    assert.equal(second.netns, '/run/netns/x');
  });
});

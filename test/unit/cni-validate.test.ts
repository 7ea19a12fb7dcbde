// VERSION and validation (Go libcni api_test.go C3, V1–V2 and L12): validateNetwork /
// validateNetworkList ask every plugin which versions it supports, compare the config's version
// by exact string, report every problem, and return the capabilities the plugins enable.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { pluginConfFromBytes } from '../../src/config/parse.ts';
import type { PluginConfig } from '../../src/config/types.ts';
import { AggregateLibcniError, PluginNotFoundError, VersionError } from '../../src/core/errors.ts';
import {
  cleanupFixtures,
  cniVarsOf,
  CURRENT,
  listFixture,
  makeCniFixture,
  withPluginType,
} from '../helpers/cni-setup.ts';

after(cleanupFixtures);

const PLUGIN_CONFIG = `{
  "type": "noop",
  "name": "apitest",
  "some-key": "some-value",
  "cniVersion": "${CURRENT}",
  "capabilities": { "portMappings": true }
}`;

/** Versions upstream's noop reports, a malformed one included: they are passed on verbatim. */
const NOOP_VERSIONS = ['0.-42.0', '0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];

async function single() {
  const f = await makeCniFixture({ noop: 'fake' });
  await f.plugins.writePlan('noop', { VERSION: { version: NOOP_VERSIONS } });
  return { ...f, net: pluginConfFromBytes(PLUGIN_CONFIG), calls: () => f.plugins.calls('noop') };
}

function withVersion(conf: PluginConfig, cniVersion: string | undefined): PluginConfig {
  const { cniVersion: _drop, ...rest } = conf.network;
  return { network: cniVersion === undefined ? rest : { ...rest, cniVersion }, bytes: conf.bytes };
}

describe('getVersionInfo and validateNetwork (C3, V1–V2)', { concurrency: true }, () => {
  test('validateNetwork returns exactly the enabled capabilities (C3)', async () => {
    const f = await single();
    const net = pluginConfFromBytes(`{
      "type": "noop", "name": "apitest", "cniVersion": "${CURRENT}",
      "capabilities": { "portMappings": true, "somethingElse": true, "noCapability": false }
    }`);
    const caps = await f.cni.validateNetwork(net);
    assert.deepEqual([...caps].sort(), ['portMappings', 'somethingElse']);

    // The probe is Go's: VERSION with dummy netns/ifname/path and a fixed stdin.
    const [call] = await f.calls();
    assert.equal(call?.stdin, '{"cniVersion":"1.1.0"}');
    assert.deepEqual(cniVarsOf(call), {
      CNI_COMMAND: 'VERSION',
      CNI_CONTAINERID: '',
      CNI_NETNS: 'dummy',
      CNI_IFNAME: 'dummy',
      CNI_ARGS: '',
      CNI_PATH: 'dummy',
    });
  });

  test("getVersionInfo returns the plugin's own list; a missing plugin is reported (V1)", async () => {
    const f = await single();
    assert.deepEqual(await f.cni.getVersionInfo('noop'), {
      cniVersion: '1.1.0',
      supportedVersions: NOOP_VERSIONS,
    });
    await assert.rejects(f.cni.getVersionInfo('does-not-exist'), (err: Error) => {
      assert.ok(err instanceof PluginNotFoundError);
      assert.match(err.message, /failed to find plugin "does-not-exist"/);
      return true;
    });
    assert.equal((await f.calls()).length, 1);
  });

  test('validateNetwork: a good config, a missing plugin, a version the plugin lacks, no version (V2)', async () => {
    const f = await single();
    assert.deepEqual(await f.cni.validateNetwork(f.net), ['portMappings']);

    const nope: PluginConfig = { network: { ...f.net.network, type: 'nope' }, bytes: f.net.bytes };
    await assert.rejects(f.cni.validateNetwork(nope), (err: Error) => {
      assert.ok(err instanceof PluginNotFoundError);
      assert.equal(err.message, `failed to find plugin "nope" in path [${f.plugins.dir}]`);
      return true;
    });

    await assert.rejects(f.cni.validateNetwork(withVersion(f.net, 'broken')), (err: Error) => {
      assert.ok(err instanceof VersionError);
      assert.equal(err.message, 'plugin noop does not support config version "broken"');
      return true;
    });

    // An omitted version means 0.1.0, which the plugin supports.
    assert.deepEqual(await f.cni.validateNetwork(withVersion(f.net, undefined)), ['portMappings']);
    assert.deepEqual(
      (await f.calls()).map((c) => c.command),
      ['VERSION', 'VERSION', 'VERSION'],
    );
  });

  test('a plugin lacking the exact version string is refused: "1.1" is not "1.1.0"', async () => {
    const f = await single();
    await assert.rejects(
      f.cni.validateNetwork(withVersion(f.net, '1.1')),
      (err: Error) => err.message === 'plugin noop does not support config version "1.1"',
    );
  });
});

describe('validateNetworkList (L12)', { concurrency: true }, () => {
  test('returns the union of the enabled capabilities', async () => {
    const f = await listFixture();
    const caps = await f.cni.validateNetworkList(f.list);
    assert.deepEqual([...caps].sort(), ['otherCapability', 'portMappings']);
    assert.deepEqual(
      (await f.calls()).map((c) => c.command),
      ['VERSION', 'VERSION', 'VERSION'],
    );
  });

  test('a missing plugin is reported in brackets, and the other plugins are still probed', async () => {
    const f = await listFixture();
    await assert.rejects(f.cni.validateNetworkList(withPluginType(f.list, 1, 'nope')), (err: Error) => {
      assert.ok(err instanceof AggregateLibcniError);
      assert.equal(err.message, `[failed to find plugin "nope" in path [${f.plugins.dir}]]`);
      assert.equal(err.errors.length, 1);
      assert.ok(err.errors[0] instanceof PluginNotFoundError);
      return true;
    });
    assert.equal((await f.calls()).length, 2);
  });

  test('a version no plugin supports gives one error per plugin, joined as Go prints a slice', async () => {
    const f = await listFixture();
    await assert.rejects(f.cni.validateNetworkList({ ...f.list, cniVersion: 'broken' }), (err: Error) => {
      const one = 'plugin noop does not support config version "broken"';
      assert.equal(err.message, `[${one} ${one} ${one}]`);
      assert.ok(err instanceof AggregateLibcniError);
      assert.ok(err.errors.every((e) => e instanceof VersionError));
      return true;
    });
  });
});

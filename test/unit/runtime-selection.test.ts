// Which networks NetworkManager attaches (`networks`: first / all / names), in the order containerd
// and CRI-O read a directory, with networks whose plugin is missing left out; configurations given
// directly (`configs`); and the defaults of `new NetworkManager()`.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { networkConfFromBytes } from '../../src/config/parse.ts';
import { ValidationError } from '../../src/core/errors.ts';
import { NotReadyError } from '../../src/core/runtime-errors.ts';
import {
  type ConfigLoadedEvent,
  DEFAULT_CONF_DIR,
  DEFAULT_PLUGIN_DIRS,
  NetworkManager,
  type NetworkManagerOptions,
} from '../../src/runtime/manager.ts';
import { makeRuntimeSandbox, type RuntimeSandbox } from '../helpers/runtime-plugins.ts';

let sb: RuntimeSandbox;
const managers: NetworkManager[] = [];

function manager(extra: NetworkManagerOptions = {}): NetworkManager {
  const m = new NetworkManager({
    confDir: sb.confDir,
    pluginDirs: [sb.pluginDir],
    cacheDir: sb.cacheDir,
    ...extra,
  });
  managers.push(m);
  return m;
}

/** A deprecated single-plugin `.conf` of the sandbox's plugin. */
async function writeConf(file: string, name: string): Promise<void> {
  const conf = { cniVersion: '1.0.0', name, type: 'rtfake', tlog: sb.log };
  await fs.writeFile(path.join(sb.confDir, file), JSON.stringify(conf));
}

/** A conflist whose plugin is not installed. */
async function writeMissingPlugin(file: string, name: string): Promise<void> {
  const list = {
    cniVersion: '1.0.0',
    name,
    plugins: [{ type: 'rtfake', tlog: sb.log }, { type: 'not-installed' }],
  };
  await fs.writeFile(path.join(sb.confDir, file), JSON.stringify(list));
}

const attached = (r: { networks: Array<{ network: string; ifName: string }> }) =>
  r.networks.map((n) => `${n.network}=${n.ifName}`);
const adds = async () => (await sb.calls()).filter((c) => c.cmd === 'ADD').map((c) => String(c.conf.name));
const skippedOf = (s: { skipped: ReadonlyArray<{ name: string; reason: string; required: boolean }> }) =>
  s.skipped.map((x) => `${x.name}:${x.reason}${x.required ? ':required' : ''}`);

beforeEach(async () => {
  sb = await makeRuntimeSandbox();
});
afterEach(async () => {
  for (const m of managers.splice(0)) await m.close();
  await sb.cleanup();
});

describe('networks: first (the default)', () => {
  it('attaches only the first file in name order, whatever its extension (10-zeta.conf before 20-alpha.conflist)', async () => {
    await writeConf('10-zeta.conf', 'zeta');
    await sb.writeNetwork('20-alpha.conflist', 'alpha');
    await sb.writeNetwork('30-beta.conflist', 'beta');
    const m = manager();
    assert.deepEqual(attached(await m.setup('c1', '/run/netns/x')), ['zeta=eth0']);
    assert.deepEqual(await adds(), ['zeta']);
    const st = await m.status();
    assert.equal(st.ready, true);
    assert.deepEqual(skippedOf(st), ['alpha:notSelected', 'beta:notSelected']);
  });

  it('passes over a first file whose plugin is missing and picks the next', async () => {
    await writeMissingPlugin('10-gone.conflist', 'gone');
    await writeConf('20-zeta.conf', 'zeta');
    await sb.writeNetwork('30-alpha.conflist', 'alpha');
    const m = manager();
    assert.deepEqual(attached(await m.setup('c1', '/run/netns/x')), ['zeta=eth0']);
    const st = await m.status();
    assert.equal(st.ready, true);
    assert.deepEqual(skippedOf(st), ['gone:pluginMissing', 'alpha:notSelected']);
    assert.match(String(st.skipped[0]?.error?.message), /not-installed/);
  });
});

describe('networks: all', () => {
  it('attaches every network in file order, skipping one with a missing plugin and reporting it', async () => {
    const loads: ConfigLoadedEvent[] = [];
    await sb.writeNetwork('30-beta.conflist', 'beta');
    await writeMissingPlugin('20-gone.conflist', 'gone');
    await writeConf('10-zeta.conf', 'zeta');
    const m = manager({ networks: 'all' });
    m.on('configLoaded', (e) => loads.push(e));
    assert.deepEqual(attached(await m.setup('c1', '/run/netns/x')), ['zeta=eth0', 'beta=eth1']);
    assert.deepEqual(await adds(), ['zeta', 'beta']);
    assert.equal(loads.length, 1);
    const [load] = loads;
    assert.ok(load);
    assert.deepEqual(
      load.networks.map((n) => n.name),
      ['zeta', 'beta'],
    );
    assert.deepEqual(skippedOf(load), ['gone:pluginMissing']);
    assert.equal(path.basename(String(load.skipped[0]?.file)), '20-gone.conflist');
    const st = await m.status();
    assert.equal(st.ready, true);
    assert.deepEqual(
      st.networks.map((n) => n.name),
      ['zeta', 'beta'],
    );
    assert.deepEqual(skippedOf(st), ['gone:pluginMissing']);
  });

  it('keeps maxNetworks on top: the first N in file order, the rest reported', async () => {
    await sb.writeNetwork('20-alpha.conflist', 'alpha');
    await writeConf('10-zeta.conf', 'zeta');
    await sb.writeNetwork('30-beta.conflist', 'beta');
    const m = manager({ networks: 'all', maxNetworks: 2 });
    assert.deepEqual(attached(await m.setup('c1', '/run/netns/x')), ['zeta=eth0', 'alpha=eth1']);
    assert.deepEqual(skippedOf(await m.status()), ['beta:maxNetworks']);
    const one = manager({ networks: 'all', maxNetworks: 1 });
    assert.deepEqual(
      (await one.load()).networks.map((n) => n.name),
      ['zeta'],
    );
  });
});

describe('networks: names', () => {
  it('is not ready when a named network has a missing plugin, and setup fails before any plugin runs', async () => {
    await sb.writeNetwork('10-alpha.conflist', 'alpha');
    await writeMissingPlugin('20-gone.conflist', 'gone');
    const m = manager({ networks: ['alpha', 'gone'] });
    await assert.rejects(m.setup('c1', '/run/netns/x'), (e: unknown) => {
      assert.ok(e instanceof NotReadyError, String(e));
      assert.deepEqual(e.missing, ['gone']);
      assert.match(e.message, /"gone" cannot be used: .*not-installed/);
      return true;
    });
    assert.deepEqual(await sb.calls(), []);
    const st = await m.status();
    assert.equal(st.ready, false);
    assert.deepEqual(skippedOf(st), ['gone:pluginMissing:required']);
    // Once the plugin is installed, a reload makes it usable.
    await fs.copyFile(path.join(sb.pluginDir, 'rtfake'), path.join(sb.pluginDir, 'not-installed'));
    await m.load();
    assert.equal((await m.status()).ready, true);
  });
});

describe('configs given directly', () => {
  const list = (name: string, type = 'rtfake') =>
    networkConfFromBytes(JSON.stringify({ cniVersion: '1.1.0', name, plugins: [{ type, tlog: sb.log }] }));

  it('selects, sets up, checks, tears down, collects and reports like a directory', async () => {
    const m = new NetworkManager({
      configs: [list('one'), list('gone', 'not-installed'), list('two')],
      networks: 'all',
      pluginDirs: [sb.pluginDir],
      cacheDir: sb.cacheDir,
    });
    managers.push(m);
    assert.equal(m.confDir, undefined);
    assert.deepEqual(attached(await m.setup('c1', '/run/netns/x')), ['one=eth0', 'two=eth1']);
    await m.check('c1', '/run/netns/x');
    const st = await m.status();
    assert.equal(st.ready, true);
    assert.deepEqual(skippedOf(st), ['gone:pluginMissing']);
    assert.equal(st.skipped[0]?.file, undefined);
    assert.deepEqual(
      (await m.teardown('c1', '/run/netns/x')).detached.map((d) => d.network),
      ['two', 'one'],
    );
    await m.setup('c2', '/run/netns/y');
    const report = await m.gc([]);
    assert.deepEqual(report.removed.map((r) => `${r.network}/${r.containerId}`).sort(), ['one/c2', 'two/c2']);
    const first = new NetworkManager({
      configs: [list('gone', 'not-installed'), list('two')],
      pluginDirs: [sb.pluginDir],
      cacheDir: sb.cacheDir,
    });
    managers.push(first);
    assert.deepEqual(
      (await first.load()).networks.map((n) => n.name),
      ['two'],
    );
  });

  it('refuses configs with confDir or watch, a repeated name, or something that is not a list', () => {
    const refused = (options: NetworkManagerOptions, field: string) => {
      assert.throws(
        () => new NetworkManager({ pluginDirs: [sb.pluginDir], ...options }),
        (e: unknown) => e instanceof ValidationError && e.field === field,
      );
    };
    refused({ configs: [list('a')], confDir: sb.confDir }, 'configs');
    refused({ configs: [list('a')], watch: true }, 'watch');
    refused({ configs: [list('a'), list('a')] }, 'configs');
    refused({ configs: [{ name: 'x', plugins: [] }] as never }, 'configs');
    refused({ configs: [JSON.parse('{"name":"x","plugins":[{"type":"rtfake"}]}')] as never }, 'configs');
    refused({ networks: 'every' as never }, 'networks');
  });
});

describe('defaults', () => {
  it('new NetworkManager() reads /etc/cni/net.d, runs /opt/cni/bin and caches in /var/lib/cni', () => {
    const m = new NetworkManager();
    assert.equal(m.confDir, '/etc/cni/net.d');
    assert.equal(DEFAULT_CONF_DIR, '/etc/cni/net.d');
    assert.deepEqual(DEFAULT_PLUGIN_DIRS, ['/opt/cni/bin']);
    assert.equal(m.cni.cacheDir, '/var/lib/cni');
    assert.deepEqual((m.cni as unknown as { path: readonly string[] }).path, ['/opt/cni/bin']);
    assert.equal(m.minNetworks, 1);
  });
});

// setup's per-container `networks`: exactly the named loaded networks, in that order, with their
// interface names; refused before any plugin runs when a name is unknown or repeated or two
// interfaces collide; teardown and check (also in a fresh manager) from the cache.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { AggregateLibcniError, ValidationError } from '../../src/core/errors.ts';
import { NotReadyError } from '../../src/core/runtime-errors.ts';
import { NetworkManager, type NetworkManagerOptions } from '../../src/runtime/manager.ts';
import { briefCalls, makeRuntimeSandbox, type RuntimeSandbox } from '../helpers/runtime-plugins.ts';

let sb: RuntimeSandbox;
const manager = (extra: Partial<NetworkManagerOptions> = {}): NetworkManager => sb.manager(extra);

/** Three networks in the directory; the manager's own selection is only `neta`. */
async function threeNetworks(): Promise<void> {
  await sb.writeNetwork('10-a.conflist', 'neta');
  await sb.writeNetwork('20-b.conflist', 'netb');
  await sb.writeNetwork('30-c.conflist', 'netc');
}

beforeEach(async () => {
  sb = await makeRuntimeSandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

describe('setup with per-container networks', () => {
  it('attaches exactly the named networks, in that order, from every loaded network', async () => {
    await threeNetworks();
    // The manager attaches only neta by default; netc and netb are loaded but not selected.
    const m = manager({ networks: ['neta'] });
    const r = await m.setup('c1', '/run/netns/x', {
      args: { K8S_POD_NAME: 'pod' },
      perNetwork: { netb: { ifName: 'ignored0', args: { FROM: 'perNetwork' } } },
      networks: [{ name: 'netc' }, { name: 'netb', ifName: 'net9' }],
    });
    assert.deepEqual(briefCalls(await sb.calls()), ['ADD c1 eth0 netc', 'ADD c1 net9 netb']);
    assert.deepEqual(
      r.networks.map((n) => `${n.network}=${n.ifName}`),
      ['netc=eth0', 'netb=net9'],
    );
    // The entry's ifName wins over perNetwork's; perNetwork's args still apply where the entry has none.
    const [, b] = await sb.calls();
    assert.equal(b?.args, 'IgnoreUnknown=1;K8S_POD_NAME=pod;FROM=perNetwork');
    assert.deepEqual(await sb.cacheFiles(), ['netb-c1-net9', 'netc-c1-eth0']);
  });

  it('gives each entry its own args and capability args over the container-wide ones', async () => {
    await sb.writeNetwork('10-a.conflist', 'neta', {}, { capabilities: { mac: true } });
    const m = manager();
    await m.setup('c1', '/x', {
      args: { K8S_POD_NAME: 'pod' },
      capabilityArgs: { mac: '02:00:00:00:00:aa' },
      networks: [
        { name: 'neta', args: { K8S_POD_NAME: 'own' }, capabilityArgs: { mac: '02:00:00:00:00:bb' } },
      ],
    });
    const [a] = await sb.calls();
    assert.equal(a?.args, 'IgnoreUnknown=1;K8S_POD_NAME=own');
    assert.deepEqual(a.conf.runtimeConfig, { mac: '02:00:00:00:00:bb' });
  });

  it('still puts the built-in loopback network first, unless the list places it', async () => {
    await threeNetworks();
    const m = manager({ loopback: true });
    const r = await m.setup('c1', '/x', { networks: [{ name: 'netb' }] });
    assert.deepEqual(
      r.networks.map((n) => `${n.network}=${n.ifName}`),
      ['cni-loopback=lo', 'netb=eth0'],
    );
    const r2 = await m.setup('c2', '/x', { networks: [{ name: 'netc' }, { name: 'cni-loopback' }] });
    assert.deepEqual(
      r2.networks.map((n) => `${n.network}=${n.ifName}`),
      ['netc=eth0', 'cni-loopback=lo'],
    );
  });

  it('refuses an unknown name, a repeated name or colliding interfaces before any plugin runs', async () => {
    await threeNetworks();
    const m = manager({ networks: ['neta'] });
    const unknown = await m
      .setup('c1', '/x', { networks: [{ name: 'netb' }, { name: 'nope' }, { name: 'gone' }] })
      .catch((e: unknown) => e);
    assert.ok(unknown instanceof NotReadyError, String(unknown));
    assert.deepEqual(unknown.missing, ['nope', 'gone']);
    await assert.rejects(
      m.setup('c1', '/x', { networks: [{ name: 'netb' }, { name: 'netb', ifName: 'net1' }] }),
      (e: unknown) => e instanceof ValidationError && e.field === 'networks' && /named twice/.test(e.message),
    );
    await assert.rejects(
      m.setup('c1', '/x', {
        networks: [
          { name: 'netb', ifName: 'eth3' },
          { name: 'netc', ifName: 'eth3' },
        ],
      }),
      (e: unknown) => e instanceof ValidationError && e.field === 'ifName',
    );
    await assert.rejects(m.setup('c1', '/x', { networks: [] }), ValidationError);
    await assert.rejects(
      m.setup('c1', '/x', { networks: [{ name: '' }] as never }),
      (e: unknown) => e instanceof ValidationError && e.field === 'networks',
    );
    assert.deepEqual(await sb.calls(), []);
    assert.deepEqual(await sb.cacheFiles(), []);
  });

  it('is not held back by the manager-wide readiness rules it replaces', async () => {
    await threeNetworks();
    // The manager names a network no file defines: its own setup is not ready.
    const m = manager({ networks: ['neta', 'missing'] });
    await assert.rejects(m.setup('c0', '/x'), NotReadyError);
    await m.setup('c1', '/x', { networks: [{ name: 'netc' }] });
    assert.deepEqual(briefCalls(await sb.calls()), ['ADD c1 eth0 netc']);
  });
});

describe('teardown and check after a per-container setup', () => {
  it('a fresh manager tears down exactly the attached subset from the cache', async () => {
    await threeNetworks();
    await manager().setup('c1', '/run/netns/x', {
      networks: [{ name: 'netc' }, { name: 'neta', ifName: 'net7' }],
    });
    assert.deepEqual(await sb.cacheFiles(), ['neta-c1-net7', 'netc-c1-eth0']);
    await fs.rm(sb.log);

    const fresh = manager();
    const res = await fresh.teardown('c1', '/run/netns/x', {
      networks: [{ name: 'netc' }, { name: 'neta', ifName: 'net7' }],
    });
    assert.deepEqual(res.detached.map((d) => `${d.network}/${d.ifName}:${d.source}`).sort(), [
      'neta/net7:cache',
      'netc/eth0:cache',
    ]);
    assert.deepEqual(briefCalls(await sb.calls()).sort(), ['DEL c1 eth0 netc', 'DEL c1 net7 neta']);
    assert.deepEqual(await sb.cacheFiles(), []);
  });

  it('without the list, the cached attachments are still removed from the cache', async () => {
    await threeNetworks();
    await manager().setup('c1', '/x', { networks: [{ name: 'netb', ifName: 'net4' }] });
    const res = await manager().teardown('c1', '/x');
    assert.deepEqual(
      res.detached.filter((d) => d.source === 'cache').map((d) => `${d.network}/${d.ifName}`),
      ['netb/net4'],
    );
    // The manager's other networks get the DEL a crashed ADD would need (harmless when not attached).
    assert.deepEqual(
      res.detached
        .filter((d) => d.source === 'config')
        .map((d) => d.network)
        .sort(),
      ['neta', 'netc'],
    );
    assert.deepEqual(await sb.cacheFiles(), []);
  });

  it('teardown given the list DELs by configuration a named network whose ADD left no cache entry', async () => {
    await threeNetworks();
    const m = manager();
    await m.setup('c1', '/x', { networks: [{ name: 'netb' }, { name: 'netc' }] });
    await fs.rm(path.join(sb.cacheDir, 'results', 'netc-c1-eth1'));
    await fs.rm(sb.log);
    const res = await manager().teardown('c1', '/x', {
      networks: [{ name: 'netb' }, { name: 'netc' }, { name: 'not-loaded' }],
    });
    assert.deepEqual(
      res.detached.map((d) => `${d.network}/${d.ifName}:${d.source}`),
      ['netb/eth0:cache', 'netc/eth1:config'],
    );
  });

  it('check with the list expects exactly those networks; without it, the manager set', async () => {
    await threeNetworks();
    await manager().setup('c1', '/x', { networks: [{ name: 'netb' }] });
    const fresh = manager();
    await fresh.check('c1', '/x', { networks: [{ name: 'netb' }] });
    assert.deepEqual(
      briefCalls(await sb.calls()).filter((c) => c.startsWith('CHECK')),
      ['CHECK c1 eth0 netb'],
    );
    const err = await fresh.check('c1', '/x').catch((e: unknown) => e);
    assert.ok(err instanceof AggregateLibcniError, String(err));
    assert.deepEqual(
      err.errors.map((e) => e.message),
      ['container c1 is not attached to network "neta"', 'container c1 is not attached to network "netc"'],
    );
    await assert.rejects(fresh.check('c1', '/x', { networks: [{ name: 'netb' }, { name: 'netc' }] }), /netc/);
  });
});

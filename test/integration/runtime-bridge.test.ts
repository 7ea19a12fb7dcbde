/**
 * NetworkManager with the real reference plugins (bridge + host-local, /usr/lib/cni) and real
 * network namespaces (root only). Every name here carries this process's pid: bridges
 * `lcrt<pid%10000><a|b|c>`, subnets 10.<150 + pid%50>.<1|2|3>.0/24, namespaces `lcrt-<pid>-<n>`,
 * host-local's dataDir and the cache in a temp dir. The after hook removes every namespace, link,
 * bridge and file that may remain, also after a failure, and restores ip_forward (bridge's
 * isGateway turns it on).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { createNetns, deleteNetns } from '../../src/netns/netns.ts';
import { NetworkManager } from '../../src/runtime/manager.ts';
import { SetupError } from '../../src/core/runtime-errors.ts';
import { ipv4AddrsIn, sh } from '../helpers/host.ts';

const PLUGIN_DIR = '/usr/lib/cni';
const isRoot = process.getuid?.() === 0;
const missingPlugins = ['bridge', 'host-local', 'tuning'].filter(
  (p) => !existsSync(path.join(PLUGIN_DIR, p)),
);
const hasIp = spawnSync('ip', ['-V']).status === 0;
const skipReason = !isRoot
  ? 'needs root for network namespaces and bridges'
  : missingPlugins.length > 0
    ? `needs the CNI plugins ${missingPlugins.join(', ')} in ${PLUGIN_DIR} (Debian package containernetworking-plugins)`
    : !hasIp
      ? 'needs ip (Debian package iproute2)'
      : undefined;
if (skipReason) console.warn(`\n*** runtime integration tests (real plugins) SKIPPED: ${skipReason} ***\n`);

function skipped(t: TestContext): boolean {
  // As root, the only reasons left name a package to install: fail, do not skip.
  if (skipReason && process.getuid?.() === 0)
    assert.fail(`cannot run here: ${skipReason}; install it (the README's set-up line)`);
  if (skipReason) t.skip(`SKIPPED: ${skipReason}`);
  return skipReason !== undefined;
}

const tag = process.pid % 10000;
const octet = 150 + (process.pid % 50);
const BRIDGES = { a: `lcrt${tag}a`, b: `lcrt${tag}b`, c: `lcrt${tag}c` };
const SUBNET = { a: `10.${octet}.1`, b: `10.${octet}.2`, c: `10.${octet}.3` };
const nsNames = new Set<string>();
let nsSeq = 0;
let root = '';
let ipForward: string | undefined;

/** Ports (veths) attached to a bridge on the host. */
function bridgePorts(bridge: string): string[] {
  const r = sh(['ip', '-j', 'link', 'show', 'master', bridge]);
  if (r.status !== 0) return []; // the bridge does not exist (yet)
  return (JSON.parse(r.stdout || '[]') as Array<{ ifname: string }>).map((l) => l.ifname);
}

/** host-local lease files (named after the IP) left for a network. */
async function leases(network: string): Promise<string[]> {
  try {
    const names = await fs.readdir(path.join(root, 'ipam', network));
    return names.filter((n) => /^\d+\.\d+\.\d+\.\d+$/.test(n)).sort();
  } catch {
    return [];
  }
}

async function cacheFiles(): Promise<string[]> {
  try {
    return (await fs.readdir(path.join(root, 'cache', 'results'))).sort();
  } catch {
    return [];
  }
}

async function newNs(): Promise<{ name: string; path: string }> {
  const name = `lcrt-${process.pid}-${++nsSeq}`;
  nsNames.add(name);
  return createNetns(name);
}

function bridgeConf(name: string, which: 'a' | 'b' | 'c', extraPlugins: unknown[] = []): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name,
    plugins: [
      {
        type: 'bridge',
        bridge: BRIDGES[which],
        isGateway: true,
        ipMasq: false,
        ipam: {
          type: 'host-local',
          dataDir: path.join(root, 'ipam'),
          ranges: [[{ subnet: `${SUBNET[which]}.0/24` }]],
        },
      },
      ...extraPlugins,
    ],
  });
}

interface Env {
  confDir: string;
  manager: NetworkManager;
}

const managers: NetworkManager[] = [];
let envSeq = 0;

/** A fresh conf dir with networks `rta` (bridge a) and `rtb` (bridge b) and a manager on it. */
async function makeEnv(files: Record<string, string>): Promise<Env> {
  const confDir = path.join(root, `net.d-${++envSeq}`);
  await fs.mkdir(confDir);
  for (const [f, text] of Object.entries(files)) await fs.writeFile(path.join(confDir, f), text);
  const manager = new NetworkManager({
    confDir,
    pluginDirs: [PLUGIN_DIR],
    cacheDir: path.join(root, 'cache'),
    networks: 'all',
    timeoutMs: 30_000,
  });
  managers.push(manager);
  await manager.start();
  return { confDir, manager };
}

const twoNetworks = () => ({
  '10-rta.conflist': bridgeConf('rta', 'a'),
  '20-rtb.conflist': bridgeConf('rtb', 'b'),
});

async function assertClean(nets: string[] = ['rta', 'rtb', 'rtc']) {
  assert.deepEqual(await cacheFiles(), []);
  for (const n of nets) assert.deepEqual(await leases(n), [], `leases left for ${n}`);
  for (const b of Object.values(BRIDGES)) assert.deepEqual(bridgePorts(b), [], `veths left on ${b}`);
}

describe('NetworkManager with bridge + host-local', { concurrency: false }, () => {
  before(async () => {
    if (skipReason) return;
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'libcni-'));
    ipForward = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8');
  });

  after(async () => {
    for (const m of managers) await m.close();
    for (const name of nsNames) await deleteNetns(name).catch(() => undefined);
    for (const b of Object.values(BRIDGES)) sh(['ip', 'link', 'del', b]);
    if (ipForward !== undefined) writeFileSync('/proc/sys/net/ipv4/ip_forward', ipForward);
    if (root) await fs.rm(root, { recursive: true, force: true });
  });

  it('attaches one container to two bridges: eth0 and eth1 addressed, each gateway reachable', async (t) => {
    if (skipped(t)) return;
    const { manager } = await makeEnv(twoNetworks());
    const ns = await newNs();
    const r = await manager.setup('rt-two', ns.path, { args: { K8S_POD_NAME: 'two' } });
    const a = r.interfaces.eth0?.ips[0]?.address;
    const b = r.interfaces.eth1?.ips[0]?.address;
    assert.match(String(a), new RegExp(`^${SUBNET.a.replace(/\./g, '\\.')}\\.\\d+/24$`));
    assert.match(String(b), new RegExp(`^${SUBNET.b.replace(/\./g, '\\.')}\\.\\d+/24$`));
    assert.equal(r.interfaces.eth0?.network, 'rta');
    assert.equal(r.interfaces.eth1?.network, 'rtb');
    const links = ipv4AddrsIn(ns.name);
    assert.deepEqual(links.eth0, [a]);
    assert.deepEqual(links.eth1, [b]);
    for (const gw of [`${SUBNET.a}.1`, `${SUBNET.b}.1`]) {
      const ping = sh(['ip', 'netns', 'exec', ns.name, 'ping', '-c', '1', '-W', '2', gw]);
      assert.equal(ping.status, 0, `ping ${gw} from the container: ${ping.stdout}${ping.stderr}`);
    }
    await manager.check('rt-two', ns.path);
    assert.deepEqual(await cacheFiles(), ['rta-rt-two-eth0', 'rtb-rt-two-eth1']);
    await manager.teardown('rt-two', ns.path);
    assert.deepEqual(Object.keys(ipv4AddrsIn(ns.name)), ['lo']);
    await assertClean();
    await deleteNetns(ns.name);
  });

  it('rolls back the first network when the second fails: no interface, cache entry or lease left', async (t) => {
    if (skipped(t)) return;
    // rtc: bridge + host-local succeed, then tuning fails on a sysctl that does not exist, so the
    // failed network itself holds an interface and a lease that only its DEL frees.
    const failing = bridgeConf('rtc', 'c', [
      { type: 'tuning', sysctl: { 'net.ipv4.conf.IFNAME.no_such_knob': '1' } },
    ]);
    const { manager } = await makeEnv({
      '10-rta.conflist': bridgeConf('rta', 'a'),
      '20-rtc.conflist': failing,
    });
    const ns = await newNs();
    const err = await manager.setup('rt-fail', ns.path).catch((e: unknown) => e);
    assert.ok(err instanceof SetupError, String(err));
    assert.equal(err.network, 'rtc');
    assert.equal(err.rollback.ok, true, err.rollback.errors.map((e) => e.message).join('; '));
    assert.deepEqual(Object.keys(ipv4AddrsIn(ns.name)), ['lo']);
    await assertClean();
    await deleteNetns(ns.name);
  });

  it('tears down from the cache after the conflist was deleted', async (t) => {
    if (skipped(t)) return;
    const { confDir, manager } = await makeEnv(twoNetworks());
    const ns = await newNs();
    await manager.setup('rt-noconf', ns.path);
    await fs.rm(path.join(confDir, '20-rtb.conflist'));
    await manager.load();
    assert.deepEqual(
      manager.networks.map((n) => n.name),
      ['rta'],
    );
    const res = await manager.teardown('rt-noconf', ns.path);
    assert.deepEqual(res.detached.map((d) => `${d.network}:${d.source}`).sort(), ['rta:cache', 'rtb:cache']);
    assert.deepEqual(Object.keys(ipv4AddrsIn(ns.name)), ['lo']);
    await assertClean();
    await manager.teardown('rt-noconf', ns.path); // repeated teardown succeeds
    await deleteNetns(ns.name);
  });

  it('tears down after the namespace was deleted', async (t) => {
    if (skipped(t)) return;
    const { manager } = await makeEnv(twoNetworks());
    const ns = await newNs();
    await manager.setup('rt-nons', ns.path);
    await deleteNetns(ns.name);
    await manager.teardown('rt-nons', ns.path);
    await assertClean();
    await manager.teardown('rt-nons', ns.path);
  });

  it('sets up and tears down 20 containers concurrently without leaks', async (t) => {
    if (skipped(t)) return;
    const { manager } = await makeEnv(twoNetworks());
    const namespaces = await Promise.all(Array.from({ length: 20 }, () => newNs()));
    const results = await Promise.all(namespaces.map((ns, i) => manager.setup(`rt-many-${i}`, ns.path)));
    const addresses = new Set(
      results.flatMap((r) => Object.values(r.interfaces).flatMap((x) => x.ips.map((ip) => ip.address))),
    );
    assert.equal(addresses.size, 40, 'every interface got its own address');
    assert.equal((await cacheFiles()).length, 40);
    assert.equal((await leases('rta')).length, 20);
    assert.equal(bridgePorts(BRIDGES.b).length, 20);
    namespaces.forEach((ns, i) => {
      const links = ipv4AddrsIn(ns.name);
      assert.deepEqual(links.eth0, [results[i]?.interfaces.eth0?.ips[0]?.address]);
      assert.deepEqual(links.eth1, [results[i]?.interfaces.eth1?.ips[0]?.address]);
    });
    await Promise.all(namespaces.map((ns, i) => manager.teardown(`rt-many-${i}`, ns.path)));
    await assertClean();
    await Promise.all(namespaces.map((ns) => deleteNetns(ns.name)));
    const mine = new Set(namespaces.map((ns) => ns.name));
    const left = sh(['ip', 'netns', 'list'])
      .stdout.split('\n')
      .filter((l) => mine.has(l.split(' ')[0] as string));
    assert.deepEqual(left, []);
  });

  it('GC removes the attachments of containers not in the valid list', async (t) => {
    if (skipped(t)) return;
    const { manager } = await makeEnv(twoNetworks());
    const keep = await newNs();
    const drop = await newNs();
    const kept = await manager.setup('rt-keep', keep.path);
    await manager.setup('rt-drop', drop.path);
    const report = await manager.gc(['rt-keep']);
    assert.deepEqual(report.errors, []);
    assert.deepEqual(report.removed.map((x) => `${x.containerId}/${x.network}/${x.ifName}`).sort(), [
      'rt-drop/rta/eth0',
      'rt-drop/rtb/eth1',
    ]);
    assert.deepEqual(Object.keys(ipv4AddrsIn(drop.name)), ['lo']);
    assert.deepEqual(ipv4AddrsIn(keep.name).eth0, [kept.interfaces.eth0?.ips[0]?.address]);
    assert.deepEqual(await cacheFiles(), ['rta-rt-keep-eth0', 'rtb-rt-keep-eth1']);
    assert.equal((await leases('rta')).length, 1);
    await manager.teardown('rt-keep', keep.path);
    await assertClean();
    await deleteNetns(keep.name);
    await deleteNetns(drop.name);
  });
});

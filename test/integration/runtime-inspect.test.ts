/**
 * inspect after a restart, with the real reference plugins (bridge + host-local, /usr/lib/cni) in
 * a real network namespace (root only): this process sets a container up on a per-container subset
 * of the networks, and a separate Node process that never ran setup reads its IPs back from the
 * cache. Names carry this process's pid: bridges `lcin<pid%10000><a|b>`, subnets
 * 10.<210 + pid%20>.<1|2>.0/24, namespace `lcin-<pid>`; host-local's dataDir and the cache live in
 * a temp dir. The after hook removes the namespace, the bridges and the files, also after a
 * failure, and restores ip_forward (bridge's isGateway turns it on).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { createNetns, deleteNetns } from '../../src/netns/netns.ts';
import { NetworkManager } from '../../src/runtime/manager.ts';
import type { InspectResult } from '../../src/runtime/types.ts';
import { ipv4AddrsIn, sh } from '../helpers/host.ts';

const PLUGIN_DIR = '/usr/lib/cni';
const ROOT = path.resolve(import.meta.dirname, '../..');
const isRoot = process.getuid?.() === 0;
const missingPlugins = ['bridge', 'host-local'].filter((p) => !existsSync(path.join(PLUGIN_DIR, p)));
const hasIp = spawnSync('ip', ['-V']).status === 0;
const skipReason = !isRoot
  ? 'needs root for network namespaces and bridges'
  : missingPlugins.length > 0
    ? `needs the CNI plugins ${missingPlugins.join(', ')} in ${PLUGIN_DIR}`
    : !hasIp
      ? 'needs ip (iproute2)'
      : undefined;
if (skipReason) console.warn(`\n*** inspect integration tests (real plugins) SKIPPED: ${skipReason} ***\n`);

function skipped(t: TestContext): boolean {
  // As root, the only reasons left name a package to install: fail, do not skip.
  if (skipReason && isRoot)
    assert.fail(`cannot run here: ${skipReason}; install it (the README's set-up line)`);
  if (skipReason) t.skip(`SKIPPED: ${skipReason}`);
  return skipReason !== undefined;
}

const tag = process.pid % 10000;
const octet = 210 + (process.pid % 20);
const BRIDGES = { a: `lcin${tag}a`, b: `lcin${tag}b` };
const SUBNET = { a: `10.${octet}.1`, b: `10.${octet}.2` };
const NS_NAME = `lcin-${process.pid}`;
let root = '';
let ipForward: string | undefined;

function bridgeConf(name: string, which: 'a' | 'b'): string {
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
          // resolv.conf material, to see the DNS merge come back from the cache.
          routes: [{ dst: '0.0.0.0/0' }],
        },
        dns: { nameservers: [`${SUBNET[which]}.53`], search: ['inspect.test'] },
      },
    ],
  });
}

/** inspect in a new Node process that shares only the directories with this one. */
function inspectInChild(containerId: string, check: boolean): InspectResult {
  const arg = JSON.stringify({
    confDir: path.join(root, 'net.d'),
    pluginDirs: [PLUGIN_DIR],
    cacheDir: path.join(root, 'cache'),
    containerId,
    check,
  });
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/helpers/inspect-child.ts', arg], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 0, `inspect child failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as InspectResult;
}

async function leases(network: string): Promise<string[]> {
  try {
    return (await fs.readdir(path.join(root, 'ipam', network))).filter((n) => /^\d+\.\d+\.\d+\.\d+$/.test(n));
  } catch {
    return [];
  }
}

/** Ports (veths) attached to a bridge on the host. */
function bridgePorts(bridge: string): string[] {
  const r = sh(['ip', '-j', 'link', 'show', 'master', bridge]);
  if (r.status !== 0) return [];
  return (JSON.parse(r.stdout || '[]') as Array<{ ifname: string }>).map((l) => l.ifname);
}

describe('inspect from a fresh process, bridge + host-local', { concurrency: false }, () => {
  before(async () => {
    if (skipReason) return;
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'libcni-'));
    ipForward = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8');
    await fs.mkdir(path.join(root, 'net.d'));
    await fs.writeFile(path.join(root, 'net.d', '10-ina.conflist'), bridgeConf('ina', 'a'));
    await fs.writeFile(path.join(root, 'net.d', '20-inb.conflist'), bridgeConf('inb', 'b'));
  });

  after(async () => {
    await deleteNetns(NS_NAME).catch(() => undefined);
    for (const b of Object.values(BRIDGES)) sh(['ip', 'link', 'del', b]);
    if (ipForward !== undefined) writeFileSync('/proc/sys/net/ipv4/ip_forward', ipForward);
    if (root) await fs.rm(root, { recursive: true, force: true });
  });

  it('another process reads back the IPs of a per-container setup; a fresh manager tears it down', async (t) => {
    if (skipped(t)) return;
    const options = {
      confDir: path.join(root, 'net.d'),
      pluginDirs: [PLUGIN_DIR],
      cacheDir: path.join(root, 'cache'),
      timeoutMs: 30_000,
    };
    const ns = await createNetns(NS_NAME);
    const setupManager = new NetworkManager(options);
    // Only inb, as net1: the manager would attach both by default.
    const networks = [{ name: 'inb', ifName: 'net1' }];
    const made = await setupManager.setup('in-1', ns.path, { networks });
    await setupManager.close();
    const address = made.interfaces.net1?.ips[0]?.address;
    assert.match(String(address), new RegExp(`^${SUBNET.b.replace(/\./g, '\\.')}\\.\\d+/24$`));
    assert.deepEqual(ipv4AddrsIn(NS_NAME).net1, [address]);
    assert.equal(ipv4AddrsIn(NS_NAME).eth0, undefined);

    const seen = inspectInChild('in-1', true);
    assert.deepEqual(
      seen.attachments.map((a) => [a.network, a.ifName, a.netns, a.check]),
      [['inb', 'net1', ns.path, { outcome: 'passed' }]],
    );
    assert.equal(seen.ok, true);
    assert.equal(seen.primaryIPv4, String(address).split('/')[0]);
    assert.equal(seen.primaryIPv6, undefined);
    assert.deepEqual(
      seen.ips.map((ip) => `${ip.ifName} ${ip.address} ${ip.gateway}`),
      [`net1 ${address} ${SUBNET.b}.1`],
    );
    assert.deepEqual(seen.interfaces, JSON.parse(JSON.stringify(made.interfaces)));
    assert.deepEqual(seen.dns, { nameservers: [`${SUBNET.b}.53`], search: ['inspect.test'], options: [] });

    const fresh = new NetworkManager(options);
    const res = await fresh.teardown('in-1', ns.path, { networks });
    await fresh.close();
    assert.deepEqual(
      res.detached.map((d) => `${d.network}/${d.ifName}:${d.source}`),
      ['inb/net1:cache'],
    );
    assert.deepEqual(Object.keys(ipv4AddrsIn(NS_NAME)), ['lo']);
    assert.deepEqual(await leases('inb'), []);
    assert.deepEqual(bridgePorts(BRIDGES.b), []);
    assert.deepEqual(inspectInChild('in-1', false).attachments, []);
    await deleteNetns(NS_NAME);
  });
});

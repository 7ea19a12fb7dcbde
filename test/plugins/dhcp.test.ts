/**
 * Plugin compatibility: dhcp IPAM through CNIConfig at spec 1.0.0 and 0.4.0, against a real DHCP
 * server. The lab: a veth pair whose host end is the master of the containers' macvlan links and
 * whose other end sits in a server namespace running dnsmasq (Debian dnsmasq-base) on
 * 10.193.<block>.1/24; the CNI dhcp daemon on a socket in the temp dir. Traffic stays on that veth
 * between namespaces of this test. The daemon and dnsmasq are killed in the after hook.
 *
 * macvlan, not bridge: bridge 1.1.1 deletes the container's veth before it calls the IPAM plugin's
 * DEL, so the daemon cannot send DHCPRELEASE ("no such device") and the server keeps the lease
 * until it expires; macvlan calls IPAM DEL first, so the release is observable.
 */
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { NetnsHandle } from '../../src/netns/netns.ts';
import {
  addCheck,
  addresses,
  announceSkip,
  del,
  ipOf,
  Lab,
  link,
  linkNames,
  must,
  PLUGIN_DIR,
  resultAddresses,
  resultGateways,
  routeStrings,
  sh,
  skipIf,
  type TestedVersion,
  unmetNeeds,
  VERSIONS,
} from './helpers.ts';

const lab = new Lab('dhcp', 193);
const skip = unmetNeeds({
  plugins: ['dhcp', 'bridge'],
  tools: { ip: 'iproute2', dnsmasq: 'dnsmasq-base', ping: 'iputils-ping' },
});
if (skip) announceSkip('plugin suite: dhcp', skip);

let sub = '';
let master = '';
let socket = '';
let leaseFile = '';
let server: NetnsHandle | undefined;
let startError: Error | undefined;

async function waitFor(what: string, ok: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The addresses dnsmasq has leased now (its lease file: `expiry mac ip host clientid`). */
async function serverLeases(): Promise<string[]> {
  const text = await fs.readFile(leaseFile, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[2] as string)
    .sort();
}

async function startServers(): Promise<void> {
  sub = lab.net24(0);
  socket = lab.dir('dhcp.sock');
  leaseFile = lab.dir('dnsmasq.leases');
  server = await lab.netns();
  master = lab.linkName('s0');
  const srvEnd = lab.linkName('s1');
  lab.veth(master, srvEnd, server.name);
  must(['ip', '-n', server.name, 'addr', 'add', `${sub}.1/24`, 'dev', srvEnd]);
  must(['ip', '-n', server.name, 'link', 'set', 'lo', 'up']);
  await fs.writeFile(leaseFile, '');
  lab.spawnTracked(
    [
      'ip',
      'netns',
      'exec',
      server.name,
      'dnsmasq',
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--no-resolv',
      '--no-hosts',
      '--port=0',
      '--bind-interfaces',
      `--interface=${srvEnd}`,
      `--dhcp-range=${sub}.50,${sub}.99,255.255.255.0,10m`,
      `--dhcp-option=option:router,${sub}.1`,
      `--dhcp-leasefile=${leaseFile}`,
      `--pid-file=${lab.dir('dnsmasq.pid')}`,
      '--dhcp-authoritative',
      '--no-ping',
      '--user=root',
      '--group=root',
      '--log-dhcp',
      '--log-facility=-',
    ],
    lab.dir('dnsmasq.log'),
  );
  lab.spawnTracked(
    [`${PLUGIN_DIR}/dhcp`, 'daemon', '-socketpath', socket, '-timeout', '5s', '-resendmax', '10s'],
    lab.dir('dhcp-daemon.log'),
  );
  await waitFor('the dhcp daemon socket', () => existsSync(socket));
  await waitFor('dnsmasq', () => existsSync(lab.dir('dnsmasq.pid')));
}

describe('dhcp', { concurrency: false }, () => {
  before(async () => {
    if (skip) return;
    await lab.init();
    try {
      await startServers();
    } catch (e) {
      startError = e as Error;
    }
  });
  after(async () => {
    if (!skip) await lab.cleanup();
  });

  VERSIONS.forEach((v: TestedVersion, i) => {
    it(`dhcp ADD/CHECK/DEL at ${v} (under macvlan): lease from dnsmasq, address and default route in the namespace; DEL releases the lease`, async (t) => {
      if (skipIf(t, skip)) return;
      if (startError) {
        const log = await fs.readFile(lab.dir('dnsmasq.log'), 'utf8').catch(() => '');
        throw new Error(`servers did not start: ${startError.message}\n${log}`);
      }
      const net = `lcp-dhcp-${i}`;
      const list = lab.list({
        cniVersion: v,
        name: net,
        plugins: [
          { type: 'macvlan', master, mode: 'bridge', ipam: { type: 'dhcp', daemonSocketPath: socket } },
        ],
      });
      const ns = await lab.netns();
      const rt = lab.rt(lab.containerId(`dhcp-${i}`), ns);
      const r = await addCheck(lab, list, rt);
      assert.equal(link('eth0', ns.name)?.linkinfo?.info_kind, 'macvlan');
      const [addr] = resultAddresses(r);
      assert.match(
        String(addr),
        new RegExp(`^${sub.replace(/\./g, '\\.')}\\.(5\\d|[6-9]\\d)/24$`),
        'from the dnsmasq pool',
      );
      assert.deepEqual(resultGateways(r), [`${sub}.1`], 'router option becomes the gateway');
      assert.deepEqual(addresses(ns.name).eth0, [addr]);
      assert.ok(
        routeStrings(ns.name).includes(`default via ${sub}.1 dev eth0`),
        routeStrings(ns.name).join(', '),
      );
      assert.deepEqual(await serverLeases(), [ipOf(String(addr))], 'dnsmasq holds the lease');
      const ping = sh(['ip', 'netns', 'exec', ns.name, 'ping', '-c', '1', '-W', '2', `${sub}.1`]);
      assert.equal(ping.status, 0, `ping the DHCP server: ${ping.stdout}${ping.stderr}`);

      await del(lab, list, rt);
      assert.deepEqual(linkNames(ns.name), ['lo']);
      await waitFor('dnsmasq to drop the released lease', async () => (await serverLeases()).length === 0);
      await lab.dropNetns(ns);
    });
  });
});

/**
 * Plugin compatibility: the IPAM plugins host-local and static, through CNIConfig at spec 1.0.0
 * and 0.4.0 — as a runtime uses them (delegated to by an interface plugin, the kernel state is the
 * proof) and host-local on its own (its lease store is the proof). Subnets 10.192.<block+n>.0/24
 * and fd00:192:<block+n>::/64 for the dual-stack case.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { CniError } from '../../src/core/errors.ts';
import {
  addCheck,
  addresses,
  announceSkip,
  del,
  hostInterfaces,
  ipOf,
  Lab,
  link,
  linkNames,
  noDadIn,
  resultAddresses,
  resultGateways,
  routeStrings,
  skipIf,
  type TestedVersion,
  unmetNeeds,
  VERSIONS,
} from './helpers.ts';

const lab = new Lab('ipam', 192);
const skip = unmetNeeds({ plugins: ['host-local', 'static', 'ptp', 'bridge'], tools: { ip: 'iproute2' } });
if (skip) announceSkip('plugin suite: host-local, static', skip);

function lastOctet(cidr: string): number {
  return Number(ipOf(cidr).split('.')[3]);
}

describe('host-local, static', { concurrency: false }, () => {
  before(async () => {
    if (!skip) await lab.init();
  });
  after(async () => {
    if (!skip) await lab.cleanup();
  });

  VERSIONS.forEach((v: TestedVersion, i) => {
    it(`host-local ADD/CHECK/DEL at ${v} (under ptp): dual-stack ranges, rangeStart/End, routes, resolvConf DNS; DEL frees both leases`, async (t) => {
      if (skipIf(t, skip)) return;
      const sub = lab.net24(i);
      const extra = lab.net24(5 + i);
      const v6 = `fd00:192:${lab.block + i}::`;
      const resolv = lab.dir(`resolv-${i}.conf`);
      await fs.writeFile(resolv, `nameserver ${sub}.53\nsearch lcp.test\noptions ndots:2\n`);
      const net = `lcp-hl-${i}`;
      const list = lab.list({
        cniVersion: v,
        name: net,
        plugins: [
          {
            type: 'ptp',
            ipam: {
              type: 'host-local',
              dataDir: lab.ipamDir,
              resolvConf: resolv,
              ranges: [
                [
                  {
                    subnet: `${sub}.0/24`,
                    rangeStart: `${sub}.100`,
                    rangeEnd: `${sub}.110`,
                    gateway: `${sub}.1`,
                  },
                ],
                [{ subnet: `${v6}/64` }],
              ],
              // A non-default route needs an explicit gw: ptp installs it via the gateway, and the
              // 1.1.1 plugins' CHECK then looks for a route with the gw the result names (none).
              routes: [{ dst: '0.0.0.0/0' }, { dst: `${extra}.0/24`, gw: `${sub}.1` }],
            },
          },
        ],
      });
      const ns = await lab.netns();
      noDadIn(ns.name); // ptp waits for IPv6 addresses to settle; without DAD they are usable at once
      const rt = lab.rt(lab.containerId(`hl-${i}`), ns);
      const r = await addCheck(lab, list, rt);
      lab.trackLink(hostInterfaces(r)[0] as string);
      const [a4, a6] = resultAddresses(r);
      assert.match(String(a4), new RegExp(`^${sub.replace(/\./g, '\\.')}\\.\\d+/24$`));
      assert.ok(
        lastOctet(String(a4)) >= 100 && lastOctet(String(a4)) <= 110,
        `${a4} within rangeStart..rangeEnd`,
      );
      assert.ok(String(a6).startsWith(v6) && String(a6).endsWith('/64'), `${a6} from the IPv6 range`);
      assert.deepEqual(addresses(ns.name).eth0, [a4]);
      assert.deepEqual(addresses(ns.name, 'inet6').eth0, [a6]);
      assert.deepEqual(resultGateways(r), [`${sub}.1`, `${v6}1`]);
      const rs = routeStrings(ns.name);
      assert.ok(rs.includes(`default via ${sub}.1 dev eth0`), rs.join(', '));
      assert.ok(rs.includes(`${extra}.0/24 via ${sub}.1 dev eth0`), rs.join(', '));
      const dns = (r as { dns?: { nameservers?: string[]; search?: string[]; options?: string[] } }).dns;
      assert.deepEqual(dns, { nameservers: [`${sub}.53`], search: ['lcp.test'], options: ['ndots:2'] });
      assert.deepEqual(await lab.leases(net), [ipOf(String(a4)), ipOf(String(a6))].sort());
      const owner = await fs.readFile(lab.dir('ipam', net, ipOf(String(a4))), 'utf8');
      assert.deepEqual(
        owner.split(/\r?\n/),
        [rt.containerId, 'eth0'],
        'the lease names the container and interface',
      );

      await del(lab, list, rt);
      assert.deepEqual(linkNames(ns.name), ['lo']);
      assert.deepEqual(await lab.leases(net), []);
      await lab.dropNetns(ns);
    });
  });

  it('host-local on its own at 1.0.0: ADD writes the lease, CHECK finds it, DEL frees it, CHECK after DEL fails', async (t) => {
    if (skipIf(t, skip)) return;
    const sub = lab.net24(2);
    const net = 'lcp-hl-direct';
    const list = lab.list({
      cniVersion: '1.0.0',
      name: net,
      // host-local reads its settings from the `ipam` key of whatever config it gets, also when it
      // is the list's plugin rather than a delegate.
      plugins: [
        { type: 'host-local', ipam: { type: 'host-local', dataDir: lab.ipamDir, subnet: `${sub}.0/24` } },
      ],
    });
    const ns = await lab.netns();
    const rt = lab.rt(lab.containerId('hl-direct'), ns);
    const r = await addCheck(lab, list, rt);
    assert.deepEqual(await lab.leases(net), resultAddresses(r).map(ipOf));
    assert.deepEqual(linkNames(ns.name), ['lo'], 'an IPAM plugin never touches the namespace');
    await del(lab, list, rt);
    assert.deepEqual(await lab.leases(net), []);
    const err = await lab.cni.checkNetworkList(list, rt).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof CniError, `CHECK after DEL must fail: ${String(err)}`);
    assert.equal(err.context.plugin, 'host-local');
    await lab.dropNetns(ns);
  });

  VERSIONS.forEach((v: TestedVersion, i) => {
    it(`static ADD/CHECK/DEL at ${v} (under ptp): fixed address, gateway route, DNS from the config; DEL leaves nothing`, async (t) => {
      if (skipIf(t, skip)) return;
      const sub = lab.net24(3 + i);
      // ptp, not bridge: bridge (like macvlan, vlan, ipvlan, host-device) replaces the IPAM
      // plugin's DNS with its own `dns` key, so static's DNS would not reach the result.
      const list = lab.list({
        cniVersion: v,
        name: `lcp-static-${i}`,
        plugins: [
          {
            type: 'ptp',
            ipam: {
              type: 'static',
              addresses: [{ address: `${sub}.10/24`, gateway: `${sub}.1` }],
              routes: [{ dst: '0.0.0.0/0' }],
              dns: { nameservers: [`${sub}.53`], domain: 'lcp.test', search: ['lcp.test'] },
            },
          },
        ],
      });
      const ns = await lab.netns();
      const rt = lab.rt(lab.containerId(`st-${i}`), ns);
      const r = await addCheck(lab, list, rt);
      const hostVeth = hostInterfaces(r)[0] as string;
      lab.trackLink(hostVeth);
      assert.deepEqual(resultAddresses(r), [`${sub}.10/24`]);
      assert.deepEqual(addresses(ns.name).eth0, [`${sub}.10/24`]);
      assert.ok(routeStrings(ns.name).includes(`default via ${sub}.1 dev eth0`));
      const dns = (r as { dns?: { nameservers?: string[]; domain?: string } }).dns;
      assert.deepEqual(dns, { nameservers: [`${sub}.53`], domain: 'lcp.test', search: ['lcp.test'] });
      assert.deepEqual(addresses()[hostVeth], [`${sub}.1/32`], 'ptp put the gateway on the host side');
      await del(lab, list, rt);
      assert.deepEqual(linkNames(ns.name), ['lo']);
      assert.equal(link(hostVeth), undefined);
      await lab.dropNetns(ns);
    });
  });
});

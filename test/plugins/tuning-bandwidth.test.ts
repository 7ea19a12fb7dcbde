/**
 * Plugin compatibility: the meta plugins that change a link — tuning (chained after host-device,
 * so that its DEL's restore of the original MAC/MTU/flags can be seen on the link once it is back
 * on the host) and bandwidth (chained after ptp: tbf on the host veth, an ifb with tbf for egress) —
 * through CNIConfig at spec 1.0.0 and 0.4.0. Subnets 10.196.<block+n>.0/24.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { CniError } from '../../src/core/errors.ts';
import {
  addCheck,
  announceSkip,
  del,
  hostInterfaces,
  kernelSupports,
  Lab,
  link,
  linkNames,
  mustLink,
  qdiscs,
  resultInterfaces,
  sh,
  skipIf,
  sysctlIn,
  type TestedVersion,
  unmetNeeds,
  VERSIONS,
} from './helpers.ts';

const lab = new Lab('tuning-bandwidth', 196);
const skip = unmetNeeds({
  plugins: ['host-device', 'static', 'tuning', 'ptp', 'host-local', 'bandwidth'],
  tools: { ip: 'iproute2', tc: 'iproute2' },
});
if (skip) announceSkip('plugin suite: tuning, bandwidth', skip);
const noIfb =
  skip || kernelSupports('ifb') ? undefined : 'this kernel cannot create ifb links (CONFIG_IFB not set)';
if (noIfb) announceSkip('bandwidth egress shaping', noIfb);

const TUNED_MAC = '02:00:c0:ff:ee:01';

/**
 * The sysctl keys name the interface literally: tuning 1.1.1 substitutes `IFNAME` on ADD but not on
 * CHECK (fixed upstream in v1.3.0, commit 5b7a263e); a test below pins that.
 */
function tuningConf(v: string, name: string, device: string, n: number, ifnameKey = false) {
  const rpFilter = ifnameKey ? 'net.ipv4.conf.IFNAME.rp_filter' : 'net.ipv4.conf.eth0.rp_filter';
  return {
    cniVersion: v,
    name,
    plugins: [
      {
        type: 'host-device',
        device,
        ipam: { type: 'static', addresses: [{ address: `${lab.net24(n)}.2/24` }] },
      },
      {
        type: 'tuning',
        dataDir: lab.dir('tuning'),
        mac: TUNED_MAC,
        mtu: 1300,
        promisc: true,
        allmulti: true,
        sysctl: { [rpFilter]: '2', 'net.core.somaxconn': '511' },
      },
    ],
  };
}

/** A spare veth end for host-device, with its original MAC and MTU. */
function spare(x: string): { name: string; mac: string; mtu: number } {
  const name = lab.linkName(`${x}0`);
  lab.veth(name, lab.linkName(`${x}1`));
  const l = link(name);
  assert.ok(l?.address);
  return { name, mac: l.address, mtu: l.mtu };
}

describe('tuning, bandwidth', { concurrency: false }, () => {
  before(async () => {
    if (!skip) await lab.init();
  });
  after(async () => {
    if (!skip) await lab.cleanup();
  });

  VERSIONS.forEach((v: TestedVersion, i) => {
    it(`tuning ADD/CHECK/DEL at ${v}: MAC, MTU, promisc, allmulti and sysctls applied in the namespace; DEL restores the link as it was`, async (t) => {
      if (skipIf(t, skip)) return;
      const dev = spare(`t${i}`);
      const ns = await lab.netns();
      const id = lab.containerId(`tune-${i}`);
      const list = lab.list(tuningConf(v, `lcp-tuning-${i}`, dev.name, i));
      const rt = lab.rt(id, ns);
      const r = await addCheck(lab, list, rt);
      const eth0 = mustLink('eth0', ns.name);
      assert.equal(eth0.address, TUNED_MAC);
      assert.equal(
        resultInterfaces(r).find((x) => x.name === 'eth0')?.mac,
        TUNED_MAC,
        'result carries the new MAC',
      );
      assert.equal(eth0.mtu, 1300);
      assert.ok(eth0.flags.includes('PROMISC'), `promisc: ${eth0.flags.join(',')}`);
      assert.ok(eth0.flags.includes('ALLMULTI'), `allmulti: ${eth0.flags.join(',')}`);
      assert.equal(sysctlIn(ns.name, 'net.ipv4.conf.eth0.rp_filter'), '2');
      assert.equal(sysctlIn(ns.name, 'net.core.somaxconn'), '511');
      const backup = lab.dir('tuning', `${id}_eth0.json`);
      assert.ok(existsSync(backup), 'tuning saved the original values');

      await del(lab, list, rt);
      assert.deepEqual(linkNames(ns.name), ['lo']);
      const back = mustLink(dev.name);
      assert.equal(back.address, dev.mac, 'original MAC restored');
      assert.equal(back.mtu, dev.mtu, 'original MTU restored');
      assert.ok(
        !back.flags.includes('PROMISC') && !back.flags.includes('ALLMULTI'),
        `flags: ${back.flags.join(',')}`,
      );
      assert.ok(!existsSync(backup), 'backup file removed');
      await lab.dropNetns(ns);
    });
  });

  it('tuning CHECK at 1.0.0 reports drift: an MTU changed by hand makes CHECK fail with the plugin error', async (t) => {
    if (skipIf(t, skip)) return;
    const dev = spare('t2');
    const ns = await lab.netns();
    const list = lab.list(tuningConf('1.0.0', 'lcp-tuning-drift', dev.name, 2));
    const rt = lab.rt(lab.containerId('tune-drift'), ns);
    await addCheck(lab, list, rt);
    assert.equal(sh(['ip', '-n', ns.name, 'link', 'set', 'eth0', 'mtu', '1280']).status, 0);
    const err = await lab.cni.checkNetworkList(list, rt).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof CniError, `CHECK should fail: ${String(err)}`);
    assert.equal(err.context.plugin, 'tuning');
    assert.match(err.message, /1300/);
    await del(lab, list, rt);
    assert.equal(link(dev.name)?.mtu, dev.mtu);
    await lab.dropNetns(ns);
  });

  it('tuning 1.1.1 with an IFNAME sysctl key: ADD applies it to eth0, CHECK fails on the literal IFNAME path (upstream bug, fixed in 1.3.0), DEL restores', async (t) => {
    if (skipIf(t, skip)) return;
    const dev = spare('t3');
    const ns = await lab.netns();
    const list = lab.list(tuningConf('1.0.0', 'lcp-tuning-ifname', dev.name, 3, true));
    const rt = lab.rt(lab.containerId('tune-ifname'), ns);
    await lab.cni.addNetworkList(list, rt);
    assert.equal(sysctlIn(ns.name, 'net.ipv4.conf.eth0.rp_filter'), '2', 'ADD substituted IFNAME');
    const err = await lab.cni.checkNetworkList(list, rt).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (err !== undefined) {
      assert.ok(err instanceof CniError, (err as Error).message);
      assert.equal(err.msg, 'open /proc/sys/net/ipv4/conf/IFNAME/rp_filter: no such file or directory');
    } else {
      // A tuning plugin with the fix: then the lifecycle tests above could use IFNAME as well.
      const v = sh(['dpkg-query', '-W', '-f=${Version}', 'containernetworking-plugins']).stdout;
      assert.ok(!/^1\.[0-2]\./.test(v), `CHECK passed although the package is ${v}`);
    }
    await del(lab, list, rt);
    assert.equal(link(dev.name)?.mtu, dev.mtu);
    await lab.dropNetns(ns);
  });

  VERSIONS.forEach((v: TestedVersion, i) => {
    it(`bandwidth ADD/CHECK/DEL at ${v}: tbf on the host veth for ingress, ifb + tbf for egress; DEL removes the ifb`, async (t) => {
      if (skipIf(t, skip ?? noIfb)) return;
      const ns = await lab.netns();
      const net = `lcp-bw-${i}`;
      const list = lab.list({
        cniVersion: v,
        name: net,
        plugins: [
          {
            type: 'ptp',
            ipam: {
              type: 'host-local',
              dataDir: lab.ipamDir,
              ranges: [[{ subnet: `${lab.net24(4 + i)}.0/24` }]],
            },
          },
          {
            type: 'bandwidth',
            ingressRate: 8_000_000,
            ingressBurst: 800_000,
            egressRate: 16_000_000,
            egressBurst: 1_600_000,
          },
        ],
      });
      const rt = lab.rt(lab.containerId(`bw-${i}`), ns);
      const r = await addCheck(lab, list, rt);
      const host = hostInterfaces(r);
      for (const h of host) lab.trackLink(h);
      const ifb = host.find((h) => link(h)?.linkinfo?.info_kind === 'ifb');
      const veth = host.find((h) => h !== ifb);
      assert.ok(ifb && veth, `result names the host veth and the ifb: ${host.join(', ')}`);
      assert.ok(ifb.startsWith('bwp'));
      const vethTbf = qdiscs(veth).find((q) => q.kind === 'tbf');
      assert.ok(vethTbf?.root, `tbf at the root of ${veth}: ${JSON.stringify(qdiscs(veth))}`);
      assert.equal(vethTbf.options?.rate, 8_000_000 / 8, 'ingress rate (bytes/s)');
      assert.ok(
        qdiscs(veth).some((q) => q.kind === 'ingress'),
        'ingress qdisc on the host veth (redirected to the ifb)',
      );
      const filters = sh(['tc', 'filter', 'show', 'dev', veth, 'parent', 'ffff:']).stdout;
      assert.match(filters, new RegExp(`mirred \\(Egress Redirect to device ${ifb}\\)`));
      const ifbTbf = qdiscs(ifb).find((q) => q.kind === 'tbf');
      assert.equal(ifbTbf?.options?.rate, 16_000_000 / 8, 'egress rate on the ifb (bytes/s)');

      await del(lab, list, rt);
      assert.equal(link(ifb), undefined, 'ifb removed');
      assert.equal(link(veth), undefined, 'host veth removed');
      assert.deepEqual(linkNames(ns.name), ['lo']);
      assert.deepEqual(await lab.leases(net), []);
      await lab.dropNetns(ns);
    });
  });
});

/**
 * Plugin compatibility: the veth-based interface plugins (bridge, ptp) and loopback, with
 * host-local IPAM, through CNIConfig at spec 1.0.0 and 0.4.0; libcni's GC and STATUS at 1.0.0.
 * Subnets 10.190.<block+n>.0/24.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CniError } from '../../src/core/errors.ts';
import {
  addCheck,
  addresses,
  announceSkip,
  type ConfList,
  del,
  hostInterfaces,
  ipOf,
  Lab,
  link,
  linkNames,
  resultAddresses,
  resultGateways,
  resultInterfaces,
  routeStrings,
  sh,
  skipIf,
  type TestedVersion,
  unmetNeeds,
  VERSIONS,
} from './helpers.ts';

const lab = new Lab('main', 190);
const skip = unmetNeeds({
  plugins: ['bridge', 'ptp', 'loopback', 'host-local'],
  tools: { ip: 'iproute2', iptables: 'iptables', ping: 'iputils-ping' },
});
if (skip) announceSkip('plugin suite: bridge, ptp, loopback', skip);

function hostLocal(n: number) {
  return {
    type: 'host-local',
    dataDir: lab.ipamDir,
    ranges: [[{ subnet: `${lab.net24(n)}.0/24` }]],
    routes: [{ dst: '0.0.0.0/0' }],
  };
}

function bridgeConf(v: string, name: string, bridge: string, n: number, ipMasq = true): ConfList {
  return {
    cniVersion: v,
    name,
    plugins: [{ type: 'bridge', bridge, isGateway: true, ipMasq, hairpinMode: true, ipam: hostLocal(n) }],
  };
}

function pingFrom(ns: string, ip: string): void {
  const r = sh(['ip', 'netns', 'exec', ns, 'ping', '-c', '1', '-W', '2', ip]);
  assert.equal(r.status, 0, `ping ${ip} from ${ns}: ${r.stdout}${r.stderr}`);
}

describe('bridge, ptp, loopback', { concurrency: false }, () => {
  before(async () => {
    if (!skip) await lab.init();
  });
  after(async () => {
    if (!skip) await lab.cleanup();
  });

  VERSIONS.forEach((v: TestedVersion, i) => {
    it(`bridge ADD/CHECK/DEL at ${v}: veth on the bridge, address, routes, masquerade; DEL leaves nothing`, async (t) => {
      if (skipIf(t, skip)) return;
      const br = lab.linkName(`b${i}`);
      lab.trackLink(br);
      const net = `lcp-bridge-${i}`;
      const sub = lab.net24(i);
      const ns = await lab.netns();
      const id = lab.containerId(`bridge-${i}`);
      const list = lab.list(bridgeConf(v, net, br, i));
      const rt = lab.rt(id, ns);

      const r = await addCheck(lab, list, rt);
      const [addr] = resultAddresses(r);
      assert.match(String(addr), new RegExp(`^${sub.replace(/\./g, '\\.')}\\.\\d+/24$`));
      assert.deepEqual(resultGateways(r), [`${sub}.1`]);
      assert.deepEqual(addresses(ns.name).eth0, [addr]);
      assert.deepEqual(
        routeStrings(ns.name),
        [`${sub}.0/24 dev eth0`, `default via ${sub}.1 dev eth0`].sort(),
      );
      const [hostVeth] = hostInterfaces(r).filter((x) => x !== br);
      assert.ok(hostVeth, 'result names the host veth');
      lab.trackLink(hostVeth);
      assert.equal(link(hostVeth)?.master, br, 'host veth is a port of the bridge');
      assert.deepEqual(addresses()[br], [`${sub}.1/24`], 'bridge holds the gateway');
      assert.equal(link(br)?.linkinfo?.info_kind, 'bridge');
      pingFrom(ns.name, `${sub}.1`);
      assert.deepEqual(await lab.leases(net), [ipOf(String(addr))]);
      assert.ok(
        lab.iptablesTraces().some((l) => l.startsWith('nat: -A POSTROUTING') && l.includes(id)),
        'ipMasq rule for the container',
      );

      await del(lab, list, rt);
      assert.deepEqual(linkNames(ns.name), ['lo']);
      assert.equal(link(hostVeth), undefined, 'host veth removed');
      assert.deepEqual(await lab.leases(net), []);
      assert.deepEqual(lab.iptablesTraces(), [], 'masquerade chain and rules removed');
      await lab.cni.delNetworkList(list, rt); // a second DEL succeeds (spec: DEL is idempotent)
      await lab.dropNetns(ns);
    });
  });

  it('bridge CHECK at 1.0.0 reports drift: an address removed by hand makes CHECK fail with the plugin error', async (t) => {
    if (skipIf(t, skip)) return;
    const br = lab.linkName('b2');
    lab.trackLink(br);
    const ns = await lab.netns();
    // No ipMasq here: bridge's DEL finds the masquerade rules to remove from the addresses still on
    // the interface, so with the address gone by hand they would stay (the plugin's design).
    const list = lab.list(bridgeConf('1.0.0', 'lcp-bridge-drift', br, 2, false));
    const rt = lab.rt(lab.containerId('bridge-drift'), ns);
    const r = await addCheck(lab, list, rt);
    const [addr] = resultAddresses(r);
    sh(['ip', '-n', ns.name, 'addr', 'del', String(addr), 'dev', 'eth0']);
    const err = await lab.cni.checkNetworkList(list, rt).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof CniError, `CHECK should fail: ${String(err)}`);
    assert.equal(err.context.plugin, 'bridge');
    assert.match(err.message, new RegExp(ipOf(String(addr)).replace(/\./g, '\\.')));
    await del(lab, list, rt);
    assert.deepEqual(linkNames(ns.name), ['lo']);
    assert.deepEqual(await lab.leases('lcp-bridge-drift'), []);
    await lab.dropNetns(ns);
  });

  VERSIONS.forEach((v: TestedVersion, i) => {
    it(`ptp ADD/CHECK/DEL at ${v}: veth pair, /32 gateway on the host side, host route; DEL leaves nothing`, async (t) => {
      if (skipIf(t, skip)) return;
      const n = 3 + i;
      const sub = lab.net24(n);
      const net = `lcp-ptp-${i}`;
      const ns = await lab.netns();
      const id = lab.containerId(`ptp-${i}`);
      const list = lab.list({
        cniVersion: v,
        name: net,
        plugins: [{ type: 'ptp', ipMasq: true, mtu: 1400, ipam: hostLocal(n) }],
      });
      const rt = lab.rt(id, ns);
      const r = await addCheck(lab, list, rt);
      const [addr] = resultAddresses(r);
      const [gw] = resultGateways(r);
      assert.match(String(addr), new RegExp(`^${sub.replace(/\./g, '\\.')}\\.\\d+/24$`));
      assert.deepEqual(addresses(ns.name).eth0, [addr]);
      assert.equal(link('eth0', ns.name)?.mtu, 1400);
      assert.ok(
        routeStrings(ns.name).includes(`default via ${gw} dev eth0`),
        `default route via ${gw}: ${routeStrings(ns.name).join(', ')}`,
      );
      const [hostVeth] = hostInterfaces(r);
      assert.ok(hostVeth);
      lab.trackLink(hostVeth);
      assert.deepEqual(addresses()[hostVeth], [`${gw}/32`], 'host side holds the gateway as /32');
      assert.ok(
        routeStrings().includes(`${ipOf(String(addr))} dev ${hostVeth}`),
        'host route to the container over its veth',
      );
      pingFrom(ns.name, String(gw));
      assert.deepEqual(await lab.leases(net), [ipOf(String(addr))]);
      assert.ok(
        lab.iptablesTraces().some((l) => l.includes(id)),
        'ipMasq rule for the container',
      );

      await del(lab, list, rt);
      assert.deepEqual(linkNames(ns.name), ['lo']);
      assert.equal(link(hostVeth), undefined);
      assert.ok(!routeStrings().some((x) => x.startsWith(`${ipOf(String(addr))} `)), 'host route removed');
      assert.deepEqual(await lab.leases(net), []);
      assert.deepEqual(lab.iptablesTraces(), []);
      await lab.dropNetns(ns);
    });
  });

  VERSIONS.forEach((v: TestedVersion, i) => {
    it(`loopback ADD/CHECK/DEL at ${v}: lo up with 127.0.0.1/8, DEL takes it down`, async (t) => {
      if (skipIf(t, skip)) return;
      const ns = await lab.netns();
      assert.ok(!link('lo', ns.name)?.flags.includes('UP'), 'a new namespace has lo down');
      const list = lab.list({ cniVersion: v, name: `lcp-lo-${i}`, plugins: [{ type: 'loopback' }] });
      const rt = lab.rt(lab.containerId(`lo-${i}`), ns, 'lo');
      const r = await addCheck(lab, list, rt);
      assert.deepEqual(
        resultInterfaces(r).map((x) => x.name),
        ['lo'],
      );
      assert.ok(resultAddresses(r).includes('127.0.0.1/8'));
      assert.ok(link('lo', ns.name)?.flags.includes('UP'));
      assert.deepEqual(addresses(ns.name).lo, ['127.0.0.1/8']);
      pingFrom(ns.name, '127.0.0.1');
      assert.ok(routeStrings(ns.name, 'local').includes('127.0.0.1 dev lo'));
      await del(lab, list, rt);
      assert.ok(!link('lo', ns.name)?.flags.includes('UP'), 'DEL sets lo down');
      await lab.dropNetns(ns);
    });
  });

  it('GC at 1.0.0 (libcni side): DELs the cached attachment not in the valid list, keeps the valid one; no plugin GC call', async (t) => {
    if (skipIf(t, skip)) return;
    const br = lab.linkName('b6');
    lab.trackLink(br);
    const net = 'lcp-bridge-gc';
    const list = lab.list(bridgeConf('1.0.0', net, br, 6));
    const keepNs = await lab.netns();
    const dropNs = await lab.netns();
    const keep = lab.rt(lab.containerId('gc-keep'), keepNs);
    const drop = lab.rt(lab.containerId('gc-drop'), dropNs);
    const kept = await lab.cni.addNetworkList(list, keep);
    const dropped = await lab.cni.addNetworkList(list, drop);
    const droppedVeth = hostInterfaces(dropped).filter((x) => x !== br)[0] as string;
    lab.trackLink(droppedVeth);
    assert.equal((await lab.leases(net)).length, 2);

    const before = lab.exec.calls.length;
    await lab.cni.gcNetworkList(list, {
      validAttachments: [{ containerId: keep.containerId, ifName: 'eth0' }],
    });
    const gcCalls = lab.exec.calls.slice(before);
    assert.deepEqual(
      gcCalls.map((c) => `${c.plugin} ${c.command}`),
      ['bridge DEL'],
      'the stale attachment was DELeted (bridge runs host-local itself); 1.0.0 plugins get no GC command',
    );
    assert.deepEqual(linkNames(dropNs.name), ['lo']);
    assert.equal(link(droppedVeth), undefined);
    assert.deepEqual(addresses(keepNs.name).eth0, resultAddresses(kept));
    assert.deepEqual(await lab.leases(net), resultAddresses(kept).map(ipOf));
    assert.equal(await lab.cni.getNetworkListCachedResult(list, drop), undefined);
    assert.ok(await lab.cni.getNetworkListCachedResult(list, keep));

    await del(lab, list, keep);
    assert.deepEqual(await lab.leases(net), []);
    assert.deepEqual(lab.iptablesTraces(), []);
    await lab.dropNetns(keepNs);
    await lab.dropNetns(dropNs);
  });

  it('STATUS at 1.0.0 (libcni side): succeeds without calling any plugin (STATUS is a 1.1.0 command)', async (t) => {
    if (skipIf(t, skip)) return;
    const list = lab.list(bridgeConf('1.0.0', 'lcp-bridge-status', lab.linkName('b7'), 7));
    const before = lab.exec.calls.length;
    await lab.cni.getStatusNetworkList(list);
    assert.equal(lab.exec.calls.length, before, 'no plugin was run');
  });
});

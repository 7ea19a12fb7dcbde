/**
 * Plugin compatibility: the routing meta plugins sbr (source-based routing, chained after macvlan)
 * and vrf (chained after bridge), through CNIConfig at spec 1.0.0 and 0.4.0. This kernel has no
 * CONFIG_NET_VRF: without it the vrf lifecycle is skipped (loudly) and what is tested instead is
 * that the failing ADD surfaces the plugin's error and that the DEL the spec asks for after a
 * failed ADD removes what bridge had made. Subnets 10.197.<block+n>.0/24.
 *
 * CHECK of a list with sbr cannot pass with the reference plugins (1.1.1, and still upstream): sbr
 * moves the interface's routes out of the main table, and every interface plugin's CHECK
 * (ValidateExpectedInterfaceIPs) looks for the address's subnet route in the main table ("Failed
 * to find Gateway …"). The test pins that CHECK reaches the interface plugin with the cached result
 * and fails there; sbr's own CHECK is a no-op.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CniError, NetworkPluginError, findCniError } from '../../src/core/errors.ts';
import {
  addCheck,
  addresses,
  announceSkip,
  del,
  hostInterfaces,
  ipOf,
  kernelSupports,
  Lab,
  link,
  linkNames,
  resultAddresses,
  routeStrings,
  rules,
  sh,
  skipIf,
  type TestedVersion,
  unmetNeeds,
  VERSIONS,
} from './helpers.ts';

const lab = new Lab('routing', 197);
const skip = unmetNeeds({
  plugins: ['ptp', 'bridge', 'host-local', 'sbr', 'vrf'],
  tools: { ip: 'iproute2', ping: 'iputils-ping' },
});
if (skip) announceSkip('plugin suite: sbr, vrf', skip);
const noVrf =
  skip || kernelSupports('vrf') ? undefined : 'this kernel cannot create vrf links (CONFIG_NET_VRF not set)';
if (noVrf) announceSkip('vrf ADD/CHECK/DEL', noVrf);

function hostLocal(n: number) {
  return {
    type: 'host-local',
    dataDir: lab.ipamDir,
    ranges: [[{ subnet: `${lab.net24(n)}.0/24` }]],
    routes: [{ dst: '0.0.0.0/0' }],
  };
}

function bridgeVrf(v: string, name: string, br: string, n: number, vrfname: string) {
  return {
    cniVersion: v,
    name,
    plugins: [
      { type: 'bridge', bridge: br, isGateway: true, ipam: hostLocal(n) },
      { type: 'vrf', vrfname },
    ],
  };
}

describe('sbr, vrf', { concurrency: false }, () => {
  before(async () => {
    if (!skip) await lab.init();
  });
  after(async () => {
    if (!skip) await lab.cleanup();
  });

  VERSIONS.forEach((v: TestedVersion, i) => {
    it(`sbr ADD/CHECK/DEL at ${v} (after macvlan): a rule from the container address to table 100 that holds the interface routes; CHECK fails at macvlan; DEL leaves nothing`, async (t) => {
      if (skipIf(t, skip)) return;
      const sub = lab.net24(i);
      const net = `lcp-sbr-${i}`;
      const master = lab.linkName(`m${i}0`);
      const peer = lab.linkName(`m${i}1`);
      lab.veth(master, peer);
      assert.equal(sh(['ip', 'addr', 'add', `${sub}.1/24`, 'dev', peer]).status, 0);
      const ns = await lab.netns();
      const list = lab.list({
        cniVersion: v,
        name: net,
        plugins: [
          {
            type: 'macvlan',
            master,
            mode: 'bridge',
            ipam: {
              type: 'host-local',
              dataDir: lab.ipamDir,
              ranges: [[{ subnet: `${sub}.0/24`, gateway: `${sub}.1` }]],
            },
          },
          { type: 'sbr' },
        ],
      });
      const rt = lab.rt(lab.containerId(`sbr-${i}`), ns);
      const r = await lab.cni.addNetworkList(list, rt);
      assert.equal((r as { cniVersion?: string }).cniVersion, v);
      const check = await lab.cni.checkNetworkList(list, rt).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(
        check instanceof CniError,
        `CHECK after sbr was expected to fail at macvlan: ${String(check)}`,
      );
      assert.equal(check.context.plugin, 'macvlan');
      assert.equal(check.msg, `Failed to find Gateway ${sub}.1 for interface eth0`);
      const ip = ipOf(resultAddresses(r)[0] as string);
      const rule = rules(ns.name).find((x) => x.src === ip);
      assert.ok(rule, `a rule from ${ip}: ${JSON.stringify(rules(ns.name))}`);
      assert.equal(rule.table, '100');
      assert.deepEqual(
        routeStrings(ns.name, '100'),
        [`${sub}.0/24 dev eth0`, `default via ${sub}.1 dev eth0`].sort(),
        'the subnet route and a default route via the gateway are in table 100',
      );
      assert.deepEqual(routeStrings(ns.name), [], 'the interface routes moved out of the main table');
      assert.deepEqual(addresses(ns.name).eth0, [resultAddresses(r)[0]]);
      const ping = sh(['ip', 'netns', 'exec', ns.name, 'ping', '-c', '1', '-W', '2', '-I', ip, `${sub}.1`]);
      assert.equal(ping.status, 0, `traffic from ${ip} is routed by table 100: ${ping.stdout}${ping.stderr}`);
      const unsourced = sh(['ip', 'netns', 'exec', ns.name, 'ping', '-c', '1', '-W', '1', `${sub}.1`]);
      assert.match(unsourced.stderr, /unreachable/i, 'without that source address there is no route');

      await del(lab, list, rt);
      assert.deepEqual(linkNames(ns.name), ['lo']);
      assert.equal(
        rules(ns.name).find((x) => x.src === ip),
        undefined,
        'source rule removed',
      );
      assert.deepEqual(routeStrings(ns.name, '100'), []);
      assert.deepEqual(await lab.leases(net), []);
      await lab.dropNetns(ns);
    });
  });

  VERSIONS.forEach((v: TestedVersion, i) => {
    it(`vrf ADD/CHECK/DEL at ${v} (after bridge): eth0 enslaved to the VRF in the namespace; DEL removes the VRF`, async (t) => {
      if (skipIf(t, skip ?? noVrf)) return;
      const br = lab.linkName(`r${i}`);
      lab.trackLink(br);
      const ns = await lab.netns();
      const list = lab.list(bridgeVrf(v, `lcp-vrf-${i}`, br, 2 + i, 'blue'));
      const rt = lab.rt(lab.containerId(`vrf-${i}`), ns);
      const r = await addCheck(lab, list, rt);
      for (const h of hostInterfaces(r)) if (h !== br) lab.trackLink(h);
      assert.equal(link('blue', ns.name)?.linkinfo?.info_kind, 'vrf');
      assert.equal(link('eth0', ns.name)?.master, 'blue');
      await del(lab, list, rt);
      assert.deepEqual(linkNames(ns.name), ['lo']);
      await lab.dropNetns(ns);
    });
  });

  it('vrf on a kernel without it: ADD at 1.0.0 fails at vrf with its error after bridge succeeded; the DEL after the failed ADD removes the veth and the lease', async (t) => {
    if (skipIf(t, skip)) return;
    if (noVrf === undefined) {
      t.skip('this kernel supports vrf: the full lifecycle above runs instead');
      return;
    }
    const br = lab.linkName('r4');
    lab.trackLink(br);
    const ns = await lab.netns();
    const net = 'lcp-vrf-unsupported';
    const list = lab.list(bridgeVrf('1.0.0', net, br, 4, 'blue'));
    const rt = lab.rt(lab.containerId('vrf-u'), ns);
    const err = await lab.cni.addNetworkList(list, rt).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof NetworkPluginError, String(err));
    assert.equal(err.context.plugin, 'vrf');
    assert.match(err.message, /^plugin type="vrf" failed \(add\): /);
    assert.ok(findCniError(err), 'the plugin error is on the cause chain');
    assert.deepEqual(linkNames(ns.name), ['eth0', 'lo'], 'bridge ran before vrf failed');
    assert.equal((await lab.leases(net)).length, 1);
    assert.equal(
      await lab.cni.getNetworkListCachedResult(list, rt),
      undefined,
      'no cache entry for a failed ADD',
    );
    await lab.cni.delNetworkList(list, rt);
    assert.deepEqual(linkNames(ns.name), ['lo']);
    assert.deepEqual(await lab.leases(net), []);
    await lab.dropNetns(ns);
  });
});

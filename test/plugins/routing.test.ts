/**
 * Plugin compatibility: the routing meta plugins sbr (source-based routing, chained after macvlan)
 * and vrf (chained after bridge), through CNIConfig at spec 1.0.0 and 0.4.0. vrf needs
 * CONFIG_NET_VRF: where the host's kernel lacks it, `npm test` runs the vrf lifecycle in the kernel
 * lane (./lane.ts), and on the host tests that the failing ADD surfaces the plugin's error and that
 * the DEL the spec asks for after a failed ADD removes what bridge had made.
 * Subnets 10.197.<block+n>.0/24.
 *
 * CHECK of a list with sbr cannot pass with the reference plugins (1.1.1, and still upstream): sbr
 * moves the interface's routes out of the main table, and every interface plugin's CHECK
 * (ValidateExpectedInterfaceIPs) looks for the address's subnet route in the main table ("Failed
 * to find Gateway …"). The test pins that CHECK reaches the interface plugin with the cached result
 * and fails there; sbr's own CHECK is a no-op.
 */
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { CniError, NetworkPluginError, findCniError } from '../../src/core/errors.ts';
import { itNeedsLink, itOnHost, itWithoutLink } from './lane.ts';
import {
  addresses,
  announceSkip,
  del,
  hostInterfaces,
  ipOf,
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
    itOnHost(
      `sbr ADD/CHECK/DEL at ${v} (after macvlan): a rule from the container address to table 100 that holds the interface routes; CHECK fails at macvlan; DEL leaves nothing`,
      async (t) => {
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
        assert.equal(
          ping.status,
          0,
          `traffic from ${ip} is routed by table 100: ${ping.stdout}${ping.stderr}`,
        );
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
      },
    );
  });

  VERSIONS.forEach((v: TestedVersion, i) => {
    itNeedsLink(
      'vrf',
      `vrf ADD/CHECK/DEL at ${v} (after bridge): eth0 enslaved to the VRF, its routes in the VRF's table; CHECK fails at bridge; DEL removes the VRF`,
      async (t) => {
        if (skipIf(t, skip)) return;
        const br = lab.linkName(`r${i}`);
        lab.trackLink(br);
        const ns = await lab.netns();
        const sub = lab.net24(2 + i);
        const net = `lcp-vrf-${i}`;
        const list = lab.list(bridgeVrf(v, net, br, 2 + i, 'blue'));
        const rt = lab.rt(lab.containerId(`vrf-${i}`), ns);
        const r = await lab.cni.addNetworkList(list, rt);
        assert.equal((r as { cniVersion?: string }).cniVersion, v);
        for (const h of hostInterfaces(r)) if (h !== br) lab.trackLink(h);
        const vrf = link('blue', ns.name);
        assert.equal(vrf?.linkinfo?.info_kind, 'vrf');
        const table = String(vrf.linkinfo.info_data?.table);
        assert.equal(link('eth0', ns.name)?.master, 'blue');
        assert.deepEqual(addresses(ns.name).eth0, resultAddresses(r));
        assert.ok(
          routeStrings(ns.name, table).includes(`${sub}.0/24 dev eth0`),
          `the subnet route is in the VRF's table ${table}: ${JSON.stringify(routeStrings(ns.name, table))}`,
        );
        assert.deepEqual(routeStrings(ns.name), [], 'no route of eth0 is left in the main table');
        // Like sbr: the routes moved out of the main table, where bridge's CHECK looks for them.
        const check = await lab.cni.checkNetworkList(list, rt).then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(
          check instanceof CniError,
          `CHECK after vrf was expected to fail at bridge: ${String(check)}`,
        );
        assert.equal(check.context.plugin, 'bridge');
        assert.equal(check.msg, `Failed to find Gateway ${sub}.1 for interface eth0`);
        await del(lab, list, rt);
        assert.deepEqual(linkNames(ns.name), ['lo'], 'eth0 and the VRF are gone');
        assert.deepEqual(await lab.leases(net), []);
        await lab.dropNetns(ns);
      },
    );
  });

  itWithoutLink(
    'vrf',
    'vrf on a kernel without it: ADD at 1.0.0 fails at vrf with its error after bridge succeeded; the DEL after the failed ADD removes the veth and the lease',
    async (t) => {
      if (skipIf(t, skip)) return;
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
    },
  );
});

/**
 * Plugin compatibility: the plugins that build on a host link — macvlan, ipvlan and vlan on a
 * master, host-device moving a spare link in — through CNIConfig at spec 1.0.0 and 0.4.0.
 * This kernel has no dummy driver, so masters and spare links are veth ends. ipvlan and vlan need
 * CONFIG_IPVLAN / CONFIG_VLAN_8021Q: where the host's kernel lacks them, `npm test` runs their
 * lifecycles in the kernel lane (./lane.ts), and on the host tests that the failing ADD surfaces the
 * plugin's error and leaves nothing behind.
 * Subnets 10.191.<block+n>.0/24.
 */
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { NetworkPluginError, PluginError, findCniError } from '../../src/core/errors.ts';
import { itNeedsLink, itOnHost, itWithoutLink } from './lane.ts';
import {
  addCheck,
  addresses,
  announceSkip,
  del,
  ipOf,
  Lab,
  link,
  linkNames,
  mustLink,
  resultAddresses,
  resultInterfaces,
  routeStrings,
  sh,
  skipIf,
  type TestedVersion,
  unmetNeeds,
  VERSIONS,
} from './helpers.ts';

const lab = new Lab('link', 191);
const skip = unmetNeeds({
  plugins: ['macvlan', 'ipvlan', 'vlan', 'host-device', 'host-local', 'static'],
  tools: { ip: 'iproute2', ping: 'iputils-ping' },
});
if (skip) announceSkip('plugin suite: macvlan, ipvlan, vlan, host-device', skip);

function hostLocal(n: number) {
  return { type: 'host-local', dataDir: lab.ipamDir, ranges: [[{ subnet: `${lab.net24(n)}.0/24` }]] };
}

function pingFrom(ns: string, ip: string): void {
  const r = sh(['ip', 'netns', 'exec', ns, 'ping', '-c', '1', '-W', '2', ip]);
  assert.equal(r.status, 0, `ping ${ip} from ${ns}: ${r.stdout}${r.stderr}`);
}

/** A veth pair whose first end serves as the master of macvlan/ipvlan/vlan links. */
function master(x: string): string {
  const m = lab.linkName(`${x}0`);
  lab.veth(m, lab.linkName(`${x}1`));
  return m;
}

describe('macvlan, ipvlan, vlan, host-device', { concurrency: false }, () => {
  before(async () => {
    if (!skip) await lab.init();
  });
  after(async () => {
    if (!skip) await lab.cleanup();
  });

  VERSIONS.forEach((v: TestedVersion, i) => {
    itOnHost(
      `macvlan ADD/CHECK/DEL at ${v}: bridge-mode macvlan on the master, addressed; two containers reach each other; DEL leaves nothing`,
      async (t) => {
        if (skipIf(t, skip)) return;
        const m = master(`m${i}`);
        const net = `lcp-macvlan-${i}`;
        const list = lab.list({
          cniVersion: v,
          name: net,
          plugins: [{ type: 'macvlan', master: m, mode: 'bridge', mtu: 1400, ipam: hostLocal(i) }],
        });
        const nsA = await lab.netns();
        const nsB = await lab.netns();
        const a = lab.rt(lab.containerId(`mv${i}a`), nsA);
        const b = lab.rt(lab.containerId(`mv${i}b`), nsB);
        const ra = await addCheck(lab, list, a);
        const rb = await addCheck(lab, list, b);
        const eth0 = mustLink('eth0', nsA.name);
        assert.equal(eth0.linkinfo?.info_kind, 'macvlan');
        assert.equal(eth0.linkinfo.info_data?.mode, 'bridge');
        assert.equal(eth0.mtu, 1400);
        assert.equal(resultInterfaces(ra)[0]?.mac, eth0.address, 'result reports the MAC');
        assert.deepEqual(addresses(nsA.name).eth0, resultAddresses(ra));
        assert.ok(routeStrings(nsA.name).includes(`${lab.net24(i)}.0/24 dev eth0`));
        pingFrom(nsA.name, ipOf(resultAddresses(rb)[0] as string));
        assert.equal((await lab.leases(net)).length, 2);

        await del(lab, list, a);
        await del(lab, list, b);
        assert.deepEqual(linkNames(nsA.name), ['lo']);
        assert.deepEqual(linkNames(nsB.name), ['lo']);
        assert.ok(link(m), 'the master stays');
        assert.deepEqual(await lab.leases(net), []);
        await lab.dropNetns(nsA);
        await lab.dropNetns(nsB);
      },
    );
  });

  VERSIONS.forEach((v: TestedVersion, i) => {
    itNeedsLink(
      'ipvlan',
      `ipvlan ADD/CHECK/DEL at ${v}: l2 ipvlan on the master, addressed; DEL leaves nothing`,
      async (t) => {
        if (skipIf(t, skip)) return;
        const m = master(`i${i}`);
        const net = `lcp-ipvlan-${i}`;
        const list = lab.list({
          cniVersion: v,
          name: net,
          plugins: [{ type: 'ipvlan', master: m, mode: 'l2', ipam: hostLocal(2 + i) }],
        });
        const ns = await lab.netns();
        const rt = lab.rt(lab.containerId(`iv${i}`), ns);
        const r = await addCheck(lab, list, rt);
        assert.equal(link('eth0', ns.name)?.linkinfo?.info_kind, 'ipvlan');
        assert.deepEqual(addresses(ns.name).eth0, resultAddresses(r));
        await del(lab, list, rt);
        assert.deepEqual(linkNames(ns.name), ['lo']);
        assert.deepEqual(await lab.leases(net), []);
        await lab.dropNetns(ns);
      },
    );
  });

  VERSIONS.forEach((v: TestedVersion, i) => {
    itNeedsLink(
      'vlan',
      `vlan ADD/CHECK/DEL at ${v}: 802.1Q link with the vlan id on the master, addressed; DEL leaves nothing`,
      async (t) => {
        if (skipIf(t, skip)) return;
        const m = master(`v${i}`);
        const net = `lcp-vlan-${i}`;
        const list = lab.list({
          cniVersion: v,
          name: net,
          plugins: [{ type: 'vlan', master: m, vlanId: 100 + i, ipam: hostLocal(4 + i) }],
        });
        const ns = await lab.netns();
        const rt = lab.rt(lab.containerId(`vl${i}`), ns);
        const r = await addCheck(lab, list, rt);
        const eth0 = mustLink('eth0', ns.name);
        assert.equal(eth0.linkinfo?.info_kind, 'vlan');
        assert.equal(eth0.linkinfo.info_data?.id, 100 + i);
        assert.deepEqual(addresses(ns.name).eth0, resultAddresses(r));
        await del(lab, list, rt);
        assert.deepEqual(linkNames(ns.name), ['lo']);
        assert.deepEqual(await lab.leases(net), []);
        await lab.dropNetns(ns);
      },
    );
  });

  const unsupported: Array<['ipvlan' | 'vlan', (m: string) => Record<string, unknown>]> = [
    ['ipvlan', (m) => ({ type: 'ipvlan', master: m, mode: 'l2', ipam: hostLocal(6) })],
    ['vlan', (m) => ({ type: 'vlan', master: m, vlanId: 200, ipam: hostLocal(7) })],
  ];
  for (const [plugin, conf] of unsupported) {
    itWithoutLink(
      plugin,
      `${plugin} on a kernel without it: ADD at 1.0.0 fails with the plugin's error, leaves no link, lease or cache entry; DEL succeeds`,
      async (t) => {
        if (skipIf(t, skip)) return;
        const m = master(plugin === 'ipvlan' ? 'iu' : 'vu');
        const net = `lcp-${plugin}-unsupported`;
        const list = lab.list({ cniVersion: '1.0.0', name: net, plugins: [conf(m)] });
        const ns = await lab.netns();
        const rt = lab.rt(lab.containerId(`${plugin}-u`), ns);
        const err = await lab.cni.addNetworkList(list, rt).then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(err instanceof NetworkPluginError, String(err));
        assert.match(
          err.message,
          new RegExp(`^plugin type="${plugin}" failed \\(add\\): failed to create ${plugin}: `),
        );
        assert.equal(err.context.plugin, plugin);
        const cause = findCniError(err);
        assert.ok(cause instanceof PluginError, 'the plugin error is on the cause chain');
        assert.ok(cause.code >= 0 && cause.msg.length > 0);
        assert.deepEqual(linkNames(ns.name), ['lo']);
        assert.equal(
          await lab.cni.getNetworkListCachedResult(list, rt),
          undefined,
          'no cache entry for a failed ADD',
        );
        await lab.cni.delNetworkList(list, rt); // the spec's DEL after a failed ADD
        assert.deepEqual(await lab.leases(net), []);
        await lab.dropNetns(ns);
      },
    );
  }

  VERSIONS.forEach((v: TestedVersion, i) => {
    itOnHost(
      `host-device ADD/CHECK/DEL at ${v}: the spare link moves in as eth0 with its address and answers the host; DEL gives it back by name`,
      async (t) => {
        if (skipIf(t, skip)) return;
        const spare = lab.linkName(`h${i}`);
        const peer = lab.linkName(`g${i}`);
        lab.veth(spare, peer);
        const sub = lab.net24(8 + i);
        must(['ip', 'addr', 'add', `${sub}.1/24`, 'dev', peer]);
        const list = lab.list({
          cniVersion: v,
          name: `lcp-hostdev-${i}`,
          plugins: [
            {
              type: 'host-device',
              device: spare,
              ipam: { type: 'static', addresses: [{ address: `${sub}.2/24` }] },
            },
          ],
        });
        const ns = await lab.netns();
        const rt = lab.rt(lab.containerId(`hd${i}`), ns);
        const r = await addCheck(lab, list, rt);
        assert.equal(link(spare), undefined, 'the link left the host');
        const eth0 = link('eth0', ns.name);
        assert.equal(eth0?.ifalias, spare, 'host-device keeps the host name as the alias');
        assert.deepEqual(addresses(ns.name).eth0, [`${sub}.2/24`]);
        assert.deepEqual(resultAddresses(r), [`${sub}.2/24`]);
        pingFrom(ns.name, `${sub}.1`);

        await del(lab, list, rt);
        assert.deepEqual(linkNames(ns.name), ['lo']);
        assert.ok(link(spare), 'the link is back on the host under its own name');
        assert.deepEqual(addresses()[spare], [], 'without the container address');
        await lab.dropNetns(ns);
      },
    );
  });
});

function must(argv: string[]): void {
  const r = sh(argv);
  assert.equal(r.status, 0, r.stderr);
}

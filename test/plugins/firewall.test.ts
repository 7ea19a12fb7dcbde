/**
 * Plugin compatibility: firewall (iptables backend) chained after bridge + host-local, through
 * CNIConfig at spec 1.0.0 and 0.4.0 (firewall starts at 0.4.0). Proof: the container's accept
 * rules in CNI-FORWARD and the jumps to it; routed traffic between two containers runs through the
 * plugin's chains (a DROP put in its admin chain stops it); DEL removes the container's rules;
 * CHECK notices a rule removed by hand. Subnets 10.195.<block+n>.0/24.
 *
 * The chains the plugin shares between containers (CNI-FORWARD, CNI-ADMIN and FORWARD's jump) are
 * never removed by the plugin; this file removes them at the end if they did not exist before it
 * started (nothing else in the repository uses the firewall plugin).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CniError } from '../../src/core/errors.ts';
import {
  addCheck,
  announceSkip,
  del,
  hostInterfaces,
  ipOf,
  iptablesSave,
  Lab,
  linkNames,
  resultAddresses,
  sh,
  skipIf,
  type TestedVersion,
  unmetNeeds,
  VERSIONS,
  which,
} from './helpers.ts';

const lab = new Lab('firewall', 195);
const skip = unmetNeeds({
  plugins: ['bridge', 'host-local', 'firewall'],
  tools: { ip: 'iproute2', iptables: 'iptables', 'iptables-save': 'iptables', ping: 'iputils-ping' },
});
if (skip) announceSkip('plugin suite: firewall', skip);

const ADMIN = `LCP-ADM-${process.pid}`;
const SHARED_JUMP = ['-m', 'comment', '--comment', 'CNI firewall plugin rules', '-j', 'CNI-FORWARD'];

function chainExists(bin: string, chain: string): boolean {
  return iptablesSave('filter', bin === 'ip6tables').includes(`:${chain} `);
}
const hadShared = new Map<string, boolean>();

function conf(v: string, name: string, bridge: string, n: number, admin?: string) {
  return {
    cniVersion: v,
    name,
    plugins: [
      {
        type: 'bridge',
        bridge,
        isGateway: true,
        ipMasq: false,
        ipam: {
          type: 'host-local',
          dataDir: lab.ipamDir,
          ranges: [[{ subnet: `${lab.net24(n)}.0/24` }]],
          routes: [{ dst: '0.0.0.0/0' }],
        },
      },
      { type: 'firewall', backend: 'iptables', ...(admin ? { iptablesAdminChainName: admin } : {}) },
    ],
  };
}

function filterRules(): string[] {
  return iptablesSave('filter').split('\n');
}

function ping(ns: string, ip: string): boolean {
  return sh(['ip', 'netns', 'exec', ns, 'ping', '-c', '1', '-W', '1', ip]).status === 0;
}

describe('firewall', { concurrency: false }, () => {
  before(async () => {
    if (skip) return;
    await lab.init();
    lab.addMarker(ADMIN);
    for (const bin of ['iptables', 'ip6tables']) hadShared.set(bin, chainExists(bin, 'CNI-FORWARD'));
    lab.onCleanup(() => {
      for (const bin of ['iptables', 'ip6tables']) {
        if (hadShared.get(bin) !== false || !which(bin)) continue;
        sh([bin, '-w', '-t', 'filter', '-D', 'FORWARD', ...SHARED_JUMP]);
        for (const chain of ['CNI-FORWARD', 'CNI-ADMIN', ADMIN]) sh([bin, '-w', '-t', 'filter', '-F', chain]);
        for (const chain of ['CNI-FORWARD', 'CNI-ADMIN', ADMIN]) sh([bin, '-w', '-t', 'filter', '-X', chain]);
      }
    });
  });
  after(async () => {
    if (!skip) await lab.cleanup();
  });

  VERSIONS.forEach((v: TestedVersion, i) => {
    it(`firewall ADD/CHECK/DEL at ${v}: accept rules for the container in CNI-FORWARD, jumps from FORWARD and to CNI-ADMIN; DEL removes the container's rules`, async (t) => {
      if (skipIf(t, skip)) return;
      const br = lab.linkName(`f${i}`);
      lab.trackLink(br);
      const ns = await lab.netns();
      const list = lab.list(conf(v, `lcp-fw-${i}`, br, i));
      const rt = lab.rt(lab.containerId(`fw-${i}`), ns);
      const r = await addCheck(lab, list, rt);
      for (const h of hostInterfaces(r)) if (h !== br) lab.trackLink(h);
      const ip = ipOf(resultAddresses(r)[0] as string);
      const rules = filterRules();
      for (const want of [
        `-A CNI-FORWARD -d ${ip}/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
        `-A CNI-FORWARD -s ${ip}/32 -j ACCEPT`,
        '-A CNI-FORWARD -m comment --comment "CNI firewall plugin admin overrides" -j CNI-ADMIN',
        '-A FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD',
      ]) {
        assert.ok(rules.includes(want), `missing ${want} in:\n${rules.join('\n')}`);
      }
      await del(lab, list, rt);
      assert.deepEqual(
        filterRules().filter((l) => l.includes(ip)),
        [],
        'no rule for the container address',
      );
      assert.deepEqual(lab.iptablesTraces(), []);
      assert.deepEqual(linkNames(ns.name), ['lo']);
      await lab.dropNetns(ns);
    });
  });

  it('firewall at 1.0.0: routed traffic between two containers runs through the plugin chains (a DROP in its admin chain stops it)', async (t) => {
    if (skipIf(t, skip)) return;
    const nets = [2, 3].map((n, k) => {
      const br = lab.linkName(`f${n}`);
      lab.trackLink(br);
      return { br, list: lab.list(conf('1.0.0', `lcp-fw-route-${k}`, br, n, ADMIN)) };
    });
    const [nsA, nsB] = [await lab.netns(), await lab.netns()];
    const rtA = lab.rt(lab.containerId('fw-a'), nsA);
    const rtB = lab.rt(lab.containerId('fw-b'), nsB);
    const [a, b] = [nets[0], nets[1]] as [(typeof nets)[0], (typeof nets)[0]];
    const ra = await addCheck(lab, a.list, rtA);
    const rb = await addCheck(lab, b.list, rtB);
    for (const [r, br] of [
      [ra, a.br],
      [rb, b.br],
    ] as const)
      for (const h of hostInterfaces(r)) if (h !== br) lab.trackLink(h);
    const ipA = ipOf(resultAddresses(ra)[0] as string);
    const ipB = ipOf(resultAddresses(rb)[0] as string);
    assert.ok(ping(nsA.name, ipB), 'A reaches B through the host');
    assert.equal(sh(['iptables', '-w', '-I', ADMIN, '-s', ipA, '-d', ipB, '-j', 'DROP']).status, 0);
    assert.ok(!ping(nsA.name, ipB), 'the DROP in the admin chain the plugin jumps to stops the traffic');
    assert.equal(sh(['iptables', '-w', '-D', ADMIN, '-s', ipA, '-d', ipB, '-j', 'DROP']).status, 0);
    assert.ok(ping(nsA.name, ipB), 'and removing it lets traffic through again');
    await del(lab, a.list, rtA);
    await del(lab, b.list, rtB);
    assert.deepEqual(
      lab.iptablesTraces().filter((l) => !l.includes(`-j ${ADMIN}`) && !l.startsWith(`filter: :${ADMIN}`)),
      [],
      'only the shared admin chain and its jump remain',
    );
    await lab.dropNetns(nsA);
    await lab.dropNetns(nsB);
  });

  it('firewall CHECK at 1.0.0 reports drift: with the container accept rule deleted by hand, CHECK fails with the plugin error', async (t) => {
    if (skipIf(t, skip)) return;
    const br = lab.linkName('f4');
    lab.trackLink(br);
    const ns = await lab.netns();
    const list = lab.list(conf('1.0.0', 'lcp-fw-drift', br, 4));
    const rt = lab.rt(lab.containerId('fw-drift'), ns);
    const r = await addCheck(lab, list, rt);
    for (const h of hostInterfaces(r)) if (h !== br) lab.trackLink(h);
    const ip = ipOf(resultAddresses(r)[0] as string);
    assert.equal(sh(['iptables', '-w', '-D', 'CNI-FORWARD', '-s', `${ip}/32`, '-j', 'ACCEPT']).status, 0);
    const err = await lab.cni.checkNetworkList(list, rt).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof CniError, `CHECK should fail: ${String(err)}`);
    assert.equal(err.context.plugin, 'firewall');
    assert.match(
      err.message,
      new RegExp(`expected rule \\[-s ${ip.replace(/\./g, '\\.')}/32 -j ACCEPT\\] not found`),
    );
    await del(lab, list, rt);
    assert.deepEqual(
      filterRules().filter((l) => l.includes(ip)),
      [],
    );
    await lab.dropNetns(ns);
  });
});

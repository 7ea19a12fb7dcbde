/**
 * Capabilities end to end through NetworkManager.setup with the reference plugins: `portMappings`
 * (portmap), `bandwidth` (bandwidth), `mac` (tuning), `ipRanges` (host-local via bridge), `ips`
 * (static via a second bridge) and `dns`. Each one must reach the plugin that declares it, only that plugin,
 * and take effect in the kernel; teardown must leave nothing. Spec 1.0.0, two networks and the
 * built-in loopback. Subnets 10.198.<block+n>.0/24.
 *
 * `dns` has no consumer among the Linux reference plugins (only win-bridge and win-overlay read
 * runtimeConfig.dns), so for it the proof is that it reaches the declaring plugin's stdin.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { NetworkManager } from '../../src/runtime/manager.ts';
import {
  addresses,
  announceSkip,
  forwardState,
  helloThroughForward,
  ipOf,
  Lab,
  link,
  linkNames,
  listenerIn,
  PLUGIN_DIR,
  qdiscs,
  skipIf,
  tcpHello,
  unmetNeeds,
} from './helpers.ts';

const lab = new Lab('capabilities', 198);
const skip = unmetNeeds({
  plugins: ['bridge', 'host-local', 'static', 'portmap', 'tuning', 'bandwidth', 'loopback'],
  tools: { ip: 'iproute2', iptables: 'iptables', tc: 'iproute2' },
});
if (skip) announceSkip('plugin suite: capabilities through NetworkManager', skip);

const MAC = '02:00:c0:ff:ee:42';
// Host ports of every suite are 20000 + (pid % 10000) * 4 + k, k the suite's own (portmap 0-1, here 2,
// the README examples 3): files running one after another can never pick the same port.
const hostPort = 20000 + (process.pid % 10000) * 4 + 2;

describe('capabilities through NetworkManager.setup', { concurrency: false }, () => {
  let manager: NetworkManager | undefined;
  before(async () => {
    if (!skip) await lab.init();
  });
  after(async () => {
    await manager?.close();
    if (!skip) await lab.cleanup();
  });

  it('portMappings, bandwidth, mac, ipRanges, ips and dns reach only the plugins that declare them and take effect; teardown leaves nothing', async (t) => {
    if (skipIf(t, skip)) return;
    const br = lab.linkName('c');
    const br2 = lab.linkName('e');
    lab.trackLink(br);
    lab.trackLink(br2);
    const dnsSub = lab.net24(0);
    const rangeSub = lab.net24(1);
    const ipsSub = lab.net24(2);
    const confDir = lab.dir('net.d');
    await fs.mkdir(confDir);
    await fs.writeFile(
      `${confDir}/10-capa.conflist`,
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'lcp-capa',
        plugins: [
          {
            type: 'bridge',
            bridge: br,
            isGateway: true,
            capabilities: { ipRanges: true, dns: true },
            // No ranges in the file: host-local prepends the runtime's ipRanges as extra range
            // sets, so with ranges here too the container would get an address from each, and
            // bridge refuses a second IPv4 gateway on the bridge.
            ipam: { type: 'host-local', dataDir: lab.ipamDir },
          },
          { type: 'portmap', capabilities: { portMappings: true } },
          { type: 'tuning', dataDir: lab.dir('tuning'), capabilities: { mac: true } },
          { type: 'bandwidth', capabilities: { bandwidth: true } },
        ],
      }),
    );
    await fs.writeFile(
      `${confDir}/20-capb.conflist`,
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'lcp-capb',
        // bridge without a gateway: static gets only addresses from `ips`, and ptp needs a gateway.
        plugins: [{ type: 'bridge', bridge: br2, capabilities: { ips: true }, ipam: { type: 'static' } }],
      }),
    );
    manager = new NetworkManager({
      confDir,
      pluginDirs: [PLUGIN_DIR],
      cacheDir: lab.dir('cache'),
      exec: lab.exec,
      networks: 'all',
      loopback: true,
      timeoutMs: 30_000,
    });
    const ns = await lab.netns();
    const id = lab.containerId('capa');
    const capabilityArgs = {
      portMappings: [{ hostPort, containerPort: 8080, protocol: 'tcp' }],
      bandwidth: {
        ingressRate: 4_000_000,
        ingressBurst: 400_000,
        egressRate: 2_000_000,
        egressBurst: 200_000,
      },
      mac: MAC,
      ipRanges: [[{ subnet: `${rangeSub}.0/24` }]],
      ips: [`${ipsSub}.42/24`],
      dns: { servers: [`${dnsSub}.53`], searches: ['lcp.test'] },
    };
    const res = await manager.setup(id, ns.path, { capabilityArgs, args: { K8S_POD_NAME: 'capa' } });
    for (const n of res.networks) {
      for (const i of (n.result as { interfaces?: Array<{ name: string; sandbox?: string }> }).interfaces ??
        []) {
        if (!i.sandbox && i.name !== br && i.name !== br2) lab.trackLink(i.name);
      }
    }

    // What each plugin received: its own capabilities, nothing else.
    const runtimeConfigOf = (plugin: string) =>
      lab.exec.of(plugin, 'ADD').map((c) => c.stdin.runtimeConfig as Record<string, unknown> | undefined);
    assert.deepEqual(runtimeConfigOf('bridge'), [
      { ipRanges: capabilityArgs.ipRanges, dns: capabilityArgs.dns },
      { ips: capabilityArgs.ips },
    ]);
    assert.deepEqual(runtimeConfigOf('portmap'), [{ portMappings: capabilityArgs.portMappings }]);
    assert.deepEqual(runtimeConfigOf('tuning'), [{ mac: MAC }]);
    assert.deepEqual(runtimeConfigOf('bandwidth'), [{ bandwidth: capabilityArgs.bandwidth }]);
    assert.deepEqual(runtimeConfigOf('loopback'), [undefined]);

    // ipRanges: the address comes from the runtime's range.
    const eth0 = res.interfaces.eth0;
    assert.ok(eth0);
    assert.equal(eth0.network, 'lcp-capa');
    const addr = eth0.ips[0]?.address as string;
    assert.match(addr, new RegExp(`^${rangeSub.replace(/\./g, '\\.')}\\.\\d+/24$`));
    assert.deepEqual(addresses(ns.name).eth0, [addr]);
    // mac: tuning set it, and the merged result reports it.
    assert.equal(link('eth0', ns.name)?.address, MAC);
    assert.equal(eth0.mac, MAC);
    // ips: static gave eth1 exactly the requested address.
    const eth1 = res.interfaces.eth1;
    assert.ok(eth1);
    assert.equal(eth1.network, 'lcp-capb');
    assert.deepEqual(
      eth1.ips.map((i) => i.address),
      [`${ipsSub}.42/24`],
    );
    assert.deepEqual(addresses(ns.name).eth1, [`${ipsSub}.42/24`]);
    // loopback: lo is up.
    assert.ok(link('lo', ns.name)?.flags.includes('UP'));
    // bandwidth: tbf on the host veth of eth0 at the requested rate, ifb for egress.
    const capa = res.networks.find((n) => n.network === 'lcp-capa')?.result as {
      interfaces?: Array<{ name: string; sandbox?: string }>;
    };
    const hostSide = (capa.interfaces ?? []).filter((i) => !i.sandbox && i.name !== br).map((i) => i.name);
    const ifb = hostSide.find((h) => h.startsWith('bwp'));
    const veth = hostSide.find((h) => !h.startsWith('bwp'));
    assert.ok(ifb && veth, hostSide.join(', '));
    assert.equal(qdiscs(veth).find((q) => q.kind === 'tbf')?.options?.rate, 4_000_000 / 8);
    assert.equal(qdiscs(ifb).find((q) => q.kind === 'tbf')?.options?.rate, 2_000_000 / 8);
    // portMappings: the host port answers from inside the namespace.
    await listenerIn(lab, ns.name, 8080, `hello ${id}`);
    assert.equal(
      await helloThroughForward(`${rangeSub}.1`, hostPort, () => forwardState(br, ns.name, hostPort)),
      `hello ${id}`,
    );

    const down = await manager.teardown(id, ns.path);
    assert.deepEqual(down.detached.map((d) => `${d.network}/${d.ifName}`).sort(), [
      'cni-loopback/lo',
      'lcp-capa/eth0',
      'lcp-capb/eth1',
    ]);
    assert.deepEqual(linkNames(ns.name), ['lo']);
    assert.equal(link(veth), undefined);
    assert.equal(link(ifb), undefined);
    assert.deepEqual(lab.iptablesTraces(), [], 'port mapping rules removed');
    assert.deepEqual(await lab.leases('lcp-capa'), []);
    assert.deepEqual(await lab.cacheEntries(), []);
    const err = await tcpHello(`${rangeSub}.1`, hostPort, 2000).then(
      () => undefined,
      (e: unknown) => (e as NodeJS.ErrnoException).code,
    );
    assert.equal(err, 'ECONNREFUSED');
    assert.ok(ipOf(addr));
    await lab.dropNetns(ns);
  });
});

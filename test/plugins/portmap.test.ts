/**
 * Plugin compatibility: portmap chained after bridge + host-local, through CNIConfig at spec 1.0.0
 * and 0.4.0, the port mappings passed as the `portMappings` capability. The proof is a TCP
 * connection from this process to the host's bridge addresses (IPv4, IPv6) and to 127.0.0.1 that
 * reaches a listener inside the namespace through the DNAT; after DEL the same connections are
 * refused and no rule of the container is left. Subnets 10.194.<block+n>.0/24 and
 * fd00:194:<block+n>::/64; host ports derived from the pid.
 *
 * CHECK cannot pass with portmap 1.1.1 on a host where ip6tables works: for each container address
 * it also looks for that address's DNAT chain in ip6tables — an IPv4 chain in the IPv6 table
 * ("could not check ipv6 dnat: …"; fixed upstream in v1.3.0, commit fb5d195f). The tests pin that:
 * CHECK reaches the plugin with the cached prevResult and capability args (the rules it looked for
 * name the container's address and ports) and fails with exactly that message; with a fixed plugin
 * or without ip6tables they require CHECK to pass.
 *
 * portmap's shared chains (CNI-HOSTPORT-DNAT, -SETMARK, -MASQ and their jumps) stay after DEL, as
 * they do on every CNI host: the plugin never removes them, and other tests use them concurrently.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RuntimeConf } from '../../src/cni/index.ts';
import type { NetworkConfigList } from '../../src/config/types.ts';
import { CniError } from '../../src/core/errors.ts';
import {
  announceSkip,
  del,
  forwardState,
  hostInterfaces,
  iptablesSave,
  ipOf,
  Lab,
  linkNames,
  listenerIn,
  noDadIn,
  resultAddresses,
  sh,
  skipIf,
  helloThroughForward,
  tcpHello,
  type TestedVersion,
  unmetNeeds,
  VERSIONS,
  which,
} from './helpers.ts';

const lab = new Lab('portmap', 194);
const skip = unmetNeeds({
  plugins: ['bridge', 'host-local', 'portmap'],
  tools: { ip: 'iproute2', iptables: 'iptables', 'iptables-save': 'iptables' },
});
if (skip) announceSkip('plugin suite: portmap', skip);

// Host ports: 20000 + (pid % 10000) * 4 + k, k = 0, 1 here (see capabilities.test.ts).
const basePort = 20000 + (process.pid % 10000) * 4;

function v6net(n: number): string {
  const prefix = `fd00:194:${lab.block + n}::`;
  lab.addMarker(prefix);
  return prefix;
}

function conf(v: string, name: string, bridge: string, n: number, dualStack = true) {
  const ranges = [[{ subnet: `${lab.net24(n)}.0/24` }]];
  if (dualStack) ranges.push([{ subnet: `${v6net(n)}/64` }]);
  return {
    cniVersion: v,
    name,
    plugins: [
      {
        type: 'bridge',
        bridge,
        isGateway: true,
        ipMasq: false,
        ipam: { type: 'host-local', dataDir: lab.ipamDir, ranges },
      },
      { type: 'portmap', snat: true, capabilities: { portMappings: true } },
    ],
  };
}

/** The bridge made in advance, without IPv6 DAD, so its gateway address is usable at once. */
function preparedBridge(x: string): string {
  const br = lab.linkName(x);
  lab.bridge(br);
  sh(['sh', '-c', `echo 0 > /proc/sys/net/ipv6/conf/${br}/accept_dad`]);
  return br;
}

async function refused(host: string, port: number): Promise<void> {
  const err = await tcpHello(host, port, 2000).then(
    (text) => new Error(`still answered: ${text}`),
    (e: unknown) => e,
  );
  assert.equal((err as NodeJS.ErrnoException).code, 'ECONNREFUSED', String(err));
}

describe('portmap', { concurrency: false }, () => {
  before(async () => {
    if (!skip) await lab.init();
  });
  after(async () => {
    if (!skip) await lab.cleanup();
  });

  VERSIONS.forEach((v: TestedVersion, i) => {
    it(`portmap ADD/CHECK/DEL at ${v} (dual-stack): host port forwards to a listener in the namespace (bridge IPv4/IPv6, 127.0.0.1); CHECK hits the 1.1.1 bug; DEL removes the rules and the forward`, async (t) => {
      if (skipIf(t, skip)) return;
      const br = preparedBridge(`p${i}`);
      const sub = lab.net24(i);
      const hostPort = basePort + i;
      const ns = await lab.netns();
      noDadIn(ns.name);
      const id = lab.containerId(`pm-${i}`);
      const list = lab.list(conf(v, `lcp-portmap-${i}`, br, i));
      const rt = lab.rt(id, ns, 'eth0', {
        capabilityArgs: { portMappings: [{ hostPort, containerPort: 8080, protocol: 'tcp' }] },
      });
      const r = await lab.cni.addNetworkList(list, rt);
      // A failure below must not leave this container's rules for the next test to find.
      let passed = false;
      t.after(() => (passed ? undefined : lab.cni.delNetworkList(list, rt).catch(() => undefined)));
      for (const h of hostInterfaces(r)) if (h !== br) lab.trackLink(h);
      assert.equal((r as { cniVersion?: string }).cniVersion, v);
      const [containerIp, containerIp6] = resultAddresses(r).map(ipOf);
      await expectCheck(list, rt, `${containerIp}:8080`);
      const portmapIn = lab.exec.of('portmap', 'ADD')[0]?.stdin;
      assert.deepEqual((portmapIn?.runtimeConfig as Record<string, unknown> | undefined)?.portMappings, [
        { hostPort, containerPort: 8080, protocol: 'tcp' },
      ]);
      lab.exec.calls.length = 0;

      for (const [v6, dest] of [
        [false, `${containerIp}:8080`],
        [true, `[${containerIp6}]:8080`],
      ] as const) {
        const rules = dnatRules(id, v6);
        assert.ok(
          rules.some((l) => l.includes(`--dport ${hostPort}`) && l.includes(`--to-destination ${dest}`)),
          `DNAT rule ${hostPort} -> ${dest} in:\n${rules.join('\n')}`,
        );
      }
      await listenerIn(lab, ns.name, 8080, `hello from ${id}`);
      const hello = (host: string) =>
        helloThroughForward(host, hostPort, () => forwardState(br, ns.name, hostPort));
      assert.equal(await hello(`${sub}.1`), `hello from ${id}`, 'via the bridge address');
      assert.equal(await hello(`${v6net(i)}1`), `hello from ${id}`, 'via the bridge IPv6 address');
      assert.equal(await hello('127.0.0.1'), `hello from ${id}`, 'via localhost (portmap snat)');

      await del(lab, list, rt);
      assert.deepEqual(
        lab.iptablesTraces([id, `${sub}.`, v6net(i)]),
        [],
        'no rule or chain of the container is left',
      );
      assert.deepEqual(linkNames(ns.name), ['lo']);
      assert.deepEqual(await lab.leases(`lcp-portmap-${i}`), []);
      await refused(`${sub}.1`, hostPort);
      await refused(`${v6net(i)}1`, hostPort);
      await refused('127.0.0.1', hostPort);
      await lab.dropNetns(ns);
      passed = true;
    });
  });
});

/** The rules of the container's own DNAT chain (found through the commented jump to it). */
function dnatRules(id: string, v6: boolean): string[] {
  const lines = iptablesSave('nat', v6).split('\n');
  const chain = lines.find((l) => l.includes(`id: \\"${id}\\"`))?.match(/-j (CNI-DN-\w+)/)?.[1];
  assert.ok(chain, `a DNAT chain for ${id} (${v6 ? 'IPv6' : 'IPv4'})`);
  return lines.filter((l) => l.startsWith(`-A ${chain} `));
}

/** portmap 1.1.1's CHECK bug applies: an old package and a working ip6tables. */
const checkBug = (() => {
  if (skip) return false;
  const version = packageVersion('containernetworking-plugins');
  return (
    /^1\.[0-2]\./.test(version) &&
    which('ip6tables') !== undefined &&
    sh(['ip6tables', '-w', '-t', 'nat', '-S']).status === 0
  );
})();

/** CHECK through CNIConfig: passes, or fails with exactly the 1.1.1 bug while naming the expected DNAT target. */
async function expectCheck(list: NetworkConfigList, rt: RuntimeConf, target: string): Promise<void> {
  const err = await lab.cni.checkNetworkList(list, rt).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!checkBug) {
    assert.equal(err, undefined, `CHECK should pass with this portmap: ${String(err)}`);
    return;
  }
  assert.ok(err instanceof CniError, `CHECK was expected to hit the portmap 1.1.1 bug: ${String(err)}`);
  assert.equal(err.context.plugin, 'portmap');
  assert.match(
    err.message,
    /^could not check ipv6 dnat: rule \[.*\] in chain CNI-DN-\w+ not found in table nat$/,
  );
  assert.ok(
    err.message.includes(`--to-destination ${target}`),
    'the plugin got the cached result and the port mappings',
  );
}

function packageVersion(pkg: string): string {
  const r = sh(['dpkg-query', '-W', '-f=${Version}', pkg]);
  return r.status === 0 ? r.stdout.trim() : '';
}

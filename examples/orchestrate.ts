/**
 * The skeleton of a network test: N namespaces attached to one bridge network at once, each
 * checked (CHECK, and its address read back from the kernel), then all torn down.
 *
 * One `NetworkManager` serves every "container": operations on different containers run
 * concurrently, operations on one container never overlap. The bridge is created here with a fixed
 * MAC before the first ADD: a Linux bridge without one takes the lowest MAC of its ports, which
 * changes as containers come and go, and the bridge plugin's CHECK compares it with the cached result
 * (docs/compatibility.md). As root, with Debian's containernetworking-plugins installed:
 *
 *   node --import tsx examples/orchestrate.ts [--count 4] [--bridge cni-ex2]
 *       [--subnet 10.213.0.0/24] [--name ex-orch] [--work <dir>] [--plugins /usr/lib/cni]
 *
 * Everything it makes is removed at the end, also on failure (namespaces, bridge, temp dir);
 * `--work` uses that dir for the cache and leases and leaves it, for a test to look inside.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  createNetns,
  deleteNetns,
  type NetnsHandle,
  NetworkManager,
  networkConfFromBytes,
} from '../src/index.ts';

const { values: opt } = parseArgs({
  options: {
    count: { type: 'string', default: '4' },
    bridge: { type: 'string', default: 'cni-ex2' },
    subnet: { type: 'string', default: '10.213.0.0/24' },
    name: { type: 'string', default: 'ex-orch' },
    work: { type: 'string' },
    plugins: { type: 'string', default: '/usr/lib/cni' },
  },
});
const count = Number(opt.count);
const work = opt.work ?? (await mkdtemp(path.join(os.tmpdir(), 'libcni-orch-')));
const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });

const network = networkConfFromBytes(
  JSON.stringify({
    cniVersion: '1.0.0',
    name: 'testnet',
    plugins: [
      {
        type: 'bridge',
        bridge: opt.bridge,
        isGateway: false,
        ipam: { type: 'host-local', ranges: [[{ subnet: opt.subnet }]], dataDir: path.join(work, 'ipam') },
      },
    ],
  }),
);
// The configuration given directly (`configs`): no config dir needed.
const manager = new NetworkManager({
  configs: [network],
  pluginDirs: [opt.plugins],
  cacheDir: path.join(work, 'cache'),
});

ip('link', 'add', opt.bridge, 'type', 'bridge');
ip('link', 'set', opt.bridge, 'address', '02:00:00:00:c0:01');
const namespaces: NetnsHandle[] = [];
const idOf = (i: number): string => `${opt.name}-ctr${i}`;
try {
  for (let i = 0; i < count; i++) namespaces.push(await createNetns(`${opt.name}-${i}`));
  console.log(`created ${namespaces.length} namespaces`);

  // Up, all at once.
  const results = await Promise.all(namespaces.map((ns, i) => manager.setup(idOf(i), ns.path)));
  const addresses = results.map((r) => r.interfaces.eth0?.ips[0]?.address ?? 'none');
  console.log(`attached: ${addresses.join(' ')}`);
  console.log(`distinct addresses: ${new Set(addresses).size}`);

  // Each one checked by the plugins and by the kernel.
  await Promise.all(namespaces.map((ns, i) => manager.check(idOf(i), ns.path)));
  const inKernel = namespaces.filter((ns, i) =>
    ip('-n', ns.name, '-o', '-4', 'addr', 'show', 'dev', 'eth0').includes(addresses[i] ?? '?'),
  );
  console.log(`checked: ${inKernel.length} of ${count} have their address`);

  // Down, all at once.
  const down = await Promise.all(namespaces.map((ns, i) => manager.teardown(idOf(i), ns.path)));
  console.log(`torn down: ${down.reduce((n, d) => n + d.detached.length, 0)} attachments`);
} finally {
  // Idempotent: after a clean teardown these find nothing cached.
  await Promise.allSettled(namespaces.map((ns, i) => manager.teardown(idOf(i), ns.path)));
  await Promise.allSettled(namespaces.map((ns) => deleteNetns(ns.path)));
  ip('link', 'del', opt.bridge);
  const cached = await readdir(path.join(work, 'cache', 'results')).catch(() => []);
  console.log(`done; cache entries left: ${cached.length}`);
  if (opt.work === undefined) await rm(work, { recursive: true, force: true });
}

/**
 * Attach a network namespace to a network with `CNIConfig` (Go libcni's API), check it, detach it.
 *
 * The network is defined in code: a bridge with host-local addresses. As root, with Debian's
 * containernetworking-plugins installed:
 *
 *   node --import tsx examples/attach-netns.ts [--bridge cni-ex0] [--subnet 10.211.0.0/24]
 *       [--name ex-attach] [--work <dir>] [--plugins /usr/lib/cni]
 *
 * Everything it makes is removed at the end, also on failure: the namespace, the bridge (which the
 * bridge plugin leaves behind) and the temp dir holding the cache and host-local's leases. `--work`
 * uses that dir instead and leaves it, for a test to look inside.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CNIConfig, createNetns, deleteNetns, isResult100, networkConfFromBytes } from '../src/index.ts';

const { values: opt } = parseArgs({
  options: {
    bridge: { type: 'string', default: 'cni-ex0' },
    subnet: { type: 'string', default: '10.211.0.0/24' },
    name: { type: 'string', default: 'ex-attach' },
    work: { type: 'string' },
    plugins: { type: 'string', default: '/usr/lib/cni' },
  },
});
const work = opt.work ?? (await mkdtemp(path.join(os.tmpdir(), 'libcni-attach-')));

const list = networkConfFromBytes(
  JSON.stringify({
    cniVersion: '1.0.0',
    name: 'example-attach',
    plugins: [
      {
        type: 'bridge',
        bridge: opt.bridge,
        // No gateway: the host's forwarding setting is left alone; the namespace is on the bridge.
        isGateway: false,
        ipam: { type: 'host-local', ranges: [[{ subnet: opt.subnet }]], dataDir: path.join(work, 'ipam') },
      },
    ],
  }),
);
const cni = new CNIConfig({ path: [opt.plugins], cacheDir: path.join(work, 'cache') });

const ns = await createNetns(`${opt.name}-0`);
console.log(`netns ${ns.name} created at ${ns.path}`);
const rt = { containerId: `${opt.name}-ctr`, netns: ns.path, ifName: 'eth0' };
try {
  const result = await cni.addNetworkList(list, rt);
  // The result's shape follows its spec version; this network's is 1.0.0.
  const address = isResult100(result) ? result.ips?.[0]?.address : undefined;
  console.log(`attached ${rt.ifName} address=${address ?? 'none'}`);

  // What the kernel says, from inside the namespace.
  const seen = execFileSync('ip', ['-n', ns.name, '-o', '-4', 'addr', 'show', 'dev', 'eth0'], {
    encoding: 'utf8',
  });
  console.log(`in the namespace: ${seen.includes(address ?? '?') ? 'address present' : 'address MISSING'}`);

  await cni.checkNetworkList(list, rt);
  console.log('check passed');
} finally {
  // DEL even when ADD failed half-way: the spec asks for it, and it is what cleans up.
  await cni.delNetworkList(list, rt);
  await deleteNetns(ns.path);
  try {
    execFileSync('ip', ['link', 'del', opt.bridge], { stdio: 'ignore' });
  } catch {
    // never created (ADD failed before the bridge)
  }
  const cached = await readdir(path.join(work, 'cache', 'results')).catch(() => []);
  console.log(`detached; cache entries left: ${cached.length}`);
  if (opt.work === undefined) await rm(work, { recursive: true, force: true });
}

/**
 * A container runtime's use of `NetworkManager`: set a container up, then — as a runtime that
 * restarted would — read it back with a FRESH manager that never saw the setup (`inspect`, from the
 * attachment cache alone), check it, and tear it down from there.
 *
 * The network is a `.conflist` in a config dir of its own (bridge + host-local), plus the built-in
 * loopback network. As root, with Debian's containernetworking-plugins installed:
 *
 *   node --import tsx examples/runtime-lifecycle.ts [--bridge cni-ex1] [--subnet 10.212.0.0/24]
 *       [--name ex-runtime] [--work <dir>] [--plugins /usr/lib/cni]
 *
 * Everything it makes is removed at the end, also on failure (namespace, bridge, temp dir); `--work`
 * uses that dir for the config, cache and leases and leaves it, for a test to look inside.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  createNetns,
  deleteNetns,
  kubernetesArgs,
  NetworkManager,
  type NetworkManagerOptions,
} from '../src/index.ts';

const { values: opt } = parseArgs({
  options: {
    bridge: { type: 'string', default: 'cni-ex1' },
    subnet: { type: 'string', default: '10.212.0.0/24' },
    name: { type: 'string', default: 'ex-runtime' },
    work: { type: 'string' },
    plugins: { type: 'string', default: '/usr/lib/cni' },
  },
});
const work = opt.work ?? (await mkdtemp(path.join(os.tmpdir(), 'libcni-runtime-')));
const confDir = path.join(work, 'net.d');
await mkdir(confDir, { recursive: true });
await writeFile(
  path.join(confDir, '10-podnet.conflist'),
  JSON.stringify({
    cniVersion: '1.0.0',
    name: 'podnet',
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

// What the runtime is configured with; both managers below get the same.
const options: NetworkManagerOptions = {
  confDir,
  pluginDirs: [opt.plugins],
  cacheDir: path.join(work, 'cache'),
  loopback: true,
  timeoutMs: 30_000,
};
const containerId = `${opt.name}-pod`;
const ns = await createNetns(`${opt.name}-0`);
console.log(`netns ${ns.name} created`);
try {
  // --- the runtime before its restart: setup ---------------------------------------------------
  const before = await NetworkManager.create(options);
  const setup = await before.setup(containerId, ns.path, {
    args: kubernetesArgs({ namespace: 'default', name: 'web-0', infraContainerId: containerId }),
  });
  console.log(`setup: interfaces ${Object.keys(setup.interfaces).sort().join(',')}`);
  await before.close();

  // --- after the restart: a new manager, which knows only the cache -----------------------------
  const after = await NetworkManager.create(options);
  const seen = await after.inspect(containerId, { check: true });
  for (const a of seen.attachments) {
    console.log(`inspect: ${a.network} on ${a.ifName}, check ${a.check?.outcome ?? 'not run'}`);
  }
  console.log(`inspect: primaryIPv4=${seen.primaryIPv4 ?? 'none'} ok=${seen.ok}`);

  const down = await after.teardown(containerId, ns.path);
  console.log(`teardown: ${down.detached.map((d) => `${d.network}/${d.ifName} (${d.source})`).join(', ')}`);
  const again = await after.inspect(containerId);
  console.log(`inspect after teardown: ${again.attachments.length} attachments`);
  await after.close();
} finally {
  // Whatever happened above, DEL what the cache still holds (a no-op after a clean teardown).
  await new NetworkManager(options).teardown(containerId, ns.path).catch((e: unknown) => {
    console.error(`cleanup teardown failed: ${String(e)}`);
  });
  await deleteNetns(ns.path);
  try {
    execFileSync('ip', ['link', 'del', opt.bridge], { stdio: 'ignore' });
  } catch {
    // never created
  }
  const cached = await readdir(path.join(work, 'cache', 'results')).catch(() => []);
  console.log(`done; cache entries left: ${cached.length}`);
  if (opt.work === undefined) await rm(work, { recursive: true, force: true });
}

#!/usr/bin/env node
/**
 * `npm run demo` (examples/demo.ts, run with tsx; not part of the package): the library end to end on a real kernel, for a newcomer. It creates a network
 * namespace, attaches it to a private bridge network (bridge + host-local + portmap + tuning,
 * cniVersion 1.0.0), shows the interface and address, pings the gateway from inside, runs CHECK,
 * then DEL, and removes everything it made: namespace, bridge, temp dirs, and the ip_forward
 * setting the bridge plugin turns on. Cleanup runs on every path, Ctrl-C and SIGTERM included.
 */
import { execFile } from 'node:child_process';
import { existsSync, constants as fsConstants } from 'node:fs';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
// The library's public API, but for two internals the demo shows (the cache file's path, and the
// container id cnitool would use, so the demo's attachment looks like one cnitool made).
import { ResultCache } from '../src/cache/cache.ts';
import { cnitoolContainerId } from '../src/cli/runtime-inputs.ts';
import {
  CNIConfig,
  createNetns,
  deleteNetns,
  networkConfFromBytes,
  netnsExists,
  type RuntimeConf,
} from '../src/index.ts';

const NETWORK = 'cnidemo';
// Per process, so two demos (or a demo and the tests) never share a namespace or a bridge.
const NS_NAME = `cnidemo-${process.pid % 100000}`;
const BRIDGE = `cnidemo${process.pid % 100000}`;
const PLUGINS = ['bridge', 'host-local', 'portmap', 'tuning'] as const;
const DEFAULT_PLUGIN_DIRS = ['/usr/lib/cni', '/opt/cni/bin'];
const INSTALL = 'sudo apt-get install -y containernetworking-plugins iproute2 iptables iputils-ping';
const HELPER_TIMEOUT_MS = 15_000;
const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};
const indent = (text: string): string =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');

let step = 0;
function heading(text: string): void {
  step++;
  out(`\n==> ${step}. ${text}`);
}

/** Runs a helper binary; rejects with its stderr when it fails. */
function run(file: string, args: readonly string[], signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      [...args],
      { timeout: HELPER_TIMEOUT_MS, signal, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) {
          const detail = (stderr || stdout || err.message).trim();
          reject(new Error(`${[file, ...args].join(' ')} failed: ${detail}`));
        } else resolve(stdout);
      },
    );
  });
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function findBinary(name: string): Promise<string | undefined> {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  for (const dir of dirs) {
    if (dir && (await isExecutable(path.join(dir, name)))) return path.join(dir, name);
  }
  return undefined;
}

async function existingDirs(dirs: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const d of dirs) if (await isExecutable(d)) found.push(d);
  return found.length > 0 ? found : [...dirs];
}

interface Prerequisites {
  pluginDirs: string[];
  ip: string;
  ping: string;
}

/** Everything the demo needs, or every missing piece with the command that fixes it. */
async function checkPrerequisites(): Promise<Prerequisites | string[]> {
  const problems: string[] = [];
  if (process.platform !== 'linux') return ['the demo needs Linux (network namespaces)'];
  if (process.getuid?.() !== 0) {
    problems.push(
      'not root: the demo creates a network namespace and a bridge; run as root: sudo npm run demo',
    );
  }
  const fromEnv = process.env.CNI_PATH;
  const pluginDirs = fromEnv
    ? fromEnv.split(':').filter((d) => d !== '')
    : await existingDirs(DEFAULT_PLUGIN_DIRS);
  const missing: string[] = [];
  for (const plugin of PLUGINS) {
    let found = false;
    for (const dir of pluginDirs) if (await isExecutable(path.join(dir, plugin))) found = true;
    if (!found) missing.push(plugin);
  }
  if (missing.length > 0) {
    problems.push(
      `CNI plugins not found in ${pluginDirs.join(':')}: ${missing.join(', ')}. Install them: ${INSTALL}` +
        (fromEnv ? '' : ' (or set CNI_PATH to the directory that holds them)'),
    );
  }
  const ip = await findBinary('ip');
  const ping = await findBinary('ping');
  // portmap's DEL (Debian's plugins 1.1) fails outright when iptables is missing, even with no mappings.
  const iptables = await findBinary('iptables');
  const need = [!ip && 'iproute2', !ping && 'iputils-ping', !iptables && 'iptables'].filter(Boolean);
  if (need.length > 0) problems.push(`missing tools (${need.join(', ')}). Install them: ${INSTALL}`);
  if (problems.length > 0 || !ip || !ping) return problems;
  return { pluginDirs, ip, ping };
}

/** A /24 in 10.254.0.0/16 that no route on this host uses yet, starting from one derived from our pid. */
async function pickSubnet(ip: string): Promise<number> {
  const routes = await run(ip, ['-4', '-o', 'route', 'show', 'table', 'all', 'root', '10.254.0.0/16']);
  const addrs = await run(ip, ['-4', '-o', 'addr', 'show']);
  const used = new Set<number>();
  for (const m of `${routes}\n${addrs}`.matchAll(/\b10\.254\.(\d+)\./g)) used.add(Number(m[1]));
  for (let i = 0; i < 230; i++) {
    const octet = 20 + ((process.pid + i) % 230);
    if (!used.has(octet)) return octet;
  }
  throw new Error('no free /24 left in 10.254.0.0/16');
}

function demoConfig(bridge: string, octet: number, ipamDir: string): string {
  return JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: NETWORK,
      plugins: [
        {
          type: 'bridge',
          bridge,
          isGateway: true,
          ipMasq: false,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: `10.254.${octet}.0/24`, gateway: `10.254.${octet}.1` }]],
            dataDir: ipamDir,
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
        { type: 'tuning', sysctl: { 'net.core.somaxconn': '1024' } },
      ],
    },
    null,
    2,
  );
}

/** Undo actions, run newest first; each runs at most once and a failing one does not stop the rest. */
class Cleanup {
  private readonly actions: Array<{ what: string; fn: () => Promise<string | undefined> }> = [];
  private ran = false;
  /** True while nothing has been set up, so there is nothing to undo. */
  get empty(): boolean {
    return this.actions.length === 0;
  }
  /** `fn` may return a note to print instead of "done" (e.g. that there was nothing to do). */
  push(what: string, fn: () => Promise<string | undefined>): void {
    this.actions.push({ what, fn });
  }
  async run(): Promise<boolean> {
    if (this.ran) return true;
    this.ran = true;
    let ok = true;
    for (const { what, fn } of this.actions.reverse()) {
      try {
        const note = await fn();
        out(`    ${what}: ${note ?? 'done'}`);
      } catch (e) {
        ok = false;
        out(`    ${what}: FAILED: ${(e as Error).message}`);
      }
    }
    return ok;
  }
}

interface IpConfig {
  address: string;
  gateway?: string;
  interface?: number;
}

async function main(signal: AbortSignal, cleanup: Cleanup): Promise<void> {
  const pre = await checkPrerequisites();
  if (Array.isArray(pre)) {
    process.stderr.write(`The demo cannot run here:\n${pre.map((p) => `  - ${p}`).join('\n')}\n`);
    process.exitCode = 1;
    return;
  }
  const { ip, pluginDirs } = pre;
  out('libcni demo: a network namespace on a private bridge network, end to end.');
  out(`plugins from ${pluginDirs.join(':')}`);

  const octet = await pickSubnet(ip);
  const tmp = await prepareHostCleanup(cleanup, ip);

  heading(`create network namespace ${NS_NAME}`);
  // Registered only once it exists: a namespace of that name that was already there is not ours.
  const ns = await createNetns(NS_NAME);
  cleanup.push(`delete namespace ${NS_NAME}`, async () => {
    await deleteNetns(NS_NAME);
    return undefined;
  });
  out(`    ${ns.path}`);

  await attachCheckDetach(pre, { signal, cleanup, tmp, octet, nsPath: ns.path });
}

/**
 * Makes the temp dir and registers the undo of what the demo changes on the host outside the
 * namespace: the temp dir, `ip_forward` (the bridge plugin turns it on) and the bridge.
 */
async function prepareHostCleanup(cleanup: Cleanup, ip: string): Promise<string> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'libcni-demo-'));
  cleanup.push(`remove ${tmp}`, async () => {
    await rm(tmp, { recursive: true, force: true });
    return undefined;
  });
  const ipForwardBefore = await readFile(IP_FORWARD, 'utf8').catch(() => undefined);
  cleanup.push('restore net.ipv4.ip_forward', async () => {
    if (ipForwardBefore === undefined) return 'not readable, left alone';
    const now = await readFile(IP_FORWARD, 'utf8');
    if (now.trim() === ipForwardBefore.trim()) return `unchanged (${now.trim()})`;
    await writeFile(IP_FORWARD, ipForwardBefore);
    return `back to ${ipForwardBefore.trim()}`;
  });
  cleanup.push(`delete bridge ${BRIDGE}`, async () => {
    const links = await run(ip, ['-o', 'link', 'show']);
    if (!new RegExp(`^\\d+: ${BRIDGE}[:@]`, 'm').test(links)) return 'not there';
    await run(ip, ['link', 'del', BRIDGE]);
    return undefined;
  });
  return tmp;
}

interface DemoRun {
  signal: AbortSignal;
  cleanup: Cleanup;
  tmp: string;
  octet: number;
  nsPath: string;
}

/** ADD, a look from inside the namespace, CHECK and DEL, with the DEL owed registered before ADD. */
async function attachCheckDetach(
  { ip, ping, pluginDirs }: Prerequisites,
  { signal, cleanup, tmp, octet, nsPath }: DemoRun,
): Promise<void> {
  const bridge = BRIDGE;
  const nsName = NS_NAME;
  const gateway = `10.254.${octet}.1`;
  const config = demoConfig(bridge, octet, path.join(tmp, 'ipam'));
  const list = networkConfFromBytes(config);
  const cni = new CNIConfig({ path: pluginDirs, cacheDir: path.join(tmp, 'cache'), timeoutMs: 30_000 });
  const rt: RuntimeConf = { containerId: cnitoolContainerId(nsPath), netns: nsPath, ifName: 'eth0' };

  heading(`ADD: attach it to network "${NETWORK}" (bridge ${bridge}, subnet 10.254.${octet}.0/24)`);
  out(indent(config));
  // From here on a DEL is owed, even if ADD fails half way (the spec's rule for runtimes).
  let delDone = false;
  cleanup.push(`DEL ${NETWORK} (release the address, remove the veth)`, async () => {
    if (delDone) return 'already done';
    await cni.delNetworkList(list, rt);
    return undefined;
  });
  const result = (await cni.addNetworkList(list, rt, { signal })) as { ips?: IpConfig[] };
  const cacheFile = new ResultCache(cni.cacheDir).pathFor({
    network: NETWORK,
    containerId: rt.containerId,
    ifName: rt.ifName,
  });
  out(`    container id ${rt.containerId} (derived from the netns path as Go's cnitool does)`);
  for (const ipc of result.ips ?? [])
    out(`    eth0: ${ipc.address}${ipc.gateway ? `, gateway ${ipc.gateway}` : ''}`);
  out(`    cached at ${cacheFile}: ${existsSync(cacheFile) ? 'yes' : 'NO'}`);

  heading(`the interface, seen from inside: ip -n ${nsName} addr show eth0`);
  out(indent(await run(ip, ['-n', nsName, 'addr', 'show', 'eth0'], signal)));

  heading(`ping the gateway from inside: ip netns exec ${nsName} ping -c 1 -W 2 ${gateway}`);
  out(indent(await run(ip, ['netns', 'exec', nsName, ping, '-c', '1', '-W', '2', gateway], signal)));

  heading('CHECK: the plugins confirm the attachment is as ADD left it');
  await cni.checkNetworkList(list, rt, { signal });
  out('    ok');

  heading('DEL: detach');
  await cni.delNetworkList(list, rt, { signal });
  delDone = true;
  out(`    ok; cache entry ${existsSync(cacheFile) ? 'STILL THERE' : 'removed'}`);
}

async function verifyNothingLeft(ip: string | undefined): Promise<string[]> {
  const left: string[] = [];
  if (await netnsExists(path.join('/run/netns', NS_NAME))) left.push(`namespace ${NS_NAME}`);
  if (ip) {
    const links = await run(ip, ['-o', 'link', 'show']).catch(() => '');
    if (new RegExp(`^\\d+: ${BRIDGE}[:@]`, 'm').test(links)) left.push(`bridge ${BRIDGE}`);
  }
  return left;
}

const controller = new AbortController();
const cleanup = new Cleanup();
let signals = 0;
function onSignal(sig: NodeJS.Signals): void {
  signals++;
  if (signals === 1) {
    out(`\n${sig}: stopping and cleaning up (press Ctrl-C twice more to abandon the cleanup)`);
    process.exitCode = sig === 'SIGINT' ? 130 : 143;
    controller.abort(new Error(`interrupted by ${sig}`));
  } else if (signals === 2) {
    out('    still cleaning up, please wait');
  } else {
    process.stderr.write(
      `cleanup abandoned: namespace ${NS_NAME}, bridge ${BRIDGE} and /tmp/libcni-demo-* may be left\n`,
    );
    process.exit(process.exitCode ?? 130);
  }
}
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

let failed = false;
try {
  await main(controller.signal, cleanup);
} catch (e) {
  failed = true;
  const msg = (e as Error).message;
  process.stderr.write(`\ndemo ${controller.signal.aborted ? 'interrupted' : 'failed'}: ${msg}\n`);
}
if (!cleanup.empty) {
  heading('clean up');
  const ok = await cleanup.run();
  const left = await verifyNothingLeft(await findBinary('ip'));
  if (!ok || left.length > 0) {
    process.stderr.write(`cleanup incomplete${left.length > 0 ? `: left behind: ${left.join(', ')}` : ''}\n`);
    failed = true;
  } else if (!failed) {
    out('\nDone: the namespace, bridge, veth, IP lease and cache entry are all gone.');
  } else {
    out('    nothing left behind');
  }
}
if (failed && !process.exitCode) process.exitCode = 1;
process.off('SIGINT', onSignal);
process.off('SIGTERM', onSignal);

#!/usr/bin/env node
/**
 * A real container on a CNI network, run from Node with libcni, the way a container runtime does it:
 *
 *  1. libcni makes a network namespace (`createNetns`);
 *  2. a `NetworkManager` attaches it to a private bridge network (bridge + host-local + portmap, and
 *     the built-in loopback network) with a port mapping from 127.0.0.1:<free port> to port 80;
 *  3. `crun` runs an OCI container from a one-file rootfs (Debian's static busybox) that joins that
 *     namespace and serves a page holding a random token with `busybox httpd`;
 *  4. the page is fetched from the host through the mapped port and through the container's IP;
 *  5. the container is stopped and deleted, the manager tears the network down, the namespace and
 *     the bridge are deleted, and the host is searched for anything left: namespace, veth, bridge,
 *     host-local lease, cache entry, portmap's NAT rules, crun state.
 *
 * Cleanup runs on every path: success, failure, Ctrl-C and SIGTERM. Run it as root after building:
 *   npm run example:container            (builds the library, then runs this file)
 *   npm run example:container -- --hold  (keeps the container up until Ctrl-C, to curl it yourself)
 *   npm run example:container -- --keep-workdir  (leaves the temp dir: config, cache, leases, bundle)
 *
 * It imports the library by its package name, as a runtime would after `npm install libcni`; inside
 * this repository that resolves to the built `dist/`. Lines meant for scripts start with
 * `container-example:`; the last one is `container-example: result ok` or `... result failed`.
 */
/* global AbortController -- Node's own; the lint config lists only a few globals for .mjs files */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { clearInterval, setInterval } from 'node:timers';
import { createNetns, deleteNetns, NetworkManager, netnsExists } from 'libcni';
import { crunRun, crunStopAndDelete, writeBundle } from './oci.mjs';
import {
  Cleanup,
  findLeftovers,
  httpGetWhenUp,
  isStaticElf,
  natRulesMentioning,
  pickFreePort,
  pickSubnet,
  portmapChain,
  run,
  say,
  which,
} from './host.mjs';

const PLUGIN_DIR = '/usr/lib/cni';
const PLUGINS = ['bridge', 'host-local', 'portmap', 'loopback'];
const NETWORK = 'libcni-example';
const INSTALL =
  'apt-get install -y containernetworking-plugins iproute2 iptables util-linux crun busybox-static';
const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

/** Every missing piece, each with what fixes it; empty when the example can run. */
async function missingPrerequisites() {
  if (process.platform !== 'linux') return ['Linux is needed (network namespaces)'];
  const problems = [];
  if (process.getuid() !== 0) problems.push('root is needed (namespaces, bridges, iptables, crun)');
  const tools = ['ip', 'iptables', 'crun', 'unshare', 'busybox'];
  const found = await Promise.all(tools.map((t) => which(t)));
  const absent = tools.filter((_, i) => found[i] === undefined);
  if (absent.length > 0) problems.push(`missing tools: ${absent.join(', ')}; install: ${INSTALL}`);
  const busybox = found[tools.indexOf('busybox')];
  if (busybox && !(await isStaticElf(busybox)))
    problems.push(
      `${busybox} is dynamically linked; the rootfs needs a static one: apt-get install -y busybox-static`,
    );
  const plugins = await Promise.all(PLUGINS.map((p) => which(path.join(PLUGIN_DIR, p))));
  const noPlugin = PLUGINS.filter((_, i) => plugins[i] === undefined);
  if (noPlugin.length > 0)
    problems.push(`CNI plugins missing in ${PLUGIN_DIR}: ${noPlugin.join(', ')}; install: ${INSTALL}`);
  return problems;
}

/** The network: a bridge whose gateway is the host, host-local addresses, portmap's port mappings. */
function networkConfig({ bridge, subnet, ipamDir }) {
  return {
    cniVersion: '1.0.0',
    name: NETWORK,
    plugins: [
      {
        type: 'bridge',
        bridge,
        isGateway: true,
        ipMasq: false,
        ipam: { type: 'host-local', dataDir: ipamDir, ranges: [[{ subnet: subnet.cidr }]] },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
}

/** Names unique to this run, so two runs (or a run and the tests) never share anything. */
async function plan() {
  const suffix = randomBytes(3).toString('hex');
  const subnet = await pickSubnet();
  const hostPort = await pickFreePort();
  const workdir = await mkdtemp(path.join(os.tmpdir(), 'libcni-container-'));
  return {
    containerId: `libcni-example-${process.pid}-${suffix}`,
    nsName: `lcx-${process.pid}-${suffix}`,
    bridge: `lcx${suffix}`,
    subnet,
    hostPort,
    token: `token-${randomBytes(8).toString('hex')}`,
    workdir,
    confDir: path.join(workdir, 'net.d'),
    cacheDir: path.join(workdir, 'cache'),
    ipamDir: path.join(workdir, 'ipam'),
    bundleDir: path.join(workdir, 'bundle'),
    network: NETWORK,
    ns: undefined,
    hostVeths: [],
    netnsExists,
  };
}

/** Undo of what the bridge plugin changes on the host and never undoes itself. */
async function registerHostUndo(cleanup, p) {
  const ipForwardBefore = await readFile(IP_FORWARD, 'utf8').catch(() => undefined);
  cleanup.push('restore net.ipv4.ip_forward (the bridge plugin turns it on)', async () => {
    if (ipForwardBefore === undefined) return 'not readable, left alone';
    const now = await readFile(IP_FORWARD, 'utf8');
    if (now === ipForwardBefore) return `unchanged (${now.trim()})`;
    await writeFile(IP_FORWARD, ipForwardBefore);
    return `back to ${ipForwardBefore.trim()}`;
  });
  // The bridge plugin makes the bridge on first ADD and leaves it (other containers may use it).
  cleanup.push(`delete bridge ${p.bridge}`, async () => {
    const r = await run('ip', ['link', 'del', 'dev', p.bridge], { allowFail: true });
    return r.ok ? undefined : 'not there';
  });
}

/** Namespace and network: createNetns, then NetworkManager.setup with the port mapping. */
async function attach(p, cleanup, signal) {
  await mkdir(p.confDir);
  await writeFile(path.join(p.confDir, '10-example.conflist'), JSON.stringify(networkConfig(p), null, 2));
  const manager = new NetworkManager({
    confDir: p.confDir,
    pluginDirs: [PLUGIN_DIR],
    cacheDir: p.cacheDir,
    networks: [NETWORK],
    loopback: true,
    timeoutMs: 30_000,
  });
  cleanup.push('close the network manager', async () => manager.close());
  manager.on('attached', (e) => say(`attached network=${e.network} if=${e.ifName}`));
  manager.on('detached', (e) => say(`detached network=${e.network} if=${e.ifName} from=${e.source}`));

  p.ns = await createNetns(p.nsName);
  cleanup.push(`delete network namespace ${p.ns.path}`, async () => deleteNetns(p.ns.path));
  // A DEL is owed from the moment ADD starts, even if it fails half way (the spec's rule).
  cleanup.push(`tear down container ${p.containerId}`, async () => {
    const { detached } = await manager.teardown(p.containerId, p.ns.path);
    return `${detached.length} attachment(s) removed`;
  });
  const portMappings = [{ hostPort: p.hostPort, containerPort: 80, protocol: 'tcp', hostIP: '127.0.0.1' }];
  const res = await manager.setup(p.containerId, p.ns.path, { capabilityArgs: { portMappings }, signal });
  for (const attachment of res.networks)
    for (const iface of attachment.result.interfaces ?? [])
      if (!iface.sandbox && iface.name !== p.bridge) p.hostVeths.push(iface.name);
  const address = res.interfaces.eth0?.ips[0]?.address;
  if (!address) throw new Error(`setup gave eth0 no address: ${JSON.stringify(res.interfaces)}`);
  return address.split('/')[0];
}

/** GET the page through `url` and demand the token in it. */
async function fetchPage(via, url, p, signal) {
  const res = await httpGetWhenUp(url, signal);
  if (!res.body.includes(p.token)) throw new Error(`GET ${url} answered without the token: ${res.body}`);
  say(`fetched via=${via} url=${url} token=${p.token} ok`);
}

async function main(p, cleanup, signal, hold) {
  say(`container=${p.containerId} netns=${p.nsName} bridge=${p.bridge} subnet=${p.subnet.cidr}`);
  say(`workdir=${p.workdir} hostPort=${p.hostPort}`);
  await registerHostUndo(cleanup, p);
  const containerIp = await attach(p, cleanup, signal);
  const chain = portmapChain(NETWORK, p.containerId);
  say(`address=${containerIp} veth=${p.hostVeths.join(',')} portmap-chain=${chain}`);
  say(`portmap-chain-present=${(await natRulesMentioning([chain])).length > 0 ? 'yes' : 'no'}`);

  await writeBundle(p.bundleDir, {
    busybox: await which('busybox'),
    token: p.token,
    netnsPath: p.ns.path,
    hostname: 'web',
  });
  cleanup.push(`stop and delete container ${p.containerId}`, async () => crunStopAndDelete(p.containerId));
  await crunRun({
    id: p.containerId,
    bundleDir: p.bundleDir,
    logFile: path.join(p.workdir, 'container.log'),
  });
  say(`container running under crun`);

  await fetchPage('container-ip', `http://${containerIp}/`, p, signal);
  // portmap DNATs 127.0.0.1:<hostPort> in the OUTPUT chain and marks the packets to be masqueraded
  // (its default `snat: true`), and sets route_localnet on the bridge so the kernel routes a
  // 127.0.0.1-sourced packet out of it: localhost works without any host setting of ours.
  await fetchPage('host-port', `http://127.0.0.1:${p.hostPort}/`, p, signal);
  if (hold) {
    say(`holding: curl http://127.0.0.1:${p.hostPort}/ ; Ctrl-C stops and cleans up`);
    // A pending promise does not keep Node running; a timer does, until the signal clears it.
    const keepAlive = setInterval(() => undefined, 60_000);
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    clearInterval(keepAlive);
    signal.throwIfAborted();
  }
}

const controller = new AbortController();
let signals = 0;
function onSignal(sig) {
  signals++;
  if (signals === 1) {
    say(`${sig}: stopping and cleaning up`);
    process.exitCode = sig === 'SIGINT' ? 130 : 143;
    controller.abort(new Error(`interrupted by ${sig}`));
  } else if (signals === 2) {
    say('still cleaning up; a third signal abandons the cleanup');
  } else {
    process.stderr.write(
      'cleanup abandoned: namespace, bridge, container and /tmp/libcni-container-* may be left\n',
    );
    process.exit(process.exitCode ?? 130);
  }
}
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const problems = await missingPrerequisites();
if (problems.length > 0) {
  process.stderr.write(
    `The container example cannot run here:\n${problems.map((x) => `  - ${x}`).join('\n')}\n`,
  );
  say('result failed');
  process.exit(1);
}

const cleanup = new Cleanup();
const p = await plan();
let outcome = 'ok';
try {
  await main(p, cleanup, controller.signal, process.argv.includes('--hold'));
} catch (err) {
  outcome = controller.signal.aborted ? 'interrupted' : 'failed';
  say(`${outcome}: ${outcome === 'interrupted' ? err.message : (err.stack ?? err.message)}`);
}
const cleanedUp = await cleanup.run();
const left = await findLeftovers(p);
if (left.length === 0) {
  say('clean: no namespace, veth, bridge, lease, cache entry, portmap rule or crun container left');
  // Not ours to remove: portmap keeps them for every container of every runtime on this host.
  say(
    'note: portmap keeps its shared chains CNI-HOSTPORT-DNAT/-SETMARK/-MASQ (no rule in them names this container)',
  );
} else for (const l of left) say(`LEFT ${l}`);
if (process.argv.includes('--keep-workdir')) say(`kept workdir=${p.workdir}`);
else await rm(p.workdir, { recursive: true, force: true });
if (!cleanedUp || left.length > 0) outcome = 'failed';
// `interrupted` (exit 130 or 143) means a signal stopped it and everything was cleaned up.
say(`result ${outcome}`);
if (outcome === 'failed') process.exitCode = 1;
process.off('SIGINT', onSignal);
process.off('SIGTERM', onSignal);

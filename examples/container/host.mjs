/**
 * Host-side helpers of the container example: running tools, checking prerequisites, picking a
 * free subnet and port, HTTP GET, an undo stack, and the final look for anything left behind.
 * Plain Node, no libcni inside; main.mjs holds the flow.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, open, readdir } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const TOOL_TIMEOUT_MS = 20_000;

/** One line on stdout, prefixed so a test (or grep) can pick the example's own lines out. */
export function say(line) {
  process.stdout.write(`container-example: ${line}\n`);
}

/** Runs a tool (never through a shell); resolves with stdout, rejects with its stderr. */
export function run(file, args, { signal, allowFail = false } = {}) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: TOOL_TIMEOUT_MS, signal, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err && !allowFail) {
        const detail = (stderr || stdout || err.message).trim();
        reject(new Error(`${[file, ...args].join(' ')} failed: ${detail}`, { cause: err }));
      } else resolve({ ok: !err, stdout, stderr });
    });
  });
}

async function executable(file) {
  return access(file, fsConstants.X_OK).then(
    () => true,
    () => false,
  );
}

/**
 * The first `name` found on PATH (plus the sbin directories root's PATH sometimes lacks); a name
 * with a slash is only checked for being executable.
 */
export async function which(name) {
  if (name.includes('/')) return (await executable(name)) ? name : undefined;
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  for (const dir of dirs) if (dir && (await executable(path.join(dir, name)))) return path.join(dir, name);
  return undefined;
}

/**
 * Whether an ELF executable is statically linked: it has no PT_INTERP program header (the dynamic
 * loader's path). The rootfs holds nothing but this one file, so a dynamically linked busybox (the
 * Debian package `busybox`, not `busybox-static`) could not start in it.
 */
export async function isStaticElf(file) {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(64);
    await fh.read(head, 0, 64, 0);
    // 64-bit little-endian ELF only: what Debian ships on the architectures the example targets.
    if (head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2 || head[5] !== 1) return false;
    const phoff = Number(head.readBigUInt64LE(0x20));
    const phentsize = head.readUInt16LE(0x36);
    const phnum = head.readUInt16LE(0x38);
    const table = Buffer.alloc(phentsize * phnum);
    await fh.read(table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) if (table.readUInt32LE(i * phentsize) === 3) return false; // PT_INTERP
    return true;
  } finally {
    await fh.close();
  }
}

/** A /24 in 10.253.0.0/16 that no address or route on this host uses, starting from our pid. */
export async function pickSubnet() {
  const routes = await run('ip', ['-4', '-o', 'route', 'show', 'table', 'all']);
  const addrs = await run('ip', ['-4', '-o', 'addr', 'show']);
  const used = new Set();
  for (const m of `${routes.stdout}\n${addrs.stdout}`.matchAll(/\b10\.253\.(\d+)\./g)) used.add(Number(m[1]));
  for (let i = 0; i < 250; i++) {
    const octet = 2 + ((process.pid + i) % 250);
    if (!used.has(octet)) return { prefix: `10.253.${octet}`, cidr: `10.253.${octet}.0/24` };
  }
  throw new Error('no free /24 left in 10.253.0.0/16');
}

/** A TCP port nothing listens on right now (the kernel's pick for an ephemeral bind). */
export function pickFreePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** One HTTP GET without keep-alive; resolves with the status and body. */
export function httpGet(url, timeoutMs = 5_000) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** GET `url` until it answers 200 (the server is still starting) or `attempts` run out. */
export async function httpGetWhenUp(url, signal, attempts = 50) {
  let last;
  for (let i = 0; i < attempts; i++) {
    signal.throwIfAborted();
    try {
      const res = await httpGet(url);
      if (res.status === 200) return res;
      last = new Error(`GET ${url}: HTTP ${res.status}`);
    } catch (err) {
      last = err;
    }
    await sleep(200, undefined, { signal });
  }
  throw new Error(`GET ${url} never succeeded: ${last?.message}`, { cause: last });
}

/**
 * The name of the per-container NAT chain portmap makes: `CNI-DN-` and the SHA-512 of network name
 * + container id in hex, cut to iptables' 28 characters (formatChainName in
 * https://github.com/containernetworking/plugins/blob/main/plugins/meta/portmap/utils.go).
 */
export function portmapChain(network, containerId) {
  const digest = createHash('sha512')
    .update(network + containerId)
    .digest('hex');
  return `CNI-DN-${digest}`.slice(0, 28);
}

/** The iptables-save and ip6tables-save `nat` lines that mention any of `needles`. */
export async function natRulesMentioning(needles) {
  const found = [];
  for (const tool of ['iptables-save', 'ip6tables-save']) {
    const saved = await run(tool, ['-t', 'nat'], { allowFail: true });
    for (const line of saved.stdout.split('\n'))
      if (needles.some((n) => line.includes(n))) found.push(`${tool}: ${line}`);
  }
  return found;
}

/** Undo actions, run newest first; each runs once, and a failing one does not stop the others. */
export class Cleanup {
  #actions = [];
  push(what, fn) {
    this.#actions.push({ what, fn });
  }
  async run() {
    let ok = true;
    for (const { what, fn } of this.#actions.splice(0).reverse()) {
      try {
        const note = await fn();
        say(`cleanup ${what}: ${note ?? 'done'}`);
      } catch (err) {
        ok = false;
        say(`cleanup ${what}: FAILED: ${err.message}`);
      }
    }
    return ok;
  }
}

async function linkExists(name) {
  return (await run('ip', ['link', 'show', 'dev', name], { allowFail: true })).ok;
}

async function entries(dir) {
  return readdir(dir).catch(() => []);
}

/**
 * Everything the run could have left on the host, looked for independently of how it was removed.
 * Returns one description per leftover; empty means clean.
 */
export async function findLeftovers(run_) {
  const left = [];
  const { netnsExists, ns, containerId, bridge, hostVeths, network, ipamDir, cacheDir } = run_;
  if (ns && (await netnsExists(ns.path))) left.push(`network namespace ${ns.path}`);
  for (const veth of hostVeths) if (await linkExists(veth)) left.push(`veth ${veth}`);
  if (await linkExists(bridge)) left.push(`bridge ${bridge}`);
  const leases = (await entries(path.join(ipamDir, network))).filter((f) => /^[\d.]+$|:/.test(f));
  if (leases.length > 0) left.push(`host-local leases ${leases.join(', ')}`);
  const cached = (await entries(path.join(cacheDir, 'results'))).filter((f) => f.includes(containerId));
  if (cached.length > 0) left.push(`cache entries ${cached.join(', ')}`);
  const rules = await natRulesMentioning([containerId, portmapChain(network, containerId)]);
  if (rules.length > 0) left.push(`portmap nat rules:\n  ${rules.join('\n  ')}`);
  const crun = await run('crun', ['list', '--quiet'], { allowFail: true });
  if (crun.stdout.split('\n').includes(containerId)) left.push(`crun container ${containerId}`);
  return left;
}

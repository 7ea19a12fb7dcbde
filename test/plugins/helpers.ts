/**
 * Shared fixture of the plugin compatibility suite (test/plugins/*.test.ts): the reference plugins
 * from Debian's containernetworking-plugins (/usr/lib/cni) driven through our CNIConfig and
 * NetworkManager in real network namespaces, as root.
 *
 * Every file makes one {@link Lab}. A lab names everything after this process (links
 * `lcp<pid%10000><x>`, namespaces `lcp-<pid>-<n>`, container ids `lcp-<pid>-<x>`), takes its
 * subnets from the /16 the file was given (10.190–10.199, the block of this suite), third octets
 * from a block derived from the pid, and keeps host-local's dataDir, tuning's dataDir, the dhcp
 * socket and the attachment cache in one temp dir. Its `cleanup` (an `after` hook) undoes
 * everything even when a test failed half-way: DEL of every attachment still cached, then the
 * processes, namespaces, links, iptables rules carrying one of the lab's markers, the sysctls it
 * saved, and the temp dir.
 *
 * The kernel is asked directly (`ip -j`, `tc -j`, `iptables-save`, /proc/sys) so that tests assert
 * effects, not exit statuses.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, promises as fs, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { CNIConfig, type RuntimeConf } from '../../src/cni/index.ts';
import { networkConfFromBytes } from '../../src/config/parse.ts';
import type { NetworkConfigList } from '../../src/config/types.ts';
import { createNetns, deleteNetns, type NetnsHandle } from '../../src/netns/netns.ts';
import { DefaultExec, type Exec, type ExecOptions, type ExecOutput } from '../../src/invoke/exec.ts';
import type { Result } from '../../src/types/result-model.ts';

/** Where Debian installs the reference plugins. */
export const PLUGIN_DIR = '/usr/lib/cni';

/**
 * The spec versions every lifecycle test runs at: the newest the installed plugins (1.1.1) speak,
 * and the oldest that still has CHECK. Every plugin here supports both (firewall starts at 0.4.0,
 * bandwidth at 0.3.0, vrf at 0.3.1).
 */
export const VERSIONS = ['1.0.0', '0.4.0'] as const;
/** One of {@link VERSIONS}. */
export type TestedVersion = (typeof VERSIONS)[number];

export const isRoot = process.getuid?.() === 0;

// ---- shell -------------------------------------------------------------------------------------

/** What a finished command left. */
export interface ShResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command (no shell), bounded in time; never throws. */
export function sh(argv: readonly string[], input?: string): ShResult {
  const [cmd, ...args] = argv;
  const r = spawnSync(cmd as string, args, {
    encoding: 'utf8',
    timeout: 20_000,
    input,
    env: { ...process.env, LC_ALL: 'C' },
  });
  // stdout/stderr are null when the command could not be spawned at all.
  const out = r.stdout as string | null;
  const err = r.stderr as string | null;
  return { status: r.status, stdout: out ?? '', stderr: err ?? String(r.error ?? '') };
}

/** Run a command that must succeed; returns its stdout. */
export function must(argv: readonly string[], input?: string): string {
  const r = sh(argv, input);
  assert.equal(r.status, 0, `${argv.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** The absolute path of a command on PATH (or in the usual sbin dirs), if installed. */
export function which(cmd: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const d of dirs) {
    if (d && existsSync(path.join(d, cmd))) return path.join(d, cmd);
  }
  return undefined;
}

// ---- requirements and loud skips ---------------------------------------------------------------

/** What a test file needs from the machine. */
export interface Needs {
  /** Plugin binaries in {@link PLUGIN_DIR}. */
  plugins?: readonly string[];
  /** Commands on PATH (and the Debian package that brings each, for the message). */
  tools?: Readonly<Record<string, string>>;
}

// Reasons that name a package to install: a test meeting one fails rather than skips, so that a
// machine set up without it never looks green.
const missingPackages = new Set<string>();

/** Mark `reason` (which names the Debian package to install) as a failure, not a skip; returns it. */
export function missingPackage(reason: string): string {
  missingPackages.add(reason);
  return reason;
}

/**
 * Why the needs cannot be met here, or undefined when they can. Without root the tests skip; a
 * missing plugin or tool is a failure naming its package (see {@link skipIf}).
 */
export function unmetNeeds(needs: Needs): string | undefined {
  if (!isRoot) return 'needs root (network namespaces, links, iptables)';
  const plugins = (needs.plugins ?? []).filter((p) => !existsSync(path.join(PLUGIN_DIR, p)));
  if (plugins.length > 0) {
    return missingPackage(
      `plugin binaries ${plugins.join(', ')} not in ${PLUGIN_DIR} (Debian package containernetworking-plugins)`,
    );
  }
  const tools = Object.entries(needs.tools ?? {}).filter(([cmd]) => which(cmd) === undefined);
  if (tools.length > 0) {
    return missingPackage(
      `commands not installed: ${tools.map(([cmd, pkg]) => `${cmd} (Debian package ${pkg})`).join(', ')}`,
    );
  }
  return undefined;
}

const warned = new Set<string>();

/** Print a skip (or missing-package) reason once per file, loudly, so it is never mistaken for green. */
export function announceSkip(what: string, reason: string): void {
  const verdict = missingPackages.has(reason) ? 'CANNOT RUN (install the package named)' : 'SKIPPED';
  const line = `*** ${what} ${verdict}: ${reason} ***`;
  if (warned.has(line)) return;
  warned.add(line);
  console.warn(`\n${line}\n`);
}

/**
 * When `reason` is set: fail the test if it names a package to install, skip it (loudly) otherwise;
 * returns true when skipped.
 */
export function skipIf(t: TestContext, reason: string | undefined): boolean {
  if (reason === undefined) return false;
  if (missingPackages.has(reason))
    assert.fail(`cannot run here: ${reason}; install it (the README's set-up line)`);
  t.skip(`SKIPPED: ${reason}`);
  return true;
}

// ---- kernel queries ----------------------------------------------------------------------------

/** One link as `ip -d -j link` shows it (the fields the suite reads). */
export interface LinkInfo {
  ifname: string;
  ifindex: number;
  address?: string;
  mtu: number;
  flags: string[];
  operstate?: string;
  master?: string;
  link?: string;
  ifalias?: string;
  promiscuity?: number;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown>; info_slave_kind?: string };
}

function nsArgs(ns: string | undefined): string[] {
  return ns === undefined ? [] : ['-n', ns];
}

/** Every link in a namespace (or the host when `ns` is undefined). */
export function links(ns?: string): LinkInfo[] {
  return JSON.parse(must(['ip', ...nsArgs(ns), '-d', '-j', 'link', 'show']) || '[]') as LinkInfo[];
}

/** One link, or undefined when it does not exist. */
export function link(name: string, ns?: string): LinkInfo | undefined {
  const r = sh(['ip', ...nsArgs(ns), '-d', '-j', 'link', 'show', 'dev', name]);
  if (r.status !== 0) return undefined;
  return (JSON.parse(r.stdout || '[]') as LinkInfo[])[0];
}

/** A link that must exist (the test fails otherwise). */
export function mustLink(name: string, ns?: string): LinkInfo {
  const l = link(name, ns);
  assert.ok(l, `link ${name} ${ns ? `in ${ns}` : 'on the host'} exists`);
  return l;
}

/** Link names in a namespace, sorted. */
export function linkNames(ns?: string): string[] {
  return links(ns)
    .map((l) => l.ifname)
    .sort();
}

/** IPv4 (or IPv6) addresses per interface, e.g. `{ lo: ['127.0.0.1/8'], eth0: ['10.190.1.2/24'] }`. */
export function addresses(ns?: string, family: 'inet' | 'inet6' = 'inet'): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const parsed = JSON.parse(must(['ip', ...nsArgs(ns), '-j', 'addr', 'show']) || '[]') as Array<{
    ifname: string;
    addr_info?: Array<{ family: string; local: string; prefixlen: number; scope?: string }>;
  }>;
  for (const l of parsed) {
    out[l.ifname] = (l.addr_info ?? [])
      .filter((a) => a.family === family && !(family === 'inet6' && a.scope === 'link'))
      .map((a) => `${a.local}/${a.prefixlen}`);
  }
  return out;
}

/** A route as `ip -j route` shows it. */
export interface RouteInfo {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  prefsrc?: string;
  table?: string;
}

/** IPv4 routes of a namespace (main table unless `table` is given). */
export function routes(ns?: string, table = 'main'): RouteInfo[] {
  const r = sh(['ip', ...nsArgs(ns), '-4', '-j', 'route', 'show', 'table', table]);
  if (r.status !== 0) return []; // a table that does not exist has no routes
  return JSON.parse(r.stdout || '[]') as RouteInfo[];
}

/** `dst via gw dev X` strings for compact comparisons. */
export function routeStrings(ns?: string, table = 'main'): string[] {
  return routes(ns, table)
    .map((r) =>
      [r.dst, r.gateway ? `via ${r.gateway}` : '', r.dev ? `dev ${r.dev}` : ''].filter(Boolean).join(' '),
    )
    .sort();
}

/** IPv4 policy routing rules of a namespace. */
export function rules(
  ns?: string,
): Array<{ priority: number; src?: string; srclen?: number; table: string }> {
  return JSON.parse(must(['ip', ...nsArgs(ns), '-4', '-j', 'rule', 'show']) || '[]') as Array<{
    priority: number;
    src?: string;
    srclen?: number;
    table: string;
  }>;
}

/** A qdisc as `tc -j qdisc` shows it. */
export interface QdiscInfo {
  kind: string;
  handle: string;
  root?: boolean;
  parent?: string;
  options?: Record<string, unknown>;
}

/** The qdiscs of a device (none when the device is gone). */
export function qdiscs(dev: string, ns?: string): QdiscInfo[] {
  const r = sh(['tc', ...nsArgs(ns), '-j', 'qdisc', 'show', 'dev', dev]);
  if (r.status !== 0) return [];
  return JSON.parse(r.stdout || '[]') as QdiscInfo[];
}

/** A sysctl's value inside a namespace (`net.ipv4.conf.eth0.rp_filter` style key). */
export function sysctlIn(ns: string, key: string): string {
  return must(['ip', 'netns', 'exec', ns, 'cat', `/proc/sys/${key.replace(/\./g, '/')}`]).trim();
}

/** `iptables-save` of one table (IPv4, or IPv6 with `v6`). */
export function iptablesSave(table: 'nat' | 'filter' | 'mangle', v6 = false): string {
  const r = sh([v6 ? 'ip6tables-save' : 'iptables-save', '-t', table]);
  return r.status === 0 ? r.stdout : '';
}

/** Lines of `iptables-save` output that mention any of `markers`. */
export function iptablesLinesWith(markers: readonly string[], v6 = false): string[] {
  const out: string[] = [];
  for (const table of ['nat', 'filter', 'mangle'] as const) {
    for (const line of iptablesSave(table, v6).split('\n')) {
      if (markers.some((m) => line.includes(m))) out.push(`${table}: ${line}`);
    }
  }
  return out;
}

/** Split one iptables-save rule line into argv, honouring its double quotes and backslash escapes. */
export function splitIptablesLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quoted) {
      if (c === '\\' && i + 1 < line.length) cur += line.charAt(++i);
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') {
      quoted = true;
      inWord = true;
    } else if (c === ' ') {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

/**
 * Delete every iptables rule that mentions one of `markers`, then flush and delete the user chains
 * those rules jumped to when nothing else references them. The safety net of {@link Lab.cleanup}:
 * after a test that failed between ADD and DEL. The shared top-level chains the plugins create
 * (CNI-HOSTPORT-*, CNI-FORWARD, ...) are not touched unless a marker is in their own rules.
 */
export function purgeIptables(markers: readonly string[]): void {
  if (markers.length === 0) return;
  for (const v6 of [false, true]) {
    const bin = v6 ? 'ip6tables' : 'iptables';
    if (!which(bin)) continue;
    for (const table of ['nat', 'filter', 'mangle'] as const) {
      const targets = new Set<string>();
      for (const line of iptablesSave(table, v6).split('\n')) {
        if (!line.startsWith('-A ') || !markers.some((m) => line.includes(m))) continue;
        const argv = splitIptablesLine(line);
        const j = argv.indexOf('-j');
        const target = j >= 0 ? argv[j + 1] : undefined;
        if (target && (target.startsWith('CNI-') || markers.some((m) => target.includes(m))))
          targets.add(target);
        argv[0] = '-D';
        sh([bin, '-w', '-t', table, ...argv]);
      }
      for (const chain of targets) {
        if (iptablesSave(table, v6).includes(`-j ${chain}`)) continue; // still used by something else
        if (
          [
            'CNI-HOSTPORT-DNAT',
            'CNI-HOSTPORT-SETMARK',
            'CNI-HOSTPORT-MASQ',
            'CNI-FORWARD',
            'CNI-ADMIN',
          ].includes(chain)
        )
          continue;
        sh([bin, '-w', '-t', table, '-F', chain]);
        sh([bin, '-w', '-t', table, '-X', chain]);
      }
    }
  }
}

/** Whether this kernel can create links of `kind` (a throwaway link, removed at once). */
export function kernelSupports(kind: 'macvlan' | 'ipvlan' | 'vlan' | 'vrf' | 'ifb' | 'dummy'): boolean {
  const tag = `lcp${process.pid % 10000}`;
  const parent = `${tag}kp`;
  const probe = `${tag}kx`;
  let ok: boolean;
  try {
    if (kind === 'macvlan' || kind === 'ipvlan' || kind === 'vlan') {
      if (sh(['ip', 'link', 'add', parent, 'type', 'veth', 'peer', 'name', `${tag}kq`]).status !== 0)
        return false;
      const extra = kind === 'vlan' ? ['id', '5'] : [];
      ok = sh(['ip', 'link', 'add', 'link', parent, 'name', probe, 'type', kind, ...extra]).status === 0;
    } else if (kind === 'vrf') {
      ok = sh(['ip', 'link', 'add', probe, 'type', 'vrf', 'table', '4242']).status === 0;
    } else {
      ok = sh(['ip', 'link', 'add', probe, 'type', kind]).status === 0;
    }
  } finally {
    sh(['ip', 'link', 'del', probe]);
    sh(['ip', 'link', 'del', parent]);
  }
  return ok;
}

// ---- results -----------------------------------------------------------------------------------

/** The interfaces of a 0.3.0+ result (empty for older shapes). */
export function resultInterfaces(r: Result): Array<{ name: string; mac?: string; sandbox?: string }> {
  return (
    (r as { interfaces?: Array<{ name: string; mac?: string; sandbox?: string }> }).interfaces ?? []
  ).slice();
}

/** The host-side interfaces of a result (those without a sandbox), e.g. the veth peer. */
export function hostInterfaces(r: Result): string[] {
  return resultInterfaces(r)
    .filter((i) => !i.sandbox)
    .map((i) => i.name);
}

/** The addresses of a 0.3.0+ result, `a.b.c.d/len`. */
export function resultAddresses(r: Result): string[] {
  return ((r as { ips?: Array<{ address: string }> }).ips ?? []).map((i) => i.address);
}

/** The gateways of a 0.3.0+ result. */
export function resultGateways(r: Result): string[] {
  return ((r as { ips?: Array<{ gateway?: string }> }).ips ?? []).flatMap((i) =>
    i.gateway ? [i.gateway] : [],
  );
}

/** Strip the prefix length. */
export function ipOf(cidr: string): string {
  return cidr.split('/')[0] as string;
}

// ---- TCP ---------------------------------------------------------------------------------------

/**
 * Connect to host:port and read what the server says first (bounded by `timeoutMs`). Resolves
 * with the text, or rejects with the socket's error (ECONNREFUSED, ETIMEDOUT...).
 */
export function tcpHello(host: string, port: number, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    let data = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(Object.assign(new Error(`connect ${host}:${port} timed out`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      data += d;
    });
    sock.on('end', () => {
      clearTimeout(timer);
      resolve(data);
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/**
 * What a port forward is expected to answer: connect through the forward and read the greeting,
 * with fresh connections while the attempts time out. A SYN (or the ARP before it) can be lost
 * right after a plugin wires a veth into a bridge; TCP alone would wait 1 s, 3 s, 7 s between
 * retransmissions. A refused connection or a wrong greeting fails at once, and when every attempt
 * times out the error carries `diagnose()` (the host's view of the forward) to say why.
 */
export async function helloThroughForward(
  host: string,
  port: number,
  diagnose: () => string,
  attempts = 4,
): Promise<string> {
  let last: unknown;
  for (let k = 0; k < attempts; k++) {
    try {
      return await tcpHello(host, port, 2500);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ETIMEDOUT') throw e;
      last = e;
    }
  }
  throw new Error(`${host}:${port}: ${attempts} connections timed out (${String(last)})\n${diagnose()}`);
}

/** The host's and the namespace's view of a forward, for a connection that never got an answer. */
export function forwardState(br: string, ns: string, hostPort: number): string {
  const run = (argv: string[]) => {
    const r = sh(argv);
    return `$ ${argv.join(' ')}\n${r.stdout}${r.stderr}`;
  };
  const nat = [false, true].flatMap((v6) =>
    iptablesSave('nat', v6)
      .split('\n')
      .filter((l) => l.includes(String(hostPort)) || l.includes('OUTPUT') || l.includes('POSTROUTING')),
  );
  return [
    `nat rules naming the port or the OUTPUT/POSTROUTING hooks:\n${nat.join('\n')}`,
    run(['ip', 'neigh', 'show', 'dev', br]),
    run(['ip', '-d', 'link', 'show', 'master', br]),
    run(['ip', '-n', ns, 'addr']),
    run(['ip', '-n', ns, 'neigh']),
    run(['ip', 'netns', 'exec', ns, 'ss', '-ltn']),
    run(['sysctl', 'net.ipv4.ip_forward', `net.ipv4.conf.${br}.route_localnet`]),
  ].join('\n');
}

// ---- recording what plugins receive ------------------------------------------------------------

/** One plugin invocation as the plugin saw it. */
export interface PluginCall {
  /** Plugin type (the executable's base name). */
  plugin: string;
  /** CNI_COMMAND. */
  command: string;
  /** CNI_ARGS. */
  args: string;
  /** The config on stdin, parsed. */
  stdin: Record<string, unknown>;
}

/**
 * The default Exec, plus a log of every call: lets a test prove that a capability or a prevResult
 * reached the real plugin, not only that the plugin succeeded.
 */
export class RecordingExec implements Exec {
  readonly calls: PluginCall[] = [];
  private readonly inner = new DefaultExec();

  execPlugin(
    pluginPath: string,
    stdin: Uint8Array,
    env: Record<string, string>,
    options?: ExecOptions,
  ): Promise<ExecOutput> {
    let parsed: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(Buffer.from(stdin).toString('utf8')) as Record<string, unknown>;
    } catch {
      // VERSION has an almost empty stdin
    }
    this.calls.push({
      plugin: path.basename(pluginPath),
      command: env.CNI_COMMAND ?? '',
      args: env.CNI_ARGS ?? '',
      stdin: parsed,
    });
    return this.inner.execPlugin(pluginPath, stdin, env, options);
  }

  findInPath(type: string, paths: readonly string[]): Promise<string> {
    return this.inner.findInPath(type, paths);
  }

  /** The calls of one plugin (and command), oldest first. */
  of(plugin: string, command?: string): PluginCall[] {
    return this.calls.filter((c) => c.plugin === plugin && (command === undefined || c.command === command));
  }
}

// ---- the lab -----------------------------------------------------------------------------------

/** A configuration list object (what a .conflist holds). */
export type ConfList = Record<string, unknown> & { cniVersion: string; name: string; plugins: unknown[] };

/**
 * One test file's world: names, subnets, a temp dir, a CNIConfig on a private cache, and the list
 * of everything to undo. Create it at module level, call {@link init} in `before` and
 * {@link cleanup} in `after`.
 */
export class Lab {
  /** pid % 10000: the part of link names that makes them this process's. */
  readonly tag: string;
  /** Second octet of this file's subnets (10.<octet>.0.0/16, within 10.190–10.199). */
  readonly octet: number;
  /** First third octet of this process's block of ten /24s. */
  readonly block: number;
  root = '';
  cni!: CNIConfig;
  /** Every plugin call made through {@link cni} (and through managers given `lab.exec`). */
  readonly exec = new RecordingExec();
  private readonly namespaces = new Set<string>();
  private readonly hostLinks = new Set<string>();
  private readonly processes = new Set<ChildProcess>();
  private readonly sysctls = new Map<string, string>();
  private readonly markers = new Set<string>();
  private readonly cleanups: Array<() => void | Promise<void>> = [];
  private nsSeq = 0;

  constructor(
    readonly label: string,
    octet: number,
  ) {
    assert.ok(octet >= 190 && octet <= 199, 'the plugin suite owns 10.190.0.0/16–10.199.0.0/16');
    this.tag = String(process.pid % 10000);
    this.octet = octet;
    this.block = (process.pid % 25) * 10;
    this.markers.add(`lcp-${process.pid}-`);
  }

  /** Make the temp dir and the CNIConfig; remember the forwarding sysctls (bridge and ptp turn them on). */
  async init(): Promise<void> {
    this.root = await fs.mkdtemp(path.join(os.tmpdir(), 'libcni-'));
    this.cni = new CNIConfig({
      path: [PLUGIN_DIR],
      cacheDir: this.dir('cache'),
      timeoutMs: 30_000,
      exec: this.exec,
    });
    // bridge (isGateway) and ptp turn forwarding on, for IPv6 too when a range is IPv6.
    this.saveSysctl('net.ipv4.ip_forward');
    this.saveSysctl('net.ipv6.conf.all.forwarding');
    this.saveSysctl('net.ipv6.conf.default.forwarding');
  }

  /** A path inside the temp dir. */
  dir(...parts: string[]): string {
    return path.join(this.root, ...parts);
  }

  /** A host link name owned by this process: `lcp<tag><x>` (x short: names max 15 chars). */
  linkName(x: string): string {
    const name = `lcp${this.tag}${x}`;
    assert.ok(name.length <= 15, `link name ${name} too long`);
    return name;
  }

  /** A container id owned by this process. */
  containerId(x: string): string {
    return `lcp-${process.pid}-${x}`;
  }

  /** The first three octets of this file's /24 number n (0..9), e.g. `10.190.40`. */
  net24(n: number): string {
    assert.ok(n >= 0 && n <= 9);
    const prefix = `10.${this.octet}.${this.block + n}`;
    this.markers.add(`${prefix}.`);
    return prefix;
  }

  /** host-local's dataDir for this lab. */
  get ipamDir(): string {
    return this.dir('ipam');
  }

  /** host-local lease files (one per IP) left for a network. */
  async leases(network: string): Promise<string[]> {
    try {
      return (await fs.readdir(path.join(this.ipamDir, network)))
        .filter((n) => /^[\d.:a-f]+$/.test(n))
        .sort();
    } catch {
      return [];
    }
  }

  /** Files in the attachment cache (`results/`). */
  async cacheEntries(): Promise<string[]> {
    try {
      return (await fs.readdir(this.dir('cache', 'results'))).sort();
    } catch {
      return [];
    }
  }

  /** A fresh namespace, deleted by cleanup. */
  async netns(): Promise<NetnsHandle> {
    const name = `lcp-${process.pid}-${++this.nsSeq}`;
    this.namespaces.add(name);
    return createNetns(name);
  }

  /** Delete a namespace now (and forget it). */
  async dropNetns(ns: NetnsHandle): Promise<void> {
    await deleteNetns(ns.name);
    this.namespaces.delete(ns.name);
  }

  /** Remember a host link (made by us or by a plugin) for deletion. */
  trackLink(name: string): void {
    this.hostLinks.add(name);
  }

  /** A veth pair on the host, both ends up; `peerNs` moves the peer into a namespace. */
  veth(a: string, b: string, peerNs?: string): void {
    this.trackLink(a);
    this.trackLink(b);
    must(['ip', 'link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
    if (peerNs) must(['ip', 'link', 'set', b, 'netns', peerNs]);
    must(['ip', 'link', 'set', a, 'up']);
    must(['ip', ...(peerNs ? ['-n', peerNs] : []), 'link', 'set', b, 'up']);
  }

  /** A bridge on the host, up. */
  bridge(name: string): void {
    this.trackLink(name);
    must(['ip', 'link', 'add', name, 'type', 'bridge']);
    must(['ip', 'link', 'set', name, 'up']);
  }

  /** Remember a sysctl's current value; cleanup writes it back. */
  saveSysctl(key: string): void {
    const file = `/proc/sys/${key.replace(/\./g, '/')}`;
    if (this.sysctls.has(file) || !existsSync(file)) return;
    this.sysctls.set(file, readFileSync(file, 'utf8'));
  }

  /** A string whose presence in an iptables rule marks the rule as this lab's. */
  addMarker(m: string): void {
    this.markers.add(m);
  }

  /** iptables-save lines (v4 and v6, nat/filter/mangle) that mention this lab, or only `markers`. */
  iptablesTraces(markers: readonly string[] = [...this.markers]): string[] {
    return [...iptablesLinesWith(markers), ...iptablesLinesWith(markers, true)];
  }

  /**
   * Start a long-running process; cleanup kills it (by pid) if it is still alive. Its output goes
   * to `logFile`, or is left for the caller to read with `keepStdout`, or is discarded.
   */
  spawnTracked(argv: readonly string[], logFile?: string, keepStdout = false): ChildProcess {
    const [cmd, ...args] = argv;
    const child = spawn(cmd as string, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.processes.add(child);
    child.on('exit', () => this.processes.delete(child));
    if (keepStdout) {
      child.stderr.resume();
    } else if (logFile) {
      const append = (d: Buffer) => {
        void fs.appendFile(logFile, d).catch(() => undefined);
      };
      child.stdout.on('data', append);
      child.stderr.on('data', append);
    } else {
      child.stdout.resume();
      child.stderr.resume();
    }
    return child;
  }

  /** Stop a tracked process and wait for it (SIGTERM, then SIGKILL after 3 s). */
  async stop(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => {
      child.once('exit', () => {
        resolve();
      });
    });
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(timer);
  }

  /** Run `fn` during cleanup (before namespaces and links are removed). */
  onCleanup(fn: () => void | Promise<void>): void {
    this.cleanups.push(fn);
  }

  /** Parse a list object the way a runtime reads a file. */
  list(conf: ConfList): NetworkConfigList {
    return networkConfFromBytes(JSON.stringify(conf));
  }

  /** Runtime inputs for one attachment. */
  rt(containerId: string, ns: NetnsHandle, ifName = 'eth0', extra: Partial<RuntimeConf> = {}): RuntimeConf {
    return { containerId, netns: ns.path, ifName, ...extra };
  }

  /**
   * Undo everything: DEL each attachment still cached (its cached config), user hooks, processes,
   * namespaces, host links, iptables rules with a lab marker, sysctls, the temp dir. Never throws.
   */
  async cleanup(): Promise<void> {
    if (this.root) {
      const attachments = await this.cni.getCachedAttachments().catch(() => []);
      for (const a of attachments) {
        try {
          const list = networkConfFromBytes(a.config);
          await this.cni.delNetworkList(
            list,
            {
              containerId: a.containerId,
              netns: a.netns,
              ifName: a.ifName,
              args: a.cniArgs,
              capabilityArgs: a.capabilityArgs,
            },
            { timeoutMs: 15_000 },
          );
        } catch {
          // best effort: the brute-force steps below remove what a failing DEL left
        }
      }
    }
    for (const fn of this.cleanups.reverse()) {
      try {
        await fn();
      } catch {
        // keep going
      }
    }
    for (const child of this.processes) await this.stop(child).catch(() => undefined);
    for (const name of this.namespaces) await deleteNetns(name).catch(() => undefined);
    for (const name of this.hostLinks) sh(['ip', 'link', 'del', name]);
    try {
      purgeIptables([...this.markers]);
    } catch {
      // keep going
    }
    for (const [file, value] of this.sysctls) {
      try {
        writeFileSync(file, value);
      } catch {
        // a sysctl of a link that is gone
      }
    }
    if (this.root) await fs.rm(this.root, { recursive: true, force: true });
  }
}

/**
 * The three lifecycle steps every plugin gets, through CNIConfig: ADD (result in the list's
 * version, cached), CHECK, DEL (cache entry gone). The kernel assertions are the caller's.
 */
export async function addCheck(lab: Lab, list: NetworkConfigList, rt: RuntimeConf): Promise<Result> {
  const result = await lab.cni.addNetworkList(list, rt);
  assert.equal((result as { cniVersion?: string }).cniVersion, list.cniVersion, 'result in the list version');
  const cached = await lab.cni.getNetworkListCachedResult(list, rt);
  assert.deepEqual(cached, result, 'ADD cached its result');
  await lab.cni.checkNetworkList(list, rt);
  return result;
}

/** DEL through CNIConfig and assert the cache entry is gone. */
export async function del(lab: Lab, list: NetworkConfigList, rt: RuntimeConf): Promise<void> {
  await lab.cni.delNetworkList(list, rt);
  assert.equal(await lab.cni.getNetworkListCachedResult(list, rt), undefined, 'DEL removed the cache entry');
}

/**
 * Start a TCP server inside a namespace (`ip netns exec <ns> node -e …`) that greets every client
 * with `greeting` and closes; resolves once it listens. Tracked by the lab, so cleanup kills it.
 */
export async function listenerIn(
  lab: Lab,
  ns: string,
  port: number,
  greeting: string,
): Promise<ChildProcess> {
  const script = `require('net').createServer((s) => s.end(${JSON.stringify(greeting)})).listen(${port}, '::', () => console.log('ready'))`;
  const child = lab.spawnTracked(
    ['ip', 'netns', 'exec', ns, process.execPath, '-e', script],
    undefined,
    true,
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      reject(new Error(`listener in ${ns} did not start: ${out}`));
    }, 10_000);
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => {
      out += d;
      if (out.includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`listener in ${ns} exited (${code}): ${out}`));
    });
  });
  return child;
}

/** Write a sysctl inside a namespace (gone with the namespace, so nothing to restore). */
export function setSysctlIn(ns: string, key: string, value: string): void {
  must(['ip', 'netns', 'exec', ns, 'sh', '-c', `echo ${value} > /proc/sys/${key.replace(/\./g, '/')}`]);
}

/**
 * Turn off IPv6 duplicate address detection for links created later in a namespace, so that
 * dual-stack ADDs do not wait about two seconds for addresses to settle. Only this test's namespace
 * is changed.
 */
export function noDadIn(ns: string): void {
  setSysctlIn(ns, 'net.ipv6.conf.default.accept_dad', '0');
}

// Shared by the cnitool integration tests: run the BUILT cli as a subprocess, skip loudly without
// root (and fail as root when something is missing), make per-process names, and clean up
// namespaces and links.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const CLI = path.join(ROOT, 'dist/cli/main.js');
/** `npm run demo`: a TypeScript example, run through tsx (resolved here, so any cwd and uid can run it). */
export const DEMO = path.join(ROOT, 'examples/demo.ts');
export const TSX_IMPORT = ['--import', import.meta.resolve('tsx')];
export const PLUGIN_DIR = '/usr/lib/cni';

/** Why these tests cannot run here, or undefined when they can. */
export function skipReason(
  needs: readonly string[] = ['bridge', 'host-local', 'portmap', 'tuning'],
): string | undefined {
  let reason: string | undefined;
  if (process.getuid?.() !== 0) reason = 'not running as root';
  else if (!existsSync(CLI)) reason = `${CLI} is missing (run "npm run build" first)`;
  else {
    const missing = needs.filter((p) => !existsSync(path.join(PLUGIN_DIR, p)));
    if (missing.length > 0)
      reason = `CNI plugins missing in ${PLUGIN_DIR}: ${missing.join(', ')} (Debian package containernetworking-plugins)`;
  }
  // As root, what is left is something to install or build: the file fails, it does not skip.
  if (reason && process.getuid?.() === 0) throw new Error(`cnitool integration tests cannot run: ${reason}`);
  if (reason) {
    console.warn(`\n!!!!!!!! SKIPPING cnitool integration tests: ${reason} !!!!!!!!\n`);
  }
  return reason;
}

/** What one subprocess run produced. */
export interface RunOutput {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run `node <script> ...args` with exactly `env` (plus PATH); `onStdout` sees output as it comes. */
export function runNode(
  script: string,
  args: readonly string[],
  opts: {
    env?: Record<string, string | undefined>;
    cwd?: string;
    onStdout?: (all: string, kill: (s: NodeJS.Signals) => void) => void;
    uid?: number;
    /** Node flags before the script. */
    nodeArgs?: readonly string[];
  } = {},
): Promise<RunOutput> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' };
    for (const [k, v] of Object.entries(opts.env ?? {})) if (v !== undefined) env[k] = v;
    const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), script, ...args], {
      env,
      cwd: opts.cwd ?? ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.uid === undefined ? {} : { uid: opts.uid, gid: opts.uid }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      opts.onStdout?.(stdout, (s) => child.kill(s));
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Run the built cnitool. */
export function cnitool(
  args: readonly string[],
  env: Record<string, string | undefined>,
  cwd?: string,
): Promise<RunOutput> {
  return runNode(CLI, args, { env, ...(cwd ? { cwd } : {}) });
}

/** The container id Go's cnitool derives for a netns path (computed here independently of src/). */
export function goContainerId(absNetns: string): string {
  return `cnitool-${createHash('sha512').update(absNetns).digest('hex').slice(0, 20)}`;
}

/** `ip ...` output, or undefined when it fails. */
export function ip(args: readonly string[]): string | undefined {
  try {
    return execFileSync('ip', [...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    return undefined;
  }
}

export function linkExists(name: string): boolean {
  return ip(['link', 'show', 'dev', name]) !== undefined;
}

export function netnsNames(): string[] {
  return (ip(['netns', 'list']) ?? '')
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '');
}

export function addNetns(name: string): string {
  execFileSync('ip', ['netns', 'add', name]);
  return `/run/netns/${name}`;
}

export function delNetns(name: string): void {
  ip(['netns', 'del', name]);
}

export function delLink(name: string): void {
  if (linkExists(name)) ip(['link', 'del', name]);
}

export async function makeTempDir(tag: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `libcni-${tag}-`));
}

/** A bridge + host-local + portmap + tuning list at 1.0.0 on `subnet`, leases in `ipamDir`. */
export function bridgeConflist(name: string, bridge: string, subnet: string, ipamDir: string): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name,
    plugins: [
      {
        type: 'bridge',
        bridge,
        isGateway: true,
        ipMasq: false,
        ipam: { type: 'host-local', ranges: [[{ subnet }]], dataDir: ipamDir },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
      { type: 'tuning', sysctl: { 'net.core.somaxconn': '1024' } },
    ],
  });
}

/** Files under a directory (recursively), or [] when it does not exist. */
export async function filesUnder(dir: string): Promise<string[]> {
  try {
    const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
  } catch {
    return [];
  }
}

const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

/** Remember net.ipv4.ip_forward (the bridge plugin's isGateway turns it on); the result puts it back. */
export async function saveIpForward(): Promise<() => Promise<void>> {
  const before = await fs.readFile(IP_FORWARD, 'utf8').catch(() => undefined);
  return async () => {
    if (before === undefined) return;
    const now = await fs.readFile(IP_FORWARD, 'utf8');
    if (now.trim() !== before.trim()) await fs.writeFile(IP_FORWARD, before);
  };
}

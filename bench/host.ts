/**
 * Host state the real-plugin benchmark touches, each change paired with its undo: network
 * namespaces, the bridge, iptables NAT chains portmap creates, and net.ipv4.ip_forward.
 * Everything is named `lcb<pid % 10000>…` and the subnet is 10.200.0.0/16, so nothing here can
 * match what other users of this machine create.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { describeOutcome, findHelper, runHelper } from '../src/netns/run-helper.ts';
import { onCleanup } from './scratch.ts';

const TIMEOUT_MS = 20_000;
export const TAG = `lcb${String(process.pid % 10000)}`;
export const SUBNET = '10.200.0.0/16';
const SUBNET_PREFIX = '10.200.';
const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

async function ipPath(): Promise<string> {
  const ip = await findHelper('ip');
  if (ip === undefined) throw new Error('the real-chain benchmark needs `ip` (iproute2)');
  return ip;
}

async function must(file: string, args: string[]): Promise<void> {
  const o = await runHelper(file, args, TIMEOUT_MS);
  if (o.exitCode !== 0) throw new Error(describeOutcome(o));
}

/** Run a command and return its stdout (it must exit 0). */
function capture(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' },
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${file} ${args.join(' ')}: ${err.trim()}`));
    });
  });
}

/** Create `names` as /run/netns/<name>; each is deleted at cleanup. Returns their paths. */
export async function createNamespaces(names: readonly string[]): Promise<string[]> {
  const ip = await ipPath();
  const paths: string[] = [];
  for (const name of names) {
    onCleanup(`ip netns del ${name}`, async () => {
      const o = await runHelper(ip, ['netns', 'del', name], TIMEOUT_MS);
      if (o.exitCode !== 0 && !/No such file/.test(o.stderr)) throw new Error(describeOutcome(o));
    });
    await must(ip, ['netns', 'add', name]);
    paths.push(`/run/netns/${name}`);
  }
  return paths;
}

/** Delete the bridge `name` (and, with it, the host ends of its veths) at cleanup. */
export async function removeLinkAtCleanup(name: string): Promise<void> {
  const ip = await ipPath();
  onCleanup(`ip link del ${name}`, async () => {
    const o = await runHelper(ip, ['link', 'del', name], TIMEOUT_MS);
    if (o.exitCode !== 0 && !/Cannot find device/.test(o.stderr)) throw new Error(describeOutcome(o));
  });
}

/** Put net.ipv4.ip_forward back to what it is now, at cleanup (the bridge plugin may turn it on). */
export async function restoreIpForwardAtCleanup(): Promise<void> {
  const before = (await readFile(IP_FORWARD, 'utf8')).trim();
  onCleanup(`ip_forward=${before}`, async () => {
    if ((await readFile(IP_FORWARD, 'utf8')).trim() !== before) await writeFile(IP_FORWARD, `${before}\n`);
  });
}

interface NatTable {
  chains: Set<string>;
  /** `-A CHAIN ...` rules, as iptables -S prints them. */
  rules: string[];
}

async function natTable(iptables: string): Promise<NatTable> {
  const text = await capture(iptables, ['-w', '-t', 'nat', '-S']);
  const chains = new Set<string>();
  const rules: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('-N ')) chains.add(line.slice(3).trim());
    else if (line.startsWith('-A ')) rules.push(line);
  }
  return { chains, rules };
}

/** Split an `iptables -S` rule into argv (quoted comments included). */
function ruleArgs(rule: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(rule); m !== null; m = re.exec(rule)) out.push(m[1] ?? (m[2] as string));
  return out;
}

/**
 * At cleanup, remove the NAT chains portmap created for our containers (only chains that did not
 * exist now and whose rules mention our subnet), with the rules that jump to them; and the
 * portmap top-level chains, if none existed now and nothing but portmap's own fixed rules is
 * left in them.
 */
export async function sweepPortmapChainsAtCleanup(): Promise<void> {
  const iptables = ['/usr/sbin/iptables', '/sbin/iptables'].find((p) => existsSync(p));
  if (iptables === undefined) return; // portmap cannot have made any chain either
  const before = await natTable(iptables);
  onCleanup('portmap iptables chains', async () => {
    const after = await natTable(iptables);
    const created = [...after.chains].filter((c) => !before.chains.has(c));
    const ours = created.filter(
      (c) =>
        c.startsWith('CNI-') &&
        !c.startsWith('CNI-HOSTPORT-') &&
        after.rules.some((r) => r.startsWith(`-A ${c} `) && r.includes(SUBNET_PREFIX)),
    );
    const topLevel = created.filter((c) => c.startsWith('CNI-HOSTPORT-'));
    const unused = topLevel.filter((c) =>
      after.rules.every((r) => !r.startsWith(`-A ${c} `) || /-j (MASQUERADE|MARK)\b/.test(r)),
    );
    const removable = [...ours, ...(unused.length === topLevel.length ? unused : [])];
    if (removable.length === 0) return;
    for (const rule of after.rules) {
      const args = ruleArgs(rule);
      const target = args[args.indexOf('-j') + 1];
      const chain = args[1] as string;
      if (target !== undefined && removable.includes(target) && !removable.includes(chain)) {
        await capture(iptables, ['-w', '-t', 'nat', '-D', ...args.slice(1)]);
      }
    }
    for (const c of removable) await capture(iptables, ['-w', '-t', 'nat', '-F', c]);
    for (const c of removable) await capture(iptables, ['-w', '-t', 'nat', '-X', c]);
  });
}

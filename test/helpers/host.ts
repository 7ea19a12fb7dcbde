// Small host-side helpers for tests that look at the kernel: run a command (no shell), read a
// namespace's IPv4 addresses, and read this process's mount table.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { lstat } from 'node:fs/promises';

export interface ShResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run `argv` directly (never through a shell), with a timeout. */
export function sh(argv: readonly string[]): ShResult {
  const [cmd, ...args] = argv;
  const r = spawnSync(cmd as string, args, { encoding: 'utf8', timeout: 15_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Interfaces in a namespace with their IPv4 addresses, e.g. `{ lo: [...], eth0: ['10.1.2.3/24'] }`. */
export function ipv4AddrsIn(ns: string): Record<string, string[]> {
  const r = sh(['ip', '-n', ns, '-j', 'addr', 'show']);
  assert.equal(r.status, 0, r.stderr);
  const out: Record<string, string[]> = {};
  for (const l of JSON.parse(r.stdout) as Array<{
    ifname: string;
    addr_info?: Array<{ family: string; local: string; prefixlen: number }>;
  }>) {
    out[l.ifname] = (l.addr_info ?? [])
      .filter((a) => a.family === 'inet')
      .map((a) => `${a.local}/${a.prefixlen}`);
  }
  return out;
}

/** The mount table lines whose mount point is exactly `p` (stacked mounts give several). */
export function mountsAt(p: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.split(' ')[4] === p);
}

/** Mount points at or below `dir`, deepest first (the order to unmount them in). */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** Whether anything (a symlink included) exists at `p`. */
export async function present(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}

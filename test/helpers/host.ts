// Small host-side helpers for tests that look at the kernel: run a command (no shell) and read a
// namespace's IPv4 addresses.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

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

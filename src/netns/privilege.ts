/**
 * Whether this process may mount, which creating or deleting a pinned namespace needs. Checking the
 * effective capability set first lets us say "needs root" plainly instead of passing on whatever the
 * helper printed (`mount: only root can do that`, `unshare failed: Operation not permitted`, ...).
 */
import { readFile } from 'node:fs/promises';

const CAP_SYS_ADMIN = 21n;

/**
 * Reads `CapEff` from `/proc/<pid>/status` text. Returns whether CAP_SYS_ADMIN is in it, or undefined
 * when the line is missing or malformed.
 */
export function capEffHasSysAdmin(statusText: string): boolean | undefined {
  const m = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(statusText);
  if (!m?.[1]) return undefined;
  return ((BigInt(`0x${m[1]}`) >> CAP_SYS_ADMIN) & 1n) === 1n;
}

/** Whether the calling process has CAP_SYS_ADMIN; undefined when /proc cannot tell (then just try). */
export async function hasCapSysAdmin(): Promise<boolean | undefined> {
  try {
    return capEffHasSysAdmin(await readFile('/proc/self/status', 'utf8'));
  } catch {
    return undefined;
  }
}

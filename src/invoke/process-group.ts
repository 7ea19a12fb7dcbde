/**
 * Signalling a plugin's process group and telling when it is gone. A plugin runs as the leader of
 * its own group (spawned `detached`), so the group id is its pid and takes along anything it started.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Send `sig` to every process in group `pgid`; a group that is already empty is not an error. */
export function signalGroup(pgid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pgid, sig);
  } catch {
    // ESRCH: nobody left. EPERM: what is left is not ours to signal.
  }
}

/** The state letter, parent and process group of `/proc/<pid>/stat`, or undefined if it vanished. */
function statOf(pid: string): { state: string; ppid: number; pgrp: number } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid pgrp ...": comm may contain spaces and parentheses, so split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ', 3);
  return { state: fields[0] ?? '', ppid: Number(fields[1]), pgrp: Number(fields[2]) };
}

/**
 * Whether any process in group `pgid` is still running. Zombies do not count: a killed grandchild
 * is re-parented to init, and some inits (container and VM ones) reap only every second or so, so
 * `kill(-pgid, 0)` alone would keep a timed-out call waiting for someone else's housekeeping.
 * Without a readable /proc, whatever `kill(-pgid, 0)` says is the answer.
 */
export function groupHasLiveMembers(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    // ESRCH: the group is empty. EPERM: only processes we cannot signal are left; nothing to wait for.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH' && (err as NodeJS.ErrnoException).code !== 'EPERM';
  }
  let pids: string[];
  try {
    pids = readdirSync('/proc');
  } catch {
    return true;
  }
  for (const pid of pids) {
    const c = pid.charCodeAt(0);
    if (c < 0x30 || c > 0x39) continue;
    const s = statOf(pid);
    if (s !== undefined && s.pgrp === pgid && s.state !== 'Z' && s.state !== 'X') return true;
  }
  return false;
}

/**
 * The pids of `pid`'s children (zombies included), from /proc: each thread's `children` list, or,
 * on kernels without it, every process's parent. Empty without a readable /proc. Only meaningful
 * while `pid` cannot fork (stopped), and before it dies: orphans are re-parented.
 */
export function childPids(pid: number): number[] {
  const out = new Set<number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      for (const child of readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1').split(/\s+/)) {
        if (child !== '') out.add(Number(child));
      }
    }
    return [...out];
  } catch {
    // No such process, or a kernel without CONFIG_PROC_CHILDREN: ask every process.
  }
  let pids: string[];
  try {
    pids = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const p of pids) {
    const c = p.charCodeAt(0);
    if (c < 0x30 || c > 0x39) continue;
    if (statOf(p)?.ppid === pid) out.add(Number(p));
  }
  return [...out];
}

/**
 * Runs the small system binaries that network namespaces need (`ip`, `unshare`, `mount`, `umount`).
 *
 * No npm package can create a namespace without a native addon, so we
 * spawn these helpers. Each call passes an explicit argv (never a shell), a minimal environment, and a
 * timeout that kills the helper's whole process group: `unshare --net=<file>` forks a short-lived child
 * that does the bind mount, and a plain `spawn({timeout})` would neither kill it nor settle while it
 * holds the pipes.
 */
import { type ChildProcessByStdio, type StdioOptions, spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';

/** Which Debian package ships each helper, so that "not found" can say what to install. */
export const HELPER_PACKAGES = {
  ip: 'iproute2',
  unshare: 'util-linux',
  mount: 'mount',
  umount: 'mount',
} as const;

/** A helper binary this module knows how to find. */
export type HelperName = keyof typeof HELPER_PACKAGES;

/** What a helper run produced. The caller decides what a failure means. */
export interface HelperOutcome {
  /** The argv that ran, the resolved binary first. */
  argv: readonly string[];
  /** Exit status, or null when killed by a signal or never started. */
  exitCode: number | null;
  /** The signal that ended the helper, if any. */
  signal: string | null;
  /** The start of stdout (bounded). */
  stdout: string;
  /** The start of stderr (bounded), trimmed. */
  stderr: string;
  /** True when the helper outlived the timeout and its process group was killed. */
  timedOut: boolean;
  /** Set when the binary could not be started at all (EACCES, ENOENT after lookup, ...). */
  spawnError: NodeJS.ErrnoException | undefined;
}

// Root's PATH is not always a login PATH (systemd units, cron, containers), so the sbin directories
// are searched even when PATH omits them.
const FALLBACK_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
// The helpers get this environment instead of ours: LC_ALL=C keeps their messages in English, which
// is what the error mapping looks for, and nothing of the caller's leaks into them.
const HELPER_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' };
const MAX_OUTPUT = 16 * 1024;

const found = new Map<HelperName, string>();

/**
 * The absolute path of a helper binary, or undefined when it is not installed. Hits are cached for
 * the life of the process; misses are not, so installing the package later is picked up.
 */
export async function findHelper(name: HelperName): Promise<string | undefined> {
  const cached = found.get(name);
  if (cached !== undefined) return cached;
  const dirs = [...(process.env.PATH ?? '').split(':'), ...FALLBACK_DIRS];
  for (const dir of dirs) {
    // Relative PATH entries would make the result depend on the cwd: skip them.
    if (!path.isAbsolute(dir)) continue;
    const candidate = path.join(dir, name);
    try {
      await access(candidate, fsConstants.X_OK);
      found.set(name, candidate);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

/**
 * Runs `file args...` and resolves with what happened; it never rejects. After `timeoutMs` the
 * helper's process group gets SIGKILL and the outcome is returned at once, without waiting for
 * pipes that a leftover grandchild might still hold. `fd3`, when given, is handed to the helper as
 * its descriptor 3 (so it can act on `/proc/self/fd/3` instead of on a path).
 */
export function runHelper(
  file: string,
  args: readonly string[],
  timeoutMs: number,
  fd3?: number,
): Promise<HelperOutcome> {
  const argv = [file, ...args];
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let settled = false;
    const finish = (
      exitCode: number | null,
      signal: string | null,
      timedOut: boolean,
      spawnError?: NodeJS.ErrnoException,
    ): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ argv, exitCode, signal, stdout, stderr: stderr.trim(), timedOut, spawnError });
    };

    // detached: the helper leads its own process group, so the timeout can kill its children too.
    const stdio: StdioOptions = ['ignore', 'pipe', 'pipe', ...(fd3 === undefined ? [] : [fd3])];
    const child = spawn(file, args, { detached: true, stdio, env: HELPER_ENV });
    // Both are pipes, as stdio says; the type of a computed stdio array cannot show that.
    const { stdout: out, stderr: err } = child as ChildProcessByStdio<null, Readable, Readable>;
    const timer = setTimeout(() => {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // the group is already gone
        }
      }
      finish(null, 'SIGKILL', true);
    }, timeoutMs);

    out.setEncoding('utf8');
    err.setEncoding('utf8');
    out.on('data', (chunk: string) => {
      if (stdout.length < MAX_OUTPUT) stdout += chunk.slice(0, MAX_OUTPUT - stdout.length);
    });
    err.on('data', (chunk: string) => {
      if (stderr.length < MAX_OUTPUT) stderr += chunk.slice(0, MAX_OUTPUT - stderr.length);
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      finish(null, null, false, err);
    });
    child.on('close', (code, signal) => {
      finish(code, signal, false);
    });
  });
}

/** One line describing a failed helper run, for error messages: `ip netns add x: exit 1: <stderr>`. */
export function describeOutcome(o: HelperOutcome): string {
  const cmd = o.argv.map((a, i) => (i === 0 ? path.basename(a) : a)).join(' ');
  let how: string;
  if (o.spawnError) how = `could not start: ${o.spawnError.message}`;
  else if (o.timedOut) how = 'timed out and was killed';
  else if (o.signal !== null) how = `killed by ${o.signal}`;
  else how = `exit status ${String(o.exitCode)}`;
  return o.stderr ? `${cmd}: ${how}: ${o.stderr}` : `${cmd}: ${how}`;
}

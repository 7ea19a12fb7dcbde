/**
 * What creating, deleting and listing namespaces share: option handling, error wrapping, finding the
 * helper binaries, and the per-path serialization that keeps two calls of this process from racing
 * on one namespace file.
 */
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { AbortError, throwIfAborted } from '../core/abort.ts';
import { NetnsError, type NetnsErrorReason } from '../core/runtime-errors.ts';
import {
  describeOutcome,
  findHelper,
  HELPER_PACKAGES,
  type HelperName,
  type HelperOutcome,
} from './run-helper.ts';

/** Where namespaces are pinned unless a caller says otherwise: iproute2's directory. */
export const DEFAULT_NETNS_DIR = '/run/netns';

// iproute2's compiled-in directory. On current distributions /var/run is a symlink to /run, so this
// and DEFAULT_NETNS_DIR are the same directory; where they are not, `ip` is simply not used.
export const IPROUTE2_NETNS_DIR = '/var/run/netns';

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * How namespaces are created:
 * - `auto` (default): `ip netns add` when the directory is iproute2's own and `ip` is installed,
 *   else `unshare`;
 * - `ip`: always `ip netns add` (only for iproute2's directory);
 * - `unshare`: placeholder file + `unshare --net=<file> true`.
 * Deleting never depends on it: every namespace is unmounted through a descriptor (see delete.ts).
 */
export type NetnsMechanism = 'auto' | 'ip' | 'unshare';

/** Options shared by every function in this module. */
export interface NetnsOptions {
  /** Directory holding the namespace files. Default {@link DEFAULT_NETNS_DIR}. */
  baseDir?: string;
  /** Which helper creates namespaces. Default `auto`. */
  mechanism?: NetnsMechanism;
  /** Limit for each helper process, in milliseconds; it is killed after that. Default 10000. */
  timeoutMs?: number;
  /**
   * Cancels a create or delete that has not started its work yet (already fired, or fired while it
   * waits behind another call on the same name): it then rejects with an `AbortError`. Work that
   * has started runs to its end (each helper is bounded by `timeoutMs`), so a namespace is never
   * left half made or half removed.
   */
  signal?: AbortSignal | undefined;
}

/** A pinned network namespace: its name and the path of its file (what `CNI_NETNS` gets). */
export interface NetnsHandle {
  name: string;
  path: string;
}

const MECHANISMS: readonly string[] = ['auto', 'ip', 'unshare'] satisfies NetnsMechanism[];

export type Operation = 'create' | 'delete';

export interface Resolved {
  baseDir: string;
  mechanism: NetnsMechanism;
  timeoutMs: number;
  signal: AbortSignal | undefined;
}

export function resolveOptions(options: NetnsOptions | undefined): Resolved {
  throwIfAborted(options?.signal);
  const mechanism = options?.mechanism ?? 'auto';
  // Callers from plain JavaScript can pass anything.
  if (!MECHANISMS.includes(mechanism)) {
    throw new NetnsError('EINVAL', `unknown netns mechanism ${JSON.stringify(mechanism)}`);
  }
  const timeoutMs = options?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new NetnsError('EINVAL', `netns timeoutMs must be a positive number, got ${String(timeoutMs)}`);
  }
  const baseDir = options?.baseDir ?? DEFAULT_NETNS_DIR;
  if (baseDir === '') throw new NetnsError('EINVAL', 'netns baseDir must not be empty');
  return { baseDir: path.resolve(baseDir), mechanism, timeoutMs, signal: options?.signal };
}

export function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

export const needsRoot = (op: Operation): string =>
  `${op === 'create' ? 'creating' : 'deleting'} network namespaces needs root (CAP_SYS_ADMIN)`;

/** Wraps a failed file system call: permission errors become EPERM, the rest EIO. */
export function fsError(op: Operation, what: string, err: unknown, nsPath?: string): NetnsError {
  const errno = errnoOf(err);
  const detail = err instanceof Error ? err.message : String(err);
  if (errno === 'EACCES' || errno === 'EPERM' || errno === 'EROFS') {
    return new NetnsError('EPERM', `${needsRoot(op)}: ${what}: ${detail}`, { cause: err, path: nsPath });
  }
  return new NetnsError('EIO', `${what}: ${detail}`, { cause: err, path: nsPath });
}

/** The absolute path of `name`, or a NetnsError saying which Debian package provides it. */
export async function requireHelper(name: HelperName): Promise<string> {
  const found = await findHelper(name);
  if (found === undefined) {
    throw new NetnsError(
      'ENOHELPER',
      `the "${name}" command is not installed (install the Debian package ${HELPER_PACKAGES[name]})`,
    );
  }
  return found;
}

/**
 * What a failed helper run means. Pure, so the mapping is testable: stderr is in English because
 * helpers run with LC_ALL=C.
 */
export function classifyHelperFailure(
  outcome: Pick<HelperOutcome, 'spawnError' | 'timedOut' | 'stderr'>,
): NetnsErrorReason {
  if (outcome.spawnError) return outcome.spawnError.code === 'ENOENT' ? 'ENOHELPER' : 'EHELPER';
  if (outcome.timedOut) return 'ETIMEDOUT';
  if (/File exists/.test(outcome.stderr)) return 'EEXIST';
  if (/Operation not permitted|Permission denied|only root/i.test(outcome.stderr)) return 'EPERM';
  return 'EHELPER';
}

export function helperError(op: Operation, helper: HelperName, o: HelperOutcome, nsPath: string): NetnsError {
  const code = classifyHelperFailure(o);
  const detail = describeOutcome(o);
  const doing = op === 'create' ? 'creating' : 'deleting';
  let message: string;
  switch (code) {
    case 'EPERM':
      message = `${needsRoot(op)}: ${detail}`;
      break;
    case 'ENOHELPER':
      message = `the "${helper}" command is not installed (install the Debian package ${HELPER_PACKAGES[helper]}): ${detail}`;
      break;
    case 'EEXIST':
      message = `network namespace ${nsPath} already exists: ${detail}`;
      break;
    case 'ETIMEDOUT':
      message = `${doing} network namespace ${nsPath} timed out: ${detail}`;
      break;
    default:
      message = `${doing} network namespace ${nsPath} failed (refused by the kernel or ${helper}): ${detail}`;
  }
  const run = { argv: o.argv, exitCode: o.exitCode, signal: o.signal, stderr: o.stderr };
  return new NetnsError(code, message, { path: nsPath, helper: run, cause: o.spawnError });
}

/** `p` with symlinks resolved as far as the path exists, so two spellings of one directory compare equal. */
export async function canonicalPath(p: string): Promise<string> {
  try {
    return await realpath(p);
  } catch {
    try {
      return path.join(await realpath(path.dirname(p)), path.basename(p));
    } catch {
      return p;
    }
  }
}

// Calls of this process on one namespace name, chained in call order: a create and a delete of one
// name must not interleave (a delete could unlink the placeholder a create is about to mount on, and
// the next create would then stack a second namespace on the same path), and two deletes must not
// race on one mount. The key is the file name, known without any I/O, so that the chain is joined
// synchronously and follows the order of the calls; one name in two directories is serialized too,
// which costs nothing but a little waiting.
const nameChains = new Map<string, Promise<unknown>>();

/**
 * Runs `fn` after every earlier call for the same namespace file name has settled. Entries are
 * dropped once their chain is idle, so the map holds only names with calls in flight.
 */
export function serializeOnName<T>(fileName: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  const previous = nameChains.get(fileName) ?? Promise.resolve();
  let started = false;
  const turn = (): Promise<T> => {
    throwIfAborted(signal);
    started = true;
    return fn();
  };
  const run = previous.then(turn, turn);
  const tail = run.catch(() => undefined);
  nameChains.set(fileName, tail);
  void tail.then(() => {
    if (nameChains.get(fileName) === tail) nameChains.delete(fileName);
  });
  if (signal === undefined) return run;
  // A caller still waiting for its turn gets its AbortError at once; its turn then passes (turn()
  // throws without running fn). Once fn has started, the call settles as fn does.
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      if (!started) reject(new AbortError(signal.reason));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    run.then(resolve, reject).finally(() => {
      signal.removeEventListener('abort', onAbort);
    });
  });
}

/**
 * Pinned network namespaces: a namespace kept alive by bind-mounting it on an empty file, the layout
 * `ip netns` uses (`/run/netns/<name>`). The file's path is what a runtime passes to plugins as
 * `CNI_NETNS`; libcni itself never enters a namespace.
 *
 * How namespaces are made (measured by bench/netns-mechanism.ts, see the README): spawning
 * `ip netns add`/`ip netns del` was the fastest, by 3–8%, but iproute2 only knows its own directory.
 * Any other directory uses an O_EXCL placeholder file plus `unshare --net=<file> true`, and deletes
 * with `umount` plus `unlink`. Both leave the same thing behind, so either one can delete what the
 * other made.
 */
import { lstat, mkdir, readdir, readlink, realpath, statfs, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { NetnsError, type NetnsErrorCode } from '../types/errors.ts';
import { isNetnsMount, isShared, type MountEntry, readMountinfo, topMountAt } from './mountinfo.ts';
import { isValidNetnsName, randomNetnsName, validateNetnsName } from './name.ts';
import { hasCapSysAdmin } from './privilege.ts';
import {
  describeOutcome,
  findHelper,
  HELPER_PACKAGES,
  type HelperName,
  type HelperOutcome,
  runHelper,
} from './run-helper.ts';

/** Where namespaces are pinned unless a caller says otherwise: iproute2's directory. */
export const DEFAULT_NETNS_DIR = '/run/netns';

/** `f_type` that statfs(2) reports for namespace files (nsfs). */
export const NSFS_MAGIC = 0x6e736673;

// iproute2's compiled-in directory. On current distributions /var/run is a symlink to /run, so this
// and DEFAULT_NETNS_DIR are the same directory; where they are not, `ip` is simply not used.
const IPROUTE2_NETNS_DIR = '/var/run/netns';
const DEFAULT_TIMEOUT_MS = 10_000;
// A file can carry several stacked mounts; more than this means something other than us is at work.
const MAX_STACKED_MOUNTS = 8;

/**
 * How namespaces are created and deleted:
 * - `auto` (default): `ip netns` when the directory is iproute2's own and `ip` is installed, else `unshare`;
 * - `ip`: always `ip netns add`/`del` (only for iproute2's directory);
 * - `unshare`: placeholder file + `unshare --net=<file> true`; delete with `umount` + `unlink`.
 */
export type NetnsMechanism = 'auto' | 'ip' | 'unshare';

/** Options shared by every function in this module. */
export interface NetnsOptions {
  /** Directory holding the namespace files. Default {@link DEFAULT_NETNS_DIR}. */
  baseDir?: string;
  /** Which helper creates and deletes namespaces. Default `auto`. */
  mechanism?: NetnsMechanism;
  /** Limit for each helper process, in milliseconds; it is killed after that. Default 10000. */
  timeoutMs?: number;
}

/** A pinned network namespace: its name and the path of its file (what `CNI_NETNS` gets). */
export interface NetnsHandle {
  name: string;
  path: string;
}

const MECHANISMS: readonly string[] = ['auto', 'ip', 'unshare'] satisfies NetnsMechanism[];

type Operation = 'create' | 'delete';

interface Resolved {
  baseDir: string;
  mechanism: NetnsMechanism;
  timeoutMs: number;
}

function resolveOptions(options: NetnsOptions | undefined): Resolved {
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
  return { baseDir: path.resolve(baseDir), mechanism, timeoutMs };
}

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

const needsRoot = (op: Operation): string =>
  `${op === 'create' ? 'creating' : 'deleting'} network namespaces needs root (CAP_SYS_ADMIN)`;

/** Wraps a failed file system call: permission errors become EPERM, the rest EIO. */
function fsError(op: Operation, what: string, err: unknown, nsPath?: string): NetnsError {
  const errno = errnoOf(err);
  const detail = err instanceof Error ? err.message : String(err);
  if (errno === 'EACCES' || errno === 'EPERM' || errno === 'EROFS') {
    return new NetnsError('EPERM', `${needsRoot(op)}: ${what}: ${detail}`, { cause: err, path: nsPath });
  }
  return new NetnsError('EIO', `${what}: ${detail}`, { cause: err, path: nsPath });
}

/** The absolute path of `name`, or a NetnsError saying which Debian package provides it. */
async function requireHelper(name: HelperName): Promise<string> {
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
): NetnsErrorCode {
  if (outcome.spawnError) return outcome.spawnError.code === 'ENOENT' ? 'ENOHELPER' : 'EHELPER';
  if (outcome.timedOut) return 'ETIMEDOUT';
  if (/File exists/.test(outcome.stderr)) return 'EEXIST';
  if (/Operation not permitted|Permission denied|only root/i.test(outcome.stderr)) return 'EPERM';
  return 'EHELPER';
}

function helperError(op: Operation, helper: HelperName, o: HelperOutcome, nsPath: string): NetnsError {
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
async function canonicalPath(p: string): Promise<string> {
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

async function chooseMechanism(r: Resolved, canonicalBase: string): Promise<'ip' | 'unshare'> {
  if (r.mechanism === 'unshare') return 'unshare';
  const isIproute2Dir = canonicalBase === (await canonicalPath(IPROUTE2_NETNS_DIR));
  if (r.mechanism === 'ip') {
    if (!isIproute2Dir) {
      throw new NetnsError(
        'EINVAL',
        `the "ip" netns mechanism only works in iproute2's directory ${DEFAULT_NETNS_DIR}, not ${r.baseDir}`,
      );
    }
    return 'ip';
  }
  return isIproute2Dir && (await findHelper('ip')) !== undefined ? 'ip' : 'unshare';
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch (err) {
    if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return false;
    throw fsError('create', `cannot inspect ${p}`, err, p);
  }
}

function alreadyExists(name: string, nsPath: string, cause?: unknown): NetnsError {
  return new NetnsError('EEXIST', `network namespace ${JSON.stringify(name)} already exists (${nsPath})`, {
    path: nsPath,
    cause,
  });
}

async function runOrThrow(
  op: Operation,
  helper: HelperName,
  args: readonly string[],
  nsPath: string,
  timeoutMs: number,
): Promise<void> {
  const o = await runHelper(await requireHelper(helper), args, timeoutMs);
  if (o.exitCode !== 0) throw helperError(op, helper, o, nsPath);
}

// One set-up per directory at a time within this process, so that concurrent creates do not stack
// two bind mounts on a fresh directory.
const dirSetups = new Map<string, Promise<void>>();

/**
 * Makes `dir` a shared mount, as `ip netns add` does for its own directory: a bind mount of itself
 * when it is not a mount point yet, then `--make-shared`. Shared propagation is what makes a later
 * umount release the namespace in mount namespaces created after the pin (containers).
 */
function ensureSharedDir(dir: string, timeoutMs: number): Promise<void> {
  let setup = dirSetups.get(dir);
  if (!setup) {
    setup = setUpSharedDir(dir, timeoutMs).finally(() => dirSetups.delete(dir));
    dirSetups.set(dir, setup);
  }
  return setup;
}

async function setUpSharedDir(dir: string, timeoutMs: number): Promise<void> {
  let real: string;
  try {
    await mkdir(dir, { recursive: true, mode: 0o755 });
    real = await realpath(dir);
  } catch (err) {
    throw fsError('create', `cannot create the namespace directory ${dir}`, err);
  }
  const top = topMountAt(await readMountinfo(), real);
  if (top && isShared(top)) return;
  // --rbind, not --bind: namespaces already pinned in the directory must stay visible through it.
  if (!top) await runOrThrow('create', 'mount', ['--rbind', real, real], real, timeoutMs);
  await runOrThrow('create', 'mount', ['--make-shared', real], real, timeoutMs);
}

/** Best-effort removal of a placeholder after a failed create; never throws. */
async function discardPlaceholder(nsPath: string, timeoutMs: number): Promise<void> {
  try {
    const top = topMountAt(await readMountinfo(), nsPath);
    const umount = await findHelper('umount');
    if (top && isNetnsMount(top) && umount) await runHelper(umount, ['-l', nsPath], timeoutMs);
    await unlink(nsPath);
  } catch {
    // nothing more we can do; the create error is what the caller needs to see
  }
}

/**
 * Creates a network namespace pinned at `<baseDir>/<name>` and returns its name and path.
 *
 * `name` defaults to a random `cni-<16 hex>`; it must match `^[a-zA-Z0-9][a-zA-Z0-9_.-]*$` and be at
 * most 64 characters (checked before anything touches the disk). An existing file of that name is
 * never replaced: the call fails with `EEXIST`. A custom `baseDir` is created if needed and made a
 * shared bind mount of itself, like iproute2's `/run/netns`.
 *
 * @throws {NetnsError} `EINVAL`, `EEXIST`, `EPERM` (not root), `ENOHELPER` (`ip`/`unshare`/`mount`
 * missing), `EHELPER` (the kernel or the helper refused), `ETIMEDOUT`, `EIO`.
 */
export async function createNetns(name?: string, options?: NetnsOptions): Promise<NetnsHandle> {
  const nsName = name ?? randomNetnsName();
  validateNetnsName(nsName);
  const r = resolveOptions(options);
  const nsPath = path.join(r.baseDir, nsName);
  if ((await hasCapSysAdmin()) === false)
    throw new NetnsError('EPERM', needsRoot('create'), { path: nsPath });
  const mechanism = await chooseMechanism(r, await canonicalPath(r.baseDir));
  // A friendly early answer; the exclusive create below is what guarantees nothing is clobbered.
  if (await exists(nsPath)) throw alreadyExists(nsName, nsPath);

  if (mechanism === 'ip') {
    const o = await runHelper(await requireHelper('ip'), ['netns', 'add', nsName], r.timeoutMs);
    if (o.exitCode !== 0) {
      const err = helperError('create', 'ip', o, nsPath);
      throw err.code === 'EEXIST' ? alreadyExists(nsName, nsPath, err) : err;
    }
    return { name: nsName, path: nsPath };
  }

  const unshare = await requireHelper('unshare');
  await ensureSharedDir(r.baseDir, r.timeoutMs);
  try {
    // Mode 0 as iproute2: the file is only a mount point, nobody should write to it.
    await writeFile(nsPath, '', { flag: 'wx', mode: 0 });
  } catch (err) {
    if (errnoOf(err) === 'EEXIST') throw alreadyExists(nsName, nsPath, err);
    throw fsError('create', `cannot create ${nsPath}`, err, nsPath);
  }
  const o = await runHelper(unshare, [`--net=${nsPath}`, 'true'], r.timeoutMs);
  if (o.exitCode !== 0) {
    await discardPlaceholder(nsPath, r.timeoutMs);
    throw helperError('create', 'unshare', o, nsPath);
  }
  return { name: nsName, path: nsPath };
}

/** Unmounts every namespace mount stacked on `file`; a plain umount first, a lazy detach if busy. */
async function unmountAll(file: string, timeoutMs: number): Promise<void> {
  for (let i = 0; i < MAX_STACKED_MOUNTS; i++) {
    const top = topMountAt(await readMountinfo(), file);
    if (!top) return;
    if (!isNetnsMount(top)) {
      throw new NetnsError(
        'ENOTNETNS',
        `refusing to unmount ${file}: a ${top.fsType} file system is mounted on it, not a network namespace`,
        { path: file },
      );
    }
    const umount = await requireHelper('umount');
    let o = await runHelper(umount, [file], timeoutMs);
    if (o.exitCode !== 0 && /busy/i.test(o.stderr)) o = await runHelper(umount, ['-l', file], timeoutMs);
    // "not mounted": someone else unmounted it meanwhile, which is what we wanted.
    if (o.exitCode !== 0 && !/not mounted/i.test(o.stderr)) throw helperError('delete', 'umount', o, file);
  }
  throw new NetnsError('EIO', `${file} still has mounts after ${MAX_STACKED_MOUNTS} unmounts`, {
    path: file,
  });
}

/**
 * Deletes a pinned network namespace: unmounts it (lazily if busy) and removes its file. A name is
 * looked up in `baseDir`; anything containing `/` is a path. A namespace that does not exist is not
 * an error, so deleting twice is fine.
 *
 * Safety: a path outside `baseDir` is only touched when `/proc/self/mountinfo` shows a network
 * namespace mounted on it, and after the unmount its file is removed only when it is an empty
 * regular file (the placeholder). Symlinks are never followed for the last path component.
 *
 * @throws {NetnsError} `ENOTNETNS` (refused), `EINVAL` (bad name), `EPERM`, `ENOHELPER`, `EHELPER`,
 * `ETIMEDOUT`, `EIO`.
 */
export async function deleteNetns(nameOrPath: string, options?: NetnsOptions): Promise<void> {
  const r = resolveOptions(options);
  let nsPath: string;
  if (nameOrPath.includes('/')) {
    nsPath = path.resolve(nameOrPath);
  } else {
    validateNetnsName(nameOrPath);
    nsPath = path.join(r.baseDir, nameOrPath);
  }

  // Resolve the directory part only: the decision "inside baseDir or not" must not be fooled by a
  // symlinked parent, and the last component must be judged as it is, not as what it points to.
  let file: string;
  let isDir: boolean;
  try {
    file = path.join(await realpath(path.dirname(nsPath)), path.basename(nsPath));
    isDir = (await lstat(file)).isDirectory();
  } catch (err) {
    if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return;
    throw fsError('delete', `cannot inspect ${nsPath}`, err, nsPath);
  }
  const canonicalBase = await canonicalPath(r.baseDir);
  const inBaseDir = path.dirname(file) === canonicalBase;
  const top = topMountAt(await readMountinfo(), file);
  const pinned = top !== undefined && isNetnsMount(top);

  if (!pinned && !inBaseDir) {
    throw new NetnsError(
      'ENOTNETNS',
      `refusing to delete ${nsPath}: it is outside ${r.baseDir} and not a network namespace mount`,
      { path: nsPath },
    );
  }
  if (isDir) {
    throw new NetnsError('ENOTNETNS', `refusing to delete ${nsPath}: it is a directory`, { path: nsPath });
  }
  if (pinned && (await hasCapSysAdmin()) === false) {
    throw new NetnsError('EPERM', needsRoot('delete'), { path: nsPath });
  }

  // `ip netns del` only gets names we would have created: a file named `-all` must never turn into
  // `ip netns del -all`, which deletes every namespace.
  const viaIp =
    inBaseDir &&
    isValidNetnsName(path.basename(file)) &&
    (!top || pinned) &&
    (await chooseMechanism(r, canonicalBase)) === 'ip';
  if (viaIp) {
    // `ip netns del` detaches (MNT_DETACH) and unlinks, in one process.
    const o = await runHelper(await requireHelper('ip'), ['netns', 'del', path.basename(file)], r.timeoutMs);
    if (o.exitCode !== 0 && !/No such file or directory/.test(o.stderr)) {
      throw helperError('delete', 'ip', o, nsPath);
    }
    return;
  }

  await unmountAll(file, r.timeoutMs);
  await removePlaceholder(file, inBaseDir);
}

async function removePlaceholder(file: string, inBaseDir: boolean): Promise<void> {
  try {
    if (!inBaseDir) {
      // Outside our directory, only the empty placeholder a pin leaves behind is ours to remove.
      const st = await lstat(file);
      if (!st.isFile() || st.size !== 0) return;
    }
    await unlink(file);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return;
    throw fsError('delete', `cannot remove ${file}`, err, file);
  }
}

/** The topmost mount on every mount point. */
function topMounts(mounts: readonly MountEntry[]): Map<string, MountEntry> {
  const top = new Map<string, MountEntry>();
  for (const m of mounts) top.set(m.mountPoint, m);
  return top;
}

/**
 * The network namespaces pinned in `baseDir` (files there with a network namespace mounted on them),
 * sorted by name. A missing directory gives an empty list.
 *
 * @throws {NetnsError} `EIO` when the directory or /proc/self/mountinfo cannot be read.
 */
export async function listNetns(options?: NetnsOptions): Promise<NetnsHandle[]> {
  const r = resolveOptions(options);
  let names: string[];
  try {
    names = await readdir(r.baseDir);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return [];
    throw new NetnsError('EIO', `cannot read ${r.baseDir}: ${String(err)}`, { cause: err });
  }
  const canonicalBase = await canonicalPath(r.baseDir);
  const top = topMounts(await readMountinfo());
  return names
    .sort()
    .filter((n) => {
      const m = top.get(path.join(canonicalBase, n));
      return m !== undefined && isNetnsMount(m);
    })
    .map((n) => ({ name: n, path: path.join(r.baseDir, n) }));
}

/**
 * Whether `nsPath` is a network namespace handle: a file with a network namespace mounted on it (as
 * made by {@link createNetns} or `ip netns add`), or a `/proc/<pid>/ns/net` link. Missing paths and
 * other files (including pinned namespaces of other kinds) give false.
 *
 * @throws {NetnsError} `EIO` for unexpected file system errors (EACCES, EIO, ...).
 */
export async function netnsExists(nsPath: string): Promise<boolean> {
  const abs = path.resolve(nsPath);
  try {
    // Cheap first filter: every namespace file lives on nsfs.
    if ((await statfs(abs)).type !== NSFS_MAGIC) return false;
  } catch (err) {
    const errno = errnoOf(err);
    if (errno === 'ENOENT' || errno === 'ENOTDIR' || errno === 'ELOOP' || errno === 'ENAMETOOLONG')
      return false;
    throw new NetnsError('EIO', `cannot inspect ${abs}: ${String(err)}`, { cause: err, path: abs });
  }
  try {
    // /proc/<pid>/ns/* are magic links whose text names the namespace kind.
    if (/^net:\[\d+\]$/.test(await readlink(abs))) return true;
  } catch {
    // not a link: a pinned namespace file
  }
  let real: string;
  try {
    real = await realpath(abs);
  } catch {
    return false;
  }
  const top = topMountAt(await readMountinfo(), real);
  return top !== undefined && isNetnsMount(top);
}

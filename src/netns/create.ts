/**
 * Creating pinned network namespaces.
 *
 * How (measured by bench/netns-mechanism.ts, see docs/netns.md): spawning `ip netns add` was the
 * fastest, by 3–8%, but iproute2 only knows its own directory. Any other directory uses an O_EXCL
 * placeholder file plus `unshare --net=<file> true`. Both leave the same thing behind, so one
 * deleteNetns serves both.
 */
import { lstat, mkdir, realpath, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { NetnsError } from '../core/runtime-errors.ts';
import {
  canonicalPath,
  DEFAULT_NETNS_DIR,
  errnoOf,
  fsError,
  helperError,
  IPROUTE2_NETNS_DIR,
  type NetnsHandle,
  type NetnsOptions,
  needsRoot,
  type Resolved,
  requireHelper,
  resolveOptions,
  serializeOnName,
} from './common.ts';
import { isNetnsMount, isShared, readMountinfo, topMountAt } from './mountinfo.ts';
import { randomNetnsName, validateNetnsName } from './name.ts';
import { hasCapSysAdmin } from './privilege.ts';
import { findHelper, type HelperName, runHelper } from './run-helper.ts';

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

async function runOrThrow(helper: HelperName, args: readonly string[], dir: string, timeoutMs: number) {
  const o = await runHelper(await requireHelper(helper), args, timeoutMs);
  if (o.exitCode !== 0) throw helperError('create', helper, o, dir);
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
  if (!top) await runOrThrow('mount', ['--rbind', real, real], real, timeoutMs);
  await runOrThrow('mount', ['--make-shared', real], real, timeoutMs);
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
 * never replaced: the call fails with `EEXIST`. Within one process, creates and deletes of one name
 * run one after another in call order, so of concurrent creates of one name exactly one succeeds. A custom
 * `baseDir` is created if needed and made a shared bind mount of itself, like iproute2's `/run/netns`.
 *
 * @throws {NetnsError} `EINVAL`, `EEXIST`, `EPERM` (not root), `ENOHELPER` (`ip`/`unshare`/`mount`
 * missing), `EHELPER` (the kernel or the helper refused), `ETIMEDOUT`, `EIO`.
 */
export async function createNetns(name?: string, options?: NetnsOptions): Promise<NetnsHandle> {
  // No await before the chain is joined: calls on one name queue in the order they were made.
  const nsName = name ?? randomNetnsName();
  validateNetnsName(nsName);
  const r = resolveOptions(options);
  return serializeOnName(nsName, () => pin(r, nsName), r.signal);
}

async function pin(r: Resolved, nsName: string): Promise<NetnsHandle> {
  const nsPath = path.join(r.baseDir, nsName);
  if ((await hasCapSysAdmin()) === false)
    throw new NetnsError('EPERM', needsRoot('create'), { path: nsPath });
  const mechanism = await chooseMechanism(r, await canonicalPath(r.baseDir));
  await pinAt(r, nsName, nsPath, mechanism);
  return { name: nsName, path: nsPath };
}

async function pinAt(r: Resolved, nsName: string, nsPath: string, mechanism: 'ip' | 'unshare') {
  // A friendly early answer; the exclusive create below is what guarantees nothing is clobbered.
  if (await exists(nsPath)) throw alreadyExists(nsName, nsPath);

  if (mechanism === 'ip') {
    const o = await runHelper(await requireHelper('ip'), ['netns', 'add', nsName], r.timeoutMs);
    if (o.exitCode !== 0) {
      const err = helperError('create', 'ip', o, nsPath);
      throw err.reason === 'EEXIST' ? alreadyExists(nsName, nsPath, err) : err;
    }
    return;
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
}

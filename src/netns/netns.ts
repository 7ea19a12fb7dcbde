/**
 * Pinned network namespaces: a namespace kept alive by bind-mounting it on an empty file, the layout
 * `ip netns` uses (`/run/netns/<name>`). The file's path is what a runtime passes to plugins as
 * `CNI_NETNS`; libcni itself never enters a namespace. Creating is in create.ts, deleting in
 * delete.ts; this file lists and tests them and is the module's entry.
 */
import { readdir, readlink, realpath, statfs } from 'node:fs/promises';
import path from 'node:path';
import { NetnsError } from '../core/runtime-errors.ts';
import { canonicalPath, errnoOf, type NetnsHandle, type NetnsOptions, resolveOptions } from './common.ts';
import { isNetnsMount, type MountEntry, readMountinfo, topMountAt } from './mountinfo.ts';
import { NSFS_MAGIC } from './pin.ts';

export {
  classifyHelperFailure,
  DEFAULT_NETNS_DIR,
  type NetnsHandle,
  type NetnsMechanism,
  type NetnsOptions,
} from './common.ts';
export { createNetns } from './create.ts';
export { deleteNetns } from './delete.ts';
export { NSFS_MAGIC } from './pin.ts';

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

/**
 * Looking at a namespace file without trusting its path, and unmounting exactly what was looked at.
 *
 * A path is a question asked again at every use: between "is this a network namespace?" and
 * "unmount it", the last component can be swapped for a symlink to any mount point, and `umount`,
 * `ip netns del` and umount2(2) follow symlinks. So the file is opened once with O_PATH|O_NOFOLLOW
 * (which neither follows a final symlink nor opens a FIFO or device for I/O), everything is judged
 * through that descriptor, and the unmount is done through it too: `umount` gets the descriptor as
 * its fd 3 and detaches `/proc/self/fd/3`, the very mount that was checked.
 */
import { constants } from 'node:fs';
import { type FileHandle, open, statfs } from 'node:fs/promises';
import { NetnsError } from '../core/runtime-errors.ts';
import { errnoOf, fsError, helperError, requireHelper } from './common.ts';
import { isNetnsMount, type MountEntry, readMountinfo, topMountAt } from './mountinfo.ts';
import { runHelper } from './run-helper.ts';

/** `f_type` that statfs(2) reports for namespace files (nsfs). */
export const NSFS_MAGIC = 0x6e736673;

// Node does not export O_PATH; its value is the same on x86-64 and arm64 (asm-generic/fcntl.h).
const O_PATH = 0o10000000;

/** What a namespace path holds, judged through a descriptor that did not follow a final symlink. */
export type PinState =
  | { kind: 'missing' }
  | { kind: 'symlink' }
  | { kind: 'directory' }
  /** A network namespace mounted on the file; `handle` refers to that very mount. */
  | { kind: 'netns'; handle: FileHandle; mount: MountEntry }
  /** Something other than a network namespace is mounted on the file. */
  | { kind: 'foreign-mount'; fsType: string }
  /** A plain file, not a mount point: a placeholder when it is an empty regular file. */
  | { kind: 'file'; emptyRegular: boolean };

/** Opens `file` (a canonical path: its directory part already resolved) and says what it is. */
export async function inspectPin(file: string): Promise<PinState> {
  let handle: FileHandle;
  try {
    handle = await open(file, O_PATH | constants.O_NOFOLLOW);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return { kind: 'missing' };
    throw fsError('delete', `cannot open ${file}`, err, file);
  }
  let keep = false;
  try {
    const st = await handle.stat();
    if (st.isSymbolicLink()) return { kind: 'symlink' };
    if (st.isDirectory()) return { kind: 'directory' };
    const top = topMountAt(await readMountinfo(), file);
    if ((await statfs(`/proc/self/fd/${String(handle.fd)}`)).type === NSFS_MAGIC) {
      // The nsfs inode number is the namespace's id: the descriptor and the mount table agree on
      // which namespace this is, and that it is a network namespace.
      if (top && isNetnsMount(top) && top.root === `net:[${String(st.ino)}]`) {
        keep = true;
        return { kind: 'netns', handle, mount: top };
      }
      return { kind: 'foreign-mount', fsType: top?.fsType ?? 'nsfs' };
    }
    if (top) return { kind: 'foreign-mount', fsType: top.fsType };
    return { kind: 'file', emptyRegular: st.isFile() && st.size === 0 };
  } catch (err) {
    if (err instanceof NetnsError) throw err;
    throw fsError('delete', `cannot inspect ${file}`, err, file);
  } finally {
    if (!keep) await handle.close();
  }
}

/**
 * Detaches the mount `handle` refers to (MNT_DETACH, as `ip netns del` does: a process still inside
 * keeps the namespace alive, the file is released at once) and closes the handle. A mount that is
 * already gone (another caller detached it) is not an error.
 */
export async function detachPin(handle: FileHandle, file: string, timeoutMs: number): Promise<void> {
  try {
    const umount = await requireHelper('umount');
    // --no-canonicalize: umount must not turn /proc/self/fd/3 back into a path and look that up.
    const o = await runHelper(umount, ['--no-canonicalize', '-l', '/proc/self/fd/3'], timeoutMs, handle.fd);
    if (o.exitCode !== 0 && !/not mounted|no mount point|Invalid argument/i.test(o.stderr)) {
      throw helperError('delete', 'umount', o, file);
    }
  } finally {
    await handle.close();
  }
}

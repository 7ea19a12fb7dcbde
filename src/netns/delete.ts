/**
 * Deleting pinned network namespaces: detach the namespace mount through a descriptor (pin.ts), then
 * remove the placeholder file. No tool is ever handed a path it could follow through a symlink, so
 * only a network-namespace mount is ever detached, whatever the directory holds.
 */
import { type FileHandle, realpath, unlink } from 'node:fs/promises';
import path from 'node:path';
import { NetnsError } from '../core/runtime-errors.ts';
import {
  canonicalPath,
  errnoOf,
  fsError,
  type NetnsOptions,
  needsRoot,
  resolveOptions,
  serializeOnName,
} from './common.ts';
import { validateNetnsName } from './name.ts';
import { detachPin, inspectPin } from './pin.ts';
import { hasCapSysAdmin } from './privilege.ts';

// A file can carry several stacked mounts; more than this means something other than us is at work.
const MAX_STACKED_MOUNTS = 8;

/**
 * Deletes a pinned network namespace: detaches it and removes its file. A name is looked up in
 * `baseDir`; anything containing `/` is a path. A namespace that does not exist is not an error, so
 * deleting twice is fine, also concurrently: calls of one process on one name run one at a time, in
 * call order.
 *
 * Safety: the last path component is never followed. Only a network namespace mount is ever
 * detached, through a descriptor opened on the file itself (so swapping the file for a symlink
 * mid-call changes nothing). A symlink inside `baseDir` is removed, never its target; outside
 * `baseDir`, a path is only touched when a network namespace is mounted on it, and after the
 * unmount its file is removed only when it is an empty regular file (the placeholder).
 *
 * @throws {NetnsError} `ENOTNETNS` (refused), `EINVAL` (bad name), `EPERM`, `ENOHELPER`, `EHELPER`,
 * `ETIMEDOUT`, `EIO`.
 */
export async function deleteNetns(nameOrPath: string, options?: NetnsOptions): Promise<void> {
  // No await before the chain is joined: calls on one name queue in the order they were made.
  const r = resolveOptions(options);
  let nsPath: string;
  if (nameOrPath.includes('/')) {
    nsPath = path.resolve(nameOrPath);
  } else {
    validateNetnsName(nameOrPath);
    nsPath = path.join(r.baseDir, nameOrPath);
  }
  return serializeOnName(path.basename(nsPath), () => deleteAt(nsPath, r.baseDir, r.timeoutMs), r.signal);
}

async function deleteAt(nsPath: string, baseDir: string, timeoutMs: number): Promise<void> {
  // Resolve the directory part only: "inside baseDir or not" must not be fooled by a symlinked
  // parent, and the last component is judged as it is, not as what it points to.
  let file: string;
  try {
    file = path.join(await realpath(path.dirname(nsPath)), path.basename(nsPath));
  } catch (err) {
    if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return;
    throw fsError('delete', `cannot inspect ${nsPath}`, err, nsPath);
  }
  const inBaseDir = path.dirname(file) === (await canonicalPath(baseDir));
  await unpin({ file, nsPath, inBaseDir, baseDir, timeoutMs });
}

interface Target {
  file: string;
  nsPath: string;
  inBaseDir: boolean;
  baseDir: string;
  timeoutMs: number;
}

function refuse(t: Target, why: string): NetnsError {
  return new NetnsError('ENOTNETNS', `refusing to delete ${t.nsPath}: ${why}`, { path: t.nsPath });
}

async function unpin(t: Target): Promise<void> {
  for (let detached = 0; ; detached++) {
    const state = await inspectPin(t.file);
    switch (state.kind) {
      case 'missing':
        return;
      case 'netns':
        await detachOne(t, state.handle, detached);
        continue;
      case 'foreign-mount':
        throw new NetnsError(
          'ENOTNETNS',
          `refusing to unmount ${t.file}: a ${state.fsType} file system is mounted on it, not a network namespace`,
          { path: t.file },
        );
      case 'directory':
        throw refuse(t, t.inBaseDir ? 'it is a directory' : outsideWhy(t));
      case 'symlink':
      case 'file':
        if (!t.inBaseDir) {
          // Outside our directory, only the placeholder a pin we just removed leaves behind is ours.
          if (detached === 0) throw refuse(t, outsideWhy(t));
          if (state.kind === 'symlink' || !state.emptyRegular) return;
        }
        await removeEntry(t.file);
        return;
    }
  }
}

async function detachOne(t: Target, handle: FileHandle, detachedSoFar: number): Promise<void> {
  let refusal: NetnsError | undefined;
  if (detachedSoFar === MAX_STACKED_MOUNTS) {
    refusal = new NetnsError(
      'EIO',
      `${t.file} still has mounts after ${String(MAX_STACKED_MOUNTS)} unmounts`,
      {
        path: t.file,
      },
    );
  } else if ((await hasCapSysAdmin()) === false) {
    refusal = new NetnsError('EPERM', needsRoot('delete'), { path: t.nsPath });
  }
  if (refusal) {
    await handle.close();
    throw refusal;
  }
  await detachPin(handle, t.file, t.timeoutMs);
}

const outsideWhy = (t: Target): string => `it is outside ${t.baseDir} and not a network namespace mount`;

/** unlink(2) removes a symlink itself, never its target. */
async function removeEntry(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return;
    throw fsError('delete', `cannot remove ${file}`, err, file);
  }
}

/**
 * The files this library writes itself (cache entries, lock files): writing one atomically, and
 * reading one back. Each is a regular
 * file created with O_EXCL or renamed into place, so a symlink, FIFO, device or socket there, or a
 * file far larger than anything written, is never legitimate: it is refused without being read.
 * Without this, a FIFO blocks the read (and the timeout and signal with it) forever and a symlink to
 * /dev/zero reads until memory runs out.
 */
import { closeSync, fsync, openSync, promises as fs, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { threadId } from 'node:worker_threads';
import { promisify } from 'node:util';
import { readBoundedFile } from '../core/bounded-read.ts';
import { sharedNativeBinding } from '../core/native-binding.ts';
import { CacheError } from '../core/errors.ts';
import { type CacheSync, TEMP_PREFIX } from './entry.ts';

/**
 * A cache entry larger than this is refused. An entry holds one network config and one result
 * (a few KiB); the bound is far above any real one and only stops an unbounded read.
 */
export const MAX_CACHE_ENTRY_BYTES = 16 * 1024 * 1024;

/** A lock file larger than this is refused: it holds `<pid> <start time>\n`, a few dozen bytes. */
export const MAX_LOCK_FILE_BYTES = 4 * 1024;

/** What {@link readOwnFile} returns: the text and the inode it came from. */
export interface OwnFile {
  text: string;
  ino: number;
  mtimeMs: number;
}

/**
 * Read `file` as UTF-8 if it is a regular file of at most `maxBytes`, never following a final
 * symlink and never blocking on a FIFO (see core/bounded-read.ts). Refusals are
 * `UnreadableFileError`s; other errors (ENOENT, EACCES) are thrown as the system gives them.
 */
export function readOwnFile(file: string, maxBytes: number): OwnFile {
  const { bytes, ino, mtimeMs } = readBoundedFile(file, maxBytes, { followSymlinks: false });
  return { text: bytes.toString('utf8'), ino, mtimeMs };
}

/**
 * Refuse to use `dir` (created just before) if it is not a real directory: a symlink there would
 * send every entry or lock written under it to wherever it points, outside the cache directory.
 */
export async function assertRealDirectory(dir: string, what: string): Promise<void> {
  const st = await fs.lstat(dir);
  if (st.isDirectory()) return;
  const kind = st.isSymbolicLink()
    ? `a symlink to ${await fs.readlink(dir).catch(() => '?')}`
    : 'not a directory';
  throw new CacheError(`refusing to use ${what} ${dir}: it is ${kind}, not a directory`, {
    path: dir,
  });
}

const fsyncFd = promisify(fsync);

/**
 * Write `data` to `file` via a temp file in the same directory (rename is atomic only within one
 * fs). The open, write, close and rename are synchronous calls, microseconds each on a local disk;
 * through the thread pool they were four round trips per write on every ADD (BENCHMARKS.md). Only
 * the fsyncs, which wait for the disk, go to the pool.
 */
export async function atomicWrite(file: string, data: string, sync: CacheSync): Promise<void> {
  const dir = path.dirname(file);
  const { tmp, fd } = createTempFile(dir);
  try {
    writeFileSync(fd, data);
    if (sync !== 'none') await fsyncFd(fd);
  } catch (e) {
    closeQuietly(fd);
    unlinkQuietly(tmp);
    throw e;
  }
  closeSync(fd);
  try {
    if (sync === 'none' && exchange(tmp, file)) unlinkQuietly(tmp);
    else renameSync(tmp, file);
  } catch (e) {
    unlinkQuietly(tmp);
    throw e;
  }
  if (sync === 'full') {
    const d = openSync(dir, 'r');
    try {
      await fsyncFd(d);
    } finally {
      closeSync(d);
    }
  }
}

/**
 * Put `tmp` in the place of an existing `file` by swapping the two names (renameat2
 * RENAME_EXCHANGE, through the addon), leaving the old content under `tmp` for the caller to
 * unlink; false, with nothing done, where `file` does not exist, the file system or kernel cannot
 * swap, or the addon is not loaded: the caller then renames.
 *
 * Why not rename: on ext4 a rename over an existing file makes the kernel allocate the new file's
 * blocks and start writing them at once (auto_da_alloc, a guard for programs that replace files
 * without fsync), and unlinking that file later, as DEL does, frees real blocks and may wait for the
 * write. ADD replaces its own intent record every time (cni/attachment.ts), so each ADD+DEL paid it:
 * 260–310 µs per ADD and 180–470 µs per DEL against 93 and 20 µs for a new file, in C with 5 ms idle
 * between calls on the reference VM (BENCHMARKS.md). Swapped, the new entry stays in the page cache
 * like any new file, as Go's cache entries do. Only for `sync: 'none'`: with a flush the blocks
 * are written before the rename anyway. A crash between the swap and the unlink leaves the old
 * entry under a temp name, which removeStaleTempFiles clears like any other.
 */
function exchange(tmp: string, file: string): boolean {
  const swap = sharedNativeBinding()?.renameExchange;
  // C strings end at NUL; renameSync reports such a path properly.
  if (swap === undefined || tmp.includes('\0') || file.includes('\0')) return false;
  return swap(tmp, file) === 0;
}

let tempSerial = 0;

/**
 * A new temp file in `dir`, named by process, thread and a serial number: unique among live writers,
 * and `wx` (O_EXCL) skips a name a dead process with the same pid left behind. (A random name cost
 * a CSPRNG call per write for nothing the exclusive create does not already give.)
 */
function createTempFile(dir: string): { tmp: string; fd: number } {
  for (;;) {
    const tmp = path.join(dir, `${TEMP_PREFIX}${process.pid}-${threadId}-${++tempSerial}`);
    try {
      return { tmp, fd: openSync(tmp, 'wx', 0o600) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already failing: the first error is the one reported
  }
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // a temp file left behind is removed by removeStaleTempFiles
  }
}

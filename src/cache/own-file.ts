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
    renameSync(tmp, file);
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

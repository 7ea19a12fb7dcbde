/**
 * Reading back the files this library writes itself (cache entries, lock files). Each is a regular
 * file created with O_EXCL or renamed into place, so a symlink, FIFO, device or socket there, or a
 * file far larger than anything written, is never legitimate: it is refused without being read.
 * Without this, a FIFO blocks the read (and the timeout and signal with it) forever and a symlink to
 * /dev/zero reads until memory runs out.
 */
import { promises as fs } from 'node:fs';
import { readBoundedFile } from '../core/bounded-read.ts';
import { CacheError } from '../core/errors.ts';

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
export async function readOwnFile(file: string, maxBytes: number): Promise<OwnFile> {
  const { bytes, ino, mtimeMs } = await readBoundedFile(file, maxBytes, { followSymlinks: false });
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

/**
 * Reading back the files this library writes itself (cache entries, lock files). Each is a regular
 * file created with O_EXCL or renamed into place, so a symlink, FIFO, device or socket there, or a
 * file far larger than anything written, is never legitimate: it is refused without being read.
 * Without this, a FIFO blocks the read (and the timeout and signal with it) forever and a symlink to
 * /dev/zero reads until memory runs out (issue 16).
 */
import { constants, promises as fs } from 'node:fs';
import { CacheError } from '../core/errors.ts';

/**
 * A cache entry larger than this is refused. An entry holds one network config and one result
 * (a few KiB); the bound is far above any real one and only stops an unbounded read.
 */
export const MAX_CACHE_ENTRY_BYTES = 16 * 1024 * 1024;

/** A lock file larger than this is refused: it holds `<pid> <start time>\n`, a few dozen bytes. */
export const MAX_LOCK_FILE_BYTES = 4 * 1024;

/** Why a file this library wrote itself cannot be read as one; `code` is the errno-style reason. */
export class ForeignFileError extends Error {
  readonly code: 'ELOOP' | 'ENOTREG' | 'EFBIG';
  readonly path: string;
  constructor(code: 'ELOOP' | 'ENOTREG' | 'EFBIG', text: string, file: string) {
    super(text);
    this.name = 'ForeignFileError';
    this.code = code;
    this.path = file;
  }
}

/** What {@link readOwnFile} returns: the text and the inode it came from. */
export interface OwnFile {
  text: string;
  ino: number;
  mtimeMs: number;
}

/**
 * Read `file` as UTF-8 if it is a regular file of at most `maxBytes`, without following a final
 * symlink and without blocking on a FIFO (O_NOFOLLOW|O_NONBLOCK, then fstat). Refusals are
 * {@link ForeignFileError}s; other errors (ENOENT, EACCES) are thrown as the system gives them.
 */
export async function readOwnFile(file: string, maxBytes: number): Promise<OwnFile> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new ForeignFileError('ELOOP', 'is a symlink', file);
    // open(2) of a Unix socket fails with ENXIO: not a file either.
    if (code === 'ENXIO') throw new ForeignFileError('ENOTREG', 'not a regular file', file);
    throw e;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new ForeignFileError('ENOTREG', 'not a regular file', file);
    const tooLarge = () =>
      new ForeignFileError('EFBIG', `file too large (over ${String(maxBytes)} bytes)`, file);
    if (st.size > maxBytes) throw tooLarge();
    // Room for one byte more than fstat saw: a file that grew while read past the bound is refused,
    // and the read never goes further than that whatever the file does.
    const buf = Buffer.alloc(Math.min(maxBytes, st.size) + 1);
    let length = 0;
    while (length < buf.length) {
      const { bytesRead } = await handle.read(buf, length, buf.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) throw tooLarge();
    return { text: buf.toString('utf8', 0, length), ino: st.ino, mtimeMs: st.mtimeMs };
  } finally {
    await handle.close();
  }
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

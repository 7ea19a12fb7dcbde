/**
 * Reading a file that may not be what it claims: a FIFO would block the read forever (and any
 * timeout or signal with it), a symlink to /dev/zero would read until memory runs out. The one
 * place that opens such files: non-blocking, optionally without following a final symlink, then
 * fstat, then a read that never goes past a bound. Config files (which may be symlinks, as
 * Kubernetes ConfigMaps are) and the files this library writes itself (cache entries, lock files,
 * never symlinks) both read through it.
 *
 * The open, fstat, read and close are synchronous calls: each takes microseconds on a local file,
 * where a trip through libuv's thread pool costs ~0.1 ms of wake-ups, and a cache read or a config
 * load would pay four of them in a row (BENCHMARKS.md, "Library work between plugin calls"). The
 * non-blocking open keeps a FIFO from stopping the event loop, as it kept it from stopping a thread.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/** Why a file was not read; `code`/`syscall` read like a system error (`read <file>: <message>`). */
export class UnreadableFileError extends Error {
  readonly code: 'ELOOP' | 'ENOTREG' | 'EISDIR' | 'EFBIG';
  readonly syscall = 'read';
  readonly path: string;
  constructor(code: UnreadableFileError['code'], message: string, file: string) {
    super(message);
    this.name = 'UnreadableFileError';
    this.code = code;
    this.path = file;
  }
}

/** What {@link readBoundedFile} read, and the inode it came from. */
export interface BoundedRead {
  bytes: Buffer;
  ino: number;
  mtimeMs: number;
}

/**
 * The bytes of `file` if it is a regular file of at most `maxBytes`. With `followSymlinks: false` a
 * final symlink is refused (`ELOOP`) rather than followed. Refusals are {@link UnreadableFileError}s;
 * other errors (ENOENT, EACCES) are thrown as the system gives them.
 */
export function readBoundedFile(
  file: string,
  maxBytes: number,
  options: { followSymlinks: boolean },
): BoundedRead {
  const flags =
    constants.O_RDONLY | constants.O_NONBLOCK | (options.followSymlinks ? 0 : constants.O_NOFOLLOW);
  let fd: number;
  try {
    fd = openSync(file, flags);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' && !options.followSymlinks)
      throw new UnreadableFileError('ELOOP', 'is a symlink', file);
    // open(2) of a Unix socket fails with ENXIO: not a file either.
    if (code === 'ENXIO') throw new UnreadableFileError('ENOTREG', 'not a regular file', file);
    throw e;
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new UnreadableFileError('EISDIR', 'is a directory', file);
    if (!st.isFile()) throw new UnreadableFileError('ENOTREG', 'not a regular file', file);
    const tooLarge = () =>
      new UnreadableFileError('EFBIG', `file too large (over ${String(maxBytes)} bytes)`, file);
    if (st.size > maxBytes) throw tooLarge();
    // Room for one byte more than fstat saw: a file that grew past the bound while being read is
    // refused, and the read never goes further than that whatever the file does.
    const buf = Buffer.alloc(Math.min(maxBytes, st.size) + 1);
    let length = 0;
    while (length < buf.length) {
      const want = buf.length - length;
      const bytesRead = readSync(fd, buf, length, want, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      // Once the size fstat saw has been read, a short read is the end of the file: no read more
      // to see 0 bytes. A short read before that size (FUSE, NFS) goes on reading.
      if (bytesRead < want && length >= st.size) break;
    }
    if (length > maxBytes) throw tooLarge();
    return { bytes: buf.subarray(0, length), ino: st.ino, mtimeMs: st.mtimeMs };
  } finally {
    closeSync(fd);
  }
}

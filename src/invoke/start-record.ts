/**
 * The parent's side of the spawner helper's start record (format: spawner-protocol.ts): the file is
 * created here and handed to the helper as its fd 3, and read back once the helper is gone, to
 * learn which of its calls may have started and which process groups to kill.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeSlots } from './spawner-protocol.ts';

/**
 * A fresh, already unlinked file for the helper's start record (passed as its fd 3): nothing to
 * clean up whatever happens to either process.
 */
export function openStartRecord(): number {
  const file = path.join(os.tmpdir(), `.libcni-spawner-${process.pid}-${randomBytes(6).toString('hex')}`);
  const fd = openSync(file, 'wx+', 0o600);
  try {
    unlinkSync(file);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}

/**
 * What the dead helper's start record says (id → pid, 0 when unknown), and close it. `undefined`
 * when it cannot be read: then every call in flight must be taken as started.
 */
export function readStartRecord(fd: number): Map<number, number> | undefined {
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(size);
    let at = 0;
    while (at < size) {
      const n = readSync(fd, buf, at, size - at, at);
      if (n === 0) break;
      at += n;
    }
    return decodeSlots(buf.subarray(0, at));
  } catch {
    return undefined;
  } finally {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
}

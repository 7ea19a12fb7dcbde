/**
 * The cross-process container lock: `<cacheDir>/locks/<containerId>.lock`, shared by
 * NetworkManager, its GC and cnitool.
 *
 * Why a directory decides who holds the lock. The lock of a process that died must be taken over,
 * and with plain files that takeover is "remove the stale file, then create mine": two processes
 * that both judged the file stale can each remove it, and the second removal takes away the
 * *fresh* lock the first one has just created (checking the inode number first does not help: a
 * freed inode number is reused at once). Node has no flock(2), whose locks the kernel drops with
 * the process. What the file system does offer is a removal that is conditional by itself:
 * rmdir(2) fails on a directory that is not empty, and rename(2) of a directory onto an existing
 * directory succeeds only when that one is empty. So:
 *
 * - the holder is whoever owns the one file in `<containerId>.held/`, named
 *   `<pid>-<start time>-<random>`: unique to one holding, so removing it by name removes that
 *   holding and never a later one;
 * - to take the lock, a process makes a private directory holding only its own owner file and
 *   renames it to `<containerId>.held`: atomic, and it succeeds only if nobody's owner file is
 *   there (the name is absent, or an empty directory a release or takeover left);
 * - to take over from a dead holder, a process removes that holder's owner file by its unique name
 *   and then rmdirs the directory, which fails if someone else's owner file is already in it.
 *
 * Hence at most one owner file is ever in `<containerId>.held/`, and at most one process holds
 * the lock, however many contend and whoever dies at any point. The holder then also links its
 * owner file (content `<pid> <start time>`) as `<containerId>.lock`: the file earlier versions
 * used as the lock, so that they wait for this holder, and a lock file such a version left (its
 * holder dead, or a symlink or FIFO put there) is replaced; only a holder of the directory touches
 * that file, so doing so is serialized too.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AbortError } from '../core/abort.ts';
import { ErrorCode, ValidationError } from '../core/errors.ts';
import { LockTimeoutError } from '../core/runtime-errors.ts';
import { assertPathComponent } from '../types/validate.ts';
import { assertRealDirectory, MAX_LOCK_FILE_BYTES, readOwnFile } from '../cache/own-file.ts';
import { UnreadableFileError } from '../core/bounded-read.ts';

/** How a {@link ContainerLockFile} behaves. */
export interface LockFileOptions {
  /** Give up after this long (default 60 s). The error names the holder's pid. */
  timeoutMs?: number | undefined;
  /** Abandon the wait. */
  signal?: AbortSignal | undefined;
}

/** Owner file names: `<pid>-<start time>-<16 hex digits>`; temp dirs are `.tmp-` and the same. */
const OWNER = /^(\d+)-(\d*)-[0-9a-f]{16}$/;
const TEMP_PREFIX = '.tmp-';

/**
 * How long a lock file without a readable pid counts as held. An earlier version creates the file
 * and then writes its pid, so it can be read empty in between; only a holder that died in that
 * instant leaves such a file for longer. (This version links a file written beforehand.)
 */
const UNWRITTEN_LOCK_GRACE_MS = 5_000;

function abortError(signal: AbortSignal): Error {
  // The library's one abort error, carrying the signal's reason as its cause.
  return new AbortError(signal.reason);
}

/**
 * The kernel's start time of a process (field 22 of /proc/<pid>/stat), so that a lock left by a
 * dead process is not mistaken for a live one when the pid has been reused.
 */
async function processStartTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces: count from the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19];
  } catch {
    return undefined;
  }
}

let ownStartTime: Promise<string | undefined> | undefined;

/** Is process `pid` running, and the same process that started at `start` (when known)? */
async function isAlive(pid: number, start: string | undefined): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const now = await processStartTime(pid);
  if (now === undefined) return false;
  return start === undefined || start === '' || start === now;
}

/** Is the process that wrote lock-file `content` (`<pid> <starttime>`) still running? */
async function writerAlive(content: string, mtimeMs: number): Promise<boolean> {
  const [pidText, start] = content.trim().split(/\s+/);
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return Date.now() - mtimeMs < UNWRITTEN_LOCK_GRACE_MS;
  return isAlive(pid, start);
}

/** Whether an owner or temp name (`<pid>-<start>-<random>`) belongs to a live process. */
async function ownerAlive(name: string): Promise<boolean> {
  const m = OWNER.exec(name);
  return m !== null && isAlive(Number(m[1]), m[2]);
}

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

/** What an attempt to take the lock found. */
type Attempt = { held: true; release: () => Promise<void> } | { held: false; holder: string | undefined };

/** The advisory, cross-process lock per container (protocol and why it is atomic: see the top of this file). */
export class ContainerLockFile {
  readonly dir: string;
  /** Temp dirs of dead processes are looked for once per instance. */
  private swept = false;

  constructor(cacheDir: string) {
    this.dir = path.join(cacheDir, 'locks');
  }

  /**
   * The lock file of a container. Refuses (ValidationError, code 4), before anything touches the
   * disk, an id that is not one path component or whose lock file name would exceed 255 bytes.
   */
  fileFor(containerId: string): string {
    assertPathComponent('containerId', containerId);
    const name = `${containerId}.lock`;
    if (Buffer.byteLength(name, 'utf8') > 255) {
      throw new ValidationError(
        'containerId',
        ErrorCode.InvalidEnvironmentVariables,
        'container ID too long for a lock file name',
        `${Buffer.byteLength(containerId, 'utf8')} bytes, at most 250`,
      );
    }
    return path.join(this.dir, name);
  }

  /** The directory whose owner file decides who holds the container's lock (same length as the file's name). */
  heldDirFor(containerId: string): string {
    return this.fileFor(containerId).replace(/\.lock$/, '.held');
  }

  /** Take the lock, waiting for another process to release it (or to die). */
  async acquire(containerId: string, options?: LockFileOptions): Promise<() => Promise<void>> {
    const file = this.fileFor(containerId);
    const held = this.heldDirFor(containerId);
    ownStartTime ??= processStartTime(process.pid);
    const start = (await ownStartTime) ?? '';
    const deadline = Date.now() + (options?.timeoutMs ?? 60_000);
    let delay = 5;
    await this.makeDir();
    for (;;) {
      const attempt = await this.attempt(file, held, start);
      if (attempt.held) return attempt.release;
      if (options?.signal?.aborted) throw abortError(options.signal);
      if (Date.now() >= deadline)
        throw new LockTimeoutError(file, `pid ${attempt.holder ?? 'unknown'}`, { context: { containerId } });
      // undefined: a dead holder (or a leftover) was just removed, so try again at once.
      if (attempt.holder === undefined) continue;
      await sleep(delay, options?.signal);
      delay = Math.min(delay * 2, 200);
    }
  }

  /** One try: claim the directory, then the lock file; or learn who holds it (undefined: retry now). */
  private async attempt(file: string, held: string, start: string): Promise<Attempt> {
    const owner = `${process.pid}-${start}-${randomBytes(8).toString('hex')}`;
    const claimed = await this.claim(held, owner, start);
    if (claimed !== true) return { held: false, holder: claimed };
    const ownerFile = path.join(held, owner);
    const unclaim = async (): Promise<void> => {
      await fs.unlink(ownerFile).catch(() => undefined);
      await fs.rmdir(held).catch(() => undefined);
    };
    let other: string | undefined;
    try {
      other = await linkLockFile(file, ownerFile);
    } catch (e) {
      await unclaim();
      throw e;
    }
    if (other !== undefined) {
      // An earlier version's live holder of the lock file: leave the directory and wait for it.
      await unclaim();
      return { held: false, holder: other };
    }
    let released: Promise<void> | undefined;
    const release = (): Promise<void> => {
      // The lock file first: while the directory is ours nobody else touches it.
      released ??= fs
        .unlink(file)
        .catch(() => undefined)
        .then(unclaim);
      return released;
    };
    return { held: true, release };
  }

  /**
   * Rename a fresh private directory holding only `owner` onto `held`. True when that made us the
   * holder; otherwise the pid of the live holder, or undefined when a dead holder (or something
   * no holder makes) was removed and the caller should try again at once.
   */
  private async claim(held: string, owner: string, start: string): Promise<true | string | undefined> {
    const tmp = path.join(this.dir, `${TEMP_PREFIX}${owner}`);
    try {
      await fs.mkdir(tmp, { mode: 0o700 });
    } catch (e) {
      if (code(e) !== 'ENOENT') throw e;
      await this.makeDir(); // the lock directory was removed meanwhile
      return undefined;
    }
    try {
      await fs.writeFile(path.join(tmp, owner), `${process.pid} ${start}\n`, { flag: 'wx', mode: 0o600 });
      await fs.rename(tmp, held);
      return true;
    } catch (e) {
      await fs.rm(tmp, { recursive: true, force: true });
      const c = code(e);
      if (c === 'ENOTEMPTY' || c === 'EEXIST') return holderIn(held);
      // Not a directory there (a symlink, file or FIFO): no holder makes one; remove and retry.
      if (c === 'ENOTDIR' || c === 'EISDIR') {
        await fs.unlink(held).catch(() => undefined);
        return undefined;
      }
      throw e;
    }
  }

  /** Create the lock directory, refusing a symlink there (locks would land outside the cache dir). */
  private async makeDir(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    await assertRealDirectory(this.dir, 'lock directory');
    if (!this.swept) {
      this.swept = true;
      await this.removeDeadTemps().catch(() => undefined);
    }
  }

  /** Private directories of processes killed between making one and renaming it into place. */
  private async removeDeadTemps(): Promise<void> {
    for (const name of await fs.readdir(this.dir)) {
      if (!name.startsWith(TEMP_PREFIX)) continue;
      const owner = name.slice(TEMP_PREFIX.length);
      if (!OWNER.test(owner) || (await ownerAlive(owner))) continue;
      await fs.rm(path.join(this.dir, name), { recursive: true, force: true });
    }
  }
}

/**
 * Who holds `held`: the pid of its live owner; undefined after removing dead owners (each by its
 * unique name) and entries no holder makes, and the directory when that left it empty. The
 * rmdir fails, harmlessly, when another process's owner file has arrived meanwhile.
 */
async function holderIn(held: string): Promise<string | undefined> {
  let names: string[];
  try {
    names = await fs.readdir(held);
  } catch (e) {
    if (code(e) === 'ENOTDIR') await fs.unlink(held).catch(() => undefined);
    return undefined; // gone (released) or replaced: try again
  }
  let live: string | undefined;
  for (const name of names) {
    if (await ownerAlive(name)) {
      live = OWNER.exec(name)?.[1];
      continue;
    }
    await fs.rm(path.join(held, name), { recursive: true, force: true });
  }
  if (live === undefined) await fs.rmdir(held).catch(() => undefined);
  return live;
}

/**
 * Holding the directory: make the lock file a link to our owner file (written before it was
 * renamed into place, so never seen empty). Returns undefined when done, or the pid of an earlier
 * version's live holder of the file. A lock file of a dead process, or one no holder makes (a
 * symlink, FIFO, device, oversized file) is removed first; only a holder of the directory does
 * that, so it cannot remove another holder's file.
 */
async function linkLockFile(file: string, ownerFile: string): Promise<string | undefined> {
  for (;;) {
    try {
      await fs.link(ownerFile, file);
      return undefined;
    } catch (e) {
      if (code(e) !== 'EEXIST') throw e;
    }
    let stale: boolean;
    let pid = '';
    try {
      const own = readOwnFile(file, MAX_LOCK_FILE_BYTES);
      pid = own.text.trim().split(/\s+/)[0] ?? '';
      // Our own pid: a lock file this process failed to remove (we hold the directory now).
      stale = pid === String(process.pid) || !(await writerAlive(own.text, own.mtimeMs));
    } catch (e) {
      if (code(e) === 'ENOENT') continue;
      if (!(e instanceof UnreadableFileError)) throw e;
      stale = true;
    }
    if (!stale) return pid === '' ? 'unknown (lock file not yet written)' : pid;
    await fs.rm(file, { recursive: true, force: true });
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(abortError(signal as AbortSignal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

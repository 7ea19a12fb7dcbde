/**
 * The spec's lifecycle rules (SPEC.md "Lifecycle & ordering"), enforced instead of documented away:
 *
 * - operations on one container never run in parallel ({@link KeyedMutex}, FIFO per container);
 * - operations on different containers do run in parallel;
 * - GC's DELs and plugin GC calls never run while an ADD or DEL is in flight, and new ones wait until
 *   they end ({@link GcGate}); GC reads the cache before it enters (see NetworkManager.gc).
 *
 * Both primitives are in-process only. {@link ContainerLockFile} adds an advisory lock file so that
 * two processes sharing one cache directory (a runtime and `cnitool`, two runtime instances) do not
 * interleave operations on the same container either.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AbortError } from '../core/abort.ts';
import { ErrorCode, ValidationError } from '../core/errors.ts';
import { LockTimeoutError } from '../core/runtime-errors.ts';
import { assertPathComponent } from '../types/validate.ts';
import { assertRealDirectory, MAX_LOCK_FILE_BYTES, readOwnFile } from '../cache/own-file.ts';
import { UnreadableFileError } from '../core/bounded-read.ts';

/** Releases a held lock. Calling it more than once is harmless. */
export type Release = () => void;

function abortError(signal: AbortSignal): Error {
  // The library's one abort error, carrying the signal's reason as its cause.
  return new AbortError(signal.reason);
}

/**
 * Wait in a FIFO queue; `grant` is called by the owner of the queue when it is this waiter's turn.
 * Shared by both primitives so that abort handling (leaving the queue, not leaking a turn) is written
 * once.
 */
interface Waiter {
  grant: () => void;
  reject: (e: Error) => void;
}

function enqueue(queue: Waiter[], signal: AbortSignal | undefined, onLeave: () => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const onAbort = () => {
      const i = queue.indexOf(waiter);
      if (i >= 0) queue.splice(i, 1);
      reject(abortError(signal as AbortSignal));
      // A waiter leaving may unblock the ones behind it (a GC that gave up lets readers in).
      onLeave();
    };
    const waiter: Waiter = {
      grant: () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      reject,
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    queue.push(waiter);
  });
}

function once(fn: () => void): Release {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

/**
 * A mutex per key with FIFO hand-off: callers for the same key run one at a time in arrival order;
 * callers for different keys never wait for each other. Keys with nobody holding or waiting use no
 * memory.
 */
export class KeyedMutex {
  private readonly held = new Map<string, Waiter[]>();

  /** Wait for `key`; resolves with the release function. Rejects with an AbortError (cause: the signal's reason) if aborted while waiting. */
  async acquire(key: string, signal?: AbortSignal): Promise<Release> {
    const queue = this.held.get(key);
    if (queue === undefined) {
      if (signal?.aborted) throw abortError(signal);
      this.held.set(key, []);
      return once(() => {
        this.handOff(key);
      });
    }
    await enqueue(queue, signal, () => undefined);
    return once(() => {
      this.handOff(key);
    });
  }

  /** Run `fn` holding `key`. */
  async run<T>(key: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(key, signal);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /** True while someone holds `key`. */
  isLocked(key: string): boolean {
    return this.held.has(key);
  }

  /** How many callers wait for `key` (not counting the holder). */
  waiting(key: string): number {
    return this.held.get(key)?.length ?? 0;
  }

  private handOff(key: string): void {
    const queue = this.held.get(key);
    const next = queue?.shift();
    if (next === undefined) {
      this.held.delete(key);
      return;
    }
    next.grant();
  }
}

/**
 * A readers-writer gate for GC: ADD/CHECK/DEL enter shared, GC enters exclusive. Arrival order is
 * kept across both kinds, so a waiting GC is not starved by a stream of new operations (they queue
 * behind it) and operations that arrived before it are not overtaken.
 */
export class GcGate {
  private sharedHolders = 0;
  private exclusiveHeld = false;
  private readonly queue: Array<Waiter & { exclusive: boolean }> = [];

  /** Enter as one of many concurrent operations. */
  async acquireShared(signal?: AbortSignal): Promise<Release> {
    if (!this.exclusiveHeld && this.queue.length === 0) {
      if (signal?.aborted) throw abortError(signal);
      this.sharedHolders++;
      return once(() => {
        this.leaveShared();
      });
    }
    await this.wait(false, signal);
    return once(() => {
      this.leaveShared();
    });
  }

  /** Enter alone: waits for every shared holder to leave and keeps new ones out until released. */
  async acquireExclusive(signal?: AbortSignal): Promise<Release> {
    if (!this.exclusiveHeld && this.sharedHolders === 0 && this.queue.length === 0) {
      if (signal?.aborted) throw abortError(signal);
      this.exclusiveHeld = true;
      return once(() => {
        this.leaveExclusive();
      });
    }
    await this.wait(true, signal);
    return once(() => {
      this.leaveExclusive();
    });
  }

  /** Current holders, for diagnostics and tests. */
  get state(): { shared: number; exclusive: boolean; waiting: number } {
    return { shared: this.sharedHolders, exclusive: this.exclusiveHeld, waiting: this.queue.length };
  }

  private wait(exclusive: boolean, signal: AbortSignal | undefined): Promise<void> {
    // The queue holds typed waiters; enqueue() only needs the Waiter part.
    const typed = this.queue as Waiter[];
    const before = this.queue.length;
    const p = enqueue(typed, signal, () => {
      this.admit();
    });
    const added = this.queue[before];
    if (added !== undefined) added.exclusive = exclusive;
    return p;
  }

  private leaveShared(): void {
    this.sharedHolders--;
    this.admit();
  }

  private leaveExclusive(): void {
    this.exclusiveHeld = false;
    this.admit();
  }

  /** Admit from the head of the queue: one exclusive when the gate is empty, or a run of shared ones. */
  private admit(): void {
    while (this.queue.length > 0 && !this.exclusiveHeld) {
      const head = this.queue[0] as Waiter & { exclusive: boolean };
      if (head.exclusive) {
        if (this.sharedHolders > 0) return;
        this.queue.shift();
        this.exclusiveHeld = true;
        head.grant();
        return;
      }
      this.queue.shift();
      this.sharedHolders++;
      head.grant();
    }
  }
}

/** How a {@link ContainerLockFile} behaves. */
export interface LockFileOptions {
  /** Give up after this long (default 60 s). The error names the holder's pid. */
  timeoutMs?: number | undefined;
  /** Abandon the wait. */
  signal?: AbortSignal | undefined;
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

/**
 * How long a lock file without a readable pid counts as held. The holder creates the file and then
 * writes its pid, so another process can read it empty in between; taking that for abandoned would
 * let both proceed. Only a holder that died in that instant leaves such a file for longer.
 */
const UNWRITTEN_LOCK_GRACE_MS = 5_000;

/** Is the process that wrote `content` (`<pid> <starttime>`) still running? */
async function holderAlive(content: string, mtimeMs: number): Promise<boolean> {
  const [pidText, start] = content.trim().split(/\s+/);
  const pid = Number(pidText);
  // Not written yet (or garbage): held while young, abandoned once old.
  if (!Number.isInteger(pid) || pid <= 0) return Date.now() - mtimeMs < UNWRITTEN_LOCK_GRACE_MS;
  const now = await processStartTime(pid);
  if (now === undefined) return false;
  return start === undefined || start === now;
}

/**
 * An advisory, cross-process lock per container: `<cacheDir>/locks/<containerId>.lock`, created with
 * O_EXCL and holding `<pid> <process start time>`. A lock whose holder is gone (crash, kill -9) is
 * reclaimed. Waiting is by polling with backoff: cheap, and lock contention between processes is rare.
 *
 * Per container rather than per attachment: the spec serializes whole operations on a container, and
 * one file per operation is cheaper than one per network.
 */
export class ContainerLockFile {
  readonly dir: string;

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

  /** Take the lock, waiting for another process to release it. */
  async acquire(containerId: string, options?: LockFileOptions): Promise<() => Promise<void>> {
    const file = this.fileFor(containerId);
    ownStartTime ??= processStartTime(process.pid);
    const content = `${process.pid} ${(await ownStartTime) ?? ''}\n`;
    const deadline = Date.now() + (options?.timeoutMs ?? 60_000);
    let delay = 5;
    await this.makeDir();
    for (;;) {
      try {
        const handle = await fs.open(file, 'wx', 0o600);
        try {
          await handle.writeFile(content);
        } finally {
          await handle.close();
        }
        return once2(() => fs.unlink(file).catch(() => undefined));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          await this.makeDir();
          continue;
        }
        if (code !== 'EEXIST') throw e;
      }
      const holder = await readHolder(file);
      if (holder === undefined) continue; // released between our open and read
      if (holder.foreign || !(await holderAlive(holder.content, holder.mtimeMs))) {
        await removeIfSame(file, holder.ino);
        continue;
      }
      if (options?.signal?.aborted) throw abortError(options.signal);
      if (Date.now() >= deadline)
        throw new LockTimeoutError(file, `pid ${holder.content.trim().split(' ')[0]}`, {
          context: { containerId },
        });
      await sleep(delay, options?.signal);
      delay = Math.min(delay * 2, 200);
    }
  }

  /** Create the lock directory, refusing a symlink there (locks would land outside the cache dir). */
  private async makeDir(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    await assertRealDirectory(this.dir, 'lock directory');
  }
}

function once2(fn: () => Promise<unknown>): () => Promise<void> {
  let p: Promise<void> | undefined;
  return () => {
    p ??= fn().then(() => undefined);
    return p;
  };
}

/**
 * The lock file's content and identity; undefined when it is gone. `foreign` marks a file no holder
 * can have made (holders create a regular file with O_EXCL, which never follows or reuses a
 * symlink): a symlink, FIFO, device or oversized file. Such a file is reclaimed at once rather than
 * read — reading a FIFO would block past every timeout and signal — and reclaiming it cannot let two
 * holders in, as no holder's lock is ever one.
 */
async function readHolder(
  file: string,
): Promise<{ content: string; ino: number; mtimeMs: number; foreign: boolean } | undefined> {
  try {
    const own = await readOwnFile(file, MAX_LOCK_FILE_BYTES);
    return { content: own.text, ino: own.ino, mtimeMs: own.mtimeMs, foreign: false };
  } catch (e) {
    if (e instanceof UnreadableFileError) {
      const st = await fs.lstat(file).catch(() => undefined);
      if (st === undefined) return undefined;
      return { content: '', ino: st.ino, mtimeMs: st.mtimeMs, foreign: true };
    }
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Remove a stale lock only if it is still the file we judged stale: another process may have
 * reclaimed it and created a fresh one in between. (A window remains between stat and unlink;
 * for an advisory lock that only matters after a crash, that is acceptable.)
 */
async function removeIfSame(file: string, ino: number): Promise<void> {
  try {
    // lstat: the identity of the entry itself, which for a symlink is not its target's.
    const st = await fs.lstat(file);
    if (st.ino === ino) await fs.unlink(file);
  } catch {
    // gone already
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

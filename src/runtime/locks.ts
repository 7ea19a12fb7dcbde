/**
 * The spec's lifecycle rules (SPEC.md "Lifecycle & ordering"), enforced instead of documented away:
 *
 * - operations on one container never run in parallel ({@link KeyedMutex}, FIFO per container);
 * - operations on different containers do run in parallel;
 * - GC's DELs and plugin GC calls never run while an ADD or DEL is in flight, and new ones wait until
 *   they end ({@link GcGate}); GC reads the cache before it enters (see NetworkManager.gc).
 *
 * Both primitives are in-process only. ContainerLockFile (lock-file.ts) adds an advisory lock per
 * container so that two processes sharing one cache directory (a runtime and `cnitool`, two
 * runtime instances) do not interleave operations on the same container either.
 */
import { AbortError } from '../core/abort.ts';

export { ContainerLockFile, type LockFileOptions } from './lock-file.ts';

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

/**
 * Who may operate on a container when (the rules are in locks.ts): the in-process mutex per
 * container, the gate that keeps GC's DELs apart from ADDs, CHECKs and DELs, the advisory lock
 * file for other processes, and the record of which containers hold the gate, which a GC reading
 * the cache outside its exclusive section consults.
 */
import { validateContainerId } from '../types/validate.ts';
import type { PartContext, ResolvedOptions, SetSource } from './context.ts';
import { ContainerLockFile, GcGate, KeyedMutex, type Release } from './locks.ts';
import type { NetworkSet } from './network-set.ts';

/**
 * What a GC learns while it reads the cache outside its exclusive section: the containers whose
 * operations held the gate when it started (it waits for them and collects what they leave, as if
 * they had finished first) and those whose operations entered since (ordered after the GC: their
 * attachments are left alone this round). Both kinds are read again under the exclusive gate.
 */
export interface GcWatch {
  inFlight: Set<string>;
  late: Set<string>;
}

/** Releases a container's lock file. */
export type ReleaseFile = () => Promise<void>;

export class Coordination {
  private readonly mutex = new KeyedMutex();
  private readonly gate = new GcGate();
  /** Containers whose operation holds the shared side of the gate, with how many (GC reads it). */
  private readonly active = new Map<string, number>();
  /** GCs reading the cache before their exclusive section: what each must look at again. */
  private readonly gcWatches = new Set<GcWatch>();
  private readonly lockFile: ContainerLockFile | undefined;

  /** `cacheDir` holds the lock files (under `locks/`), unless the `lockFiles` option is false. */
  constructor(
    private readonly config: SetSource,
    private readonly options: ResolvedOptions,
    cacheDir: string,
  ) {
    if (options.raw.lockFiles !== false) this.lockFile = new ContainerLockFile(cacheDir);
  }

  /**
   * Hold the container's place: FIFO per container, shared with other containers, exclusive of
   * GC, and the advisory lock file for other processes. The network set is read after the locks
   * are held, so an operation that waited behind a reload uses the new configuration, and one that
   * started keeps its snapshot.
   */
  async withContainer<T>(
    containerId: string,
    signal: AbortSignal | undefined,
    fn: (snapshot: NetworkSet) => Promise<T>,
  ): Promise<T> {
    validateContainerId(containerId);
    await this.config.ensureLoaded();
    const releases: Release[] = [];
    let releaseFile: ReleaseFile | undefined;
    try {
      releases.push(await this.mutex.acquire(containerId, signal));
      releases.push(await this.gate.acquireShared(signal));
      releases.push(this.markActive(containerId));
      const pending = this.lockContainerFile(containerId, signal);
      if (pending) releaseFile = await pending;
      return await fn(this.config.current);
    } finally {
      if (releaseFile) await releaseFile();
      for (const r of releases.reverse()) r();
    }
  }

  /**
   * Take the container's lock file, when lock files are on (otherwise `undefined`, synchronously,
   * so that a caller without lock files does not wait a turn for nothing).
   */
  lockContainerFile(containerId: string, signal: AbortSignal | undefined): Promise<ReleaseFile> | undefined {
    return this.lockFile?.acquire(containerId, { signal, timeoutMs: this.options.raw.lockTimeoutMs });
  }

  /**
   * Start recording for a GC that reads the cache before taking the gate: the containers in flight
   * now, and those whose operations enter from now on. Stop with {@link endGcWatch}.
   */
  beginGcWatch(): GcWatch {
    const watch: GcWatch = { inFlight: new Set(this.active.keys()), late: new Set() };
    this.gcWatches.add(watch);
    return watch;
  }

  endGcWatch(watch: GcWatch): void {
    this.gcWatches.delete(watch);
  }

  /** The gate's exclusive side: waits for the operations in flight, holds back new ones. */
  acquireExclusive(signal: AbortSignal | undefined): Promise<Release> {
    return this.gate.acquireExclusive(signal);
  }

  /**
   * Record that an operation on the container holds the gate: a GC reading the cache meanwhile
   * learns that it must not trust what it read for this container. Returns the release.
   */
  private markActive(containerId: string): Release {
    this.active.set(containerId, (this.active.get(containerId) ?? 0) + 1);
    for (const w of this.gcWatches) w.late.add(containerId);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.active.get(containerId) ?? 1) - 1;
      if (n > 0) this.active.set(containerId, n);
      else this.active.delete(containerId);
    };
  }
}

/** The context of the parts that operate on containers: the shared one, plus this part. */
export interface OperationContext extends PartContext {
  readonly coordination: Coordination;
}

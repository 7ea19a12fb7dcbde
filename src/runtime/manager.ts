/**
 * NetworkManager: what a container runtime needs on top of libcni, written once (go-cni, ocicni and
 * podman each write it again, each with gaps — reference §1, §3.9–3.11, §4):
 *
 * - many networks per container, interface names allocated like ocicni, a merged result that
 *   attributes IPs to the right interface;
 * - rollback of a partial setup, the failed network included, under its own deadline;
 * - teardown driven by the attachment cache, so it works after the config file or the namespace is
 *   gone, and needs no loaded configuration at all;
 * - the spec's lifecycle rules enforced (see locks.ts);
 * - per-file config diagnostics instead of all-or-nothing loading, and an optional watcher that
 *   keeps the last good version of a file that broke.
 */
import { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import { CNIConfig, type GCAttachment, type RuntimeConf } from '../cni/index.ts';
import { AttachmentSet } from '../cache/attachment-set.ts';
import type { NetworkAttachment } from '../cache/cache.ts';
import { confListFromConf, loadNetworkConfDir } from '../config/load.ts';
import { networkConfFromBytes, pluginConfFromBytes } from '../config/parse.ts';
import type { NetworkConfigList } from '../config/types.ts';
import { convertResult } from '../types/convert.ts';
import {
  AggregateLibcniError,
  ConfigError,
  DuplicateNetworkError,
  LibcniError,
  NotReadyError,
  type RollbackOutcome,
  SetupError,
} from '../core/errors.ts';
import type { Result } from '../types/result-model.ts';
import { validateContainerId } from '../types/validate.ts';
import { greaterThanOrEqualTo } from '../types/version.ts';
import { mergeArgs, mergeCapabilityArgs } from './args.ts';
import { allocateInterfaceNames } from './ifnames.ts';
import { ContainerLockFile, GcGate, KeyedMutex, type Release } from './locks.ts';
import { mergeResults, type SetupResult } from './merge.ts';
import {
  buildNetworkSet,
  type ConfigFileError,
  type ManagedNetwork,
  type NetworkSet,
} from './network-set.ts';
import { ConfDirWatcher } from './watch.ts';
import type {
  NetworkManagerOptions,
  SetupOptions,
  ContainerOpOptions,
  DetachedAttachment,
  TeardownResult,
  GcValidAttachment,
  GcOptions,
  GcReport,
  NetworkStatus,
  ManagerStatus,
  NetworkManagerEvents,
} from './types.ts';

export type {
  SetupResult,
  MergedInterface,
  MergedIP,
  MergedRoute,
  MergedDNS,
  NetworkAttachmentResult,
} from './merge.ts';
export type { ManagedNetwork, ConfigFileError } from './network-set.ts';
export type { CniArgsInput } from './args.ts';
export type {
  NetworkManagerOptions,
  PerNetworkOptions,
  SetupOptions,
  ContainerOpOptions,
  DetachedAttachment,
  TeardownResult,
  GcValidAttachment,
  GcOptions,
  GcReport,
  NetworkStatus,
  ManagerStatus,
  CacheQuarantineEvent,
  ConfigLoadedEvent,
  AttachedEvent,
  RollbackEvent,
  NetworkManagerEvents,
} from './types.ts';

/** Default deadline for a rollback or for the DELs of a GC when the caller gives none. */
const DEFAULT_CLEANUP_TIMEOUT_MS = 60_000;
/** Default bound on a STATUS round, so a hung plugin cannot hang a readiness probe. */
const DEFAULT_STATUS_TIMEOUT_MS = 10_000;

/**
 * What a GC learns while it reads the cache outside its exclusive section: the containers whose
 * operations held the gate when it started (it waits for them and collects what they leave, as if
 * they had finished first) and those whose operations entered since (ordered after the GC: their
 * attachments are left alone this round). Both kinds are read again under the exclusive gate.
 */
interface GcWatch {
  inFlight: Set<string>;
  late: Set<string>;
}

/** What GC does with one cached attachment. */
type GcVerdict = { keep: true } | { keep: false; list: NetworkConfigList } | { keep: true; error: Error };

/**
 * The valid set of a GC as hash lookups: container ids, or `(containerId, ifName)` pairs, each for
 * every network or for one. Built once, so matching a cached attachment is O(1), and each of the
 * caller's objects is read once.
 */
class ValidIndex {
  readonly byId: boolean;
  private readonly ids: Set<string>;
  /** The pairs, copied, in the caller's order. */
  private readonly pairs: ReadonlyArray<{ containerId: string; ifName: string; network: string | undefined }>;
  /** Pairs valid in every network. */
  private readonly anyNetwork = new AttachmentSet();
  /** Pairs valid in one network, by network. */
  private readonly oneNetwork = new Map<string, AttachmentSet>();
  private readonly perNetwork = new Map<string, GCAttachment[]>();

  constructor(valid: readonly string[] | readonly GcValidAttachment[]) {
    this.byId = valid.every((v) => typeof v === 'string');
    this.ids = new Set(this.byId ? (valid as readonly string[]) : []);
    this.pairs = this.byId
      ? []
      : (valid as readonly GcValidAttachment[]).map((p) => ({
          containerId: p.containerId,
          ifName: p.ifName,
          network: p.network,
        }));
    for (const p of this.pairs) {
      if (p.network === undefined) {
        this.anyNetwork.add(p.containerId, p.ifName);
        continue;
      }
      let set = this.oneNetwork.get(p.network);
      if (set === undefined) this.oneNetwork.set(p.network, (set = new AttachmentSet()));
      set.add(p.containerId, p.ifName);
    }
  }

  has(a: { containerId: string; ifName: string; network: string }): boolean {
    if (this.byId) return this.ids.has(a.containerId);
    return (
      this.anyNetwork.has(a.containerId, a.ifName) ||
      this.oneNetwork.get(a.network)?.has(a.containerId, a.ifName) === true
    );
  }

  /** The pairs that apply to `network`, each once, in the caller's order (computed once per network). */
  pairsFor(network: string): readonly GCAttachment[] {
    let out = this.perNetwork.get(network);
    if (out === undefined) {
      out = [];
      const listed = new AttachmentSet();
      for (const p of this.pairs) {
        if (p.network !== undefined && p.network !== network) continue;
        if (listed.add(p.containerId, p.ifName)) out.push({ containerId: p.containerId, ifName: p.ifName });
      }
      this.perNetwork.set(network, out);
    }
    return out;
  }
}

interface PlannedAttachment {
  network: ManagedNetwork;
  list: NetworkConfigList;
  rt: RuntimeConf;
}

/** Convert a result for merging; a result we cannot convert is still returned raw. */
function toMergeable(raw: Result): Result {
  const version = (raw as { cniVersion?: unknown }).cniVersion;
  if (version === '1.1.0') return raw;
  return convertResult(raw, '1.1.0');
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/**
 * Attaches containers to CNI networks and detaches them: see the module comment. Create it, `await
 * start()` (or call an operation, which loads the configuration on first use), and `close()` it when
 * done if `watch` is on.
 */
export class NetworkManager extends EventEmitter<NetworkManagerEvents> {
  readonly confDir: string;
  readonly cni: CNIConfig;
  readonly interfacePrefix: string;
  readonly minNetworks: number;
  private readonly options: NetworkManagerOptions;
  private readonly mutex = new KeyedMutex();
  private readonly gate = new GcGate();
  /** Containers whose operation holds the shared side of the gate, with how many (GC reads it). */
  private readonly active = new Map<string, number>();
  /** GCs reading the cache before their exclusive section: what each must look at again. */
  private readonly gcWatches = new Set<GcWatch>();
  private readonly lockFile: ContainerLockFile | undefined;
  private set: NetworkSet = { networks: [], configErrors: [], missing: [] };
  private lastErrorText = new Map<string, string>();
  private loadChain: Promise<unknown> = Promise.resolve();
  private firstLoad: Promise<NetworkSet> | undefined;
  private watcher: ConfDirWatcher | undefined;

  constructor(options: NetworkManagerOptions) {
    super();
    if (typeof options.confDir !== 'string' || options.confDir === '') {
      throw new TypeError('NetworkManager: options.confDir is required');
    }
    if (!Array.isArray(options.pluginDirs))
      throw new TypeError('NetworkManager: options.pluginDirs must be an array');
    this.options = options;
    this.confDir = options.confDir;
    this.interfacePrefix = options.interfacePrefix ?? 'eth';
    this.minNetworks = options.minNetworks ?? options.networks?.length ?? 1;
    this.cni = new CNIConfig({
      path: options.pluginDirs,
      cacheDir: options.cacheDir,
      exec: options.exec,
      timeoutMs: options.timeoutMs,
      env: options.env,
      extraEnv: options.extraEnv,
      onCacheQuarantine: (info) => {
        this.notify('cacheQuarantine', info);
      },
    });
    if (options.lockFiles !== false) this.lockFile = new ContainerLockFile(this.cni.cacheDir);
  }

  /** Construct and {@link start} in one step. */
  static async create(options: NetworkManagerOptions): Promise<NetworkManager> {
    const m = new NetworkManager(options);
    await m.start();
    return m;
  }

  /** Load the configuration and, with `watch`, start watching. Safe to call more than once. */
  async start(): Promise<void> {
    await this.ensureLoaded();
    if (this.options.watch && !this.watcher) {
      // chokidar does not reliably see files appear in a directory created after the watch began.
      await fs.mkdir(this.confDir, { recursive: true });
      const w = new ConfDirWatcher(this.confDir, {
        debounceMs: this.options.debounceMs,
        onChange: async () => {
          await this.load();
        },
        onError: (err) => {
          this.notify('watchError', err);
        },
      });
      this.watcher = w;
      await w.start();
    }
  }

  /** Stop watching. Operations keep working (on the last loaded configuration). */
  async close(): Promise<void> {
    const w = this.watcher;
    this.watcher = undefined;
    if (w) await w.close();
  }

  /** Resolves when no reload is pending (useful after changing files with `watch` on). */
  async settled(): Promise<void> {
    if (this.watcher) await this.watcher.idle();
    await this.loadChain;
  }

  /** The networks containers are attached to now, in order. */
  get networks(): readonly ManagedNetwork[] {
    return this.set.networks;
  }

  /** Files that could not be used at the last load. */
  get configErrors(): readonly ConfigFileError[] {
    return this.set.configErrors;
  }

  /**
   * (Re)read `confDir`. Never throws for bad files: they are reported (event, {@link status}); a
   * file that parsed before keeps its last good version. A scan that fails as a whole keeps the
   * whole previous set. Loads are serialized.
   */
  async load(): Promise<NetworkSet> {
    const next = this.loadChain.then(() => this.loadOnce());
    this.loadChain = next.catch(() => undefined);
    return next;
  }

  private async loadOnce(): Promise<NetworkSet> {
    let scan: Awaited<ReturnType<typeof loadNetworkConfDir>>;
    try {
      scan = await loadNetworkConfDir(this.confDir);
    } catch (e) {
      const report: ConfigFileError = { file: this.confDir, error: asError(e) };
      this.set = { ...this.set, configErrors: [report] };
      this.notify('configError', report);
      return this.set;
    }
    const dirError = scan.errors.find((x) => x.file === this.confDir);
    if (dirError !== undefined && scan.networks.length === 0) {
      // The directory itself could not be read: that says nothing about the networks, keep them.
      const report: ConfigFileError = { file: this.confDir, error: asError(dirError.error) };
      this.set = { ...this.set, configErrors: [report] };
      if (this.lastErrorText.get(report.file) !== report.error.message) this.notify('configError', report);
      this.lastErrorText = new Map([[report.file, report.error.message]]);
      return this.set;
    }
    const next = buildNetworkSet(
      {
        networks: scan.networks,
        errors: scan.errors.map((x) => ({ file: x.file, error: asError(x.error) })),
      },
      this.set.networks,
      {
        networks: this.options.networks,
        maxNetworks: this.options.maxNetworks,
        loopback: this.options.loopback,
      },
      (err) => err instanceof DuplicateNetworkError,
    );
    this.set = next;
    const seen = new Map<string, string>();
    for (const ce of next.configErrors) {
      seen.set(ce.file, ce.error.message);
      if (this.lastErrorText.get(ce.file) !== ce.error.message) this.notify('configError', ce);
    }
    this.lastErrorText = seen;
    this.notify('configLoaded', {
      networks: next.networks.map((n) => ({ name: n.name, file: n.file, stale: n.staleError !== undefined })),
      configErrors: [...next.configErrors],
      missing: [...next.missing],
    });
    return next;
  }

  private ensureLoaded(): Promise<NetworkSet> {
    this.firstLoad ??= this.load();
    return this.firstLoad;
  }

  /** Emit without letting a throwing listener break an operation half-way (rethrown on the next tick). */
  private notify<K extends keyof NetworkManagerEvents>(event: K, ...args: NetworkManagerEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: NetworkManagerEvents[K]) => boolean)(event, ...args);
    } catch (e) {
      process.nextTick(() => {
        throw e;
      });
    }
  }

  /**
   * Hold the container's place: FIFO per container, shared with other containers, exclusive of
   * GC, and the advisory lock file for other processes. The network set is read after the locks
   * are held, so an operation that waited behind a reload uses the new configuration, and one that
   * started keeps its snapshot.
   */
  private async withContainer<T>(
    containerId: string,
    signal: AbortSignal | undefined,
    fn: (snapshot: NetworkSet) => Promise<T>,
  ): Promise<T> {
    validateContainerId(containerId);
    await this.ensureLoaded();
    const releases: Release[] = [];
    let releaseFile: (() => Promise<void>) | undefined;
    try {
      releases.push(await this.mutex.acquire(containerId, signal));
      releases.push(await this.gate.acquireShared(signal));
      releases.push(this.markActive(containerId));
      if (this.lockFile) {
        releaseFile = await this.lockFile.acquire(containerId, {
          signal,
          timeoutMs: this.options.lockTimeoutMs,
        });
      }
      return await fn(this.set);
    } finally {
      if (releaseFile) await releaseFile();
      for (const r of releases.reverse()) r();
    }
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

  private assertReady(set: NetworkSet): void {
    const loaded = set.networks.filter((n) => !n.builtin).length;
    const missing = set.missing;
    if (missing.length > 0) {
      throw new NotReadyError(
        `failed to find requested network name ${missing.map((m) => JSON.stringify(m)).join(', ')} in ${this.confDir}`,
        loaded,
        this.minNetworks,
        missing,
      );
    }
    if (loaded < this.minNetworks) {
      throw new NotReadyError(
        `cni plugin not initialized: ${loaded} network(s) loaded from ${this.confDir}, need ${this.minNetworks}`,
        loaded,
        this.minNetworks,
        [],
      );
    }
  }

  /** The attachments a setup of `networks` makes: interface names, args and capability args. */
  private plan(
    containerId: string,
    netnsPath: string,
    networks: readonly ManagedNetwork[],
    opts: SetupOptions | ContainerOpOptions,
  ): PlannedAttachment[] {
    const per = opts.perNetwork ?? {};
    const ifNames = allocateInterfaceNames(
      networks.map((n) => ({ network: n.name, ifName: n.fixedIfName ?? per[n.name]?.ifName })),
      this.interfacePrefix,
    );
    const common = opts as SetupOptions;
    return networks.map((network, i) => {
      const own = per[network.name];
      return {
        network,
        list: network.list,
        rt: {
          containerId,
          netns: netnsPath,
          ifName: ifNames[i] as string,
          args: this.withIgnoreUnknown(mergeArgs(common.args, own?.args)),
          capabilityArgs: mergeCapabilityArgs(common.capabilityArgs, own?.capabilityArgs),
        },
      };
    });
  }

  private withIgnoreUnknown(args: Array<[string, string]> | undefined): Array<[string, string]> | undefined {
    if (args === undefined || this.options.ignoreUnknownArgs === false) return args;
    if (args.some(([k]) => k.toLowerCase() === 'ignoreunknown')) return args;
    return [['IgnoreUnknown', '1'], ...args];
  }

  /**
   * Attach the container to every network: interfaces `<prefix>0`, `<prefix>1`, … in network order
   * (explicit per-network names honoured). On any failure every attachment already made — and the
   * failed one, as the spec requires a DEL after a failed ADD — is DELeted in reverse order under a
   * fresh deadline, and a {@link SetupError} is thrown whose `cause` is the original error and whose
   * `rollback` tells how the cleanup went.
   */
  async setup(containerId: string, netnsPath: string, opts: SetupOptions = {}): Promise<SetupResult> {
    return this.withContainer(containerId, opts.signal, async (snapshot) => {
      this.assertReady(snapshot);
      const networks = snapshot.networks;
      const plan = this.plan(containerId, netnsPath, networks, opts);
      const parts = opts.parallel
        ? await this.addParallel(containerId, plan, opts.signal)
        : await this.addSerial(containerId, plan, opts.signal);
      return mergeResults(parts);
    });
  }

  private async addOne(containerId: string, p: PlannedAttachment, signal: AbortSignal | undefined) {
    signal?.throwIfAborted();
    const raw = await this.cni.addNetworkList(p.list, p.rt, { signal });
    const converted = toMergeable(raw);
    this.notify('attached', { containerId, network: p.network.name, ifName: p.rt.ifName, result: raw });
    return { network: p.network.name, ifName: p.rt.ifName, raw, converted };
  }

  private async addSerial(containerId: string, plan: PlannedAttachment[], signal: AbortSignal | undefined) {
    const attempted: PlannedAttachment[] = [];
    const parts = [];
    for (const p of plan) {
      attempted.push(p);
      try {
        parts.push(await this.addOne(containerId, p, signal));
      } catch (e) {
        const cause = asError(e);
        const rollback = await this.rollback(containerId, attempted, cause);
        throw new SetupError(cause, { containerId, network: p.network.name, ifName: p.rt.ifName }, rollback);
      }
    }
    return parts;
  }

  private async addParallel(containerId: string, plan: PlannedAttachment[], signal: AbortSignal | undefined) {
    // One failure cancels the siblings still running: their work is about to be undone anyway.
    // Failures are kept in the order they happened; those caused by that cancellation are noise.
    const siblings = new AbortController();
    const combined = signal ? AbortSignal.any([signal, siblings.signal]) : siblings.signal;
    const failures: Array<{ i: number; error: Error }> = [];
    const settled = await Promise.allSettled(
      plan.map((p, i) =>
        this.addOne(containerId, p, combined).catch((e: unknown) => {
          if (!siblings.signal.aborted) failures.push({ i, error: asError(e) });
          siblings.abort();
          throw e;
        }),
      ),
    );
    if (failures.length === 0) {
      return settled.map((s) => (s as PromiseFulfilledResult<Awaited<ReturnType<typeof this.addOne>>>).value);
    }
    const first = failures[0] as { i: number; error: Error };
    const failedPlan = plan[first.i] as PlannedAttachment;
    const rollback = await this.rollback(containerId, plan, first.error);
    throw new SetupError(
      first.error,
      { containerId, network: failedPlan.network.name, ifName: failedPlan.rt.ifName },
      rollback,
      failures.slice(1).map((f) => f.error),
    );
  }

  /** DEL the attempted attachments newest first, with a deadline of its own. */
  private async rollback(
    containerId: string,
    attempted: PlannedAttachment[],
    cause: Error,
  ): Promise<RollbackOutcome> {
    const signal = AbortSignal.timeout(this.options.cleanupTimeoutMs ?? DEFAULT_CLEANUP_TIMEOUT_MS);
    const errors: Error[] = [];
    const undone: Array<{ network: string; ifName: string }> = [];
    for (const p of [...attempted].reverse()) {
      try {
        await this.cni.delNetworkList(p.list, p.rt, { signal });
        undone.push({ network: p.network.name, ifName: p.rt.ifName });
        this.notify('detached', {
          containerId,
          network: p.network.name,
          ifName: p.rt.ifName,
          source: 'config',
        });
      } catch (e) {
        errors.push(asError(e));
      }
    }
    const outcome: RollbackOutcome = { ok: errors.length === 0, errors, undone };
    this.notify('rollback', { containerId, cause, ...outcome });
    return outcome;
  }

  /**
   * The network list to DEL/CHECK a cached attachment with: the cached bytes, as ocicni and podman
   * do, so the operation matches what was set up even if the file changed or is gone. Bytes that
   * hold a single plugin (a legacy `.conf` added directly) are wrapped in a list. When the bytes
   * cannot be used — unparseable, or a list whose plugins came from a subdirectory (Go caches only
   * the file's own bytes) — the loaded network of that name is used.
   */
  private listForCached(a: NetworkAttachment, loaded: readonly ManagedNetwork[]): NetworkConfigList {
    let list: NetworkConfigList | undefined;
    let problem: Error | undefined;
    try {
      list = networkConfFromBytes(a.config);
      if (list.plugins.length === 0) {
        list = undefined;
        try {
          list = confListFromConf(pluginConfFromBytes(a.config));
        } catch {
          problem = new ConfigError(`cached config of network ${JSON.stringify(a.network)} lists no plugins`);
        }
      }
    } catch (e) {
      problem = asError(e);
    }
    if (list === undefined) {
      const fallback = loaded.find((n) => n.name === a.network);
      if (fallback) return fallback.list;
      throw new LibcniError(
        `cannot delete attachment ${a.network}/${a.ifName}: cached config unusable and network not loaded: ${problem?.message ?? 'unknown'}`,
        { cause: problem, context: { network: a.network, containerId: a.containerId, ifName: a.ifName } },
      );
    }
    // The cache file is named after the network the runtime asked for; keep that name authoritative.
    return list.name === a.network ? list : { ...list, name: a.network };
  }

  /** A container's cached attachments, newest first (cache file mtime, then network order). */
  private async cachedAttachments(containerId: string, loaded: readonly ManagedNetwork[]) {
    const all = await this.cni.getCachedAttachments(containerId);
    const order = new Map(loaded.map((n, i) => [n.name, i]));
    const stamped = await Promise.all(
      all.map(async (a) => {
        // vanished meanwhile: sorts as oldest
        const mtime = (await this.cni.getCachedAttachmentMtime(a)) ?? 0n;
        return { a, mtime };
      }),
    );
    stamped.sort((x, y) => {
      if (x.mtime !== y.mtime) return x.mtime > y.mtime ? -1 : 1;
      return (order.get(y.a.network) ?? -1) - (order.get(x.a.network) ?? -1);
    });
    return stamped.map((s) => s.a);
  }

  private rtForCached(a: NetworkAttachment, netnsPath: string): RuntimeConf {
    return {
      containerId: a.containerId,
      netns: netnsPath,
      ifName: a.ifName,
      args: a.cniArgs,
      capabilityArgs: a.capabilityArgs,
    };
  }

  /**
   * DEL every attachment of the container: first each cached attachment (newest first) with its
   * cached config, args and capability args; then every loaded network that has no cache entry,
   * with the loaded config (an ADD that died before writing the cache still gets its DEL). Errors
   * do not stop it; they are thrown together at the end as an {@link AggregateLibcniError}.
   * Tearing down a container that has nothing left succeeds.
   */
  async teardown(
    containerId: string,
    netnsPath: string,
    opts: ContainerOpOptions = {},
  ): Promise<TeardownResult> {
    return this.withContainer(containerId, opts.signal, async ({ networks }) => {
      const detached: DetachedAttachment[] = [];
      const errors: Error[] = [];
      const handled = new Set<string>();
      let cached: NetworkAttachment[] = [];
      try {
        cached = await this.cachedAttachments(containerId, networks);
      } catch (e) {
        errors.push(asError(e));
      }
      for (const a of cached) {
        handled.add(a.network);
        try {
          const list = this.listForCached(a, networks);
          await this.cni.delNetworkList(list, this.rtForCached(a, netnsPath), { signal: opts.signal });
          const d: DetachedAttachment = {
            containerId,
            network: a.network,
            ifName: a.ifName,
            source: 'cache',
          };
          detached.push(d);
          this.notify('detached', d);
        } catch (e) {
          errors.push(asError(e));
        }
      }
      let plan: PlannedAttachment[] = [];
      try {
        plan = this.plan(containerId, netnsPath, networks, opts);
      } catch (e) {
        errors.push(asError(e));
      }
      for (const p of plan.reverse()) {
        if (handled.has(p.network.name)) continue;
        try {
          await this.cni.delNetworkList(p.list, p.rt, { signal: opts.signal });
          const d: DetachedAttachment = {
            containerId,
            network: p.network.name,
            ifName: p.rt.ifName,
            source: 'config',
          };
          detached.push(d);
          this.notify('detached', d);
        } catch (e) {
          errors.push(asError(e));
        }
      }
      // An entry no DEL could read (of a network no longer loaded, or under another interface name)
      // would otherwise stay forever, invisible to listing: move it aside and say so.
      try {
        for (const q of await this.cni.quarantineCorruptCache(containerId)) this.notify('cacheQuarantine', q);
      } catch (e) {
        errors.push(asError(e));
      }
      if (errors.length > 0) {
        throw new AggregateLibcniError(errors, { context: { command: 'DEL', containerId } });
      }
      return { detached };
    });
  }

  /**
   * CHECK every cached attachment of the container (oldest first) with its cached config; a loaded
   * network the container is not attached to is an error too. Networks whose version predates CHECK
   * (< 0.4.0) are skipped. All failures are thrown together as an {@link AggregateLibcniError}.
   */
  async check(containerId: string, netnsPath: string, opts: ContainerOpOptions = {}): Promise<void> {
    return this.withContainer(containerId, opts.signal, async ({ networks }) => {
      const errors: Error[] = [];
      const cached = (await this.cachedAttachments(containerId, networks)).reverse();
      const attached = new Set(cached.map((a) => a.network));
      for (const n of networks) {
        if (!attached.has(n.name)) {
          errors.push(
            new LibcniError(`container ${containerId} is not attached to network ${JSON.stringify(n.name)}`, {
              context: { command: 'CHECK', network: n.name, containerId },
            }),
          );
        }
      }
      for (const a of cached) {
        try {
          const list = this.listForCached(a, networks);
          if (!supportsCheck(list.cniVersion)) continue;
          await this.cni.checkNetworkList(list, this.rtForCached(a, netnsPath), { signal: opts.signal });
        } catch (e) {
          errors.push(asError(e));
        }
      }
      if (errors.length > 0)
        throw new AggregateLibcniError(errors, { context: { command: 'CHECK', containerId } });
    });
  }

  /**
   * Readiness: every loaded network's plugins are installed and answer STATUS (spec >= 1.1.0), at
   * least `minNetworks` networks are loaded, and every network named in the options is. Bad files
   * are listed but do not make the manager unready by themselves.
   */
  async status(
    opts: { signal?: AbortSignal | undefined; timeoutMs?: number | undefined } = {},
  ): Promise<ManagerStatus> {
    await this.ensureLoaded();
    const set = this.set;
    const timeoutMs = opts.timeoutMs ?? this.options.timeoutMs ?? DEFAULT_STATUS_TIMEOUT_MS;
    const networks = await Promise.all(
      set.networks.map(async (n): Promise<NetworkStatus> => {
        const base = { name: n.name, file: n.file, builtin: n.builtin, stale: n.staleError !== undefined };
        try {
          // STATUS only exists from 1.1.0; for older lists at least make sure the binaries are there.
          for (const plugin of n.list.plugins) await this.cni.findPlugin(plugin.network.type);
          await this.cni.getStatusNetworkList(n.list, { signal: opts.signal, timeoutMs });
          return { ...base, ok: true };
        } catch (e) {
          return { ...base, ok: false, error: asError(e) };
        }
      }),
    );
    const loaded = set.networks.filter((n) => !n.builtin).length;
    return {
      ready: loaded >= this.minNetworks && set.missing.length === 0 && networks.every((n) => n.ok),
      networks,
      configErrors: [...set.configErrors],
      missing: [...set.missing],
      minNetworks: this.minNetworks,
    };
  }

  /**
   * Garbage-collect. Every cached attachment not in `valid` is DELeted with its own cached config —
   * also those of networks no longer loaded — then every loaded network gets libcni's GC (plugins
   * >= 1.1.0 receive the valid attachments). `valid` is container ids (all their attachments stay)
   * or `(containerId, ifName[, network])` pairs; it is required — pass `[]` to remove everything.
   *
   * The cache is read and matched against `valid` first, without blocking anything; only then does
   * GC take the gate exclusively (waiting for the ADDs, CHECKs and DELs in flight, holding back new
   * ones), look again at what changed meanwhile — one directory listing, plus the entries of the
   * containers operated on since it started — and run the DELs and the plugins' GC. Operations
   * that were in flight when GC was called are ordered before it: their attachments are collected
   * if not valid. Operations that started after it are ordered after it: their containers'
   * attachments are left alone this round. Matching is by hash lookups, so the cost is linear in
   * the cache and the valid list.
   *
   * An attachment whose DEL failed is reported to the plugins as still valid, since its resources
   * are still held and its cache entry still exists; the next GC retries it.
   */
  async gc(valid: readonly string[] | readonly GcValidAttachment[], opts: GcOptions = {}): Promise<GcReport> {
    if (!Array.isArray(valid)) {
      throw new TypeError(
        'gc: the list of valid containers or attachments is required (pass [] to remove all)',
      );
    }
    await this.ensureLoaded();
    opts.signal?.throwIfAborted();
    const index = new ValidIndex(valid);
    const verdicts = new WeakMap<NetworkAttachment, GcVerdict>();
    const verdict = (a: NetworkAttachment, loaded: readonly ManagedNetwork[]): GcVerdict => {
      let v = verdicts.get(a);
      if (v === undefined) {
        v = this.gcVerdict(a, index, loaded);
        verdicts.set(a, v);
      }
      return v;
    };

    // Outside the exclusive section: read and match the whole cache.
    const watch: GcWatch = { inFlight: new Set(this.active.keys()), late: new Set() };
    this.gcWatches.add(watch);
    let release: Release;
    let before = new Map<string, NetworkAttachment | undefined>();
    try {
      try {
        before = await this.readCacheByName();
      } catch {
        // Read again below, under the gate; an error that persists is reported from there.
      }
      const loaded = this.set.networks;
      for (const a of before.values()) if (a !== undefined) verdict(a, loaded);
      if (!index.byId) for (const n of loaded) index.pairsFor(n.name);
      release = await this.gate.acquireExclusive(opts.signal);
    } finally {
      this.gcWatches.delete(watch);
    }

    try {
      const networks = this.set.networks;
      const report: GcReport = { removed: [], errors: [], dryRun: opts.dryRun === true };
      // Under the gate: one listing; files read again only where something may have changed.
      let names: string[] = [];
      try {
        names = (await this.cni.listCacheEntryNames()) ?? [];
      } catch (e) {
        report.errors.push(asError(e));
      }
      const touched = (id: string): boolean => watch.inFlight.has(id) || watch.late.has(id);
      const all: NetworkAttachment[] = [];
      for (const name of names) {
        const seen = before.get(name);
        const a =
          seen !== undefined && !touched(seen.containerId) ? seen : await this.cni.readCacheEntry(name);
        if (a !== undefined) all.push(a);
      }
      const kept: NetworkAttachment[] = [];
      const stale: Array<{ a: NetworkAttachment; list: NetworkConfigList }> = [];
      for (const a of all) {
        if (watch.late.has(a.containerId)) {
          kept.push(a);
          continue;
        }
        const v = verdict(a, networks);
        if (v.keep) {
          if ('error' in v) report.errors.push(v.error);
          kept.push(a);
        } else if (v.list.disableGC) kept.push(a);
        else stale.push({ a, list: v.list });
      }
      if (report.dryRun) {
        report.removed = stale.map(({ a }) => ({
          containerId: a.containerId,
          network: a.network,
          ifName: a.ifName,
        }));
        return report;
      }
      const signal =
        opts.signal ?? AbortSignal.timeout(this.options.cleanupTimeoutMs ?? DEFAULT_CLEANUP_TIMEOUT_MS);
      for (const { a, list } of stale) {
        let releaseFile: (() => Promise<void>) | undefined;
        try {
          if (this.lockFile) {
            releaseFile = await this.lockFile.acquire(a.containerId, {
              signal,
              timeoutMs: this.options.lockTimeoutMs,
            });
          }
          await this.cni.delNetworkList(list, this.rtForCached(a, a.netns), { signal });
          report.removed.push({ containerId: a.containerId, network: a.network, ifName: a.ifName });
          this.notify('detached', {
            containerId: a.containerId,
            network: a.network,
            ifName: a.ifName,
            source: 'cache',
          });
        } catch (e) {
          report.errors.push(asError(e));
          kept.push(a);
        } finally {
          if (releaseFile) await releaseFile();
        }
      }
      const keptByNetwork = new Map<string, NetworkAttachment[]>();
      for (const a of kept) {
        const list = keptByNetwork.get(a.network);
        if (list === undefined) keptByNetwork.set(a.network, [a]);
        else list.push(a);
      }
      for (const n of networks) {
        const cachedAttachments = keptByNetwork.get(n.name) ?? [];
        const validAttachments: GCAttachment[] = cachedAttachments.map((a) => ({
          containerId: a.containerId,
          ifName: a.ifName,
        }));
        if (!index.byId) {
          const listed = new AttachmentSet();
          for (const a of cachedAttachments) listed.add(a.containerId, a.ifName);
          for (const p of index.pairsFor(n.name))
            if (!listed.has(p.containerId, p.ifName)) validAttachments.push(p);
        }
        try {
          // What is left in the cache for this network is `cachedAttachments`, all of it valid:
          // libcni's own sweep has nothing to do, and need not read the cache again.
          await this.cni.gcNetworkList(n.list, { validAttachments }, { signal, cachedAttachments });
        } catch (e) {
          const err = asError(e);
          if (err instanceof AggregateLibcniError) report.errors.push(...err.errors);
          else report.errors.push(err);
        }
      }
      this.notify('gc', report);
      return report;
    } finally {
      release();
    }
  }

  /** Every cache file by name, with what it holds (undefined: unreadable or not an entry). */
  private async readCacheByName(): Promise<Map<string, NetworkAttachment | undefined>> {
    const out = new Map<string, NetworkAttachment | undefined>();
    for (const name of (await this.cni.listCacheEntryNames()) ?? []) {
      out.set(name, await this.cni.readCacheEntry(name));
    }
    return out;
  }

  /** Keep a cached attachment (valid, or its config unusable) or DEL it with the list it names. */
  private gcVerdict(a: NetworkAttachment, index: ValidIndex, loaded: readonly ManagedNetwork[]): GcVerdict {
    if (index.has(a)) return { keep: true };
    try {
      return { keep: false, list: this.listForCached(a, loaded) };
    } catch (e) {
      return { keep: true, error: asError(e) };
    }
  }
}

function supportsCheck(version: string): boolean {
  try {
    return greaterThanOrEqualTo(version, '0.4.0');
  } catch {
    return false;
  }
}

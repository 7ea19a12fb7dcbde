/**
 * NetworkManager: what a container runtime needs on top of libcni, written once (containerd's
 * go-cni, CRI-O's ocicni and podman each write it again, each with gaps):
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
import { CNIConfig } from '../cni/config.ts';
import type { CNI, GCAttachment } from '../cni/types.ts';
import { throwIfAborted, underSignal } from '../core/abort.ts';
import type { ConfigFileError } from '../config/load.ts';
import type { NetworkConfigList } from '../config/types.ts';
import { ErrorCode, ValidationError } from '../core/errors.ts';
import { writeLog } from '../core/logger.ts';
import { setup } from './attach.ts';
import { ConfigSource } from './config-source.ts';
import { asError, type Notify, type ResolvedOptions } from './context.ts';
import { Coordination, type OperationContext } from './coordination.ts';
import { check, teardown } from './detach.ts';
import { gc } from './gc.ts';
import { inspect } from './inspect.ts';
import { eventEntry } from './log-events.ts';
import type { SetupResult } from './merge.ts';
import { notReadyReason, type ManagedNetwork, type NetworkSet } from './network-set.ts';
import type {
  NetworkManagerOptions,
  SetupOptions,
  ContainerOpOptions,
  TeardownResult,
  GcOptions,
  GcReport,
  InspectOptions,
  InspectResult,
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
export type { ConfigFileError } from '../config/load.ts';
export type { ManagedNetwork, NetworkSet } from './network-set.ts';
export type { CniArgsInput } from './args.ts';
// Every type of the manager's API (types.ts holds nothing else).
export type * from './types.ts';

/** Where the networks are read from when neither `confDir` nor `configs` is given (as containerd, CRI-O, podman). */
export const DEFAULT_CONF_DIR = '/etc/cni/net.d';
/** Where plugins are looked for when `pluginDirs` is not given (as containerd and CRI-O). */
export const DEFAULT_PLUGIN_DIRS: readonly string[] = Object.freeze(['/opt/cni/bin']);

/** Default bound on a STATUS round, so a hung plugin cannot hang a readiness probe. */
const DEFAULT_STATUS_TIMEOUT_MS = 10_000;

/**
 * Attaches containers to CNI networks and detaches them: see the module comment. Create it, `await
 * start()` (or call an operation, which loads the configuration on first use), and `close()` it when
 * done if `watch` is on.
 *
 * A facade: the configuration (config-source.ts), who may operate when (coordination.ts), setup
 * (attach.ts), teardown and CHECK (detach.ts) and GC (gc.ts) are parts it hands what they need.
 */
export class NetworkManager extends EventEmitter<NetworkManagerEvents> {
  /** The directory read; undefined when the configurations were given (`configs`). */
  readonly confDir: string | undefined;
  readonly cni: CNI;
  readonly interfacePrefix: string;
  readonly minNetworks: number;
  private readonly options: ResolvedOptions;
  private readonly config: ConfigSource;
  private readonly ops: OperationContext;

  /** Every option has a default: `new NetworkManager()` reads `/etc/cni/net.d` and runs `/opt/cni/bin`. */
  constructor(options: NetworkManagerOptions = {}) {
    super();
    const configs = checkOptions(options);
    this.confDir = configs === undefined ? (options.confDir ?? DEFAULT_CONF_DIR) : undefined;
    this.interfacePrefix = options.interfacePrefix ?? 'eth';
    this.minNetworks = options.minNetworks ?? (Array.isArray(options.networks) ? options.networks.length : 1);
    this.options = {
      raw: options,
      confDir: this.confDir,
      configs,
      origin: this.confDir ?? 'the configs given',
      interfacePrefix: this.interfacePrefix,
      minNetworks: this.minNetworks,
    };
    this.cni =
      options.cni ??
      new CNIConfig({
        path: options.pluginDirs ?? DEFAULT_PLUGIN_DIRS,
        cacheDir: options.cacheDir,
        cacheSync: options.cacheSync,
        exec: options.exec,
        timeoutMs: options.timeoutMs,
        env: options.env,
        extraEnv: options.extraEnv,
        stderr: options.stderr,
        logger: options.logger,
        // Fed by the cache where each quarantine happens (after the diagnostics channel).
        onCacheQuarantine: (info) => {
          this.notify('cacheQuarantine', info);
        },
      });
    const notify: Notify = (event, ...args) => {
      this.notify(event, ...args);
    };
    this.config = new ConfigSource(this.options, notify, (type) => this.cni.findPlugin(type));
    this.ops = {
      cni: this.cni,
      options: this.options,
      notify,
      config: this.config,
      coordination: new Coordination(this.config, this.options, this.cni.cacheDir),
    };
  }

  /** Construct and {@link start} in one step. */
  static async create(options: NetworkManagerOptions = {}): Promise<NetworkManager> {
    const m = new NetworkManager(options);
    await m.start();
    return m;
  }

  /** Load the configuration and, with `watch`, start watching. Safe to call more than once. */
  async start(): Promise<void> {
    await this.config.ensureLoaded();
    await this.config.startWatching();
  }

  /** Stop watching. Operations keep working (on the last loaded configuration). */
  async close(): Promise<void> {
    await this.config.close();
  }

  /** Resolves when no reload is pending (useful after changing files with `watch` on). */
  async settled(): Promise<void> {
    await this.config.settled();
  }

  /** The networks containers are attached to now, in order. */
  get networks(): readonly ManagedNetwork[] {
    return this.config.current.networks;
  }

  /** Files that could not be used at the last load. */
  get configErrors(): readonly ConfigFileError[] {
    return this.config.current.configErrors;
  }

  /**
   * (Re)read `confDir` (with `configs`: look their plugins up again). Never throws for bad files: they are reported (event, {@link status}); a
   * file that parsed before keeps its last good version. A scan that fails as a whole keeps the
   * whole previous set. Loads are serialized.
   */
  async load(): Promise<NetworkSet> {
    return this.config.load('load');
  }

  /**
   * Log, then emit without letting a throwing listener break an operation half-way (rethrown on the
   * next tick). A quarantine is logged by the CNIConfig the manager made, where it happens.
   */
  private notify<K extends keyof NetworkManagerEvents>(event: K, ...args: NetworkManagerEvents[K]): void {
    const logger = this.options.raw.logger;
    if (logger !== undefined && !(event === 'cacheQuarantine' && this.options.raw.cni === undefined)) {
      writeLog(logger, eventEntry(event, ...args));
    }
    try {
      (this.emit as (e: K, ...a: NetworkManagerEvents[K]) => boolean)(event, ...args);
    } catch (e) {
      process.nextTick(() => {
        throw e;
      });
    }
  }

  /**
   * Attach the container to every network: interfaces `<prefix>0`, `<prefix>1`, … in network order
   * (explicit per-network names honoured). On any failure every attachment already made — and the
   * failed one, as the spec requires a DEL after a failed ADD — is DELeted in reverse order under a
   * fresh deadline, and a {@link SetupError} is thrown whose `cause` is the original error and whose
   * `rollback` tells how the cleanup went.
   */
  async setup(containerId: string, netnsPath: string, opts: SetupOptions = {}): Promise<SetupResult> {
    return underSignal(opts.signal, { command: 'ADD', containerId }, () =>
      setup(this.ops, containerId, netnsPath, opts),
    );
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
    return underSignal(opts.signal, { command: 'DEL', containerId }, () =>
      teardown(this.ops, containerId, netnsPath, opts),
    );
  }

  /**
   * CHECK every cached attachment of the container (oldest first) with its cached config; a loaded
   * network the container is not attached to is an error too. Networks whose version predates CHECK
   * (< 0.4.0) are skipped. All failures are thrown together as an {@link AggregateLibcniError}.
   */
  async check(containerId: string, netnsPath: string, opts: ContainerOpOptions = {}): Promise<void> {
    return underSignal(opts.signal, { command: 'CHECK', containerId }, () =>
      check(this.ops, containerId, netnsPath, opts),
    );
  }

  /**
   * What the container is attached to, from the attachment cache alone: usable in any process,
   * including one that never ran `setup` (after a runtime restart). Gives each cached attachment
   * (network, interface, namespace, cached result) oldest first, the merged view `setup` returns,
   * the container's addresses with the pod IPs containerd would choose, and the DNS settings
   * merged for `resolv.conf`. A container with nothing cached gives no attachments, not an error.
   *
   * With `check`, CHECK runs for each attachment in its cached namespace; each outcome is reported
   * on the attachment (a failure does not throw) and `ok` is false if any failed. It holds the
   * container's place like every container operation, so it never sees a setup half-made.
   */
  async inspect(containerId: string, opts: InspectOptions = {}): Promise<InspectResult> {
    return inspect(this.ops, containerId, opts);
  }

  /**
   * Readiness: every selected network's plugins are installed and answer STATUS (spec >= 1.1.0), at
   * least `minNetworks` networks are selected, and every network named in the options is. Bad files
   * (`configErrors`) and networks left out (`skipped`: a plugin not installed, not selected) are
   * listed, but only a named one makes the manager unready.
   */
  async status(
    opts: { signal?: AbortSignal | undefined; timeoutMs?: number | undefined } = {},
  ): Promise<ManagerStatus> {
    throwIfAborted(opts.signal, { command: 'STATUS' });
    await this.config.ensureLoaded();
    const set = this.config.current;
    const timeoutMs = opts.timeoutMs ?? this.options.raw.timeoutMs ?? DEFAULT_STATUS_TIMEOUT_MS;
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
    return {
      ready: notReadyReason(set, this.options) === undefined && networks.every((n) => n.ok),
      networks,
      configErrors: [...set.configErrors],
      missing: [...set.missing],
      skipped: [...set.skipped],
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
  async gc(valid: readonly string[] | readonly GCAttachment[], opts: GcOptions = {}): Promise<GcReport> {
    return underSignal(opts.signal, { command: 'GC' }, () => gc(this.ops, valid, opts));
  }
}

/**
 * Refuse contradictory or malformed options before anything runs; return a copy of `configs`
 * (undefined when the networks come from a directory).
 */
function checkOptions(options: NetworkManagerOptions): readonly NetworkConfigList[] | undefined {
  const invalid = (field: string, msg: string) =>
    new ValidationError(field, ErrorCode.InvalidNetworkConfig, `NetworkManager: ${msg}`);
  if (options.confDir !== undefined && (typeof options.confDir !== 'string' || options.confDir === ''))
    throw invalid('confDir', 'options.confDir must be a non-empty string');
  if (options.pluginDirs !== undefined && !Array.isArray(options.pluginDirs))
    throw invalid('pluginDirs', 'options.pluginDirs must be an array');
  const n = options.networks;
  if (
    n !== undefined &&
    n !== 'first' &&
    n !== 'all' &&
    !(Array.isArray(n) && n.every((x) => typeof x === 'string'))
  )
    throw invalid('networks', `options.networks must be 'first', 'all' or an array of names`);
  if (options.configs === undefined) return undefined;
  if (options.confDir !== undefined)
    throw invalid('configs', 'options.configs and options.confDir are exclusive: give one of them');
  if (options.watch)
    throw invalid('watch', 'options.watch needs a confDir to watch; with options.configs there is none');
  const given: unknown = options.configs;
  if (!Array.isArray(given)) throw invalid('configs', 'options.configs must be an array');
  const names = new Set<string>();
  for (const [i, list] of (options.configs as readonly unknown[]).entries()) {
    const l = list as Partial<NetworkConfigList> | null;
    if (
      typeof l !== 'object' ||
      l === null ||
      typeof l.name !== 'string' ||
      !Array.isArray(l.plugins) ||
      l.plugins.length === 0 ||
      !l.plugins.every(hasType)
    )
      throw invalid(
        'configs',
        `options.configs[${i}] is not a network configuration list with plugins (use networkConfFromBytes)`,
      );
    if (names.has(l.name))
      throw invalid(
        'configs',
        `options.configs[${i}]: network name ${JSON.stringify(l.name)} is given twice`,
      );
    names.add(l.name);
  }
  return options.configs.slice();
}

function hasType(p: unknown): boolean {
  return typeof (p as { network?: { type?: unknown } } | null)?.network?.type === 'string';
}

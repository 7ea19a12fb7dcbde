/**
 * The shapes NetworkManager takes and returns: options, results, reports and events. Apart from the
 * manager so that its file is about behaviour, and so a runtime can import the types alone.
 */
import type { CNI, CNIConfigOptions } from '../cni/types.ts';
import type { ConfigFileError } from '../config/load.ts';
import type { NetworkConfigList } from '../config/types.ts';
import type { RollbackOutcome } from '../core/runtime-errors.ts';
import type { Result } from '../types/result-model.ts';
import type { CniArgsInput } from './args.ts';
import type { Capabilities } from './capabilities.ts';
import type { MergedInterface, MergedRoute } from './merge.ts';

/**
 * Which networks a manager attaches containers to, among those it loaded (a network with a plugin
 * that is not in `pluginDirs` is never among them):
 * - `first`: the first one, as containerd and CRI-O pick their default network;
 * - `all`: every one (go-cni `WithAllConf`);
 * - names: exactly those, in this order; one that is missing or has a plugin that is not installed
 *   makes the manager not ready.
 */
export type NetworksOption = 'first' | 'all' | readonly string[];

/** A network the manager loaded but does not attach containers to, and why. */
export interface SkippedNetwork {
  name: string;
  /** The file it was loaded from; undefined for a configuration given in `configs`. */
  file: string | undefined;
  /**
   * - `pluginMissing`: one of its plugins is not in `pluginDirs` (`error` says which);
   * - `notSelected`: not the first network (`first`), or not named (names);
   * - `maxNetworks`: beyond `maxNetworks`.
   */
  reason: 'pluginMissing' | 'notSelected' | 'maxNetworks';
  /** It was named in `networks`: the manager is not ready without it. */
  required: boolean;
  error?: Error | undefined;
}

/** How to construct a {@link NetworkManager}; every field has a default. */
export interface NetworkManagerOptions {
  /**
   * Directory of `.conf`/`.conflist`/`.json` network configurations, read in file name order
   * whatever the extension, as containerd and CRI-O do (default `/etc/cni/net.d`).
   */
  confDir?: string | undefined;
  /**
   * The network configurations themselves (from `networkConfFromBytes`, or built in code), in
   * order, instead of `confDir`: not both. Names must differ. `load()` re-checks their plugins;
   * there is nothing to `watch`.
   */
  configs?: readonly NetworkConfigList[] | undefined;
  /** Directories searched for plugin executables, in order (default `['/opt/cni/bin']`). */
  pluginDirs?: readonly string[] | undefined;
  /** Attachment cache root (default `/var/lib/cni`). */
  cacheDir?: string | undefined;
  /** Which networks to attach (default `first`): see {@link NetworksOption}. */
  networks?: NetworksOption | undefined;
  /** Use at most this many of the selected networks (the loopback network not counted). */
  maxNetworks?: number | undefined;
  /**
   * Fewer loaded networks than this (the loopback network not counted) and the manager is not
   * ready: `setup` throws {@link NotReadyError}. Default: the number of `networks` named, else 1.
   */
  minNetworks?: number | undefined;
  /** Prefix of allocated interface names (default `eth`: `eth0`, `eth1`, …). */
  interfacePrefix?: string | undefined;
  /** Attach a built-in loopback network (`cni-loopback`, interface `lo`) before the others. */
  loopback?: boolean | undefined;
  /**
   * Reload when `confDir` changes: a file in it or in a direct subdirectory, a `..data` symlink swap
   * inside it, or `confDir` itself removed, recreated, or swapped through a symlink (reported by the
   * `configDirChanged` event). A missing `confDir` is created at start; its parent must then stay.
   * Refused with `configs`.
   */
  watch?: boolean | undefined;
  /** With `watch`: quiet period after the last change before a reload (default 100 ms). */
  debounceMs?: number | undefined;
  /**
   * With `watch`: longest a change waits for its reload while changes keep coming, so a writer that
   * never pauses cannot starve reloads (default 5 × `debounceMs`, so 500 ms; `Infinity` waits for a
   * quiet period however long it takes).
   */
  maxWaitMs?: number | undefined;
  /** Per plugin call timeout in ms (default none). */
  timeoutMs?: number | undefined;
  /** Deadline of a rollback, independent of the caller's signal (default 60 s). */
  cleanupTimeoutMs?: number | undefined;
  /** Replaces how plugins are found and run (tests, remote execution). */
  exec?: CNIConfigOptions['exec'];
  /**
   * The libcni object to run operations through (a wrapper, a fake in tests). Default: a
   * {@link CNIConfig} made from `pluginDirs`, `cacheDir`, `cacheSync`, `exec`, `timeoutMs`, `env` and
   * `extraEnv`, which are then not used. The `cacheQuarantine` event needs the CNIConfig's `onCacheQuarantine`;
   * with one of your own, pass it there (the `libcni:cache:quarantine` channel sees every one anyway).
   */
  cni?: CNI | undefined;
  /** Which of this process's environment variables plugins inherit (default `inherit`). */
  env?: CNIConfigOptions['env'];
  /** Extra variables for every plugin call. */
  extraEnv?: CNIConfigOptions['extraEnv'];
  /**
   * What cache writes flush to disk (default `'none'`, as Go libcni; `'file'` or `'full'` to have
   * each entry on disk before the operation returns). Not used with `cni`.
   */
  cacheSync?: CNIConfigOptions['cacheSync'];
  /**
   * Where plugins' stderr goes (default `'inherit'`, as Go: a successful plugin's stderr is copied
   * to this process's stderr). A listener gets each chunk as it arrives, with plugin, command,
   * network, container and interface, for the runtime's log. Not used with `cni`.
   */
  stderr?: CNIConfigOptions['stderr'];
  /**
   * Told of the manager's events — `configError`, `rollback`, `capabilityUnused` and
   * `cacheQuarantine` as warnings, `watchError` as an error, `configLoaded`, `configDirChanged`
   * and `gc` as info, `attached` and `detached` as debug — and, through the CNIConfig the manager
   * makes, of every plugin call and operation (see `CNIConfigOptions.logger`; with `cni`, give that
   * one its own logger). A throwing logger never fails an operation. See docs/observability.md.
   */
  logger?: CNIConfigOptions['logger'];
  /**
   * Take an advisory lock file per container in `<cacheDir>/locks/` around every operation, so
   * other processes using this library on the same cache do not interleave (default true).
   */
  lockFiles?: boolean | undefined;
  /** How long to wait for another process's container lock (default 60 s). */
  lockTimeoutMs?: number | undefined;
  /**
   * Put `IgnoreUnknown=1` first in CNI_ARGS whenever there are args and the caller did not set it
   * (default true), as ocicni, podman and containerd do: the reference plugins otherwise refuse
   * any arg they do not know, such as `K8S_POD_NAME`.
   */
  ignoreUnknownArgs?: boolean | undefined;
}

/** A network's own inputs for one setup. */
export interface PerNetworkOptions {
  /** The interface to create (default: the next free `<prefix>N`). */
  ifName?: string | undefined;
  /** CNI_ARGS for this network; a key here replaces the container-wide value. */
  args?: CniArgsInput | undefined;
  /** Capability args for this network; a key here replaces the container-wide value. */
  capabilityArgs?: Readonly<Record<string, unknown>> | undefined;
  /** Typed capabilities for this network; a key here replaces the container-wide value. */
  capabilities?: Capabilities | undefined;
}

/** A network chosen for one container, with its own inputs (ocicni's `PodNetwork.Networks`). */
export interface ContainerNetwork extends PerNetworkOptions {
  /**
   * A network the manager loaded: any valid network from the configuration, not only those it
   * attaches by default (and the built-in loopback network's name, to place it).
   */
  name: string;
}

/** Options of {@link NetworkManager.setup}. */
export interface SetupOptions {
  /** CNI_ARGS for every network, e.g. `{ K8S_POD_NAMESPACE: 'ns', K8S_POD_NAME: 'pod' }`. */
  args?: CniArgsInput | undefined;
  /**
   * The well-known capabilities (CNI's CONVENTIONS.md) for every network, typed and checked before
   * any plugin runs: a bad value or an unknown key is a `ValidationError` naming the field.
   */
  capabilities?: Capabilities | undefined;
  /**
   * Free-form capability args for every network, for capabilities outside CONVENTIONS.md (not
   * checked). A key may not be given both here and in `capabilities` (a `ValidationError`).
   */
  capabilityArgs?: Readonly<Record<string, unknown>> | undefined;
  /** Per network name; entries for networks not in the set are ignored. */
  perNetwork?: Readonly<Record<string, PerNetworkOptions>> | undefined;
  /**
   * Attach exactly these networks, in this order, instead of the manager's set (the built-in
   * loopback network, when on, still comes first unless named here). An entry's own fields take
   * precedence over `perNetwork`. A name that is not loaded, a name given twice, or two networks
   * with one interface name fail before any plugin runs. Pass the same list to `teardown` and
   * `check` (their `networks`) so that they expect these networks rather than the manager's set.
   */
  networks?: readonly ContainerNetwork[] | undefined;
  /** Attach all networks at once instead of one after another (default false). */
  parallel?: boolean | undefined;
  /** Cancels the setup (the rollback still runs, under its own deadline). */
  signal?: AbortSignal | undefined;
}

/** Options of {@link NetworkManager.teardown} and {@link NetworkManager.check}. */
export interface ContainerOpOptions {
  /**
   * For networks with no cache entry, the per-network ifName/args used at setup, so that the DEL
   * that falls back to the loaded configuration names the right interface.
   */
  perNetwork?: Readonly<Record<string, PerNetworkOptions>> | undefined;
  /**
   * The networks the container was set up with when setup was given `networks`: teardown sends
   * its configuration-based DELs (for networks with no cache entry) only to these, and check
   * expects only these. Cached attachments are handled whatever this says.
   */
  networks?: readonly ContainerNetwork[] | undefined;
  signal?: AbortSignal | undefined;
}

/** Options of {@link NetworkManager.inspect}. */
export interface InspectOptions {
  /** Also run CHECK for each cached attachment (in its cached namespace) and report the outcome. */
  check?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * What CHECK said about one attachment: `passed`, `failed` (with the error), or `unsupported`
 * when its configuration's version predates CHECK (< 0.4.0), as {@link NetworkManager.check} skips.
 */
export type AttachmentCheck =
  | { outcome: 'passed' }
  | { outcome: 'failed'; error: Error }
  | { outcome: 'unsupported'; cniVersion: string };

/** One cached attachment of a container. */
export interface InspectedAttachment {
  network: string;
  ifName: string;
  /** The namespace path the attachment was made in, as cached. */
  netns: string;
  /**
   * The cached result, in the cniVersion of the cached configuration (as Go's
   * `GetNetworkListCachedResult` gives it); undefined when the entry holds none or `error` is set.
   */
  result: Result | undefined;
  /** Why the cached entry could not be used (its config or result unreadable). */
  error?: Error | undefined;
  /** With `check`: CHECK's outcome. */
  check?: AttachmentCheck | undefined;
}

/** An address on a container interface, flattened for a runtime. */
export interface InspectedIP {
  /** The container interface it is on. */
  ifName: string;
  network: string;
  /** CIDR notation, as the plugin reported it. */
  address: string;
  /** The bare address (no prefix length). */
  ip: string;
  family: 4 | 6;
  gateway?: string | undefined;
}

/** DNS settings merged over every attachment, in attachment order, each value once: `resolv.conf` material. */
export interface ResolvDNS {
  nameservers: string[];
  search: string[];
  options: string[];
  /** The first network's `domain` that is set. */
  domain?: string | undefined;
}

/** What {@link NetworkManager.inspect} returns: the container's networking, from the cache alone. */
export interface InspectResult {
  containerId: string;
  /** Each cached attachment, oldest first (the order setup made them). */
  attachments: InspectedAttachment[];
  /** The merged view, as {@link NetworkManager.setup} returns it. */
  interfaces: Record<string, MergedInterface>;
  routes: MergedRoute[];
  /** Every address on a container interface (sandboxed, or the one the network was asked to create), in attachment order. */
  ips: InspectedIP[];
  /**
   * The pod IP as containerd chooses it: the first IPv4 address of the first container interface
   * (`lo` excepted) that has an address; undefined when it has none.
   */
  primaryIPv4: string | undefined;
  /** Likewise the first IPv6 address of that same interface. */
  primaryIPv6: string | undefined;
  dns: ResolvDNS;
  /** Whether CHECK ran (`check: true`). */
  checked: boolean;
  /** Every cached entry was readable and, when checked, no CHECK failed. */
  ok: boolean;
}

/** One attachment a teardown, rollback or GC removed. */
export interface DetachedAttachment {
  containerId: string;
  network: string;
  ifName: string;
  /** Where the config for the DEL came from. */
  source: 'cache' | 'config';
}

/** What {@link NetworkManager.teardown} did. */
export interface TeardownResult {
  detached: DetachedAttachment[];
}

/** Options of {@link NetworkManager.gc}. */
export interface GcOptions {
  /** Only report what would be removed. */
  dryRun?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

/** What {@link NetworkManager.gc} did (or, with `dryRun`, would do). */
export interface GcReport {
  /** Cached attachments not in the valid set that were DELeted (dry run: that would be). */
  removed: Array<{ containerId: string; network: string; ifName: string }>;
  /** Failed DELs and failed plugin GC calls. GC does not throw for these. */
  errors: Error[];
  dryRun: boolean;
}

/** STATUS of one network. */
export interface NetworkStatus {
  name: string;
  file: string | undefined;
  ok: boolean;
  error?: Error | undefined;
  /** The file is broken now; this is the status of its last good version. */
  stale?: boolean | undefined;
  builtin: boolean;
}

/** What {@link NetworkManager.status} reports. */
export interface ManagerStatus {
  /** Enough networks loaded, every named network present, and every STATUS succeeded. */
  ready: boolean;
  networks: NetworkStatus[];
  configErrors: ConfigFileError[];
  /** Networks requested by name that no file defines. */
  missing: string[];
  /** Networks loaded but left out, and why; a `required` one makes the manager not ready. */
  skipped: SkippedNetwork[];
  minNetworks: number;
}

/**
 * Why the configuration was (re)loaded:
 * - `initial`: the first load (`start()`, or the first operation);
 * - `load`: {@link NetworkManager.load} was called;
 * - `change`: the watcher saw files change and then `debounceMs` of quiet;
 * - `maxWait`: the watcher saw files keep changing for `maxWaitMs` and reloaded without waiting for quiet;
 * - `confDir`: `confDir` itself was removed, created, replaced or re-pointed (see `configDirChanged`).
 */
export type ConfigLoadReason = 'initial' | 'load' | 'change' | 'maxWait' | 'confDir';

/** Payload of the `configLoaded` event. */
export interface ConfigLoadedEvent {
  networks: Array<{ name: string; file: string | undefined; stale: boolean }>;
  configErrors: ConfigFileError[];
  missing: string[];
  /** Networks loaded but left out, and why. */
  skipped: SkippedNetwork[];
  /** What caused this load; several watcher changes served by one load give the strongest (`confDir`, `maxWait`, `change`). */
  reason: ConfigLoadReason;
}

/** Payload of the `configDirChanged` event: `confDir` itself now names another directory, or none. */
export interface ConfigDirChangedEvent {
  /** `confDir` as configured. */
  dir: string;
  /**
   * - `removed`: it no longer names a directory (deleted, a dangling symlink, or not a directory);
   * - `created`: it names a directory again (or for the first time);
   * - `replaced`: same real path, another directory (deleted and recreated between two looks);
   * - `retargeted`: it resolves to another real path (a symlink swapped, e.g. `mv -T tmp net.d`).
   */
  change: 'removed' | 'created' | 'replaced' | 'retargeted';
  /** Its real path now; undefined when removed. */
  target: string | undefined;
  /** Its real path before; undefined when it did not exist. */
  previousTarget: string | undefined;
}

/** Payload of the `attached` event. */
export interface AttachedEvent {
  containerId: string;
  network: string;
  ifName: string;
  result: Result;
}

/**
 * Payload of the `capabilityUnused` event: a capability was given for a network none of whose
 * plugins declares it, so no plugin receives it (the spec drops it; most often a typo in
 * `capabilityArgs`, or a plugin missing from the network's list).
 */
export interface CapabilityUnusedEvent {
  containerId: string;
  network: string;
  capability: string;
}

/** Payload of the `rollback` event. */
export interface RollbackEvent extends RollbackOutcome {
  containerId: string;
  cause: Error;
}

/** Payload of the `cacheQuarantine` event. */
export interface CacheQuarantineEvent {
  /** The cache file that could not be read. */
  path: string;
  /** Where it was moved (`<path>.corrupt`); undefined when it vanished or had to be removed instead. */
  movedTo: string | undefined;
  /** Why it could not be read (the JSON decoder's or the result schema's words). */
  reason: string;
}

/** The events a {@link NetworkManager} emits, for the runtime's logs and metrics. */
export interface NetworkManagerEvents {
  configLoaded: [ConfigLoadedEvent];
  /**
   * With `watch`: `confDir` itself was removed, created, replaced or re-pointed; the watch follows
   * it and a reload (reason `confDir`) follows this event.
   */
  configDirChanged: [ConfigDirChangedEvent];
  /** A file could not be used (emitted when its error is new or changed), or a scan failed. */
  configError: [ConfigFileError];
  attached: [AttachedEvent];
  /** At setup, before any plugin runs: see {@link CapabilityUnusedEvent}. */
  capabilityUnused: [CapabilityUnusedEvent];
  detached: [DetachedAttachment];
  rollback: [RollbackEvent];
  gc: [GcReport];
  /**
   * A corrupt cache entry (empty, truncated, not JSON, or a result that fails the schema) was moved
   * aside: during a DEL, which then ran without prevResult, or at the end of a teardown.
   */
  cacheQuarantine: [CacheQuarantineEvent];
  /** The watcher failed (or a watcher-driven reload threw); it keeps running. */
  watchError: [Error];
}

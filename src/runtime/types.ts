/**
 * The shapes NetworkManager takes and returns: options, results, reports and events. Apart from the
 * manager so that its file is about behaviour, and so a runtime can import the types alone.
 */
import type { CNI, CNIConfigOptions } from '../cni/types.ts';
import type { ConfigFileError } from '../config/load.ts';
import type { RollbackOutcome } from '../core/runtime-errors.ts';
import type { Result } from '../types/result-model.ts';
import type { CniArgsInput } from './args.ts';
import type { Capabilities } from './capabilities.ts';

/** How to construct a {@link NetworkManager}. */
export interface NetworkManagerOptions {
  /** Directory of `.conflist`/`.conf`/`.json` network configurations. */
  confDir: string;
  /** Directories searched for plugin executables, in order. */
  pluginDirs: readonly string[];
  /** Attachment cache root (default `/var/lib/cni`). */
  cacheDir?: string | undefined;
  /** Only these networks, in this order (default: every network in `confDir`, in Go's order). */
  networks?: readonly string[] | undefined;
  /** Use at most this many networks from `confDir` (the loopback network not counted). */
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
   * {@link CNIConfig} made from `pluginDirs`, `cacheDir`, `exec`, `timeoutMs`, `env` and `extraEnv`,
   * which are then not used. The `cacheQuarantine` event needs the CNIConfig's `onCacheQuarantine`;
   * with one of your own, pass it there (the `libcni:cache:quarantine` channel sees every one anyway).
   */
  cni?: CNI | undefined;
  /** Which of this process's environment variables plugins inherit (default `inherit`). */
  env?: CNIConfigOptions['env'];
  /** Extra variables for every plugin call. */
  extraEnv?: CNIConfigOptions['extraEnv'];
  /**
   * Where plugins' stderr goes (default `'inherit'`, as Go: a successful plugin's stderr is copied
   * to this process's stderr). A listener gets each chunk as it arrives, with plugin, command,
   * network, container and interface, for the runtime's log. Not used with `cni`.
   */
  stderr?: CNIConfigOptions['stderr'];
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
  signal?: AbortSignal | undefined;
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

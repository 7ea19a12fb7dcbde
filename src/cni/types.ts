/**
 * The model of the cni module: what callers give CNIConfig (runtime inputs, options, GC's valid
 * set), what it gives back for the cache, and {@link CNI}, the part of it a runtime layer uses.
 */
import type {
  AttachmentKey,
  CacheSync,
  NetworkAttachment,
  QuarantineInfo,
  QuarantineListener,
} from '../cache/cache.ts';
import type { NetworkConfigList } from '../config/types.ts';
import type { TraceContext } from '../core/diagnostics.ts';
import type { Logger } from '../core/logger.ts';
import type { EnvMode } from '../invoke/env.ts';
import type { Exec } from '../invoke/exec.ts';
import type { Result } from '../types/result-model.ts';
import type { PluginStderr } from './stderr.ts';

/** The runtime's side of one attachment (Go's `RuntimeConf`). */
export interface RuntimeConf {
  containerId: string;
  /** Path of the network namespace, e.g. `/run/netns/x`. */
  netns: string;
  ifName: string;
  /** CNI_ARGS as ordered key/value pairs. */
  args?: Array<[string, string]> | undefined;
  /** Capability arguments; each plugin receives only those it declares in `capabilities`. */
  capabilityArgs?: Record<string, unknown> | undefined;
}

/** A (container, interface) pair that GC must keep. */
export interface GCAttachment {
  containerId: string;
  ifName: string;
  /**
   * For `NetworkManager.gc`, which spans networks: keep the pair only on this network. Ignored by
   * `CNIConfig.gcNetworkList`, which handles one network.
   */
  network?: string | undefined;
}

/** GC's input: the attachments that are still valid. Everything else cached for the network is deleted. */
export interface GCArgs {
  validAttachments: readonly GCAttachment[];
}

/** Options every operation takes. */
export interface OperationOptions {
  /** Cancels the operation; a running plugin's process group is killed. */
  signal?: AbortSignal | undefined;
  /** Per plugin call; overrides the CNIConfig default. */
  timeoutMs?: number | undefined;
  /**
   * W3C trace context handed to plugins as TRACEPARENT/TRACESTATE/BAGGAGE. When absent and the
   * application has `@opentelemetry/api`, the active span's context is used.
   */
  trace?: TraceContext | undefined;
}

/** The runtime inputs a DEL took from the cache because the caller gave none. */
export interface CachedInputsUsed {
  /** CNI_ARGS as given at ADD, when the DEL's `args` was absent. */
  args?: Array<[string, string]> | undefined;
  /** Capability args as given at ADD, when the DEL's `capabilityArgs` was absent. */
  capabilityArgs?: Record<string, unknown> | undefined;
}

/** Options of {@link CNIConfig.delNetworkList} and `delNetwork`. */
export interface DelOptions extends OperationOptions {
  /**
   * Where the caller gives no `args` or `capabilityArgs`, use the ones cached at ADD (default off,
   * as Go). Plugins need them to undo what they did: portmap without its port mappings leaves its
   * DNAT rules behind. A function turns it on and is told what was used.
   */
  useCachedInputs?: boolean | ((used: CachedInputsUsed) => void) | undefined;
}

/** Options of {@link CNIConfig.gcNetworkList}. */
export interface GCOptions extends OperationOptions {
  /**
   * The cache as the caller has just listed it ({@link CNIConfig.getCachedAttachments}; entries of
   * other networks are ignored). When given, the cache directory is not read again: a caller that
   * GCs several networks in a row lists it once instead of once per network.
   */
  cachedAttachments?: readonly NetworkAttachment[] | undefined;
}

/** How to construct a {@link CNIConfig}. */
export interface CNIConfigOptions {
  /** Directories searched for plugin executables (CNI_PATH), in order. */
  path: readonly string[];
  /** Attachment cache root (default `/var/lib/cni`). */
  cacheDir?: string | undefined;
  /**
   * Replaces how plugins are found and run (tests, spawner helper, remote execution). Default: one
   * process-wide {@link NativeExec} (posix_spawn through a small C helper; DefaultExec where that
   * helper is unavailable).
   */
  exec?: Exec | undefined;
  /** Default per-plugin-call timeout in ms (default: none). */
  timeoutMs?: number | undefined;
  /** Which of this process's environment variables plugins inherit (default `inherit`). */
  env?: EnvMode | undefined;
  /** Extra variables for every plugin call. */
  extraEnv?: Record<string, string> | undefined;
  /**
   * Put `IgnoreUnknown=1` first in CNI_ARGS whenever a call has args and none of them is
   * `IgnoreUnknown` (default false, as Go libcni, which sends args as given). The reference
   * plugins refuse args they do not know (`K8S_POD_NAME`, ...) without it. The cache keeps the
   * args as given.
   */
  ignoreUnknownArgs?: boolean | undefined;
  /**
   * Where plugins' stderr goes (default `'inherit'`: as Go libcni, a successful plugin's stderr is
   * copied to this process's stderr; a failed one's is in its error). `'ignore'`, or a listener
   * that gets every chunk as it arrives with the call it came from. See {@link PluginStderr}.
   */
  stderr?: PluginStderr | undefined;
  /** What cache writes flush to disk (default `'none'`, as Go libcni; see {@link CacheSync}). */
  cacheSync?: CacheSync | undefined;
  /**
   * Called when a corrupt cache entry is moved aside during DEL (also published on
   * `libcni:cache:quarantine`). `movedTo` is undefined when it could not be moved and was removed.
   */
  onCacheQuarantine?: QuarantineListener | undefined;
  /**
   * Told of this config's plugin calls (debug; warn when one fails), operations (debug; error when
   * one fails, warn for STATUS) and quarantined cache entries (warn). Only this instance's: the
   * diagnostics channels carry every instance's. A throwing logger never fails an operation.
   * See {@link Logger} and docs/observability.md.
   */
  logger?: Logger | undefined;
}

/** What the cache holds for an attachment: the config it was made with and the runtime inputs. */
export interface CachedConfig {
  config: Uint8Array;
  rt: RuntimeConf;
}

/** The CNI commands that run over a network (list), each one an operation. */
export type Command = 'ADD' | 'CHECK' | 'DEL' | 'GC' | 'STATUS';

/**
 * What a runtime layer (NetworkManager) uses of {@link CNIConfig}: the list operations, and the
 * cache and plugin lookups it needs without reaching into CNIConfig's parts.
 */
export interface CNI {
  /** The attachment cache root. */
  readonly cacheDir: string;
  /** ADD every plugin of the list in order, cache the result, and return it. */
  addNetworkList(list: NetworkConfigList, rt: RuntimeConf, opts?: OperationOptions): Promise<Result>;
  /** CHECK every plugin of the list against the cached result (spec >= 0.4.0). */
  checkNetworkList(list: NetworkConfigList, rt: RuntimeConf, opts?: OperationOptions): Promise<void>;
  /** DEL every plugin of the list in reverse order, then remove the cache entry. */
  delNetworkList(list: NetworkConfigList, rt: RuntimeConf, opts?: DelOptions): Promise<void>;
  /** DEL the cached attachments of the list not in `args.validAttachments`, then send GC (spec >= 1.1.0). */
  gcNetworkList(list: NetworkConfigList, args: GCArgs, opts?: GCOptions): Promise<void>;
  /** STATUS of every plugin of the list (spec >= 1.1.0; older lists run no plugin). */
  getStatusNetworkList(list: NetworkConfigList, opts?: OperationOptions): Promise<void>;
  /** Every cached attachment, or those of one container. */
  getCachedAttachments(containerId?: string): Promise<NetworkAttachment[]>;
  /** The cached result of an attachment, in the list's version; undefined when none. */
  getNetworkListCachedResult(list: NetworkConfigList, rt: RuntimeConf): Promise<Result | undefined>;
  /** When the cache entry of an attachment was last written (ns); undefined when it is gone. */
  getCachedAttachmentMtime(key: AttachmentKey): Promise<bigint | undefined>;
  /** Move aside the container's cache entries no DEL could read; returns what was moved. */
  quarantineCorruptCache(containerId: string): Promise<QuarantineInfo[]>;
  /** The cache file names that may hold entries, sorted; undefined when the cache directory is missing. */
  listCacheEntryNames(): Promise<string[] | undefined>;
  /** The attachment in one file named by `listCacheEntryNames`; undefined when unreadable. */
  readCacheEntry(name: string): Promise<NetworkAttachment | undefined>;
  /** The executable of plugin `type` on the search path (rejects as Go's `FindInPath`). */
  findPlugin(type: string): Promise<string>;
}

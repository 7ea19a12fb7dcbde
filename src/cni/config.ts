/**
 * CNIConfig: the operations of Go libcni's `CNIConfig` (ADD, CHECK, DEL, GC, STATUS, VERSION over a
 * network configuration list or a single plugin), with Go's semantics and error texts, plus what a
 * runtime needs on top: timeouts and cancellation on every call, typed errors with context, an
 * atomic cache that a corrupt entry cannot block. The class orchestrates; the operations are in
 * list-ops.ts and gc-status.ts, plugin calls in runner.ts, cache policy in cache/reads.ts.
 */
import {
  type AttachmentKey,
  DEFAULT_CACHE_DIR,
  type NetworkAttachment,
  type QuarantineInfo,
  type QuarantineListener,
  readCachedInputs,
  readCachedResult,
  ResultCache,
} from '../cache/cache.ts';
import type { NetworkConfigList, PluginConfig } from '../config/types.ts';
import { underSignal } from '../core/abort.ts';
import type { ErrorContext } from '../core/errors.ts';
import { quarantineEntry, writeLog } from '../core/logger.ts';
import { sharedNativeExec } from '../invoke/native-exec.ts';
import type { Result } from '../types/result-model.ts';
import { greaterThanOrEqualTo, type PluginInfo } from '../types/version.ts';
import { checkNotSupported, type Engine, keyOf } from './attachment.ts';
import { gcList, statusList } from './gc-status.ts';
import { addChain, checkChain, delChain, listChain, singleChain } from './list-ops.ts';
import { type InternalOptions, PluginRunner } from './runner.ts';
import type {
  CachedConfig,
  CNI,
  CNIConfigOptions,
  Command,
  GCArgs,
  GCOptions,
  DelOptions,
  OperationOptions,
  RuntimeConf,
} from './types.ts';
import { validateList, validateSingle } from './validate.ts';

/** Go libcni's CNIConfig. */
export class CNIConfig implements CNI {
  /** Plugin search path. */
  readonly path: readonly string[];
  readonly cacheDir: string;
  readonly #cache: ResultCache;
  /** What the operations work with: the plugin runner and the cache. */
  readonly #engine: Engine;

  constructor(options: CNIConfigOptions) {
    const dirs: unknown = options.path;
    if (!Array.isArray(dirs)) throw new TypeError('CNIConfig: options.path must be an array of directories');
    this.path = [...options.path];
    this.cacheDir = options.cacheDir ?? DEFAULT_CACHE_DIR;
    this.#cache = new ResultCache(this.cacheDir, {
      sync: options.cacheSync ?? 'none',
      onQuarantine: quarantineListener(options),
    });
    this.#engine = {
      plugins: new PluginRunner(options.exec ?? sharedNativeExec(), this.path, options),
      cache: this.#cache,
    };
  }

  // ---- network lists --------------------------------------------------------------------

  /**
   * Run ADD for every plugin in order, each getting the previous result (converted to the list's
   * version) as `prevResult`; cache and return the last plugin's result.
   */
  addNetworkList(list: NetworkConfigList, rt: RuntimeConf, opts?: OperationOptions): Promise<Result> {
    return this.#operation('ADD', list, rt, opts, (o) => addChain(this.#engine, listChain(list), rt, o));
  }

  /** Run CHECK for every plugin with the cached result (spec >= 0.4.0; no-op when `disableCheck`). */
  checkNetworkList(list: NetworkConfigList, rt: RuntimeConf, opts?: OperationOptions): Promise<void> {
    return this.#operation('CHECK', list, rt, opts, (o) => checkChain(this.#engine, listChain(list), rt, o));
  }

  /**
   * Run DEL for every plugin in reverse order with the cached result (>= 0.4.0), then remove the
   * cache entry. A corrupt entry is moved aside and DEL runs without prevResult.
   */
  delNetworkList(list: NetworkConfigList, rt: RuntimeConf, opts?: DelOptions): Promise<void> {
    return this.#operation('DEL', list, rt, opts, (o) =>
      delChain(this.#engine, listChain(list), rt, o, opts?.useCachedInputs),
    );
  }

  /**
   * Garbage-collect: DEL every cached attachment of this network that is not in
   * `args.validAttachments`, then (spec >= 1.1.0) send GC to every plugin. All failures are
   * collected. Unlike Go, the valid set is required: an empty list means nothing is valid.
   */
  async gcNetworkList(list: NetworkConfigList, args: GCArgs, opts?: GCOptions): Promise<void> {
    // Checked at run time too: JavaScript callers can omit it, and omission must not mean "delete all".
    const given = args as GCArgs | undefined;
    const valid: unknown = given?.validAttachments;
    if (!Array.isArray(valid)) {
      throw new TypeError(
        'gcNetworkList: args.validAttachments is required (pass [] to delete every attachment of the network)',
      );
    }
    const { cachedAttachments, ...operationOptions } = opts ?? {};
    return this.#operation('GC', list, undefined, operationOptions, (o) =>
      gcList(this.#engine, list, args, o, cachedAttachments, (rt) => this.delNetworkList(list, rt, o)),
    );
  }

  /**
   * Send STATUS to every plugin (spec >= 1.1.0; older lists report nothing). The first failure is
   * thrown as the plugin's own error, so `code` 50/51 can be read from it.
   */
  getStatusNetworkList(list: NetworkConfigList, opts?: OperationOptions): Promise<void> {
    return this.#operation('STATUS', list, undefined, opts, (o) => statusList(this.#engine, list, o));
  }

  /** The cached result of an attachment, converted to the list's version; undefined when none. */
  getNetworkListCachedResult(list: NetworkConfigList, rt: RuntimeConf): Promise<Result | undefined> {
    // A promise whatever goes wrong, as every other method here.
    return Promise.resolve().then(() => readCachedResult(this.#cache, keyOf(list.name, rt), list.cniVersion));
  }

  /** The config bytes and runtime inputs cached for an attachment; undefined when none. */
  getNetworkListCachedConfig(list: NetworkConfigList, rt: RuntimeConf): Promise<CachedConfig | undefined> {
    return this.#cachedConfig(list.name, rt);
  }

  /** Every cached attachment, or those of one container (Go's GetCachedAttachments). */
  async getCachedAttachments(containerId?: string): Promise<NetworkAttachment[]> {
    return (await this.#cache.listAttachments(containerId)) ?? [];
  }

  // ---- single plugins -------------------------------------------------------------------

  /** ADD one plugin config (not wrapped in a list); the result is cached under the plugin's name. */
  addNetwork(net: PluginConfig, rt: RuntimeConf, opts?: OperationOptions): Promise<Result> {
    return this.#single('ADD', net, rt, opts, (o) => addChain(this.#engine, singleChain(net), rt, o));
  }

  /** CHECK one plugin config with its cached result. */
  async checkNetwork(net: PluginConfig, rt: RuntimeConf, opts?: OperationOptions): Promise<void> {
    const { cniVersion } = singleChain(net);
    if (!greaterThanOrEqualTo(cniVersion, '0.4.0')) throw checkNotSupported(cniVersion);
    return this.#single('CHECK', net, rt, opts, (o) => checkChain(this.#engine, singleChain(net), rt, o));
  }

  /** DEL one plugin config, then remove its cache entry. */
  delNetwork(net: PluginConfig, rt: RuntimeConf, opts?: DelOptions): Promise<void> {
    return this.#single('DEL', net, rt, opts, (o) =>
      delChain(this.#engine, singleChain(net), rt, o, opts?.useCachedInputs),
    );
  }

  /** The cached result of a single-plugin attachment. */
  getNetworkCachedResult(net: PluginConfig, rt: RuntimeConf): Promise<Result | undefined> {
    return Promise.resolve().then(() => {
      const { name, cniVersion } = singleChain(net);
      return readCachedResult(this.#cache, keyOf(name, rt), cniVersion);
    });
  }

  /** The cached config of a single-plugin attachment. */
  getNetworkCachedConfig(net: PluginConfig, rt: RuntimeConf): Promise<CachedConfig | undefined> {
    return this.#cachedConfig(singleChain(net).name, rt);
  }

  // ---- validation and version -----------------------------------------------------------

  /**
   * Check every plugin exists and supports the list's version; returns the capabilities the
   * plugins declare. All problems are reported together, as Go does (`[err1 err2]`).
   */
  validateNetworkList(list: NetworkConfigList, opts?: OperationOptions): Promise<string[]> {
    return underSignal(opts?.signal, { network: list.name }, () =>
      validateList(this.#engine.plugins, list, opts),
    );
  }

  /** {@link validateNetworkList} for a single plugin config; its error is thrown as is. */
  validateNetwork(net: PluginConfig, opts?: OperationOptions): Promise<string[]> {
    return underSignal(opts?.signal, { network: singleChain(net).name }, () =>
      validateSingle(this.#engine.plugins, net, opts),
    );
  }

  /** Ask a plugin which spec versions it supports (CNI_COMMAND=VERSION). */
  getVersionInfo(pluginType: string, opts?: OperationOptions): Promise<PluginInfo> {
    return underSignal(opts?.signal, { command: 'VERSION', plugin: pluginType }, () =>
      this.#engine.plugins.version(pluginType, opts),
    );
  }

  // ---- what a runtime needs of the cache and the plugin path (see CNI) ------------------

  /** When the cache entry of an attachment was last written (ns); undefined when it is gone. */
  getCachedAttachmentMtime(key: AttachmentKey): Promise<bigint | undefined> {
    return this.#cache.mtimeOf(key);
  }

  /**
   * Move aside every cache entry of `containerId` that no DEL could read (not JSON, or not a JSON
   * object); what a teardown calls last. Returns what was moved (`movedTo` undefined when the file
   * vanished meanwhile).
   */
  quarantineCorruptCache(containerId: string): Promise<QuarantineInfo[]> {
    return this.#cache.quarantineCorrupt(containerId);
  }

  /**
   * The names of the cache files that may hold entries, sorted as Go sorts them; undefined when
   * the cache directory does not exist. One `readdir`, for a caller that compares listings.
   */
  listCacheEntryNames(): Promise<string[] | undefined> {
    return this.#cache.listEntryNames();
  }

  /** The attachment in one file named by {@link listCacheEntryNames}; undefined when unreadable. */
  readCacheEntry(name: string): Promise<NetworkAttachment | undefined> {
    return Promise.resolve(this.#cache.readListed(name));
  }

  /** The executable of plugin `type` on this config's search path (rejects as Go's FindInPath). */
  findPlugin(type: string): Promise<string> {
    return this.#engine.plugins.find(type);
  }

  // ---- plumbing -------------------------------------------------------------------------

  #operation<T>(
    command: Command,
    list: NetworkConfigList,
    rt: RuntimeConf | undefined,
    opts: OperationOptions | undefined,
    fn: (o: InternalOptions) => Promise<T>,
  ): Promise<T> {
    return underSignal(opts?.signal, abortContext(command, list.name, rt), () =>
      this.#engine.plugins.operation(command, list, list.plugins, rt, opts, fn),
    );
  }

  #single<T>(
    command: Command,
    net: PluginConfig,
    rt: RuntimeConf,
    opts: OperationOptions | undefined,
    fn: (o: InternalOptions) => Promise<T>,
  ): Promise<T> {
    const chain = singleChain(net);
    return underSignal(opts?.signal, abortContext(command, chain.name, rt), () =>
      this.#engine.plugins.operation(command, chain, [net], rt, opts, fn),
    );
  }

  /** Failures (a bad key, bad content) as rejections, though the read itself is synchronous. */
  #cachedConfig(network: string, rt: RuntimeConf): Promise<CachedConfig | undefined> {
    return Promise.resolve().then(() => {
      const inputs = readCachedInputs(this.#cache, keyOf(network, rt));
      if (inputs === undefined) return undefined;
      return {
        config: inputs.config,
        rt: { ...rt, args: inputs.cniArgs ?? rt.args, capabilityArgs: inputs.capabilityArgs },
      };
    });
  }
}

/** The cache's quarantine listener: the logger's warning, then the caller's listener. */
function quarantineListener(options: CNIConfigOptions): QuarantineListener | undefined {
  const { logger, onCacheQuarantine } = options;
  if (logger === undefined) return onCacheQuarantine;
  return (info) => {
    writeLog(logger, quarantineEntry(info));
    onCacheQuarantine?.(info);
  };
}

/** What an {@link AbortError} of an operation says about where it happened. */
function abortContext(command: Command, network: string, rt: RuntimeConf | undefined): ErrorContext {
  return { command, network, containerId: rt?.containerId, ifName: rt?.ifName };
}

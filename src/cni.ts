/**
 * CNIConfig: the operations of Go libcni's `CNIConfig` (ADD, CHECK, DEL, GC, STATUS, VERSION over a
 * network configuration list or a single plugin), with Go's semantics and error texts, plus what a
 * runtime needs on top: timeouts and cancellation on every call, typed errors with context, an
 * atomic cache that a corrupt entry cannot block.
 */
import { AttachmentSet } from './cache/attachment-set.ts';
import {
  type CacheRead,
  type CacheSync,
  DEFAULT_CACHE_DIR,
  type NetworkAttachment,
  ResultCache,
} from './cache/cache.ts';
import { buildGcConfig, buildRequestConfig, buildStatusConfig } from './config/inject.ts';
import type { NetworkConfigList, PluginConfig, PluginConf } from './config/types.ts';
import { publishCacheQuarantine, type TraceContext, traceOperation } from './core/diagnostics.ts';
import { resolveTraceContext } from './invoke/trace-context.ts';
import { tracePluginCalls } from './invoke/traced-exec.ts';
import { buildPluginEnv, type EnvMode } from './invoke/env.ts';
import { DefaultExec, type Exec } from './invoke/exec.ts';
import { execPluginWithResult, execPluginWithoutResult } from './invoke/plugin.ts';
import { getVersionInfo as probeVersion } from './invoke/version-probe.ts';
import { convertResult } from './types/convert.ts';
import {
  AggregateLibcniError,
  CacheError,
  type ErrorContext,
  LibcniError,
  NetworkPluginError,
  ResultError,
  ValidationError,
  VersionError,
  ErrorCode,
} from './core/errors.ts';
import { normalizeResult } from './types/result.ts';
import type { Result } from './types/result-model.ts';
import {
  assertPathComponent,
  validateContainerId,
  validateInterfaceName,
  validateNetworkName,
} from './types/validate.ts';
import { greaterThanOrEqualTo, type PluginInfo } from './types/version.ts';

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
}

/** GC's input: the attachments that are still valid. Everything else cached for the network is deleted. */
export interface GCArgs {
  validAttachments: readonly GCAttachment[];
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

/** What {@link CNIConfig} adds to a caller's options for the plugin calls of one operation. */
interface InternalOptions extends OperationOptions {
  /** This process's environment, copied once for the operation. */
  inheritedEnv?: NodeJS.ProcessEnv | undefined;
}

/** How to construct a {@link CNIConfig}. */
export interface CNIConfigOptions {
  /** Directories searched for plugin executables (CNI_PATH), in order. */
  path: readonly string[];
  /** Attachment cache root (default `/var/lib/cni`). */
  cacheDir?: string | undefined;
  /** Replaces how plugins are found and run (tests, spawner helper, remote execution). */
  exec?: Exec | undefined;
  /** Default per-plugin-call timeout in ms (default: none). */
  timeoutMs?: number | undefined;
  /** Which of this process's environment variables plugins inherit (default `inherit`). */
  env?: EnvMode | undefined;
  /** Extra variables for every plugin call. */
  extraEnv?: Record<string, string> | undefined;
  /** What cache writes flush to disk (default `'file'`; see {@link CacheSync}). */
  cacheSync?: CacheSync | undefined;
  /**
   * Called when a corrupt cache entry is moved aside during DEL (also published on
   * `libcni:cache:quarantine`). `movedTo` is undefined when it could not be moved and was removed.
   */
  onCacheQuarantine?:
    | ((info: { path: string; movedTo: string | undefined; reason: string }) => void)
    | undefined;
}

/** What the cache holds for an attachment: the config it was made with and the runtime inputs. */
export interface CachedConfig {
  config: Uint8Array;
  rt: RuntimeConf;
}

type Command = 'ADD' | 'CHECK' | 'DEL' | 'GC' | 'STATUS';

function describePlugin(conf: PluginConf): string {
  let out = `type=${JSON.stringify(conf.type)}`;
  if (typeof conf.name === 'string' && conf.name !== '') out += ` name=${JSON.stringify(conf.name)}`;
  return out;
}

/** Fill in context an error does not have yet (inner layers know less). */
function addContext<E>(err: E, ctx: ErrorContext): E {
  if (err instanceof LibcniError) {
    const target = err.context as Record<string, string | undefined>;
    for (const [k, v] of Object.entries(ctx) as Array<[string, string | undefined]>) {
      if (v && target[k] === undefined) target[k] = v;
    }
  }
  return err;
}

function checkNotSupported(version: string): LibcniError {
  return new VersionError(
    `configuration version ${JSON.stringify(version)} does not support the CHECK command`,
  );
}

/** Go libcni's CNIConfig. */
export class CNIConfig {
  /** Plugin search path. */
  readonly path: readonly string[];
  readonly cacheDir: string;
  readonly cache: ResultCache;
  readonly exec: Exec;
  private readonly options: CNIConfigOptions;
  /** {@link exec}, publishing every plugin call on `libcni:plugin` (see invoke/traced-exec.ts). */
  private readonly runner: Exec;

  constructor(options: CNIConfigOptions) {
    const dirs: unknown = options.path;
    if (!Array.isArray(dirs)) throw new TypeError('CNIConfig: options.path must be an array of directories');
    this.options = options;
    this.path = [...options.path];
    this.cacheDir = options.cacheDir ?? DEFAULT_CACHE_DIR;
    this.cache = new ResultCache(this.cacheDir, { sync: options.cacheSync ?? 'file' });
    this.exec = options.exec ?? new DefaultExec();
    this.runner = tracePluginCalls(this.exec);
  }

  /** One operation: the trace context resolved once for all its plugins, published on `libcni:operation`. */
  private operation<T>(
    command: Command,
    network: string,
    plugins: readonly PluginConfig[],
    rt: RuntimeConf | undefined,
    opts: OperationOptions | undefined,
    fn: (opts: InternalOptions) => Promise<T>,
  ): Promise<T> {
    return resolveTraceContext(opts?.trace).then((trace) =>
      traceOperation(
        {
          command,
          network,
          plugins: plugins.map((p) => p.network.type),
          containerId: rt?.containerId ?? '',
          ifName: rt?.ifName ?? '',
        },
        trace,
        () => fn({ ...opts, trace, inheritedEnv: this.inheritedEnvSnapshot() }),
      ),
    );
  }

  /**
   * Refuse, before any plugin runs, values that could make the cache path leave the cache
   * directory: `/`, NUL, `.`, `..`, or a file name over 255 bytes (each part, and the joined
   * `<network>-<containerId>-<ifName>`). CHECK and DEL run it first, before reading the cache (Go
   * validates nothing there, and a DEL must work for what an older runtime created, so this is all
   * they get); ADD runs it after Go's stricter `[a-zA-Z0-9_.-]` validation, so that Go's messages
   * come first and only over-long names are left for it. Empty values are left to the later
   * checks, which give Go's messages for them.
   */
  private refuseUnsafePath(command: Command, network: string, rt: RuntimeConf): void {
    try {
      if (network !== '') assertPathComponent('network', network);
      if (rt.containerId !== '') assertPathComponent('containerId', rt.containerId);
      if (rt.ifName !== '') assertPathComponent('ifName', rt.ifName);
      if (network !== '' && rt.containerId !== '' && rt.ifName !== '') {
        assertPathComponent('cache file name', `${network}-${rt.containerId}-${rt.ifName}`);
      }
    } catch (e) {
      throw addContext(e, { command, network, containerId: rt.containerId, ifName: rt.ifName });
    }
  }

  // ---- plumbing -------------------------------------------------------------------------

  /**
   * `process.env` is a view of the C environment: every key read crosses into C++ (~70 µs for a
   * full copy here). One plain-object copy per operation, shared by all its plugin calls, instead of
   * one per plugin; `minimal` mode inherits nothing but PATH and needs no copy.
   */
  private inheritedEnvSnapshot(): NodeJS.ProcessEnv | undefined {
    return this.options.env === 'minimal' ? undefined : { ...process.env };
  }

  private env(command: Command, rt: RuntimeConf | undefined, opts: InternalOptions | undefined) {
    return buildPluginEnv(
      {
        command,
        containerId: rt?.containerId ?? '',
        netns: rt?.netns ?? '',
        ifName: rt?.ifName ?? '',
        args: rt?.args ?? [],
        path: this.path,
      },
      {
        env: this.options.env,
        baseEnv: opts?.inheritedEnv,
        extraEnv: this.options.extraEnv,
        trace: opts?.trace,
      },
    );
  }

  private execOptions(command: Command, opts: OperationOptions | undefined, ctx: ErrorContext) {
    return {
      signal: opts?.signal,
      timeoutMs: opts?.timeoutMs ?? this.options.timeoutMs,
      command,
      context: ctx,
    };
  }

  private async find(conf: PluginConf, ctx: ErrorContext): Promise<string> {
    try {
      return await this.exec.findInPath(conf.type, this.path);
    } catch (e) {
      throw addContext(e, ctx);
    }
  }

  /** Go's `addNetwork`: find, validate, build stdin, run ADD. */
  private async addOne(
    name: string,
    cniVersion: string,
    plugin: PluginConfig,
    prevResult: Result | undefined,
    rt: RuntimeConf,
    opts: OperationOptions | undefined,
  ): Promise<Result> {
    const ctx = attachmentContext('ADD', plugin, name, rt);
    const pluginPath = await this.find(plugin.network, ctx);
    try {
      validateContainerId(rt.containerId);
      validateNetworkName(name);
      validateInterfaceName(rt.ifName);
    } catch (e) {
      throw addContext(e, ctx);
    }
    // Go's rules above refuse every separator and dot name but not length: a name the cache could
    // not hold must fail before the plugin runs, not after it made an attachment.
    this.refuseUnsafePath('ADD', name, rt);
    const stdin = buildRequestConfig(plugin, {
      name,
      cniVersion,
      prevResult,
      capabilityArgs: rt.capabilityArgs,
    });
    ctx.pluginPath = pluginPath;
    try {
      return await execPluginWithResult(this.runner, pluginPath, stdin, this.env('ADD', rt, opts), {
        ...this.execOptions('ADD', opts, ctx),
        configVersion: cniVersion,
      });
    } catch (e) {
      throw addContext(e, ctx);
    }
  }

  /** Go's `checkNetwork` / `delNetwork`: find, build stdin with the cached result, run. */
  private async runWithoutResult(
    command: 'CHECK' | 'DEL',
    name: string,
    cniVersion: string,
    plugin: PluginConfig,
    prevResult: Result | undefined,
    rt: RuntimeConf,
    opts: OperationOptions | undefined,
  ): Promise<void> {
    const ctx = attachmentContext(command, plugin, name, rt);
    const pluginPath = await this.find(plugin.network, ctx);
    const stdin = buildRequestConfig(plugin, {
      name,
      cniVersion,
      prevResult,
      capabilityArgs: rt.capabilityArgs,
    });
    ctx.pluginPath = pluginPath;
    try {
      await execPluginWithoutResult(this.runner, pluginPath, stdin, this.env(command, rt, opts), {
        ...this.execOptions(command, opts, ctx),
        configVersion: cniVersion,
      });
    } catch (e) {
      throw addContext(e, ctx);
    }
  }

  private async cacheAdd(
    result: Result,
    config: Uint8Array,
    network: string,
    rt: RuntimeConf,
  ): Promise<void> {
    try {
      await this.cache.write({
        network,
        containerId: rt.containerId,
        ifName: rt.ifName,
        config,
        netns: rt.netns,
        cniArgs: rt.args,
        capabilityArgs: rt.capabilityArgs,
        result,
      });
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      throw new CacheError(`failed to set network ${JSON.stringify(network)} cached result: ${err.message}`, {
        cause: err,
        path: e instanceof CacheError ? e.path : undefined,
        context: { network, containerId: rt.containerId, ifName: rt.ifName },
      });
    }
  }

  /**
   * Go's `getCachedResult`: the cached result converted to `cniVersion`; undefined when nothing
   * is cached. A legacy file (a bare result) is read as a result.
   */
  private async cachedResult(
    network: string,
    cniVersion: string,
    rt: RuntimeConf,
  ): Promise<Result | undefined> {
    const read = await this.cache.read({ network, containerId: rt.containerId, ifName: rt.ifName });
    return resultOfCacheRead(read, cniVersion);
  }

  // ---- network lists --------------------------------------------------------------------

  /**
   * Run ADD for every plugin in order, each getting the previous result (converted to the list's
   * version) as `prevResult`; cache and return the last plugin's result.
   */
  async addNetworkList(list: NetworkConfigList, rt: RuntimeConf, opts?: OperationOptions): Promise<Result> {
    return this.operation('ADD', list.name, list.plugins, rt, opts, (o) => this.addList(list, rt, o));
  }

  private async addList(list: NetworkConfigList, rt: RuntimeConf, opts: OperationOptions): Promise<Result> {
    let prev: Result | undefined;
    for (const plugin of list.plugins) {
      const input = prev === undefined ? undefined : toVersion(prev, list.cniVersion);
      try {
        prev = await this.addOne(list.name, list.cniVersion, plugin, input, rt, opts);
      } catch (e) {
        throw wrapPluginFailure(e, plugin.network, 'add', list.name, rt, 'ADD');
      }
    }
    if (prev === undefined) {
      throw new ValidationError(
        'plugins',
        ErrorCode.InvalidNetworkConfig,
        `network ${JSON.stringify(list.name)} has no plugins`,
      );
    }
    await this.cacheAdd(prev, list.bytes, list.name, rt);
    return prev;
  }

  /** Run CHECK for every plugin with the cached result (spec >= 0.4.0; no-op when `disableCheck`). */
  async checkNetworkList(list: NetworkConfigList, rt: RuntimeConf, opts?: OperationOptions): Promise<void> {
    return this.operation('CHECK', list.name, list.plugins, rt, opts, (o) => this.checkList(list, rt, o));
  }

  private async checkList(list: NetworkConfigList, rt: RuntimeConf, opts: OperationOptions): Promise<void> {
    if (!greaterThanOrEqualTo(list.cniVersion, '0.4.0')) throw checkNotSupported(list.cniVersion);
    if (list.disableCheck) return;
    this.refuseUnsafePath('CHECK', list.name, rt);
    let cached: Result | undefined;
    try {
      cached = await this.cachedResult(list.name, list.cniVersion, rt);
    } catch (e) {
      throw cachedResultError(e, list.name, rt);
    }
    for (const plugin of list.plugins) {
      await this.runWithoutResult('CHECK', list.name, list.cniVersion, plugin, cached, rt, opts);
    }
  }

  /**
   * Run DEL for every plugin in reverse order with the cached result (>= 0.4.0), then remove the
   * cache entry. A corrupt entry is moved aside and DEL runs without prevResult.
   */
  async delNetworkList(list: NetworkConfigList, rt: RuntimeConf, opts?: OperationOptions): Promise<void> {
    return this.operation('DEL', list.name, list.plugins, rt, opts, (o) => this.delList(list, rt, o));
  }

  private async delList(list: NetworkConfigList, rt: RuntimeConf, opts: OperationOptions): Promise<void> {
    this.refuseUnsafePath('DEL', list.name, rt);
    const cached = await this.cachedResultForDel(list.name, list.cniVersion, rt);
    for (let i = list.plugins.length - 1; i >= 0; i--) {
      const plugin = list.plugins[i] as PluginConfig;
      try {
        await this.runWithoutResult('DEL', list.name, list.cniVersion, plugin, cached, rt, opts);
      } catch (e) {
        throw wrapPluginFailure(e, plugin.network, 'delete', list.name, rt, 'DEL');
      }
    }
    await this.removeCache(list.name, rt);
  }

  private async removeCache(network: string, rt: RuntimeConf): Promise<void> {
    try {
      await this.cache.remove({ network, containerId: rt.containerId, ifName: rt.ifName });
    } catch {
      // As Go: a cache entry that cannot be removed does not fail a DEL that succeeded.
    }
  }

  /**
   * The cached result for DEL (>= 0.4.0; older versions get none, as in Go). A corrupt entry is
   * moved aside and reported, for every version, and DEL goes on without prevResult; a result that
   * only fails to convert is left in place (the DEL removes it when it succeeds).
   */
  private async cachedResultForDel(
    network: string,
    cniVersion: string,
    rt: RuntimeConf,
  ): Promise<Result | undefined> {
    const key = { network, containerId: rt.containerId, ifName: rt.ifName };
    let read: CacheRead;
    try {
      read = await this.cache.read(key);
    } catch {
      return undefined; // an unreadable file: DEL goes on without prevResult, as Go
    }
    let result: Result | undefined;
    try {
      result = resultOfCacheRead(read, cniVersion);
    } catch (e) {
      if (e instanceof CacheError && e.corrupt) await this.quarantine(key, read.path, e.message);
      return undefined;
    }
    return greaterThanOrEqualTo(cniVersion, '0.4.0') ? result : undefined;
  }

  /** Move a corrupt entry aside (or remove it if that fails) and report it. */
  private async quarantine(
    key: { network: string; containerId: string; ifName: string },
    file: string,
    reason: string,
  ): Promise<void> {
    let movedTo: string | undefined;
    try {
      movedTo = await this.cache.quarantine(key);
    } catch {
      await this.removeCache(key.network, { containerId: key.containerId, ifName: key.ifName, netns: '' });
    }
    publishCacheQuarantine({ path: file, movedTo, reason, ...key });
    try {
      this.options.onCacheQuarantine?.({ path: file, movedTo, reason });
    } catch {
      // A failing callback must not fail the DEL.
    }
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
    return this.operation('GC', list.name, list.plugins, undefined, operationOptions, (o) =>
      this.gcList(list, args, o, cachedAttachments),
    );
  }

  private async gcList(
    list: NetworkConfigList,
    args: GCArgs,
    opts: OperationOptions,
    cachedAttachments: readonly NetworkAttachment[] | undefined,
  ): Promise<void> {
    if (list.disableGC) return;
    const errors: Error[] = [];
    let attachments: readonly NetworkAttachment[] | undefined = cachedAttachments;
    if (attachments === undefined) {
      try {
        attachments = await this.cache.listAttachments();
      } catch {
        return; // as Go: an unreadable cache directory ends GC quietly
      }
    }
    const mine = (attachments ?? []).filter((a) => a.network === list.name);
    // Which of them are valid: one lookup per valid attachment, in a set of this network's cached
    // ones, rather than a set built of the whole valid list (which can be far longer).
    const cached = new AttachmentSet();
    for (const a of mine) cached.add(a.containerId, a.ifName);
    const valid = new AttachmentSet();
    if (mine.length > 0) {
      for (const v of args.validAttachments)
        if (cached.has(v.containerId, v.ifName)) valid.add(v.containerId, v.ifName);
    }
    for (const a of mine) {
      if (valid.has(a.containerId, a.ifName)) continue;
      const rt: RuntimeConf = {
        containerId: a.containerId,
        netns: a.netns,
        ifName: a.ifName,
        args: a.cniArgs,
        capabilityArgs: a.capabilityArgs,
      };
      try {
        await this.delNetworkList(list, rt, opts);
      } catch (e) {
        const err = e as Error;
        errors.push(
          new LibcniError(`failed to delete stale attachment ${a.containerId} ${a.ifName}: ${err.message}`, {
            cause: err,
            context: { command: 'DEL', network: list.name, containerId: a.containerId, ifName: a.ifName },
          }),
        );
      }
    }
    if (safeGte(list.cniVersion, '1.1.0')) {
      const validAttachments = args.validAttachments.map((a) => ({
        containerId: a.containerId,
        ifName: a.ifName,
      }));
      for (const plugin of list.plugins) {
        const ctx: ErrorContext = { command: 'GC', plugin: plugin.network.type, network: list.name };
        try {
          const pluginPath = await this.find(plugin.network, ctx);
          const stdin = buildGcConfig(plugin, {
            name: list.name,
            cniVersion: list.cniVersion,
            validAttachments,
          });
          await execPluginWithoutResult(this.runner, pluginPath, stdin, this.env('GC', undefined, opts), {
            ...this.execOptions('GC', opts, { ...ctx, pluginPath }),
            configVersion: list.cniVersion,
          });
        } catch (e) {
          const err = addContext(e as Error, ctx);
          errors.push(
            new LibcniError(`failed to GC plugin ${plugin.network.type}: ${err.message}`, {
              cause: err,
              context: ctx,
            }),
          );
        }
      }
    }
    if (errors.length === 1) throw errors[0] as Error;
    if (errors.length > 1)
      throw new AggregateLibcniError(errors, { context: { command: 'GC', network: list.name } });
  }

  /**
   * Send STATUS to every plugin (spec >= 1.1.0; older lists report nothing). The first failure is
   * thrown as the plugin's own error, so `code` 50/51 can be read from it.
   */
  async getStatusNetworkList(list: NetworkConfigList, opts?: OperationOptions): Promise<void> {
    return this.operation('STATUS', list.name, list.plugins, undefined, opts, (o) =>
      this.statusList(list, o),
    );
  }

  private async statusList(list: NetworkConfigList, opts: OperationOptions): Promise<void> {
    if (!safeGte(list.cniVersion, '1.1.0')) return;
    for (const plugin of list.plugins) {
      const ctx: ErrorContext = { command: 'STATUS', plugin: plugin.network.type, network: list.name };
      const pluginPath = await this.find(plugin.network, ctx);
      const stdin = buildStatusConfig(plugin, { name: list.name, cniVersion: list.cniVersion });
      try {
        await execPluginWithoutResult(this.runner, pluginPath, stdin, this.env('STATUS', undefined, opts), {
          ...this.execOptions('STATUS', opts, { ...ctx, pluginPath }),
          configVersion: list.cniVersion,
        });
      } catch (e) {
        throw addContext(e, ctx);
      }
    }
  }

  /** The cached result of an attachment, converted to the list's version; undefined when none. */
  async getNetworkListCachedResult(list: NetworkConfigList, rt: RuntimeConf): Promise<Result | undefined> {
    return this.cachedResult(list.name, list.cniVersion, rt);
  }

  /** The config bytes and runtime inputs cached for an attachment; undefined when none. */
  async getNetworkListCachedConfig(
    list: NetworkConfigList,
    rt: RuntimeConf,
  ): Promise<CachedConfig | undefined> {
    return this.cachedConfig(list.name, rt);
  }

  private async cachedConfig(network: string, rt: RuntimeConf): Promise<CachedConfig | undefined> {
    const read = await this.cache.read({ network, containerId: rt.containerId, ifName: rt.ifName });
    switch (read.kind) {
      case 'missing':
        return undefined;
      case 'corrupt':
        throw new CacheError(
          `failed to unmarshal cached network ${JSON.stringify(network)} config: ${read.reason}`,
          {
            path: read.path,
            corrupt: true,
          },
        );
      case 'legacy':
        throw new CacheError(
          `read cached network ${JSON.stringify(network)} config has wrong kind: ${read.reason}`,
          {
            path: read.path,
            corrupt: true,
          },
        );
      case 'entry': {
        const e = read.entry;
        return {
          config: e.config,
          rt: { ...rt, args: e.cniArgs ?? rt.args, capabilityArgs: e.capabilityArgs },
        };
      }
    }
  }

  /** Every cached attachment, or those of one container (Go's GetCachedAttachments). */
  async getCachedAttachments(containerId?: string): Promise<NetworkAttachment[]> {
    return (await this.cache.listAttachments(containerId)) ?? [];
  }

  // ---- single plugins -------------------------------------------------------------------

  /** ADD one plugin config (not wrapped in a list); the result is cached under the plugin's name. */
  async addNetwork(net: PluginConfig, rt: RuntimeConf, opts?: OperationOptions): Promise<Result> {
    const name = net.network.name ?? '';
    const version = net.network.cniVersion ?? '';
    return this.operation('ADD', name, [net], rt, opts, async (o) => {
      const result = await this.addOne(name, version, net, undefined, rt, o);
      await this.cacheAdd(result, net.bytes, name, rt);
      return result;
    });
  }

  /** CHECK one plugin config with its cached result. */
  async checkNetwork(net: PluginConfig, rt: RuntimeConf, opts?: OperationOptions): Promise<void> {
    const name = net.network.name ?? '';
    const version = net.network.cniVersion ?? '';
    if (!greaterThanOrEqualTo(version, '0.4.0')) throw checkNotSupported(version);
    return this.operation('CHECK', name, [net], rt, opts, async (o) => {
      this.refuseUnsafePath('CHECK', name, rt);
      let cached: Result | undefined;
      try {
        cached = await this.cachedResult(name, version, rt);
      } catch (e) {
        throw cachedResultError(e, name, rt);
      }
      await this.runWithoutResult('CHECK', name, version, net, cached, rt, o);
    });
  }

  /** DEL one plugin config, then remove its cache entry. */
  async delNetwork(net: PluginConfig, rt: RuntimeConf, opts?: OperationOptions): Promise<void> {
    const name = net.network.name ?? '';
    const version = net.network.cniVersion ?? '';
    return this.operation('DEL', name, [net], rt, opts, async (o) => {
      this.refuseUnsafePath('DEL', name, rt);
      const cached = await this.cachedResultForDel(name, version, rt);
      await this.runWithoutResult('DEL', name, version, net, cached, rt, o);
      await this.removeCache(name, rt);
    });
  }

  /** The cached result of a single-plugin attachment. */
  async getNetworkCachedResult(net: PluginConfig, rt: RuntimeConf): Promise<Result | undefined> {
    return this.cachedResult(net.network.name ?? '', net.network.cniVersion ?? '', rt);
  }

  /** The cached config of a single-plugin attachment. */
  async getNetworkCachedConfig(net: PluginConfig, rt: RuntimeConf): Promise<CachedConfig | undefined> {
    return this.cachedConfig(net.network.name ?? '', rt);
  }

  // ---- validation and version -----------------------------------------------------------

  /**
   * Check every plugin exists and supports the list's version; returns the capabilities the
   * plugins declare. All problems are reported together, as Go does (`[err1 err2]`).
   */
  async validateNetworkList(list: NetworkConfigList, opts?: OperationOptions): Promise<string[]> {
    const caps = new Set<string>();
    const errors: Error[] = [];
    for (const plugin of list.plugins) {
      try {
        await this.validatePlugin(plugin.network.type, list.cniVersion, opts);
      } catch (e) {
        errors.push(e as Error);
      }
      for (const cap of enabledCapabilities(plugin.network)) caps.add(cap);
    }
    if (errors.length > 0) {
      const err = new AggregateLibcniError(errors, { context: { network: list.name } });
      // Go formats the slice with %v: "[msg1 msg2]".
      Object.defineProperty(err, 'message', { value: `[${errors.map((e) => e.message).join(' ')}]` });
      throw err;
    }
    return [...caps];
  }

  /** {@link validateNetworkList} for a single plugin config; its error is thrown as is. */
  async validateNetwork(net: PluginConfig, opts?: OperationOptions): Promise<string[]> {
    await this.validatePlugin(net.network.type, net.network.cniVersion ?? '', opts);
    return enabledCapabilities(net.network);
  }

  private async validatePlugin(
    type: string,
    version: string,
    opts: OperationOptions | undefined,
  ): Promise<void> {
    const expected = version === '' ? '0.1.0' : version;
    const info = await this.getVersionInfo(type, opts);
    if (!info.supportedVersions.includes(expected)) {
      throw new VersionError(`plugin ${type} does not support config version ${JSON.stringify(expected)}`, {
        context: { plugin: type },
      });
    }
  }

  /** Ask a plugin which spec versions it supports (CNI_COMMAND=VERSION). */
  async getVersionInfo(pluginType: string, opts?: OperationOptions): Promise<PluginInfo> {
    const ctx: ErrorContext = { command: 'VERSION', plugin: pluginType };
    const pluginPath = await this.find({ type: pluginType }, ctx);
    const trace = await resolveTraceContext(opts?.trace);
    try {
      return await probeVersion(this.runner, pluginPath, {
        signal: opts?.signal,
        timeoutMs: opts?.timeoutMs ?? this.options.timeoutMs,
        env: this.options.env,
        extraEnv: this.options.extraEnv,
        trace,
        context: { ...ctx, pluginPath },
      });
    } catch (e) {
      throw addContext(e, ctx);
    }
  }
}

/** What an error about one plugin of one attachment should say about where it happened. */
function attachmentContext(
  command: Command,
  plugin: PluginConfig,
  network: string,
  rt: RuntimeConf,
): ErrorContext {
  return { command, plugin: plugin.network.type, network, containerId: rt.containerId, ifName: rt.ifName };
}

function enabledCapabilities(conf: PluginConf): string[] {
  const caps = conf.capabilities;
  if (!caps || typeof caps !== 'object') return [];
  return Object.entries(caps)
    .filter(([, on]) => (on as unknown) === true)
    .map(([k]) => k);
}

/** greaterThanOrEqualTo that treats a malformed version as "no" (Go ignores the error there). */
function safeGte(v: string, min: string): boolean {
  try {
    return greaterThanOrEqualTo(v, min);
  } catch {
    return false;
  }
}

function toVersion(result: Result, version: string): Result {
  if (result.cniVersion === version) return result;
  return convertResult(result, version);
}

/** Turn what the cache holds into a result in `cniVersion`, with Go's errors for bad content. */
function resultOfCacheRead(read: CacheRead, cniVersion: string): Result | undefined {
  let raw: unknown;
  switch (read.kind) {
    case 'missing':
      return undefined;
    case 'corrupt':
      throw new CacheError(`decoding version from network config: ${read.reason}`, {
        path: read.path,
        corrupt: true,
      });
    case 'legacy':
      raw = read.document;
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
        throw new CacheError('decoding version from network config: cached result is not a JSON object', {
          path: read.path,
          corrupt: true,
        });
      }
      break;
    case 'entry':
      raw = read.entry.result;
      if (raw === undefined) return undefined;
      break;
  }
  let result: Result;
  try {
    result = normalizeResult(raw);
  } catch (e) {
    throw new CacheError((e as Error).message, { cause: e, path: read.path, corrupt: true });
  }
  try {
    return toVersion(result, cniVersion);
  } catch (e) {
    throw new ResultError(
      `failed to convert cached result to config version ${JSON.stringify(cniVersion)}: ${(e as Error).message}`,
      { cause: e },
    );
  }
}

function cachedResultError(e: unknown, network: string, rt: RuntimeConf): Error {
  const err = e instanceof Error ? e : new Error(String(e));
  return new CacheError(`failed to get network ${JSON.stringify(network)} cached result: ${err.message}`, {
    cause: err,
    path: e instanceof CacheError ? e.path : undefined,
    corrupt: e instanceof CacheError ? e.corrupt : false,
    context: { network, containerId: rt.containerId, ifName: rt.ifName },
  });
}

function wrapPluginFailure(
  e: unknown,
  conf: PluginConf,
  verb: 'add' | 'delete',
  network: string,
  rt: RuntimeConf,
  command: Command,
): Error {
  const err = e instanceof Error ? e : new Error(String(e));
  return new NetworkPluginError(`plugin ${describePlugin(conf)} failed (${verb}): ${err.message}`, err, {
    command,
    plugin: conf.type,
    network,
    containerId: rt.containerId,
    ifName: rt.ifName,
    pluginPath: err instanceof LibcniError ? err.context.pluginPath : undefined,
  });
}

/**
 * ADD, CHECK and DEL over a chain of plugins: a network configuration list, or a single plugin
 * config (Go's `*NetworkList` and `*Network` operations). The order of the plugins, what each gets
 * as `prevResult`, and what the cache holds before and after.
 */
import {
  assertNoCollision,
  type CachedInputs,
  readResultForCheck,
  readResultForDel,
  resultInVersion,
} from '../cache/cache.ts';
import type { NetworkConfigList, PluginConfig } from '../config/types.ts';
import { ErrorCode, ValidationError } from '../core/errors.ts';
import type { Result } from '../types/result-model.ts';
import { greaterThanOrEqualTo } from '../types/version.ts';
import {
  attachmentCall,
  assertCacheable,
  cacheAdd,
  checkNotSupported,
  type Engine,
  keyOf,
  recordIntent,
  refuseUnsafePath,
  wrapPluginFailure,
} from './attachment.ts';
import type { InternalOptions as Options } from './runner.ts';
import type { CachedInputsUsed, DelOptions } from './types.ts';
import type { RuntimeConf } from './types.ts';

/** The plugins an operation runs, under one network name and version. */
export interface Chain {
  name: string;
  cniVersion: string;
  plugins: readonly PluginConfig[];
  /** The config bytes cached with the result. */
  bytes: Uint8Array;
  disableCheck: boolean;
  /** A list names the failing plugin (Go's `plugin type=… failed (add): …`); a single plugin does not. */
  isList: boolean;
}

/** A network configuration list as a chain. */
export function listChain(list: NetworkConfigList): Chain {
  const { name, cniVersion, plugins, bytes } = list;
  return { name, cniVersion, plugins, bytes, disableCheck: list.disableCheck, isList: true };
}

/** A single plugin config as a chain of one, named and versioned by its own fields. */
export function singleChain(net: PluginConfig): Chain {
  const name = net.network.name ?? '';
  const cniVersion = net.network.cniVersion ?? '';
  return { name, cniVersion, plugins: [net], bytes: net.bytes, disableCheck: false, isList: false };
}

/**
 * ADD every plugin in order, each getting the previous result (converted to the chain's version)
 * as `prevResult`; cache and return the last plugin's result. Before the first plugin runs, the
 * attachment is recorded in the cache (see {@link recordIntent}), so that a crash mid-ADD leaves it
 * findable. An ADD that fails here removes that record again, as Go caches nothing for a failed
 * ADD: the caller, told of the failure, DELs (NetworkManager rolls back at once).
 */
export async function addChain(e: Engine, chain: Chain, rt: RuntimeConf, opts: Options): Promise<Result> {
  const { name, cniVersion } = chain;
  assertCacheable(name, rt);
  const absent = assertNoCollision(e.cache, keyOf(name, rt));
  // Written once the first plugin is found and the names are checked, so that input refused before
  // any plugin runs leaves nothing on disk either.
  // An object, not a `let`: it is set in the callback, which the compiler does not follow.
  const intent: { recorded: boolean; failure?: unknown } = { recorded: false };
  const record = async (): Promise<void> => {
    if (!absent || intent.recorded) return;
    try {
      await recordIntent(e.cache, chain.bytes, name, rt);
    } catch (err) {
      intent.failure = err;
      throw err;
    }
    intent.recorded = true;
  };
  let prev: Result | undefined;
  for (const plugin of chain.plugins) {
    const prevResult = prev === undefined ? undefined : resultInVersion(prev, cniVersion);
    try {
      prev = await e.plugins.runForResult(
        attachmentCall('ADD', plugin, { network: name, cniVersion, rt, prevResult }),
        opts,
        record,
      );
    } catch (err) {
      if (intent.recorded) e.cache.removeQuietly(keyOf(name, rt));
      // The cache refused the record: no plugin ran, so it is the cache's error, not a plugin's.
      if (err === intent.failure) throw err;
      throw chain.isList ? wrapPluginFailure(err, plugin.network, 'add', name, rt, 'ADD') : err;
    }
  }
  if (prev === undefined) {
    if (intent.recorded) e.cache.removeQuietly(keyOf(name, rt));
    throw new ValidationError(
      'plugins',
      ErrorCode.InvalidNetworkConfig,
      `network ${JSON.stringify(name)} has no plugins`,
    );
  }
  await cacheAdd(e.cache, prev, chain.bytes, name, rt);
  return prev;
}

/** CHECK every plugin with the cached result (spec >= 0.4.0; nothing when `disableCheck`). */
export async function checkChain(e: Engine, chain: Chain, rt: RuntimeConf, opts: Options): Promise<void> {
  const { name, cniVersion } = chain;
  if (!greaterThanOrEqualTo(cniVersion, '0.4.0')) throw checkNotSupported(cniVersion);
  if (chain.disableCheck) return;
  refuseUnsafePath('CHECK', name, rt);
  const prevResult = readResultForCheck(e.cache, keyOf(name, rt), cniVersion);
  for (const plugin of chain.plugins) {
    await e.plugins.runForStatus(
      attachmentCall('CHECK', plugin, { network: name, cniVersion, rt, prevResult }),
      opts,
    );
  }
}

/** `rt` with the cached CNI_ARGS and capability args where it has none; tells `report` what it used. */
function withCachedInputs(
  rt: RuntimeConf,
  cached: CachedInputs | undefined,
  report: NonNullable<DelOptions['useCachedInputs']>,
): RuntimeConf {
  const used: CachedInputsUsed = {};
  if (rt.args === undefined && cached?.cniArgs !== undefined) used.args = cached.cniArgs;
  if (rt.capabilityArgs === undefined && cached?.capabilityArgs !== undefined) {
    used.capabilityArgs = cached.capabilityArgs;
  }
  if (used.args === undefined && used.capabilityArgs === undefined) return rt;
  if (typeof report === 'function') {
    try {
      report(used);
    } catch {
      // Being told is best effort; the DEL goes on.
    }
  }
  return { ...rt, args: rt.args ?? used.args, capabilityArgs: rt.capabilityArgs ?? used.capabilityArgs };
}

/**
 * DEL every plugin in reverse order with the cached result (>= 0.4.0), then remove the cache
 * entry. A corrupt entry is moved aside and DEL runs without prevResult.
 */
export async function delChain(
  e: Engine,
  chain: Chain,
  given: RuntimeConf,
  opts: Options,
  useCachedInputs?: DelOptions['useCachedInputs'],
): Promise<void> {
  const { name, cniVersion } = chain;
  refuseUnsafePath('DEL', name, given);
  const key = keyOf(name, given);
  const { prevResult, ownEntry, inputs } = await readResultForDel(e.cache, key, cniVersion);
  const rt = useCachedInputs ? withCachedInputs(given, inputs, useCachedInputs) : given;
  for (let i = chain.plugins.length - 1; i >= 0; i--) {
    const plugin = chain.plugins[i] as PluginConfig;
    try {
      await e.plugins.runForStatus(
        attachmentCall('DEL', plugin, { network: name, cniVersion, rt, prevResult }),
        opts,
      );
    } catch (err) {
      throw chain.isList ? wrapPluginFailure(err, plugin.network, 'delete', name, rt, 'DEL') : err;
    }
  }
  if (ownEntry) e.cache.removeQuietly(key);
}

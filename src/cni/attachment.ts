/**
 * What the ADD, CHECK and DEL of one attachment share, for a list or a single plugin: the plugin
 * call (Go's `addNetwork`, `checkNetwork`, `delNetwork`), the path checks, the cache write, and the
 * errors that name the plugin that failed.
 */
import type { AttachmentKey, ResultCache } from '../cache/cache.ts';
import { buildRequestConfig } from '../config/inject.ts';
import { goMarshal } from '../go/json-encode.ts';
import type { PluginConf, PluginConfig } from '../config/types.ts';
import {
  CacheError,
  ErrorCode,
  type ErrorContext,
  LibcniError,
  NetworkPluginError,
  ValidationError,
  VersionError,
} from '../core/errors.ts';
import type { Result } from '../types/result-model.ts';
import {
  assertPathComponent,
  validateContainerId,
  validateInterfaceName,
  validateNetworkName,
} from '../types/validate.ts';
import type { PluginCall, PluginRunner } from './runner.ts';
import type { Command, RuntimeConf } from './types.ts';

/** What the operations of a CNIConfig work with. */
export interface Engine {
  readonly plugins: PluginRunner;
  readonly cache: ResultCache;
}

/** The cache key of an attachment to `network`. */
export function keyOf(network: string, rt: RuntimeConf): AttachmentKey {
  return { network, containerId: rt.containerId, ifName: rt.ifName };
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

/** One attachment of a chain (list or single plugin) to run a plugin for. */
export interface AttachmentRequest {
  network: string;
  cniVersion: string;
  rt: RuntimeConf;
  /** The previous plugin's result (ADD) or the cached one (CHECK, DEL). */
  prevResult: Result | undefined;
}

/**
 * The plugin call of one attachment (Go's `addNetwork`, `checkNetwork`, `delNetwork`): its
 * request config carries `prevResult` and the capability args; ADD validates the runtime inputs
 * once the plugin is found.
 */
export function attachmentCall(
  command: 'ADD' | 'CHECK' | 'DEL',
  plugin: PluginConfig,
  req: AttachmentRequest,
): PluginCall {
  const { network, cniVersion, rt, prevResult } = req;
  const context = attachmentContext(command, plugin, network, rt);
  const check = (): void => {
    validateContainerId(rt.containerId, context);
    validateNetworkName(network, context);
    validateInterfaceName(rt.ifName, context);
    // Go's rules above refuse every separator and dot name but not length: a name the cache could
    // not hold must fail before the plugin runs, not after it made an attachment.
    refuseUnsafePath('ADD', network, rt);
  };
  return {
    command,
    type: plugin.network.type,
    configVersion: cniVersion,
    rt,
    context,
    check: command === 'ADD' ? check : undefined,
    stdin: () =>
      buildRequestConfig(plugin, {
        name: network,
        cniVersion,
        prevResult,
        capabilityArgs: rt.capabilityArgs,
      }),
  };
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
export function refuseUnsafePath(command: Command, network: string, rt: RuntimeConf): void {
  const context: ErrorContext = { command, network, containerId: rt.containerId, ifName: rt.ifName };
  if (network !== '') assertPathComponent('network', network, context);
  if (rt.containerId !== '') assertPathComponent('containerId', rt.containerId, context);
  if (rt.ifName !== '') assertPathComponent('ifName', rt.ifName, context);
  if (network !== '' && rt.containerId !== '' && rt.ifName !== '') {
    assertPathComponent('cache file name', `${network}-${rt.containerId}-${rt.ifName}`, context);
  }
}

/**
 * Refuse, before any plugin runs, runtime inputs the cache could not record after a successful ADD
 * (NaN, Infinity, BigInt, a cycle in capability args): the plugins would have made an attachment
 * that no entry, and so no later DEL or GC, could ever find.
 */
export function assertCacheable(network: string, rt: RuntimeConf): void {
  const inputs = [
    ['capabilityArgs', rt.capabilityArgs],
    ['cniArgs', rt.args],
  ] as const;
  for (const [field, value] of inputs) {
    if (value === undefined) continue;
    try {
      goMarshal(value);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new ValidationError(
        field,
        ErrorCode.InvalidEnvironmentVariables,
        `${field} cannot be recorded in the cache`,
        why,
        { context: keyOf(network, rt) },
      );
    }
  }
}

/**
 * Record an attachment before the first plugin of its ADD runs, so that a process killed mid-ADD
 * leaves it findable: the entry a successful ADD writes (same file, config, netns, args and
 * capability args) without the result, which that ADD then replaces. Go's libcni reads it as any
 * entry: its GC lists it with the cached attachments and DELs it when it is not valid, and its DEL
 * finds no cached result and runs without prevResult; teardown and GC here do the same.
 *
 * Not flushed to disk unless the cache syncs fully: it guards against the process dying, which the
 * page cache survives; a power loss also takes away the interfaces it would point to.
 */
export function recordIntent(
  cache: ResultCache,
  config: Uint8Array,
  network: string,
  rt: RuntimeConf,
): Promise<void> {
  return writeEntry(cache, config, network, rt, undefined);
}

/** Cache the result of an ADD, with Go's error when that fails. */
export function cacheAdd(
  cache: ResultCache,
  result: Result,
  config: Uint8Array,
  network: string,
  rt: RuntimeConf,
): Promise<void> {
  return writeEntry(cache, config, network, rt, result);
}

/**
 * Write an attachment's entry: with its result after ADD (flushed as the cache says), or without
 * one before it (flushed only when the cache syncs fully). Go's wording when the write fails, which
 * callers match on.
 */
async function writeEntry(
  cache: ResultCache,
  config: Uint8Array,
  network: string,
  rt: RuntimeConf,
  result: Result | undefined,
): Promise<void> {
  const entry = {
    ...keyOf(network, rt),
    config,
    netns: rt.netns,
    cniArgs: rt.args,
    capabilityArgs: rt.capabilityArgs,
    ...(result === undefined ? {} : { result }),
  };
  try {
    if (result === undefined) await cache.write(entry, { sync: cache.sync === 'full' ? 'full' : 'none' });
    else await cache.write(entry);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    throw new CacheError(`failed to set network ${JSON.stringify(network)} cached result: ${err.message}`, {
      cause: err,
      path: e instanceof CacheError ? e.path : undefined,
      context: keyOf(network, rt),
    });
  }
}

/** Go's error for CHECK on a config older than 0.4.0. */
export function checkNotSupported(version: string): LibcniError {
  return new VersionError(
    `configuration version ${JSON.stringify(version)} does not support the CHECK command`,
  );
}

function describePlugin(conf: PluginConf): string {
  let out = `type=${JSON.stringify(conf.type)}`;
  if (typeof conf.name === 'string' && conf.name !== '') out += ` name=${JSON.stringify(conf.name)}`;
  return out;
}

/** Go's `plugin type="t" name="n" failed (add): <cause>`, for a list's plugin. */
export function wrapPluginFailure(
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

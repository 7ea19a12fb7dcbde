/**
 * Building what a plugin reads on stdin: its configured JSON with `name`, `cniVersion`,
 * `prevResult`, `runtimeConfig` (or the GC attachment lists) injected — Go's `InjectConf` and
 * `buildOneConfig`, except that the plugin's own bytes pass through unchanged. Injected members
 * replace existing ones in place or are appended; nothing is re-encoded through float64 and no
 * key is reordered. Injected values are encoded as Go encodes them (sorted keys, HTML escaping).
 */
import { goMarshal, goQuote } from '../go/json-encode.ts';
import { JsonSyntaxError } from '../core/errors.ts';
import { setMembers } from '../go/json-edit.ts';
import { scanJson } from '../go/json-scan.ts';
import { ConfigError } from '../core/errors.ts';
import { pluginConfFromBytes } from './parse.ts';
import type { PluginConfig } from './types.ts';
import { jsonText, utf8Bytes } from './text.ts';

type Update = readonly [key: string, valueJson: string | undefined];

/** `value` as Go's `json.Marshal` writes it, with Go's error text for what JSON cannot hold. */
function encode(value: unknown): string {
  try {
    return goMarshal(value);
  } catch (e) {
    throw new ConfigError((e as Error).message, { cause: e });
  }
}

/** Apply `updates` to the plugin's JSON text, with Go's error when that text is not an object. */
function injectMembers(conf: PluginConfig, updates: readonly Update[]): string {
  const prefix = 'unmarshal existing network bytes: ';
  const text = jsonText(conf.bytes);
  let kind: string;
  try {
    kind = scanJson(text).kind;
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw new ConfigError(prefix + e.message, { cause: e });
    throw e;
  }
  if (kind !== 'object') {
    // For `null` Go would panic writing into a nil map; an error is the useful answer.
    throw new ConfigError(
      `${prefix}json: cannot unmarshal ${kind} into Go value of type map[string]interface {}`,
    );
  }
  return setMembers(text, updates);
}

/**
 * Set top-level keys of a plugin config (Go `InjectConf`): each key of `values` replaces the
 * member of that name or is appended; every other byte is kept. The result is parsed again, so
 * injecting an empty `type` fails as in Go.
 *
 * Errors ({@link ConfigError}): `unmarshal existing network bytes: ...`, `keys cannot be empty`,
 * `key '<k>' value must not be nil` (for `undefined` and `null`, Go's untyped nil).
 */
export function injectConf(conf: PluginConfig, values: Record<string, unknown>): PluginConfig {
  const updates: Update[] = [];
  for (const [key, value] of Object.entries(values)) {
    if (key === '') throw new ConfigError('keys cannot be empty');
    if (value === undefined || value === null) throw new ConfigError(`key '${key}' value must not be nil`);
    updates.push([key, encode(value)]);
  }
  return pluginConfFromBytes(injectMembers(conf, updates));
}

/** Inputs of {@link buildRequestConfig}. */
export interface RequestConfigOptions {
  /** The list's name (injected as `name`, overwriting the plugin's own). */
  name: string;
  /** The list's version (injected as `cniVersion`, overwriting the plugin's own). */
  cniVersion: string;
  /** The previous result, any JSON-compatible value; left out when `undefined` or `null`. */
  prevResult?: unknown;
  /** The runtime's capability arguments; only those the plugin declares `true` are passed. */
  capabilityArgs?: Record<string, unknown> | undefined;
}

/**
 * The `runtimeConfig` a plugin gets (Go `injectRuntimeConfig`): for each capability the plugin
 * declares `true` and the runtime supplied, that argument. `undefined` when there is none, in which
 * case Go leaves the plugin's JSON alone (a `runtimeConfig` written in the file then stays).
 */
function runtimeConfigFor(
  plugin: PluginConfig,
  capabilityArgs: Record<string, unknown> | undefined,
): Record<string, unknown> | undefined {
  if (!capabilityArgs) return undefined;
  const entries = capabilitiesOf(plugin)
    .filter((cap) => Object.hasOwn(capabilityArgs, cap) && capabilityArgs[cap] !== undefined)
    .map((cap) => [cap, capabilityArgs[cap]] as const);
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

/**
 * The stdin for ADD, CHECK and DEL (Go `buildOneConfig`): the plugin's bytes with `name` and
 * `cniVersion` set, `prevResult` set when given, and `runtimeConfig` set when the plugin declares a
 * capability the runtime supplied. `capabilities`, `args` and every other key pass through as
 * written.
 */
export function buildRequestConfig(plugin: PluginConfig, opts: RequestConfigOptions): Uint8Array {
  const updates: Update[] = [
    ['name', goQuote(opts.name)],
    ['cniVersion', goQuote(opts.cniVersion)],
  ];
  if (opts.prevResult !== undefined && opts.prevResult !== null) {
    updates.push(['prevResult', encode(opts.prevResult)]);
  }
  const rc = runtimeConfigFor(plugin, opts.capabilityArgs);
  if (rc) updates.push(['runtimeConfig', encode(rc)]);
  return utf8Bytes(injectMembers(plugin, updates));
}

/** One attachment that is still in use, for GC. */
export interface ValidAttachment {
  containerId: string;
  ifName: string;
}

/** Inputs of {@link buildGcConfig}. */
export interface GcConfigOptions {
  name: string;
  cniVersion: string;
  /**
   * The attachments still in use. `null` sends both keys as `null` (Go's nil slice); `undefined`
   * leaves both keys out (Go's nil `GCArgs`).
   */
  validAttachments?: readonly ValidAttachment[] | null | undefined;
}

/**
 * The stdin for GC (Go `GCNetworkList`): the plugin's bytes with `name`, `cniVersion` and both
 * `cni.dev/valid-attachments` and `cni.dev/attachments` (the key the spec first used, cni#1101)
 * set to `[{"containerID":..,"ifname":..}]`. No `runtimeConfig`, no `prevResult`.
 */
export function buildGcConfig(plugin: PluginConfig, opts: GcConfigOptions): Uint8Array {
  const updates: Update[] = [
    ['name', goQuote(opts.name)],
    ['cniVersion', goQuote(opts.cniVersion)],
  ];
  if (opts.validAttachments !== undefined) {
    const json =
      opts.validAttachments === null
        ? 'null'
        : `[${opts.validAttachments
            .map((a) => `{"containerID":${goQuote(a.containerId)},"ifname":${goQuote(a.ifName)}}`)
            .join(',')}]`;
    updates.push(['cni.dev/attachments', json], ['cni.dev/valid-attachments', json]);
  }
  return utf8Bytes(injectMembers(plugin, updates));
}

/** The stdin for STATUS (Go `GetStatusNetworkList`): the plugin's bytes with `name` and `cniVersion` set. */
export function buildStatusConfig(
  plugin: PluginConfig,
  opts: { name: string; cniVersion: string },
): Uint8Array {
  return utf8Bytes(
    injectMembers(plugin, [
      ['name', goQuote(opts.name)],
      ['cniVersion', goQuote(opts.cniVersion)],
    ]),
  );
}

/** The capabilities the plugin declares `true`, in the order its config lists them. */
export function capabilitiesOf(plugin: PluginConfig): string[] {
  const caps = plugin.network.capabilities;
  if (!caps) return [];
  return Object.keys(caps).filter((k) => caps[k] === true);
}

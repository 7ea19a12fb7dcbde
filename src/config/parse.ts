/**
 * Parsing network configuration: a plugin object (Go `NetworkPluginConfFromBytes`) and a network
 * configuration list (Go `NetworkConfFromBytes`), with libcni's rules and error messages.
 *
 * One deliberate difference from Go: libcni re-encodes every plugin object of a list through a
 * float64 map, which changes numbers, key order and escaping. Here each plugin keeps the exact text
 * it had inside the list (`PluginConfig.bytes` is a slice of the file), and `network` is only a
 * parsed view for reading settings.
 */
import { arrayElements, type JsonMember, type JsonSpan, objectMembers, scanJson } from '../go/json-scan.ts';
import { ConfigError, JsonSyntaxError } from '../core/errors.ts';
import { goQuoteString } from '../go/quote.ts';
import { goTypeName } from '../go/json-decode.ts';
import { decodePluginConf } from './plugin-conf-decode.ts';
import type { NetworkConfigList, PluginConf, PluginConfig } from './types.ts';
import { jsonText, ownBytes } from './text.ts';
import { selectListVersion } from './version-select.ts';

/** Where the bytes came from, so that errors can name the file. */
export interface ParseOptions {
  file?: string | undefined;
}

/** Scan `text`, turning a syntax error into a ConfigError with `prefix`. */
function scanOrThrow(text: string, prefix: string, file: string | undefined): JsonSpan {
  try {
    return scanJson(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw new ConfigError(`${prefix}${e.message}`, { cause: e, file });
    throw e;
  }
}

/**
 * Parse one plugin object (Go `NetworkPluginConfFromBytes` / `ConfFromBytes`). `bytes` of the
 * result is a copy of the input, unchanged.
 *
 * Errors ({@link ConfigError}): `error parsing configuration: <JSON error>` and
 * `error parsing configuration: missing 'type'`.
 */
export function pluginConfFromBytes(bytes: string | Uint8Array, options?: ParseOptions): PluginConfig {
  const file = options?.file;
  const prefix = 'error parsing configuration: ';
  const text = jsonText(bytes);
  const top = scanOrThrow(text, prefix, file);
  let network: PluginConf;
  if (top.kind === 'null') {
    network = { type: '' }; // Go leaves the struct empty
  } else if (top.kind !== 'object') {
    throw new ConfigError(
      `${prefix}json: cannot unmarshal ${top.kind} into Go value of type types.PluginConf`,
      {
        file,
      },
    );
  } else {
    try {
      network = decodePluginConf(text, objectMembers(text));
    } catch (e) {
      throw new ConfigError(`${prefix}${(e as Error).message}`, { cause: e, file });
    }
  }
  if (network.type === '') throw new ConfigError(`${prefix}missing 'type'`, { file });
  return { network, bytes: ownBytes(bytes) };
}

/**
 * Parse a network configuration list (Go `NetworkConfFromBytes` / `ConfListFromBytes`): name,
 * version selection, the boolean flags and the inline plugins. Plugins from a `<dir>/<name>/`
 * subdirectory are added by `networkConfFromFile`, not here. `bytes` of the result is a copy of
 * the input, unchanged; each plugin's `bytes` is its exact slice of it.
 *
 * Errors are {@link ConfigError}s with Go's messages (`error parsing configuration list: no name`,
 * `... no plugins in list`, `failed to parse plugin config 1: ...`, ...).
 */
export function networkConfFromBytes(bytes: string | Uint8Array, options?: ParseOptions): NetworkConfigList {
  const src = readListMembers(bytes, options?.file);
  const name = readListName(src);
  const cniVersion = readListVersion(src);
  const disableCheck = readListBool(src, 'disableCheck');
  const disableGC = readListBool(src, 'disableGC');
  const loadOnlyInlinedPlugins = readListBool(src, 'loadOnlyInlinedPlugins');
  return {
    name,
    cniVersion,
    disableCheck,
    disableGC,
    loadOnlyInlinedPlugins,
    plugins: readInlinePlugins(src, loadOnlyInlinedPlugins),
    bytes: ownBytes(bytes),
  };
}

/** A configuration list's top-level members, and how to read and reject them. */
interface ListSource {
  readonly text: string;
  readonly file: string | undefined;
  /** Go decodes into a map: a repeated key keeps its last value. */
  readonly members: ReadonlyMap<string, JsonMember>;
  /** Throws the list's ConfigError with `msg` after the list prefix. */
  readonly fail: (msg: string, cause?: unknown) => never;
}

function readListMembers(bytes: string | Uint8Array, file: string | undefined): ListSource {
  const prefix = 'error parsing configuration list: ';
  const fail = (msg: string, cause?: unknown): never => {
    throw new ConfigError(prefix + msg, { cause, file });
  };
  const text = jsonText(bytes);
  const top = scanOrThrow(text, prefix, file);
  if (top.kind !== 'object' && top.kind !== 'null') {
    fail(`json: cannot unmarshal ${top.kind} into Go value of type map[string]interface {}`);
  }
  const members = new Map<string, JsonMember>();
  if (top.kind === 'object') for (const m of objectMembers(text)) members.set(m.key, m);
  return { text, file, members, fail };
}

function memberValue(src: ListSource, m: JsonMember): unknown {
  return JSON.parse(src.text.slice(m.valueStart, m.valueEnd));
}

function readListName(src: ListSource): string {
  const nameMember = src.members.get('name');
  if (!nameMember) return src.fail('no name');
  const name = memberValue(src, nameMember);
  if (typeof name !== 'string') return src.fail(`invalid name type ${goTypeName(name)}`);
  return name;
}

/** `cniVersion` and `cniVersions`, reduced to the version the list is used at. */
function readListVersion(src: ListSource): string {
  const { fail } = src;
  let cniVersion = '';
  const versionMember = src.members.get('cniVersion');
  if (versionMember) {
    const v = memberValue(src, versionMember);
    if (typeof v !== 'string') return fail(`invalid cniVersion type ${goTypeName(v)}`);
    cniVersion = v;
  }

  let cniVersions: string[] | undefined;
  const versionsMember = src.members.get('cniVersions');
  if (versionsMember) {
    const vs = memberValue(src, versionsMember);
    // Go prints the type of a nil []interface{} here whatever the value was; we name the real type.
    if (!Array.isArray(vs)) return fail(`invalid type for cniVersions: ${goTypeName(vs)}`);
    cniVersions = vs.map((v: unknown, i) =>
      typeof v === 'string' ? v : fail(`invalid type for cniVersions index ${i}: ${goTypeName(v)}`),
    );
  }
  try {
    return selectListVersion(cniVersion, cniVersions);
  } catch (e) {
    return fail((e as Error).message, e);
  }
}

/** A boolean flag: absent is false; a string is accepted as "true"/"false" in any case. */
function readListBool(src: ListSource, key: string): boolean {
  const m = src.members.get(key);
  if (!m) return false;
  const v = memberValue(src, m);
  if (typeof v === 'boolean') return v;
  if (typeof v !== 'string') return src.fail(`invalid type ${goTypeName(v)} for ${key}`);
  const s = v.toLowerCase();
  if (s === 'true') return true;
  if (s === 'false') return false;
  return src.fail(`invalid value ${goQuoteString(s)} for ${key}`);
}

/** The inline `plugins`, each keeping its exact slice of the list's text. */
function readInlinePlugins(src: ListSource, loadOnlyInlinedPlugins: boolean): PluginConfig[] {
  const { fail, file } = src;
  const pluginsMember = src.members.get('plugins');
  if (!pluginsMember) {
    if (loadOnlyInlinedPlugins) fail("`loadOnlyInlinedPlugins` is true, and no 'plugins' key");
    return [];
  }
  const pluginsText = src.text.slice(pluginsMember.valueStart, pluginsMember.valueEnd);
  if (!pluginsText.startsWith('['))
    return fail(`invalid 'plugins' type ${goTypeName(memberValue(src, pluginsMember))}`);
  const elements = arrayElements(pluginsText);
  if (elements.length === 0) return fail('no plugins in list');
  return elements.map((el, i) => {
    const pluginText = pluginsText.slice(el.start, el.end);
    try {
      return pluginConfFromBytes(pluginText, { file });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      throw new ConfigError(`failed to parse plugin config ${i}: ${e.message}`, { cause: e, file });
    }
  });
}

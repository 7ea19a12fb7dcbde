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
  const file = options?.file;
  const prefix = 'error parsing configuration list: ';
  const fail = (msg: string, cause?: unknown): never => {
    throw new ConfigError(prefix + msg, { cause, file });
  };
  const text = jsonText(bytes);
  const top = scanOrThrow(text, prefix, file);
  if (top.kind !== 'object' && top.kind !== 'null') {
    fail(`json: cannot unmarshal ${top.kind} into Go value of type map[string]interface {}`);
  }
  // Go decodes into a map: a repeated key keeps its last value.
  const raw = new Map<string, JsonMember>();
  if (top.kind === 'object') for (const m of objectMembers(text)) raw.set(m.key, m);
  const valueOf = (m: JsonMember): unknown => JSON.parse(text.slice(m.valueStart, m.valueEnd));

  const nameMember = raw.get('name');
  if (!nameMember) return fail('no name');
  const name = valueOf(nameMember);
  if (typeof name !== 'string') return fail(`invalid name type ${goTypeName(name)}`);

  let cniVersion = '';
  const versionMember = raw.get('cniVersion');
  if (versionMember) {
    const v = valueOf(versionMember);
    if (typeof v !== 'string') return fail(`invalid cniVersion type ${goTypeName(v)}`);
    cniVersion = v;
  }

  let cniVersions: string[] | undefined;
  const versionsMember = raw.get('cniVersions');
  if (versionsMember) {
    const vs = valueOf(versionsMember);
    // Go prints the type of a nil []interface{} here whatever the value was; we name the real type.
    if (!Array.isArray(vs)) return fail(`invalid type for cniVersions: ${goTypeName(vs)}`);
    cniVersions = vs.map((v: unknown, i) =>
      typeof v === 'string' ? v : fail(`invalid type for cniVersions index ${i}: ${goTypeName(v)}`),
    );
  }
  try {
    cniVersion = selectListVersion(cniVersion, cniVersions);
  } catch (e) {
    fail((e as Error).message, e);
  }

  const readBool = (key: string): boolean => {
    const m = raw.get(key);
    if (!m) return false;
    const v = valueOf(m);
    if (typeof v === 'boolean') return v;
    if (typeof v !== 'string') return fail(`invalid type ${goTypeName(v)} for ${key}`);
    const s = v.toLowerCase();
    if (s === 'true') return true;
    if (s === 'false') return false;
    return fail(`invalid value ${goQuoteString(s)} for ${key}`);
  };
  const disableCheck = readBool('disableCheck');
  const disableGC = readBool('disableGC');
  const loadOnlyInlinedPlugins = readBool('loadOnlyInlinedPlugins');

  const list: NetworkConfigList = {
    name,
    cniVersion,
    disableCheck,
    disableGC,
    loadOnlyInlinedPlugins,
    plugins: [],
    bytes: ownBytes(bytes),
  };

  const pluginsMember = raw.get('plugins');
  if (!pluginsMember) {
    if (loadOnlyInlinedPlugins) fail("`loadOnlyInlinedPlugins` is true, and no 'plugins' key");
    return list;
  }
  const pluginsText = text.slice(pluginsMember.valueStart, pluginsMember.valueEnd);
  if (!pluginsText.startsWith('['))
    return fail(`invalid 'plugins' type ${goTypeName(valueOf(pluginsMember))}`);
  const elements = arrayElements(pluginsText);
  if (elements.length === 0) return fail('no plugins in list');
  elements.forEach((el, i) => {
    const pluginText = pluginsText.slice(el.start, el.end);
    try {
      list.plugins.push(pluginConfFromBytes(pluginText, { file }));
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      throw new ConfigError(`failed to parse plugin config ${i}: ${e.message}`, { cause: e, file });
    }
  });
  return list;
}

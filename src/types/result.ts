/**
 * CNI results as plain JSON-shaped objects, one shape per spec family, and their decoding.
 *
 * Decoding is the equivalent of Go libcni parsing a result into its typed struct for the version
 * (`create.Create`) and encoding it back: unknown keys vanish at every level, IP text is canonical,
 * empty fields are left out, keys come in Go's field order. What comes out is what Go would cache,
 * so `goMarshal(result)` gives the bytes of a Go-written cache's `result`.
 *
 * | versions        | shape                                                             |
 * |-----------------|-------------------------------------------------------------------|
 * | 0.1.0, 0.2.0    | {@link Result020}: `ip4`/`ip6` with their routes, `dns` always      |
 * | 0.3.0 - 0.4.0   | {@link Result040}: `interfaces`, `ips` with `version`, `routes`, `dns` always |
 * | 1.0.0, 1.1.0    | {@link Result100}: as 0.4.0 without `ips[].version`, more attributes, `dns` only when set |
 */

import { compareUtf8 } from '../go/json-encode.ts';
import { ResultError } from '../core/errors.ts';
import { goList, goQuoteString } from '../go/quote.ts';
import { goJsonKind, parseJsonLikeGo } from '../go/json-decode.ts';
import type { Result, ResultVersion } from './result-model.ts';
import {
  type DecodedResult020,
  type DecodedResult040,
  type DecodedResult100,
  ResultDecodeIssue,
  resultDecoders,
} from './result-schema.ts';
import { goFold } from '../go/struct.ts';

type Family = '020' | '040' | '100';

// Go's creators and the versions each accepts; 0.2.0's also takes "" (then 0.1.0) and prints it in its list.
const FAMILY_VERSIONS: Readonly<Record<Family, readonly string[]>> = {
  '020': ['', '0.1.0', '0.2.0'],
  '040': ['0.3.0', '0.3.1', '0.4.0'],
  '100': ['1.0.0', '1.1.0'],
};

function familyOf(version: string): Family | undefined {
  if (version === '0.1.0' || version === '0.2.0' || version === '') return '020';
  if (version === '0.3.0' || version === '0.3.1' || version === '0.4.0') return '040';
  if (version === '1.0.0' || version === '1.1.0') return '100';
  return undefined;
}

/** True for a version that has a result shape here (exact string match, as Go's). */
export function isResultVersion(version: string): version is ResultVersion {
  return version !== '' && familyOf(version) !== undefined;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function pathText(path: readonly PropertyKey[]): string {
  let out = 'result';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `.${String(p)}`;
  return out;
}

/**
 * Go's `create.Create(version, bytes)` on an already-parsed object: pick the result type by
 * `version`, decode, and require the decoded `cniVersion` to belong to that type.
 */
function createResult(version: string, doc: Record<string, unknown>): Result {
  const family = familyOf(version);
  if (family === undefined) throw new ResultError(`unsupported CNI result version ${goQuoteString(version)}`);
  let decoded: DecodedResult020 | DecodedResult040 | DecodedResult100;
  try {
    decoded = resultDecoders[family](doc, []);
  } catch (e) {
    if (!(e instanceof ResultDecodeIssue)) throw e;
    throw new ResultError(`${pathText(e.path)}: ${e.message}`);
  }
  if (family === '020' && decoded.cniVersion === '') decoded.cniVersion = '0.1.0';
  if (!FAMILY_VERSIONS[family].includes(decoded.cniVersion)) {
    throw new ResultError(
      `result type supports ${goList(FAMILY_VERSIONS[family])} but unmarshalled CNIVersion is ${goQuoteString(decoded.cniVersion)}`,
    );
  }
  return decoded as Result;
}

/**
 * The `cniVersion` Go's struct decoding would see: keys match case-insensitively, the last wins,
 * `null` is no value. undefined when there is none.
 */
function decodedVersion(doc: Record<string, unknown>): string | undefined {
  let version: string | undefined;
  for (const key of Object.keys(doc)) {
    if (goFold(key) !== 'cniversion') continue;
    const v = doc[key];
    if (v === null) continue;
    if (typeof v !== 'string') {
      throw new ResultError(
        `decoding version from network config: json: cannot unmarshal ${goJsonKind(v)} into Go struct field .cniVersion of type string`,
      );
    }
    version = v;
  }
  return version;
}

const VERSION_PROBE_TYPE = 'struct { CNIVersion string "json:\\"cniVersion\\"" }';

/**
 * Validate and canonicalise a result given as a parsed JSON value, as Go does when it decodes a
 * result into its typed struct and encodes it again (what ends up in Go's cache).
 *
 * The version comes from the value's own `cniVersion`; when that is absent or empty, from `version`;
 * when both are missing, 0.1.0 (Go's `CreateFromBytes`). `null` is an empty result.
 *
 * @throws ResultError `unsupported CNI result version "<v>"` for a version without a result shape,
 *   and `result.<path>: <why>` when a field has the wrong type or an address does not parse.
 *   Unknown fields are dropped, never an error.
 */
export function normalizeResult(value: unknown, version?: string): Result {
  const doc = value === null ? {} : value;
  if (!isPlainObject(doc)) {
    throw new ResultError(
      `decoding version from network config: json: cannot unmarshal ${goJsonKind(doc)} into Go value of type ${VERSION_PROBE_TYPE}`,
    );
  }
  const own = decodedVersion(doc);
  if (own !== undefined && own !== '') return createResult(own, doc);
  const effective = version || '0.1.0';
  // Decode with the chosen version in place of whatever empty spellings the object had.
  const withVersion = Object.fromEntries(Object.entries(doc).filter(([key]) => goFold(key) !== 'cniversion'));
  withVersion.cniVersion = effective;
  return createResult(effective, withVersion);
}

/**
 * Decode result bytes whose version is read from the bytes themselves, as Go's `CreateFromBytes`
 * (how Go reads a legacy cache file that holds a bare result).
 * @throws ResultError `decoding version from network config: <Go's JSON error>` for bytes that are
 *   not JSON, and the errors of {@link normalizeResult}.
 */
export function resultFromBytes(bytes: string | Uint8Array): Result {
  const parsed = parseJsonLikeGo(bytes);
  if (!parsed.ok) throw new ResultError(`decoding version from network config: ${parsed.reason}`);
  return normalizeResult(parsed.value);
}

/** Object keys in Go's map order (UTF-8 bytes), as Go re-marshals a `map[string]interface{}`. */
function sortedByUtf8(doc: Record<string, unknown>): Record<string, unknown> {
  // fromEntries defines own properties, so even a `__proto__` key stays plain data.
  return Object.fromEntries(Object.entries(doc).sort(([a], [b]) => compareUtf8(a, b)));
}

/**
 * Decode what a plugin printed on stdout for ADD, as Go's `ExecPluginWithResult` does: the output
 * must be a JSON object (`null` counts as `{}`); when its `cniVersion` is missing, empty or not a
 * string, the configuration's version is used (`""` meaning 0.1.0, cni#895); then the result is
 * decoded for that version. The plugin's version is not required to match the configuration's.
 *
 * @throws ResultError `failed to unmarshal raw result: <Go's JSON error>` for output that is not a
 *   JSON object, and the errors of {@link normalizeResult}.
 */
export function decodePluginResult(stdout: Uint8Array | string, configVersion: string): Result {
  const parsed = parseJsonLikeGo(stdout);
  if (!parsed.ok) throw new ResultError(`failed to unmarshal raw result: ${parsed.reason}`);
  const raw = parsed.value === null ? {} : parsed.value;
  if (!isPlainObject(raw)) {
    throw new ResultError(
      `failed to unmarshal raw result: json: cannot unmarshal ${goJsonKind(raw)} into Go value of type map[string]interface {}`,
    );
  }
  const own = raw.cniVersion;
  if (typeof own === 'string' && own !== '') return createResult(own, raw);
  const version = configVersion || '0.1.0';
  // Go writes the version into the map and re-marshals it, which also sorts the keys.
  return createResult(version, sortedByUtf8({ ...raw, cniVersion: version }));
}

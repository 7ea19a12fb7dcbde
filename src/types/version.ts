/**
 * CNI spec versions: parsing and ordering them as Go's `pkg/version` does, the `VERSION` command's
 * answer (`PluginInfo`), and the check that a plugin supports a configuration's version.
 *
 * Version *membership* is always an exact string compare (`"1.0"` is not `"1.0.0"`); only ordering
 * parses the numbers, with Go's lenient `strconv.Atoi` rules (`"1"`, `"1.0"`, `"+1.0.0"` all parse).
 */

import { type ErrorContext, VersionError } from '../core/errors.ts';
import { goQuoteList, goQuoteString } from '../go/quote.ts';
import { goJsonKind, parseJsonLikeGo } from '../go/json-decode.ts';
import { decodeStruct, goString, goStringSlice, isJsonObject, type StructSpec } from '../go/struct.ts';

/** The newest spec version this library implements (Go's `version.Current()`). */
export const CURRENT_VERSION = '1.1.0';

/** Every spec version this library can read, write and convert results between, oldest first. */
export const SUPPORTED_VERSIONS: readonly string[] = Object.freeze([
  '0.1.0',
  '0.2.0',
  '0.3.0',
  '0.3.1',
  '0.4.0',
  '1.0.0',
  '1.1.0',
]);

/** What a plugin that predates the `VERSION` command is assumed to support (Go's `version.Legacy`). */
export const LEGACY_VERSIONS: readonly string[] = Object.freeze(['0.1.0', '0.2.0']);

/** A plugin's answer to `VERSION`. */
export interface PluginInfo {
  /** The spec version the answer itself is written in. */
  cniVersion: string;
  /** The spec versions the plugin accepts on stdin, as it listed them. */
  supportedVersions: string[];
}

const INT64_MAX = (1n << 63n) - 1n;

/** Go's `strconv.Atoi` on a 64-bit platform: optional sign, decimal digits, int64 range. */
function atoi(s: string): bigint {
  const numError = (why: string): Error => new Error(`strconv.Atoi: parsing ${goQuoteString(s)}: ${why}`);
  let digits = s;
  let negative = false;
  if (digits.startsWith('+') || digits.startsWith('-')) {
    negative = digits.startsWith('-');
    digits = digits.slice(1);
  }
  if (digits === '') throw numError('invalid syntax');
  let n = 0n;
  const limit = negative ? INT64_MAX + 1n : INT64_MAX;
  for (const ch of digits) {
    if (ch < '0' || ch > '9') throw numError('invalid syntax');
    n = n * 10n + BigInt(ch.charCodeAt(0) - 0x30);
    // Go reports overflow as soon as it happens, before looking at later characters.
    if (n > limit) throw numError('value out of range');
  }
  return negative ? -n : n;
}

const PART_NAMES = ['major', 'minor', 'micro'] as const;

function parseParts(v: string): [bigint, bigint, bigint] {
  if (v === '') return [0n, 1n, 0n]; // no version declared means 0.1.0
  const parts = v.split('.');
  if (parts.length >= 4) throw new VersionError(`invalid version ${goQuoteString(v)}: too many parts`);
  const out: [bigint, bigint, bigint] = [0n, 0n, 0n];
  parts.forEach((part, i) => {
    try {
      out[i] = atoi(part);
    } catch (e) {
      throw new VersionError(
        `failed to convert ${PART_NAMES[i] ?? 'micro'} version part ${goQuoteString(part)}: ${(e as Error).message}`,
      );
    }
  });
  return out;
}

/**
 * Parse a spec version into `[major, minor, micro]` with Go's `ParseVersion` rules: `""` is 0.1.0,
 * missing parts are 0 (`"1"` is 1.0.0), four or more parts are an error.
 * @throws VersionError with Go's message naming the bad string.
 */
export function parseVersion(v: string): [number, number, number] {
  const [a, b, c] = parseParts(v);
  return [Number(a), Number(b), Number(c)];
}

/**
 * Order two versions numerically: negative when `a < b`, 0 when equal, positive when `a > b`.
 * @throws VersionError when either is malformed.
 */
export function compareVersions(a: string, b: string): number {
  const pa = parseParts(a);
  const pb = parseParts(b);
  for (let i = 0; i < 3; i++) {
    const x = pa[i] ?? 0n;
    const y = pb[i] ?? 0n;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * Go's `version.GreaterThan`.
 * @throws VersionError when either is malformed.
 */
export function greaterThan(a: string, b: string): boolean {
  return compareVersions(a, b) > 0;
}

/**
 * Go's `version.GreaterThanOrEqualTo`.
 * @throws VersionError when either is malformed.
 */
export function greaterThanOrEqualTo(a: string, b: string): boolean {
  return compareVersions(a, b) >= 0;
}

/**
 * A {@link PluginInfo} for a plugin that supports exactly `versions` (Go's `PluginSupports`).
 * @throws VersionError when no version is given (Go panics).
 */
export function pluginSupports(...versions: string[]): PluginInfo {
  if (versions.length === 0) throw new VersionError('a plugin must support at least one version');
  return { cniVersion: CURRENT_VERSION, supportedVersions: [...versions] };
}

/**
 * The supported versions from `minVersion` (inclusive) up to {@link CURRENT_VERSION}
 * (Go's `VersionsStartingFrom`; `minVersion` must be one of {@link SUPPORTED_VERSIONS}).
 * @throws VersionError when `minVersion` is not a known version.
 */
export function versionsStartingFrom(minVersion: string): PluginInfo {
  const start = SUPPORTED_VERSIONS.indexOf(minVersion);
  if (start < 0) throw new VersionError(`unknown CNI version ${goQuoteString(minVersion)}`);
  return pluginSupports(...SUPPORTED_VERSIONS.slice(start));
}

const PLUGIN_INFO: StructSpec = {
  name: 'pluginInfo',
  path: [],
  keepUnknown: false,
  fields: [
    ['cniVersion', goString('pluginInfo', ['cniVersion'])],
    ['supportedVersions', goStringSlice('pluginInfo', ['supportedVersions'])],
  ],
};

/**
 * Decode a plugin's `VERSION` output with Go's `PluginDecoder` rules: `cniVersion` is required; an
 * absent or empty `supportedVersions` is accepted only from a 0.2.0 plugin and means 0.1.0 and 0.2.0.
 * @throws VersionError `decoding version info: <reason>` (Go's text).
 */
export function decodePluginInfo(bytes: string | Uint8Array, context?: ErrorContext): PluginInfo {
  const fail = (reason: string): never => {
    throw new VersionError(`decoding version info: ${reason}`, { context });
  };
  const parsed = parseJsonLikeGo(bytes);
  if (!parsed.ok) return fail(parsed.reason);
  const doc = parsed.value;
  let cniVersion = '';
  let supportedVersions: string[] = [];
  if (doc !== null) {
    if (!isJsonObject(doc)) {
      return fail(`json: cannot unmarshal ${goJsonKind(doc)} into Go value of type version.pluginInfo`);
    }
    const { view, problem } = decodeStruct(Object.entries(doc), PLUGIN_INFO, {}, 'return');
    if (problem) return fail(problem.message);
    cniVersion = (view.cniVersion as string | undefined) ?? '';
    supportedVersions = (view.supportedVersions as string[] | undefined) ?? [];
  }
  if (cniVersion === '') return fail('missing field cniVersion');
  if (supportedVersions.length === 0) {
    if (cniVersion === '0.2.0') return pluginSupports(...LEGACY_VERSIONS);
    return fail('missing field supportedVersions');
  }
  return { cniVersion, supportedVersions };
}

/**
 * Go's `Reconciler.Check`: the configuration's version must be one of the plugin's, by exact string.
 * @throws VersionError `incompatible CNI versions: config is "<v>", plugin supports ["a" "b"]`.
 */
export function checkCompatible(configVersion: string, info: PluginInfo): void {
  if (info.supportedVersions.includes(configVersion)) return;
  throw new VersionError(
    `incompatible CNI versions: config is ${goQuoteString(configVersion)}, plugin supports ${goQuoteList(info.supportedVersions)}`,
  );
}

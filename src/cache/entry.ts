/**
 * The cache entry format: one JSON document per attachment, in the layout Go libcni (>= 1.2)
 * writes (`cachedInfo`, kind `cniCacheV1`), so Go runtimes and this library read each other's
 * entries. Pure: encoding and decoding only; the files are in store.ts.
 */
import { goMarshal, goQuote } from '../go/json-encode.ts';
import { parseJsonLikeGo } from '../go/json-decode.ts';
import { goFieldPicker } from '../go/struct.ts';

/** The `kind` Go libcni stamps on every cache entry. */
export const CACHE_KIND_V1 = 'cniCacheV1';
/** Go libcni's default cache directory. */
export const DEFAULT_CACHE_DIR = '/var/lib/cni';
/** Suffix given to a corrupt entry when it is moved aside. */
export const CORRUPT_SUFFIX = '.corrupt';
/** Prefix of the temp files writes rename into place. */
export const TEMP_PREFIX = '.libcni-tmp-';
/** A temp file older than this was left by a crashed writer (no write takes a minute): removed. */
export const STALE_TEMP_MS = 60_000;

/**
 * What a cache write flushes before it returns. The rename makes every write atomic whatever this
 * is: readers and crashed processes see the old entry or the new one, never a torn file. The flush
 * decides only what a power loss can undo:
 * - `'none'` (default, as Go libcni, which never fsyncs its cache): the kernel writes the entry
 *   back on its own schedule (ext4 commits every 5 s). A power loss within that window can leave
 *   the entry missing or empty; DEL copes with both (no entry: it runs without `prevResult`, as
 *   Go; an empty one is moved aside as corrupt and DEL goes on), so nothing is left unremovable.
 *   Namespaces and veths do not survive a power loss either. An fsync costs one disk flush per
 *   ADD, 2-3 ms on the reference VM (BENCHMARKS.md), as much as Go spends on a whole plugin call.
 * - `'file'`: the entry's bytes are on disk before the rename, so after a power loss the file is
 *   the old or the new entry, never empty. The rename itself may be lost (the old entry comes
 *   back). One fsync per write.
 * - `'full'`: also fsync the directory, so the rename survives a power loss. One more open + fsync.
 */
export type CacheSync = 'none' | 'file' | 'full';

/** Identifies one attachment: the cache file name is `<network>-<containerId>-<ifName>`. */
export interface AttachmentKey {
  network: string;
  containerId: string;
  ifName: string;
}

/** What one cache entry holds (Go's `cachedInfo`). */
export interface CacheEntry extends AttachmentKey {
  /** The exact network config (list) bytes the attachment was made with. */
  config: Uint8Array;
  netns?: string | undefined;
  cniArgs?: Array<[string, string]> | undefined;
  capabilityArgs?: Record<string, unknown> | undefined;
  /** The final result, already normalized to Go's typed model (plain JSON). */
  result?: unknown;
}

/** The outcome of reading one cache file. */
export type CacheRead =
  | { kind: 'missing'; path: string }
  | { kind: 'entry'; path: string; entry: CacheEntry }
  /** A pre-cniCacheV1 file: the bare result JSON (parsed), or a non-object / wrong-kind document. */
  | { kind: 'legacy'; path: string; document: unknown; reason: string }
  /** Not JSON at all (empty, truncated, garbage). */
  | { kind: 'corrupt'; path: string; reason: string };

/** A cache entry read back by the cache listing (`CNIConfig.getCachedAttachments`, `readCacheEntry`). */
export interface NetworkAttachment {
  containerId: string;
  network: string;
  ifName: string;
  config: Uint8Array;
  netns: string;
  cniArgs: Array<[string, string]> | undefined;
  capabilityArgs: Record<string, unknown> | undefined;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isObject(v)) return Object.keys(v).length === 0;
  return false;
}

/** Serialise an entry to exactly the bytes Go's encoder writes for `cachedInfo`. */
export function encodeCacheEntry(entry: CacheEntry): string {
  let out = `{"kind":${goQuote(CACHE_KIND_V1)},"containerId":${goQuote(entry.containerId)}`;
  out += `,"config":${goQuote(Buffer.from(entry.config).toString('base64'))}`;
  out += `,"ifName":${goQuote(entry.ifName)},"networkName":${goQuote(entry.network)}`;
  if (!isEmpty(entry.netns)) out += `,"netns":${goQuote(entry.netns as string)}`;
  if (!isEmpty(entry.cniArgs)) out += `,"cniArgs":${goMarshal(entry.cniArgs)}`;
  if (!isEmpty(entry.capabilityArgs)) out += `,"capabilityArgs":${goMarshal(entry.capabilityArgs)}`;
  if (entry.result !== undefined && entry.result !== null) out += `,"result":${goMarshal(entry.result)}`;
  return `${out}}`;
}

function parseArgs(v: unknown): Array<[string, string]> | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: Array<[string, string]> = [];
  for (const pair of v) {
    if (Array.isArray(pair) && typeof pair[0] === 'string' && typeof pair[1] === 'string')
      out.push([pair[0], pair[1]]);
  }
  return out;
}

// Go's cachedInfo fields, matched as json.Unmarshal matches them (any case, last key wins), so
// `containerID` (as ocicni writes its own records) is read too.
const pickCacheFields = goFieldPicker([
  'kind',
  'containerId',
  'config',
  'ifName',
  'networkName',
  'netns',
  'cniArgs',
  'capabilityArgs',
  'result',
]);

/** Decode a cache file's text. */
export function decodeCacheText(text: string, filePath: string): CacheRead {
  // Go's decoder wording (`invalid character 'a' looking for beginning of value`): libcni's cache
  // errors embed it and callers match on it.
  const parsed = parseJsonLikeGo(text);
  if (!parsed.ok) return { kind: 'corrupt', path: filePath, reason: parsed.reason };
  const doc = pickCacheFields(parsed.value);
  if (!isObject(doc) || doc.kind !== CACHE_KIND_V1) {
    const kind = isObject(doc) ? doc.kind : undefined;
    return {
      kind: 'legacy',
      path: filePath,
      document: parsed.value,
      reason: typeof kind === 'string' ? kind : '',
    };
  }
  let config = new Uint8Array();
  if (typeof doc.config === 'string') config = new Uint8Array(Buffer.from(doc.config, 'base64'));
  const entry: CacheEntry = {
    containerId: typeof doc.containerId === 'string' ? doc.containerId : '',
    network: typeof doc.networkName === 'string' ? doc.networkName : '',
    ifName: typeof doc.ifName === 'string' ? doc.ifName : '',
    config,
    netns: typeof doc.netns === 'string' ? doc.netns : undefined,
    cniArgs: parseArgs(doc.cniArgs),
    capabilityArgs: isObject(doc.capabilityArgs) ? doc.capabilityArgs : undefined,
    result: doc.result ?? undefined,
  };
  return { kind: 'entry', path: filePath, entry };
}

/** What a listing reports of a decoded entry; undefined when it lacks a network or interface name. */
export function attachmentOf(e: CacheEntry): NetworkAttachment | undefined {
  if (!e.ifName || !e.network) return undefined;
  return {
    containerId: e.containerId,
    network: e.network,
    ifName: e.ifName,
    config: e.config,
    netns: e.netns ?? '',
    cniArgs: e.cniArgs,
    capabilityArgs: e.capabilityArgs,
  };
}

/** Why a read cannot be an entry of any kind (not JSON, or not a JSON object); undefined if it can. */
export function unreadableReason(read: CacheRead): string | undefined {
  if (read.kind === 'corrupt') return read.reason;
  if (read.kind === 'legacy' && !isObject(read.document)) return 'not a JSON object';
  return undefined;
}

/** Whether file name `name` is one of `containerId`'s entries (`<network>-<id>-<ifName>`), as Go matches it. */
export function namesContainer(name: string, containerId: string): boolean {
  const at = name.indexOf(`-${containerId}-`);
  return at > 0 && at + containerId.length + 2 < name.length;
}

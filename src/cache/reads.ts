/**
 * What a cache read means for each operation (Go libcni's `getCachedResult` and
 * `GetNetworkListCachedConfig`, plus what this library adds): CHECK needs the cached result and
 * fails on a bad entry; DEL must work whatever the entry holds, so a corrupt entry is moved aside,
 * reported, and DEL goes on without it; GC and runtimes read the cached config.
 */
import { CacheError, ResultError } from '../core/errors.ts';
import { convertResult } from '../types/convert.ts';
import { normalizeResult } from '../types/result.ts';
import type { Result } from '../types/result-model.ts';
import { greaterThanOrEqualTo } from '../types/version.ts';
import type { AttachmentKey, CacheEntry, CacheRead } from './entry.ts';
import type { ResultCache } from './store.ts';

/** What an entry holds about how its attachment was made (Go's `GetNetworkListCachedConfig`). */
export type CachedInputs = Pick<CacheEntry, 'config' | 'cniArgs' | 'capabilityArgs'>;

/** `result` in `version`; the same object when it is already in that version. */
export function resultInVersion(result: Result, version: string): Result {
  if (result.cniVersion === version) return result;
  return convertResult(result, version);
}

/**
 * The cached result of an attachment converted to `cniVersion` (Go's `getCachedResult`); undefined
 * when nothing is cached. A legacy file (a bare result) is read as a result; bad content fails
 * with Go's messages (a {@link CacheError} with `corrupt` set, or a {@link ResultError} when only
 * the conversion fails).
 */
export function readCachedResult(
  cache: ResultCache,
  key: AttachmentKey,
  cniVersion: string,
): Result | undefined {
  const read = cache.read(key);
  const owner = ownerElsewhere(read, key);
  if (owner) throw collision(read.path, key, owner);
  return resultOfRead(read, cniVersion);
}

/**
 * The attachment an entry says it belongs to, when that is not `key`'s. Go names cache files
 * `<network>-<containerId>-<ifName>`, so two attachments can share one file (network `n` with
 * container `x-ctr`, and network `n-x` with container `ctr`); the entry's own fields tell them apart.
 * An entry missing those fields cannot be told apart and counts as `key`'s.
 */
function ownerElsewhere(read: CacheRead, key: AttachmentKey): AttachmentKey | undefined {
  if (read.kind !== 'entry') return undefined;
  const { network, containerId, ifName } = read.entry;
  const differs = (mine: string, recorded: string): boolean => recorded !== '' && recorded !== mine;
  if (
    !differs(key.network, network) &&
    !differs(key.containerId, containerId) &&
    !differs(key.ifName, ifName)
  ) {
    return undefined;
  }
  return { network, containerId, ifName };
}

function collision(file: string, key: AttachmentKey, owner: AttachmentKey): CacheError {
  return new CacheError(
    `cache file ${file} belongs to network ${JSON.stringify(owner.network)}, container ${JSON.stringify(owner.containerId)}, interface ${JSON.stringify(owner.ifName)}; network ${JSON.stringify(key.network)}, container ${JSON.stringify(key.containerId)}, interface ${JSON.stringify(key.ifName)} maps to the same file name`,
    { path: file, context: { network: key.network, containerId: key.containerId, ifName: key.ifName } },
  );
}

/**
 * Refuse an ADD whose cache file already holds another attachment's entry (see {@link ownerElsewhere}):
 * writing it would lose that attachment's record. Called before any plugin runs. Returns whether
 * the file is absent (false when it exists, or cannot be read).
 */
export function assertNoCollision(cache: ResultCache, key: AttachmentKey): boolean {
  let read: CacheRead;
  try {
    read = cache.read(key);
  } catch {
    return false; // unreadable: the write after ADD reports what is wrong
  }
  const owner = ownerElsewhere(read, key);
  if (owner) throw collision(read.path, key, owner);
  return read.kind === 'missing';
}

/** {@link readCachedResult} for CHECK: any failure is Go's `failed to get network "n" cached result: …`. */
export function readResultForCheck(
  cache: ResultCache,
  key: AttachmentKey,
  cniVersion: string,
): Result | undefined {
  try {
    return readCachedResult(cache, key, cniVersion);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    throw new CacheError(
      `failed to get network ${JSON.stringify(key.network)} cached result: ${err.message}`,
      {
        cause: err,
        path: e instanceof CacheError ? e.path : undefined,
        corrupt: e instanceof CacheError ? e.corrupt : false,
        context: { network: key.network, containerId: key.containerId, ifName: key.ifName },
      },
    );
  }
}

/**
 * The cached result for DEL (>= 0.4.0; older versions get none, as in Go). Never fails: an
 * unreadable file means no prevResult, as in Go; a corrupt entry is moved aside and reported (for
 * every version); a result that only fails to convert is left in place (the DEL removes it when it
 * succeeds).
 */
export async function readResultForDel(
  cache: ResultCache,
  key: AttachmentKey,
  cniVersion: string,
): Promise<{ prevResult: Result | undefined; ownEntry: boolean; inputs: CachedInputs | undefined }> {
  let read: CacheRead;
  try {
    read = cache.read(key);
  } catch {
    return { prevResult: undefined, ownEntry: true, inputs: undefined };
  }
  // Another attachment's entry under the same file name: not our prevResult, and not ours to remove.
  if (ownerElsewhere(read, key)) return { prevResult: undefined, ownEntry: false, inputs: undefined };
  const inputs = read.kind === 'entry' ? read.entry : undefined;
  let result: Result | undefined;
  try {
    result = resultOfRead(read, cniVersion);
  } catch (e) {
    if (e instanceof CacheError && e.corrupt) await cache.quarantine(key, e.message);
    return { prevResult: undefined, ownEntry: true, inputs };
  }
  const prevResult = greaterThanOrEqualTo(cniVersion, '0.4.0') ? result : undefined;
  return { prevResult, ownEntry: true, inputs };
}

/** The config and runtime inputs cached for an attachment; undefined when none; Go's errors for bad content. */
export function readCachedInputs(cache: ResultCache, key: AttachmentKey): CachedInputs | undefined {
  const read = cache.read(key);
  const network = JSON.stringify(key.network);
  switch (read.kind) {
    case 'missing':
      return undefined;
    case 'corrupt':
      throw new CacheError(`failed to unmarshal cached network ${network} config: ${read.reason}`, {
        path: read.path,
        corrupt: true,
      });
    case 'legacy':
      throw new CacheError(`read cached network ${network} config has wrong kind: ${read.reason}`, {
        path: read.path,
        corrupt: true,
      });
    case 'entry': {
      const { config, cniArgs, capabilityArgs } = read.entry;
      return { config, cniArgs, capabilityArgs };
    }
  }
}

/** Turn what the cache holds into a result in `cniVersion`, with Go's errors for bad content. */
function resultOfRead(read: CacheRead, cniVersion: string): Result | undefined {
  const raw = rawResultOf(read);
  if (raw === undefined) return undefined;
  let result: Result;
  try {
    result = normalizeResult(raw);
  } catch (e) {
    throw new CacheError((e as Error).message, { cause: e, path: read.path, corrupt: true });
  }
  try {
    return resultInVersion(result, cniVersion);
  } catch (e) {
    throw new ResultError(
      `failed to convert cached result to config version ${JSON.stringify(cniVersion)}: ${(e as Error).message}`,
      { cause: e },
    );
  }
}

/** The result document a read holds, before normalization; undefined when there is none. */
function rawResultOf(read: CacheRead): unknown {
  switch (read.kind) {
    case 'missing':
      return undefined;
    case 'corrupt':
      throw new CacheError(`decoding version from network config: ${read.reason}`, {
        path: read.path,
        corrupt: true,
      });
    case 'legacy': {
      const raw = read.document;
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
        throw new CacheError('decoding version from network config: cached result is not a JSON object', {
          path: read.path,
          corrupt: true,
        });
      }
      return raw;
    }
    case 'entry':
      return read.entry.result;
  }
}

/**
 * The attachment cache: one file per (network, container, interface) under `<cacheDir>/results/`,
 * in the JSON layout Go libcni (>= 1.2) writes, so Go runtimes and this library read each other's
 * entries. Unlike Go, writes are atomic (temp file in the same directory, fsync, rename) and a
 * corrupt entry is moved aside instead of being deleted.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { goMarshal, goQuote } from '../go/json-encode.ts';
import { CacheError, type ErrorContext } from '../core/errors.ts';
import { parseJsonLikeGo } from '../go/json-decode.ts';
import { goFieldPicker } from '../go/struct.ts';
import { assertPathComponent } from '../types/validate.ts';

/** The `kind` Go libcni stamps on every cache entry. */
export const CACHE_KIND_V1 = 'cniCacheV1';
/** Go libcni's default cache directory. */
export const DEFAULT_CACHE_DIR = '/var/lib/cni';
/** Suffix given to a corrupt entry when it is moved aside. */
export const CORRUPT_SUFFIX = '.corrupt';
const TEMP_PREFIX = '.libcni-tmp-';
/** A temp file older than this was left by a crashed writer (no write takes a minute): removed. */
export const STALE_TEMP_MS = 60_000;

/**
 * What a cache write flushes before it returns. The rename makes every write atomic whatever this
 * is (readers and crashed processes see the old entry or the new one); the flush decides what a
 * power loss can undo:
 * - `'file'` (default): the entry's bytes are on disk before the rename, so after a power loss the
 *   file is the old or the new entry, never empty. The rename itself may be lost (the old entry
 *   comes back). One fsync per write.
 * - `'full'`: also fsync the directory, so the rename survives a power loss. One more open + fsync.
 * - `'none'`: no fsync (tests, or a cache on tmpfs such as `/run`).
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

/** A cache entry read back by {@link ResultCache.listAttachments}. */
export interface NetworkAttachment {
  containerId: string;
  network: string;
  ifName: string;
  config: Uint8Array;
  netns: string;
  cniArgs: Array<[string, string]> | undefined;
  capabilityArgs: Record<string, unknown> | undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
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

/** Reads and writes the attachment cache under one directory. */
export class ResultCache {
  /** The cache root; entries live in `<dir>/results`. */
  readonly dir: string;
  readonly resultsDir: string;
  /** What each write flushes to disk before returning (see {@link CacheSync}). */
  readonly sync: CacheSync;
  /** When this instance last looked for temp files left by crashed writers (ms since epoch). */
  private lastTempSweep = 0;
  /** The results directory was created (or found) by this instance; mkdir is not repeated per write. */
  private dirReady = false;

  constructor(dir: string = DEFAULT_CACHE_DIR, options?: { sync?: CacheSync }) {
    this.dir = dir;
    this.resultsDir = path.join(dir, 'results');
    this.sync = options?.sync ?? 'file';
  }

  /**
   * The file path for an attachment. Empty parts get Go's error; parts that could leave the
   * results directory (`/`, NUL, `.`, `..`) are refused before anything touches the disk.
   */
  pathFor(key: AttachmentKey): string {
    if (!key.network || !key.containerId || !key.ifName) {
      throw new CacheError(
        `cache file path requires network name (${JSON.stringify(key.network)}), container ID (${JSON.stringify(key.containerId)}), and interface name (${JSON.stringify(key.ifName)})`,
        { context: contextOf(key) },
      );
    }
    assertPathComponent('network', key.network);
    assertPathComponent('containerId', key.containerId);
    assertPathComponent('ifName', key.ifName);
    const name = `${key.network}-${key.containerId}-${key.ifName}`;
    assertPathComponent('cache file name', name);
    return path.join(this.resultsDir, name);
  }

  /** Write an entry atomically: readers see the old file or the new one, never a partial one. */
  async write(entry: CacheEntry): Promise<string> {
    const file = this.pathFor(entry);
    const bytes = encodeCacheEntry(entry);
    try {
      if (!this.dirReady) await this.makeResultsDir();
      try {
        await atomicWrite(file, bytes, this.sync);
      } catch (e) {
        // Someone removed the directory since (a test, an operator clearing the cache): once more.
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        await this.makeResultsDir();
        await atomicWrite(file, bytes, this.sync);
      }
    } catch (e) {
      throw new CacheError(`failed to write cache file ${file}: ${(e as Error).message}`, {
        cause: e,
        path: file,
        context: contextOf(entry),
      });
    }
    // A writer killed between creating its temp file and the rename leaves the temp file behind;
    // look for such leftovers at most once a minute, so crashes cannot pile them up.
    if (Date.now() - this.lastTempSweep >= STALE_TEMP_MS) {
      this.lastTempSweep = Date.now();
      await this.removeStaleTempFiles().catch(() => undefined);
    }
    return file;
  }

  private async makeResultsDir(): Promise<void> {
    await fs.mkdir(this.resultsDir, { recursive: true, mode: 0o700 });
    this.dirReady = true;
  }

  /**
   * Remove temp files (`.libcni-tmp-*`) older than `maxAgeMs` from the results directory: what a
   * writer killed mid-write leaves. Returns the paths removed. Done automatically by {@link write}
   * (at most once a minute) and {@link listAttachments}.
   */
  async removeStaleTempFiles(maxAgeMs: number = STALE_TEMP_MS): Promise<string[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.resultsDir);
    } catch {
      return [];
    }
    return this.removeStale(names, maxAgeMs);
  }

  private async removeStale(names: readonly string[], maxAgeMs: number): Promise<string[]> {
    const removed: string[] = [];
    const cutoff = Date.now() - maxAgeMs;
    for (const name of names) {
      if (!name.startsWith(TEMP_PREFIX)) continue;
      const file = path.join(this.resultsDir, name);
      try {
        if ((await fs.stat(file)).mtimeMs > cutoff) continue;
        await fs.unlink(file);
        removed.push(file);
      } catch {
        // Renamed or removed meanwhile: nothing to clean.
      }
    }
    return removed;
  }

  /** Read one entry; a missing file is `{kind:'missing'}`, never an error. */
  async read(key: AttachmentKey): Promise<CacheRead> {
    const file = this.pathFor(key);
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing', path: file };
      throw new CacheError(`failed to read cache file ${file}: ${(e as Error).message}`, {
        cause: e,
        path: file,
        context: contextOf(key),
      });
    }
    return decodeCacheText(text, file);
  }

  /** Remove an entry; a missing one is fine. */
  async remove(key: AttachmentKey): Promise<void> {
    const file = this.pathFor(key);
    try {
      await fs.unlink(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new CacheError(`failed to remove cache file ${file}: ${(e as Error).message}`, {
          cause: e,
          path: file,
          context: contextOf(key),
        });
      }
    }
  }

  /**
   * Move an unreadable entry aside (`<file>.corrupt`, or `.corrupt.<n>` if taken) so it neither
   * blocks DEL nor is lost. Returns where it went, or undefined if it had already disappeared.
   */
  async quarantine(key: AttachmentKey): Promise<string | undefined> {
    return quarantineFile(this.pathFor(key));
  }

  /**
   * Move aside every entry of `containerId` that is not JSON (empty, truncated, garbage) or not a
   * JSON object, as {@link quarantine} does; what a teardown calls last, so that an entry no DEL
   * could read does not stay behind unnoticed. Returns what was moved (`movedTo` undefined when
   * the file vanished meanwhile).
   */
  async quarantineCorrupt(
    containerId: string,
  ): Promise<Array<{ path: string; movedTo: string | undefined; reason: string }>> {
    assertPathComponent('containerId', containerId);
    let names: string[];
    try {
      names = (await fs.readdir(this.resultsDir)).sort();
    } catch {
      return [];
    }
    const out: Array<{ path: string; movedTo: string | undefined; reason: string }> = [];
    for (const name of names) {
      if (name.startsWith(TEMP_PREFIX) || name.includes(CORRUPT_SUFFIX)) continue;
      const at = name.indexOf(`-${containerId}-`);
      if (at <= 0 || at + containerId.length + 2 >= name.length) continue;
      const file = path.join(this.resultsDir, name);
      let text: string;
      try {
        text = await fs.readFile(file, 'utf8');
      } catch {
        continue;
      }
      const read = decodeCacheText(text, file);
      let reason: string | undefined;
      if (read.kind === 'corrupt') reason = read.reason;
      else if (read.kind === 'legacy' && !isObject(read.document)) reason = 'not a JSON object';
      if (reason === undefined) continue;
      out.push({ path: file, movedTo: await quarantineFile(file), reason });
    }
    return out;
  }

  /**
   * Every readable cniCacheV1 entry, optionally of one container, with Go's filtering rules:
   * file names sorted; with a container id only names containing `-<id>-` (not at the start);
   * unreadable, non-JSON, wrong-kind and mismatching entries skipped.
   */
  async listAttachments(containerId?: string): Promise<NetworkAttachment[] | undefined> {
    const names = await this.listEntryNames();
    if (names === undefined) return undefined;
    const out: NetworkAttachment[] = [];
    for (const name of names) {
      if (containerId) {
        const at = name.indexOf(`-${containerId}-`);
        if (at <= 0 || at + containerId.length + 2 >= name.length) continue;
      }
      const a = await this.readListed(name);
      if (a === undefined) continue;
      if (containerId && a.containerId !== containerId) continue;
      out.push(a);
    }
    return out;
  }

  /**
   * The names in the results directory that may hold entries, sorted as Go sorts them: temp files
   * and quarantined copies left out (temp files a crashed writer left are removed on the way).
   * Undefined when the directory does not exist. One `readdir`: the cheap half of
   * {@link listAttachments}, for a caller that compares two listings before reading files again.
   */
  async listEntryNames(): Promise<string[] | undefined> {
    let names: string[];
    try {
      names = (await fs.readdir(this.resultsDir)).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new CacheError(`failed to list cache dir ${this.resultsDir}: ${(e as Error).message}`, {
        cause: e,
        path: this.resultsDir,
      });
    }
    if (names.some((n) => n.startsWith(TEMP_PREFIX))) await this.removeStale(names, STALE_TEMP_MS);
    return names.filter((n) => !n.startsWith(TEMP_PREFIX) && !n.includes(CORRUPT_SUFFIX));
  }

  /**
   * Read one file named by {@link listEntryNames} as {@link listAttachments} does: undefined when
   * it is gone or unreadable, not a cniCacheV1 entry, or lacks a network or interface name (or
   * `name` is not a single file name).
   */
  async readListed(name: string): Promise<NetworkAttachment | undefined> {
    if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
      return undefined;
    }
    const file = path.join(this.resultsDir, name);
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch {
      return undefined;
    }
    const read = decodeCacheText(text, file);
    if (read.kind !== 'entry') return undefined;
    const e = read.entry;
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
}

function contextOf(key: Partial<AttachmentKey>): ErrorContext {
  return { network: key.network, containerId: key.containerId, ifName: key.ifName };
}

/** Write `data` to `file` via a temp file in the same directory (rename is atomic only within one fs). */
async function atomicWrite(file: string, data: string, sync: CacheSync): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `${TEMP_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
  const handle = await fs.open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(data);
    if (sync !== 'none') await handle.sync();
  } catch (e) {
    await handle.close().catch(() => undefined);
    await fs.unlink(tmp).catch(() => undefined);
    throw e;
  }
  await handle.close();
  try {
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.unlink(tmp).catch(() => undefined);
    throw e;
  }
  if (sync === 'full') {
    const d = await fs.open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  }
}

/** {@link ResultCache.quarantine} for a path. */
async function quarantineFile(file: string): Promise<string | undefined> {
  for (let n = 0; n < 100; n++) {
    const target = `${file}${CORRUPT_SUFFIX}${n === 0 ? '' : `.${n}`}`;
    try {
      await fs.link(file, target);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      if (code === 'ENOENT') return undefined;
      throw new CacheError(`failed to move corrupt cache file ${file} aside: ${(e as Error).message}`, {
        cause: e,
        path: file,
        corrupt: true,
      });
    }
    await fs.unlink(file).catch(() => undefined);
    return target;
  }
  throw new CacheError(`too many quarantined copies of ${file}`, { path: file, corrupt: true });
}

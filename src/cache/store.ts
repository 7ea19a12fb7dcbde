/**
 * The attachment cache's files: one per (network, container, interface) under
 * `<cacheDir>/results/` (format in entry.ts). Unlike Go, writes are atomic (temp file in the same
 * directory, rename; fsync as `CacheSync` says) and a corrupt entry is moved aside instead of being
 * deleted.
 */
import { promises as fs, unlinkSync } from 'node:fs';
import path from 'node:path';
import { publishCacheQuarantine } from '../core/diagnostics.ts';
import { CacheError, type ErrorContext } from '../core/errors.ts';
import { assertPathComponent } from '../types/validate.ts';
import {
  attachmentOf,
  type AttachmentKey,
  type CacheEntry,
  type CacheRead,
  type CacheSync,
  CORRUPT_SUFFIX,
  DEFAULT_CACHE_DIR,
  decodeCacheText,
  encodeCacheEntry,
  namesContainer,
  type NetworkAttachment,
  STALE_TEMP_MS,
  TEMP_PREFIX,
  unreadableReason,
} from './entry.ts';
import { UnreadableFileError } from '../core/bounded-read.ts';
import { assertRealDirectory, atomicWrite, MAX_CACHE_ENTRY_BYTES, readOwnFile } from './own-file.ts';

/** What a quarantine reports: the file, where it went (undefined: removed instead), and why. */
export interface QuarantineInfo {
  path: string;
  movedTo: string | undefined;
  reason: string;
}

/** Told of each corrupt entry moved aside (it is also published on `libcni:cache:quarantine`). */
export type QuarantineListener = (info: QuarantineInfo) => void;

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

  /** Told of every entry this cache moves aside, after it is published on the channel. */
  readonly #onQuarantine: QuarantineListener | undefined;

  constructor(
    dir: string = DEFAULT_CACHE_DIR,
    options?: { sync?: CacheSync | undefined; onQuarantine?: QuarantineListener | undefined },
  ) {
    this.dir = dir;
    this.resultsDir = path.join(dir, 'results');
    this.sync = options?.sync ?? 'file';
    this.#onQuarantine = options?.onQuarantine;
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

  /**
   * Write an entry atomically: readers see the old file or the new one, never a partial one.
   * `sync` overrides the cache's own {@link CacheSync} for this write.
   */
  async write(entry: CacheEntry, options?: { sync?: CacheSync | undefined }): Promise<string> {
    const file = this.pathFor(entry);
    const bytes = encodeCacheEntry(entry);
    const sync = options?.sync ?? this.sync;
    try {
      if (!this.dirReady) await this.makeResultsDir();
      try {
        await atomicWrite(file, bytes, sync);
      } catch (e) {
        // Someone removed the directory since (a test, an operator clearing the cache): once more.
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        await this.makeResultsDir();
        await atomicWrite(file, bytes, sync);
      }
    } catch (e) {
      if (e instanceof CacheError) throw e;
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
    await assertRealDirectory(this.resultsDir, 'cache results directory');
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
  read(key: AttachmentKey): CacheRead {
    const file = this.pathFor(key);
    let text: string;
    try {
      text = readEntryText(file);
    } catch (e) {
      // A symlink, FIFO, device or oversized file is no entry this library wrote: corrupt, so DEL
      // goes on without it and it is moved aside like any unreadable entry.
      if (e instanceof UnreadableFileError) return { kind: 'corrupt', path: file, reason: e.message };
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

  /**
   * When an entry was last written (ns since epoch); undefined when it is missing or cannot be
   * stat'ed, or the key cannot name a file.
   */
  async mtimeOf(key: AttachmentKey): Promise<bigint | undefined> {
    try {
      return (await fs.stat(this.pathFor(key), { bigint: true })).mtimeNs;
    } catch {
      return undefined;
    }
  }

  /**
   * Remove an entry; a missing one is fine. A synchronous unlink, as the writes (own-file.ts):
   * through the thread pool it added a round trip at the end of every DEL. An entry whose blocks
   * are not yet written (own-file.ts swaps entries in for that) unlinks in ~15 µs.
   */
  remove(key: AttachmentKey): void {
    const file = this.pathFor(key);
    try {
      unlinkSync(file);
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
   * {@link remove}, a failure ignored (as in Go, failing to remove an entry does not fail the DEL
   * that succeeded): the file is left behind and a later DEL or GC tries again.
   */
  removeQuietly(key: AttachmentKey): void {
    try {
      this.remove(key);
    } catch {
      // Left behind; a later DEL or GC tries again.
    }
  }

  /**
   * Move an unreadable entry aside (`<file>.corrupt`, or `.corrupt.<n>` if taken) so it neither
   * blocks DEL nor is lost; if it cannot be moved, remove it. Either way it is reported (see
   * {@link report}). Returns what was done.
   */
  async quarantine(key: AttachmentKey, reason: string): Promise<QuarantineInfo> {
    const file = this.pathFor(key);
    let movedTo: string | undefined;
    try {
      movedTo = await quarantineFile(file);
    } catch {
      this.removeQuietly(key);
    }
    return this.#report({ path: file, movedTo, reason }, key);
  }

  /**
   * The one place a quarantine becomes known: published on `libcni:cache:quarantine`, then handed
   * to the listener this cache was made with (a failing listener is ignored).
   */
  #report(info: QuarantineInfo, key: Partial<AttachmentKey>): QuarantineInfo {
    publishCacheQuarantine({
      ...info,
      network: key.network,
      containerId: key.containerId,
      ifName: key.ifName,
    });
    try {
      this.#onQuarantine?.(info);
    } catch {
      // Reporting is best effort; the quarantine itself is done.
    }
    return info;
  }

  /**
   * Move aside every entry of `containerId` that is not JSON (empty, truncated, garbage) or not a
   * JSON object, as {@link quarantine} does; what a teardown calls last, so that an entry no DEL
   * could read does not stay behind unnoticed. Returns what was moved (`movedTo` undefined when
   * the file vanished meanwhile).
   */
  async quarantineCorrupt(containerId: string): Promise<QuarantineInfo[]> {
    assertPathComponent('containerId', containerId);
    let names: string[];
    try {
      names = (await fs.readdir(this.resultsDir)).sort();
    } catch {
      return [];
    }
    const out: QuarantineInfo[] = [];
    for (const name of names) {
      if (name.startsWith(TEMP_PREFIX) || name.includes(CORRUPT_SUFFIX)) continue;
      if (!namesContainer(name, containerId)) continue;
      const file = path.join(this.resultsDir, name);
      let read: CacheRead;
      try {
        read = decodeCacheText(readEntryText(file), file);
      } catch (e) {
        if (!(e instanceof UnreadableFileError)) continue;
        read = { kind: 'corrupt', path: file, reason: e.message };
      }
      const reason = unreadableReason(read);
      if (reason === undefined) continue;
      out.push(this.#report({ path: file, movedTo: await quarantineFile(file), reason }, { containerId }));
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
      if (containerId && !namesContainer(name, containerId)) continue;
      const a = this.readListed(name);
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
  readListed(name: string): NetworkAttachment | undefined {
    if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
      return undefined;
    }
    const file = path.join(this.resultsDir, name);
    let text: string;
    try {
      text = readEntryText(file);
    } catch {
      return undefined; // gone, unreadable, or not a file this library wrote (see readEntryText)
    }
    const read = decodeCacheText(text, file);
    return read.kind === 'entry' ? attachmentOf(read.entry) : undefined;
  }
}

/**
 * The text of a cache entry, refusing (UnreadableFileError) a symlink, a non-regular file or one over
 * {@link MAX_CACHE_ENTRY_BYTES}: entries are written by rename, so only a hostile or broken hand puts
 * such a thing there, and reading it could block forever (FIFO) or without bound (/dev/zero).
 */
function readEntryText(file: string): string {
  return readOwnFile(file, MAX_CACHE_ENTRY_BYTES).text;
}

function contextOf(key: Partial<AttachmentKey>): ErrorContext {
  return { network: key.network, containerId: key.containerId, ifName: key.ifName };
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

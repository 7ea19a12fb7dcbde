/**
 * Resolving a plugin `type` to an executable on the CNI search path, as Go's `invoke.FindInPath`.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { type ErrorContext, mergeContext, PluginNotFoundError, PluginSpawnError } from '../core/errors.ts';
import { goList, goQuoteString } from '../go/quote.ts';

/**
 * Find the executable for plugin `type`: the first `<dir>/<type>` over `paths` that is a regular
 * file (symlinks followed). As in Go there is no check of the execute bit: a non-executable match
 * fails later, at spawn, with a clear EACCES instead of being skipped silently.
 *
 * Refused before any lookup, all as {@link PluginNotFoundError} with a `reason`:
 * - `''` → `no plugin name provided` (`no-name`);
 * - a name containing `/`, NUL, or equal to `..` → `invalid plugin name: <type>` (`invalid-name`).
 *   Go refuses only the path separator; NUL and `..` are refused too because a plugin type comes
 *   from configuration files and must never name anything outside the search directories;
 * - no paths → `no paths provided` (`no-paths`).
 *
 * Not found → `failed to find plugin "<type>" in path [/a /b]` (`not-found`; Go's `%q` and `%s`
 * of a slice, which users and upstream tests match on).
 *
 * Found, but neither an ELF binary nor a `#!` script → {@link PluginSpawnError} with errno
 * `ENOEXEC` (`assertDirectlyExecutable`, in this file).
 */
export function findInPath(type: string, paths: readonly string[], context?: ErrorContext): Promise<string> {
  // A promise, failures as rejections, as Exec.findInPath promises; the lookup itself is synchronous.
  return Promise.resolve().then(() => findPlugin(type, paths, context));
}

function findPlugin(type: string, paths: readonly string[], context?: ErrorContext): string {
  checkLookup(type, paths, context);

  for (const dir of paths) {
    // path.join cleans like Go's filepath.Join; an empty dir yields a cwd-relative name, as in Go.
    const candidate = path.join(dir, type);
    // Missing, unreadable or a dangling symlink: try the next directory, as Go does. Synchronous,
    // as the read below: a stat takes microseconds, a thread-pool round trip ~0.1 ms per call.
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(candidate, { throwIfNoEntry: false });
    } catch {
      st = undefined;
    }
    if (st?.isFile()) {
      const seen = verified.get(candidate);
      if (seen === undefined || !sameFile(seen, st)) {
        assertDirectlyExecutable(candidate, type, context);
        if (verified.size >= MAX_VERIFIED) verified.clear();
        verified.set(candidate, st); // a fresh Stats per lookup: nothing changes it later
      }
      return candidate;
    }
  }
  throw pluginNotFound(type, paths, context);
}

/** The refusals before any lookup (see {@link findInPath}); an {@link Exec} of its own shares them. */
export function checkLookup(type: string, paths: readonly string[], context?: ErrorContext): void {
  if (type === '') {
    throw new PluginNotFoundError('no plugin name provided', 'no-name', paths, {
      context: mergeContext({}, context),
    });
  }
  if (type.includes('/') || type.includes('\0') || type === '..') {
    throw new PluginNotFoundError(`invalid plugin name: ${type}`, 'invalid-name', paths, {
      context: mergeContext({ plugin: type }, context),
    });
  }
  if (paths.length === 0) {
    throw new PluginNotFoundError('no paths provided', 'no-paths', paths, {
      context: mergeContext({}, context),
    });
  }
}

/** Go's error for a type found in none of `paths`. */
export function pluginNotFound(
  type: string,
  paths: readonly string[],
  context?: ErrorContext,
): PluginNotFoundError {
  return new PluginNotFoundError(
    `failed to find plugin ${goQuoteString(type)} in path ${goList(paths)}`,
    'not-found',
    paths,
    { context: mergeContext({ plugin: type }, context) },
  );
}

/** What identifies one version of a file: a replaced or rewritten plugin differs in one of these. */
interface FileVersion {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

function sameFile(a: FileVersion, b: FileVersion): boolean {
  return (
    a.ino === b.ino &&
    a.dev === b.dev &&
    a.size === b.size &&
    a.mtimeMs === b.mtimeMs &&
    a.ctimeMs === b.ctimeMs
  );
}

/**
 * Files that passed {@link assertDirectlyExecutable}, with the identity they had then (device,
 * inode, size, times): a plugin is checked again only when it was replaced or changed.
 */
const verified = new Map<string, FileVersion>();
const MAX_VERIFIED = 1024;

/**
 * Refuse a file the kernel cannot execute itself. execve() fails with ENOEXEC for a file with no
 * ELF header and no `#!` line, and glibc's execvp (which libuv, hence `child_process.spawn`, uses)
 * then runs it with /bin/sh: an empty file "succeeds", a text file is run as a shell script. Go
 * never does that (it reports `exec format error`), and neither do we: the first 4 bytes must be
 * `\x7fELF` or start with `#!`. Costs an open, a 4-byte read and a close (~0.15 ms on a loaded
 * 2-core machine, against ~0.05 ms for the stat and milliseconds for the spawn); {@link findInPath}
 * pays it once per plugin file version. A file we may not read is left to the kernel: /bin/sh could
 * not read it either.
 */
export function assertDirectlyExecutable(file: string, type?: string, context?: ErrorContext): void {
  let head: Buffer;
  try {
    const fd = openSync(file, 'r');
    try {
      const buf = Buffer.alloc(4);
      head = buf.subarray(0, readSync(fd, buf, 0, 4, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return;
  }
  const elf =
    head.length === 4 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46;
  const script = head.length >= 2 && head[0] === 0x23 && head[1] === 0x21;
  if (elf || script) return;
  throw new PluginSpawnError(
    `netplugin failed with no error message: fork/exec ${file}: exec format error (neither an ELF binary nor a "#!" script; refusing to let /bin/sh run it)`,
    file,
    'ENOEXEC',
    0,
    { context: mergeContext({ plugin: type, pluginPath: file }, context) },
  );
}

/**
 * Resolving a plugin `type` to an executable on the CNI search path, as Go's `invoke.FindInPath`.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { PluginNotFoundError } from '../types/errors.ts';
import { goList, goQuoteString } from '../types/go-format.ts';

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
 */
export async function findInPath(type: string, paths: readonly string[]): Promise<string> {
  if (type === '') throw new PluginNotFoundError('no plugin name provided', 'no-name', paths);
  if (type.includes('/') || type.includes('\0') || type === '..') {
    throw new PluginNotFoundError(`invalid plugin name: ${type}`, 'invalid-name', paths, {
      context: { plugin: type },
    });
  }
  if (paths.length === 0) throw new PluginNotFoundError('no paths provided', 'no-paths', paths);

  for (const dir of paths) {
    // path.join cleans like Go's filepath.Join; an empty dir yields a cwd-relative name, as in Go.
    const candidate = path.join(dir, type);
    try {
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // Missing, unreadable or a dangling symlink: try the next directory, as Go does.
    }
  }
  throw new PluginNotFoundError(
    `failed to find plugin ${goQuoteString(type)} in path ${goList(paths)}`,
    'not-found',
    paths,
    { context: { plugin: type } },
  );
}

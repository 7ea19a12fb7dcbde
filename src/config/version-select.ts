/**
 * libcni's choice of a list's spec version from `cniVersion` and `cniVersions` (conf.go).
 */
import { CURRENT_VERSION, greaterThan } from '../types/version.ts';

/**
 * The highest of the `cniVersions` entries and `cniVersion` that do not exceed
 * {@link CURRENT_VERSION}. Entries above it are dropped silently; an entry that does not parse is
 * an error. `cniVersion` alone (no `cniVersions` key) is taken as-is, even above 1.1.0.
 * Throws an `Error` with Go's text; the caller adds `error parsing configuration list: `.
 */
export function selectListVersion(cniVersion: string, cniVersions: readonly string[] | undefined): string {
  if (cniVersions === undefined) return cniVersion;
  const vs: string[] = [];
  cniVersions.forEach((v, i) => {
    let gt: boolean;
    try {
      gt = greaterThan(v, CURRENT_VERSION);
    } catch (e) {
      throw new Error(`invalid cniVersions entry ${v} at index ${i}: ${(e as Error).message}`, { cause: e });
    }
    if (!gt) vs.push(v);
  });
  if (cniVersion !== '') {
    let gt: boolean;
    try {
      gt = greaterThan(cniVersion, CURRENT_VERSION);
    } catch (e) {
      throw new Error(`invalid cniVersion ${cniVersion}: ${(e as Error).message}`, { cause: e });
    }
    if (!gt) vs.push(cniVersion);
  }
  // Go sorts with a comparator that never answers "equal" for two different strings ("1.0" and
  // "1.0.0"), so which of two numerically equal versions ends up last depends on the algorithm.
  // slices.SortFunc uses insertion sort for short lists; we run the same steps.
  const cmp = (x: string, y: string): number => (x === y ? 0 : greaterThan(x, y) ? 1 : -1);
  for (let i = 1; i < vs.length; i++) {
    for (let j = i; j > 0 && cmp(vs[j] as string, vs[j - 1] as string) < 0; j--) {
      const t = vs[j] as string;
      vs[j] = vs[j - 1] as string;
      vs[j - 1] = t;
    }
  }
  return vs.length > 0 ? (vs[vs.length - 1] as string) : cniVersion;
}

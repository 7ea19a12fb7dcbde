/**
 * Which networks a manager attaches containers to, computed from one scan of the configuration
 * directory and the previous set. Pure, so that the rules are tested without a file system:
 *
 * - every network in the directory, in Go's order, or only the ones named, in the order named;
 * - a file that fails to parse is reported, and if it parsed before, its last good version stays
 *   (a config manager rewriting a file must not detach the node from a network for a moment);
 * - `maxNetworks` keeps the first N; the built-in loopback network, when asked for, comes first.
 */
import type { ConfigFileError } from '../config/load.ts';
import { networkConfFromBytes } from '../config/parse.ts';
import type { NetworkConfigList } from '../config/types.ts';
import { compareUtf8 } from '../go/json-encode.ts';

/** The built-in loopback network (`loopback: true`), attached as `lo`. */
export const LOOPBACK_CONFLIST =
  '{"cniVersion":"1.0.0","name":"cni-loopback","plugins":[{"type":"loopback"}]}';
/** Interface name of the loopback network. */
export const LOOPBACK_IFNAME = 'lo';

/** A network the manager attaches containers to. */
export interface ManagedNetwork {
  name: string;
  /** The file it was loaded from; undefined for the built-in loopback network. */
  file: string | undefined;
  list: NetworkConfigList;
  /** An interface name this network always uses (loopback: `lo`). */
  fixedIfName?: string | undefined;
  /** True for the built-in loopback network. */
  builtin: boolean;
  /** Set when the file is broken now and this is its last good version. */
  staleError?: Error | undefined;
}

/** What one scan of the configuration directory produced. */
export interface ConfDirScan {
  networks: ReadonlyArray<{ file: string; list: NetworkConfigList }>;
  errors: readonly ConfigFileError[];
}

/** The selection rules. */
export interface NetworkSelection {
  /** Only these networks, in this order. */
  networks?: readonly string[] | undefined;
  /** Keep at most this many networks from the directory (the loopback network not counted). */
  maxNetworks?: number | undefined;
  /** Add the built-in loopback network first. */
  loopback?: boolean | undefined;
}

/** The outcome of applying the rules to a scan. */
export interface NetworkSet {
  networks: readonly ManagedNetwork[];
  /** Files that could not be used (including those whose last good version was kept). */
  configErrors: readonly ConfigFileError[];
  /** Networks requested by name that no file defines. */
  missing: readonly string[];
  /**
   * Every network loaded from the directory (last good versions included), in load order, before
   * the selection rules: what a setup's per-container `networks` may name.
   */
  available: readonly ManagedNetwork[];
}

let loopbackList: NetworkConfigList | undefined;

/** The parsed built-in loopback network list. */
export function loopbackNetworkList(): NetworkConfigList {
  loopbackList ??= networkConfFromBytes(LOOPBACK_CONFLIST);
  return loopbackList;
}

/**
 * The loader's order (Go's lookup order): `.conflist` files sorted by path, then the legacy
 * `.conf`/`.json` files sorted together. Used only to put back a kept (stale) network where its
 * file belongs.
 */
function compareLoadOrder(a: string, b: string): number {
  const group = (f: string) => (f.endsWith('.conflist') ? 0 : 1);
  return group(a) - group(b) || compareUtf8(a, b);
}

/**
 * Compute the network set from a scan. `previous` is the current set (for keeping the last good
 * version of files that broke); `isDuplicate` tells a "second definition of a name" report apart
 * from a parse failure, since only a parse failure should keep an old version.
 */
export function buildNetworkSet(
  scan: ConfDirScan,
  previous: readonly ManagedNetwork[],
  selection: NetworkSelection,
  isDuplicate: (err: Error) => boolean = () => false,
): NetworkSet {
  const fresh: ManagedNetwork[] = scan.networks.map(({ file, list }) => ({
    name: list.name,
    file,
    list,
    builtin: false,
  }));
  const names = new Set(fresh.map((n) => n.name));
  const previousByFile = new Map<string, ManagedNetwork>();
  for (const n of previous) if (n.file !== undefined) previousByFile.set(n.file, n);

  const kept: ManagedNetwork[] = [];
  for (const { file, error } of scan.errors) {
    const before = previousByFile.get(file);
    if (before === undefined || isDuplicate(error) || names.has(before.name)) continue;
    kept.push({ ...before, staleError: error });
    names.add(before.name);
  }
  let all = [...fresh, ...kept];
  if (kept.length > 0) all = all.sort((a, b) => compareLoadOrder(a.file as string, b.file as string));

  let chosen: ManagedNetwork[];
  const missing: string[] = [];
  if (selection.networks !== undefined) {
    chosen = [];
    for (const name of selection.networks) {
      const found = all.find((n) => n.name === name);
      if (found === undefined) missing.push(name);
      else if (!chosen.includes(found)) chosen.push(found);
    }
  } else {
    chosen = all;
  }
  if (selection.maxNetworks !== undefined && selection.maxNetworks >= 0)
    chosen = chosen.slice(0, selection.maxNetworks);
  if (selection.loopback) {
    chosen = [
      {
        name: loopbackNetworkList().name,
        file: undefined,
        list: loopbackNetworkList(),
        fixedIfName: LOOPBACK_IFNAME,
        builtin: true,
      },
      ...chosen.filter((n) => n.name !== loopbackNetworkList().name),
    ];
  }
  return {
    networks: chosen,
    configErrors: scan.errors.map((e) => ({ file: e.file, error: e.error })),
    missing,
    available: all,
  };
}

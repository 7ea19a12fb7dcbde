/**
 * Which networks a manager attaches containers to, computed from one scan of the configuration
 * (a directory, or the configurations given) and the previous set. Pure, so that the rules are
 * tested without a file system:
 *
 * - the candidates come in the scan's order, which for a directory is the order containerd and
 *   CRI-O read it (every extension sorted together by file name);
 * - a candidate with a plugin that is not installed is skipped, as CRI-O skips a network that
 *   fails validation (ocicni `loadNetworks`);
 * - `first` (the default) keeps the first usable candidate, as both runtimes pick their default
 *   network; `all` keeps every usable one (go-cni `WithAllConf`); names keep exactly those, in the
 *   order named, and a named one that is missing or unusable makes the manager not ready;
 * - a file that fails to parse is reported, and if it parsed before, its last good version stays
 *   (a config manager rewriting a file must not detach the node from a network for a moment);
 * - `maxNetworks` keeps the first N; the built-in loopback network, when asked for, comes first.
 */
import type { ConfigFileError } from '../config/load.ts';
import { networkConfFromBytes } from '../config/parse.ts';
import type { NetworkConfigList } from '../config/types.ts';
import { NotReadyError } from '../core/runtime-errors.ts';
import { compareUtf8 } from '../go/json-encode.ts';
import type { NetworksOption, SkippedNetwork } from './types.ts';

/** The built-in loopback network (`loopback: true`), attached as `lo`. */
export const LOOPBACK_CONFLIST =
  '{"cniVersion":"1.0.0","name":"cni-loopback","plugins":[{"type":"loopback"}]}';
/** Interface name of the loopback network. */
export const LOOPBACK_IFNAME = 'lo';

/** A network the manager attaches containers to. */
export interface ManagedNetwork {
  name: string;
  /** The file it was loaded from; undefined for the built-in loopback network and for `configs`. */
  file: string | undefined;
  list: NetworkConfigList;
  /** An interface name this network always uses (loopback: `lo`). */
  fixedIfName?: string | undefined;
  /** True for the built-in loopback network. */
  builtin: boolean;
  /** Set when the file is broken now and this is its last good version. */
  staleError?: Error | undefined;
}

/** What one scan of the configuration produced. */
export interface ConfDirScan {
  /** The candidates, in order; `file` is undefined for a configuration given directly. */
  networks: ReadonlyArray<{ file: string | undefined; list: NetworkConfigList }>;
  errors: readonly ConfigFileError[];
}

/** The selection rules. */
export interface NetworkSelection {
  /** `first` (default), `all`, or only these names, in this order. */
  networks?: NetworksOption | undefined;
  /** Keep at most this many networks from the directory (the loopback network not counted). */
  maxNetworks?: number | undefined;
  /** Add the built-in loopback network first. */
  loopback?: boolean | undefined;
}

/**
 * The configuration a {@link NetworkManager} works from after a load: the selected networks, the
 * files it could not use, and what it left out and why ({@link NetworkManager.load} returns it).
 */
export interface NetworkSet {
  /** The networks containers are attached to, in order. */
  networks: readonly ManagedNetwork[];
  /** Files that could not be used (including those whose last good version was kept). */
  configErrors: readonly ConfigFileError[];
  /** Networks requested by name that no file defines. */
  missing: readonly string[];
  /**
   * Every usable network loaded (last good versions included; those with a plugin not installed
   * left out), in file order, before the selection rules: what a setup's per-container `networks`
   * may name.
   */
  available: readonly ManagedNetwork[];
  /** Candidates left out, and why. */
  skipped: readonly SkippedNetwork[];
}

let loopbackList: NetworkConfigList | undefined;

/** The parsed built-in loopback network list. */
export function loopbackNetworkList(): NetworkConfigList {
  loopbackList ??= networkConfFromBytes(LOOPBACK_CONFLIST);
  return loopbackList;
}

/**
 * The directory's order (file names sorted, whatever the extension; one directory, so the paths
 * sort as the names do). Used only to put back a kept (stale) network where its file belongs.
 */
function compareFiles(a: ManagedNetwork, b: ManagedNetwork): number {
  return compareUtf8(a.file ?? '', b.file ?? '');
}

/**
 * Compute the network set from a scan. `previous` is the current set (for keeping the last good
 * version of files that broke); `isDuplicate` tells a "second definition of a name" report apart
 * from a parse failure, since only a parse failure should keep an old version; `unusable` says why
 * a network cannot be used (a plugin that is not installed), or undefined if it can.
 */
export function buildNetworkSet(
  scan: ConfDirScan,
  previous: readonly ManagedNetwork[],
  selection: NetworkSelection,
  isDuplicate: (err: Error) => boolean = () => false,
  unusable: (list: NetworkConfigList) => Error | undefined = () => undefined,
): NetworkSet {
  const candidates = withKept(scan, previous, isDuplicate);
  const missing: string[] = [];
  const skipped: SkippedNetwork[] = [];
  const skip = (n: ManagedNetwork, reason: SkippedNetwork['reason'], required: boolean, error?: Error) => {
    skipped.push({ name: n.name, file: n.file, reason, required, ...(error ? { error } : {}) });
  };
  const mode = selection.networks ?? 'first';
  let chosen: ManagedNetwork[] = [];
  if (typeof mode === 'string') {
    for (const n of candidates) {
      const error = unusable(n.list);
      if (mode === 'first' && chosen.length > 0) skip(n, 'notSelected', false);
      else if (error !== undefined) skip(n, 'pluginMissing', false, error);
      else chosen.push(n);
    }
  } else {
    const byName = new Map(candidates.map((n) => [n.name, n]));
    for (const name of new Set(mode)) {
      const found = byName.get(name);
      const error = found && unusable(found.list);
      if (found === undefined) missing.push(name);
      else if (error !== undefined) skip(found, 'pluginMissing', true, error);
      else chosen.push(found);
    }
    const named = new Set(mode);
    for (const n of candidates) if (!named.has(n.name)) skip(n, 'notSelected', false);
  }
  if (selection.maxNetworks !== undefined && selection.maxNetworks >= 0) {
    for (const n of chosen.slice(selection.maxNetworks)) skip(n, 'maxNetworks', false);
    chosen = chosen.slice(0, selection.maxNetworks);
  }
  if (selection.loopback) {
    const lo = loopbackNetwork();
    chosen = [lo, ...chosen.filter((n) => n.name !== lo.name)];
  }
  return {
    networks: chosen,
    configErrors: scan.errors.map((e) => ({ file: e.file, error: e.error })),
    missing,
    skipped,
    available: candidates.filter((n) => unusable(n.list) === undefined),
  };
}

/** The scan's networks, plus the last good version of each file that broke since, in file order. */
function withKept(
  scan: ConfDirScan,
  previous: readonly ManagedNetwork[],
  isDuplicate: (err: Error) => boolean,
): ManagedNetwork[] {
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
  return kept.length > 0 ? [...fresh, ...kept].sort(compareFiles) : fresh;
}

function loopbackNetwork(): ManagedNetwork {
  return {
    name: loopbackNetworkList().name,
    file: undefined,
    list: loopbackNetworkList(),
    fixedIfName: LOOPBACK_IFNAME,
    builtin: true,
  };
}

/**
 * Why a setup on `set` must not start, or undefined if it may: a network named in `networks` is
 * missing or cannot be used, or fewer than `minNetworks` networks are selected. `origin` is where
 * the networks come from, for the message.
 */
export function notReadyReason(
  set: NetworkSet,
  options: { readonly minNetworks: number; readonly origin: string },
): NotReadyError | undefined {
  const loaded = set.networks.filter((n) => !n.builtin).length;
  const unusable = set.skipped.filter((s) => s.required);
  if (set.missing.length > 0 || unusable.length > 0) {
    const parts: string[] = [];
    if (set.missing.length > 0)
      parts.push(
        `failed to find requested network name ${set.missing.map((m) => JSON.stringify(m)).join(', ')} in ${options.origin}`,
      );
    for (const s of unusable)
      parts.push(
        `requested network ${JSON.stringify(s.name)} cannot be used: ${s.error?.message ?? s.reason}`,
      );
    return new NotReadyError(parts.join('; '), loaded, options.minNetworks, [
      ...set.missing,
      ...unusable.map((s) => s.name),
    ]);
  }
  if (loaded < options.minNetworks) {
    return new NotReadyError(
      `cni plugin not initialized: ${loaded} network(s) loaded from ${options.origin}, need ${options.minNetworks}`,
      loaded,
      options.minNetworks,
      [],
    );
  }
  return undefined;
}

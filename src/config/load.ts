/**
 * Loading network configuration from a directory, as Go libcni does (`conf.go`): `.conflist` files
 * with their `<dir>/<name>/*.conf` plugin subdirectory, the deprecated single-plugin `.conf`/`.json`
 * files up-converted to lists, the sort order and the error rules.
 *
 * Plus a scan that never throws (`loadNetworkConfDir`) for runtimes that want every network of a
 * directory with per-file diagnostics instead of Go's "first broken file aborts the lookup".
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { readBoundedFile } from '../core/bounded-read.ts';
import { goErrnoText } from '../go/process.ts';
import { compareUtf8, goMarshal } from '../go/json-encode.ts';
import { scanJson } from '../go/json-scan.ts';
import { ConfigError, DuplicateNetworkError, NoConfigsFoundError, NotFoundError } from '../core/errors.ts';
import { networkConfFromBytes, pluginConfFromBytes } from './parse.ts';
import type { NetworkConfigList, PluginConfig } from './types.ts';
import { jsonText } from './text.ts';

interface NodeFsError extends Error {
  code?: string;
  syscall?: string;
}

function errnoCode(e: unknown): string | undefined {
  return e instanceof Error ? (e as NodeFsError).code : undefined;
}

/** A Node fs error worded as Go's `*fs.PathError` (`open /x: no such file or directory`). */
function goPathError(e: unknown, op: string, file: string): string {
  const err = e as NodeFsError;
  const code = err.code ?? '';
  // Node's own text is "ENOENT: no such file or directory, open '/x'"; keep its middle if unmapped.
  const text = goErrnoText(code) ?? /^[A-Z0-9]+: (.*?), \w+/.exec(err.message)?.[1] ?? err.message;
  const syscall = err.syscall === 'read' || code === 'EISDIR' ? 'read' : op;
  return `${syscall} ${file}: ${text}`;
}

/** Go's `filepath.Ext`: from the last dot of the name (a file named `.conf` has extension `.conf`). */
function goExt(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? '' : name.slice(dot);
}

/** What one `readdir` of a config directory tells. */
interface DirListing {
  /** Entries that may be config files. */
  files: string[];
  /**
   * Entries that may be directories (directories and symlinks): the only names for which a
   * `<dir>/<network>/` plugin subdirectory can exist, so the loader need not look for the others.
   */
  maybeDirs: Set<string>;
}

/** List a config directory once, or `undefined` if it does not exist. */
async function listDir(dir: string): Promise<DirListing | undefined> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    // Go skips only directories. We also skip FIFOs, sockets and devices: reading a FIFO would
    // hang the loader. Symlinks are kept and resolved when read, as in Go.
    const files: string[] = [];
    const maybeDirs = new Set<string>();
    for (const d of entries) {
      if (d.isFile() || d.isSymbolicLink()) files.push(d.name);
      if (d.isDirectory() || d.isSymbolicLink()) maybeDirs.add(d.name);
    }
    return { files, maybeDirs };
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    if (errnoCode(e) === 'ENOTDIR') throw new ConfigError(`readdirent ${dir}: not a directory`, { cause: e });
    throw new ConfigError(goPathError(e, 'open', dir), { cause: e });
  }
}

/**
 * The files directly in `dir` whose extension is exactly one of `extensions` (`.conf` does not
 * match `.conflist`), sorted by name in byte order (Go's order). A missing directory gives `[]`.
 * Subdirectories are not searched.
 */
export async function confFiles(dir: string, extensions: readonly string[]): Promise<string[]> {
  return filesOf(dir, await listDir(dir), extensions);
}

function filesOf(dir: string, listing: DirListing | undefined, extensions: readonly string[]): string[] {
  if (!listing) return [];
  return listing.files
    .filter((n) => extensions.includes(goExt(n)))
    .sort(compareUtf8)
    .map((n) => path.join(dir, n));
}

/** A file read by {@link readInOrder}: its bytes, undefined if it vanished, or the read error. */
type ReadOutcome = { file: string; bytes: Uint8Array | undefined } | { file: string; error: unknown };

/**
 * Read `files` in order, errors delivered as values so that a lookup that stops early leaves
 * nothing behind. Reads are synchronous (core/bounded-read.ts): a few microseconds per file, where
 * a thread-pool round trip per file made a directory of 1000 lists take ~230 ms.
 */
function* readInOrder(files: readonly string[]): Generator<ReadOutcome> {
  for (const file of files) {
    let outcome: ReadOutcome;
    try {
      outcome = { file, bytes: readConfigFile(file, true) };
    } catch (error) {
      outcome = { file, error };
    }
    yield outcome;
  }
}

/** A configuration file larger than this is refused (a network list is a few KiB; Go has no limit). */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;

/** Read a config file; `undefined` when it vanished since the directory was listed. */
function readConfigFile(file: string, tolerateMissing: boolean): Uint8Array | undefined {
  try {
    // Symlinks are followed: ConfigMaps are symlinks. A FIFO, a device or an oversized file is not read.
    return readBoundedFile(file, MAX_CONFIG_FILE_BYTES, { followSymlinks: true }).bytes;
  } catch (e) {
    if (tolerateMissing && errnoCode(e) === 'ENOENT') return undefined;
    throw new ConfigError(`error reading ${file}: ${goPathError(e, 'open', file)}`, { cause: e, file });
  }
}

/**
 * The plugins of network `networkName` kept as separate files: every `*.conf` directly in
 * `<dir>/<networkName>/`, sorted (Go `NetworkPluginConfsFromFiles`). A missing subdirectory gives `[]`.
 */
export async function networkPluginConfsFromFiles(dir: string, networkName: string): Promise<PluginConfig[]> {
  const pluginDir = path.join(dir, networkName);
  let files: string[];
  try {
    files = await confFiles(pluginDir, ['.conf']);
  } catch (e) {
    throw new ConfigError(`failed to read plugin config files in ${pluginDir}: ${(e as Error).message}`, {
      cause: e,
      file: pluginDir,
    });
  }
  const out: PluginConfig[] = [];
  for (const file of files) {
    const bytes = readConfigFile(file, true);
    if (bytes) out.push(pluginConfFromBytes(bytes, { file }));
  }
  return out;
}

/**
 * Load a network configuration list file (Go `NetworkConfFromFile` / `ConfListFromFile`): parse
 * it and, unless `loadOnlyInlinedPlugins` is set, append the plugins of `<dir>/<name>/*.conf`.
 * A list that ends up with no plugin is an error (`no plugin configs found`).
 */
export async function networkConfFromFile(file: string): Promise<NetworkConfigList> {
  const bytes = readConfigFile(file, false);
  return networkConfFromFileBytes(file, bytes as Uint8Array);
}

/**
 * `maybeDirs`, when the caller listed the directory, names the entries that can be a plugin
 * subdirectory; a list whose name is not among them has none, and no `readdir` is spent on it.
 */
async function networkConfFromFileBytes(
  file: string,
  bytes: Uint8Array,
  maybeDirs?: ReadonlySet<string>,
): Promise<NetworkConfigList> {
  const list = networkConfFromBytes(bytes, { file });
  if (!list.loadOnlyInlinedPlugins && (maybeDirs === undefined || maybeDirs.has(list.name))) {
    list.plugins.push(...(await networkPluginConfsFromFiles(path.dirname(file), list.name)));
  }
  if (list.plugins.length === 0) throw new ConfigError('no plugin configs found', { file });
  return list;
}

/** Load a deprecated single-plugin `.conf`/`.json` file (Go `ConfFromFile`). */
export function confFromFile(file: string): Promise<PluginConfig> {
  // A promise like every loader's, failures as rejections, though the read itself is synchronous.
  return Promise.resolve().then(() =>
    pluginConfFromBytes(readConfigFile(file, false) as Uint8Array, { file }),
  );
}

/**
 * Find the deprecated single-plugin config named `name` among `dir`'s `.conf` and `.json` files
 * (sorted together; the first file that fails to load aborts, as in Go `LoadConf`).
 * Throws {@link NoConfigsFoundError} when there are no such files, {@link NotFoundError} when none
 * has that name.
 */
export async function loadConf(dir: string, name: string): Promise<PluginConfig> {
  const files = await confFiles(dir, ['.conf', '.json']);
  if (files.length === 0) throw new NoConfigsFoundError(dir);
  for (const read of readInOrder(files)) {
    if ('error' in read) throw read.error;
    if (!read.bytes) continue;
    const conf = pluginConfFromBytes(read.bytes, { file: read.file });
    if ((conf.network.name ?? '') === name) return conf;
  }
  throw new NotFoundError(dir, name);
}

/**
 * Up-convert a single-plugin config into a list of one (Go `ConfListFromConf`).
 *
 * The list's `bytes` are exactly Go's: `json.Marshal` of `{"cniVersion","name","plugins":[<the
 * plugin as a map>]}` (sorted keys, HTML escaping, numbers through float64), so that the attachment
 * cache holds what Go libcni would write. The plugin itself keeps its original bytes.
 */
export function confListFromConf(conf: PluginConfig): NetworkConfigList {
  const text = jsonText(conf.bytes);
  try {
    scanJson(text);
  } catch (e) {
    throw new ConfigError((e as Error).message, { cause: e }); // Go returns the decode error as is
  }
  const raw: unknown = JSON.parse(text);
  let listJson: string;
  try {
    listJson = goMarshal({
      cniVersion: conf.network.cniVersion ?? '',
      name: conf.network.name ?? '',
      plugins: [raw],
    });
  } catch (e) {
    // Only a number beyond float64 (1e400) gets here; Go fails to decode it into a map.
    throw new ConfigError('json: cannot unmarshal number into Go value of type float64', { cause: e });
  }
  const list = networkConfFromBytes(listJson);
  list.plugins = [conf];
  return list;
}

/**
 * Find the network named `name` in `dir` (Go `LoadNetworkConf` / `LoadConfList`): sorted
 * `.conflist` files first (the first one that fails to load aborts the lookup, as in Go), then the
 * deprecated `.conf`/`.json` files through {@link loadConf} + {@link confListFromConf}.
 *
 * Throws {@link NoConfigsFoundError} (`no net configurations found in <dir>`) when the directory
 * holds no config file at all or does not exist, {@link NotFoundError}
 * (`no net configuration with name "<name>" in <dir>`) when no file defines `name`.
 */
export async function loadNetworkConf(dir: string, name: string): Promise<NetworkConfigList> {
  const listing = await listDir(dir);
  const files = filesOf(dir, listing, ['.conflist']);
  for (const read of readInOrder(files)) {
    if ('error' in read) throw read.error;
    if (!read.bytes) continue;
    const list = await networkConfFromFileBytes(read.file, read.bytes, listing?.maybeDirs);
    if (list.name === name) return list;
  }
  let single: PluginConfig;
  try {
    single = await loadConf(dir, name);
  } catch (e) {
    // Lists exist but no single-plugin files: the name is what is missing, not the configs.
    if (e instanceof NoConfigsFoundError && files.length > 0) throw new NotFoundError(dir, name);
    throw e;
  }
  return confListFromConf(single);
}

/** One network found by {@link loadNetworkConfDir}. */
export interface LoadedNetwork {
  /** The file that defined it. */
  file: string;
  list: NetworkConfigList;
}

/**
 * A configuration file that could not be used, and why. The one declaration for both reporters:
 * {@link loadNetworkConfDir} reports only {@link ConfigError}s (its `NetworkConfDir.errors` says
 * so with `E`); NetworkManager's reports (`configErrors`, the `configError` event) are any `Error`,
 * because when a scan of the directory throws as a whole it reports, for the directory, whatever
 * was thrown.
 */
export interface ConfigFileError<E extends Error = Error> {
  file: string;
  /** A {@link DuplicateNetworkError} when the file was fine but its name was already taken. */
  error: E;
}

/** What {@link loadNetworkConfDir} found. */
export interface NetworkConfDir {
  /** In the order asked for (see {@link LoadNetworkConfDirOptions.order}). */
  networks: LoadedNetwork[];
  errors: Array<ConfigFileError<ConfigError>>;
}

/** Options of {@link loadNetworkConfDir}. */
export interface LoadNetworkConfDirOptions {
  /** Also load the deprecated single-plugin `.conf` and `.json` files (default true). */
  includeLegacy?: boolean;
  /**
   * - `lookup` (default): Go's lookup order (`LoadNetworkConf`): `.conflist` files sorted by name,
   *   then `.conf`/`.json` files sorted together;
   * - `files`: every file sorted by name whatever its extension, the order of Go's `ConfFiles(dir,
   *   [.conf .conflist .json])` sorted, in which containerd (go-cni) and CRI-O (ocicni) pick the
   *   first network: `10-zeta.conf` comes before `20-alpha.conflist`.
   */
  order?: 'lookup' | 'files' | undefined;
}

function asConfigError(e: unknown, file: string): ConfigError {
  if (e instanceof ConfigError)
    return e.file === undefined ? new ConfigError(e.message, { cause: e, file }) : e;
  return new ConfigError(e instanceof Error ? e.message : String(e), { cause: e, file });
}

/**
 * Load every network of `dir` without throwing: each file is loaded on its own (a broken file
 * never hides the others). In the default `lookup` order (Go's lookup order) the network listed for
 * every name is the one {@link loadNetworkConf} would return when all files parse; in the `files`
 * order it is the first file of that name in the order containerd and CRI-O read the directory.
 * Later definitions of a name are reported as {@link DuplicateNetworkError}s. A missing directory
 * gives empty results; an unreadable one gives one error for the directory itself.
 */
export async function loadNetworkConfDir(
  dir: string,
  opts?: LoadNetworkConfDirOptions,
): Promise<NetworkConfDir> {
  const result: NetworkConfDir = { networks: [], errors: [] };
  let listing: DirListing | undefined;
  try {
    listing = await listDir(dir);
  } catch (e) {
    result.errors.push({ file: dir, error: asConfigError(e, dir) });
    return result;
  }
  const legacy = (opts?.includeLegacy ?? true) ? ['.conf', '.json'] : [];
  // `files`: one group, every extension sorted together (Go `ConfFiles(dir, [.conf .conflist .json])`
  // sorted, as go-cni's loadFromConfDir and ocicni's loadNetworks do).
  const groups =
    opts?.order === 'files'
      ? [filesOf(dir, listing, ['.conflist', ...legacy])]
      : [filesOf(dir, listing, ['.conflist']), filesOf(dir, listing, legacy)];
  const firstFile = new Map<string, string>();
  const add = (file: string, list: NetworkConfigList): void => {
    const first = firstFile.get(list.name);
    if (first !== undefined) {
      result.errors.push({ file, error: new DuplicateNetworkError(list.name, file, first) });
      return;
    }
    firstFile.set(list.name, file);
    result.networks.push({ file, list });
  };
  for (const files of groups) {
    for (const read of readInOrder(files)) {
      try {
        if ('error' in read) throw read.error;
        if (!read.bytes) continue;
        // By extension, as Go: a `.conflist` is a list, anything else a single-plugin config.
        if (goExt(read.file) === '.conflist')
          add(read.file, await networkConfFromFileBytes(read.file, read.bytes, listing?.maybeDirs));
        else add(read.file, confListFromConf(pluginConfFromBytes(read.bytes, { file: read.file })));
      } catch (e) {
        result.errors.push({ file: read.file, error: asConfigError(e, read.file) });
      }
    }
  }
  return result;
}

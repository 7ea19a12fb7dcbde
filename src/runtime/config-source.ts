/**
 * The manager's configuration: the network set loaded from `confDir` (or made from the `configs`
 * given), its loads (serialized, the first one shared by every caller that needs it), the optional
 * watcher that reloads it, and the `configError` reports, each emitted when a file's error is new
 * or its text changed. Each load also looks up every plugin of every network, so that a network
 * whose plugin is not installed is left out (see network-set.ts).
 */
import { promises as fs } from 'node:fs';
import { type ConfigFileError, loadNetworkConfDir, type NetworkConfDir } from '../config/load.ts';
import type { NetworkConfigList } from '../config/types.ts';
import { DuplicateNetworkError } from '../core/errors.ts';
import { asError, type Notify, type ResolvedOptions, type SetSource } from './context.ts';
import { buildNetworkSet, type ConfDirScan, type ManagedNetwork, type NetworkSet } from './network-set.ts';
import type { ConfigLoadReason } from './types.ts';
import { ConfDirWatcher } from './watch.ts';

export class ConfigSource implements SetSource {
  private set: NetworkSet = { networks: [], configErrors: [], missing: [], skipped: [], available: [] };
  /** The error text last reported for each file, so an unchanged error is not reported again. */
  private lastErrorText = new Map<string, string>();
  private loadChain: Promise<unknown> = Promise.resolve();
  private firstLoad: Promise<NetworkSet> | undefined;
  private watcher: ConfDirWatcher | undefined;

  /** `findPlugin` resolves a plugin type to its path, or rejects if it is not installed. */
  constructor(
    private readonly options: ResolvedOptions,
    private readonly notify: Notify,
    private readonly findPlugin: (type: string) => Promise<string>,
  ) {}

  /** The set loaded last. */
  get current(): NetworkSet {
    return this.set;
  }

  /** Resolves with the first load's set, starting that load if nothing has yet. */
  ensureLoaded(): Promise<NetworkSet> {
    this.firstLoad ??= this.load('initial');
    return this.firstLoad;
  }

  /** (Re)read `confDir` (or re-check `configs`) after the loads already queued; never rejects for bad files. */
  load(reason: ConfigLoadReason): Promise<NetworkSet> {
    const next = this.loadChain.then(() => this.loadOnce(reason));
    this.loadChain = next.catch(() => undefined);
    return next;
  }

  /** With the `watch` option, start the watcher (once). */
  async startWatching(): Promise<void> {
    const confDir = this.options.confDir;
    // `watch` with `configs` is refused when the manager is constructed.
    if (!this.options.raw.watch || this.watcher || confDir === undefined) return;
    // The watcher needs confDir's parent: create a missing confDir (and so its parent). A
    // dangling symlink is left alone; the watcher picks its target up when it appears.
    await fs.mkdir(confDir, { recursive: true }).catch(async (e: unknown) => {
      const entry = await fs.lstat(confDir).catch(() => undefined);
      if (!entry?.isSymbolicLink()) throw e;
    });
    const w = new ConfDirWatcher(confDir, {
      debounceMs: this.options.raw.debounceMs,
      maxWaitMs: this.options.raw.maxWaitMs,
      onChange: async (reason) => {
        await this.load(reason);
      },
      onDirChange: (event) => {
        this.notify('configDirChanged', event);
      },
      onError: (err) => {
        this.notify('watchError', err);
      },
    });
    this.watcher = w;
    await w.start();
  }

  /** Stop the watcher, if any. */
  async close(): Promise<void> {
    const w = this.watcher;
    this.watcher = undefined;
    if (w) await w.close();
  }

  /** Resolves when the watcher has nothing pending and no load is queued. */
  async settled(): Promise<void> {
    if (this.watcher) await this.watcher.idle();
    await this.loadChain;
  }

  private async loadOnce(reason: ConfigLoadReason): Promise<NetworkSet> {
    const confDir = this.options.confDir;
    let scan: ConfDirScan;
    if (confDir === undefined) {
      scan = {
        networks: (this.options.configs ?? []).map((list) => ({ file: undefined, list })),
        errors: [],
      };
    } else {
      let found: NetworkConfDir;
      try {
        found = await loadNetworkConfDir(confDir, { order: 'files' });
      } catch (e) {
        return this.scanFailed({ file: confDir, error: asError(e) });
      }
      const dirError = found.errors.find((x) => x.file === confDir);
      if (dirError !== undefined && found.networks.length === 0) {
        // The directory itself could not be read: that says nothing about the networks, keep them.
        return this.dirUnreadable({ file: confDir, error: asError(dirError.error) });
      }
      scan = {
        networks: found.networks,
        errors: found.errors.map((x) => ({ file: x.file, error: asError(x.error) })),
      };
    }
    const unusable = await this.pluginLookup([...scan.networks, ...this.set.networks]);
    const next = buildNetworkSet(
      scan,
      this.set.networks,
      {
        networks: this.options.raw.networks,
        maxNetworks: this.options.raw.maxNetworks,
        loopback: this.options.raw.loopback,
      },
      (err) => err instanceof DuplicateNetworkError,
      unusable,
    );
    this.set = next;
    this.reportNew(next.configErrors);
    this.notify('configLoaded', {
      networks: next.networks.map((n) => ({ name: n.name, file: n.file, stale: n.staleError !== undefined })),
      configErrors: [...next.configErrors],
      missing: [...next.missing],
      skipped: [...next.skipped],
      reason,
    });
    return next;
  }

  /**
   * Look every plugin type of `networks` up once (types repeat: a directory of a thousand lists
   * uses a handful), and say for a list which of its plugins is not installed, if any.
   */
  private async pluginLookup(
    networks: ReadonlyArray<Pick<ManagedNetwork, 'list'>>,
  ): Promise<(list: NetworkConfigList) => Error | undefined> {
    const types = new Set<string>();
    for (const { list } of networks) for (const p of list.plugins) types.add(p.network.type);
    const missing = new Map<string, Error>();
    await Promise.all(
      [...types].map(async (type) => {
        try {
          await this.findPlugin(type);
        } catch (e) {
          missing.set(type, asError(e));
        }
      }),
    );
    return (list) => {
      for (const p of list.plugins) {
        const error = missing.get(p.network.type);
        if (error !== undefined) return error;
      }
      return undefined;
    };
  }

  /** The scan itself threw: keep the networks, report it every time. */
  private scanFailed(report: ConfigFileError): NetworkSet {
    this.set = { ...this.set, configErrors: [report] };
    this.notify('configError', report);
    return this.set;
  }

  /** `confDir` could not be read: keep the networks, report it unless already reported. */
  private dirUnreadable(report: ConfigFileError): NetworkSet {
    this.set = { ...this.set, configErrors: [report] };
    if (this.lastErrorText.get(report.file) !== report.error.message) this.notify('configError', report);
    this.lastErrorText = new Map([[report.file, report.error.message]]);
    return this.set;
  }

  /** Report the errors that are new or whose text changed; forget the files that are fine again. */
  private reportNew(errors: readonly ConfigFileError[]): void {
    const seen = new Map<string, string>();
    for (const ce of errors) {
      seen.set(ce.file, ce.error.message);
      if (this.lastErrorText.get(ce.file) !== ce.error.message) this.notify('configError', ce);
    }
    this.lastErrorText = seen;
  }
}

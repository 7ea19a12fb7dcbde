/**
 * Watches a CNI configuration directory and calls back, debounced, when anything in it changes.
 *
 * Editors and config managers write a file in several steps (truncate + write, or temp file + rename),
 * and a network plugin's installer often drops several files at once; the debounce turns such a burst
 * into one reload. A burst that never ends (a writer that does not pause) still gets a reload every
 * `maxWaitMs`. Reloads never overlap: a change that arrives while one runs schedules exactly one more
 * after it, so the last state of the directory is always the one loaded.
 *
 * The directory itself may go away and come back (`rm -rf net.d && mkdir net.d`) or be swapped
 * through a symlink (`ln -s v2 tmp && mv -T tmp net.d`). A watch on the directory follows its inode,
 * so it would go deaf or keep watching the old target. So the directories holding the entries that
 * matter are watched too: confDir's parent, and, when confDir is a symlink, the parent of its target.
 * On any event there the path is resolved again (realpath, then device and inode of the directory,
 * which is held open so that its inode number cannot be reused), and if it now names another
 * directory, or none, the inner watch is re-armed on the new target and a reload is scheduled. A
 * reload always follows the re-arming, so files written into the new directory before its watch was
 * ready are not missed.
 */
import { constants as fsConstants, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { ChokidarOptions, FSWatcher } from 'chokidar';
import { asError } from './context.ts';
import { ReloadScheduler, type WatchReloadReason } from './reload-scheduler.ts';
import type { ConfigDirChangedEvent } from './types.ts';

export type { WatchReloadReason } from './reload-scheduler.ts';

/** Default quiet period before a reload. */
export const DEFAULT_DEBOUNCE_MS = 100;
/** Default maximum wait, as a multiple of the debounce. */
export const DEFAULT_MAX_WAIT_FACTOR = 5;

/** How a {@link ConfDirWatcher} behaves. */
export interface ConfDirWatcherOptions {
  /** Quiet period after the last change before reloading (default 100 ms). */
  debounceMs?: number | undefined;
  /**
   * Longest a change waits for its reload while changes keep coming (default 5 × `debounceMs`);
   * `Infinity` waits for quiet however long it takes.
   */
  maxWaitMs?: number | undefined;
  /**
   * Called (serialized, debounced) after changes, with why. When several requests are served by one
   * call the strongest reason is given: `confDir`, then `maxWait`, then `change`. Its rejection is
   * reported through `onError`.
   */
  onChange: (reason: WatchReloadReason) => Promise<void>;
  /** The directory was removed, created, replaced or re-pointed (called before the reload it causes). */
  onDirChange?: ((event: ConfigDirChangedEvent) => void) | undefined;
  /** Watcher and reload failures; the watcher keeps running. */
  onError: (err: Error) => void;
}

/** What a path resolves to: the real path and the identity of the directory there. */
interface DirIdentity {
  real: string;
  dev: number;
  ino: number;
}

/** The directory `p` names now, or undefined if it names none (missing, dangling link, not a directory). */
async function identify(p: string): Promise<DirIdentity | undefined> {
  try {
    const real = await fs.realpath(p);
    const st = await fs.stat(real);
    return st.isDirectory() ? { real, dev: st.dev, ino: st.ino } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Open the directory `p` names, so that its inode cannot be reused while it is watched: file systems
 * such as ext4 give a directory deleted and recreated at once the same inode number, and only an
 * open descriptor makes device + inode a sound identity. The identity is the open directory's.
 * Undefined if `p` names no directory; no handle if the directory cannot be opened (then the
 * identity is the path's, which is right except across that inode reuse).
 */
async function openDir(p: string): Promise<{ id: DirIdentity; handle?: FileHandle } | undefined> {
  let real: string;
  try {
    real = await fs.realpath(p);
  } catch {
    return undefined;
  }
  let handle: FileHandle;
  try {
    handle = await fs.open(real, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
  } catch {
    const id = await identify(real);
    return id && { id };
  }
  try {
    const st = await handle.stat();
    return { id: { real, dev: st.dev, ino: st.ino }, handle };
  } catch {
    await handle.close();
    return undefined;
  }
}

function sameDir(a: DirIdentity | undefined, b: DirIdentity | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.real === b.real && a.dev === b.dev && a.ino === b.ino;
}

function classify(
  before: DirIdentity | undefined,
  now: DirIdentity | undefined,
): ConfigDirChangedEvent['change'] {
  if (now === undefined) return 'removed';
  if (before === undefined) return 'created';
  return before.real === now.real ? 'replaced' : 'retargeted';
}

/** Resolves on the watcher's `ready`, or when `closed` resolves first. */
function ready(w: FSWatcher, closed: Promise<void>): Promise<void> {
  return Promise.race([
    new Promise<void>((resolve) =>
      w.once('ready', () => {
        resolve();
      }),
    ),
    closed,
  ]);
}

/**
 * A debounced watcher of one directory and its direct subdirectories (where the spec's
 * `<confDir>/<network>/*.conf` plugin files live) that survives the directory being deleted,
 * recreated, or swapped through a symlink.
 */
export class ConfDirWatcher {
  readonly dir: string;
  private readonly abs: string;
  private readonly options: ConfDirWatcherOptions;
  private readonly debounceMs: number;
  private readonly reloads: ReloadScheduler;
  private watchFn: typeof import('chokidar').watch | undefined;
  private starting: Promise<void> | undefined;
  /** Real path of confDir's parent, watched for confDir's own entry. */
  private parentDir: string | undefined;
  private parentWatcher: FSWatcher | undefined;
  /** Real path of the parent of confDir's target when that is elsewhere (confDir is a symlink). */
  private targetParentDir: string | undefined;
  private targetParentWatcher: FSWatcher | undefined;
  /** Watches the directory's current target (its real path). */
  private inner: FSWatcher | undefined;
  /** What the inner watcher is armed on; undefined while the directory does not exist. */
  private armed: DirIdentity | undefined;
  /** The armed directory, held open (see {@link openDir}). */
  private pin: FileHandle | undefined;
  private checking: Promise<void> | undefined;
  private recheck = false;
  private closed = false;
  /** Set once the first watches are up; checks asked for before then are covered by a last one. */
  private started = false;
  private resolveClosed!: () => void;
  private readonly closedSignal = new Promise<void>((resolve) => {
    this.resolveClosed = resolve;
  });

  constructor(dir: string, options: ConfDirWatcherOptions) {
    this.dir = dir;
    this.abs = path.resolve(dir);
    this.options = options;
    this.debounceMs = Math.max(0, options.debounceMs ?? DEFAULT_DEBOUNCE_MS);
    this.reloads = new ReloadScheduler({
      debounceMs: this.debounceMs,
      maxWaitMs: Math.max(0, options.maxWaitMs ?? DEFAULT_MAX_WAIT_FACTOR * this.debounceMs),
      onChange: (reason) => this.options.onChange(reason),
      onError: (err) => {
        this.options.onError(err);
      },
    });
  }

  /**
   * Start watching; resolves once the initial scans are done (changes after that are reported).
   * The parent directory must exist; the directory itself need not.
   */
  start(): Promise<void> {
    this.starting ??= this.startOnce();
    return this.starting;
  }

  private async startOnce(): Promise<void> {
    // Loaded on first use: runtimes that never watch do not pay for chokidar at start-up.
    const { watch } = await import('chokidar');
    if (this.closed) return;
    this.watchFn = watch;
    const parent = await fs.realpath(path.dirname(this.abs));
    if (this.isClosed()) return;
    this.parentDir = parent;
    this.parentWatcher = await this.watchEntry(parent, path.basename(this.abs));
    if (this.isClosed()) return;
    await this.arm(await openDir(this.abs));
    if (this.isClosed()) return;
    this.started = true;
    // Anything that moved while the watches started is caught by looking again.
    this.requestCheck();
  }

  /**
   * Watch `dir` (a real path) for changes to its entry `name`: any event there makes the watcher
   * resolve confDir again. Only `dir` itself is watched, not its other entries.
   */
  private async watchEntry(dir: string, name: string): Promise<FSWatcher> {
    const entry = path.join(dir, name);
    const w = (this.watchFn as typeof import('chokidar').watch)(dir, {
      ignoreInitial: true,
      depth: 0,
      persistent: true,
      // `dir` is a real path, and the entry is looked at, not followed.
      followSymlinks: false,
      ignored: (p: string) => {
        const r = path.resolve(p);
        return r !== dir && r !== entry;
      },
    });
    // `raw` is every event the OS reports in `dir`, on ignored entries too (an entry can be replaced
    // faster than chokidar re-reads the directory); `all` is chokidar's view of the entry.
    w.on('raw', () => {
      this.requestCheck();
    });
    w.on('all', () => {
      this.requestCheck();
    });
    w.on('error', (err: unknown) => {
      this.options.onError(asError(err));
    });
    await ready(w, this.closedSignal);
    return w;
  }

  /** Trigger a reload as if the directory had changed (still debounced, and bounded by the max wait). */
  schedule(reason: WatchReloadReason = 'change'): void {
    if (this.closed) return;
    this.reloads.schedule(reason);
  }

  /** Resolves when no reload or re-arming is running or scheduled (tests use it to wait for quiet). */
  async idle(): Promise<void> {
    if (this.starting) await this.starting.catch(() => undefined);
    while (this.checking || this.reloads.current || this.reloads.pending) {
      if (this.checking) await this.checking;
      else if (this.reloads.current) await this.reloads.current;
      else await new Promise((r) => setTimeout(r, this.debounceMs));
    }
  }

  /** Stop watching; a reload in progress is allowed to finish. */
  async close(): Promise<void> {
    this.closed = true;
    this.resolveClosed();
    this.reloads.stop();
    if (this.starting) await this.starting.catch(() => undefined);
    if (this.checking) await this.checking;
    // A start or check that was under way has seen `closed` and armed nothing more.
    const watchers = [this.parentWatcher, this.targetParentWatcher, this.inner];
    this.parentWatcher = undefined;
    this.targetParentWatcher = undefined;
    this.inner = undefined;
    for (const w of watchers) if (w) await w.close();
    const pin = this.pin;
    this.pin = undefined;
    await pin?.close();
    const running = this.reloads.current;
    if (running) await running;
  }

  /** `closed`, read through a call: it changes across awaits, which the type checker does not see. */
  private isClosed(): boolean {
    return this.closed;
  }

  /** Whether a check was asked for while one ran (read through a call for the same reason). */
  private recheckWanted(): boolean {
    return this.recheck && !this.closed;
  }

  /** Resolve the directory again soon; checks never overlap, and one asked for during a check runs after it. */
  private requestCheck(): void {
    if (this.closed || !this.started) return;
    if (this.checking) {
      this.recheck = true;
      return;
    }
    this.checking = (async () => {
      do {
        this.recheck = false;
        try {
          await this.checkOnce();
        } catch (e) {
          this.options.onError(asError(e));
        }
      } while (this.recheckWanted());
    })().finally(() => {
      this.checking = undefined;
    });
  }

  private async checkOnce(): Promise<void> {
    if (sameDir(await identify(this.abs), this.armed) || this.isClosed()) return;
    const before = this.armed;
    const opened = await openDir(this.abs);
    if (sameDir(opened?.id, before) || this.isClosed()) {
      await opened?.handle?.close();
      return;
    }
    await this.arm(opened);
    if (this.isClosed()) return;
    const now = this.armed;
    this.options.onDirChange?.({
      dir: this.dir,
      change: classify(before, now),
      target: now?.real,
      previousTarget: before?.real,
    });
    this.schedule('confDir');
    // It may have moved again while the new watch started.
    this.recheck = true;
  }

  /**
   * Replace the inner watcher with one on `target` (none if the directory does not exist), and the
   * held directory with `target`'s. A target in another directory than confDir's entry has that
   * directory watched too; while there is no target, the last such directory stays watched (the
   * target is most likely to come back where it was).
   */
  private async arm(target: { id: DirIdentity; handle?: FileHandle } | undefined): Promise<void> {
    const old = this.inner;
    const oldPin = this.pin;
    this.inner = undefined;
    this.armed = target?.id;
    this.pin = target?.handle;
    if (old) await old.close();
    await oldPin?.close();
    if (target === undefined || this.isClosed() || this.watchFn === undefined) return;
    const root = target.id.real;
    const rootParent = path.dirname(root);
    if (rootParent !== this.parentDir && rootParent !== this.targetParentDir) {
      const oldParent = this.targetParentWatcher;
      this.targetParentDir = rootParent;
      this.targetParentWatcher = undefined;
      if (oldParent) await oldParent.close();
      if (this.isClosed()) return;
      this.targetParentWatcher = await this.watchEntry(rootParent, path.basename(root));
      if (this.isClosed()) return;
    } else if (rootParent === this.parentDir && this.targetParentWatcher) {
      const oldParent = this.targetParentWatcher;
      this.targetParentDir = undefined;
      this.targetParentWatcher = undefined;
      await oldParent.close();
      if (this.isClosed()) return;
    }
    // Not persistent: chokidar shares one fs.watch per path among its persistent watchers, so a
    // new watch on a recreated directory would join the dead one that another watcher of the same
    // path (another manager) still holds. The parent watch keeps the process alive, as before.
    const options: ChokidarOptions = { ignoreInitial: true, depth: 1, persistent: false };
    const w = this.watchFn(root, options);
    this.inner = w;
    w.on('all', () => {
      this.schedule('change');
    });
    // Every change the OS reports, not only those chokidar makes an event of: chokidar throttles
    // re-reading a directory, and under a stream of temp-file renames it reports a few changes a
    // second, too sparse for the max wait to mean anything. Reading files reports nothing.
    w.on('raw', () => {
      this.schedule('change');
    });
    w.on('error', (err: unknown) => {
      this.options.onError(asError(err));
      this.requestCheck();
    });
    await ready(w, this.closedSignal);
  }
}

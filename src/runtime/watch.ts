/**
 * Watches a CNI configuration directory and calls back, debounced, when anything in it changes.
 *
 * Editors and config managers write a file in several steps (truncate + write, or temp file + rename),
 * and a network plugin's installer often drops several files at once; the debounce turns such a burst
 * into one reload. Reloads never overlap: a change that arrives while one runs schedules exactly one
 * more after it, so the last state of the directory is always the one loaded.
 */
import type { FSWatcher } from 'chokidar';

/** How a {@link ConfDirWatcher} behaves. */
export interface ConfDirWatcherOptions {
  /** Quiet period after the last change before reloading (default 100 ms). */
  debounceMs?: number | undefined;
  /** Called (serialized, debounced) after changes. Its rejection is reported through `onError`. */
  onChange: () => Promise<void>;
  /** Watcher and reload failures; the watcher keeps running. */
  onError: (err: Error) => void;
}

/**
 * A debounced watcher of one directory and its direct subdirectories (where the spec's
 * `<confDir>/<network>/*.conf` plugin files live).
 */
export class ConfDirWatcher {
  readonly dir: string;
  private readonly options: ConfDirWatcherOptions;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** Counts changes that asked for a reload; a reload that ends behind it runs again. */
  private requests = 0;
  private closed = false;

  constructor(dir: string, options: ConfDirWatcherOptions) {
    this.dir = dir;
    this.options = options;
  }

  /** Start watching; resolves once the initial scan is done (changes after that are reported). */
  async start(): Promise<void> {
    if (this.watcher) return;
    // Loaded on first use: runtimes that never watch do not pay for chokidar at start-up.
    const { watch } = await import('chokidar');
    // close() or a concurrent start() may have run while chokidar loaded.
    if ((this.watcher as FSWatcher | undefined) !== undefined || this.closed) return;
    const w = watch(this.dir, { ignoreInitial: true, depth: 1, persistent: true });
    this.watcher = w;
    w.on('all', () => {
      this.schedule();
    });
    w.on('error', (err: unknown) => {
      this.options.onError(err instanceof Error ? err : new Error(String(err)));
    });
    await new Promise<void>((resolve) =>
      w.once('ready', () => {
        resolve();
      }),
    );
  }

  /** Trigger a reload as if the directory had changed (still debounced). */
  schedule(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.fire();
    }, this.options.debounceMs ?? 100);
  }

  /** Resolves when no reload is running or scheduled (tests use it to wait for quiet). */
  async idle(): Promise<void> {
    while (this.running || this.timer) {
      if (this.running) await this.running;
      else await new Promise((r) => setTimeout(r, this.options.debounceMs ?? 100));
    }
  }

  /** Stop watching; a reload in progress is allowed to finish. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const w = this.watcher;
    this.watcher = undefined;
    if (w) await w.close();
    if (this.running) await this.running;
  }

  private fire(): void {
    this.requests++;
    if (this.running) return;
    this.running = (async () => {
      let served: number;
      do {
        served = this.requests;
        try {
          await this.options.onChange();
        } catch (e) {
          this.options.onError(e instanceof Error ? e : new Error(String(e)));
        }
      } while (served !== this.requests && !this.closed);
    })().finally(() => {
      this.running = undefined;
    });
  }
}

/**
 * The debounced, serialized reload of a {@link ConfDirWatcher}: changes are gathered into bursts,
 * a burst is served by one reload after a quiet period (or after the max wait while changes keep
 * coming), and reloads never overlap: a change that arrives while one runs schedules exactly one
 * more after it, so the last state of the directory is always the one loaded.
 */
import { asError } from './context.ts';
import type { ConfigLoadReason } from './types.ts';

/** Why the watcher asks for a reload. */
export type WatchReloadReason = Extract<ConfigLoadReason, 'change' | 'maxWait' | 'confDir'>;

const REASON_RANK: Record<WatchReloadReason, number> = { change: 0, maxWait: 1, confDir: 2 };

function stronger(a: WatchReloadReason | undefined, b: WatchReloadReason): WatchReloadReason {
  return a !== undefined && REASON_RANK[a] >= REASON_RANK[b] ? a : b;
}

/** What a {@link ReloadScheduler} calls and how long it waits. */
export interface ReloadSchedulerOptions {
  debounceMs: number;
  maxWaitMs: number;
  /** The reload; called serialized, with the strongest reason of the requests it serves. */
  onChange: (reason: WatchReloadReason) => Promise<void>;
  /** A rejected reload. */
  onError: (err: Error) => void;
}

export class ReloadScheduler {
  private readonly options: ReloadSchedulerOptions;
  private timer: NodeJS.Timeout | undefined;
  /** When the first change of the burst the timer is for arrived (performance.now()). */
  private burstStart: number | undefined;
  private burstReason: WatchReloadReason | undefined;
  private running: Promise<void> | undefined;
  /** Counts changes that asked for a reload; a reload that ends behind it runs again. */
  private requests = 0;
  private queuedReason: WatchReloadReason | undefined;
  private stopped = false;

  constructor(options: ReloadSchedulerOptions) {
    this.options = options;
  }

  /** Whether a reload is waiting for its timer. */
  get pending(): boolean {
    return this.timer !== undefined;
  }

  /** The reload under way, if any. */
  get current(): Promise<void> | undefined {
    return this.running;
  }

  /** Ask for a reload: debounced, and bounded by the max wait. */
  schedule(reason: WatchReloadReason): void {
    if (this.stopped) return;
    const { debounceMs, maxWaitMs } = this.options;
    const now = performance.now();
    this.burstStart ??= now;
    this.burstReason = stronger(this.burstReason, reason);
    if (this.timer) clearTimeout(this.timer);
    const left = this.burstStart + maxWaitMs - now;
    // A timer that ends before the quiet period would is the max wait's.
    const forced = left < debounceMs;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        const r = forced ? stronger(this.burstReason, 'maxWait') : (this.burstReason ?? 'change');
        this.burstStart = undefined;
        this.burstReason = undefined;
        this.fire(r);
      },
      Math.max(0, forced ? left : debounceMs),
    );
  }

  /** Schedule nothing more and drop the waiting reload; one under way is allowed to finish. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private fire(reason: WatchReloadReason): void {
    this.requests++;
    this.queuedReason = stronger(this.queuedReason, reason);
    if (this.running) return;
    this.running = (async () => {
      let served: number;
      do {
        served = this.requests;
        const r = this.queuedReason ?? 'change';
        this.queuedReason = undefined;
        try {
          await this.options.onChange(r);
        } catch (e) {
          this.options.onError(asError(e));
        }
      } while (served !== this.requests && !this.stopped);
    })().finally(() => {
      this.running = undefined;
    });
  }
}

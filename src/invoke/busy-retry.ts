/**
 * "text file busy" at spawn: the plugin binary is still open for writing (an upgrade copying it in
 * place), or fork hit a resource limit (EAGAIN). Both usually clear within moments, so the spawn is
 * retried, each time with a fresh process, bounded backoff and within the call's deadline; if it
 * never clears, the call fails loudly with the errno. Go's retry reuses the command and ends by
 * reporting success with empty output (docs/go-differences.md).
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { type PluginError, PluginSpawnError } from '../core/errors.ts';
import { EXEC_DEFAULTS, type ExecOptions, type ExecOutput } from './exec-options.ts';
import { execInfo, stoppedCallError } from './plugin-failure.ts';
import { type RunSettings, runOnce } from './run-once.ts';

/** Spawn-time errno values worth retrying: the binary is being written, or fork hit a limit. */
const RETRYABLE_SPAWN_ERRNO = new Set(['ETXTBSY', 'EAGAIN']);

/** One spawn of a plugin and its outcome: {@link runOnce}, or NativeExec's through its helper. */
export type RunOnce = (
  pluginPath: string,
  stdin: Uint8Array,
  env: Record<string, string>,
  settings: RunSettings,
  attempt: number,
) => Promise<ExecOutput>;

/** A plugin run to be started, and how to retry its spawn. */
export interface BusyRun {
  /** What starts it; default {@link runOnce}. */
  runner?: RunOnce | undefined;
  pluginPath: string;
  stdin: Uint8Array;
  env: Record<string, string>;
  settings: RunSettings;
  busyRetry: ExecOptions['busyRetry'];
}

/** The error of a call that stopped before any plugin ran (`timeout` after `durationMs`, or `abort`). */
export function stoppedBeforeRun(run: BusyRun, kind: 'timeout' | 'abort', durationMs: number): PluginError {
  const s = run.settings;
  const info = execInfo(run.pluginPath, s.command, null, null, undefined, '', durationMs);
  return stoppedCallError(kind, s.callTimeoutMs, info, { abortReason: s.signal?.reason, context: s.context });
}

/** How many spawns a call may make. */
export function busyAttempts(run: BusyRun): number {
  return run.busyRetry?.attempts ?? EXEC_DEFAULTS.busyAttempts;
}

/**
 * {@link runOnce}, except that a retryable spawn failure resolves to `undefined` when `mayRetry`.
 * The wrapper keeps the common path to a single awaited promise.
 */
export async function runOnceOrBusy(
  run: BusyRun,
  settings: RunSettings,
  attempt: number,
  mayRetry: boolean,
): Promise<ExecOutput | undefined> {
  try {
    return await (run.runner ?? runOnce)(run.pluginPath, run.stdin, run.env, settings, attempt);
  } catch (err) {
    if (
      mayRetry &&
      err instanceof PluginSpawnError &&
      err.errno !== undefined &&
      RETRYABLE_SPAWN_ERRNO.has(err.errno)
    ) {
      return undefined;
    }
    throw err;
  }
}

/**
 * The slow path, after the first spawn found the binary busy: retry with fresh spawns and doubling
 * delays until one starts, the attempts run out (the last failure is thrown), the call's deadline
 * (counted from `startedAt`) passes, or its signal fires.
 */
export async function retryWhileBusy(run: BusyRun, startedAt: number): Promise<ExecOutput> {
  const { settings } = run;
  const attempts = busyAttempts(run);
  const maxDelay = run.busyRetry?.maxDelayMs ?? EXEC_DEFAULTS.busyMaxDelayMs;
  let delay = run.busyRetry?.initialDelayMs ?? EXEC_DEFAULTS.busyInitialDelayMs;
  const deadline = settings.timeoutMs > 0 ? startedAt + settings.timeoutMs : Infinity;
  for (let attempt = 2; ; attempt++) {
    const remaining = deadline - performance.now();
    try {
      await sleep(Math.min(delay, remaining), undefined, { signal: settings.signal });
    } catch {
      throw stoppedBeforeRun(run, 'abort', 0);
    }
    delay = Math.min(delay * 2, maxDelay);
    const left = deadline - performance.now();
    if (left <= 0) throw stoppedBeforeRun(run, 'timeout', performance.now() - startedAt);
    const timeoutMs = Number.isFinite(left) ? Math.max(1, Math.ceil(left)) : 0;
    const out = await runOnceOrBusy(run, { ...settings, timeoutMs }, attempt, attempt < attempts);
    if (out !== undefined) return out;
  }
}

/**
 * Running one plugin process: our own small wrapper over `child_process.spawn` (no shell, no
 * execa; docs/contributing.md, "Why not execa"). What it adds over Go's `RawExec`, each because a
 * runtime must not lose track of a plugin or hang on one (docs/reliability.md, docs/go-differences.md):
 * - the plugin runs in its own process group (`detached`), so a timeout or abort kills it *and*
 *   anything it started: SIGTERM to the group, SIGKILL after a grace period (group-kill.ts);
 * - it settles even when a grandchild keeps stdout open (Node's 'close' would wait forever;
 *   exit-drain.ts);
 * - stdout and stderr are captured with bounds (stderr keeps its tail; output-limits.ts), and every
 *   error carries them with the exit status and duration, so a failure can be diagnosed from the
 *   error alone (plugin-failure.ts);
 * - "text file busy" at spawn is retried with a fresh spawn and bounded backoff, and reported
 *   loudly if it never clears (busy-retry.ts; Go's retry reuses the command and then reports success).
 *
 * One spawn and its outcome are run-once.ts.
 */
import { performance } from 'node:perf_hooks';
import {
  commandOf,
  EXEC_DEFAULTS,
  effectiveTimeoutMs,
  type ExecOptions,
  type ExecOutput,
} from './exec-options.ts';
import {
  type BusyRun,
  busyAttempts,
  type RunOnce,
  retryWhileBusy,
  runOnceOrBusy,
  stoppedBeforeRun,
} from './busy-retry.ts';

export { EXEC_DEFAULTS, type ExecOptions, type ExecOutput } from './exec-options.ts';

/**
 * Run the plugin at `pluginPath` with `stdin` and exactly `env` (no shell, no arguments), and
 * return its output when it exits 0.
 *
 * Failures, all carrying {@link PluginExecInfo} (`error.exec`):
 * - non-zero exit or death by signal → {@link PluginError} decoded as Go's `pluginErr`;
 * - timeout → {@link PluginTimeoutError}; abort → {@link PluginAbortedError} (an already-aborted
 *   signal never spawns); the plugin's whole process group is killed first;
 * - stdout over `maxStdoutBytes` → {@link PluginError} "output exceeded the limit";
 * - cannot start → {@link PluginSpawnError} with the errno, after retrying ETXTBSY/EAGAIN with a
 *   fresh spawn each time.
 *
 * The timeout covers the whole call, including spawn retries.
 */
export function spawnPlugin(
  pluginPath: string,
  stdin: Uint8Array,
  env: Record<string, string>,
  options?: ExecOptions,
): Promise<ExecOutput> {
  return runPluginWith(undefined, pluginPath, stdin, env, options);
}

/**
 * {@link spawnPlugin} with another way to start one attempt (`runner`; default: `child_process`):
 * the options, the retries of a busy binary and the call's deadline across them stay the same.
 */
export async function runPluginWith(
  runner: RunOnce | undefined,
  pluginPath: string,
  stdin: Uint8Array,
  env: Record<string, string>,
  options?: ExecOptions,
): Promise<ExecOutput> {
  const timeoutMs = effectiveTimeoutMs(options);
  const run: BusyRun = {
    runner,
    pluginPath,
    stdin,
    env,
    settings: {
      command: commandOf(options, env),
      signal: options?.signal,
      timeoutMs,
      callTimeoutMs: timeoutMs,
      killGraceMs: options?.killGraceMs ?? EXEC_DEFAULTS.killGraceMs,
      maxStdout: options?.maxStdoutBytes ?? EXEC_DEFAULTS.maxStdoutBytes,
      maxStderr: options?.maxStderrBytes ?? EXEC_DEFAULTS.maxStderrBytes,
      context: options?.context,
      onStderr: options?.onStderr,
    },
    busyRetry: options?.busyRetry,
  };
  if (options?.signal?.aborted) throw stoppedBeforeRun(run, 'abort', 0);

  const startedAt = performance.now();
  const first = await runOnceOrBusy(run, run.settings, 1, busyAttempts(run) > 1);
  if (first !== undefined) return first;
  return retryWhileBusy(run, startedAt);
}

/**
 * Running one plugin process: our own small wrapper over `child_process.spawn` (no shell, no
 * execa). What it adds over Go's `RawExec`, each for a reason in reference §4:
 * - the plugin runs in its own process group (`detached`), so a timeout or abort kills it *and*
 *   anything it started: SIGTERM to the group, SIGKILL after a grace period (pain point 4);
 * - it settles even when a grandchild keeps stdout open (Node's 'close' would wait forever);
 * - stdout and stderr are captured with bounds (stderr keeps its tail), and every error carries
 *   them with the exit status and duration (pain point 5);
 * - "text file busy" at spawn is retried with a fresh spawn and bounded backoff, and reported
 *   loudly if it never clears (pain point 6; Go's retry reuses the command and then reports success).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ErrorContext,
  PluginAbortedError,
  PluginError,
  type PluginExecInfo,
  PluginSpawnError,
  PluginTimeoutError,
} from '../core/errors.ts';
import { goErrnoText } from '../go/process.ts';
import { pluginFailure } from './plugin-failure.ts';
import { groupHasLiveMembers, signalGroup } from './process-group.ts';

/** Per-call knobs for running a plugin. */
export interface ExecOptions {
  /** Abort the call: the plugin's process group is killed and {@link PluginAbortedError} thrown. */
  signal?: AbortSignal | undefined;
  /** Kill the plugin after this long (ms); {@link PluginTimeoutError}. 0 or absent: no timeout. */
  timeoutMs?: number | undefined;
  /** Time between SIGTERM and SIGKILL to the process group. Default 2000 ms. */
  killGraceMs?: number | undefined;
  /** stdout beyond this is a failure (the group is killed). Default 16 MiB. */
  maxStdoutBytes?: number | undefined;
  /** Only the last this-many bytes of stderr are kept. Default 64 KiB. */
  maxStderrBytes?: number | undefined;
  /** Retry policy for "text file busy"/EAGAIN at spawn. Default 5 attempts, 50 ms doubling, cap 1 s. */
  busyRetry?: { attempts?: number; initialDelayMs?: number; maxDelayMs?: number } | undefined;
  /** The CNI command, for errors. Default: the env's `CNI_COMMAND`. */
  command?: string | undefined;
  /** What the caller knows about the call (network, container, ...), for errors. */
  context?: ErrorContext | undefined;
}

/** A successful plugin run (exit status 0). */
export interface ExecOutput {
  stdout: Buffer;
  /** The tail of stderr (bounded by `maxStderrBytes`), decoded as UTF-8. */
  stderr: string;
  exitCode: number;
  durationMs: number;
}

/** Defaults for {@link ExecOptions}. */
export const EXEC_DEFAULTS = {
  killGraceMs: 2000,
  maxStdoutBytes: 16 * 1024 * 1024,
  maxStderrBytes: 64 * 1024,
  busyAttempts: 5,
  busyInitialDelayMs: 50,
  busyMaxDelayMs: 1000,
} as const;

/**
 * After the plugin exits, how long to wait for EOF on its pipes. Whatever it wrote is already in
 * the pipe and is read within a loop turn or two; EOF only fails to come when a grandchild holds
 * the pipe open, and then we stop waiting rather than hang like Go's `cmd.Wait`. When the timer
 * fires, one more I/O poll runs before we give up (see the 'exit' handler).
 */
const EXIT_DRAIN_MS = 100;
/** While killing, how often to check whether the process group is gone. */
const GROUP_POLL_MS = 25;
/**
 * After SIGKILL, how long to wait for the group to disappear (a process in D state dies late).
 * SpawnerExec counts it into the time its helper may take to report a kill.
 */
export const AFTER_SIGKILL_WAIT_MS = 1000;
/** How much of stdout errors keep. */
const STDOUT_HEAD_BYTES = 4096;
/** setTimeout's limit; longer timeouts are treated as none. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Spawn-time errno values worth retrying: the binary is being written, or fork hit a limit. */
const RETRYABLE_SPAWN_ERRNO = new Set(['ETXTBSY', 'EAGAIN']);

type KillReason = 'timeout' | 'abort' | 'overflow';

/** Options resolved once per call. */
interface RunSettings {
  command: string;
  signal: AbortSignal | undefined;
  /** When this run is killed: what is left of the call's timeout (0: none). */
  timeoutMs: number;
  /** The call's timeout as the caller gave it, for the error. */
  callTimeoutMs: number;
  killGraceMs: number;
  maxStdout: number;
  maxStderr: number;
  context: ErrorContext | undefined;
}

function execInfo(
  pluginPath: string,
  command: string,
  exitCode: number | null,
  signal: string | null,
  stdout: Buffer | undefined,
  stderr: string,
  durationMs: number,
): PluginExecInfo {
  return {
    pluginPath,
    command,
    exitCode,
    signal,
    stderr,
    stdout: stdout === undefined ? '' : stdout.subarray(0, STDOUT_HEAD_BYTES).toString('utf8'),
    durationMs,
  };
}

function spawnError(
  pluginPath: string,
  err: NodeJS.ErrnoException,
  attempts: number,
  s: RunSettings,
): PluginSpawnError {
  const errno = typeof err.code === 'string' ? err.code : undefined;
  const text = goErrnoText(errno) ?? err.message;
  const tries = attempts > 1 ? ` (gave up after ${attempts} attempts)` : '';
  // Go reports a failed start as `netplugin failed with no error message: fork/exec <path>: <errno text>`.
  return new PluginSpawnError(
    `netplugin failed with no error message: fork/exec ${pluginPath}: ${text}${tries}`,
    pluginPath,
    errno,
    attempts,
    { cause: err, context: { command: s.command, pluginPath, ...s.context } },
  );
}

/**
 * stdin write errors are ignored: EPIPE (or a destroyed stream) just means the plugin exited
 * without reading its config, which a VERSION-only or crashing plugin does; Go ignores it too. The
 * exit status tells what happened.
 */
function ignoreStdinError(): void {}

/**
 * One spawn of the plugin. Resolves on exit 0; rejects with a {@link PluginError} (or subclass) on
 * failure, or with a {@link PluginSpawnError} when the process could not be started.
 */
function runOnce(
  pluginPath: string,
  stdin: Uint8Array,
  env: Record<string, string>,
  s: RunSettings,
  attempt: number,
): Promise<ExecOutput> {
  return new Promise<ExecOutput>((resolve, reject) => {
    const started = performance.now();
    let child: ChildProcessWithoutNullStreams;
    try {
      // argv0 is the path itself and there are no arguments, as Go's exec.Command(pluginPath).
      child = spawn(pluginPath, [], { detached: true, env, stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (err) {
      // ETXTBSY, ENOEXEC, E2BIG... are thrown synchronously by Node.
      reject(spawnError(pluginPath, err as NodeJS.ErrnoException, attempt, s));
      return;
    }
    const pid = child.pid;

    const stdoutChunks: Buffer[] = [];
    let stdoutLen = 0;
    let stderrChunks: Buffer[] = [];
    let stderrLen = 0;
    let exited = false;
    let exitCode: number | null = null;
    let exitSignal: NodeJS.Signals | null = null;
    let killReason: KillReason | undefined;
    let groupGone = false;
    let sigkillAt = 0;
    let settled = false;
    let timeoutTimer: NodeJS.Timeout | undefined;
    let graceTimer: NodeJS.Timeout | undefined;
    let pollTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;

    const destroyStreams = (): void => {
      child.stdin.destroy();
      child.stdout.destroy();
      child.stderr.destroy();
    };

    const stderrTail = (): Buffer => {
      const all = stderrChunks.length === 1 ? (stderrChunks[0] as Buffer) : Buffer.concat(stderrChunks);
      return all.length > s.maxStderr ? all.subarray(all.length - s.maxStderr) : all;
    };

    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timeoutTimer);
      clearTimeout(graceTimer);
      clearInterval(pollTimer);
      clearTimeout(drainTimer);
      s.signal?.removeEventListener('abort', onAbort);
      const durationMs = performance.now() - started;
      const stdout =
        stdoutChunks.length === 1 ? (stdoutChunks[0] as Buffer) : Buffer.concat(stdoutChunks, stdoutLen);
      const stderrBuf = stderrTail();
      const stderr = stderrBuf.toString('utf8');
      if (killReason === undefined && exitCode === 0) {
        resolve({ stdout, stderr, exitCode: 0, durationMs });
        return;
      }
      const info = execInfo(pluginPath, s.command, exitCode, exitSignal, stdout, stderr, durationMs);
      const opts = { context: s.context };
      if (killReason === 'timeout') reject(new PluginTimeoutError(s.callTimeoutMs, info, opts));
      else if (killReason === 'abort') {
        reject(new PluginAbortedError(info, { ...opts, cause: s.signal?.reason }));
      } else if (killReason === 'overflow') {
        reject(
          new PluginError(
            0,
            `netplugin failed: output exceeded the limit of ${s.maxStdout} bytes`,
            undefined,
            info,
            opts,
          ),
        );
      } else reject(pluginFailure(stdout, stderrBuf, info, s.context));
    };

    // Kill path: finish once the plugin was reaped and its whole group is gone (or SIGKILL had
    // its chance), so that no grandchild outlives a timed-out call.
    const checkGroup = (): void => {
      if (
        !groupGone &&
        (pid === undefined ||
          !groupHasLiveMembers(pid) ||
          (sigkillAt > 0 && performance.now() - sigkillAt > AFTER_SIGKILL_WAIT_MS))
      ) {
        // The group can be found empty before Node reports the plugin's own exit (it is a zombie
        // until reaped); then the 'exit' handler gets here again and finishes.
        groupGone = true;
        clearInterval(pollTimer);
        clearTimeout(graceTimer);
      }
      if (groupGone && exited) {
        destroyStreams();
        finish();
      }
    };

    const forceKill = (): void => {
      if (pid !== undefined) signalGroup(pid, 'SIGKILL');
      sigkillAt = performance.now();
    };

    const startKill = (reason: KillReason): void => {
      if (killReason !== undefined || settled) return;
      // Once the plugin has exited its outcome stands; only runaway output still needs stopping.
      if (exited && reason !== 'overflow') return;
      killReason = reason;
      clearTimeout(timeoutTimer);
      clearTimeout(drainTimer);
      if (pid === undefined) return;
      signalGroup(pid, 'SIGTERM');
      if (s.killGraceMs > 0) graceTimer = setTimeout(forceKill, s.killGraceMs);
      else forceKill();
      pollTimer = setInterval(checkGroup, GROUP_POLL_MS);
      if (exited) checkGroup();
    };

    function onAbort(): void {
      startKill('abort');
    }

    child.on('error', (err: NodeJS.ErrnoException) => {
      // Before the process started (ENOENT, EACCES, EAGAIN): a spawn failure. Afterwards Node
      // only reports failed kill() calls here, which we do not make.
      if (pid !== undefined || settled) return;
      settled = true;
      clearTimeout(timeoutTimer);
      s.signal?.removeEventListener('abort', onAbort);
      destroyStreams();
      reject(spawnError(pluginPath, err, attempt, s));
    });

    child.stdin.on('error', ignoreStdinError);
    child.stdout.on('data', (chunk: Buffer) => {
      if (killReason === 'overflow') return;
      if (stdoutLen + chunk.length > s.maxStdout) {
        // Stop reading at once (never buffer unboundedly) and take the group down.
        child.stdout.destroy();
        startKill('overflow');
        return;
      }
      stdoutLen += chunk.length;
      stdoutChunks.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderrChunks.push(chunk);
      stderrLen += chunk.length;
      if (stderrLen > 2 * s.maxStderr && stderrChunks.length > 1) {
        // Keep memory bounded: fold into a copy of just the tail.
        const tail = Buffer.from(stderrTail());
        stderrChunks = [tail];
        stderrLen = tail.length;
      }
    });

    child.on('exit', (code, sig) => {
      exited = true;
      exitCode = code;
      exitSignal = sig;
      clearTimeout(timeoutTimer);
      if (killReason !== undefined) {
        checkGroup();
        return;
      }
      s.signal?.removeEventListener('abort', onAbort);
      drainTimer = setTimeout(() => {
        // The timers phase runs before the I/O poll of a loop turn: if this process was starved
        // for longer than the drain time (a loaded machine, many plugins at once), the plugin's
        // output is still unread in the pipe when the timer fires. setImmediate runs after the
        // next poll, which reads it. (Seen: a loopback ADD whose 393-byte result was in the
        // socket, 140 ms after exit, reported as "unexpected end of JSON input".)
        setImmediate(() => {
          destroyStreams();
          finish();
        });
      }, EXIT_DRAIN_MS);
    });
    child.on('close', () => {
      if (killReason === undefined) finish();
    });

    if (s.timeoutMs > 0) timeoutTimer = setTimeout(startKill, s.timeoutMs, 'timeout');
    s.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdin.end(stdin);
  });
}

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
export async function spawnPlugin(
  pluginPath: string,
  stdin: Uint8Array,
  env: Record<string, string>,
  options?: ExecOptions,
): Promise<ExecOutput> {
  const signal = options?.signal;
  const command = options?.command ?? env.CNI_COMMAND ?? '';
  const context = options?.context;
  const aborted = (): PluginAbortedError =>
    new PluginAbortedError(execInfo(pluginPath, command, null, null, undefined, '', 0), {
      cause: signal?.reason,
      context,
    });
  if (signal?.aborted) throw aborted();

  const startedAt = performance.now();
  const requested = options?.timeoutMs ?? 0;
  const timeoutMs = requested > 0 && requested <= MAX_TIMER_MS ? requested : 0;
  const settings: RunSettings = {
    command,
    signal,
    timeoutMs,
    callTimeoutMs: timeoutMs,
    killGraceMs: options?.killGraceMs ?? EXEC_DEFAULTS.killGraceMs,
    maxStdout: options?.maxStdoutBytes ?? EXEC_DEFAULTS.maxStdoutBytes,
    maxStderr: options?.maxStderrBytes ?? EXEC_DEFAULTS.maxStderrBytes,
    context,
  };
  const attempts = options?.busyRetry?.attempts ?? EXEC_DEFAULTS.busyAttempts;
  const first = await runOnceOrBusy(pluginPath, stdin, env, settings, 1, attempts > 1);
  if (first !== undefined) return first;

  // The slow path: the binary was busy (being written) or fork hit a limit. Retry with fresh spawns.
  const maxDelay = options?.busyRetry?.maxDelayMs ?? EXEC_DEFAULTS.busyMaxDelayMs;
  let delay = options?.busyRetry?.initialDelayMs ?? EXEC_DEFAULTS.busyInitialDelayMs;
  const deadline = timeoutMs > 0 ? startedAt + timeoutMs : Infinity;
  for (let attempt = 2; ; attempt++) {
    const remaining = deadline - performance.now();
    try {
      await sleep(Math.min(delay, remaining), undefined, { signal });
    } catch {
      throw aborted();
    }
    delay = Math.min(delay * 2, maxDelay);
    const left = deadline - performance.now();
    if (left <= 0) {
      throw new PluginTimeoutError(
        timeoutMs,
        execInfo(pluginPath, command, null, null, undefined, '', performance.now() - startedAt),
        { context },
      );
    }
    const run = { ...settings, timeoutMs: Number.isFinite(left) ? Math.max(1, Math.ceil(left)) : 0 };
    const out = await runOnceOrBusy(pluginPath, stdin, env, run, attempt, attempt < attempts);
    if (out !== undefined) return out;
  }
}

/**
 * {@link runOnce}, except that a retryable spawn failure resolves to `undefined` when `mayRetry`.
 * The wrapper keeps the common path to a single awaited promise.
 */
async function runOnceOrBusy(
  pluginPath: string,
  stdin: Uint8Array,
  env: Record<string, string>,
  s: RunSettings,
  attempt: number,
  mayRetry: boolean,
): Promise<ExecOutput | undefined> {
  try {
    return await runOnce(pluginPath, stdin, env, s, attempt);
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

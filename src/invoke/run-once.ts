/**
 * One spawn of a plugin, from `child_process.spawn` until it settles: stdin in, bounded output out,
 * the timeout and the abort signal enforced by killing the plugin's process group, and an outcome
 * that does not wait for a grandchild holding a pipe open (Node's 'close' alone would wait forever).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { type ErrorContext, PluginError, PluginSpawnError } from '../core/errors.ts';
import { goErrnoText } from '../go/process.ts';
import type { ExecOutput } from './exec-options.ts';
import { afterExitDrain, destroyPipes } from './exit-drain.ts';
import { GroupKill } from './group-kill.ts';
import { BoundedBuffer, TailBuffer } from './output-limits.ts';
import {
  execInfo,
  forkExecError,
  pluginFailure,
  type StopOptions,
  stoppedCallError,
} from './plugin-failure.ts';

/** Options resolved once per call. */
export interface RunSettings {
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
  /** Each stderr chunk as it arrives (see ExecOptions.onStderr). */
  onStderr?: ((chunk: Buffer) => void) | undefined;
}

type KillReason = 'timeout' | 'abort' | 'overflow';

export function spawnError(
  pluginPath: string,
  err: NodeJS.ErrnoException,
  attempts: number,
  s: RunSettings,
): PluginSpawnError {
  const errno = typeof err.code === 'string' ? err.code : undefined;
  const text = goErrnoText(errno) ?? err.message;
  const tries = attempts > 1 ? ` (gave up after ${attempts} attempts)` : '';
  return forkExecError(pluginPath, `${text}${tries}`, errno, attempts, s.command, {
    cause: err,
    context: s.context,
  });
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
export function runOnce(
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
    // Out of file descriptors (EMFILE, ENFILE) Node cannot even make the pipes: the child has no
    // streams and no pid, and the reason arrives as an 'error' event. That is a spawn failure of
    // this one call, never an exception that takes the embedding process down.
    if (hasNoPipes(child)) {
      child.once('error', (err: NodeJS.ErrnoException) => {
        reject(spawnError(pluginPath, err, attempt, s));
      });
      return;
    }
    new PluginRun(child, pluginPath, s, attempt, started, resolve, reject).begin(stdin);
  });
}

/** The streams' types say they always exist; after a failed pipe creation they do not. */
function hasNoPipes(child: ChildProcessWithoutNullStreams): boolean {
  const streams: ReadonlyArray<unknown> = [child.stdin, child.stdout, child.stderr];
  return streams.some((stream) => stream == null);
}

/** A spawned plugin until its outcome is known. */
class PluginRun {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #pluginPath: string;
  readonly #s: RunSettings;
  readonly #attempt: number;
  readonly #started: number;
  readonly #resolve: (out: ExecOutput) => void;
  readonly #reject: (err: Error) => void;
  readonly #stdout: BoundedBuffer;
  readonly #stderr: TailBuffer;
  /** The kill of its process group; undefined when it has no pid (it did not start). */
  readonly #kill: GroupKill | undefined;
  #exited = false;
  #exitCode: number | null = null;
  #exitSignal: NodeJS.Signals | null = null;
  #killReason: KillReason | undefined;
  #settled = false;
  #timeoutTimer: NodeJS.Timeout | undefined;
  #drainTimer: NodeJS.Timeout | undefined;

  constructor(
    child: ChildProcessWithoutNullStreams,
    pluginPath: string,
    s: RunSettings,
    attempt: number,
    started: number,
    resolve: (out: ExecOutput) => void,
    reject: (err: Error) => void,
  ) {
    this.#child = child;
    this.#pluginPath = pluginPath;
    this.#s = s;
    this.#attempt = attempt;
    this.#started = started;
    this.#resolve = resolve;
    this.#reject = reject;
    this.#stdout = new BoundedBuffer(s.maxStdout);
    this.#stderr = new TailBuffer(s.maxStderr);
    const pid = child.pid;
    this.#kill = pid === undefined ? undefined : new GroupKill(pid, s.killGraceMs, this.#checkGroup);
  }

  /** Listen to the process, arm the timeout and the signal, and write its stdin. */
  begin(stdin: Uint8Array): void {
    const child = this.#child;
    child.on('error', this.#onError);
    child.stdin.on('error', ignoreStdinError);
    child.stdout.on('data', this.#onStdout);
    child.stderr.on('data', (chunk: Buffer) => {
      this.#stderr.push(chunk);
      this.#forwardStderr(chunk);
    });
    child.on('exit', this.#onExit);
    child.on('close', () => {
      if (this.#killReason === undefined) this.#finish();
    });
    if (this.#s.timeoutMs > 0) {
      this.#timeoutTimer = setTimeout(this.#startKill, this.#s.timeoutMs, 'timeout');
    }
    this.#s.signal?.addEventListener('abort', this.#onAbort, { once: true });
    child.stdin.end(stdin);
  }

  #forwardStderr(chunk: Buffer): void {
    const listener = this.#s.onStderr;
    if (listener === undefined) return;
    try {
      listener(chunk);
    } catch {
      // A listener's failure must not fail the plugin call.
    }
  }

  readonly #onError = (err: NodeJS.ErrnoException): void => {
    // Before the process started (ENOENT, EACCES, EAGAIN): a spawn failure. Afterwards Node
    // only reports failed kill() calls here, which we do not make.
    if (this.#child.pid !== undefined || this.#settled) return;
    this.#settled = true;
    clearTimeout(this.#timeoutTimer);
    this.#s.signal?.removeEventListener('abort', this.#onAbort);
    destroyPipes(this.#child);
    this.#reject(spawnError(this.#pluginPath, err, this.#attempt, this.#s));
  };

  readonly #onStdout = (chunk: Buffer): void => {
    if (this.#killReason === 'overflow') return;
    if (!this.#stdout.push(chunk)) {
      // Stop reading at once (never buffer unboundedly) and take the group down.
      this.#child.stdout.destroy();
      this.#startKill('overflow');
    }
  };

  readonly #onExit = (code: number | null, sig: NodeJS.Signals | null): void => {
    this.#exited = true;
    this.#exitCode = code;
    this.#exitSignal = sig;
    clearTimeout(this.#timeoutTimer);
    if (this.#killReason !== undefined) {
      this.#checkGroup();
      return;
    }
    this.#s.signal?.removeEventListener('abort', this.#onAbort);
    this.#drainTimer = afterExitDrain(() => {
      destroyPipes(this.#child);
      this.#finish();
    });
  };

  readonly #onAbort = (): void => {
    this.#startKill('abort');
  };

  readonly #startKill = (reason: KillReason): void => {
    if (this.#killReason !== undefined || this.#settled) return;
    // Once the plugin has exited its outcome stands; only runaway output still needs stopping.
    if (this.#exited && reason !== 'overflow') return;
    this.#killReason = reason;
    clearTimeout(this.#timeoutTimer);
    clearTimeout(this.#drainTimer);
    if (this.#kill === undefined) return;
    this.#kill.start();
    if (this.#exited) this.#checkGroup();
  };

  /**
   * Kill path: finish once the plugin was reaped and its whole group is gone (or SIGKILL had its
   * chance), so that no grandchild outlives a timed-out call.
   */
  readonly #checkGroup = (): void => {
    const groupGone = this.#kill === undefined || this.#kill.isGone();
    if (groupGone && this.#exited) {
      destroyPipes(this.#child);
      this.#finish();
    }
  };

  #finish(): void {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.#timeoutTimer);
    this.#kill?.stop();
    clearTimeout(this.#drainTimer);
    const s = this.#s;
    s.signal?.removeEventListener('abort', this.#onAbort);
    const durationMs = performance.now() - this.#started;
    const stdout = this.#stdout.all();
    const stderrBuf = this.#stderr.tail();
    const stderr = stderrBuf.toString('utf8');
    if (this.#killReason === undefined && this.#exitCode === 0) {
      this.#resolve({ stdout, stderr, exitCode: 0, durationMs });
      return;
    }
    const info = execInfo(
      this.#pluginPath,
      s.command,
      this.#exitCode,
      this.#exitSignal,
      stdout,
      stderr,
      durationMs,
    );
    if (this.#killReason === 'overflow') {
      const msg = `netplugin failed: output exceeded the limit of ${s.maxStdout} bytes`;
      this.#reject(new PluginError(0, msg, undefined, info, { context: s.context }));
    } else if (this.#killReason !== undefined) {
      const opts: StopOptions = { abortReason: s.signal?.reason, context: s.context };
      this.#reject(stoppedCallError(this.#killReason, s.callTimeoutMs, info, opts));
    } else this.#reject(pluginFailure(stdout, stderrBuf, info, s.context));
  }
}

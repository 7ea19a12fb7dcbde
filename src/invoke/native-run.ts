/**
 * One attempt at a plugin call through one of NativeExec's native back ends (its addon or its
 * helper process; native-protocol.ts): the request out, its replies in, and
 * the same guarantees as run-once.ts with child_process: the timeout and the abort signal kill the
 * plugin's process group (SIGTERM, SIGKILL after the grace; group-kill.ts, from here, since the
 * plugin leads its own group), stdout over its limit fails the call and kills the group, stderr
 * keeps its tail (the back end bounds both), and the errors are built by the same functions
 * (plugin-failure.ts), so they match DefaultExec's field for field.
 *
 * If the helper dies under the call, the call fails with a {@link PluginError} whose cause is the
 * {@link SpawnerError} (or with the timeout/abort error, if that came first), and the plugin's
 * process group is killed; it is never rerun. If the helper never came up, nothing ran, and the
 * call is handed to `fallback`.
 */
import { performance } from 'node:perf_hooks';
import { getSystemErrorName } from 'node:util';
import { constants } from 'node:os';
import { PluginError } from '../core/errors.ts';
import type { SpawnerError } from '../core/runtime-errors.ts';
import type { RunOnce } from './busy-retry.ts';
import type { ExecOutput } from './exec-options.ts';
import { AFTER_SIGKILL_WAIT_MS, GroupKill } from './group-kill.ts';
import {
  decodeWaitStatus,
  type NativeBackend,
  type NativeCallSink,
  type NativeReply,
} from './native-protocol.ts';
import { execInfo, pluginFailure, type StopOptions, stoppedCallError } from './plugin-failure.ts';
import { signalGroup } from './process-group.ts';
import { type RunSettings, spawnError } from './run-once.ts';

type KillReason = 'timeout' | 'abort' | 'overflow';

const SIGNAL_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(constants.signals).map(([name, n]) => [n, name]),
);

/** The error Node's spawn raises for `errno`, so that spawnError reads it the same way. */
function spawnErrno(pluginPath: string, errno: number): NodeJS.ErrnoException {
  const code = getSystemErrorName(-errno);
  return Object.assign(new Error(`spawn ${pluginPath} ${code}`), {
    errno: -errno,
    code,
    syscall: `spawn ${pluginPath}`,
    path: pluginPath,
  });
}

/** What one attempt needs besides the plugin's inputs. */
export interface NativeAttempt {
  helper: NativeBackend;
  /** Runs the attempt another way when the back end never came up. */
  fallback: RunOnce;
}

/** {@link RunOnce} through `attempt()`'s helper. */
export function nativeRunOnce(attempt: () => NativeAttempt | RunOnce): RunOnce {
  return (pluginPath, stdin, env, s, n) => {
    const a = attempt();
    if (typeof a === 'function') return a(pluginPath, stdin, env, s, n);
    return new Promise<ExecOutput>((resolve, reject) => {
      const run = new NativeRun(a, pluginPath, s, n, resolve, reject);
      run.begin(stdin, env);
    });
  };
}

/** One attempt, from the request until it settles. */
class NativeRun implements NativeCallSink {
  readonly #a: NativeAttempt;
  readonly #pluginPath: string;
  readonly #s: RunSettings;
  readonly #attempt: number;
  readonly #started = performance.now();
  readonly #resolve: (out: ExecOutput) => void;
  readonly #reject: (err: Error) => void;
  #id = 0;
  #stdin: Uint8Array = Buffer.alloc(0);
  #env: Record<string, string> = {};
  #kill: GroupKill | undefined;
  #pid = 0;
  #exit: { code: number | null; signal: string | null; stdout: Buffer; stderr: Buffer } | undefined;
  #killReason: KillReason | undefined;
  #settled = false;
  #timer: NodeJS.Timeout | undefined;
  #wedgeTimer: NodeJS.Timeout | undefined;

  constructor(
    a: NativeAttempt,
    pluginPath: string,
    s: RunSettings,
    attempt: number,
    resolve: (out: ExecOutput) => void,
    reject: (err: Error) => void,
  ) {
    this.#a = a;
    this.#pluginPath = pluginPath;
    this.#s = s;
    this.#attempt = attempt;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  begin(stdin: Uint8Array, env: Record<string, string>): void {
    this.#stdin = stdin;
    this.#env = env;
    const s = this.#s;
    this.#id = this.#a.helper.send(
      {
        pluginPath: this.#pluginPath,
        dir: process.cwd(),
        env,
        stdin,
        maxStdout: s.maxStdout,
        maxStderr: s.maxStderr,
      },
      this,
    );
    if (s.timeoutMs > 0) this.#timer = setTimeout(this.#startKill, s.timeoutMs, 'timeout');
    s.signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  onReply(reply: Exclude<NativeReply, { type: 'ready' }>): void {
    if (this.#settled) return;
    switch (reply.type) {
      case 'started':
        this.#pid = reply.pid;
        this.#kill = new GroupKill(reply.pid, this.#s.killGraceMs, this.#checkGroup);
        if (this.#killReason !== undefined) this.#kill.start();
        return;
      case 'failed':
        if (this.#killReason !== undefined) this.#finish();
        else
          this.#settle(
            spawnError(this.#pluginPath, spawnErrno(this.#pluginPath, reply.errno), this.#attempt, this.#s),
          );
        return;
      case 'overflow':
        this.#startKill('overflow');
        return;
      case 'done': {
        const { code, signal } = decodeWaitStatus(reply.status, SIGNAL_NAMES);
        this.#exit = { code, signal, stdout: reply.stdout, stderr: reply.stderr };
        clearTimeout(this.#timer);
        if (this.#killReason === undefined) this.#finish();
        else this.#checkGroup();
      }
    }
  }

  onHelperGone(cause: SpawnerError, started: boolean): void {
    if (this.#settled) return;
    if (!started) {
      // Nothing ran: the helper said READY before reading any request. Run it the other way,
      // within what is left of the deadline.
      this.#cleanup();
      this.#settled = true;
      const s = this.#s;
      const left =
        s.timeoutMs > 0 ? Math.max(1, Math.ceil(s.timeoutMs - (performance.now() - this.#started))) : 0;
      this.#a
        .fallback(this.#pluginPath, this.#stdin, this.#env, { ...s, timeoutMs: left }, this.#attempt)
        .then(this.#resolve, this.#reject);
      return;
    }
    if (this.#pid > 0) signalGroup(this.#pid, 'SIGKILL');
    const info = execInfo(
      this.#pluginPath,
      this.#s.command,
      null,
      this.#pid > 0 ? 'SIGKILL' : null,
      undefined,
      '',
      performance.now() - this.#started,
    );
    if (this.#killReason === 'timeout' || this.#killReason === 'abort') {
      const opts: StopOptions = { abortReason: this.#s.signal?.reason, cause, context: this.#s.context };
      this.#settle(stoppedCallError(this.#killReason, this.#s.callTimeoutMs, info, opts));
      return;
    }
    const what = this.#pid > 0 ? ', and its process group was killed' : '';
    const msg = `netplugin failed with no error message: ${cause.message}; the plugin may have run${what}`;
    this.#settle(new PluginError(0, msg, undefined, info, { cause, context: this.#s.context }));
  }

  readonly #onAbort = (): void => {
    this.#startKill('abort');
  };

  readonly #startKill = (reason: KillReason): void => {
    if (this.#killReason !== undefined || this.#settled) return;
    // Once the plugin has exited its outcome stands.
    if (this.#exit !== undefined) return;
    this.#killReason = reason;
    clearTimeout(this.#timer);
    this.#kill?.start(); // else: when its pid arrives
  };

  /**
   * Kill path: finish once the helper reported the plugin reaped and its whole group is gone (or
   * SIGKILL had its chance). A group gone with no report from the helper means the helper is
   * stopped or wedged: it gets as long again, then it is killed and the call fails through
   * onHelperGone.
   */
  readonly #checkGroup = (): void => {
    if (this.#kill?.isGone() !== true) return;
    if (this.#exit !== undefined) {
      this.#finish();
      return;
    }
    this.#wedgeTimer ??= setTimeout(() => {
      this.#a.helper.stuck(this.#id, 'did not report a killed plugin');
    }, AFTER_SIGKILL_WAIT_MS);
  };

  #cleanup(): void {
    clearTimeout(this.#timer);
    clearTimeout(this.#wedgeTimer);
    this.#kill?.stop();
    this.#s.signal?.removeEventListener('abort', this.#onAbort);
    this.#a.helper.forget(this.#id);
  }

  #settle(err: Error | undefined, out?: ExecOutput): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#cleanup();
    if (err !== undefined) this.#reject(err);
    else this.#resolve(out as ExecOutput);
  }

  #finish(): void {
    const s = this.#s;
    const durationMs = performance.now() - this.#started;
    const x = this.#exit ?? { code: null, signal: null, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };
    const stderr = x.stderr.toString('utf8');
    if (this.#killReason === undefined && x.code === 0) {
      this.#settle(undefined, { stdout: x.stdout, stderr, exitCode: 0, durationMs });
      return;
    }
    const info = execInfo(this.#pluginPath, s.command, x.code, x.signal, x.stdout, stderr, durationMs);
    if (this.#killReason === 'overflow') {
      const msg = `netplugin failed: output exceeded the limit of ${s.maxStdout} bytes`;
      this.#settle(new PluginError(0, msg, undefined, info, { context: s.context }));
    } else if (this.#killReason !== undefined) {
      const opts: StopOptions = { abortReason: s.signal?.reason, context: s.context };
      this.#settle(stoppedCallError(this.#killReason, s.callTimeoutMs, info, opts));
    } else this.#settle(pluginFailure(x.stdout, x.stderr, info, s.context));
  }
}

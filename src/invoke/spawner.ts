/**
 * SpawnerExec: the {@link Exec} for processes with a large heap. Node spawns by fork(), and the
 * kernel copies the caller's page tables on every fork: about 30 ms per GiB of RSS (BENCHMARKS.md,
 * "Spawner mode": +31 ms per call at 1 GiB, +115 ms at 4 GiB), so a large runtime pays that on every
 * plugin call with {@link DefaultExec}. SpawnerExec hands each call to a small long-lived Node helper
 * (spawner-child.ts) that spawns the plugin with the same {@link spawnPlugin} code, so a call costs
 * what it costs a small process, plus a message each way.
 *
 * Lifecycle: the helper starts on the first call, is restarted on the next call after it died, and
 * is stopped by {@link SpawnerExec.close}. It never keeps the parent alive while idle.
 *
 * When the helper dies with calls in flight, no plugin is ever run twice. The helper records each
 * call in a start-record file (spawner-protocol.ts, start-record.ts) before it spawns the plugin, and
 * the pid right after; the parent reads that file once the helper is gone (spawner-orphans.ts):
 * - a call with no record never started: it is handed to a new helper, at most `maxRequeue` times;
 * - a call with a record may have run, or be running: the process group of its plugin is killed
 *   (as on a timeout) and the call fails with a {@link PluginError} whose `cause` is a
 *   {@link SpawnerError}. Retrying is the caller's decision (after a failed ADD the usual answer is
 *   a DEL, as after any failed ADD).
 *
 * Deadlines do not depend on the helper. `timeoutMs` and `signal` are enforced in the helper, by
 * spawnPlugin, as with DefaultExec, and also here: when a call's deadline passes or its signal
 * fires, the helper is pinged (spawner-watchdog.ts). A helper that does not answer within
 * {@link HELPER_GRACE_MS} (1 s) is stopped or wedged: it is killed (SIGKILL), every call it held is
 * handled as above for a helper death, the expired call fails with {@link PluginTimeoutError} or
 * {@link PluginAbortedError}, and the next call starts a new helper. A helper that answers pings
 * keeps killing the plugin itself, which takes up to `killGraceMs` + 1 s as with DefaultExec; if
 * it has not reported the call 1 s after that, it is killed the same way. The process groups of
 * its plugins are killed from here: those in the start record, and the helper's children, listed
 * while it is stopped just before the kill (a plugin whose pid had not reached the record yet).
 * So a stopped or wedged helper makes a call settle within its deadline + 1 s, plus what the
 * kernel takes to end the processes (bounded waits, at most 1 s each for the helper and the groups).
 *
 * The helper process itself (start, pipes, kill) is helper-process.ts; the call and helper records
 * are spawner-state.ts; how calls end, spawner-calls.ts.
 */
import { performance } from 'node:perf_hooks';
import { type ErrorContext } from '../core/errors.ts';
import { SpawnerError } from '../core/runtime-errors.ts';
import { commandOf, effectiveTimeoutMs, type ExecOptions, type ExecOutput } from './exec-options.ts';
import { type Exec, reportStderr } from './exec.ts';
import { findInPath } from './find.ts';
import {
  clearPing,
  defaultExecArgv,
  defaultHelperPath,
  type HelperCommand,
  refHelper,
  startHelper,
  unrefHelper,
} from './helper-process.ts';
import { type StopOptions, stoppedCallError } from './plugin-failure.ts';
import { callExecInfo, expiredError, notStarted, settleFromReply } from './spawner-calls.ts';
import { handOnCalls, type HelperOwner } from './spawner-orphans.ts';
import { encodeFrame, type Reply } from './spawner-protocol.ts';
import { type Call, type Helper, usable } from './spawner-state.ts';
import { expireCall } from './spawner-watchdog.ts';

export { HELPER_GRACE_MS } from './spawner-watchdog.ts';

/** Options of {@link SpawnerExec}. */
export interface SpawnerExecOptions {
  /** As DefaultExec's `onStderr`: a successful plugin's stderr, when it wrote any. */
  onStderr?: ((pluginPath: string, text: string) => void) | undefined;
  /**
   * Called whenever a helper process ends (crash, kill, or {@link SpawnerExec.close}), for logs.
   * Exceptions thrown here are ignored.
   */
  onHelperExit?: ((info: SpawnerHelperExit) => void) | undefined;
  /** The Node executable for the helper. Default `process.execPath`. */
  nodePath?: string | undefined;
  /**
   * The helper script. Default: `spawner-child.js` beside this module (`spawner-child.ts` when
   * running from TypeScript source). A `.ts` helper is run with this process's
   * `--import`/`--require`/`--loader` flags.
   */
  helperPath?: string | undefined;
  /**
   * Node flags for the helper. Default `['--max-old-space-size=64', '--max-semi-space-size=1']`,
   * plus the loader flags above for a `.ts` helper. The helper must stay small: its own size is
   * what each spawn pays.
   */
  execArgv?: readonly string[] | undefined;
  /**
   * How many times a call that certainly never started (no start record) is handed to a restarted
   * helper after its helper died. Default 2.
   */
  maxRequeue?: number | undefined;
}

/** How a helper process ended (see {@link SpawnerExecOptions.onHelperExit}). */
export interface SpawnerHelperExit {
  pid: number | undefined;
  exitCode: number | null;
  signal: string | null;
  /** The end of its stderr. */
  stderr: string;
  /** Calls that were in flight and failed or were handed to the next helper. */
  callsInFlight: number;
  /** True when it ended because {@link SpawnerExec.close} asked it to. */
  closed: boolean;
}

const DEFAULT_MAX_REQUEUE = 2;

/** Runs plugins through a small long-lived helper process; see the module comment. */
export class SpawnerExec implements Exec {
  readonly #onStderr: ((pluginPath: string, text: string) => void) | undefined;
  readonly #onHelperExit: ((info: SpawnerHelperExit) => void) | undefined;
  readonly #command: HelperCommand;
  /** What spawner-orphans.ts needs to hand a dead helper's calls on. */
  readonly #owner: HelperOwner;
  #helper: Helper | undefined;
  #nextId = 1;
  /** Calls not yet settled, on any helper or none. */
  #busy = 0;
  #closed = false;

  constructor(options?: SpawnerExecOptions) {
    this.#onStderr = options?.onStderr;
    this.#onHelperExit = options?.onHelperExit;
    const helperPath = options?.helperPath ?? defaultHelperPath();
    this.#command = {
      nodePath: options?.nodePath ?? process.execPath,
      helperPath,
      execArgv: options?.execArgv ?? defaultExecArgv(helperPath),
    };
    const getClosed = (): boolean => this.#closed;
    this.#owner = {
      get closed(): boolean {
        return getClosed();
      },
      maxRequeue: options?.maxRequeue ?? DEFAULT_MAX_REQUEUE,
      settle: this.#settle,
      dispatch: this.#dispatch,
      reportExit: (h, exitCode, signal, stderr, calls) => {
        this.#onHelperExit?.({
          pid: h.pid,
          exitCode,
          signal,
          stderr,
          callsInFlight: calls,
          closed: this.#closed,
        });
      },
    };
  }

  /**
   * The pid of the running helper, or undefined when none runs (not started yet, died, closed, or
   * being killed for not answering).
   */
  get helperPid(): number | undefined {
    const h = this.#helper;
    return usable(h) ? h.pid : undefined;
  }

  execPlugin(
    pluginPath: string,
    stdin: Uint8Array,
    env: Record<string, string>,
    options?: ExecOptions,
  ): Promise<ExecOutput> {
    const { signal, onStderr: _notStreamed, ...wire } = options ?? {};
    const context = options?.context;
    const timeoutMs = effectiveTimeoutMs(options);
    return new Promise<ExecOutput>((resolve, reject) => {
      const call: Call = {
        id: this.#nextId++,
        pluginPath,
        stdin,
        env,
        wire,
        command: commandOf(options, env),
        context,
        signal,
        timeoutMs,
        startedAt: performance.now(),
        resolve,
        reject,
        onAbort: () => {
          expireCall(call, 'abort', this.#settle);
        },
        helper: undefined,
        requeues: 0,
        settled: false,
        expired: undefined,
        timer: undefined,
      };
      // Same as spawnPlugin: an aborted signal never spawns, and a closed spawner never starts a helper.
      if (signal?.aborted) {
        const opts: StopOptions = { abortReason: signal.reason, context };
        reject(stoppedCallError('abort', timeoutMs, callExecInfo(call, null), opts));
        return;
      }
      if (this.#closed) {
        reject(notStarted(call, 'spawner helper is closed', undefined));
        return;
      }
      this.#begin(call);
    }).then((out) => {
      reportStderr(this.#onStderr, pluginPath, out.stderr);
      return out;
    });
  }

  findInPath(type: string, paths: readonly string[], context?: ErrorContext): Promise<string> {
    return findInPath(type, paths, context);
  }

  /**
   * Stop the helper: calls already made finish (the helper exits once they are answered); calls
   * made afterwards fail with a {@link PluginSpawnError}. Resolves when the helper has exited.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const h = this.#helper;
    if (h === undefined || h.gone) return;
    this.#ref(); // let a caller that awaits close() see it finish
    h.child.stdin.end();
    await h.exited;
  }

  // ---- internals ---------------------------------------------------------------------------

  /** A new call is in flight: send it, and arm its deadline. */
  #begin(call: Call): void {
    this.#busy++;
    this.#ref();
    call.signal?.addEventListener('abort', call.onAbort, { once: true });
    this.#dispatch(call);
    if (call.timeoutMs > 0 && !call.settled) {
      call.timer = setTimeout(() => {
        expireCall(call, 'timeout', this.#settle);
      }, call.timeoutMs);
    }
  }

  readonly #dispatch = (call: Call): void => {
    let o = call.wire;
    if (call.requeues > 0 && call.timeoutMs > 0) {
      // Handed to a new helper: the deadline stays where it was.
      const left = call.startedAt + call.timeoutMs - performance.now();
      if (left <= 0) {
        this.#settle(call, undefined, expiredError(call, 'timeout', null, undefined));
        return;
      }
      o = { ...o, timeoutMs: Math.ceil(left) };
    }
    let h: Helper;
    try {
      h = usable(this.#helper) ? this.#helper : this.#start();
    } catch (err) {
      const info = { pid: undefined, exitCode: null, signal: null, stderr: '' };
      const cause = new SpawnerError(`cannot start the spawner helper: ${(err as Error).message}`, info, {
        cause: err,
      });
      this.#settle(call, undefined, notStarted(call, cause.message, cause));
      return;
    }
    call.helper = h;
    h.calls.set(call.id, call);
    h.child.stdin.write(
      encodeFrame({ t: 'run', id: call.id, path: call.pluginPath, env: call.env, o }, call.stdin),
    );
  };

  readonly #settle = (call: Call, out: ExecOutput | undefined, err: Error | undefined): void => {
    if (call.settled) return;
    call.settled = true;
    clearTimeout(call.timer);
    call.helper?.calls.delete(call.id);
    call.signal?.removeEventListener('abort', call.onAbort);
    if (--this.#busy === 0) this.#unref();
    if (err !== undefined) call.reject(err);
    else call.resolve(out as ExecOutput);
  };

  #ref(): void {
    const h = this.#helper;
    if (h === undefined || h.gone) return;
    refHelper(h);
  }

  #unref(): void {
    const h = this.#helper;
    if (h === undefined || h.gone || this.#closed) return;
    unrefHelper(h);
  }

  #start(): Helper {
    const h = startHelper(
      this.#command,
      { onReply: this.#onReply, onGone: this.#onHelperGone },
      this.#busy > 0,
    );
    this.#helper = h;
    return h;
  }

  readonly #onReply = (h: Helper, reply: Reply, body: Buffer): void => {
    if (reply.t === 'pong') {
      if (h.ping?.n === reply.n) clearPing(h);
      return;
    }
    const call = h.calls.get(reply.id);
    if (call !== undefined) settleFromReply(call, reply, body, this.#settle);
  };

  readonly #onHelperGone = (
    h: Helper,
    exitCode: number | null,
    signal: NodeJS.Signals | null,
  ): Promise<void> => {
    if (this.#helper === h) this.#helper = undefined;
    return handOnCalls(h, exitCode, signal, this.#owner);
  };
}

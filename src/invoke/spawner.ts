/**
 * SpawnerExec: the {@link Exec} for processes with a large heap. Node spawns by fork(), and the
 * kernel copies the caller's page tables on every fork: ~29 ms per GiB of RSS on our reference VM
 * (node-measurements §3.3), so a runtime holding 4 GiB pays ~120 ms per plugin call with
 * {@link DefaultExec}. SpawnerExec hands each call to a small long-lived Node helper
 * (spawner-child.ts) that spawns the plugin with the same {@link spawnPlugin} code, so a call costs
 * what it costs a small process, plus a message each way.
 *
 * Lifecycle: the helper starts on the first call, is restarted on the next call after it died, and
 * is stopped by {@link SpawnerExec.close}. It never keeps the parent alive while idle.
 *
 * When the helper dies with calls in flight, no plugin is ever run twice. The helper records each
 * call in a start-record file (spawner-protocol.ts) before it spawns the plugin, and the pid right
 * after; the parent reads that file once the helper is gone:
 * - a call with no record never started: it is handed to a new helper, at most `maxRequeue` times;
 * - a call with a record may have run, or be running: the process group of its plugin is killed
 *   (as on a timeout) and the call fails with a {@link PluginError} whose `cause` is a
 *   {@link SpawnerError}. Retrying is the caller's decision (after a failed ADD the usual answer is
 *   a DEL, as after any failed ADD).
 *
 * Deadlines do not depend on the helper. `timeoutMs` and `signal` are enforced in the helper, by
 * spawnPlugin, as with DefaultExec, and also here: when a call's deadline passes or its signal
 * fires, the helper is pinged (spawner-protocol.ts). A helper that does not answer within
 * {@link HELPER_GRACE_MS} (1 s) is stopped or wedged: it is killed (SIGKILL), every call it held is
 * handled as above for a helper death, the expired call fails with {@link PluginTimeoutError} or
 * {@link PluginAbortedError}, and the next call starts a new helper. A helper that answers pings
 * keeps killing the plugin itself, which takes up to `killGraceMs` + 1 s as with DefaultExec; if
 * it has not reported the call 1 s after that, it is killed the same way. The process groups of
 * its plugins are killed from here: those in the start record, and the helper's children, listed
 * while it is stopped just before the kill (a plugin whose pid had not reached the record yet).
 * So a stopped or wedged helper makes a call settle within its deadline + 1 s, plus what the
 * kernel takes to end the processes (bounded waits, at most 1 s each for the helper and the groups).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import {
  type ErrorContext,
  PluginAbortedError,
  PluginError,
  type PluginExecInfo,
  PluginSpawnError,
  PluginTimeoutError,
  SpawnerError,
} from '../core/errors.ts';
import { type Exec, reportStderr } from './exec.ts';
import { findInPath } from './find.ts';
import { childPids, groupHasLiveMembers, signalGroup } from './process-group.ts';
import {
  AFTER_SIGKILL_WAIT_MS,
  EXEC_DEFAULTS,
  type ExecOptions,
  type ExecOutput,
  MAX_TIMER_MS,
} from './spawn-plugin.ts';
import {
  decodeSlots,
  encodeFrame,
  FrameReader,
  type Reply,
  type WireError,
  type WireExecOptions,
} from './spawner-protocol.ts';

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

/**
 * The helper holds only a few requests' buffers at a time. A small young generation keeps the page
 * tables that every fork copies small too (VmPTE 916 → 648 kB, measured).
 */
const DEFAULT_EXEC_ARGV = ['--max-old-space-size=64', '--max-semi-space-size=1'] as const;
const DEFAULT_MAX_REQUEUE = 2;
/** Keep this much of the helper's stderr for error messages. */
const STDERR_TAIL_BYTES = 4096;
/** While killing orphaned plugins, how often to check whether their groups are gone, and for how long. */
const GROUP_POLL_MS = 25;
const GROUP_WAIT_MS = 1000;
/** Bodies smaller than this are copied out of the read chunk, so a small result never pins 64 KiB. */
const COPY_BODY_BELOW = 64 * 1024;
/**
 * After a call's deadline or abort, how long the helper has to answer a ping before it is taken for
 * stopped or wedged and killed; also what a live helper gets beyond its own kill of the plugin.
 */
export const HELPER_GRACE_MS = 1000;
/** After we SIGKILLed the helper, how long its calls wait for the kernel to report it gone. */
const HELPER_EXIT_WAIT_MS = 1000;
/** After the helper exited, how long to wait for EOF on its pipes (as spawnPlugin does for plugins). */
const PIPE_DRAIN_MS = 100;

/** Flags that make Node load code before the entry point (tsx, ts-node, ...), with their value. */
const LOADER_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);

/** The loader flags of this process, so that a helper started from TypeScript source can load it. */
function loaderFlags(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i] as string;
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg : arg.slice(0, eq);
    if (!LOADER_FLAGS.has(name)) continue;
    if (eq >= 0) out.push(arg);
    else if (i + 1 < execArgv.length) out.push(arg, execArgv[++i] as string);
  }
  return out;
}

/**
 * The helper script: built, dist/invoke/spawner-child.js beside this module; from TypeScript
 * source (tsx, tests), src/invoke/spawner-child.ts.
 */
function defaultHelperPath(): string {
  const fromSource = import.meta.url.endsWith('.ts');
  return fileURLToPath(new URL(fromSource ? './spawner-child.ts' : './spawner-child.js', import.meta.url));
}

/** A TypeScript helper needs this process's loader (tsx, ...) too; a JavaScript one needs nothing. */
function defaultExecArgv(helperPath: string): string[] {
  const ts = /\.[cm]?ts$/.test(helperPath);
  return [...DEFAULT_EXEC_ARGV, ...(ts ? loaderFlags(process.execArgv) : [])];
}

/** The helper's pipes are sockets (Node makes socketpairs), whatever the stream types say. */
function socket(stream: NodeJS.ReadableStream | NodeJS.WritableStream): Socket {
  return stream as unknown as Socket;
}

/**
 * A fresh, already unlinked file for the helper's start record (passed as its fd 3): nothing to
 * clean up whatever happens to either process.
 */
function openStartRecord(): number {
  const file = path.join(os.tmpdir(), `.libcni-spawner-${process.pid}-${randomBytes(6).toString('hex')}`);
  const fd = openSync(file, 'wx+', 0o600);
  try {
    unlinkSync(file);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}

/**
 * What the dead helper's start record says (id → pid, 0 when unknown), and close it. `undefined`
 * when it cannot be read: then every call in flight must be taken as started.
 */
function readStartRecord(fd: number): Map<number, number> | undefined {
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(size);
    let at = 0;
    while (at < size) {
      const n = readSync(fd, buf, at, size - at, at);
      if (n === 0) break;
      at += n;
    }
    return decodeSlots(buf.subarray(0, at));
  } catch {
    return undefined;
  } finally {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
}

/** One plugin call, from execPlugin until it settles. */
interface Call {
  readonly id: number;
  readonly pluginPath: string;
  readonly stdin: Uint8Array;
  readonly env: Record<string, string>;
  readonly wire: WireExecOptions;
  readonly command: string;
  readonly context: ErrorContext | undefined;
  readonly signal: AbortSignal | undefined;
  /** The call's timeout as spawnPlugin reads it (0: none). */
  readonly timeoutMs: number;
  readonly startedAt: number;
  readonly resolve: (out: ExecOutput) => void;
  readonly reject: (err: Error) => void;
  readonly onAbort: () => void;
  /** The helper it was given to; undefined while waiting for a new one. */
  helper: Helper | undefined;
  requeues: number;
  settled: boolean;
  /** Why we stopped waiting for its plugin: what passed first, its deadline or its signal. */
  expired: 'timeout' | 'abort' | undefined;
  /** Its deadline; once expired, how long the helper has left to report it. */
  timer: NodeJS.Timeout | undefined;
}

/** One helper process and the calls it holds. */
interface Helper {
  readonly child: ChildProcessWithoutNullStreams;
  readonly pid: number | undefined;
  readonly calls: Map<number, Call>;
  /** Our descriptor of the start-record file (already unlinked). */
  readonly startRecord: number;
  stderrTail: Buffer;
  /** Why the parent gave up on it (a protocol error), if it did. */
  brokenBecause: string | undefined;
  /** Why the parent killed it for not answering, if it did. */
  killedBecause: string | undefined;
  /** Its children when it was killed: their process groups are killed with the recorded ones. */
  children: number[];
  /** Pings sent, and the one not answered yet. */
  pings: number;
  ping: { n: number; timer: NodeJS.Timeout } | undefined;
  /** Goes on without waiting for the kernel once it was killed (see HELPER_EXIT_WAIT_MS). */
  killTimer: NodeJS.Timeout | undefined;
  /** Hands its calls on (#onHelperGone), once: on 'close', or sooner if that does not come. */
  end: (exitCode: number | null, signal: NodeJS.Signals | null) => void;
  gone: boolean;
  /** Resolves when the process has exited and its pipes are closed. */
  readonly exited: Promise<void>;
}

/** Whether new calls may be given to `h`. */
function usable(h: Helper | undefined): h is Helper {
  return h !== undefined && !h.gone && h.brokenBecause === undefined && h.killedBecause === undefined;
}

function execInfo(call: Call, signal: string | null): PluginExecInfo {
  return {
    pluginPath: call.pluginPath,
    command: call.command,
    exitCode: null,
    signal,
    stderr: '',
    stdout: '',
    durationMs: performance.now() - call.startedAt,
  };
}

/** Whether, and why, we stopped waiting for the call (its signal may have fired while its helper died). */
function expiredKind(call: Call): 'timeout' | 'abort' | undefined {
  return call.expired ?? (call.signal?.aborted ? 'abort' : undefined);
}

/** The error spawnPlugin threw in the helper, rebuilt as the same class with the same fields. */
function errorFromWire(e: WireError, call: Call): Error {
  const opts = { context: call.context };
  switch (e.kind) {
    case 'plugin':
      return new PluginError(e.code, e.msg, e.details, e.exec, opts);
    case 'timeout':
      // A call handed to a new helper was sent what was left of its timeout; report the caller's.
      return new PluginTimeoutError(call.timeoutMs > 0 ? call.timeoutMs : e.timeoutMs, e.exec, opts);
    case 'aborted':
      return new PluginAbortedError(e.exec, { ...opts, cause: call.signal?.reason });
    case 'spawn': {
      let cause: Error | undefined;
      if (e.cause !== undefined) {
        cause = Object.assign(new Error(e.cause.message), { code: e.cause.code, syscall: e.cause.syscall });
      }
      return new PluginSpawnError(e.message, e.pluginPath, e.errno, e.attempts, {
        cause,
        context: e.context,
      });
    }
    case 'other': {
      const err = new Error(e.message);
      err.name = e.name;
      return err;
    }
  }
}

/** Runs plugins through a small long-lived helper process; see the module comment. */
export class SpawnerExec implements Exec {
  readonly #onStderr: ((pluginPath: string, text: string) => void) | undefined;
  readonly #onHelperExit: ((info: SpawnerHelperExit) => void) | undefined;
  readonly #nodePath: string;
  readonly #helperPath: string;
  readonly #execArgv: readonly string[];
  readonly #maxRequeue: number;
  #helper: Helper | undefined;
  #nextId = 1;
  /** Calls not yet settled, on any helper or none. */
  #busy = 0;
  #closed = false;

  constructor(options?: SpawnerExecOptions) {
    this.#onStderr = options?.onStderr;
    this.#onHelperExit = options?.onHelperExit;
    this.#nodePath = options?.nodePath ?? process.execPath;
    this.#helperPath = options?.helperPath ?? defaultHelperPath();
    this.#execArgv = options?.execArgv ?? defaultExecArgv(this.#helperPath);
    this.#maxRequeue = options?.maxRequeue ?? DEFAULT_MAX_REQUEUE;
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
    const { signal, ...wire } = options ?? {};
    const command = options?.command ?? env.CNI_COMMAND ?? '';
    const context = options?.context;
    const requested = options?.timeoutMs ?? 0;
    const timeoutMs = requested > 0 && requested <= MAX_TIMER_MS ? requested : 0;
    return new Promise<ExecOutput>((resolve, reject) => {
      const call: Call = {
        id: this.#nextId++,
        pluginPath,
        stdin,
        env,
        wire,
        command,
        context,
        signal,
        timeoutMs,
        startedAt: performance.now(),
        resolve,
        reject,
        onAbort: () => {
          this.#expire(call, 'abort');
        },
        helper: undefined,
        requeues: 0,
        settled: false,
        expired: undefined,
        timer: undefined,
      };
      // Same as spawnPlugin: an aborted signal never spawns, and a closed spawner never starts a helper.
      if (signal?.aborted) {
        reject(new PluginAbortedError(execInfo(call, null), { cause: signal.reason, context }));
        return;
      }
      if (this.#closed) {
        reject(this.#notStarted(call, 'spawner helper is closed', undefined));
        return;
      }
      this.#busy++;
      this.#ref();
      signal?.addEventListener('abort', call.onAbort, { once: true });
      this.#dispatch(call);
      if (timeoutMs > 0 && !call.settled) {
        call.timer = setTimeout(() => {
          this.#expire(call, 'timeout');
        }, timeoutMs);
      }
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

  #dispatch(call: Call): void {
    let o = call.wire;
    if (call.requeues > 0 && call.timeoutMs > 0) {
      // Handed to a new helper: the deadline stays where it was.
      const left = call.startedAt + call.timeoutMs - performance.now();
      if (left <= 0) {
        this.#settle(call, undefined, this.#expiredError(call, 'timeout', null, undefined));
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
      this.#settle(call, undefined, this.#notStarted(call, cause.message, cause));
      return;
    }
    call.helper = h;
    h.calls.set(call.id, call);
    h.child.stdin.write(
      encodeFrame({ t: 'run', id: call.id, path: call.pluginPath, env: call.env, o }, call.stdin),
    );
  }

  /** The call's deadline passed or its signal fired (whichever came first counts). */
  #expire(call: Call, kind: 'timeout' | 'abort'): void {
    if (call.settled || call.expired !== undefined) return;
    const h = call.helper;
    if (h === undefined) {
      // Waiting for a new helper: it never started.
      this.#settle(call, undefined, this.#expiredError(call, kind, null, undefined));
      return;
    }
    call.expired = kind;
    // Its helper died and its plugin's group is being killed: #onHelperGone settles it.
    if (h.gone) return;
    // The helper kills the process group and answers with PluginAbortedError or
    // PluginTimeoutError (or with the plugin's own outcome, if it exited first, as spawnPlugin
    // does); it times out by itself. That takes up to killGraceMs + AFTER_SIGKILL_WAIT_MS. Whether
    // it is there to do it at all, a ping tells sooner.
    if (kind === 'abort') h.child.stdin.write(encodeFrame({ t: 'abort', id: call.id }));
    this.#ping(h, kind);
    clearTimeout(call.timer);
    const killGraceMs = call.wire.killGraceMs ?? EXEC_DEFAULTS.killGraceMs;
    const allowed = Math.min(killGraceMs + AFTER_SIGKILL_WAIT_MS + HELPER_GRACE_MS, MAX_TIMER_MS);
    call.timer = setTimeout(() => {
      this.#kill(h, `did not report a call within ${allowed} ms of its ${kind}`);
    }, allowed);
  }

  /** Check that `h` still answers; kill it if it does not within HELPER_GRACE_MS. */
  #ping(h: Helper, why: 'timeout' | 'abort'): void {
    if (!usable(h) || h.ping !== undefined) return;
    const n = ++h.pings;
    const timer = setTimeout(() => {
      // One more I/O poll first: a pong already in the pipe while this process was too busy to
      // read it (a long GC, a blocked loop) must count.
      setImmediate(() => {
        if (h.ping?.n === n) {
          this.#kill(h, `did not answer a ping within ${HELPER_GRACE_MS} ms of a call's ${why}`);
        }
      });
    }, HELPER_GRACE_MS);
    h.ping = { n, timer };
    h.child.stdin.write(encodeFrame({ t: 'ping', n }));
  }

  /**
   * Kill a helper that stopped answering (SIGKILL: it may be stopped). Its calls are handed on by
   * #onHelperGone, which kills the process groups of its plugins; new calls go to a new helper.
   */
  #kill(h: Helper, reason: string): void {
    if (h.gone || h.killedBecause !== undefined) return;
    h.killedBecause = reason;
    if (h.ping !== undefined) {
      clearTimeout(h.ping.timer);
      h.ping = undefined;
    }
    // Once reaped (exitCode or signalCode set), its pid may already be someone else's.
    if (h.pid !== undefined && h.child.exitCode === null && h.child.signalCode === null) {
      // Freeze it so that it cannot start another plugin, and list its children while they are
      // still its own: a plugin spawned just before, whose pid is not in the start record yet,
      // is among them. (Once it is dead they belong to init.)
      try {
        process.kill(h.pid, 'SIGSTOP');
      } catch {
        // already gone
      }
      h.children = childPids(h.pid);
    }
    h.child.kill('SIGKILL');
    // Its calls do not wait for the kernel: should it not be reported gone soon (stuck in D state,
    // or its pipes held open by a descendant), go on without it.
    h.killTimer = setTimeout(() => {
      h.end(null, 'SIGKILL');
    }, HELPER_EXIT_WAIT_MS);
  }

  /** The error of a call whose deadline passed (`timeout`) or whose signal fired (`abort`). */
  #expiredError(
    call: Call,
    kind: 'timeout' | 'abort',
    signal: string | null,
    cause: SpawnerError | undefined,
  ): PluginError {
    const info = execInfo(call, signal);
    // As DefaultExec: the abort's cause is the signal's reason.
    return kind === 'abort'
      ? new PluginAbortedError(info, { cause: call.signal?.reason, context: call.context })
      : new PluginTimeoutError(call.timeoutMs, info, { cause, context: call.context });
  }

  #settle(call: Call, out: ExecOutput | undefined, err: Error | undefined): void {
    if (call.settled) return;
    call.settled = true;
    clearTimeout(call.timer);
    call.helper?.calls.delete(call.id);
    call.signal?.removeEventListener('abort', call.onAbort);
    if (--this.#busy === 0) this.#unref();
    if (err !== undefined) call.reject(err);
    else call.resolve(out as ExecOutput);
  }

  #notStarted(call: Call, reason: string, cause: SpawnerError | undefined): PluginSpawnError {
    return new PluginSpawnError(
      `netplugin failed with no error message: fork/exec ${call.pluginPath}: ${reason}`,
      call.pluginPath,
      undefined,
      0,
      { cause, context: { command: call.command, pluginPath: call.pluginPath, ...call.context } },
    );
  }

  /**
   * While calls are in flight (or close() is awaited) the helper keeps this process alive; idle, it
   * never does. All three pipes count: 'close', which settles calls after a crash, waits for each.
   */
  #ref(): void {
    const h = this.#helper;
    if (h === undefined || h.gone) return;
    h.child.ref();
    socket(h.child.stdout).ref();
    socket(h.child.stderr).ref();
  }

  #unref(): void {
    const h = this.#helper;
    if (h === undefined || h.gone || this.#closed) return;
    h.child.unref();
    socket(h.child.stdout).unref();
    socket(h.child.stderr).unref();
  }

  #start(): Helper {
    const startRecord = openStartRecord();
    let child: ChildProcessWithoutNullStreams;
    try {
      child = spawn(this.#nodePath, [...this.#execArgv, this.#helperPath], {
        // Its own session: a terminal's Ctrl-C meant for us must not kill plugins our cleanup runs.
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe', startRecord],
      }) as ChildProcessWithoutNullStreams;
    } catch (err) {
      closeSync(startRecord);
      throw err;
    }
    let markExited!: () => void;
    const h: Helper = {
      child,
      pid: child.pid,
      calls: new Map(),
      startRecord,
      stderrTail: Buffer.alloc(0),
      brokenBecause: undefined,
      killedBecause: undefined,
      children: [],
      pings: 0,
      ping: undefined,
      killTimer: undefined,
      end: () => undefined,
      gone: false,
      exited: new Promise<void>((resolve) => {
        markExited = resolve;
      }),
    };
    this.#helper = h;

    const reader = new FrameReader((header, body) => {
      this.#onReply(h, header as Reply, body);
    });
    child.stdout.on('data', (chunk: Buffer) => {
      if (h.brokenBecause !== undefined) return;
      try {
        reader.push(chunk);
      } catch (err) {
        h.brokenBecause = (err as Error).message;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      const all = Buffer.concat([h.stderrTail, chunk]);
      h.stderrTail = all.length > STDERR_TAIL_BYTES ? all.subarray(all.length - STDERR_TAIL_BYTES) : all;
    });
    // Writes after the helper died fail with EPIPE; its exit is handled below.
    child.stdin.on('error', () => undefined);
    let ended = false;
    let drainTimer: NodeJS.Timeout | undefined;
    const onEnd = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (ended) return;
      ended = true;
      clearTimeout(drainTimer);
      clearTimeout(h.killTimer);
      // Without 'close', the pipes may still be open: stop reading them.
      child.stdin.destroy();
      child.stdout.destroy();
      child.stderr.destroy();
      void this.#onHelperGone(h, code, signal).finally(markExited);
    };
    h.end = onEnd;
    child.on('error', () => {
      // Failed to start (ENOENT, EACCES, EAGAIN): Node emits no 'close' then.
      if (child.pid === undefined) onEnd(null, null);
    });
    child.on('exit', (code, signal) => {
      // 'close' follows once its pipes are drained. Should something it started hold them open,
      // go on after the replies already in the pipe were read (one more I/O poll, as spawnPlugin).
      drainTimer = setTimeout(() => {
        setImmediate(() => {
          onEnd(code, signal);
        });
      }, PIPE_DRAIN_MS);
    });
    child.on('close', onEnd);

    socket(child.stdin).unref();
    if (this.#busy === 0) {
      child.unref();
      socket(child.stdout).unref();
      socket(child.stderr).unref();
    }
    return h;
  }

  #onReply(h: Helper, reply: Reply, body: Buffer): void {
    if (reply.t === 'pong') {
      if (h.ping?.n === reply.n) {
        clearTimeout(h.ping.timer);
        h.ping = undefined;
      }
      return;
    }
    const call = h.calls.get(reply.id);
    if (call === undefined) return;
    switch (reply.t) {
      case 'ok': {
        const stdout = body.length < COPY_BODY_BELOW ? Buffer.from(body) : body;
        this.#settle(
          call,
          { stdout, stderr: reply.stderr, exitCode: reply.exitCode, durationMs: reply.durationMs },
          undefined,
        );
        return;
      }
      case 'err':
        this.#settle(call, undefined, errorFromWire(reply.e, call));
        return;
    }
  }

  async #onHelperGone(h: Helper, exitCode: number | null, signal: NodeJS.Signals | null): Promise<void> {
    h.gone = true;
    if (h.ping !== undefined) {
      clearTimeout(h.ping.timer);
      h.ping = undefined;
    }
    if (this.#helper === h) this.#helper = undefined;
    const stderr = h.stderrTail.toString('utf8').trim();
    const calls = [...h.calls.values()];
    h.calls.clear();
    const started = readStartRecord(h.startRecord);
    const how =
      h.brokenBecause !== undefined
        ? `broke its protocol (${h.brokenBecause}) and was killed`
        : h.killedBecause !== undefined
          ? `${h.killedBecause}, and was killed (SIGKILL)`
          : h.pid === undefined
            ? 'could not be started'
            : signal !== null
              ? `was killed by ${signal}`
              : `exited with status ${String(exitCode)}`;
    const cause = new SpawnerError(
      `spawner helper${h.pid === undefined ? '' : ` (pid ${h.pid})`} ${how}${stderr === '' ? '' : `: ${stderr}`}`,
      { pid: h.pid, exitCode, signal, stderr },
    );
    try {
      this.#onHelperExit?.({
        pid: h.pid,
        exitCode,
        signal,
        stderr,
        callsInFlight: calls.length,
        closed: this.#closed,
      });
    } catch {
      // Logging must not change what happens to the calls.
    }

    /** Calls that fail once the groups are killed; pid: recorded (0: unknown), -1: no record. */
    const orphans: Array<{ call: Call; pid: number }> = [];
    for (const call of calls) {
      if (call.settled) continue;
      const pid = started === undefined ? 0 : started.get(call.id);
      if (pid !== undefined) {
        orphans.push({ call, pid });
        continue;
      }
      // No record: it never started (unless the helper broke its contract). An expired call
      // fails, once the groups below are gone; any other is handed on.
      if (expiredKind(call) !== undefined) {
        orphans.push({ call, pid: -1 });
        continue;
      }
      call.helper = undefined;
      if (this.#closed || call.requeues >= this.#maxRequeue) {
        this.#settle(call, undefined, this.#notStarted(call, cause.message, cause));
      } else {
        call.requeues++;
        this.#dispatch(call);
      }
    }
    if (orphans.length === 0 && h.children.length === 0) return;

    // These may be running, unsupervised: kill their process groups, as a timeout would, so that
    // nothing of the call is left running when it fails. The helper's children, listed when we
    // killed it, are plugins too (perhaps one whose pid the record missed): their groups as well,
    // and themselves, should one not lead its own group.
    const groups = new Set(orphans.map((o) => o.pid).filter((pid) => pid > 0));
    for (const pid of h.children) {
      groups.add(pid);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (const pgid of groups) signalGroup(pgid, 'SIGKILL');
    const deadline = performance.now() + GROUP_WAIT_MS;
    while ([...groups].some((g) => groupHasLiveMembers(g)) && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, GROUP_POLL_MS));
    }
    for (const { call, pid } of orphans) {
      const expired = expiredKind(call);
      const err = expired
        ? this.#expiredError(call, expired, pid > 0 ? 'SIGKILL' : null, cause)
        : new PluginError(
            0,
            `netplugin failed with no error message: ${cause.message}; the plugin may have run${pid > 0 ? ', and its process group was killed' : ' (its pid was not recorded)'}`,
            undefined,
            execInfo(call, pid > 0 ? 'SIGKILL' : null),
            { cause, context: call.context },
          );
      this.#settle(call, undefined, err);
    }
  }
}

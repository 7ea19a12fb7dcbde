/**
 * NativeExec's helper process (native/cni-spawn.c), seen from Node: starting it (one fork of this
 * process, once), sending it calls, routing its replies to them, keeping it from holding this
 * process alive while idle, and telling its calls when it is gone. It says READY before it reads
 * any request, so a helper that ends before READY never started a plugin: its calls can be run
 * another way (NativeExec falls back to DefaultExec then).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { SpawnerError } from '../core/runtime-errors.ts';
import { afterExitDrain } from './exit-drain.ts';
import {
  type NativeBackend,
  type NativeCallSink,
  type NativeReply,
  ReplyReader,
  type RunRequest,
  encodeRun,
} from './native-protocol.ts';
import { TailBuffer } from './output-limits.ts';

/** Keep this much of the helper's stderr for error messages. */
const STDERR_TAIL_BYTES = 4096;
/** After SIGKILL, how long its calls wait for the kernel to report the helper gone. */
const HELPER_EXIT_WAIT_MS = 1000;

function socket(stream: NodeJS.ReadableStream | NodeJS.WritableStream): Socket {
  return stream as unknown as Socket;
}

/** One running helper process and the calls it holds. */
export class NativeHelper implements NativeBackend {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #calls = new Map<number, NativeCallSink>();
  readonly #stderr = new TailBuffer(STDERR_TAIL_BYTES);
  readonly #onGone: (h: NativeHelper, started: boolean, why: string) => void;
  #ready = false;
  #gone = false;
  #killedBecause: string | undefined;
  #nextId = 1;
  /** Resolves once it is gone and its calls were told. */
  readonly exited: Promise<void>;
  #markExited!: () => void;

  /** Start it; `onGone` is called once, when it is gone. Throws what `spawn` throws. */
  constructor(binary: string, onGone: (h: NativeHelper, started: boolean, why: string) => void) {
    this.#onGone = onGone;
    this.exited = new Promise((resolve) => {
      this.#markExited = resolve;
    });
    this.#child = spawn(binary, [String(process.pid)], {
      // Its own session: a terminal's Ctrl-C meant for us must not kill it under calls in flight.
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.#listen();
    this.#setRef(false);
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Whether it can take calls: not gone, and not being killed. */
  get usable(): boolean {
    return !this.#gone && this.#killedBecause === undefined;
  }

  /** Send a call; its replies go to `sink`. Returns the call's id. */
  send(req: Omit<RunRequest, 'id'>, sink: NativeCallSink): number {
    const id = this.#nextId++;
    this.#calls.set(id, sink);
    if (this.#calls.size === 1) this.#setRef(true);
    this.#child.stdin.write(encodeRun({ ...req, id }));
    return id;
  }

  /** Forget a call (it settled without waiting for the helper's last word). */
  forget(id: number): void {
    if (this.#calls.delete(id) && this.#calls.size === 0) this.#setRef(false);
  }

  /** A call's plugin is gone unreported: the helper is stopped or wedged, so it is killed. */
  stuck(_id: number, why: string): void {
    this.kill(why);
  }

  /** Kill it (SIGKILL); its calls are told when it is gone. */
  kill(reason: string): void {
    if (this.#gone || this.#killedBecause !== undefined) return;
    this.#killedBecause = reason;
    this.#child.kill('SIGKILL');
    setTimeout(() => {
      this.#end(null, 'SIGKILL');
    }, HELPER_EXIT_WAIT_MS).unref();
  }

  /** Ask it to exit once its calls are answered (EOF on its stdin). */
  close(): Promise<void> {
    if (!this.#gone) {
      this.#setRef(true);
      this.#child.stdin.end();
    }
    return this.exited;
  }

  /** While calls are in flight it keeps this process alive; idle, it never does. */
  #setRef(busy: boolean): void {
    for (const s of [this.#child.stdout, this.#child.stderr, this.#child.stdin]) {
      if (busy) socket(s).ref();
      else socket(s).unref();
    }
    if (busy) this.#child.ref();
    else this.#child.unref();
  }

  #listen(): void {
    const child = this.#child;
    const reader = new ReplyReader(this.#onReply);
    child.stdout.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (err) {
        this.kill(`broke its protocol (${(err as Error).message})`);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      this.#stderr.push(chunk);
    });
    // Writes after it died fail with EPIPE; its exit is handled below.
    child.stdin.on('error', () => undefined);
    child.on('error', () => {
      // Failed to start (ENOENT, EACCES, ENOEXEC): Node emits no 'close' then.
      if (child.pid === undefined) this.#end(null, null);
    });
    child.on('exit', (code, signal) => {
      // Its pipes are its own (plugins get fresh ones), so 'close' follows at once; just in case.
      afterExitDrain(() => {
        this.#end(code, signal);
      }).unref();
    });
    child.on('close', (code, signal) => {
      this.#end(code, signal);
    });
  }

  readonly #onReply = (reply: NativeReply): void => {
    if (reply.type === 'ready') {
      this.#ready = true;
      return;
    }
    const sink = this.#calls.get(reply.id);
    if (sink === undefined) return;
    if (reply.type === 'done' || reply.type === 'failed') this.forget(reply.id);
    sink.onReply(reply);
  };

  #end(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#child.stdout.destroy();
    this.#child.stderr.destroy();
    this.#child.stdin.destroy();
    const cause = this.#goneError(code, signal);
    const calls = [...this.#calls.values()];
    this.#calls.clear();
    this.#onGone(this, this.#ready, cause.message);
    for (const sink of calls) sink.onHelperGone(cause, this.#ready);
    this.#markExited();
  }

  #goneError(exitCode: number | null, signal: NodeJS.Signals | null): SpawnerError {
    const stderr = this.#stderr.tail().toString('utf8').trim();
    const pid = this.#child.pid;
    const how =
      this.#killedBecause !== undefined
        ? `${this.#killedBecause}, and was killed (SIGKILL)`
        : pid === undefined
          ? 'could not be started'
          : signal !== null
            ? `was killed by ${signal}`
            : `exited with status ${String(exitCode)}`;
    return new SpawnerError(
      `native spawner helper${pid === undefined ? '' : ` (pid ${pid})`} ${how}${stderr === '' ? '' : `: ${stderr}`}`,
      { pid, exitCode, signal, stderr },
    );
  }
}

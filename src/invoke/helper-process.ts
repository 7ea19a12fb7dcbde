/**
 * The spawner helper process's lifecycle, seen from the parent: starting it (with the flags that
 * keep it small, and this process's loader when it runs from TypeScript source), reading its
 * pipes, keeping it from holding the parent alive while idle, killing it when it stops answering,
 * and telling how it ended.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { closeSync, existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { SpawnerError } from '../core/runtime-errors.ts';
import { afterExitDrain, destroyPipes } from './exit-drain.ts';
import { TailBuffer } from './output-limits.ts';
import { childPids } from './process-group.ts';
import { FrameReader, type Reply } from './spawner-protocol.ts';
import type { Helper } from './spawner-state.ts';
import { openStartRecord } from './start-record.ts';

/**
 * The helper holds only a few requests' buffers at a time. A small young generation keeps the page
 * tables that every fork copies small too (VmPTE 916 → 648 kB, measured).
 */
const DEFAULT_EXEC_ARGV = ['--max-old-space-size=64', '--max-semi-space-size=1'] as const;
/** Keep this much of the helper's stderr for error messages. */
const STDERR_TAIL_BYTES = 4096;
/** After we SIGKILLed the helper, how long its calls wait for the kernel to report it gone. */
const HELPER_EXIT_WAIT_MS = 1000;

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
 * source (tsx, tests), src/invoke/spawner-child.ts. When this module was bundled into another file,
 * there is nothing beside it: then the installed package's `libcni/spawner-helper` export, when it
 * resolves from here (package.json "exports"; `helperPath` can name it the same way).
 */
export function defaultHelperPath(): string {
  const fromSource = import.meta.url.endsWith('.ts');
  const beside = fileURLToPath(
    new URL(fromSource ? './spawner-child.ts' : './spawner-child.js', import.meta.url),
  );
  if (existsSync(beside)) return beside;
  try {
    return fileURLToPath(import.meta.resolve('libcni/spawner-helper'));
  } catch {
    // Not installed where this file can see it: starting the helper fails with its path in the error.
    return beside;
  }
}

/** A TypeScript helper needs this process's loader (tsx, ...) too; a JavaScript one needs nothing. */
export function defaultExecArgv(helperPath: string): string[] {
  const ts = /\.[cm]?ts$/.test(helperPath);
  return [...DEFAULT_EXEC_ARGV, ...(ts ? loaderFlags(process.execArgv) : [])];
}

/** The helper's pipes are sockets (Node makes socketpairs), whatever the stream types say. */
function socket(stream: NodeJS.ReadableStream | NodeJS.WritableStream): Socket {
  return stream as unknown as Socket;
}

/**
 * While calls are in flight (or close() is awaited) the helper keeps this process alive; idle, it
 * never does. All three pipes count: 'close', which settles calls after a crash, waits for each.
 */
export function refHelper(h: Helper): void {
  h.child.ref();
  socket(h.child.stdout).ref();
  socket(h.child.stderr).ref();
}

export function unrefHelper(h: Helper): void {
  h.child.unref();
  socket(h.child.stdout).unref();
  socket(h.child.stderr).unref();
}

/** How to run the helper. */
export interface HelperCommand {
  nodePath: string;
  helperPath: string;
  execArgv: readonly string[];
}

/** What the helper's owner hears from it. */
export interface HelperEvents {
  onReply(h: Helper, reply: Reply, body: Buffer): void;
  /** It is gone (exited, killed, or never started); resolves once its calls are handed on. */
  onGone(h: Helper, exitCode: number | null, signal: NodeJS.Signals | null): Promise<void>;
}

/** Start a helper process; it keeps this process alive only when `busy` (see {@link refHelper}). */
export function startHelper(cmd: HelperCommand, events: HelperEvents, busy: boolean): Helper {
  const startRecord = openStartRecord();
  let child: ChildProcessWithoutNullStreams;
  try {
    child = spawn(cmd.nodePath, [...cmd.execArgv, cmd.helperPath], {
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
    stderr: new TailBuffer(STDERR_TAIL_BYTES),
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
  listen(h, events, markExited);
  socket(child.stdin).unref();
  if (!busy) unrefHelper(h);
  return h;
}

/** Read the helper's pipes, and hand its calls on once, when it is gone. */
function listen(h: Helper, events: HelperEvents, markExited: () => void): void {
  const child = h.child;
  const reader = new FrameReader((header, body) => {
    events.onReply(h, header as Reply, body);
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
    h.stderr.push(chunk);
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
    destroyPipes(child);
    void events.onGone(h, code, signal).finally(markExited);
  };
  h.end = onEnd;
  child.on('error', () => {
    // Failed to start (ENOENT, EACCES, EAGAIN): Node emits no 'close' then.
    if (child.pid === undefined) onEnd(null, null);
  });
  child.on('exit', (code, signal) => {
    // 'close' follows once its pipes are drained. Should something it started hold them open,
    // go on after the replies already in the pipe were read (exit-drain.ts, as for plugins).
    drainTimer = afterExitDrain(() => {
      onEnd(code, signal);
    });
  });
  child.on('close', onEnd);
}

/** Forget the ping `h` has not answered yet, if any. */
export function clearPing(h: Helper): void {
  if (h.ping !== undefined) {
    clearTimeout(h.ping.timer);
    h.ping = undefined;
  }
}

/**
 * Kill a helper that stopped answering (SIGKILL: it may be stopped). Its calls are handed on when
 * it is gone, and the process groups of its plugins killed; new calls go to a new helper.
 */
export function killHelper(h: Helper, reason: string): void {
  if (h.gone || h.killedBecause !== undefined) return;
  h.killedBecause = reason;
  clearPing(h);
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

/** Why the helper is gone, as the `cause` of the calls it failed; `stderr` is the end of its stderr. */
export function helperGoneError(
  h: Helper,
  exitCode: number | null,
  signal: NodeJS.Signals | null,
  stderr: string,
): SpawnerError {
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
  return new SpawnerError(
    `spawner helper${h.pid === undefined ? '' : ` (pid ${h.pid})`} ${how}${stderr === '' ? '' : `: ${stderr}`}`,
    { pid: h.pid, exitCode, signal, stderr },
  );
}

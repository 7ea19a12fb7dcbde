/**
 * The records SpawnerExec keeps: one per plugin call until it settles, and one per helper process
 * with the calls it holds. Shared by the spawner's modules (spawner.ts and the spawner-* and
 * helper-process.ts files around it).
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import type { ErrorContext } from '../core/errors.ts';
import type { ExecOutput } from './exec-options.ts';
import type { TailBuffer } from './output-limits.ts';
import type { WireExecOptions } from './spawner-protocol.ts';

/** One plugin call, from execPlugin until it settles. */
export interface Call {
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

/** Ends a call: with its output, or with `err`. */
export type Settle = (call: Call, out: ExecOutput | undefined, err: Error | undefined) => void;

/** One helper process and the calls it holds. */
export interface Helper {
  readonly child: ChildProcessWithoutNullStreams;
  readonly pid: number | undefined;
  readonly calls: Map<number, Call>;
  /** Our descriptor of the start-record file (already unlinked). */
  readonly startRecord: number;
  readonly stderr: TailBuffer;
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
  /** Hands its calls on (helperGone), once: on 'close', or sooner if that does not come. */
  end: (exitCode: number | null, signal: NodeJS.Signals | null) => void;
  gone: boolean;
  /** Resolves when the process has exited and its pipes are closed. */
  readonly exited: Promise<void>;
}

/** Whether new calls may be given to `h`. */
export function usable(h: Helper | undefined): h is Helper {
  return h !== undefined && !h.gone && h.brokenBecause === undefined && h.killedBecause === undefined;
}

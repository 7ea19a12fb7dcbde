/**
 * What a plugin call is given and what it returns, shared by {@link spawnPlugin} and SpawnerExec
 * (which sends the same options to its helper), with the defaults and the rules both read them by.
 */
import type { ErrorContext } from '../core/errors.ts';

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
  /**
   * Called with each chunk of the plugin's stderr as it arrives, whatever the outcome (the tail is
   * still kept for {@link ExecOutput.stderr} and errors). An Exec that cannot stream (SpawnerExec,
   * whose plugins run in its helper) does not call it. Exceptions thrown here are ignored.
   */
  onStderr?: ((chunk: Buffer) => void) | undefined;
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

/** setTimeout's limit; longer timeouts are treated as none. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The call's timeout as it is enforced: 0 (none) when absent, not positive, or beyond setTimeout. */
export function effectiveTimeoutMs(options: ExecOptions | undefined): number {
  const requested = options?.timeoutMs ?? 0;
  return requested > 0 && requested <= MAX_TIMER_MS ? requested : 0;
}

/** The CNI command errors name: the caller's, else the env's `CNI_COMMAND`. */
export function commandOf(options: ExecOptions | undefined, env: Record<string, string>): string {
  return options?.command ?? env.CNI_COMMAND ?? '';
}

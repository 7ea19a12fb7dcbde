/**
 * How SpawnerExec's calls end: the errors it raises itself (a call that expired, never started, or
 * may have run under a helper that died), and the outcome its helper reported, rebuilt as the same
 * classes spawnPlugin threw in the helper, field for field.
 */
import { performance } from 'node:perf_hooks';
import {
  PluginAbortedError,
  PluginError,
  type PluginExecInfo,
  PluginSpawnError,
  PluginTimeoutError,
} from '../core/errors.ts';
import type { SpawnerError } from '../core/runtime-errors.ts';
import { execInfo, forkExecError, type StopOptions, stoppedCallError } from './plugin-failure.ts';
import type { Reply, WireError } from './spawner-protocol.ts';
import type { Call, Settle } from './spawner-state.ts';

/** Bodies smaller than this are copied out of the read chunk, so a small result never pins 64 KiB. */
const COPY_BODY_BELOW = 64 * 1024;

/** The call's facts for an error raised here: no output, only what killed it, if anything. */
export function callExecInfo(call: Call, signal: string | null): PluginExecInfo {
  return execInfo(
    call.pluginPath,
    call.command,
    null,
    signal,
    undefined,
    '',
    performance.now() - call.startedAt,
  );
}

/** Whether, and why, we stopped waiting for the call (its signal may have fired while its helper died). */
export function expiredKind(call: Call): 'timeout' | 'abort' | undefined {
  return call.expired ?? (call.signal?.aborted ? 'abort' : undefined);
}

/** The error of a call whose deadline passed (`timeout`) or whose signal fired (`abort`), as DefaultExec's. */
export function expiredError(
  call: Call,
  kind: 'timeout' | 'abort',
  signal: string | null,
  cause: SpawnerError | undefined,
): PluginError {
  const opts: StopOptions = { abortReason: call.signal?.reason, cause, context: call.context };
  return stoppedCallError(kind, call.timeoutMs, callExecInfo(call, signal), opts);
}

/** The error of a call that certainly never ran a plugin. */
export function notStarted(call: Call, reason: string, cause: SpawnerError | undefined): PluginSpawnError {
  return forkExecError(call.pluginPath, reason, undefined, 0, call.command, { cause, context: call.context });
}

/**
 * The error of a call whose helper died after recording it: its plugin may have run. `pid` is the
 * plugin's as recorded (its process group was killed), else 0 or less.
 */
export function mayHaveRun(call: Call, pid: number, cause: SpawnerError): PluginError {
  const what = pid > 0 ? ', and its process group was killed' : ' (its pid was not recorded)';
  return new PluginError(
    0,
    `netplugin failed with no error message: ${cause.message}; the plugin may have run${what}`,
    undefined,
    callExecInfo(call, pid > 0 ? 'SIGKILL' : null),
    { cause, context: call.context },
  );
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

/** Settle `call` with the outcome its helper reported. */
export function settleFromReply(
  call: Call,
  reply: Exclude<Reply, { t: 'pong' }>,
  body: Buffer,
  settle: Settle,
): void {
  switch (reply.t) {
    case 'ok': {
      const stdout = body.length < COPY_BODY_BELOW ? Buffer.from(body) : body;
      const out = { stdout, stderr: reply.stderr, exitCode: reply.exitCode, durationMs: reply.durationMs };
      settle(call, out, undefined);
      return;
    }
    case 'err':
      settle(call, undefined, errorFromWire(reply.e, call));
      return;
  }
}

/**
 * The caller's side of a SpawnerExec call's deadline and abort signal, so that they do not depend
 * on the helper: when either passes, the helper is pinged, and killed when it does not answer
 * within {@link HELPER_GRACE_MS}, or when it has not reported the call by the time its own kill of
 * the plugin should have ended.
 */
import { EXEC_DEFAULTS, MAX_TIMER_MS } from './exec-options.ts';
import { AFTER_SIGKILL_WAIT_MS } from './group-kill.ts';
import { killHelper } from './helper-process.ts';
import { expiredError } from './spawner-calls.ts';
import { encodeFrame } from './spawner-protocol.ts';
import { type Call, type Helper, type Settle, usable } from './spawner-state.ts';

/**
 * After a call's deadline or abort, how long the helper has to answer a ping before it is taken for
 * stopped or wedged and killed; also what a live helper gets beyond its own kill of the plugin.
 */
export const HELPER_GRACE_MS = 1000;

/** The call's deadline passed or its signal fired (whichever came first counts). */
export function expireCall(call: Call, kind: 'timeout' | 'abort', settle: Settle): void {
  if (call.settled || call.expired !== undefined) return;
  const h = call.helper;
  if (h === undefined) {
    // Waiting for a new helper: it never started.
    settle(call, undefined, expiredError(call, kind, null, undefined));
    return;
  }
  call.expired = kind;
  // Its helper died and its plugin's group is being killed: the helper's end settles it.
  if (h.gone) return;
  // The helper kills the process group and answers with PluginAbortedError or
  // PluginTimeoutError (or with the plugin's own outcome, if it exited first, as spawnPlugin
  // does); it times out by itself. That takes up to killGraceMs + AFTER_SIGKILL_WAIT_MS. Whether
  // it is there to do it at all, a ping tells sooner.
  if (kind === 'abort') h.child.stdin.write(encodeFrame({ t: 'abort', id: call.id }));
  pingHelper(h, kind);
  clearTimeout(call.timer);
  const killGraceMs = call.wire.killGraceMs ?? EXEC_DEFAULTS.killGraceMs;
  const allowed = Math.min(killGraceMs + AFTER_SIGKILL_WAIT_MS + HELPER_GRACE_MS, MAX_TIMER_MS);
  call.timer = setTimeout(() => {
    killHelper(h, `did not report a call within ${allowed} ms of its ${kind}`);
  }, allowed);
}

/** Check that `h` still answers; kill it if it does not within HELPER_GRACE_MS. */
function pingHelper(h: Helper, why: 'timeout' | 'abort'): void {
  if (!usable(h) || h.ping !== undefined) return;
  const n = ++h.pings;
  const timer = setTimeout(() => {
    // One more I/O poll first: a pong already in the pipe while this process was too busy to
    // read it (a long GC, a blocked loop) must count.
    setImmediate(() => {
      if (h.ping?.n === n) {
        killHelper(h, `did not answer a ping within ${HELPER_GRACE_MS} ms of a call's ${why}`);
      }
    });
  }, HELPER_GRACE_MS);
  h.ping = { n, timer };
  h.child.stdin.write(encodeFrame({ t: 'ping', n }));
}

/**
 * What becomes of a dead helper's calls, so that no plugin is ever run twice and none is left
 * running unsupervised: its start record tells which calls certainly never started (handed to a
 * new helper, a bounded number of times) and which may have run (their process groups, and the
 * helper's children, are SIGKILLed, and the calls fail).
 */
import { performance } from 'node:perf_hooks';
import type { SpawnerError } from '../core/runtime-errors.ts';
import { GROUP_POLL_MS } from './group-kill.ts';
import { clearPing, helperGoneError } from './helper-process.ts';
import { groupHasLiveMembers, signalGroup } from './process-group.ts';
import { expiredError, expiredKind, mayHaveRun, notStarted } from './spawner-calls.ts';
import type { Call, Helper, Settle } from './spawner-state.ts';
import { readStartRecord } from './start-record.ts';

/** While killing orphaned plugins, how long to wait for their groups to be gone. */
const GROUP_WAIT_MS = 1000;

/** What the dead helper's owner decides and is told. */
export interface HelperOwner {
  /** No new helper may be started (close() was called). */
  readonly closed: boolean;
  readonly maxRequeue: number;
  settle: Settle;
  /** Give the call to a (new) helper. */
  dispatch(call: Call): void;
  /** For logs; may throw, which is ignored. */
  reportExit(
    h: Helper,
    exitCode: number | null,
    signal: NodeJS.Signals | null,
    stderr: string,
    calls: number,
  ): void;
}

/** A call that fails once the groups are killed; pid: recorded (0: unknown), -1: no record. */
interface Orphan {
  call: Call;
  pid: number;
}

/** Hand on or fail every call `h` held, once it is gone; resolves when all are settled or requeued. */
export async function handOnCalls(
  h: Helper,
  exitCode: number | null,
  signal: NodeJS.Signals | null,
  owner: HelperOwner,
): Promise<void> {
  h.gone = true;
  clearPing(h);
  const stderr = h.stderr.tail().toString('utf8').trim();
  const calls = [...h.calls.values()];
  h.calls.clear();
  const started = readStartRecord(h.startRecord);
  const cause = helperGoneError(h, exitCode, signal, stderr);
  try {
    owner.reportExit(h, exitCode, signal, stderr, calls.length);
  } catch {
    // Logging must not change what happens to the calls.
  }
  const orphans = requeueUnstarted(calls, started, cause, owner);
  if (orphans.length === 0 && h.children.length === 0) return;
  await killOrphanGroups(orphans, h.children);
  for (const { call, pid } of orphans) {
    const expired = expiredKind(call);
    const err = expired
      ? expiredError(call, expired, pid > 0 ? 'SIGKILL' : null, cause)
      : mayHaveRun(call, pid, cause);
    owner.settle(call, undefined, err);
  }
}

/** Give each call that never started to a new helper (or fail it); return the others. */
function requeueUnstarted(
  calls: Call[],
  started: Map<number, number> | undefined,
  cause: SpawnerError,
  owner: HelperOwner,
): Orphan[] {
  const orphans: Orphan[] = [];
  for (const call of calls) {
    if (call.settled) continue;
    const pid = started === undefined ? 0 : started.get(call.id);
    if (pid !== undefined) {
      orphans.push({ call, pid });
      continue;
    }
    // No record: it never started (unless the helper broke its contract). An expired call
    // fails, once the groups are gone; any other is handed on.
    if (expiredKind(call) !== undefined) {
      orphans.push({ call, pid: -1 });
      continue;
    }
    call.helper = undefined;
    if (owner.closed || call.requeues >= owner.maxRequeue) {
      owner.settle(call, undefined, notStarted(call, cause.message, cause));
    } else {
      call.requeues++;
      owner.dispatch(call);
    }
  }
  return orphans;
}

/**
 * These may be running, unsupervised: kill their process groups, as a timeout would, so that
 * nothing of the call is left running when it fails. The helper's children, listed when we killed
 * it, are plugins too (perhaps one whose pid the record missed): their groups as well, and
 * themselves, should one not lead its own group. Waits at most {@link GROUP_WAIT_MS}.
 */
async function killOrphanGroups(orphans: Orphan[], children: number[]): Promise<void> {
  const groups = new Set(orphans.map((o) => o.pid).filter((pid) => pid > 0));
  for (const pid of children) {
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
}

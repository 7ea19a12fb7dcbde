/**
 * Ending a plugin's process group after a timeout, an abort or runaway output: SIGTERM to the
 * group, SIGKILL after a grace period, then a bounded wait until no member is left running, so that
 * no grandchild outlives a call that was stopped.
 */
import { performance } from 'node:perf_hooks';
import { groupHasLiveMembers, signalGroup } from './process-group.ts';

/** While killing, how often to check whether the process group is gone. */
export const GROUP_POLL_MS = 25;
/**
 * After SIGKILL, how long to wait for the group to disappear (a process in D state dies late).
 * SpawnerExec counts it into the time its helper may take to report a kill.
 */
export const AFTER_SIGKILL_WAIT_MS = 1000;

/** The kill of one process group, from SIGTERM until the group is gone (or SIGKILL had its chance). */
export class GroupKill {
  readonly #pgid: number;
  readonly #graceMs: number;
  readonly #poll: () => void;
  #gone = false;
  #sigkillAt = 0;
  #graceTimer: NodeJS.Timeout | undefined;
  #pollTimer: NodeJS.Timeout | undefined;

  /** `poll` is called every {@link GROUP_POLL_MS} once started; it asks {@link isGone}. */
  constructor(pgid: number, graceMs: number, poll: () => void) {
    this.#pgid = pgid;
    this.#graceMs = graceMs;
    this.#poll = poll;
  }

  /** SIGTERM now; SIGKILL after the grace (at once when it is 0); then poll. */
  start(): void {
    signalGroup(this.#pgid, 'SIGTERM');
    if (this.#graceMs > 0) this.#graceTimer = setTimeout(this.#forceKill, this.#graceMs);
    else this.#forceKill();
    this.#pollTimer = setInterval(this.#poll, GROUP_POLL_MS);
  }

  /**
   * Whether the group is gone: empty, or SIGKILLed longer than {@link AFTER_SIGKILL_WAIT_MS} ago.
   * Once it is, it stays so and the timers stop. The group can be found empty before Node reports
   * the plugin's own exit (it is a zombie until reaped): the caller waits for both.
   */
  isGone(): boolean {
    if (
      !this.#gone &&
      (!groupHasLiveMembers(this.#pgid) ||
        (this.#sigkillAt > 0 && performance.now() - this.#sigkillAt > AFTER_SIGKILL_WAIT_MS))
    ) {
      this.#gone = true;
      this.stop();
    }
    return this.#gone;
  }

  /** Stop the timers (the call settled). */
  stop(): void {
    clearInterval(this.#pollTimer);
    clearTimeout(this.#graceTimer);
  }

  readonly #forceKill = (): void => {
    signalGroup(this.#pgid, 'SIGKILL');
    this.#sigkillAt = performance.now();
  };
}

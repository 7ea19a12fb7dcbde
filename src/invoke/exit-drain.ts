/**
 * After a child process exits, the wait for EOF on its pipes and the end of it, shared by
 * {@link spawnPlugin} (for a plugin) and SpawnerExec (for its helper).
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';

/**
 * How long to wait. Whatever the child wrote is already in the pipe and is read within a loop turn
 * or two; EOF only fails to come when a grandchild holds the pipe open, and then we stop waiting
 * rather than hang like Go's `cmd.Wait`.
 */
export const EXIT_DRAIN_MS = 100;

/**
 * Call `then` once the drain time has passed and one more I/O poll has run. The timers phase runs
 * before the I/O poll of a loop turn: if this process was starved for longer than the drain time (a
 * loaded machine, many plugins at once), the child's output is still unread in the pipe when the
 * timer fires. setImmediate runs after the next poll, which reads it. (Seen: a loopback ADD whose
 * 393-byte result was in the socket, 140 ms after exit, reported as "unexpected end of JSON input".)
 */
export function afterExitDrain(then: () => void): NodeJS.Timeout {
  return setTimeout(() => {
    setImmediate(then);
  }, EXIT_DRAIN_MS);
}

/** Stop writing to and reading from `child`: its pipes may still be open, held by a descendant. */
export function destroyPipes(child: ChildProcessWithoutNullStreams): void {
  child.stdin.destroy();
  child.stdout.destroy();
  child.stderr.destroy();
}

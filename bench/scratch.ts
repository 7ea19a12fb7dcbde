/**
 * Everything a benchmark process creates is registered here as an undo step, and undone in reverse
 * order on normal exit, on failure, and on SIGINT/SIGTERM/SIGHUP, so that a run leaves nothing
 * behind (namespaces, links, iptables chains, sysctls, temp dirs, child processes).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

type Undo = { label: string; run: () => Promise<void> | void };

const undos: Undo[] = [];
let cleaning: Promise<void> | undefined;

/** Register an undo step; returns a function that runs it now (and unregisters it). */
export function onCleanup(label: string, run: () => Promise<void> | void): () => Promise<void> {
  const undo: Undo = { label, run };
  undos.push(undo);
  return async () => {
    const i = undos.indexOf(undo);
    if (i < 0) return;
    undos.splice(i, 1);
    await undo.run();
  };
}

/** Run every registered undo step, newest first; failures are reported, not thrown. */
export function cleanupAll(): Promise<void> {
  cleaning ??= (async () => {
    while (undos.length > 0) {
      const undo = undos.pop() as Undo;
      try {
        await undo.run();
      } catch (err) {
        console.error(`cleanup (${undo.label}) failed: ${(err as Error).message}`);
      }
    }
  })();
  return cleaning;
}

/** A fresh temp dir, removed at cleanup. */
export async function scratchDir(tag: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `libcni-bench-${tag}-`));
  onCleanup(`rm ${dir}`, () => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Run `main`, then clean up whatever happens; a signal cleans up and exits 130. Sets the exit
 * code to 1 when `main` throws.
 */
export async function runWithCleanup(main: () => Promise<void>): Promise<void> {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      console.error(`\n${sig}: cleaning up`);
      void cleanupAll().finally(() => process.exit(130));
    });
  }
  try {
    await main();
  } catch (err) {
    console.error(err);
    process.exitCode = 1;
  } finally {
    await cleanupAll();
  }
}

/**
 * Run `fn`, then undo (newest first) everything it registered, whether it succeeded or not, so
 * that one section's namespaces or helper processes are gone before the next section starts.
 */
export async function scoped<T>(fn: () => Promise<T>): Promise<T> {
  const mark = undos.length;
  try {
    return await fn();
  } finally {
    while (undos.length > mark) {
      const undo = undos.pop() as Undo;
      try {
        await undo.run();
      } catch (err) {
        console.error(`cleanup (${undo.label}) failed: ${(err as Error).message}`);
      }
    }
  }
}

/**
 * Issue 16, item 6: a container lock left by a dead process, and 8 processes arriving at once to
 * take it over. Real processes: each holder creates a marker file with O_EXCL while it holds the
 * lock, so a second holder at the same time finds it there. Before the fix, the stale-file removal
 * ("unlink if it is still the inode I judged stale") removed a fresh lock whose inode number had
 * been reused, and two processes held the lock at once in some rounds. No root needed.
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const CONTENDER = fileURLToPath(new URL('./helpers/lock-contender.ts', import.meta.url));
const CONTENDERS = 8;
const ROUNDS = 10;

/** A child whose stdout lines can be awaited one by one. */
interface Child {
  proc: ChildProcessWithoutNullStreams;
  next(): Promise<string>;
}

function start(args: string[]): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', CONTENDER, ...args], { stdio: 'pipe' });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const lines: string[] = [];
  const waiting: Array<{ resolve: (l: string) => void; reject: (e: Error) => void }> = [];
  createInterface({ input: proc.stdout }).on('line', (l) => {
    const w = waiting.shift();
    if (w) w.resolve(l);
    else lines.push(l);
  });
  proc.once('exit', (code, signal) => {
    for (const w of waiting.splice(0)) {
      w.reject(new Error(`contender exited (${String(code ?? signal)}): ${stderr}`));
    }
  });
  return {
    proc,
    next: () => {
      const l = lines.shift();
      if (l !== undefined) return Promise.resolve(l);
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
  };
}

describe('stale container lock, many contenders', () => {
  let root: string;
  const children: Child[] = [];
  before(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'libcni-takeover-'));
  });
  after(async () => {
    for (const c of children) c.proc.kill('SIGKILL');
    await fs.rm(root, { recursive: true, force: true });
  });

  test(`${String(ROUNDS)} rounds of a dead holder's lock and ${String(CONTENDERS)} processes at once: never two holders`, {
    timeout: 600_000,
  }, async (t) => {
    const cacheDir = path.join(root, 'cache');
    const marker = path.join(root, 'inside');
    for (let i = 0; i < CONTENDERS; i++) children.push(start(['contend', cacheDir, marker]));
    for (const c of children) assert.equal(await c.next(), 'ready');
    const overlapsPerRound: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // A real holder killed with SIGKILL: the lock of a dead process, whatever its format.
      const holder = start(['hold', cacheDir]);
      assert.equal(await holder.next(), 'held');
      const exited = new Promise((resolve) => holder.proc.once('exit', resolve));
      holder.proc.kill('SIGKILL');
      await exited;
      for (const c of children) c.proc.stdin.write(`go ${String(round)}\n`);
      let overlaps = 0;
      for (const c of children) {
        const [word, r, n] = (await c.next()).split(' ');
        assert.equal(`${String(word)} ${String(r)}`, `done ${String(round)}`);
        overlaps += Number(n);
      }
      overlapsPerRound.push(overlaps);
    }
    t.diagnostic(`overlaps per round: ${overlapsPerRound.join(',')}`);
    assert.deepEqual(
      overlapsPerRound.filter((n) => n > 0),
      [],
      'some round had two holders of the lock at the same time',
    );
    // Every holder released: nothing is left in the lock directory.
    assert.deepEqual(await fs.readdir(path.join(cacheDir, 'locks')), []);
  });
});

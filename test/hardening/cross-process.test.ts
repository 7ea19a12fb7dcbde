/**
 * Two processes sharing one cache directory (a runtime and cnitool, two runtime instances): with
 * the per-container lock files (`<cacheDir>/locks/<id>.lock`) their operations on the same
 * containers never overlap, every cache file anyone reads meanwhile is a complete entry, and no
 * entry or lock file is left behind. A control run without lock files shows the test would see the
 * overlap. Fixture plugin (shell script), no root needed.
 */
import assert from 'node:assert/strict';
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ContainerLockFile } from '../../src/runtime/locks.ts';
import { LockTimeoutError } from '../../src/core/runtime-errors.ts';
import { makeRuntimeSandbox, type RecordedCall, type RuntimeSandbox } from '../helpers/runtime-plugins.ts';

const WORKER = fileURLToPath(new URL('./helpers/cross-process-worker.ts', import.meta.url));

interface Run {
  /** Pairs of plugin calls on one container from different operations that overlapped. */
  overlaps: string[];
  /** Cache files read while the workers ran, and the ones that were not a complete entry. */
  reads: number;
  torn: string[];
  calls: number;
}

function startWorker(args: string[]): {
  child: ChildProcessByStdio<null, Readable, Readable>;
  ready: Promise<void>;
  done: Promise<void>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) resolve();
    });
    child.once('exit', () => {
      reject(new Error(`worker exited before ready: ${err}`));
    });
  });
  const done = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`worker failed (${String(code)}): ${err}`));
    });
  });
  ready.catch(() => undefined);
  return { child, ready, done };
}

/** Plugin calls per container must come as begin,end,begin,end: anything else is two at once. */
function overlapsIn(calls: RecordedCall[]): string[] {
  const open = new Map<string, RecordedCall>();
  const out: string[] = [];
  for (const c of calls) {
    const prev = open.get(c.cid);
    if (c.phase === 'begin') {
      if (prev !== undefined) out.push(`${c.cid}: ${c.cmd} began while ${prev.cmd} was running`);
      open.set(c.cid, c);
    } else open.delete(c.cid);
  }
  return out;
}

describe('two processes on one cache directory', () => {
  let sb: RuntimeSandbox;
  before(async () => {
    sb = await makeRuntimeSandbox();
    // Every plugin call takes 30 ms, so that unserialized operations would overlap.
    await sb.writeNetwork('10-xp.conflist', 'xp', { tdelay: '0.03' }, { cniVersion: '1.0.0' });
  });
  after(() => sb.cleanup());

  async function run(name: string, lockFiles: boolean, iterations: number): Promise<Run> {
    const cacheDir = path.join(sb.root, `cache-${name}`);
    const goFile = path.join(sb.root, `go-${name}`);
    await fs.rm(sb.log, { force: true });
    const args = [sb.confDir, sb.pluginDir, cacheDir, goFile, String(iterations), String(lockFiles)];
    const workers = [startWorker(args), startWorker(args)];
    try {
      await Promise.all(workers.map((w) => w.ready));
      await fs.writeFile(goFile, '');
      const state = { finished: false };
      const all = Promise.all(workers.map((w) => w.done)).finally(() => {
        state.finished = true;
      });
      const resultsDir = path.join(cacheDir, 'results');
      let reads = 0;
      const torn: string[] = [];
      while (!state.finished) {
        const names = await fs.readdir(resultsDir).catch(() => [] as string[]);
        for (const n of names) {
          if (n.startsWith('.libcni-tmp-')) continue;
          let text: string;
          try {
            text = await fs.readFile(path.join(resultsDir, n), 'utf8');
          } catch {
            continue; // removed by a teardown meanwhile
          }
          reads++;
          try {
            assert.equal((JSON.parse(text) as { kind?: string }).kind, 'cniCacheV1');
          } catch {
            torn.push(`${n}: ${JSON.stringify(text.slice(0, 60))}`);
          }
        }
        await sleep(3);
      }
      await all;
      const calls = await sb.calls(true);
      assert.deepEqual(await fs.readdir(resultsDir), [], `${name}: no cache entry left`);
      if (lockFiles)
        assert.deepEqual(await fs.readdir(path.join(cacheDir, 'locks')), [], `${name}: no lock file left`);
      return { overlaps: overlapsIn(calls), reads, torn, calls: calls.length };
    } finally {
      for (const w of workers) w.child.kill('SIGKILL');
    }
  }

  test('with lock files: no two operations on a container overlap, no reader sees a torn entry', {
    timeout: 120_000,
  }, async (t) => {
    const r = await run('locked', true, 8);
    t.diagnostic(`${r.calls / 2} plugin calls, ${r.reads} cache reads during the run`);
    assert.equal(r.calls, 2 * 2 * 2 * 8 * 2, 'both processes ran every ADD and DEL (begin + end each)');
    assert.deepEqual(r.overlaps, []);
    assert.deepEqual(r.torn, []);
    assert.ok(r.reads > 0, 'the reader saw entries while the workers ran');
  });

  test('control, without lock files: the same workload does overlap across the processes', {
    timeout: 120_000,
  }, async () => {
    const r = await run('unlocked', false, 8);
    assert.ok(r.overlaps.length > 0, 'no overlap seen: this test could not detect a missing lock');
  });

  test('a lock file created but not yet written is held, not mistaken for abandoned', async () => {
    // Between open(O_EXCL) and the write of its pid, a holder's lock file is empty; another process
    // reading it then must wait, not steal it (which let both proceed before).
    const locks = new ContainerLockFile(path.join(sb.root, 'cache-empty-lock'));
    await fs.mkdir(locks.dir, { recursive: true });
    await fs.writeFile(locks.fileFor('c1'), '');
    await assert.rejects(locks.acquire('c1', { timeoutMs: 200 }), LockTimeoutError);
    // Left empty for long (a holder killed right after creating it): reclaimed.
    const old = new Date(Date.now() - 60_000);
    await fs.utimes(locks.fileFor('c1'), old, old);
    const release = await locks.acquire('c1', { timeoutMs: 1000 });
    assert.equal((await fs.readFile(locks.fileFor('c1'), 'utf8')).split(' ')[0], String(process.pid));
    await release();
  });
});

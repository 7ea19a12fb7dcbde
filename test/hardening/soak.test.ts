/**
 * Soak (issue 16): 4 processes run random setups, teardowns and GCs on a shared pool of containers
 * and one cache directory, against fixture plugins that write every ADD and DEL to a ledger. Two of
 * them are SIGKILLed at random moments and started again; two survive the whole run. At the end:
 *
 * - every attachment the ledger shows started (ADD begun) and not cleaned (no DEL completed after
 *   it) has a cache entry, so some later teardown or GC can find it;
 * - a fresh process takes every container's lock (those of killed holders included), tears every
 *   container down and runs GC: the ledger then shows every attachment cleaned, and no cache entry
 *   and no lock is left (only the temp files of writers killed before their rename, which the
 *   sweep of stale temp files removes);
 * - the survivors' open fds did not grow and their heap (after a full GC) did not keep growing.
 *
 * Duration: SOAK_MS (default 90 s, for CI); `npm run soak` runs 30 minutes. No root needed.
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { TEMP_PREFIX } from '../../src/cache/entry.ts';
import { ResultCache } from '../../src/cache/store.ts';
import { NetworkManager } from '../../src/runtime/manager.ts';
import { makeRuntimeSandbox, type RecordedCall, type RuntimeSandbox } from '../helpers/runtime-plugins.ts';

const WORKER = fileURLToPath(new URL('./helpers/soak-worker.ts', import.meta.url));
const SOAK_MS = Number(process.env.SOAK_MS ?? 90_000);
const IDS = Array.from({ length: 8 }, (_, i) => `soak-${String(i)}`);

interface Stats {
  ops: number;
  errors: number;
  fds: number;
  heapUsed: number;
  rss: number;
}

interface Worker {
  proc: ChildProcessWithoutNullStreams;
  ready: Promise<void>;
  exited: Promise<void>;
  stats: Stats | undefined;
  /** The first sample taken after the warm-up (a quarter of the run). */
  warm: Stats | undefined;
  errors: string[];
}

function startWorker(sb: RuntimeSandbox, seed: number, warmAt: number): Worker {
  const proc = spawn(
    process.execPath,
    [
      '--expose-gc',
      '--import',
      'tsx',
      WORKER,
      sb.confDir,
      sb.pluginDir,
      sb.cacheDir,
      IDS.join(','),
      String(seed),
    ],
    { stdio: 'pipe' },
  );
  proc.stderr.resume();
  const w = { proc, stats: undefined, warm: undefined, errors: [] } as unknown as Worker;
  w.exited = new Promise((resolve) => {
    proc.once('exit', () => {
      resolve();
    });
  });
  w.ready = new Promise<void>((resolve, reject) => {
    createInterface({ input: proc.stdout }).on('line', (line) => {
      if (line === 'ready') resolve();
      else if (line.startsWith('error ')) w.errors.push(line.slice(6));
      else if (line.startsWith('stats ')) {
        const [ops = 0, errors = 0, fds = 0, heapUsed = 0, rss = 0] = line.slice(6).split(' ').map(Number);
        w.stats = { ops, errors, fds, heapUsed, rss };
        if (w.warm === undefined && Date.now() >= warmAt) w.warm = w.stats;
      }
    });
    void w.exited.then(() => {
      reject(new Error('worker exited before ready'));
    });
  });
  w.ready.catch(() => undefined);
  return w;
}

/** Per attachment (cache file name), whether its last completed event left it attached. */
function attachmentStates(calls: RecordedCall[]): Map<string, 'attached' | 'clean'> {
  const state = new Map<string, 'attached' | 'clean'>();
  for (const c of calls) {
    const key = `${String(c.conf.name)}-${c.cid}-${c.ifName}`;
    if (c.cmd === 'ADD' && c.phase === 'begin') state.set(key, 'attached');
    else if (c.cmd === 'DEL' && c.phase === 'end') state.set(key, 'clean');
  }
  return state;
}

const MIB = 1024 * 1024;

describe('soak: random operations and crashes across 4 processes', () => {
  let sb: RuntimeSandbox;
  const workers: Worker[] = [];
  before(async () => {
    sb = await makeRuntimeSandbox();
    await sb.writeNetwork('10-soak-a.conflist', 'soak-a', { tdelay: '0.02' });
    await sb.writeNetwork('20-soak-b.conflist', 'soak-b', { tdelay: '0.05' });
  });
  after(async () => {
    for (const w of workers) w.proc.kill('SIGKILL');
    await sb.cleanup();
  });

  test(`${String(SOAK_MS / 1000)} s`, { timeout: SOAK_MS + 600_000 }, async (t) => {
    const started = Date.now();
    const warmAt = started + SOAK_MS / 4;
    const survivors = [startWorker(sb, 1, warmAt), startWorker(sb, 2, warmAt)];
    let killable = [startWorker(sb, 3, warmAt), startWorker(sb, 4, warmAt)];
    workers.push(...survivors, ...killable);
    await Promise.all([...survivors, ...killable].map((w) => w.ready));
    let kills = 0;
    let killedOps = 0;
    const killedPids = new Set<number>();
    let seed = 5;
    while (Date.now() - started < SOAK_MS) {
      await sleep(1000 + ((seed * 7919) % 2000));
      const i = seed % 2;
      const victim = killable[i] as Worker;
      killedPids.add(victim.proc.pid ?? 0);
      victim.proc.kill('SIGKILL');
      await victim.exited;
      kills++;
      killedOps += victim.stats?.ops ?? 0;
      const next = startWorker(sb, ++seed, warmAt);
      workers.push(next);
      killable = i === 0 ? [next, killable[1] as Worker] : [killable[0] as Worker, next];
      await next.ready;
    }
    for (const w of killable) {
      killedPids.add(w.proc.pid ?? 0);
      w.proc.kill('SIGKILL');
    }
    for (const w of survivors) w.proc.stdin.end('stop\n');
    await Promise.all([...killable, ...survivors].map((w) => w.exited));
    // Plugins a killed process had started finish on their own: wait until every call has ended.
    for (;;) {
      const calls = await sb.calls(true);
      if (calls.filter((c) => c.phase === 'begin').length === calls.filter((c) => c.phase === 'end').length)
        break;
      await sleep(100);
    }

    // Every attachment started and not cleaned is in the cache.
    const calls = await sb.calls(true);
    const cached = new Set(await fs.readdir(path.join(sb.cacheDir, 'results')).catch(() => [] as string[]));
    const states = attachmentStates(calls);
    const lost = [...states].filter(([key, s]) => s === 'attached' && !cached.has(key)).map(([key]) => key);
    assert.deepEqual(lost, [], 'attachments started, never cleaned and not in the cache');
    const leftAttached = [...states.values()].filter((s) => s === 'attached').length;

    // A fresh process: every lock can be taken, every container torn down, GC finds nothing left.
    const manager = new NetworkManager({
      confDir: sb.confDir,
      pluginDirs: [sb.pluginDir],
      cacheDir: sb.cacheDir,
      lockTimeoutMs: 30_000,
    });
    try {
      for (const id of IDS) await manager.teardown(id, `/run/netns/${id}`);
      assert.deepEqual((await manager.gc([])).errors, []);
    } finally {
      await manager.close();
    }
    const finalStates = attachmentStates(await sb.calls(true));
    assert.deepEqual(
      [...finalStates].filter(([, s]) => s !== 'clean').map(([k]) => k),
      [],
      'attachments left after the final teardown',
    );
    const resultsDir = path.join(sb.cacheDir, 'results');
    const left = await fs.readdir(resultsDir);
    assert.deepEqual(
      left.filter((n) => !n.startsWith(TEMP_PREFIX)),
      [],
      'cache entries left',
    );
    // A writer SIGKILLed between creating its temp file (`<prefix><pid>-<random>`) and the rename
    // leaves it behind; only killed writers may, and the sweep of stale temp files removes them.
    for (const name of left) {
      const pid = Number(name.slice(TEMP_PREFIX.length).split('-')[0]);
      assert.ok(killedPids.has(pid), `temp file of a writer that was not killed: ${name}`);
    }
    await new ResultCache(sb.cacheDir).removeStaleTempFiles(0);
    assert.deepEqual(await fs.readdir(resultsDir), [], 'temp files left after the sweep');
    assert.deepEqual(await fs.readdir(path.join(sb.cacheDir, 'locks')), [], 'locks left');

    // The survivors: no failed operation, no fd growth, no heap growth beyond noise.
    const figures: string[] = [];
    for (const [n, w] of survivors.entries()) {
      const { warm, stats } = w;
      assert.ok(warm !== undefined && stats !== undefined, 'survivor reported no stats');
      figures.push(
        `survivor ${String(n + 1)}: ${String(stats.ops)} ops, fds ${String(warm.fds)} -> ${String(stats.fds)}, ` +
          `heap ${(warm.heapUsed / MIB).toFixed(1)} -> ${(stats.heapUsed / MIB).toFixed(1)} MiB, ` +
          `rss ${(warm.rss / MIB).toFixed(1)} -> ${(stats.rss / MIB).toFixed(1)} MiB`,
      );
      assert.deepEqual(w.errors, [], `survivor ${String(n + 1)} had failing operations`);
      assert.ok(
        stats.fds <= warm.fds,
        `survivor ${String(n + 1)}: fds grew ${String(warm.fds)} -> ${String(stats.fds)}`,
      );
      assert.ok(
        stats.heapUsed <= warm.heapUsed * 1.5 + 8 * MIB,
        `survivor ${String(n + 1)}: heap grew ${String(warm.heapUsed)} -> ${String(stats.heapUsed)}`,
      );
    }
    const adds = calls.filter((c) => c.cmd === 'ADD' && c.phase === 'end').length;
    const dels = calls.filter((c) => c.cmd === 'DEL' && c.phase === 'end').length;
    t.diagnostic(
      `${String(SOAK_MS / 1000)} s: ${String(kills)} SIGKILLs (${String(killedOps)} ops in killed processes), ` +
        `${String(adds)} plugin ADDs, ${String(dels)} DELs, ${String(states.size)} attachments, ` +
        `${String(leftAttached)} left attached by the run and found in the cache`,
    );
    for (const f of figures) t.diagnostic(f);
  });
});

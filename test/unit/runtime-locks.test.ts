import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ContainerLockFile, GcGate, KeyedMutex } from '../../src/runtime/locks.ts';
import { LockTimeoutError } from '../../src/core/runtime-errors.ts';

const tick = () => new Promise((r) => setImmediate(r));

describe('KeyedMutex', () => {
  it('hands one key to callers in arrival order, one at a time', async () => {
    const m = new KeyedMutex();
    const log: string[] = [];
    let inside = 0;
    const job = (name: string) =>
      m.run('c1', async () => {
        inside++;
        assert.equal(inside, 1, 'two holders of one key');
        log.push(`${name}+`);
        await tick();
        log.push(`${name}-`);
        inside--;
      });
    await Promise.all([job('a'), job('b'), job('c')]);
    assert.deepEqual(log, ['a+', 'a-', 'b+', 'b-', 'c+', 'c-']);
    assert.equal(m.isLocked('c1'), false);
  });

  it('does not make different keys wait for each other', async () => {
    const m = new KeyedMutex();
    const release1 = await m.acquire('c1');
    const release2 = await m.acquire('c2'); // would hang if keys shared a lock
    release1();
    release2();
  });

  it('lets a waiter give up without losing the turn of the ones behind it', async () => {
    const m = new KeyedMutex();
    const held = await m.acquire('k');
    const ac = new AbortController();
    const quitter = m.acquire('k', ac.signal);
    const patient = m.acquire('k');
    assert.equal(m.waiting('k'), 2);
    ac.abort(new Error('gave up'));
    await assert.rejects(quitter, /gave up/);
    held();
    const release = await patient;
    release();
    release(); // releasing twice is harmless
    assert.equal(m.isLocked('k'), false);
  });
});

describe('GcGate', () => {
  it('makes GC wait for operations in flight and holds back operations that come after it', async () => {
    const g = new GcGate();
    const log: string[] = [];
    const op1 = await g.acquireShared();
    const gc = g.acquireExclusive().then((release) => {
      log.push('gc');
      return release;
    });
    const op2 = g.acquireShared().then((release) => {
      log.push('op2');
      return release;
    });
    await tick();
    assert.deepEqual(log, []);
    assert.deepEqual(g.state, { shared: 1, exclusive: false, waiting: 2 });
    op1();
    const releaseGc = await gc;
    await tick();
    assert.deepEqual(log, ['gc']);
    releaseGc();
    (await op2)();
    assert.deepEqual(log, ['gc', 'op2']);
    assert.deepEqual(g.state, { shared: 0, exclusive: false, waiting: 0 });
  });

  it('admits every shared waiter at once after an exclusive holder leaves', async () => {
    const g = new GcGate();
    const gc = await g.acquireExclusive();
    const a = g.acquireShared();
    const b = g.acquireShared();
    gc();
    const [ra, rb] = await Promise.all([a, b]);
    assert.equal(g.state.shared, 2);
    ra();
    rb();
  });

  it('lets shared holders in again when a waiting GC is aborted', async () => {
    const g = new GcGate();
    const op = await g.acquireShared();
    const ac = new AbortController();
    const gc = g.acquireExclusive(ac.signal);
    const late = g.acquireShared();
    ac.abort();
    await assert.rejects(gc);
    (await late)();
    op();
  });
});

describe('ContainerLockFile', () => {
  async function withDir(fn: (dir: string) => Promise<void>) {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'libcni-'));
    try {
      await fn(dir);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }

  it('creates the lock with our pid and removes it on release', async () => {
    await withDir(async (dir) => {
      const locks = new ContainerLockFile(dir);
      const release = await locks.acquire('c1');
      const text = await fs.readFile(locks.fileFor('c1'), 'utf8');
      assert.equal(text.split(' ')[0], String(process.pid));
      await release();
      await assert.rejects(fs.stat(locks.fileFor('c1')), { code: 'ENOENT' });
    });
  });

  it('reclaims a lock left by a process that is gone', async () => {
    await withDir(async (dir) => {
      const locks = new ContainerLockFile(dir);
      const dead = spawnSync('true').pid;
      await fs.mkdir(locks.dir, { recursive: true });
      await fs.writeFile(locks.fileFor('c1'), `${dead} 12345\n`);
      const release = await locks.acquire('c1', { timeoutMs: 2000 });
      assert.equal((await fs.readFile(locks.fileFor('c1'), 'utf8')).split(' ')[0], String(process.pid));
      await release();
    });
  });

  it('waits for a live holder in another process, and times out with its pid', async () => {
    await withDir(async (dir) => {
      const locks = new ContainerLockFile(dir);
      const child = spawn('sleep', ['30'], { stdio: 'ignore' });
      try {
        await fs.mkdir(locks.dir, { recursive: true });
        await fs.writeFile(locks.fileFor('c1'), `${child.pid}\n`);
        await assert.rejects(locks.acquire('c1', { timeoutMs: 50 }), (e: unknown) => {
          assert.ok(e instanceof LockTimeoutError);
          assert.match(e.message, new RegExp(`pid ${child.pid}`));
          return true;
        });
        const waiting = locks.acquire('c1', { timeoutMs: 5000 });
        await fs.rm(locks.fileFor('c1'));
        await (await waiting)();
      } finally {
        child.kill('SIGKILL');
      }
    });
  });
});

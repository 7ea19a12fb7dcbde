// Cache and lock directories holding what the library never writes there (issue 16): an entry or a
// lock file that is a symlink to a FIFO (a plain read blocks forever, past every timeout and
// signal) or to /dev/zero (an endless read), and a `results/` directory that is a symlink out of
// the cache directory. Each must settle: the entry treated as corrupt, the lock reclaimed, the
// symlinked directory refused with nothing written through it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { CNIConfig, type RuntimeConf } from '../../src/cni/index.ts';
import { pluginConfFromBytes } from '../../src/config/parse.ts';
import { CacheError } from '../../src/core/errors.ts';
import { ContainerLockFile } from '../../src/runtime/locks.ts';
import { cleanupFixtures, CURRENT, makeCniFixture, stdinOf } from '../helpers/cni-setup.ts';

after(cleanupFixtures);

const NET = 'hostile';
/** How DEL words any unreadable entry (Go's wording, see src/cache/reads.ts). */
const DECODE = 'decoding version from network config: ';
const net = pluginConfFromBytes(`{"type":"noop","name":"${NET}","cniVersion":"${CURRENT}"}`);

/** A fixture whose cache entry for container `containerId` is a symlink to what `target` makes. */
async function withSymlinkedEntry(containerId: string, target: (root: string) => Promise<string>) {
  const f = await makeCniFixture({ noop: 'fake' });
  const moved: Array<{ path: string; movedTo: string | undefined; reason: string }> = [];
  const cni = new CNIConfig({
    path: [f.plugins.dir],
    cacheDir: f.cacheDir,
    cacheSync: 'none',
    timeoutMs: 5_000,
    onCacheQuarantine: (info) => moved.push(info),
  });
  const rt: RuntimeConf = { containerId, netns: '/some/netns', ifName: 'eth0' };
  const file = await f.writeCache(NET, rt, '');
  await fs.unlink(file);
  await fs.symlink(await target(path.dirname(f.cacheDir)), file);
  return { f, cni, rt, file, moved };
}

function fifoIn(dir: string): Promise<string> {
  const fifo = path.join(dir, 'the-fifo');
  execFileSync('mkfifo', [fifo]);
  return Promise.resolve(fifo);
}

// A hang is the failure being tested: the timeout turns it into a failed test instead of a stuck run.
describe('hostile cache entries', () => {
  test('an entry symlinked to a FIFO: listings skip it, DEL settles without prevResult and moves it aside', {
    timeout: 20_000,
  }, async () => {
    const { f, cni, rt, file, moved } = await withSymlinkedEntry('c-fifo', fifoIn);
    // The listing is what GC and teardown read first.
    assert.deepEqual(await cni.getCachedAttachments(), []);
    assert.deepEqual(await cni.getCachedAttachments('c-fifo'), []);

    await cni.delNetwork(net, rt);
    const calls = await f.plugins.calls('noop');
    assert.deepEqual(
      calls.map((c) => [c.command, Object.hasOwn(stdinOf(c), 'prevResult')]),
      [['DEL', false]],
    );
    assert.deepEqual(moved, [{ path: file, movedTo: `${file}.corrupt`, reason: `${DECODE}is a symlink` }]);
    // What was moved aside is the symlink itself, not its target.
    assert.equal((await fs.lstat(`${file}.corrupt`)).isSymbolicLink(), true);
    await assert.rejects(fs.lstat(file), { code: 'ENOENT' });
  });

  test('an entry symlinked to /dev/zero: DEL settles without reading it', { timeout: 20_000 }, async () => {
    const { f, cni, rt, file, moved } = await withSymlinkedEntry('c-zero', () =>
      Promise.resolve('/dev/zero'),
    );
    await cni.delNetwork(net, rt);
    assert.deepEqual(
      (await f.plugins.calls('noop')).map((c) => [c.command, Object.hasOwn(stdinOf(c), 'prevResult')]),
      [['DEL', false]],
    );
    assert.deepEqual(moved, [{ path: file, movedTo: `${file}.corrupt`, reason: `${DECODE}is a symlink` }]);
  });

  test('a FIFO itself (no symlink) in results/ is skipped by listings and moved aside by DEL', {
    timeout: 20_000,
  }, async () => {
    const f = await makeCniFixture({ noop: 'fake' });
    const moved: string[] = [];
    const cni = new CNIConfig({
      path: [f.plugins.dir],
      cacheDir: f.cacheDir,
      cacheSync: 'none',
      onCacheQuarantine: (info) => moved.push(info.reason),
    });
    const rt: RuntimeConf = { containerId: 'c-rawfifo', netns: '/some/netns', ifName: 'eth0' };
    const file = await f.writeCache(NET, rt, '');
    await fs.unlink(file);
    execFileSync('mkfifo', [file]);
    assert.deepEqual(await cni.getCachedAttachments(), []);
    await cni.delNetwork(net, rt);
    assert.deepEqual(moved, [`${DECODE}not a regular file`]);
  });

  test('a symlinked results/ directory is refused by name and nothing is written through it', {
    timeout: 20_000,
  }, async () => {
    const f = await makeCniFixture({ noop: 'fake' });
    const outside = await fs.mkdtemp(path.join(os.tmpdir(), 'libcni-outside-'));
    try {
      await fs.mkdir(f.cacheDir, { recursive: true });
      const results = path.join(f.cacheDir, 'results');
      await fs.symlink(outside, results);
      await f.plugins.writePlan('noop', {
        ADD: { result: `{"cniVersion":"${CURRENT}","ips":[{"address":"10.9.9.9/24"}]}` },
      });
      const rt: RuntimeConf = { containerId: 'c-dirlink', netns: '/some/netns', ifName: 'eth0' };
      await assert.rejects(
        f.cni.addNetwork(net, rt),
        (e: unknown) =>
          e instanceof CacheError &&
          e.path === results &&
          e.message.includes(`refusing to use cache results directory ${results}: it is a symlink`),
      );
      assert.deepEqual(await fs.readdir(outside), []);
    } finally {
      await fs.rm(outside, { recursive: true, force: true });
    }
  });
});

describe('hostile lock files', () => {
  test('a lock file symlinked to a FIFO is reclaimed: acquire settles and the lock works', {
    timeout: 20_000,
  }, async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'libcni-hostile-lock-'));
    try {
      const locks = new ContainerLockFile(root);
      await fs.mkdir(locks.dir, { recursive: true });
      const fifo = await fifoIn(root);
      await fs.symlink(fifo, locks.fileFor('c1'));
      const release = await locks.acquire('c1', { timeoutMs: 2_000 });
      // Ours now: a regular file holding our pid, which a second taker must wait for.
      const st = await fs.lstat(locks.fileFor('c1'));
      assert.equal(st.isFile(), true);
      assert.match(await fs.readFile(locks.fileFor('c1'), 'utf8'), new RegExp(`^${String(process.pid)} `));
      await assert.rejects(locks.acquire('c1', { timeoutMs: 50 }), /pid/);
      await release();
      // The FIFO the symlink pointed to is untouched.
      assert.equal((await fs.lstat(fifo)).isFIFO(), true);
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });

  test('a symlinked locks/ directory is refused by name and no lock is created through it', {
    timeout: 20_000,
  }, async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'libcni-hostile-lock-'));
    const outside = await fs.mkdtemp(path.join(os.tmpdir(), 'libcni-outside-'));
    try {
      const locks = new ContainerLockFile(root);
      await fs.symlink(outside, locks.dir);
      await assert.rejects(
        locks.acquire('c1', { timeoutMs: 2_000 }),
        (e: unknown) =>
          e instanceof CacheError && e.path === locks.dir && e.message.includes('it is a symlink'),
      );
      assert.deepEqual(await fs.readdir(outside), []);
    } finally {
      await fs.rm(root, { recursive: true, force: true });
      await fs.rm(outside, { recursive: true, force: true });
    }
  });
});

/**
 * The config-directory watcher under the changes that broke it (issue 17, items 2–4): the directory
 * deleted and recreated, swapped through a symlink, and changed without pause. Every wait is on an
 * event with a generous timeout; nothing asserts on how long something took.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { NetworkManager, type NetworkManagerOptions } from '../../src/runtime/manager.ts';
import type { ConfigDirChangedEvent, ConfigLoadedEvent } from '../../src/runtime/types.ts';
import { ConfDirWatcher, type WatchReloadReason } from '../../src/runtime/watch.ts';
import { makeRuntimeSandbox, type RuntimeSandbox } from '../helpers/runtime-plugins.ts';

/** How long a wait may take before the test fails: far above what any step needs. */
const TIMEOUT_MS = 20_000;

let sb: RuntimeSandbox;
// These tests follow every network of the directory, watching it.
const manager = (extra: Partial<NetworkManagerOptions> = {}): NetworkManager =>
  sb.manager({ watch: true, debounceMs: 30, ...extra });

/** Write a one-plugin conflist of the sandbox's plugin into any directory. */
async function writeNet(dir: string, file: string, name: string, mark = ''): Promise<void> {
  const list = { cniVersion: '1.1.0', name, plugins: [{ type: 'rtfake', tlog: sb.log, tmark: mark }] };
  await fs.writeFile(path.join(dir, file), JSON.stringify(list));
}

const names = (m: NetworkManager) => m.networks.map((n) => n.name).join(',');

/**
 * Resolves once `ok()` holds, checking now and after every `configLoaded`; fails after
 * {@link TIMEOUT_MS} saying what was awaited and what the manager had.
 */
function until(m: NetworkManager, what: string, ok: () => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!ok()) return;
      clearTimeout(timer);
      m.off('configLoaded', check);
      resolve();
    };
    const timer = setTimeout(() => {
      m.off('configLoaded', check);
      reject(new Error(`timed out waiting for ${what}; networks now: [${names(m)}]`));
    }, TIMEOUT_MS);
    m.on('configLoaded', check);
    check();
  });
}

/** Resolves once the loaded networks are exactly `expected` (comma-separated names). */
const networks = (m: NetworkManager, expected: string) =>
  until(m, `networks [${expected}]`, () => names(m) === expected);

/** Every `configDirChanged` event the manager emits from now on. */
function dirChanges(m: NetworkManager): ConfigDirChangedEvent[] {
  const seen: ConfigDirChangedEvent[] = [];
  m.on('configDirChanged', (e) => seen.push(e));
  return seen;
}

/** Resolves with the first `configDirChanged` event that satisfies `ok`. */
function dirChange(
  m: NetworkManager,
  what: string,
  ok: (e: ConfigDirChangedEvent) => boolean,
): Promise<ConfigDirChangedEvent> {
  return new Promise((resolve, reject) => {
    const on = (e: ConfigDirChangedEvent) => {
      if (!ok(e)) return;
      clearTimeout(timer);
      m.off('configDirChanged', on);
      resolve(e);
    };
    const timer = setTimeout(() => {
      m.off('configDirChanged', on);
      reject(new Error(`timed out waiting for configDirChanged ${what}`));
    }, TIMEOUT_MS);
    m.on('configDirChanged', on);
  });
}

beforeEach(async () => {
  sb = await makeRuntimeSandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

describe('watch: the directory deleted and recreated', () => {
  it('watches a directory recreated right after it was deleted', async () => {
    await sb.writeNetwork('10-a.conflist', 'neta');
    const m = manager();
    await m.start();
    const changes = dirChanges(m);
    // rm -rf net.d && mkdir net.d, then a new file in it once the manager has seen the empty one.
    await fs.rm(sb.confDir, { recursive: true });
    await fs.mkdir(sb.confDir);
    await networks(m, '');
    await sb.writeNetwork('20-b.conflist', 'netb');
    await networks(m, 'netb');
    await sb.writeNetwork('30-c.conflist', 'netc');
    await networks(m, 'netb,netc');
    assert.ok(changes.length > 0, 'the recreated directory is reported');
    for (const c of changes) assert.ok(['removed', 'created', 'replaced'].includes(c.change), c.change);
  });

  it('keeps every manager of the same directory watching it, and any other watch of it too', async () => {
    await sb.writeNetwork('10-a.conflist', 'neta');
    // Another chokidar watch of the directory in the process (chokidar shares fs.watch handles).
    const { watch } = await import('chokidar');
    const other = watch(sb.confDir, { ignoreInitial: true, depth: 1 });
    await new Promise<void>((r) =>
      other.once('ready', () => {
        r();
      }),
    );
    try {
      const a = manager();
      const b = manager();
      await a.start();
      await b.start();
      const otherSawIt = new Promise<void>((r) => {
        other.once('unlink', () => {
          r();
        });
      });
      await fs.rm(sb.confDir, { recursive: true });
      await fs.mkdir(sb.confDir);
      await Promise.all([networks(a, ''), networks(b, ''), otherSawIt]);
      await sb.writeNetwork('20-b.conflist', 'netb');
      await Promise.all([networks(a, 'netb'), networks(b, 'netb')]);
    } finally {
      await other.close();
    }
  });

  it('reports the removal, empties the set, and picks the directory up when it comes back', async () => {
    await sb.writeNetwork('10-a.conflist', 'neta');
    const m = manager();
    await m.start();
    const real = await fs.realpath(sb.confDir);
    const removed = dirChange(m, 'removed', (e) => e.change === 'removed');
    const emptied = networks(m, '');
    await fs.rm(sb.confDir, { recursive: true });
    const r = await removed;
    assert.deepEqual(r, { dir: sb.confDir, change: 'removed', target: undefined, previousTarget: real });
    await emptied;

    const created = dirChange(m, 'created', (e) => e.change === 'created');
    await fs.mkdir(sb.confDir);
    const c = await created;
    assert.deepEqual(c, { dir: sb.confDir, change: 'created', target: real, previousTarget: undefined });
    await sb.writeNetwork('20-b.conflist', 'netb');
    await networks(m, 'netb');
    await sb.writeNetwork('30-c.conflist', 'netc');
    await networks(m, 'netb,netc');
  });

  it('says why each reload happened', async () => {
    await sb.writeNetwork('10-a.conflist', 'neta');
    const m = manager();
    const reasons: ConfigLoadedEvent['reason'][] = [];
    m.on('configLoaded', (e) => reasons.push(e.reason));
    await m.start();
    await sb.writeNetwork('20-b.conflist', 'netb');
    await networks(m, 'neta,netb');
    await fs.rm(sb.confDir, { recursive: true });
    await networks(m, '');
    await until(m, 'a reload for the directory itself', () => reasons.includes('confDir'));
    await m.settled();
    await m.load();
    assert.equal(reasons[0], 'initial');
    assert.ok(reasons.includes('change'), reasons.join());
    assert.equal(reasons.at(-1), 'load');
  });
});

describe('watch: confDir is a symlink swapped atomically', () => {
  it('follows the swap to the new target and watches it', async () => {
    const v1 = path.join(sb.root, 'v1');
    const v2 = path.join(sb.root, 'v2');
    const confDir = path.join(sb.root, 'conf');
    await fs.mkdir(v1);
    await fs.mkdir(v2);
    await writeNet(v1, '10-a.conflist', 'neta');
    await writeNet(v2, '10-b.conflist', 'netb');
    await fs.symlink('v1', confDir);
    const m = manager({ confDir });
    await m.start();
    assert.equal(names(m), 'neta');

    const changes = dirChanges(m);
    // ln -s v2 tmp && mv -T tmp conf
    await fs.symlink('v2', path.join(sb.root, 'conf.tmp'));
    await fs.rename(path.join(sb.root, 'conf.tmp'), confDir);
    await networks(m, 'netb');
    assert.deepEqual(changes, [
      {
        dir: confDir,
        change: 'retargeted',
        target: await fs.realpath(v2),
        previousTarget: await fs.realpath(v1),
      },
    ]);

    // The new target is watched...
    await writeNet(v2, '20-c.conflist', 'netc');
    await networks(m, 'netb,netc');
    // ...and swapping back works too.
    await writeNet(v1, '20-d.conflist', 'netd');
    await fs.symlink('v1', path.join(sb.root, 'conf.tmp'));
    await fs.rename(path.join(sb.root, 'conf.tmp'), confDir);
    await networks(m, 'neta,netd');
    await writeNet(v1, '30-e.conflist', 'nete');
    await networks(m, 'neta,netd,nete');
  });

  it('sees the target of the symlink removed and recreated where it lives', async () => {
    // confDir's target in another directory than confDir's own entry.
    const v1 = path.join(sb.root, 'elsewhere', 'v1');
    const confDir = path.join(sb.root, 'etc', 'conf');
    await fs.mkdir(v1, { recursive: true });
    await fs.mkdir(path.dirname(confDir));
    await writeNet(v1, '10-a.conflist', 'neta');
    await fs.symlink(v1, confDir);
    const m = manager({ confDir });
    await m.start();
    assert.equal(names(m), 'neta');
    const real = await fs.realpath(v1);

    const removed = dirChange(m, 'removed', (e) => e.change === 'removed');
    await fs.rm(v1, { recursive: true });
    assert.deepEqual(await removed, {
      dir: confDir,
      change: 'removed',
      target: undefined,
      previousTarget: real,
    });
    await networks(m, '');

    const created = dirChange(m, 'created', (e) => e.change === 'created');
    await fs.mkdir(v1);
    await created;
    await writeNet(v1, '20-b.conflist', 'netb');
    await networks(m, 'netb');
  });

  it('starts on a dangling symlink and loads its target once it appears', async () => {
    const confDir = path.join(sb.root, 'conf');
    const v1 = path.join(sb.root, 'v1');
    await fs.symlink('v1', confDir);
    const m = manager({ confDir });
    await m.start();
    assert.equal(names(m), '');
    const created = dirChange(m, 'created', (e) => e.change === 'created');
    await fs.mkdir(v1);
    await created;
    await writeNet(v1, '10-a.conflist', 'neta');
    await networks(m, 'neta');
  });

  it('still follows a ConfigMap-style ..data swap inside the directory', async () => {
    // Kubernetes' layout: net.d/..data -> ..<ts>, and net.d/<key> -> ..data/<key>.
    const v1 = path.join(sb.confDir, '..2024_01');
    const v2 = path.join(sb.confDir, '..2024_02');
    await fs.mkdir(v1);
    await writeNet(v1, '10-a.conflist', 'neta', 'v1');
    await fs.symlink('..2024_01', path.join(sb.confDir, '..data'));
    await fs.symlink('..data/10-a.conflist', path.join(sb.confDir, '10-a.conflist'));
    const m = manager();
    await m.start();
    const changes = dirChanges(m);
    assert.equal(names(m), 'neta');

    await fs.mkdir(v2);
    await writeNet(v2, '10-a.conflist', 'neta', 'v2');
    await fs.symlink('..2024_02', path.join(sb.confDir, '..data_tmp'));
    await fs.rename(path.join(sb.confDir, '..data_tmp'), path.join(sb.confDir, '..data'));
    await fs.rm(v1, { recursive: true });
    const mark = () => m.networks[0]?.list.plugins[0]?.network.tmark;
    await until(m, 'the v2 content', () => mark() === 'v2');
    assert.equal(names(m), 'neta');
    assert.deepEqual(changes, [], 'confDir itself did not change');
  });
});

describe('watch: continuous changes', () => {
  it('reloads at least once while writes go on without pause (max wait)', async () => {
    await sb.writeNetwork('10-a.conflist', 'neta');
    // The defaults: 100 ms debounce, 500 ms max wait.
    const m = manager({ debounceMs: undefined });
    await m.start();
    let writing = true;
    const duringWrites: ConfigLoadedEvent['reason'][] = [];
    m.on('configLoaded', (e) => {
      if (writing) duringWrites.push(e.reason);
    });
    const tmp = path.join(sb.root, 'b.tmp');
    const end = Date.now() + 3000;
    let i = 0;
    while (Date.now() < end) {
      await writeNet(sb.root, 'b.tmp', 'netb', `w${i++}`);
      await fs.rename(tmp, path.join(sb.confDir, '20-b.conflist'));
    }
    writing = false;
    // Reloads while the writes went on: forced by the max wait, or in a pause the machine took.
    assert.ok(duringWrites.length > 0, `no reload during ${i} writes`);
    for (const r of duringWrites) assert.ok(r === 'maxWait' || r === 'change', r);
    // And the last state is the one loaded once the writes stop.
    await writeNet(sb.root, 'b.tmp', 'netb', 'final');
    await fs.rename(tmp, path.join(sb.confDir, '20-b.conflist'));
    const mark = () => m.networks.find((n) => n.name === 'netb')?.list.plugins[0]?.network.tmark;
    await until(m, 'the final write', () => mark() === 'final');
  });
});

describe('ConfDirWatcher', () => {
  const reasonOf = async (options: { debounceMs: number; maxWaitMs?: number }, schedules: number) => {
    const reasons: WatchReloadReason[] = [];
    let resolve!: () => void;
    const called = new Promise<void>((r) => {
      resolve = r;
    });
    const w = new ConfDirWatcher(sb.confDir, {
      ...options,
      onChange: (reason) => {
        reasons.push(reason);
        resolve();
        return Promise.resolve();
      },
      onError: (err) => {
        throw err;
      },
    });
    for (let i = 0; i < schedules; i++) w.schedule();
    await called;
    await w.close();
    return reasons;
  };

  it('labels a reload that waited for quiet "change"', async () => {
    assert.deepEqual(await reasonOf({ debounceMs: 20 }, 3), ['change']);
  });

  it('labels a reload the max wait forced before any quiet period "maxWait"', async () => {
    // A max wait below the debounce: the very first change already cannot wait for quiet.
    assert.deepEqual(await reasonOf({ debounceMs: 60_000, maxWaitMs: 20 }, 3), ['maxWait']);
  });
});

/**
 * Crash safety of the attachment cache:
 * - a writer killed with SIGKILL at random moments leaves the old entry or the new one, byte for
 *   byte, never a partial file; at most one temp file per kill, and old ones are swept away;
 * - DEL (CNIConfig) and teardown (NetworkManager) work with an empty, truncated, garbage or
 *   schema-violating entry: it is moved aside as `.corrupt`, reported, and DEL runs without it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { encodeCacheEntry, ResultCache } from '../../src/cache/cache.ts';
import { CNIConfig } from '../../src/cni/index.ts';
import { networkConfFromBytes } from '../../src/config/parse.ts';
import { CHANNELS, type CacheQuarantineMessage } from '../../src/core/diagnostics.ts';
import { NetworkManager } from '../../src/runtime/manager.ts';
import type { CacheQuarantineEvent } from '../../src/runtime/types.ts';
import { makeRuntimeSandbox, type RuntimeSandbox } from '../helpers/runtime-plugins.ts';
import { crashEntries } from './helpers/crash-entries.ts';

const TEMP_PREFIX = '.libcni-tmp-';

/** A small deterministic PRNG, so a failing run can be replayed from the seed in its message. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

/**
 * Bundle the writer child into one plain .mjs with esbuild (what tsx itself runs on): a child that
 * starts in ~50 ms instead of ~400 ms through the tsx loader, so 50 kills stay quick.
 */
async function bundleWriter(outDir: string): Promise<string> {
  const esbuild = await import('esbuild');
  const outfile = path.join(outDir, 'crash-writer.mjs');
  await esbuild.build({
    entryPoints: [fileURLToPath(new URL('./helpers/crash-writer.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    logLevel: 'silent',
  });
  return outfile;
}

/** Start the writer, wait until its first write is complete, let it run `delayMs`, SIGKILL it. */
async function killWriterAfter(
  script: string,
  cacheDir: string,
  mode: string,
  delayMs: number,
): Promise<void> {
  const child = spawn(process.execPath, [script, cacheDir, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    child.stdout.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes('ready\n')) resolve();
    });
    child.once('exit', (code, sig) => {
      reject(new Error(`writer exited before ready: ${String(code ?? sig)}`));
    });
  });
  await sleep(delayMs);
  child.kill('SIGKILL');
  await exited;
}

async function tempFiles(resultsDir: string): Promise<string[]> {
  return (await fs.readdir(resultsDir)).filter((n) => n.startsWith(TEMP_PREFIX)).sort();
}

describe('a cache writer killed with SIGKILL', () => {
  let root: string;
  let script: string;
  const [entryA, entryB] = crashEntries();
  const bytesA = Buffer.from(encodeCacheEntry(entryA));
  const bytesB = Buffer.from(encodeCacheEntry(entryB));

  before(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'libcni-'));
    script = await bundleWriter(root);
  });
  after(() => fs.rm(root, { recursive: true, force: true }));

  test('50 kills at random moments: the entry is always A or B complete, at most one temp file per kill', async () => {
    const cacheDir = path.join(root, 'atomic');
    const cache = new ResultCache(cacheDir);
    const file = cache.pathFor(entryA);
    const seed = Date.now() % 100_000;
    const random = prng(seed);
    let midWrite = 0;
    let temps: string[] = [];
    for (let kill = 1; kill <= 50; kill++) {
      const delay = Math.floor(random() * 60);
      await killWriterAfter(script, cacheDir, 'atomic', delay);
      const bytes = await fs.readFile(file);
      assert.ok(
        bytes.equals(bytesA) || bytes.equals(bytesB),
        `kill ${kill} (seed ${seed}, after ${delay} ms) left ${bytes.length} bytes that are neither entry`,
      );
      const now = await tempFiles(cache.resultsDir);
      const added = now.filter((n) => !temps.includes(n));
      assert.ok(added.length <= 1, `kill ${kill} left ${added.length} temp files: ${added.join(' ')}`);
      assert.equal(now.length, temps.length + added.length, 'no temp file disappeared behind our back');
      if (added.length === 1) midWrite++;
      temps = now;
    }
    // Writes take most of the writer's loop, so many kills land inside one; without any, this
    // test would not have exercised what it claims to.
    assert.ok(midWrite >= 1, `no kill landed inside a write (seed ${seed})`);

    // Leftovers are young, so a lister does not touch them (they might be a live writer's) ...
    const listed = await cache.listAttachments();
    assert.equal(listed?.length, 1);
    assert.equal((await tempFiles(cache.resultsDir)).length, temps.length);
    // ... and once they are older than a minute, listing and writing sweep them away.
    const old = new Date(Date.now() - 120_000);
    for (const t of temps) await fs.utimes(path.join(cache.resultsDir, t), old, old);
    await cache.listAttachments();
    assert.deepEqual(await tempFiles(cache.resultsDir), []);

    const stale = path.join(cache.resultsDir, `${TEMP_PREFIX}999999-abcdef`);
    const young = path.join(cache.resultsDir, `${TEMP_PREFIX}999999-fedcba`);
    await fs.writeFile(stale, 'partial');
    await fs.writeFile(young, 'partial');
    await fs.utimes(stale, old, old);
    await new ResultCache(cacheDir).write(entryA); // a fresh instance sweeps on its first write
    assert.deepEqual(await tempFiles(cache.resultsDir), [path.basename(young)]);
    assert.ok((await fs.readFile(file)).equals(bytesA));
  });

  test('control: an in-place writer (fs.promises.writeFile) killed the same way does leave torn files', async () => {
    const cacheDir = path.join(root, 'naive');
    const file = new ResultCache(cacheDir).pathFor(entryA);
    await fs.mkdir(path.dirname(file), { recursive: true });
    const random = prng(7);
    let torn = 0;
    for (let kill = 0; kill < 20 && torn === 0; kill++) {
      await killWriterAfter(script, cacheDir, 'naive', Math.floor(random() * 60));
      const bytes = await fs.readFile(file);
      if (!bytes.equals(bytesA) && !bytes.equals(bytesB)) torn++;
    }
    assert.ok(
      torn >= 1,
      'the kill loop never caught a write half-done: it could not detect a non-atomic writer',
    );
  });
});

/** What to put in a cache file: each case is a way real caches have been found broken. */
const CORRUPTIONS: Record<string, (valid: string) => string> = {
  empty: () => '',
  truncated: (valid) => valid.slice(0, Math.floor(valid.length / 2)),
  garbage: () => '\u0000\u0000 not json',
  'not an object': () => '42',
  'result failing the schema': (valid) => {
    const doc = JSON.parse(valid) as Record<string, unknown>;
    doc.result = { cniVersion: '1.0.0', ips: [{ address: 'not-an-address' }] };
    return JSON.stringify(doc);
  },
};

describe('DEL and teardown with a corrupt cache entry', () => {
  let sb: RuntimeSandbox;
  before(async () => {
    sb = await makeRuntimeSandbox();
  });
  after(() => sb.cleanup());

  for (const [name, corrupt] of Object.entries(CORRUPTIONS)) {
    test(`CNIConfig.delNetworkList: ${name} entry is moved aside, reported, and DEL runs without prevResult`, async () => {
      const cacheDir = path.join(sb.root, `cache-del-${name.replaceAll(' ', '-')}`);
      const confFile = await sb.writeNetwork(
        `del-${name.replaceAll(' ', '-')}.conflist`,
        'qnet',
        {},
        { cniVersion: '1.0.0' },
      );
      const list = networkConfFromBytes(await fs.readFile(confFile));
      const reports: Array<{ path: string; movedTo: string | undefined; reason: string }> = [];
      const published: CacheQuarantineMessage[] = [];
      const onPublish = (m: unknown) => published.push(m as CacheQuarantineMessage);
      const cni = new CNIConfig({
        path: [sb.pluginDir],
        cacheDir,
        onCacheQuarantine: (i) => reports.push(i),
      });
      const cid = `del-${name.replaceAll(' ', '-')}`;
      const rt = { containerId: cid, netns: '/run/netns/x', ifName: 'eth0' };
      await cni.addNetworkList(list, rt);
      const file = new ResultCache(cni.cacheDir).pathFor({
        network: 'qnet',
        containerId: cid,
        ifName: 'eth0',
      });
      const broken = corrupt(await fs.readFile(file, 'utf8'));
      await fs.writeFile(file, broken);

      subscribe(CHANNELS.cacheQuarantine, onPublish);
      try {
        await cni.delNetworkList(list, rt);
      } finally {
        unsubscribe(CHANNELS.cacheQuarantine, onPublish);
      }
      const del = (await sb.calls()).filter((c) => c.cmd === 'DEL' && c.cid === cid);
      assert.equal(del.length, 1, 'the plugin got its DEL');
      assert.equal(del[0]?.conf.prevResult, undefined, 'without the unreadable result');
      assert.equal(reports.length, 1);
      const [report] = reports;
      assert.ok(report);
      assert.equal(report.path, file);
      assert.equal(report.movedTo, `${file}.corrupt`);
      assert.ok(report.reason, 'with the reason');
      assert.equal(await fs.readFile(`${file}.corrupt`, 'utf8'), broken, 'the bytes are kept for inspection');
      await assert.rejects(fs.stat(file), { code: 'ENOENT' });
      assert.deepEqual(
        published.map((m) => [m.path, m.movedTo, m.containerId, m.network]),
        [[file, `${file}.corrupt`, cid, 'qnet']],
      );
    });
  }

  test('NetworkManager.teardown: corrupt entries of a loaded and of a vanished network are moved aside and reported', async () => {
    const confDir = path.join(sb.root, 'net.d-teardown');
    const cacheDir = path.join(sb.root, 'cache-teardown');
    await fs.mkdir(confDir);
    await fs.writeFile(
      path.join(confDir, '10-qa.conflist'),
      JSON.stringify({ cniVersion: '1.0.0', name: 'qa', plugins: [{ type: 'rtfake', tlog: sb.log }] }),
    );
    const manager = new NetworkManager({ confDir, pluginDirs: [sb.pluginDir], cacheDir });
    const events: CacheQuarantineEvent[] = [];
    manager.on('cacheQuarantine', (e) => events.push(e));
    const cid = 'teardown-corrupt';
    await manager.setup(cid, '/run/netns/td');
    const cache = new ResultCache(cacheDir);
    const loaded = cache.pathFor({ network: 'qa', containerId: cid, ifName: 'eth0' });
    const vanished = cache.pathFor({ network: 'gone', containerId: cid, ifName: 'eth1' });
    await fs.writeFile(loaded, (await fs.readFile(loaded, 'utf8')).slice(0, 40)); // truncated
    await fs.writeFile(vanished, ''); // empty, of a network no file defines any more

    // Both quarantines also reach the diagnostics channel: one path feeds channel and event.
    const published: string[] = [];
    const onPublish = (m: unknown): void => {
      published.push((m as CacheQuarantineMessage).path);
    };
    subscribe(CHANNELS.cacheQuarantine, onPublish);
    let res: Awaited<ReturnType<typeof manager.teardown>>;
    try {
      res = await manager.teardown(cid, '/run/netns/td');
    } finally {
      unsubscribe(CHANNELS.cacheQuarantine, onPublish);
    }
    assert.deepEqual(published, [loaded, vanished]);
    assert.deepEqual(
      res.detached.map((d) => `${d.network}:${d.source}`),
      ['qa:config'],
    );
    // The loaded network's entry during its DEL, the vanished network's by the final sweep.
    assert.deepEqual(
      events.map((e) => [e.path, e.movedTo]),
      [
        [loaded, `${loaded}.corrupt`],
        [vanished, `${vanished}.corrupt`],
      ],
    );
    assert.deepEqual(
      (await fs.readdir(cache.resultsDir)).sort(),
      [path.basename(`${vanished}.corrupt`), path.basename(`${loaded}.corrupt`)].sort(),
    );
    // A second teardown has nothing left to do and reports nothing new.
    await manager.teardown(cid, '/run/netns/td');
    assert.equal(events.length, 2);
  });
});

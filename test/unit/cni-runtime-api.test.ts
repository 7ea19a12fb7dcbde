// What NetworkManager uses of CNIConfig (the CNI interface): cache identity, quarantine, listing and
// plugin lookup as public methods, and the context an operation hands to its Exec's lookup.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { networkConfFromBytes } from '../../src/config/parse.ts';
import { type ErrorContext, PluginNotFoundError } from '../../src/core/errors.ts';
import { type CNI, CNIConfig } from '../../src/cni/index.ts';
import { FakeExec } from '../../src/testing.ts';

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function cacheDir(): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'libcni-api-'));
  dirs.push(d);
  return d;
}

const list = networkConfFromBytes(
  Buffer.from(JSON.stringify({ cniVersion: '1.0.0', name: 'apinet', plugins: [{ type: 'pass' }] })),
);
const rt = { containerId: 'c7', netns: '/run/netns/c7', ifName: 'eth0' };

test('a cached attachment has an mtime while it exists, is listed and read back by name', async () => {
  const cni: CNI = new CNIConfig({
    path: ['/fake/bin'],
    cacheDir: await cacheDir(),
    exec: new FakeExec().plugin('pass'),
  });
  const key = { network: 'apinet', containerId: 'c7', ifName: 'eth0' };
  assert.equal(await cni.getCachedAttachmentMtime(key), undefined);
  assert.equal(await cni.listCacheEntryNames(), undefined);
  await cni.addNetworkList(list, rt);
  const mtime = await cni.getCachedAttachmentMtime(key);
  assert.equal(typeof mtime, 'bigint');
  assert.ok((mtime as bigint) > 0n);
  assert.deepEqual(await cni.listCacheEntryNames(), ['apinet-c7-eth0']);
  const entry = await cni.readCacheEntry('apinet-c7-eth0');
  assert.ok(entry);
  assert.equal(entry.network, 'apinet');
  assert.equal(entry.netns, '/run/netns/c7');
  assert.equal(await cni.readCacheEntry('../apinet-c7-eth0'), undefined);
  await cni.delNetworkList(list, rt);
  assert.equal(await cni.getCachedAttachmentMtime(key), undefined);
});

test("quarantineCorruptCache moves aside only the container's unreadable entries", async () => {
  const dir = await cacheDir();
  const cni: CNI = new CNIConfig({ path: ['/fake/bin'], cacheDir: dir, exec: new FakeExec().plugin('pass') });
  await cni.addNetworkList(list, rt);
  const results = path.join(dir, 'results');
  await writeFile(path.join(results, 'other-c7-eth1'), '{"kind":');
  await writeFile(path.join(results, 'other-c8-eth0'), 'garbage');
  const moved = await cni.quarantineCorruptCache('c7');
  assert.deepEqual(
    moved.map((q) => [path.basename(q.path), q.movedTo && path.basename(q.movedTo)]),
    [['other-c7-eth1', 'other-c7-eth1.corrupt']],
  );
  assert.deepEqual((await readdir(results)).sort(), [
    'apinet-c7-eth0',
    'other-c7-eth1.corrupt',
    'other-c8-eth0',
  ]);
});

test('findPlugin resolves on the search path and fails as the lookup does', async () => {
  const cni: CNI = new CNIConfig({
    path: ['/fake/bin'],
    cacheDir: await cacheDir(),
    exec: new FakeExec().plugin('pass'),
  });
  assert.equal(await cni.findPlugin('pass'), '/fake/bin/pass');
  await assert.rejects(cni.findPlugin('nope'), (err: Error) => {
    assert.ok(err instanceof PluginNotFoundError);
    assert.equal(err.message, 'failed to find plugin "nope" in path [/fake/bin]');
    return true;
  });
});

test("an operation hands its context to the Exec's lookup, so lookup errors are made with it", async () => {
  const seen: Array<ErrorContext | undefined> = [];
  const fake = new FakeExec().plugin('pass');
  const exec = {
    findInPath: (type: string, paths: readonly string[], context?: ErrorContext) => {
      seen.push(context);
      return fake.findInPath(type, paths, context);
    },
    execPlugin: fake.execPlugin.bind(fake),
  };
  const cni = new CNIConfig({ path: ['/fake/bin'], cacheDir: await cacheDir(), exec });
  await cni.addNetworkList(list, rt);
  assert.deepEqual(seen, [
    { command: 'ADD', plugin: 'pass', network: 'apinet', containerId: 'c7', ifName: 'eth0' },
  ]);
  const missing = networkConfFromBytes(
    Buffer.from(JSON.stringify({ cniVersion: '1.0.0', name: 'apinet', plugins: [{ type: 'gone' }] })),
  );
  await assert.rejects(cni.checkNetworkList(missing, rt), (err: Error) => {
    assert.ok(err instanceof PluginNotFoundError);
    assert.deepEqual(err.context, {
      plugin: 'gone',
      command: 'CHECK',
      network: 'apinet',
      containerId: 'c7',
      ifName: 'eth0',
    });
    return true;
  });
});

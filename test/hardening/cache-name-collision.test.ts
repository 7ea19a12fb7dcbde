// Go names cache files `<network>-<containerId>-<ifName>`: network `n` + container `x-ctr` and
// network `n-x` + container `ctr` share `results/n-x-ctr-eth0`. The entry records whose it is, so
// the second ADD is refused before any plugin runs, and the other's DEL neither uses nor removes it.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { CNIConfig } from '../../src/cni/config.ts';
import { networkConfFromBytes } from '../../src/config/parse.ts';
import { CacheError } from '../../src/core/errors.ts';
import { FakeExec } from '../../src/testing.ts';

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const net = (name: string) =>
  networkConfFromBytes(Buffer.from(JSON.stringify({ cniVersion: '1.0.0', name, plugins: [{ type: 'p' }] })));

test('two attachments mapping to one cache file: the second ADD is refused, the first stays findable', async () => {
  const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'libcni-collide-'));
  dirs.push(cacheDir);
  const exec = new FakeExec().plugin('p', (call) =>
    call.command === 'ADD' ? { result: { cniVersion: '1.0.0', ips: [{ address: '10.1.0.2/24' }] } } : {},
  );
  const cni = new CNIConfig({ path: ['/fake'], cacheDir, exec, cacheSync: 'none' });
  const first = { containerId: 'x-ctr', netns: '/run/netns/a', ifName: 'eth0' };
  const second = { containerId: 'ctr', netns: '/run/netns/b', ifName: 'eth0' };
  await cni.addNetworkList(net('n'), first);
  const file = path.join(cacheDir, 'results', 'n-x-ctr-eth0');
  const before = await readFile(file, 'utf8');

  await assert.rejects(
    cni.addNetworkList(net('n-x'), second),
    (e: unknown) => e instanceof CacheError && /belongs to network "n", container "x-ctr"/.test(e.message),
  );
  assert.equal(exec.callsOf('p', 'ADD').length, 1, 'no plugin ran for the refused ADD');
  assert.equal(await readFile(file, 'utf8'), before, 'the first entry is intact');

  // CHECK of the other attachment does not take the first one's result for its own.
  await assert.rejects(cni.checkNetworkList(net('n-x'), second), /belongs to network "n"/);
  // DEL of the other attachment runs without prevResult and leaves the first one's entry.
  exec.reset();
  await cni.delNetworkList(net('n-x'), second);
  assert.equal(exec.callsOf('p', 'DEL')[0]?.config?.prevResult, undefined);
  assert.equal(await readFile(file, 'utf8'), before);
  const cached = (await cni.getNetworkListCachedResult(net('n'), first)) as { ips?: unknown } | undefined;
  assert.deepEqual(cached?.ips, [{ address: '10.1.0.2/24' }]);

  // The owner's own DEL gets its prevResult and removes the entry.
  exec.reset();
  await cni.delNetworkList(net('n'), first);
  assert.ok(exec.callsOf('p', 'DEL')[0]?.config?.prevResult);
  assert.deepEqual(await readdir(path.join(cacheDir, 'results')), []);
});

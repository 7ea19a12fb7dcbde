// Runtime inputs the attachment cache cannot record (NaN, Infinity, BigInt, a cycle) are refused
// before any plugin runs: otherwise every plugin's ADD succeeds, the cache write fails, and the
// attachment exists with no entry for any DEL or GC to find.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { CNIConfig } from '../../src/cni/config.ts';
import { networkConfFromBytes } from '../../src/config/parse.ts';
import { ValidationError } from '../../src/core/errors.ts';
import { goMarshal } from '../../src/go/json-encode.ts';
import { FakeExec } from '../../src/testing.ts';

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const list = networkConfFromBytes(
  Buffer.from(
    JSON.stringify({ cniVersion: '1.0.0', name: 'capnet', plugins: [{ type: 'p1' }, { type: 'p2' }] }),
  ),
);

const cyclic: Record<string, unknown> = { a: 1 };
cyclic.self = cyclic;

const cases: Array<[string, Record<string, unknown>]> = [
  ['NaN', { unusedCap: Number.NaN }],
  ['Infinity', { unusedCap: [1, Number.POSITIVE_INFINITY] }],
  ['BigInt', { unusedCap: { n: 10n } }],
  ['a cycle', { unusedCap: cyclic }],
];

for (const [label, capabilityArgs] of cases) {
  test(`capability args with ${label}: ValidationError before any plugin runs, nothing cached`, async () => {
    const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'libcni-uncacheable-'));
    dirs.push(cacheDir);
    const exec = new FakeExec().plugin('p1').plugin('p2');
    const cni = new CNIConfig({ path: ['/fake'], cacheDir, exec });
    const rt = { containerId: 'c1', netns: '/run/netns/c1', ifName: 'eth0', capabilityArgs };
    await assert.rejects(
      cni.addNetworkList(list, rt),
      (e: unknown) => e instanceof ValidationError && e.field === 'capabilityArgs' && e.code === 4,
    );
    assert.deepEqual(exec.calls, [], 'no plugin ran');
    assert.deepEqual(await readdir(cacheDir).catch(() => []), []);
  });
}

test('the cache encoder refuses a cycle instead of growing forever, and shares repeated objects', () => {
  assert.throws(() => goMarshal(cyclic), /encountered a cycle/);
  const shared = { k: 1 };
  assert.equal(goMarshal({ a: shared, b: [shared, shared] }), '{"a":{"k":1},"b":[{"k":1},{"k":1}]}');
});

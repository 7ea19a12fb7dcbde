// How the cache replaces a file (src/cache/own-file.ts): with `sync: 'none'` an existing file is
// swapped with the temp file (renameat2 RENAME_EXCHANGE through the addon) and the old content
// unlinked; where the swap is refused (no such target, a file system without it, no addon) it is a
// plain rename. Either way: the new content in place, no temp file left, the old inode gone.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type NativeBinding, sharedNativeBinding } from '../../src/core/native-binding.ts';
import { TEMP_PREFIX } from '../../src/cache/entry.ts';
import { atomicWrite } from '../../src/cache/own-file.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'libcni-ownfile-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

const binding = sharedNativeBinding();
const realSwap = binding?.renameExchange;

/** Count the swaps, answering with `answer` (undefined: do the real swap). */
function spyOnSwap(answer?: number): { calls: Array<[string, string]> } {
  const spy = { calls: [] as Array<[string, string]> };
  (binding as NativeBinding).renameExchange = (from, to) => {
    spy.calls.push([from, to]);
    return answer ?? (realSwap as (a: string, b: string) => number)(from, to);
  };
  return spy;
}

afterEach(() => {
  if (binding !== undefined) binding.renameExchange = realSwap;
});

function fresh(name: string, content?: string): string {
  const file = path.join(dir, name);
  rmSync(file, { force: true });
  if (content !== undefined) writeFileSync(file, content);
  return file;
}

function onlyEntry(file: string): void {
  assert.ok(readdirSync(dir).includes(path.basename(file)));
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.startsWith(TEMP_PREFIX)),
    [],
    'no temp file is left beside the entry',
  );
}

describe('atomicWrite replaces a file', () => {
  test('the addon is built here and has the swap (CI builds it; a missing one would hide the path below)', () => {
    assert.equal(typeof realSwap, 'function');
  });

  test("sync 'none' over an existing file swaps the names, then unlinks the old content", async () => {
    const file = fresh('a-swap', 'old intent record');
    const oldIno = statSync(file).ino;
    const spy = spyOnSwap();
    await atomicWrite(file, 'the result', 'none');
    assert.equal(spy.calls.length, 1);
    assert.equal(spy.calls[0]?.[1], file);
    assert.equal(readFileSync(file, 'utf8'), 'the result');
    assert.notEqual(statSync(file).ino, oldIno);
    onlyEntry(file);
  });

  test('a missing target is refused by the swap (ENOENT) and renamed into place', async () => {
    const file = fresh('a-new');
    const spy = spyOnSwap();
    await atomicWrite(file, 'first entry', 'none');
    assert.equal(spy.calls.length, 1, 'the swap was tried');
    assert.equal(readFileSync(file, 'utf8'), 'first entry');
    onlyEntry(file);
  });

  test('a file system without the swap (EINVAL) gets a plain rename', async () => {
    const file = fresh('a-noswap', 'old');
    const spy = spyOnSwap(-22);
    await atomicWrite(file, 'new', 'none');
    assert.equal(spy.calls.length, 1);
    assert.equal(readFileSync(file, 'utf8'), 'new');
    onlyEntry(file);
  });

  test("a flushed write ('file', 'full') renames: its blocks are written first anyway", async () => {
    for (const sync of ['file', 'full'] as const) {
      const file = fresh(`a-${sync}`, 'old');
      const spy = spyOnSwap();
      await atomicWrite(file, sync, sync);
      assert.equal(spy.calls.length, 0);
      assert.equal(readFileSync(file, 'utf8'), sync);
      onlyEntry(file);
    }
  });

  test('with native code off (LIBCNI_NATIVE_SPAWNER=off) the addon is not loaded and writes rename', () => {
    const file = fresh('a-off', 'old');
    const src = fileURLToPath(new URL('../../src/', import.meta.url));
    const script = `
      import { atomicWrite } from ${JSON.stringify(path.join(src, 'cache/own-file.ts'))};
      import { sharedNativeBinding } from ${JSON.stringify(path.join(src, 'core/native-binding.ts'))};
      await atomicWrite(${JSON.stringify(file)}, 'written without the addon', 'none');
      console.log(JSON.stringify({ binding: sharedNativeBinding() === undefined ? 'none' : 'loaded' }));
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, LIBCNI_NATIVE_SPAWNER: 'off' },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /"binding":"none"/);
    assert.equal(readFileSync(file, 'utf8'), 'written without the addon');
    onlyEntry(file);
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import {
  isValidNetnsName,
  MAX_NETNS_NAME_LENGTH,
  randomNetnsName,
  validateNetnsName,
} from '../../src/netns/name.ts';
import { createNetns, deleteNetns } from '../../src/netns/netns.ts';
import { NetnsError } from '../../src/core/runtime-errors.ts';

const tmpDirs: string[] = [];
after(async () => {
  for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
});

test('accepts safe file names up to 64 characters', () => {
  for (const n of ['a', 'cni-0123456789abcdef', 'A.b_c-9', '0', 'x'.repeat(MAX_NETNS_NAME_LENGTH)]) {
    assert.equal(isValidNetnsName(n), true, n);
    validateNetnsName(n);
  }
});

test('refuses names that are not safe file names', () => {
  const bad = [
    '',
    '.',
    '..',
    '.hidden',
    '-n',
    '_x',
    'a/b',
    '../etc',
    'a b',
    'tab\tname',
    'new\nline',
    'nul\0',
    'x'.repeat(MAX_NETNS_NAME_LENGTH + 1),
    'ünicode',
    'semi;colon',
    '$(id)',
  ];
  for (const n of bad) {
    assert.equal(isValidNetnsName(n), false, JSON.stringify(n));
    assert.throws(
      () => {
        validateNetnsName(n);
      },
      (e: unknown) =>
        e instanceof NetnsError && e.reason === 'EINVAL' && e.message.includes(JSON.stringify(n)),
    );
  }
});

test('random names are cni- plus 16 hex digits, valid, and differ', () => {
  const names = new Set<string>();
  for (let i = 0; i < 100; i++) {
    const n = randomNetnsName();
    assert.match(n, /^cni-[0-9a-f]{16}$/);
    assert.equal(isValidNetnsName(n), true);
    names.add(n);
  }
  assert.equal(names.size, 100);
});

test('createNetns rejects a bad name before touching the disk', async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'libcni-'));
  tmpDirs.push(root);
  const baseDir = path.join(root, 'ns');
  for (const n of ['../escape', '', '.x', 'a/b']) {
    await assert.rejects(
      createNetns(n, { baseDir }),
      (e: unknown) => e instanceof NetnsError && e.reason === 'EINVAL',
    );
  }
  // baseDir would have been created by any attempt that got further than validation
  assert.deepEqual(await readdir(root), []);
});

test('deleteNetns rejects a bad name (no slash) with EINVAL', async () => {
  await assert.rejects(deleteNetns('..'), (e: unknown) => e instanceof NetnsError && e.reason === 'EINVAL');
  await assert.rejects(deleteNetns('-rf'), (e: unknown) => e instanceof NetnsError && e.reason === 'EINVAL');
});

test('bad options are EINVAL', async () => {
  const opts = { mechanism: 'bogus' } as unknown as Parameters<typeof createNetns>[1];
  await assert.rejects(
    createNetns('x', opts),
    (e: unknown) => e instanceof NetnsError && e.reason === 'EINVAL',
  );
  await assert.rejects(
    createNetns('x', { timeoutMs: 0 }),
    (e: unknown) => e instanceof NetnsError && e.reason === 'EINVAL',
  );
  await assert.rejects(
    createNetns('x', { baseDir: '' }),
    (e: unknown) => e instanceof NetnsError && e.reason === 'EINVAL',
  );
});

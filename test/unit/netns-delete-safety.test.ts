import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { deleteNetns, listNetns, netnsExists } from '../../src/netns/netns.ts';
import { NetnsError } from '../../src/core/runtime-errors.ts';

// No root and no namespaces needed: these pin down what deleteNetns refuses to touch.
let root = '';
let baseDir = '';
let outside = '';

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'libcni-'));
  baseDir = path.join(root, 'netns');
  outside = path.join(root, 'outside');
  await mkdir(baseDir);
  await mkdir(outside);
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const refused = (e: unknown): boolean => e instanceof NetnsError && e.reason === 'ENOTNETNS';

async function present(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}

test('refuses to delete a regular file outside baseDir, and leaves it alone', async () => {
  const victim = path.join(outside, 'important');
  await writeFile(victim, 'keep me');
  await assert.rejects(deleteNetns(victim, { baseDir }), refused);
  assert.equal(await readFile(victim, 'utf8'), 'keep me');
  // an empty file is not an nsfs mount either
  const empty = path.join(outside, 'empty');
  await writeFile(empty, '');
  await assert.rejects(deleteNetns(empty, { baseDir }), refused);
  assert.equal(await present(empty), true);
});

test('refuses a path that reaches outside baseDir through .. or a symlinked directory', async () => {
  const victim = path.join(outside, 'victim');
  await writeFile(victim, 'x');
  await assert.rejects(deleteNetns(path.join(baseDir, '..', 'outside', 'victim'), { baseDir }), refused);
  await symlink(outside, path.join(baseDir, 'linkdir'));
  await assert.rejects(deleteNetns(path.join(baseDir, 'linkdir', 'victim'), { baseDir }), refused);
  assert.equal(await present(victim), true);
});

test('a symlink inside baseDir is removed without touching its target', async () => {
  const target = path.join(outside, 'target');
  await writeFile(target, 'x');
  await symlink(target, path.join(baseDir, 'link'));
  await deleteNetns('link', { baseDir });
  assert.equal(await present(path.join(baseDir, 'link')), false);
  assert.equal(await readFile(target, 'utf8'), 'x');
});

test('a leftover placeholder inside baseDir (not mounted) is removed', async () => {
  const leftover = path.join(baseDir, 'leftover');
  await writeFile(leftover, '', { mode: 0 });
  assert.deepEqual(await listNetns({ baseDir }), []);
  await deleteNetns('leftover', { baseDir });
  assert.equal(await present(leftover), false);
});

test('refuses to delete a directory inside baseDir', async () => {
  await mkdir(path.join(baseDir, 'adir'));
  await assert.rejects(deleteNetns('adir', { baseDir }), refused);
  assert.equal(await present(path.join(baseDir, 'adir')), true);
});

test('missing namespaces, files and directories are not an error', async () => {
  await deleteNetns('never-created', { baseDir });
  await deleteNetns(path.join(outside, 'nothing'), { baseDir });
  await deleteNetns(path.join(root, 'no', 'such', 'dir', 'x'), { baseDir });
  await deleteNetns('x', { baseDir: path.join(root, 'missing-base') });
});

test('netnsExists is false for plain files, directories and missing paths', async () => {
  const f = path.join(outside, 'plain');
  await writeFile(f, '');
  assert.equal(await netnsExists(f), false);
  assert.equal(await netnsExists(outside), false);
  assert.equal(await netnsExists(path.join(root, 'missing')), false);
  assert.equal(await netnsExists(path.join(f, 'below-a-file')), false);
});

test("netnsExists is true for this process's own /proc network namespace link", async () => {
  assert.equal(await netnsExists('/proc/self/ns/net'), true);
  // another kind of namespace is not a network namespace
  assert.equal(await netnsExists('/proc/self/ns/mnt'), false);
});

test('listNetns of a missing directory is empty', async () => {
  assert.deepEqual(await listNetns({ baseDir: path.join(root, 'nope') }), []);
});

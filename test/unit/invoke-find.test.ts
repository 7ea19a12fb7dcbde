// I10: FindInPath — lookup order, regular files only, Go's error texts.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findInPath } from '../../src/invoke/find.ts';
import { PluginNotFoundError } from '../../src/core/errors.ts';

describe('findInPath', () => {
  let root: string;
  let a: string;
  let b: string;

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'libcni-'));
    a = path.join(root, 'a');
    b = path.join(root, 'b');
    await mkdir(a);
    await mkdir(b);
    await writeFile(path.join(b, 'bridge'), '#!/bin/sh\n', { mode: 0o755 });
    await writeFile(path.join(a, 'bridge'), '#!/bin/sh\n', { mode: 0o755 });
    // Not executable: found anyway, as in Go (the spawn reports EACCES later).
    await writeFile(path.join(b, 'noexec'), '#!/bin/sh\n', { mode: 0o644 });
    // A directory with the plugin's name is skipped, the file in the next dir wins.
    await mkdir(path.join(a, 'host-local'));
    await writeFile(path.join(b, 'host-local'), '#!/bin/sh\n');
    await symlink(path.join(b, 'bridge'), path.join(a, 'linked'));
    await symlink(path.join(root, 'missing'), path.join(a, 'dangling'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  test('the first directory that holds a regular file wins', async () => {
    assert.equal(await findInPath('bridge', [a, b]), path.join(a, 'bridge'));
    assert.equal(await findInPath('bridge', [b, a]), path.join(b, 'bridge'));
    assert.equal(await findInPath('host-local', [a, b]), path.join(b, 'host-local'));
  });

  test('no execute-bit check; symlinks are followed', async () => {
    assert.equal(await findInPath('noexec', [a, b]), path.join(b, 'noexec'));
    assert.equal(await findInPath('linked', [a]), path.join(a, 'linked'));
  });

  test('not found: Go text with the paths formatted as a Go slice', async () => {
    await assert.rejects(findInPath('does-not-exist', [a, b]), (err: unknown) => {
      assert.ok(err instanceof PluginNotFoundError);
      assert.equal(err.message, `failed to find plugin "does-not-exist" in path [${a} ${b}]`);
      assert.equal(err.reason, 'not-found');
      assert.deepEqual(err.paths, [a, b]);
      return true;
    });
    await assert.rejects(findInPath('dangling', [a]), { reason: 'not-found' });
  });

  test('refuses empty names, path separators, NUL and ".." before looking', async () => {
    await assert.rejects(findInPath('', [a]), { message: 'no plugin name provided', reason: 'no-name' });
    await assert.rejects(findInPath('a/bridge', [root]), {
      message: 'invalid plugin name: a/bridge',
      reason: 'invalid-name',
    });
    await assert.rejects(findInPath('../b/bridge', [a]), { reason: 'invalid-name' });
    await assert.rejects(findInPath('..', [a]), {
      message: 'invalid plugin name: ..',
      reason: 'invalid-name',
    });
    await assert.rejects(findInPath('bri\0dge', [a]), { reason: 'invalid-name' });
  });

  test('refuses an empty path list', async () => {
    await assert.rejects(findInPath('bridge', []), { message: 'no paths provided', reason: 'no-paths' });
  });
});

// Config directories holding what no config file should be: a symlink to a FIFO (which would block
// a plain read forever), to /dev/zero (endless), a file over the size limit. Loading must settle,
// report each as a broken file naming it, and keep the good networks.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { loadNetworkConf, loadNetworkConfDir, MAX_CONFIG_FILE_BYTES } from '../../src/config/load.ts';
import { ConfigError } from '../../src/core/errors.ts';

let dir = '';
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'libcni-hostile-'));
  execFileSync('mkfifo', [path.join(dir, 'the-fifo')]);
  await symlink(path.join(dir, 'the-fifo'), path.join(dir, '10-fifo.conflist'));
  await symlink('/dev/zero', path.join(dir, '20-zero.conflist'));
  await writeFile(path.join(dir, '30-huge.conflist'), '');
  await truncate(path.join(dir, '30-huge.conflist'), MAX_CONFIG_FILE_BYTES + 1);
  await writeFile(
    path.join(dir, '40-good.conflist'),
    '{"cniVersion":"1.0.0","name":"good","plugins":[{"type":"x"}]}',
  );
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

// A hang is the failure being tested: the timeout turns it into a failed test instead of a stuck run.
test('loadNetworkConfDir settles, reports the three files by name and keeps the good network', {
  timeout: 20_000,
}, async () => {
  const r = await loadNetworkConfDir(dir);
  assert.deepEqual(
    r.networks.map((n) => n.list.name),
    ['good'],
  );
  const errors = new Map(r.errors.map((e) => [path.basename(e.file), e.error.message]));
  assert.match(errors.get('10-fifo.conflist') ?? '', /10-fifo\.conflist: not a regular file/);
  assert.match(errors.get('20-zero.conflist') ?? '', /20-zero\.conflist: not a regular file/);
  assert.match(
    errors.get('30-huge.conflist') ?? '',
    /30-huge\.conflist: file too large \(over 1048576 bytes\)/,
  );
});

test('loadNetworkConf fails on the first hostile file in Go order, with a ConfigError naming it', {
  timeout: 20_000,
}, async () => {
  await assert.rejects(
    loadNetworkConf(dir, 'good'),
    (e: unknown) => e instanceof ConfigError && /10-fifo\.conflist/.test(e.message),
  );
});

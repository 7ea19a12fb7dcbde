/**
 * Attacks on namespace deletion and create/delete races (root only): a symlink planted where a
 * namespace file should be must never get its target unmounted, and concurrent calls on one name
 * must resolve cleanly. Names carry the pid; the after hook removes whatever is left.
 */
import assert from 'node:assert/strict';
import { constants, existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, open, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, type TestContext, test } from 'node:test';
import { createNetns, DEFAULT_NETNS_DIR, deleteNetns, netnsExists } from '../../src/netns/netns.ts';
import { detachPin } from '../../src/netns/pin.ts';
import { findHelper } from '../../src/netns/run-helper.ts';
import { mountsAt, mountsUnder, present, sh } from '../helpers/host.ts';

const PREFIX = `libcni-atk-${String(process.pid)}`;
let seq = 0;
const uniqueName = (label: string): string => `${PREFIX}-${label}-${String(++seq)}`;
const O_PATH = 0o10000000;

const skipReason =
  process.getuid?.() !== 0
    ? 'needs root (CAP_SYS_ADMIN) to mount and create network namespaces'
    : !(await findHelper('ip')) || !(await findHelper('unshare'))
      ? 'needs ip (Debian package iproute2) and unshare (Debian package util-linux)'
      : undefined;
if (skipReason) console.warn(`\n*** netns attack tests SKIPPED: ${skipReason} ***\n`);
function skipped(t: TestContext): boolean {
  // As root, the only reasons left name a package to install: fail, do not skip.
  if (skipReason && process.getuid?.() === 0)
    assert.fail(`cannot run here: ${skipReason}; install it (the README's set-up line)`);
  if (skipReason) t.skip(`SKIPPED: ${skipReason}`);
  return skipReason !== undefined;
}

const tmpDirs: string[] = [];
const leftovers = new Set<string>(); // files in /run/netns a test may leave

async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'libcni-atk-'));
  tmpDirs.push(d);
  return d;
}

/** A tmpfs mounted on a fresh directory: the mount an attacker wants detached. */
async function victimMount(): Promise<string> {
  const dir = path.join(await tempDir(), 'victim');
  await mkdir(dir);
  const r = sh(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'libcni-victim', dir]);
  assert.equal(r.status, 0, r.stderr);
  return dir;
}

after(() => {
  for (const p of leftovers) {
    if (mountsAt(p).length > 0) sh(['umount', '-l', p]);
    sh(['rm', '-f', '--', p]);
  }
  for (const d of tmpDirs) {
    for (let i = 0; i < 16 && mountsUnder(d).length > 0; i++) {
      for (const p of mountsUnder(d)) sh(['umount', '-l', p]);
    }
    sh(['rm', '-rf', '--', d]);
  }
  const left = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(PREFIX) || tmpDirs.some((d) => l.includes(d)));
  assert.deepEqual(left, [], 'mounts left behind');
});

test('a symlink in /run/netns to a mount point: the link is removed, the mount stays', async (t) => {
  if (skipped(t)) return;
  const victim = await victimMount();
  const name = uniqueName('link');
  const link = path.join(DEFAULT_NETNS_DIR, name);
  await mkdir(DEFAULT_NETNS_DIR, { recursive: true });
  leftovers.add(link);
  await symlink(victim, link);
  await deleteNetns(name);
  assert.equal(await present(link), false, 'the planted link is gone');
  assert.equal(mountsAt(victim).length, 1, 'the link target is still mounted');
});

test('the same through cnitool netns del', async (t) => {
  if (skipped(t)) return;
  const victim = await victimMount();
  const name = uniqueName('cli');
  const link = path.join(DEFAULT_NETNS_DIR, name);
  await mkdir(DEFAULT_NETNS_DIR, { recursive: true });
  leftovers.add(link);
  await symlink(victim, link);
  const main = path.resolve(import.meta.dirname, '../../src/cli/main.ts');
  const r = sh([process.execPath, '--import', 'tsx', main, 'netns', 'del', name]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(await present(link), false);
  assert.equal(mountsAt(victim).length, 1, 'the link target is still mounted');
});

test('a symlink to another pinned namespace or a mounted file: nothing but the link goes', async (t) => {
  if (skipped(t)) return;
  const baseDir = path.join(await tempDir(), 'netns');
  const elsewhere = await tempDir();
  const other = await createNetns(uniqueName('other'), { baseDir: elsewhere });
  const file = path.join(elsewhere, 'bound');
  await writeFile(file, 'x');
  assert.equal(sh(['mount', '--bind', '/etc/hostname', file]).status, 0);
  await mkdir(baseDir, { recursive: true });
  for (const [i, target] of [other.path, file].entries()) {
    const link = path.join(baseDir, `l${String(i)}`);
    await symlink(target, link);
    await deleteNetns(`l${String(i)}`, { baseDir, mechanism: 'unshare' });
    assert.equal(await present(link), false);
  }
  assert.equal(await netnsExists(other.path), true, 'the other namespace is still pinned');
  assert.equal(mountsAt(file).length, 1, 'the bind-mounted file is still mounted');
  // Outside baseDir a symlink is refused outright.
  const outsideLink = path.join(elsewhere, 'outside-link');
  await symlink(other.path, outsideLink);
  await assert.rejects(deleteNetns(outsideLink, { baseDir }), /ENOTNETNS|refusing/);
  assert.equal(await netnsExists(other.path), true);
  await deleteNetns(other.path, { baseDir: elsewhere });
});

test('the unmount goes through the descriptor it checked, never through a path', async (t) => {
  if (skipped(t)) return;
  const dir = await tempDir();
  const pinned = path.join(dir, 'pinned');
  await writeFile(pinned, '');
  assert.equal(sh(['unshare', `--net=${pinned}`, 'true']).status, 0);
  const victim = await victimMount();
  // What deleteNetns holds after its checks: a descriptor on the namespace mount. Whatever the
  // path names by the time of the unmount (here: a symlink to the victim), the descriptor decides.
  const handle = await open(pinned, O_PATH | constants.O_NOFOLLOW);
  const link = path.join(dir, 'link');
  await symlink(victim, link);
  await detachPin(handle, link, 10_000);
  assert.equal(mountsAt(victim).length, 1, 'the symlink target is still mounted');
  assert.deepEqual(mountsAt(pinned), [], 'the namespace the descriptor refers to is detached');
});

test('concurrent deletes of one namespace all resolve (unshare mechanism)', async (t) => {
  if (skipped(t)) return;
  const baseDir = path.join(await tempDir(), 'netns');
  for (let round = 0; round < 8; round++) {
    const ns = await createNetns(uniqueName('del'), { baseDir, mechanism: 'unshare' });
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, () => deleteNetns(ns.name, { baseDir, mechanism: 'unshare' })),
    );
    assert.deepEqual(
      results.filter((r) => r.status === 'rejected').map((r) => String(r.reason)),
      [],
    );
    assert.equal(await present(ns.path), false);
    assert.deepEqual(mountsAt(ns.path), []);
  }
});

for (const mechanism of ['unshare', 'auto'] as const) {
  test(`create/delete churn on one name runs in call order, never stacking namespaces (${mechanism})`, async (t) => {
    if (skipped(t)) return;
    const baseDir = mechanism === 'auto' ? DEFAULT_NETNS_DIR : path.join(await tempDir(), 'netns');
    for (let round = 0; round < 5; round++) {
      const name = uniqueName('churn');
      const nsPath = path.join(baseDir, name);
      leftovers.add(nsPath);
      const opts = { baseDir, mechanism };
      const calls = [
        createNetns(name, opts),
        deleteNetns(name, opts),
        createNetns(name, opts),
        deleteNetns(name, opts),
        createNetns(name, opts),
      ];
      const results = await Promise.allSettled(calls);
      assert.deepEqual(
        results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok')),
        ['ok', 'ok', 'ok', 'ok', 'ok'],
      );
      assert.equal(mountsAt(nsPath).length, 1, 'exactly one namespace pinned on the path');
      // Of concurrent creates of one name, exactly one wins.
      const creates = await Promise.allSettled([1, 2, 3, 4].map(() => createNetns(name, opts)));
      assert.equal(creates.filter((r) => r.status === 'fulfilled').length, 0, 'it exists already');
      await deleteNetns(name, opts);
      const fresh = await Promise.allSettled([1, 2, 3, 4].map(() => createNetns(name, opts)));
      assert.equal(fresh.filter((r) => r.status === 'fulfilled').length, 1);
      assert.equal(mountsAt(nsPath).length, 1);
      await deleteNetns(name, opts);
      assert.equal(existsSync(nsPath), false);
    }
  });
}

/**
 * Real network namespaces (root only). Every test creates uniquely named namespaces (the pid is in
 * the name) and the `after` hook removes whatever is left, including the temp directory's bind
 * mount and /run/netns itself when this run created it and nobody else uses it.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { chmod, mkdtemp, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, type TestContext, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { findHelper } from '../../src/netns/run-helper.ts';
import { mountsAt, mountsUnder, present, sh } from '../helpers/host.ts';
import {
  createNetns,
  DEFAULT_NETNS_DIR,
  deleteNetns,
  listNetns,
  netnsExists,
} from '../../src/netns/netns.ts';
import { NetnsError } from '../../src/core/runtime-errors.ts';

const PREFIX = `libcni-it-${String(process.pid)}`;
let seq = 0;
const uniqueName = (label: string): string => `${PREFIX}-${label}-${String(++seq)}`;

const isRoot = process.getuid?.() === 0;
const ip = await findHelper('ip');
const unshare = await findHelper('unshare');
const missing = [!ip && 'ip (Debian package iproute2)', !unshare && 'unshare (Debian package util-linux)']
  .filter(Boolean)
  .join(', ');
const skipReason = !isRoot
  ? 'needs root (CAP_SYS_ADMIN) to create network namespaces'
  : missing
    ? `needs ${missing}`
    : undefined;
if (skipReason) console.warn(`\n*** netns integration tests SKIPPED: ${skipReason} ***\n`);

function skipped(t: TestContext): boolean {
  // As root, the only reasons left name a package to install: fail, do not skip.
  if (skipReason && process.getuid?.() === 0)
    assert.fail(`cannot run here: ${skipReason}; install it (the README's set-up line)`);
  if (skipReason) t.skip(`SKIPPED: ${skipReason}`);
  return skipReason !== undefined;
}

// Everything a test may have created, for the after hook.
const nsPaths = new Set<string>();
const tmpDirs: string[] = [];
const runNetnsExisted = existsSync(DEFAULT_NETNS_DIR);

function ipNetnsList(): string[] {
  const r = sh(['ip', 'netns', 'list']);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split(' ')[0]!);
}

/** The namespace inode as seen from inside it: proves the file really pins a network namespace. */
function netnsIdVia(nsPath: string): string {
  const r = sh(['nsenter', `--net=${nsPath}`, 'readlink', '/proc/self/ns/net']);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

async function track(p: Promise<{ name: string; path: string }>): Promise<{ name: string; path: string }> {
  const ns = await p;
  nsPaths.add(ns.path);
  return ns;
}

after(() => {
  for (const p of nsPaths) {
    if (mountsAt(p).length > 0) sh(['umount', '-l', p]);
    try {
      if (existsSync(p)) sh(['rm', '-f', '--', p]);
    } catch {
      // keep going: the other leftovers still need removing
    }
  }
  for (const d of tmpDirs) {
    // Unmount everything at or below the temp dir (the netns files, the baseDir's self bind
    // mount), deepest first, so that rm -rf can remove it.
    for (let i = 0; i < 16; i++) {
      const below = mountsUnder(d);
      if (below.length === 0) break;
      for (const p of below) sh(['umount', '-l', p]);
    }
    sh(['rm', '-rf', '--', d]);
  }
  if (!runNetnsExisted && existsSync(DEFAULT_NETNS_DIR) && readdirSync(DEFAULT_NETNS_DIR).length === 0) {
    // Plain umount: it refuses if someone else has started pinning namespaces there meanwhile.
    if (mountsAt(DEFAULT_NETNS_DIR).length > 0) sh(['umount', DEFAULT_NETNS_DIR]);
    sh(['rmdir', DEFAULT_NETNS_DIR]);
  }
  const left = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(PREFIX) || tmpDirs.some((d) => l.includes(d)));
  assert.deepEqual(left, [], 'mounts left behind');
  assert.deepEqual(
    tmpDirs.filter((d) => existsSync(d)),
    [],
    'temp dirs left behind',
  );
});

test('named namespace in /run/netns: create, verify with ip and nsenter, list, delete twice', async (t) => {
  if (skipped(t)) return;
  const name = uniqueName('named');
  const ns = await track(createNetns(name));
  assert.deepEqual(ns, { name, path: path.join(DEFAULT_NETNS_DIR, name) });

  assert.equal(await netnsExists(ns.path), true);
  assert.ok(ipNetnsList().includes(name), 'ip netns list shows it');
  const lo = sh(['ip', '-n', name, 'link', 'show', 'lo']);
  assert.equal(lo.status, 0, lo.stderr);
  assert.match(lo.stdout, /\blo\b/);
  assert.equal(sh(['nsenter', `--net=${ns.path}`, 'true']).status, 0);
  assert.notEqual(netnsIdVia(ns.path), readlinkSync('/proc/self/ns/net'));
  assert.ok((await listNetns()).some((e) => e.name === name && e.path === ns.path));

  await deleteNetns(name);
  assert.equal(await present(ns.path), false);
  assert.equal(await netnsExists(ns.path), false);
  assert.equal(mountsAt(ns.path).length, 0);
  assert.ok(!ipNetnsList().includes(name));
  await deleteNetns(name); // twice: not an error
  await deleteNetns(ns.path);
});

test('an existing name is refused with EEXIST and the existing namespace is untouched', async (t) => {
  if (skipped(t)) return;
  const name = uniqueName('dup');
  const ns = await track(createNetns(name));
  const before = netnsIdVia(ns.path);
  for (const mechanism of ['auto', 'ip', 'unshare'] as const) {
    await assert.rejects(
      createNetns(name, { mechanism }),
      (e: unknown) =>
        e instanceof NetnsError && e.reason === 'EEXIST' && e.message.includes('already exists'),
    );
  }
  assert.equal(netnsIdVia(ns.path), before);
  assert.equal(mountsAt(ns.path).length, 1);
  await deleteNetns(name);
});

test('random name: cni- plus 16 hex digits in /run/netns', async (t) => {
  if (skipped(t)) return;
  const ns = await track(createNetns());
  assert.match(ns.name, /^cni-[0-9a-f]{16}$/);
  assert.equal(ns.path, path.join(DEFAULT_NETNS_DIR, ns.name));
  assert.equal(await netnsExists(ns.path), true);
  assert.ok(ipNetnsList().includes(ns.name));
  await deleteNetns(ns.path);
  assert.equal(await present(ns.path), false);
});

test('both mechanisms in /run/netns, each deleting what the other made', async (t) => {
  if (skipped(t)) return;
  const a = await track(createNetns(uniqueName('by-unshare'), { mechanism: 'unshare' }));
  const b = await track(createNetns(uniqueName('by-ip'), { mechanism: 'ip' }));
  for (const ns of [a, b]) {
    assert.equal(await netnsExists(ns.path), true);
    assert.ok(ipNetnsList().includes(ns.name));
    assert.equal(sh(['ip', '-n', ns.name, 'link', 'show', 'lo']).status, 0);
  }
  await deleteNetns(a.name, { mechanism: 'ip' });
  await deleteNetns(b.name, { mechanism: 'unshare' });
  for (const ns of [a, b]) {
    assert.equal(await present(ns.path), false);
    assert.equal(mountsAt(ns.path).length, 0);
  }
});

test('custom temp baseDir: shared bind mount, create, list, nsenter, delete twice', async (t) => {
  if (skipped(t)) return;
  const root = await mkdtemp(path.join(os.tmpdir(), 'libcni-'));
  tmpDirs.push(root);
  const baseDir = path.join(root, 'netns');
  const n1 = await track(createNetns(uniqueName('custom'), { baseDir }));
  const n2 = await track(createNetns(undefined, { baseDir }));
  assert.equal(n1.path, path.join(baseDir, n1.name));

  // set up like iproute2's directory: a mount point of its own, with shared propagation
  const dirMounts = mountsAt(baseDir);
  assert.equal(dirMounts.length, 1, 'exactly one self bind mount');
  assert.match(dirMounts[0]!, / shared:\d+/);

  assert.deepEqual(
    (await listNetns({ baseDir })).map((e) => e.path),
    [n1, n2].map((e) => e.path).sort(),
  );
  assert.ok(!ipNetnsList().includes(n1.name), 'not in iproute2 directory');
  assert.ok(!(await listNetns()).some((e) => e.name === n1.name));
  assert.equal(await netnsExists(n1.path), true);
  assert.notEqual(netnsIdVia(n1.path), netnsIdVia(n2.path));
  const lo = sh(['nsenter', `--net=${n1.path}`, 'ip', 'link', 'show', 'lo']);
  assert.equal(lo.status, 0, lo.stderr);

  await assert.rejects(
    createNetns(n1.name, { baseDir }),
    (e: unknown) => e instanceof NetnsError && e.reason === 'EEXIST',
  );
  await assert.rejects(
    createNetns(uniqueName('x'), { baseDir, mechanism: 'ip' }),
    (e: unknown) => e instanceof NetnsError && e.reason === 'EINVAL',
  );

  await deleteNetns(n1.name, { baseDir });
  await deleteNetns(n1.name, { baseDir });
  await deleteNetns(n2.path, { baseDir });
  await deleteNetns(n2.path, { baseDir });
  assert.deepEqual(await listNetns({ baseDir }), []);
  for (const ns of [n1, n2]) {
    assert.equal(await present(ns.path), false);
    assert.equal(mountsAt(ns.path).length, 0);
  }
  // a second create reuses the mount instead of stacking another one
  const n3 = await track(createNetns(uniqueName('again'), { baseDir }));
  assert.equal(mountsAt(baseDir).length, 1);
  await deleteNetns(n3.name, { baseDir });
});

test('an nsfs mount outside baseDir may be deleted by path', async (t) => {
  if (skipped(t)) return;
  const root = await mkdtemp(path.join(os.tmpdir(), 'libcni-'));
  tmpDirs.push(root);
  const elsewhere = await track(createNetns(uniqueName('elsewhere'), { baseDir: root }));
  // default baseDir: the path is outside it, but it is a network namespace mount
  await deleteNetns(elsewhere.path);
  assert.equal(await present(elsewhere.path), false);
  assert.equal(mountsAt(elsewhere.path).length, 0);
});

test('without CAP_SYS_ADMIN: EPERM saying root is needed, nothing created', async (t) => {
  if (skipped(t)) return;
  const root = await mkdtemp(path.join(os.tmpdir(), 'libcni-'));
  tmpDirs.push(root);
  await chmod(root, 0o777);
  const baseDir = path.join(root, 'netns');
  const mod = new URL('../../src/netns/netns.ts', import.meta.url).href;
  const script = `
    import { createNetns } from ${JSON.stringify(mod)};
    try { await createNetns('x', { baseDir: ${JSON.stringify(baseDir)} }); console.log('{"created":true}'); }
    catch (e) { console.log(JSON.stringify({ name: e.name, reason: e.reason, message: e.message })); }`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    uid: 65534,
    gid: 65534,
    env: { ...process.env, HOME: root },
    timeout: 30_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(out.name, 'NetnsError');
  assert.equal(out.reason, 'EPERM');
  assert.match(out.message, /creating network namespaces needs root \(CAP_SYS_ADMIN\)/);
  assert.equal(await present(baseDir), false);
});

test('netnsExists is false for a pinned namespace of another kind', async (t) => {
  if (skipped(t)) return;
  const root = await mkdtemp(path.join(os.tmpdir(), 'libcni-'));
  tmpDirs.push(root);
  const uts = path.join(root, 'uts');
  sh(['touch', uts]);
  nsPaths.add(uts);
  const r = sh(['unshare', `--uts=${uts}`, 'true']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal((await stat(uts)).isFile(), true);
  assert.equal(await netnsExists(uts), false);
  // and deleteNetns refuses it outside baseDir: it is not a network namespace
  await assert.rejects(deleteNetns(uts), (e: unknown) => e instanceof NetnsError && e.reason === 'ENOTNETNS');
  assert.equal(sh(['umount', uts]).status, 0);
});

test('concurrent creates in a fresh baseDir set it up once', async (t) => {
  if (skipped(t)) return;
  const root = await mkdtemp(path.join(os.tmpdir(), 'libcni-'));
  tmpDirs.push(root);
  const baseDir = path.join(root, 'fresh');
  const made = await Promise.all([1, 2, 3].map(() => track(createNetns(undefined, { baseDir }))));
  assert.equal(mountsAt(baseDir).length, 1);
  assert.equal((await listNetns({ baseDir })).length, 3);
  await Promise.all(made.map((ns) => deleteNetns(ns.path, { baseDir })));
  assert.deepEqual(await listNetns({ baseDir }), []);
});

test('delete releases the namespace in a mount namespace created after the pin', async (t) => {
  if (skipped(t)) return;
  const root = await mkdtemp(path.join(os.tmpdir(), 'libcni-'));
  tmpDirs.push(root);
  const baseDir = path.join(root, 'netns');
  const ns = await track(createNetns(uniqueName('propagate'), { baseDir }));
  // A later mount namespace with slave propagation, as a container would get.
  const child = spawn('unshare', ['-m', '--propagation', 'slave', 'sleep', '60'], { stdio: 'ignore' });
  try {
    const ownMntNs = readlinkSync('/proc/self/ns/mnt');
    const childMountinfo = (): string => readFileSync(`/proc/${String(child.pid)}/mountinfo`, 'utf8');
    // wait (bounded) until unshare has switched mount namespaces and exec'd sleep
    for (let i = 0; i < 200; i++) {
      try {
        if (
          readlinkSync(`/proc/${String(child.pid)}/ns/mnt`) !== ownMntNs &&
          childMountinfo().includes(ns.path)
        ) {
          break;
        }
      } catch {
        // not started yet
      }
      await delay(10);
    }
    assert.ok(childMountinfo().includes(ns.path), 'the later mount namespace sees the pinned netns');
    await deleteNetns(ns.name, { baseDir });
    assert.ok(!childMountinfo().includes(ns.path), 'and no longer holds it after the delete');
  } finally {
    child.kill('SIGKILL');
  }
});

test('a file named -all in /run/netns is deleted alone, never as `ip netns del -all`', async (t) => {
  if (skipped(t)) return;
  const bystander = await track(createNetns(uniqueName('bystander')));
  const odd = path.join(DEFAULT_NETNS_DIR, '-all');
  assert.equal(existsSync(odd), false, 'no pre-existing /run/netns/-all');
  nsPaths.add(odd);
  sh(['touch', odd]);
  const r = sh(['unshare', `--net=${odd}`, 'true']);
  assert.equal(r.status, 0, r.stderr);
  await deleteNetns(odd);
  assert.equal(await present(odd), false);
  assert.equal(await netnsExists(bystander.path), true, 'other namespaces survive');
  await deleteNetns(bystander.name);
});

// Every example program in examples/ (but the container example and the demo, which have tests of
// their own, and log-plugin-calls.ts, which needs a network given on the command line) runs as a
// child process, as root, against the real plugins in /usr/lib/cni. Each gets a bridge name, a
// subnet (10.221–10.223.x.0/24), a namespace prefix and a work dir of this run's own; it must exit
// 0, print what it did, and leave nothing behind: no namespace, no bridge, no cache entry, no
// host-local lease. Whatever an example leaves when it fails is removed here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { sh } from '../helpers/host.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const PLUGINS = '/usr/lib/cni';
const tag = `${process.pid % 10000}`;
const third = process.pid % 250;

const missing = ['bridge', 'host-local', 'loopback'].filter((p) => !existsSync(path.join(PLUGINS, p)));
const rootReason = process.getuid?.() !== 0 ? 'not root' : undefined;
const pluginReason = missing.length > 0 ? `plugins missing in ${PLUGINS}: ${missing.join(', ')}` : undefined;
if (rootReason ?? pluginReason) {
  console.warn(`\n*** examples tests SKIPPED in part: ${rootReason ?? pluginReason ?? ''} ***\n`);
}

const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'libcni-examples-'));
const bridges: string[] = [];
const prefixes: string[] = [];

/** Namespaces whose name starts with `prefix`. */
function namespacesOf(prefix: string): string[] {
  return sh(['ip', 'netns', 'list'])
    .stdout.split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(`${prefix}-`));
}

function cleanUp(): void {
  for (const prefix of prefixes) for (const ns of namespacesOf(prefix)) sh(['ip', 'netns', 'del', ns]);
  for (const b of bridges) sh(['ip', 'link', 'del', b]);
}

after(async () => {
  cleanUp();
  await fs.rm(tmp, { recursive: true, force: true });
});

/** Files under `dir` (recursively) named like an IP address: host-local's leases. */
async function leases(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return entries.filter((e) => /^\d+\.\d+\.\d+\.\d+$/.test(path.basename(e)));
}

/** Skips a test that needs root and the plugins, saying why; true when skipped. */
function skipped(t: { skip: (message: string) => void }): boolean {
  const reason = rootReason ?? pluginReason;
  // As root, the only reasons left name a package to install: fail, do not skip.
  if (rootReason === undefined && pluginReason !== undefined)
    assert.fail(`cannot run here: ${pluginReason}; install it (the README's set-up line)`);
  if (reason !== undefined) t.skip(`SKIPPED: ${reason}`);
  return reason !== undefined;
}

interface Run {
  stdout: string;
  work: string;
  bridge: string;
  prefix: string;
}

/** Runs `examples/<file>` with its own names; asserts exit 0 and that nothing is left. */
async function runExample(file: string, k: number, extra: readonly string[] = []): Promise<Run> {
  const work = path.join(tmp, `work${k}`);
  await fs.mkdir(work, { recursive: true });
  const bridge = `lex${tag}x${k}`;
  const prefix = `lex-${tag}-${k}`;
  bridges.push(bridge);
  prefixes.push(prefix);
  const args = ['--bridge', bridge, '--subnet', `10.${221 + k}.${third}.0/24`, '--name', prefix];
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'examples', file), ...args, '--work', work, ...extra],
    { cwd: ROOT, encoding: 'utf8', timeout: 300_000 },
  );
  try {
    assert.equal(r.status, 0, `exit ${String(r.status)}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.deepEqual(namespacesOf(prefix), [], 'no namespace is left');
    assert.notEqual(sh(['ip', 'link', 'show', bridge]).status, 0, `bridge ${bridge} is gone`);
    const cached = await fs.readdir(path.join(work, 'cache', 'results')).catch(() => [] as string[]);
    assert.deepEqual(cached, [], 'no cache entry is left');
    assert.deepEqual(await leases(path.join(work, 'ipam')), [], 'no host-local lease is left');
  } finally {
    cleanUp();
  }
  return { stdout: r.stdout, work, bridge, prefix };
}

describe('examples/', { timeout: 900_000 }, () => {
  test('attach-netns.ts: ADD, the address in the namespace, CHECK, DEL', async (t) => {
    if (skipped(t)) return;
    const { stdout } = await runExample('attach-netns.ts', 0);
    assert.match(stdout, new RegExp(`^attached eth0 address=10\\.221\\.${third}\\.\\d+/24$`, 'm'));
    assert.match(stdout, /^in the namespace: address present$/m);
    assert.match(stdout, /^check passed$/m);
    assert.match(stdout, /^detached; cache entries left: 0$/m);
  });

  test('runtime-lifecycle.ts: setup, then inspect, check and teardown from a fresh manager', async (t) => {
    if (skipped(t)) return;
    const { stdout } = await runExample('runtime-lifecycle.ts', 1);
    assert.match(stdout, /^setup: interfaces eth0,lo$/m);
    assert.match(stdout, /^inspect: cni-loopback on lo, check passed$/m);
    assert.match(stdout, /^inspect: podnet on eth0, check passed$/m);
    assert.match(stdout, new RegExp(`^inspect: primaryIPv4=10\\.222\\.${third}\\.\\d+ ok=true$`, 'm'));
    assert.match(stdout, /^teardown: podnet\/eth0 \(cache\), cni-loopback\/lo \(cache\)$/m);
    assert.match(stdout, /^inspect after teardown: 0 attachments$/m);
  });

  test('orchestrate.ts: 5 namespaces on one bridge, up, checked, down', async (t) => {
    if (skipped(t)) return;
    const { stdout } = await runExample('orchestrate.ts', 2, ['--count', '5']);
    assert.match(stdout, /^created 5 namespaces$/m);
    const attached = /^attached: (.+)$/m.exec(stdout)?.[1]?.split(' ') ?? [];
    assert.equal(attached.length, 5, stdout);
    for (const a of attached) assert.match(a, new RegExp(`^10\\.223\\.${third}\\.\\d+/24$`));
    assert.match(stdout, /^distinct addresses: 5$/m);
    assert.match(stdout, /^checked: 5 of 5 have their address$/m);
    assert.match(stdout, /^torn down: 5 attachments$/m);
  });

  test('watch-config.ts: a file written is loaded, removed is unloaded', async (t) => {
    if (pluginReason) {
      if (rootReason === undefined)
        assert.fail(`cannot run here: ${pluginReason}; install it (the README's set-up line)`);
      t.skip(`SKIPPED: ${pluginReason}`);
      return;
    }
    const work = path.join(tmp, 'watch');
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'examples/watch-config.ts'), '--work', work],
      { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
    );
    assert.equal(r.status, 0, `exit ${String(r.status)}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /^watching .*net\.d: networks \(none\)$/);
    assert.equal(lines[1], 'configLoaded (change): networks watched');
    assert.equal(lines[2], 'configLoaded (change): networks (none)');
    assert.deepEqual(await fs.readdir(path.join(work, 'net.d')), [], 'the file it wrote is gone');
  });
});

// examples/container (`npm run example:container`): a real crun container from a busybox rootfs, in a
// namespace made by libcni, on a bridge network with a port mapping. The program must fetch its page
// through the mapped host port and through the container's IP, then leave nothing behind — checked
// here again from the outside, independently of the program's own check: crun state, namespace,
// bridge, veth, portmap's NAT rules, and (with --keep-workdir) host-local leases and cache entries.
// It runs twice in a row, and once more interrupted with SIGINT while the container serves.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { delLink, linkExists, netnsNames, ROOT, type RunOutput, runNode } from './cli-support.ts';

const MAIN = path.join(ROOT, 'examples/container/main.mjs');
const PLUGINS = ['bridge', 'host-local', 'portmap', 'loopback'];

function tryRun(file: string, args: readonly string[]): string | undefined {
  try {
    return execFileSync(file, [...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    return undefined;
  }
}

function skipReason(): string | undefined {
  let reason: string | undefined;
  if (process.getuid?.() !== 0) reason = 'not running as root';
  else if (!existsSync(path.join(ROOT, 'dist/index.js'))) reason = 'dist/ is missing (run "npm run build")';
  else if (tryRun('crun', ['--version']) === undefined) reason = 'crun is missing (apt-get install -y crun)';
  else if (!(tryRun('busybox', ['--help']) ?? '').includes('httpd'))
    reason = 'busybox is missing (apt-get install -y busybox-static)';
  else {
    const missing = PLUGINS.filter((p) => !existsSync(path.join('/usr/lib/cni', p)));
    if (missing.length > 0) reason = `CNI plugins missing in /usr/lib/cni: ${missing.join(', ')}`;
  }
  // As root, every reason left names something to install: fail, do not skip.
  if (reason && process.getuid?.() === 0)
    throw new Error(
      `the container example test cannot run here: ${reason}; install it (the README's set-up line)`,
    );
  if (reason) console.warn(`\n!!!!!!!! SKIPPING the container example test: ${reason} !!!!!!!!\n`);
  return reason;
}

/** What one run said about itself, from its `container-example:` lines. */
interface Facts {
  containerId: string;
  nsName: string;
  bridge: string;
  workdir: string;
  veths: string[];
  chain: string;
  chainPresent: boolean;
  /** Token seen per path (`host-port`, `container-ip`). */
  fetched: Map<string, string>;
  clean: boolean;
  result: string | undefined;
}

const seen: Facts[] = [];

function field(out: string, key: string): string {
  const m = new RegExp(`^container-example: .*\\b${key}=(\\S+)`, 'm').exec(out);
  assert.ok(m?.[1], `no ${key}= in the output:\n${out}`);
  return m[1];
}

function parse(out: string): Facts {
  const facts: Facts = {
    containerId: field(out, 'container'),
    nsName: field(out, 'netns'),
    bridge: field(out, 'bridge'),
    workdir: field(out, 'workdir'),
    veths: [],
    chain: '',
    chainPresent: /^container-example: portmap-chain-present=yes$/m.test(out),
    fetched: new Map(),
    clean: /^container-example: clean: /m.test(out),
    result: /^container-example: result (\S+)$/m.exec(out)?.[1],
  };
  seen.push(facts);
  if (/\bveth=/.test(out)) facts.veths = field(out, 'veth').split(',');
  if (/\bportmap-chain=/.test(out)) facts.chain = field(out, 'portmap-chain');
  for (const m of out.matchAll(/^container-example: fetched via=(\S+) url=\S+ token=(\S+) ok$/gm))
    facts.fetched.set(m[1]!, m[2]!);
  return facts;
}

/** `nat` table lines of iptables and ip6tables that mention `needle`. */
function natLines(needle: string): string[] {
  return ['iptables-save', 'ip6tables-save'].flatMap((tool) =>
    (tryRun(tool, ['-t', 'nat']) ?? '').split('\n').filter((l) => l.includes(needle)),
  );
}

/** Looks, from outside the program, for everything the run could have left. */
function assertNothingLeft(f: Facts): void {
  assert.equal(tryRun('crun', ['state', f.containerId]), undefined, 'crun still knows the container');
  assert.ok(!(tryRun('crun', ['list', '--quiet']) ?? '').split('\n').includes(f.containerId), 'crun list');
  assert.ok(!netnsNames().includes(f.nsName), `namespace ${f.nsName} left`);
  assert.ok(!existsSync(path.join('/run/netns', f.nsName)), 'namespace file left');
  assert.equal(linkExists(f.bridge), false, `bridge ${f.bridge} left`);
  assert.ok(f.veths.length > 0, 'the run named its host-side veth');
  for (const veth of f.veths) assert.equal(linkExists(veth), false, `veth ${veth} left`);
  // The chain name is computed here from portmap's rule, not taken from the program.
  const chain = `CNI-DN-${createHash('sha512').update(`libcni-example${f.containerId}`).digest('hex')}`;
  assert.equal(f.chain, chain.slice(0, 28));
  assert.deepEqual(natLines(f.containerId), [], 'NAT rules naming the container left');
  assert.deepEqual(natLines(f.chain), [], 'portmap chain of the container left');
}

function assertServedBothWays(r: RunOutput, f: Facts): void {
  const token = f.fetched.get('host-port');
  assert.ok(token, `no page through the host port:\n${r.stdout}\n${r.stderr}`);
  assert.equal(f.fetched.get('container-ip'), token, 'the same page through the container IP');
  assert.ok(
    f.chainPresent,
    'portmap chain present while the container ran (so its absence later means something)',
  );
  assert.ok(f.clean, `the program's own check found leftovers:\n${r.stdout}`);
}

function runNpm(args: readonly string[]): Promise<RunOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', [...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ code, signal, stdout, stderr });
    });
  });
}

// A failing run must not leave its container, namespace, links or temp dir for the next test.
after(() => {
  for (const f of seen) {
    tryRun('crun', ['delete', '--force', f.containerId]);
    tryRun('ip', ['netns', 'del', f.nsName]);
    for (const link of [...f.veths, f.bridge]) delLink(link);
    rmSync(f.workdir, { recursive: true, force: true });
  }
});

describe('examples/container', { skip: skipReason(), timeout: 900_000 }, () => {
  test('npm run example:container gets the page via the host port and the container IP, leaves nothing', async () => {
    const r = await runNpm(['run', '--silent', 'example:container']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const f = parse(r.stdout);
    assert.equal(f.result, 'ok');
    assertServedBothWays(r, f);
    assertNothingLeft(f);
    assert.equal(existsSync(f.workdir), false, 'temp dir left');
  });

  test('runs again right after; no lease or cache entry is left in its kept workdir', async () => {
    const r = await runNode(MAIN, ['--keep-workdir']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const f = parse(r.stdout);
    assert.equal(f.result, 'ok');
    assert.notEqual(f.containerId, seen[0]?.containerId, 'each run names its own container');
    assertServedBothWays(r, f);
    assertNothingLeft(f);
    const leases = readdirSync(path.join(f.workdir, 'ipam', 'libcni-example'));
    assert.ok(
      leases.includes('last_reserved_ip.0'),
      `host-local allocated from this dir: ${leases.join(' ')}`,
    );
    assert.deepEqual(
      leases.filter((n) => /^\d+\.\d+\.\d+\.\d+$/.test(n)),
      [],
      'host-local lease left',
    );
    const cached = readdirSync(path.join(f.workdir, 'cache', 'results'));
    assert.deepEqual(
      cached.filter((n) => n.includes(f.containerId)),
      [],
      'cache entry left',
    );
    rmSync(f.workdir, { recursive: true, force: true });
  });

  test('SIGINT while the container serves: stops it, tears down, leaves nothing, exits 130', async () => {
    let sent = false;
    const r = await runNode(MAIN, ['--hold'], {
      onStdout: (all, kill) => {
        if (!sent && all.includes('container-example: holding:')) {
          sent = true;
          kill('SIGINT');
        }
      },
    });
    assert.ok(sent, `never reached the holding state:\n${r.stdout}\n${r.stderr}`);
    assert.equal(r.code, 130, `${r.stdout}\n${r.stderr}`);
    const f = parse(r.stdout);
    assert.equal(f.result, 'interrupted');
    assertServedBothWays(r, f);
    assert.match(r.stdout, /cleanup stop and delete container \S+: .*deleted$/m);
    assertNothingLeft(f);
    assert.equal(existsSync(f.workdir), false, 'temp dir left');
  });
});

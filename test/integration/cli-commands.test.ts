// cnitool's other subcommands through the BUILT cli, as root with real plugins: status, gc (a valid
// set, --all, and the refusal without either), ls, cache ls/show, version, netns add/ls/del, and
// --help loading none of the engine. Subnet 10.181.x.0/24, x from our pid.
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  addNetns,
  bridgeConflist,
  CLI,
  cnitool,
  delLink,
  delNetns,
  filesUnder,
  goContainerId,
  ip,
  makeTempDir,
  netnsNames,
  PLUGIN_DIR,
  runNode,
  saveIpForward,
  skipReason,
} from './cli-support.ts';

const SKIP = skipReason();
const x = process.pid % 250;
const tag = String(process.pid % 100000);
const NS_A = `clic-a-${tag}`;
const NS_B = `clic-b-${tag}`;
const NS_NEW = `clic-new-${tag}`;
const BRIDGE = `clic${tag}`;
const NET = 'clicmd';

let tmp = '';
let restoreIpForward = async (): Promise<void> => {};
let conf = '';
let env: Record<string, string> = {};
let nsA = '';
let nsB = '';

before(async () => {
  if (SKIP) return;
  restoreIpForward = await saveIpForward();
  tmp = await makeTempDir('cli-commands');
  conf = path.join(tmp, 'conf');
  await fs.mkdir(conf);
  await fs.writeFile(
    path.join(conf, '10-cmd.conflist'),
    bridgeConflist(NET, BRIDGE, `10.181.${x}.0/24`, path.join(tmp, 'ipam')),
  );
  await fs.writeFile(path.join(conf, '20-broken.conflist'), '{"name": "broken", "plugins": [');
  // Same name as 10-cmd: Go's lookup never reaches it.
  await fs.writeFile(
    path.join(conf, '30-dup.conflist'),
    bridgeConflist(NET, 'unused0', '10.181.255.0/24', '/nonexistent'),
  );
  env = { NETCONFPATH: conf, CNI_PATH: PLUGIN_DIR, CNI_CACHE_DIR: path.join(tmp, 'cache') };
  nsA = addNetns(NS_A);
  nsB = addNetns(NS_B);
});

after(async () => {
  if (SKIP) return;
  for (const ns of [NS_A, NS_B, NS_NEW]) delNetns(ns);
  delLink(BRIDGE);
  await fs.rm(tmp, { recursive: true, force: true });
  await restoreIpForward();
});

const results = () => path.join(tmp, 'cache', 'results');

describe('cnitool subcommands', { skip: SKIP }, () => {
  test('ls lists networks with version and chain, and files that failed with why', async () => {
    const r = await cnitool(['ls'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `${NET}\\s+1\\.0\\.0\\s+bridge \\(host-local\\) -> portmap -> tuning\\s+\\S+10-cmd\\.conflist`,
      ),
    );
    assert.match(r.stdout, /20-broken\.conflist: .*error parsing configuration list/);
    assert.match(r.stdout, /30-dup\.conflist: duplicate network name "clicmd"/);
    const j = JSON.parse((await cnitool(['ls', '--json'], env)).stdout) as {
      networks: Array<{ name: string; plugins: Array<{ type: string }> }>;
      errors: Array<{ file: string; duplicateOf?: string }>;
    };
    assert.deepEqual(
      j.networks.map((n) => [n.name, n.plugins.map((p) => p.type)]),
      [[NET, ['bridge', 'portmap', 'tuning']]],
    );
    assert.equal(j.errors.length, 2);
    assert.ok(j.errors.some((e) => e.duplicateOf?.endsWith('10-cmd.conflist')));
  });

  test('version asks the plugin', async () => {
    const r = await cnitool(['version', 'bridge', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout) as { supportedVersions: string[] };
    assert.ok(info.supportedVersions.includes('1.0.0'));
    const missing = await cnitool(['version', 'no-such-plugin'], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /failed to find plugin "no-such-plugin"/);
  });

  test('status succeeds for a ready network and takes (and ignores) a netns as Go requires', async () => {
    assert.equal((await cnitool(['status', NET], env)).code, 0);
    assert.equal((await cnitool(['status', NET, nsA], env)).code, 0);
    const unknown = await cnitool(['status', 'nope'], env);
    assert.equal(unknown.code, 1);
  });

  test('cache ls and cache show read what add wrote', async () => {
    assert.equal((await cnitool(['add', NET, nsA], env)).code, 0);
    assert.equal((await cnitool(['add', NET, nsB], env)).code, 0);
    const idA = goContainerId(nsA);
    const ls = await cnitool(['cache', 'ls'], env);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, new RegExp(`${NET}\\s+${idA}\\s+eth0\\s+${nsA}`));
    const one = JSON.parse((await cnitool(['cache', 'ls', idA, '--json'], env)).stdout) as Array<{
      containerId: string;
    }>;
    assert.deepEqual(
      one.map((a) => a.containerId),
      [idA],
    );
    const show = await cnitool(['cache', 'show', NET, idA], env);
    assert.equal(show.code, 0, show.stderr);
    const entry = JSON.parse(show.stdout) as {
      config: { name: string };
      result: { cniVersion: string };
      netns: string;
    };
    assert.equal(entry.config.name, NET);
    assert.equal(entry.result.cniVersion, '1.0.0');
    assert.equal(entry.netns, nsA);
    const missing = await cnitool(['cache', 'show', NET, idA, 'net9'], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no cached attachment/);
  });

  test('gc without pairs or --all is refused and deletes nothing', async () => {
    const r = await cnitool(['gc', NET], env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--all/);
    const goStyle = await cnitool(['gc', NET, nsA], env);
    assert.equal(goStyle.code, 1);
    assert.match(goStyle.stderr, /pass --all/);
    assert.equal((await filesUnder(results())).length, 2);
  });

  test('gc keeps the valid attachments and deletes the others', async () => {
    const r = await cnitool(['gc', NET, `${goContainerId(nsA)}:eth0`], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      (await filesUnder(results())).map((f) => path.basename(f)),
      [`${NET}-${goContainerId(nsA)}-eth0`],
    );
    assert.ok(ip(['-n', NS_A, 'link', 'show', 'eth0']), 'the valid one is untouched');
    assert.equal(ip(['-n', NS_B, 'link', 'show', 'eth0']), undefined, 'the stale one was DELeted');
  });

  test('gc --all deletes every attachment of the network', async () => {
    const r = await cnitool(['gc', NET, '--all'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await filesUnder(results()), []);
    assert.equal(ip(['-n', NS_A, 'link', 'show', 'eth0']), undefined);
    assert.deepEqual(
      (await filesUnder(path.join(tmp, 'ipam'))).filter((f) => /\d+\.\d+\.\d+\.\d+$/.test(f)),
      [],
      'every IP lease released',
    );
  });

  test('netns add, ls and del', async () => {
    const add = await cnitool(['netns', 'add', NS_NEW], env);
    assert.equal(add.code, 0, add.stderr);
    assert.equal(add.stdout, `/run/netns/${NS_NEW}\n`);
    assert.ok(netnsNames().includes(NS_NEW));
    const ls = JSON.parse((await cnitool(['netns', 'ls', '--json'], env)).stdout) as Array<{ name: string }>;
    assert.ok(ls.some((n) => n.name === NS_NEW));
    const again = await cnitool(['netns', 'add', NS_NEW], env);
    assert.equal(again.code, 1);
    const del = await cnitool(['netns', 'del', NS_NEW], env);
    assert.equal(del.code, 0, del.stderr);
    assert.ok(!netnsNames().includes(NS_NEW));
    assert.ok(!existsSync(`/run/netns/${NS_NEW}`));
  });

  test('every command has --help', async () => {
    const commands = [
      ['add'],
      ['check'],
      ['del'],
      ['status'],
      ['gc'],
      ['ls'],
      ['version'],
      ['netns', 'add'],
      ['netns', 'del'],
      ['netns', 'ls'],
      ['cache', 'ls'],
      ['cache', 'show'],
    ];
    for (const c of commands) {
      const r = await cnitool([...c, '--help'], {});
      assert.equal(r.code, 0, `${c.join(' ')} --help`);
      assert.ok(r.stdout.startsWith(`Usage: cnitool ${c.join(' ')}`), r.stdout);
    }
  });

  test('--help loads none of the engine', async () => {
    // An ESM resolve hook prints every module URL the process loads. (zod comes in only through
    // the engine's result validation, so keeping the engine out keeps zod out.)
    const hook = `data:text/javascript,${encodeURIComponent(
      "import{register}from'node:module';register('data:text/javascript,'+encodeURIComponent(`export async function resolve(s,c,n){const r=await n(s,c);process.stderr.write('LOADED '+r.url+'\\\\n');return r}`));",
    )}`;
    const r = await runNode('--import', [hook, CLI, '--help'], {});
    assert.equal(r.code, 0, r.stderr);
    const loaded = r.stderr.split('\n').filter((l) => l.startsWith('LOADED file:'));
    assert.ok(
      loaded.some((l) => l.endsWith('/dist/cli/spec.js')),
      'the hook saw our modules',
    );
    const heavy = loaded.filter((l) =>
      /zod|\/dist\/(cni|config|invoke|netns|cache|runtime)\b|\/commands\//.test(l),
    );
    assert.deepEqual(heavy, []);
  });
});

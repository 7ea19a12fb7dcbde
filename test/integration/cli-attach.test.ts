// cnitool add/check/del against the real bridge/host-local/portmap/tuning plugins, as root, through
// the BUILT cli: Go cnitool's contract (container id, cache path, printed result, exit status) and
// bad input failing before anything runs. Subnets 10.180.x.0/24 and 10.182.x.0/24, x from our pid.
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  addNetns,
  bridgeConflist,
  cnitool,
  delLink,
  delNetns,
  filesUnder,
  goContainerId,
  ip,
  linkExists,
  makeTempDir,
  PLUGIN_DIR,
  saveIpForward,
  skipReason,
} from './cli-support.ts';

const SKIP = skipReason();
const x = process.pid % 250;
const tag = String(process.pid % 100000);
const NS = `clia-${tag}`;
const NS2 = `clia2-${tag}`;
const BRIDGE = `clia${tag}`;
const BAD_BRIDGE = `clib${tag}`;
const NET = 'cliatt';
const BAD_NET = 'clibad';

let tmp = '';
let restoreIpForward = async (): Promise<void> => {};
let env: Record<string, string> = {};
let nsPath = '';

before(async () => {
  if (SKIP) return;
  restoreIpForward = await saveIpForward();
  tmp = await makeTempDir('cli-attach');
  const conf = path.join(tmp, 'conf');
  await fs.mkdir(conf);
  await fs.writeFile(
    path.join(conf, '10-att.conflist'),
    bridgeConflist(NET, BRIDGE, `10.180.${x}.0/24`, path.join(tmp, 'ipam')),
  );
  await fs.writeFile(
    path.join(conf, '20-bad.conflist'),
    bridgeConflist(BAD_NET, BAD_BRIDGE, `10.182.${x}.0/24`, path.join(tmp, 'ipam-bad')),
  );
  env = { NETCONFPATH: conf, CNI_PATH: PLUGIN_DIR, CNI_CACHE_DIR: path.join(tmp, 'cache') };
  nsPath = addNetns(NS);
  addNetns(NS2);
});

after(async () => {
  if (SKIP) return;
  delNetns(NS);
  delNetns(NS2);
  delLink(BRIDGE);
  delLink(BAD_BRIDGE);
  await fs.rm(tmp, { recursive: true, force: true });
  await restoreIpForward();
});

describe('cnitool add/check/del round trip', { skip: SKIP }, () => {
  const cacheFile = () => path.join(tmp, 'cache', 'results', `${NET}-${goContainerId(nsPath)}-eth0`);

  test('add prints the result as Go does, the namespace has the address, the cache file is where Go puts it', async () => {
    const r = await cnitool(['add', NET, nsPath], env);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.endsWith('\n'), 'Go prints the result without a trailing newline');
    assert.match(r.stdout, /^\{\n {4}"cniVersion": "1\.0\.0",\n/);
    const result = JSON.parse(r.stdout) as { ips: Array<{ address: string }> };
    const address = result.ips[0]?.address ?? '';
    assert.match(address, new RegExp(`^10\\.180\\.${x}\\.\\d+/24$`));
    assert.ok(ip(['-n', NS, 'addr', 'show', 'eth0'])?.includes(`inet ${address}`), 'ip -n sees the address');
    assert.ok(existsSync(cacheFile()), `cache file ${cacheFile()}`);
    const cached = JSON.parse(await fs.readFile(cacheFile(), 'utf8')) as Record<string, unknown>;
    assert.equal(cached.kind, 'cniCacheV1');
    assert.equal(cached.containerId, goContainerId(nsPath));
    assert.equal(cached.netns, nsPath);
  });

  test('check succeeds and prints nothing', async () => {
    const r = await cnitool(['check', NET, nsPath], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
  });

  test('del removes the interface and the cache file', async () => {
    const r = await cnitool(['del', NET, nsPath], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(existsSync(cacheFile()), false);
    assert.equal(ip(['-n', NS, 'link', 'show', 'eth0']), undefined, 'eth0 is gone');
  });

  test('a relative netns path gives the id of its absolute path; --ifname and CNI_CONTAINERID are honoured', async () => {
    const rel = await cnitool(['add', NET, NS2, '--ifname', 'net1'], env, '/run/netns');
    assert.equal(rel.code, 0, rel.stderr);
    const id = goContainerId(`/run/netns/${NS2}`);
    assert.ok(existsSync(path.join(tmp, 'cache', 'results', `${NET}-${id}-net1`)));
    assert.ok(ip(['-n', NS2, 'link', 'show', 'net1']));
    const del = await cnitool(['del', NET, NS2, '-i', 'net1'], env, '/run/netns');
    assert.equal(del.code, 0, del.stderr);

    const own = await cnitool(['add', NET, `/run/netns/${NS2}`], { ...env, CNI_CONTAINERID: 'my-container' });
    assert.equal(own.code, 0, own.stderr);
    assert.ok(existsSync(path.join(tmp, 'cache', 'results', `${NET}-my-container-eth0`)));
    const del2 = await cnitool(['del', NET, `/run/netns/${NS2}`], {
      ...env,
      CNI_CONTAINERID: 'my-container',
    });
    assert.equal(del2.code, 0, del2.stderr);
    assert.deepEqual(await filesUnder(path.join(tmp, 'cache', 'results')), []);
  });

  test('a plugin failure is one line on stderr and exit status 1', async () => {
    // CHECK without a prior ADD: host-local finds no address for this container.
    const r = await cnitool(['check', NET, nsPath], env);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });
});

describe('bad input fails before any plugin runs and leaves nothing behind', { skip: SKIP }, () => {
  const cases: Array<{ name: string; args: () => string[]; env?: Record<string, string>; expect: RegExp }> = [
    {
      name: 'unknown network',
      args: () => ['add', 'no-such-net', nsPath],
      expect: /no net configuration with name "no-such-net"/,
    },
    {
      name: 'malformed CAP_ARGS',
      args: () => ['add', BAD_NET, nsPath],
      env: { CAP_ARGS: '{"portMappings":' },
      expect: /invalid CAP_ARGS/,
    },
    {
      name: 'CAP_ARGS not an object',
      args: () => ['add', BAD_NET, nsPath],
      env: { CAP_ARGS: '[1,2]' },
      expect: /CAP_ARGS: must be a JSON object/,
    },
    {
      name: 'malformed CNI_ARGS',
      args: () => ['add', BAD_NET, nsPath],
      env: { CNI_ARGS: 'IgnoreUnknown=1;K8S_POD' },
      expect: /^invalid CNI_ARGS pair "K8S_POD"$/,
    },
    {
      name: 'CNI_ARGS value with =',
      args: () => ['add', BAD_NET, nsPath],
      env: { CNI_ARGS: 'A=b=c' },
      expect: /^invalid CNI_ARGS pair "A=b=c"$/,
    },
    {
      name: 'netns that does not exist',
      args: () => ['add', BAD_NET, `/run/netns/missing-${tag}`],
      expect: /does not exist/,
    },
    {
      name: 'path that is not a netns',
      args: () => ['add', BAD_NET, '/etc/hostname'],
      expect: /is not a network namespace/,
    },
    { name: 'missing netns argument', args: () => ['add', BAD_NET], expect: /missing arguments/ },
    {
      name: 'bad --ifname',
      args: () => ['add', BAD_NET, nsPath, '-i', 'eth0/x'],
      expect: /interface name contains/,
    },
    {
      name: 'too long --ifname',
      args: () => ['add', BAD_NET, nsPath, '-i', 'a-very-long-ifname'],
      expect: /interface name is too long/,
    },
    {
      name: 'CNI_IFNAME set but empty',
      args: () => ['add', BAD_NET, nsPath],
      env: { CNI_IFNAME: '' },
      expect: /^interface name is empty$/,
    },
    {
      name: 'bad CNI_CONTAINERID',
      args: () => ['add', BAD_NET, nsPath],
      env: { CNI_CONTAINERID: 'a b' },
      expect: /invalid characters in containerID/,
    },
    {
      name: 'a plugin missing from CNI_PATH',
      args: () => ['add', BAD_NET, nsPath],
      env: { CNI_PATH: `${PLUGIN_DIR}-nope` },
      expect: /failed to find plugin "bridge"/,
    },
    {
      name: 'unknown option',
      args: () => ['add', BAD_NET, nsPath, '--frob'],
      expect: /unknown option --frob/,
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const r = await cnitool(c.args(), { ...env, ...c.env });
      assert.notEqual(r.code, 0);
      assert.equal(r.stdout, '');
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, `one line on stderr, got: ${r.stderr}`);
      assert.match(lines[0] ?? '', c.expect);
      assert.equal(linkExists(BAD_BRIDGE), false, 'the bridge plugin never ran');
      assert.deepEqual(await filesUnder(path.join(tmp, 'ipam-bad')), [], 'no IP lease');
      assert.deepEqual(await filesUnder(path.join(tmp, 'cache', 'results')), [], 'no cache entry');
      assert.equal(ip(['-n', NS, 'link', 'show', 'eth0']), undefined, 'no interface in the namespace');
    });
  }

  test('--json reports the spec error object on stderr', async () => {
    const r = await cnitool(['add', BAD_NET, nsPath, '--json'], { ...env, CNI_ARGS: 'x' });
    assert.equal(r.code, 1);
    assert.deepEqual(JSON.parse(r.stderr), {
      cniVersion: '1.1.0',
      code: 4,
      msg: 'invalid CNI_ARGS pair "x"',
    });
  });
});

// libcni/testing: FakeExec drives CNIConfig like real plugins would, records every call, and fails
// with the same typed errors a real plugin's output would give.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { NetworkPluginError, PluginError, PluginNotFoundError } from '../../src/core/errors.ts';
import { networkConfFromBytes } from '../../src/config/parse.ts';
import { CNIConfig } from '../../src/cni/index.ts';
import { FakeExec } from '../../src/testing.ts';

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function cacheDir(): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'libcni-fake-'));
  dirs.push(d);
  return d;
}

const list = networkConfFromBytes(
  Buffer.from(
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'fakenet',
      plugins: [{ type: 'ipam-like' }, { type: 'tune', mtu: 1400 }],
    }),
  ),
);
const rt = { containerId: 'c1', netns: '/run/netns/c1', ifName: 'eth0' };

test('ADD runs the chain in order with prevResult; every call is recorded', async () => {
  const exec = new FakeExec()
    .plugin('ipam-like', (call) =>
      call.command === 'ADD'
        ? { result: { cniVersion: '1.0.0', ips: [{ address: '10.9.0.2/24', gateway: '10.9.0.1' }] } }
        : {},
    )
    .plugin('tune');
  const cni = new CNIConfig({ path: ['/fake/bin'], cacheDir: await cacheDir(), exec });
  const result = await cni.addNetworkList(list, rt);
  assert.deepEqual(result, { cniVersion: '1.0.0', ips: [{ address: '10.9.0.2/24', gateway: '10.9.0.1' }] });
  assert.deepEqual(
    exec.calls.map((c) => [c.type, c.command]),
    [
      ['ipam-like', 'ADD'],
      ['tune', 'ADD'],
    ],
  );
  const [tune] = exec.callsOf('tune', 'ADD');
  assert.ok(tune);
  assert.equal(tune.env.CNI_CONTAINERID, 'c1');
  assert.equal(tune.pluginPath, '/fake/bin/tune');
  assert.deepEqual((tune.config?.prevResult as { ips: unknown }).ips, result.ips);
  await cni.delNetworkList(list, rt);
  assert.deepEqual(
    exec.calls.slice(2).map((c) => [c.type, c.command]),
    [
      ['tune', 'DEL'],
      ['ipam-like', 'DEL'],
    ],
  );
});

test('an error object fails as a real plugin would: typed, with code, msg and the plugin named', async () => {
  const exec = new FakeExec()
    .plugin('ipam-like', () => ({ error: { code: 11, msg: 'try again', details: 'busy' }, stderr: 'warn' }))
    .plugin('tune');
  const cni = new CNIConfig({ path: ['/fake/bin'], cacheDir: await cacheDir(), exec });
  const err = await cni.addNetworkList(list, rt).then(
    () => assert.fail('ADD should fail'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof NetworkPluginError);
  assert.equal(err.code, 11);
  const cause = err.cause;
  assert.ok(cause instanceof PluginError);
  assert.equal(cause.msg, 'try again');
  assert.equal(cause.details, 'busy');
  assert.equal(cause.isTryAgainLater, true);
  assert.equal(cause.exec.stderr, 'warn');
  assert.equal(exec.callsOf('tune').length, 0, 'the chain stops at the failure');
});

test('an unregistered type is not found, with Go’s message', async () => {
  const exec = new FakeExec();
  await assert.rejects(
    exec.findInPath('bridge', ['/a', '/b']),
    (e: unknown) =>
      e instanceof PluginNotFoundError && e.message === 'failed to find plugin "bridge" in path [/a /b]',
  );
  await assert.rejects(exec.findInPath('../x', ['/a']), PluginNotFoundError);
});

test('VERSION of a pass-through plugin reports the configured versions', async () => {
  const exec = new FakeExec({ supportedVersions: ['0.4.0', '1.0.0'] }).plugin('tune');
  const cni = new CNIConfig({ path: ['/fake/bin'], exec });
  const info = await cni.getVersionInfo('tune');
  assert.deepEqual(info.supportedVersions, ['0.4.0', '1.0.0']);
});

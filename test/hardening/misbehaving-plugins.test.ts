/**
 * Plugins that hang or misbehave, end to end through CNIConfig with the fixture plugins: each is
 * ended or refused with a typed error that names the plugin and the command, nothing is cached,
 * and no process outlives the call.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { CNIConfig, type RuntimeConf } from '../../src/cni/index.ts';
import { networkConfFromBytes } from '../../src/config/parse.ts';
import type { NetworkConfigList } from '../../src/config/types.ts';
import { EXEC_DEFAULTS } from '../../src/invoke/exec.ts';
import {
  ErrorCode,
  NetworkPluginError,
  PluginError,
  PluginTimeoutError,
  ResultError,
} from '../../src/core/errors.ts';
import { type FakeStep, isRunning, makePluginDir, type PluginDir } from '../helpers/fixtures.ts';

const RT: RuntimeConf = { containerId: 'misbehave', netns: '/run/netns/misbehave', ifName: 'eth0' };

function listOf(type: string, cniVersion = '1.0.0'): NetworkConfigList {
  return networkConfFromBytes(JSON.stringify({ cniVersion, name: 'badnet', plugins: [{ type }] }));
}

/**
 * The rejection is a NetworkPluginError naming plugin and command, caused by a PluginError with
 * the same context; returns that PluginError.
 */
function pluginFailure(err: unknown, type: string, command: string): PluginError {
  assert.ok(err instanceof NetworkPluginError, `expected NetworkPluginError, got ${String(err)}`);
  const verb = command === 'ADD' ? 'add' : 'delete';
  assert.ok(err.message.startsWith(`plugin type="${type}" failed (${verb}): `), err.message);
  assert.equal(err.context.command, command);
  assert.equal(err.context.plugin, type);
  assert.equal(err.context.network, 'badnet');
  assert.equal(err.context.containerId, RT.containerId);
  const inner = err.cause;
  assert.ok(inner instanceof PluginError, `cause: ${String(inner)}`);
  assert.equal(inner.context.command, command);
  assert.equal(inner.context.plugin, type);
  assert.ok(inner.context.pluginPath?.endsWith(`/${type}`));
  assert.equal(inner.exec.command, command);
  return inner;
}

describe('misbehaving plugins through CNIConfig', () => {
  let plugins: PluginDir;
  let cni: CNIConfig;

  before(async () => {
    plugins = await makePluginDir({ fake: 'fake', sleep: 'sleep' });
    cni = new CNIConfig({ path: [plugins.dir], cacheDir: path.join(plugins.root, 'cache') });
  });
  after(() => plugins.cleanup());

  async function plan(step: FakeStep, command = 'ADD'): Promise<void> {
    await plugins.writePlan('fake', { [command]: step });
  }

  async function assertNothingCached(): Promise<void> {
    const names = await fs.readdir(path.join(cni.cacheDir, 'results')).catch(() => []);
    assert.deepEqual(names, [], 'a failed ADD caches nothing');
  }

  // First, while this process's peak RSS is still low.
  test('a plugin printing 1 GB is cut off at the stdout limit; our memory does not grow with it', async () => {
    await plan({ outputBytes: 1024 * 1024 * 1024 });
    const peakBefore = process.resourceUsage().maxRSS * 1024;
    const started = performance.now();
    const err = await cni.addNetworkList(listOf('fake'), RT).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    const growth = process.resourceUsage().maxRSS * 1024 - peakBefore;
    const inner = pluginFailure(err, 'fake', 'ADD');
    assert.equal(
      inner.message,
      `netplugin failed: output exceeded the limit of ${EXEC_DEFAULTS.maxStdoutBytes} bytes`,
    );
    assert.ok(inner.exec.stdout.length <= 4096, 'the error keeps only the head of stdout');
    // Reading stops at 16 MiB; 1 GiB buffered would be 64 times that.
    assert.ok(growth < 96 * 1024 * 1024, `peak RSS grew by ${Math.round(growth / 1048576)} MiB`);
    const call = (await plugins.calls('fake')).at(-1)!;
    assert.equal(isRunning(call.pid), false, 'the plugin was killed, not left writing');
    assert.ok(elapsed < 30_000, `took ${Math.round(elapsed)} ms: it was not cut off early`);
    await assertNothingCached();
  });

  test('a plugin that never exits, nor lets its child exit, is ended within timeout + grace, child included', async () => {
    await plan({ delayMs: 600_000, ignoreSigterm: true, grandchild: 'ignore-term' });
    const timeoutMs = 300;
    const started = performance.now();
    const err = await cni.addNetworkList(listOf('fake'), RT, { timeoutMs }).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    const inner = pluginFailure(err, 'fake', 'ADD');
    assert.ok(inner instanceof PluginTimeoutError);
    assert.equal(inner.timeoutMs, timeoutMs);
    assert.equal(inner.exec.signal, 'SIGKILL', 'SIGTERM was ignored, SIGKILL ended it');
    // The bound, with room for a loaded machine; the point is it is not 600 s.
    const bound = timeoutMs + EXEC_DEFAULTS.killGraceMs + 5_000;
    assert.ok(elapsed < bound, `ended after ${Math.round(elapsed)} ms (bound ${bound})`);
    const call = (await plugins.calls('fake')).at(-1)!;
    assert.equal(isRunning(call.pid), false, 'plugin gone');
    assert.equal(isRunning(call.grandchildPid!), false, 'the child it spawned is gone too');
    await assertNothingCached();
  });

  test('a shell plugin sleeping in a child process: DEL times out, the whole group goes', async () => {
    const err = await cni.delNetworkList(listOf('sleep'), RT, { timeoutMs: 200 }).catch((e: unknown) => e);
    const inner = pluginFailure(err, 'sleep', 'DEL');
    assert.ok(inner instanceof PluginTimeoutError);
  });

  test('invalid JSON on stdout: PluginError naming the plugin path and ADD, caused by a ResultError', async () => {
    await plan({ result: 'this is not JSON' });
    const inner = pluginFailure(
      await cni.addNetworkList(listOf('fake'), RT).catch((e: unknown) => e),
      'fake',
      'ADD',
    );
    assert.equal(
      inner.message,
      `plugin ${plugins.path('fake')} (ADD) returned an invalid result: failed to unmarshal raw result: invalid character 'h' in literal true (expecting 'r')`,
    );
    assert.ok(inner.cause instanceof ResultError);
    assert.equal(inner.exec.stdout, 'this is not JSON', 'what was refused is kept');
    await assertNothingCached();
  });

  test('a result of an unknown version: refused with the version named', async () => {
    await plan({ result: { cniVersion: '9.9.9', ips: [{ address: '10.0.0.2/24' }] } });
    const inner = pluginFailure(
      await cni.addNetworkList(listOf('fake'), RT).catch((e: unknown) => e),
      'fake',
      'ADD',
    );
    assert.match(inner.message, /returned an invalid result: unsupported CNI result version "9\.9\.9"$/);
    await assertNothingCached();
  });

  test('a result of another known version is accepted and cached as returned (Go does the same)', async () => {
    await plan({ result: { cniVersion: '0.4.0', ips: [{ version: '4', address: '10.0.0.2/24' }] } });
    const res = await cni.addNetworkList(listOf('fake'), RT);
    assert.equal(res.cniVersion, '0.4.0');
    await plan({}, 'DEL');
    await cni.delNetworkList(listOf('fake'), RT);
    await assertNothingCached();
  });

  test('a result failing the schema: the field and why', async () => {
    await plan({ result: { cniVersion: '1.0.0', ips: [{ address: '300.1.2.3/24' }] } });
    const inner = pluginFailure(
      await cni.addNetworkList(listOf('fake'), RT).catch((e: unknown) => e),
      'fake',
      'ADD',
    );
    assert.match(inner.message, /returned an invalid result: result\.ips\[0\]\.address: /);
    await assertNothingCached();
    await plan({ result: { cniVersion: '1.0.0', interfaces: 'eth0' } });
    const again = pluginFailure(
      await cni.addNetworkList(listOf('fake'), RT).catch((e: unknown) => e),
      'fake',
      'ADD',
    );
    assert.match(again.message, /result\.interfaces: expected array, got string$/);
  });

  test('exit 0 with an error object on ADD: the plugin failed, with its code, msg and details (Go: success)', async () => {
    await plan({ error: { code: 11, msg: 'try again later', details: 'lock busy' }, exitCode: 0 });
    const inner = pluginFailure(
      await cni.addNetworkList(listOf('fake'), RT).catch((e: unknown) => e),
      'fake',
      'ADD',
    );
    assert.equal(inner.code, ErrorCode.TryAgainLater);
    assert.equal(inner.isTryAgainLater, true);
    assert.equal(inner.msg, 'try again later');
    assert.equal(inner.details, 'lock busy');
    assert.equal(inner.exec.exitCode, 0);
    await assertNothingCached();
  });

  test('exit 0 with an error object on DEL: success, stdout ignored, as in Go (DEL prints nothing on success)', async () => {
    await plan({ error: { code: 7, msg: 'ignored' }, exitCode: 0 }, 'DEL');
    await cni.delNetworkList(listOf('fake'), RT);
  });

  test('a result that merely carries extra code/msg keys next to real fields is still a result', async () => {
    await plan({ result: { cniVersion: '1.0.0', code: 1, msg: 'x', ips: [{ address: '10.0.0.2/24' }] } });
    const res = await cni.addNetworkList(listOf('fake'), RT);
    assert.deepEqual(res, { cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }] });
    await plan({}, 'DEL');
    await cni.delNetworkList(listOf('fake'), RT);
  });
});

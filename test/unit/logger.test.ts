// The `logger` option of CNIConfig and NetworkManager: what each gets (only its own calls), at
// which level, and that a logger that throws or rejects never fails an operation.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { CNIConfig } from '../../src/cni/index.ts';
import { networkConfFromBytes } from '../../src/config/parse.ts';
import { NetworkPluginError } from '../../src/core/errors.ts';
import { SetupError } from '../../src/core/runtime-errors.ts';
import type { Logger, LogFields, LogLevel } from '../../src/core/logger.ts';
import { NetworkManager } from '../../src/runtime/manager.ts';
import { FakeExec } from '../../src/testing.ts';

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'libcni-logger-'));
  dirs.push(d);
  return d;
}

interface Entry {
  level: LogLevel;
  message: string;
  fields: LogFields;
}

function recorder(): Logger & { entries: Entry[] } {
  const entries: Entry[] = [];
  const at = (level: LogLevel) => (message: string, fields?: LogFields) => {
    entries.push({ level, message, fields: fields ?? {} });
  };
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

const RESULT = { cniVersion: '1.0.0', ips: [{ address: '10.7.0.2/24' }] };
const conflist = (name: string, plugins: string[]) =>
  networkConfFromBytes(
    Buffer.from(JSON.stringify({ cniVersion: '1.0.0', name, plugins: plugins.map((type) => ({ type })) })),
  );
const rt = { containerId: 'c1', netns: '/run/netns/c1', ifName: 'eth0' };

function exec(): FakeExec {
  return new FakeExec()
    .plugin('ipam-like', (call) => (call.command === 'ADD' ? { result: RESULT } : {}))
    .plugin('broken', (call) =>
      call.command === 'ADD' ? { error: { code: 11, msg: 'no more addresses' }, stderr: 'pool empty\n' } : {},
    );
}

test("a CNIConfig's logger gets each plugin call and operation of that config, and no other's", async () => {
  const mine = recorder();
  const theirs = recorder();
  const fakes = exec();
  const a = new CNIConfig({ path: ['/fake'], cacheDir: await tempDir(), exec: fakes, logger: mine });
  const b = new CNIConfig({ path: ['/fake'], cacheDir: await tempDir(), exec: fakes, logger: theirs });
  const list = conflist('lognet', ['ipam-like']);
  await Promise.all([a.addNetworkList(list, rt), b.addNetworkList(list, { ...rt, containerId: 'other' })]);

  assert.deepEqual(
    mine.entries.map((e) => [e.level, e.fields.event, e.fields.containerId]),
    [
      ['debug', 'plugin', 'c1'],
      ['debug', 'operation', 'c1'],
    ],
  );
  const [call, op] = mine.entries as [Entry, Entry];
  const { durationMs, ...rest } = call.fields;
  assert.deepEqual(rest, {
    event: 'plugin',
    command: 'ADD',
    plugin: 'ipam-like',
    pluginPath: '/fake/ipam-like',
    network: 'lognet',
    containerId: 'c1',
    ifName: 'eth0',
    exitCode: 0,
  });
  assert.match(String(durationMs), /^\d+(\.\d{1,3})?$/, 'milliseconds, rounded');
  assert.match(call.message, /^plugin ADD ipam-like net=lognet ctr=c1 if=eth0 exit=0 [\d.]+ms$/);
  assert.equal(op.fields.cniVersion, '1.0.0');
  assert.deepEqual(op.fields.plugins, ['ipam-like']);
  assert.equal(theirs.entries.length, 2);
  assert.ok(theirs.entries.every((e) => e.fields.containerId === 'other'));
});

test('a failing plugin is a warning with its error and stderr; the failed operation an error with its code', async () => {
  const log = recorder();
  const cni = new CNIConfig({ path: ['/fake'], cacheDir: await tempDir(), exec: exec(), logger: log });
  const list = conflist('failnet', ['ipam-like', 'broken']);
  await assert.rejects(cni.addNetworkList(list, rt), NetworkPluginError);
  assert.deepEqual(
    log.entries.map((e) => [e.level, e.fields.event, e.fields.plugin]),
    [
      ['debug', 'plugin', 'ipam-like'],
      ['warn', 'plugin', 'broken'],
      ['error', 'operation', undefined],
    ],
  );
  const failed = log.entries[1] as Entry;
  assert.equal(failed.fields.exitCode, 1);
  assert.equal(failed.fields.stderr, 'pool empty\n');
  assert.match(String(failed.fields.error), /no more addresses/);
  assert.equal((log.entries[2] as Entry).fields.errorCode, 11);
});

test('a logger that throws, or rejects, never fails an operation nor changes its error', async () => {
  let calls = 0;
  const boom = () => {
    calls++;
    throw new Error('logger is broken');
  };
  const rejecting = () => {
    calls++;
    return Promise.reject(new Error('async logger is broken'));
  };
  for (const logger of [
    { debug: boom, info: boom, warn: boom, error: boom },
    { debug: rejecting, info: rejecting, warn: rejecting, error: rejecting },
  ]) {
    const cni = new CNIConfig({ path: ['/fake'], cacheDir: await tempDir(), exec: exec(), logger });
    const list = conflist('safenet', ['ipam-like']);
    assert.deepEqual(await cni.addNetworkList(list, rt), RESULT);
    await cni.checkNetworkList(list, rt);
    await cni.delNetworkList(list, rt);
    await assert.rejects(cni.addNetworkList(conflist('safenet', ['broken']), rt), /no more addresses/);
  }
  // Each logger was told of all 4 operations and their 4 plugin calls (and survived each time).
  assert.equal(calls, 2 * (4 + 4));
  // An unhandled rejection would fail this test file; give any a turn to surface.
  await new Promise((r) => setImmediate(r));
});

test("a NetworkManager's logger gets its warnings (bad file, unused capability, rollback) and its plugin calls", async () => {
  const confDir = await tempDir();
  const file = (name: string, plugins: string[]) => JSON.stringify({ cniVersion: '1.0.0', name, plugins });
  await writeFile(path.join(confDir, '10-good.conflist'), file('good', [{ type: 'ipam-like' }] as never));
  await writeFile(path.join(confDir, '20-bad.conflist'), file('bad', [{ type: 'broken' }] as never));
  await writeFile(path.join(confDir, '30-torn.conflist'), '{"cniVersion": "1.0.0", "name": ');
  const log = recorder();
  const m = new NetworkManager({
    confDir,
    networks: 'all',
    pluginDirs: ['/fake'],
    cacheDir: await tempDir(),
    exec: exec(),
    logger: log,
  });
  await assert.rejects(m.setup('c9', '/run/netns/c9', { capabilityArgs: { portMappings: [] } }), SetupError);

  const byEvent = (event: string) => log.entries.filter((e) => e.fields.event === event);
  const [configError] = byEvent('configError');
  assert.ok(configError);
  assert.equal(configError.level, 'warn');
  assert.equal(configError.fields.file, path.join(confDir, '30-torn.conflist'));
  assert.deepEqual(
    byEvent('capabilityUnused').map((e) => [e.level, e.fields.network, e.fields.capability]),
    [
      ['warn', 'good', 'portMappings'],
      ['warn', 'bad', 'portMappings'],
    ],
  );
  const [rollback] = byEvent('rollback');
  assert.ok(rollback);
  assert.equal(rollback.level, 'warn');
  assert.equal(rollback.fields.containerId, 'c9');
  assert.equal(rollback.fields.ok, true);
  assert.match(rollback.message, /setup of c9 failed .*no more addresses.*rollback done/);
  assert.deepEqual(
    byEvent('plugin').map((e) => [e.level, e.fields.command, e.fields.plugin]),
    [
      ['debug', 'ADD', 'ipam-like'],
      ['warn', 'ADD', 'broken'],
      ['debug', 'DEL', 'broken'],
      ['debug', 'DEL', 'ipam-like'],
    ],
  );
  assert.equal(byEvent('configLoaded')[0]?.level, 'info');
});

// ExecPluginWithResult / ExecPluginWithoutResult (I5–I8) and GetVersionInfo (I9, I12), through an
// in-process Exec and through the real fake plugin.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { buildPluginEnv } from '../../src/invoke/env.ts';
import { DefaultExec, type Exec, type ExecOptions, type ExecOutput } from '../../src/invoke/exec.ts';
import { execPluginWithoutResult, execPluginWithResult } from '../../src/invoke/plugin.ts';
import { getVersionInfo } from '../../src/invoke/version-probe.ts';
import { CniError, PluginError, ResultError, VersionError } from '../../src/core/errors.ts';
import { makePluginDir, type PluginDir } from '../helpers/fixtures.ts';

interface ExecCall {
  pluginPath: string;
  stdin: string;
  env: Record<string, string>;
  options: ExecOptions;
}

/** An Exec that records what it was asked and answers with fixed stdout or an error. */
class RecordingExec implements Exec {
  readonly calls: ExecCall[] = [];
  constructor(private readonly answer: string | Error) {}
  execPlugin(pluginPath: string, stdin: Uint8Array, env: Record<string, string>, options?: ExecOptions) {
    this.calls.push({ pluginPath, stdin: Buffer.from(stdin).toString(), env, options: options ?? {} });
    if (this.answer instanceof Error) return Promise.reject(this.answer);
    const out: ExecOutput = {
      stdout: Buffer.from(this.answer),
      stderr: 'warn',
      exitCode: 0,
      durationMs: 1.5,
    };
    return Promise.resolve(out);
  }
  findInPath(type: string): Promise<string> {
    return Promise.resolve(`/fake/${type}`);
  }
}

const CONF = Buffer.from('{"cniVersion":"0.3.1","name":"net","type":"fake"}');
const ENV = { CNI_COMMAND: 'ADD', CNI_PATH: '/fake' };

describe('execPluginWithResult', () => {
  test('passes stdin, env and options through and decodes the result (I5)', async () => {
    const exec = new RecordingExec(
      '{"cniVersion":"0.3.1","ips":[{"version":"4","address":"10.1.2.3/24"}],"dns":{}}',
    );
    const signal = new AbortController().signal;
    const result = await execPluginWithResult(exec, '/fake/fake', CONF, ENV, {
      configVersion: '0.3.1',
      signal,
      timeoutMs: 1234,
      command: 'ADD',
    });
    assert.equal(result.cniVersion, '0.3.1');
    assert.deepEqual((result as { ips?: unknown }).ips, [{ version: '4', address: '10.1.2.3/24' }]);
    assert.equal(exec.calls.length, 1);
    const call = exec.calls[0]!;
    assert.equal(call.pluginPath, '/fake/fake');
    assert.equal(call.stdin, CONF.toString());
    assert.deepEqual(call.env, ENV);
    assert.equal(call.options.signal, signal);
    assert.equal(call.options.timeoutMs, 1234);
    assert.equal('configVersion' in call.options, false, 'configVersion is ours, not the Exec’s');
  });

  test('exec errors propagate unchanged (I5)', async () => {
    const failure = new CniError(7, 'banana');
    await assert.rejects(
      execPluginWithResult(new RecordingExec(failure), '/fake/fake', CONF, ENV, { configVersion: '0.3.1' }),
      (err: unknown) => err === failure,
    );
  });

  test('a result without cniVersion takes the config version (I6), or 0.1.0 when both are empty (I7)', async () => {
    for (const answer of [
      '{"ips":[{"version":"4","address":"10.1.2.3/24"}]}',
      '{"cniVersion":"","ips":[]}',
    ]) {
      const r = await execPluginWithResult(new RecordingExec(answer), '/p', CONF, ENV, {
        configVersion: '0.3.1',
      });
      assert.equal(r.cniVersion, '0.3.1', answer);
    }
    const old = await execPluginWithResult(
      new RecordingExec('{"ip4":{"ip":"10.1.2.3/24"}}'),
      '/p',
      CONF,
      ENV,
      {
        configVersion: '',
      },
    );
    assert.equal(old.cniVersion, '0.1.0');
    // The result's own version is kept even when it differs from the config's, as in Go.
    const other = await execPluginWithResult(new RecordingExec('{"cniVersion":"1.0.0"}'), '/p', CONF, ENV, {
      configVersion: '0.3.1',
    });
    assert.equal(other.cniVersion, '1.0.0');
  });

  test('an undecodable result is a PluginError naming the plugin and command, with the ResultError as cause', async () => {
    const exec = new RecordingExec('this is not json');
    await assert.rejects(
      execPluginWithResult(exec, '/opt/cni/bin/bridge', CONF, ENV, {
        configVersion: '1.0.0',
        command: 'ADD',
        context: { network: 'net' },
      }),
      (err: unknown) => {
        assert.ok(err instanceof PluginError);
        assert.ok(err.cause instanceof ResultError);
        assert.match(err.message, /^plugin \/opt\/cni\/bin\/bridge \(ADD\) returned an invalid result: /);
        assert.ok(err.message.endsWith((err.cause as Error).message));
        assert.equal(err.exec.stdout, 'this is not json');
        assert.equal(err.exec.stderr, 'warn');
        assert.equal(err.exec.exitCode, 0);
        assert.equal(err.context.network, 'net');
        return true;
      },
    );
    await assert.rejects(
      execPluginWithResult(new RecordingExec('{"cniVersion":"0.4567.0"}'), '/p', CONF, ENV, {
        configVersion: '1.0.0',
      }),
      (err: unknown) =>
        err instanceof PluginError && err.message.includes('unsupported CNI result version "0.4567.0"'),
    );
  });
});

describe('execPluginWithoutResult (I8)', () => {
  test('ignores stdout, passes everything through, propagates errors', async () => {
    const exec = new RecordingExec('not even json');
    await execPluginWithoutResult(exec, '/fake/fake', CONF, ENV, { configVersion: '0.3.1', timeoutMs: 5 });
    assert.equal(exec.calls[0]!.stdin, CONF.toString());
    assert.equal(exec.calls[0]!.options.timeoutMs, 5);
    assert.equal('configVersion' in exec.calls[0]!.options, false);
    await execPluginWithoutResult(exec, '/fake/fake', CONF, ENV);
    const failure = new Error('boom');
    await assert.rejects(
      execPluginWithoutResult(new RecordingExec(failure), '/p', CONF, ENV),
      (e) => e === failure,
    );
  });
});

describe('getVersionInfo', () => {
  test('execs VERSION with stdin {"cniVersion":"1.1.0"} and dummy env, and decodes (I9)', async () => {
    const exec = new RecordingExec('{"cniVersion":"1.0.0","supportedVersions":["0.4.0","1.0.0"]}');
    const info = await getVersionInfo(exec, '/fake/fake', {
      env: 'minimal',
      baseEnv: { PATH: '/bin' },
      timeoutMs: 99,
    });
    assert.deepEqual(info, { cniVersion: '1.0.0', supportedVersions: ['0.4.0', '1.0.0'] });
    const call = exec.calls[0]!;
    assert.equal(call.stdin, '{"cniVersion":"1.1.0"}');
    assert.deepEqual(
      call.env,
      buildPluginEnv({ command: 'VERSION', path: [] }, { env: 'minimal', baseEnv: { PATH: '/bin' } }),
    );
    assert.equal(call.env.CNI_NETNS, 'dummy');
    assert.equal(call.env.CNI_IFNAME, 'dummy');
    assert.equal(call.env.CNI_PATH, 'dummy');
    assert.equal(call.options.timeoutMs, 99);
    assert.equal(call.options.command, 'VERSION');
    assert.equal('baseEnv' in call.options, false, 'env options are not passed to the Exec');
  });

  test('"unknown CNI_COMMAND: VERSION" means 0.1.0 only; other errors pass through (I9)', async () => {
    const old = new CniError(100, 'unknown CNI_COMMAND: VERSION');
    assert.deepEqual((await getVersionInfo(new RecordingExec(old), '/p')).supportedVersions, ['0.1.0']);
    const other = new CniError(100, 'unknown CNI_COMMAND: VERSION', 'with details');
    await assert.rejects(getVersionInfo(new RecordingExec(other), '/p'), (e) => e === other);
    await assert.rejects(getVersionInfo(new RecordingExec('{"supportedVersions":["1.0.0"]}'), '/p'), {
      message: 'decoding version info: missing field cniVersion',
    });
    await assert.rejects(getVersionInfo(new RecordingExec('nope'), '/p'), VersionError);
  });
});

describe('through the fake plugin', () => {
  let plugins: PluginDir;
  const exec = new DefaultExec();
  before(async () => {
    plugins = await makePluginDir({ fake: 'fake' });
  });
  after(() => plugins.cleanup());

  test('ADD result end to end, with the env the plugin saw', async () => {
    await plugins.writePlan('fake', {
      ADD: { result: { cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }] } },
    });
    const env = buildPluginEnv(
      {
        command: 'ADD',
        containerId: 'cid',
        netns: '/run/netns/x',
        ifName: 'eth0',
        args: [['K', 'V']],
        path: [plugins.dir],
      },
      { env: 'minimal' },
    );
    const result = await execPluginWithResult(exec, plugins.path('fake'), CONF, env, {
      configVersion: '0.3.1',
    });
    assert.equal(result.cniVersion, '1.0.0');
    const call = (await plugins.calls('fake')).at(-1)!;
    assert.equal(call.stdin, CONF.toString());
    assert.equal(call.env.CNI_ARGS, 'K=V');
    assert.equal(call.env.CNI_PATH, plugins.dir);
  });

  test('historical VERSION answers (I12)', async () => {
    const cases: Array<[unknown, string[]]> = [
      ['old', ['0.1.0']],
      [{ cniVersion: '0.2.0' }, ['0.1.0', '0.2.0']],
      [
        ['0.2.0', '0.999.0'],
        ['0.2.0', '0.999.0'],
      ],
      [
        ['0.2.0', '0.4.0', '0.999.0'],
        ['0.2.0', '0.4.0', '0.999.0'],
      ],
    ];
    for (const [version, expected] of cases) {
      await plugins.writePlan('fake', { VERSION: { version: version as never } });
      const info = await getVersionInfo(exec, plugins.path('fake'));
      assert.deepEqual(info.supportedVersions, expected, JSON.stringify(version));
    }
    const call = (await plugins.calls('fake')).at(-1)!;
    assert.equal(call.command, 'VERSION');
    assert.equal(call.stdin, '{"cniVersion":"1.1.0"}');
  });
});

describe('a real Go plugin', () => {
  const loopback = '/usr/lib/cni/loopback';
  test('VERSION of /usr/lib/cni/loopback (it never reads stdin)', async () => {
    assert.ok(existsSync(loopback), `${loopback} is missing (Debian package containernetworking-plugins)`);
    const info = await getVersionInfo(new DefaultExec(), loopback, { timeoutMs: 10_000 });
    assert.ok(info.supportedVersions.includes('0.4.0'));
    assert.ok(info.cniVersion !== '');
  });

  test('a Go plugin error on stdout, decoded (ADD with no netns)', async () => {
    assert.ok(existsSync(loopback), `${loopback} is missing (Debian package containernetworking-plugins)`);
    const env = buildPluginEnv(
      {
        command: 'ADD',
        containerId: 'c1',
        netns: '/nonexistent/netns',
        ifName: 'lo',
        path: ['/usr/lib/cni'],
      },
      { env: 'minimal' },
    );
    const conf = Buffer.from('{"cniVersion":"0.4.0","name":"lo","type":"loopback"}');
    await assert.rejects(
      execPluginWithResult(new DefaultExec(), loopback, conf, env, {
        configVersion: '0.4.0',
        timeoutMs: 10_000,
      }),
      (err: unknown) => {
        assert.ok(err instanceof PluginError);
        assert.ok(err.code > 0, `code ${err.code}`);
        assert.match(err.message, /nonexistent/);
        assert.equal(err.exec.exitCode, 1);
        return true;
      },
    );
  });
});

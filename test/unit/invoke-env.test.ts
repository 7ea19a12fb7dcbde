// Plugin environment: the CNI_* variables per command (Go's Args.AsEnv, §3.4/§3.13), env modes,
// trace context, and refusal of values that would be mis-parsed by the plugin.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildPluginEnv, DEFAULT_PLUGIN_PATH, formatCniArgs } from '../../src/invoke/env.ts';
import { ValidationError } from '../../src/core/errors.ts';

const base = {
  PATH: '/usr/bin:/bin',
  HOME: '/root',
  LOG_TARGET: 'stdout',
  CNI_COMMAND: 'NOPE',
  CNI_NETNS: '/inherited',
  CNI_NETNS_OVERRIDE: '1',
  CNI_PATH: '/inherited/bin',
};

const cniVars = (env: Record<string, string>) =>
  Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('CNI_')));

describe('buildPluginEnv', () => {
  test('ADD: the six CNI variables, overriding inherited ones; other inherited CNI_* dropped (I1)', () => {
    const env = buildPluginEnv(
      {
        command: 'ADD',
        containerId: 'some-container-id',
        netns: '/some/netns/path',
        ifName: 'eth0',
        args: [
          ['KEY1', 'VALUE1'],
          ['KEY2', 'VALUE2'],
        ],
        path: ['/opt/cni/bin', '/usr/libexec/cni'],
      },
      { baseEnv: base },
    );
    assert.deepEqual(cniVars(env), {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'some-container-id',
      CNI_NETNS: '/some/netns/path',
      CNI_IFNAME: 'eth0',
      CNI_ARGS: 'KEY1=VALUE1;KEY2=VALUE2',
      CNI_PATH: '/opt/cni/bin:/usr/libexec/cni',
    });
    assert.equal(env.CNI_NETNS_OVERRIDE, undefined);
    assert.equal(env.HOME, '/root');
    assert.equal(env.LOG_TARGET, 'stdout');
    assert.equal(env.PATH, '/usr/bin:/bin');
  });

  test('CHECK/DEL set the same six; absent fields are empty strings', () => {
    for (const command of ['CHECK', 'DEL'] as const) {
      const env = buildPluginEnv({ command, path: ['/bin'] }, { baseEnv: {} });
      assert.deepEqual(cniVars(env), {
        CNI_COMMAND: command,
        CNI_CONTAINERID: '',
        CNI_NETNS: '',
        CNI_IFNAME: '',
        CNI_ARGS: '',
        CNI_PATH: '/bin',
      });
    }
  });

  test('argsString wins over args when non-empty (Go PluginArgsStr)', () => {
    const env = buildPluginEnv(
      { command: 'ADD', args: [['A', 'B']], argsString: 'IgnoreUnknown=1;X=Y', path: [] },
      { baseEnv: {} },
    );
    assert.equal(env.CNI_ARGS, 'IgnoreUnknown=1;X=Y');
    assert.equal(
      buildPluginEnv({ command: 'ADD', args: [['A', 'B']], argsString: '', path: [] }).CNI_ARGS,
      'A=B',
    );
  });

  test('GC and STATUS: container id, netns, args and ifname are empty, path is joined', () => {
    for (const command of ['GC', 'STATUS'] as const) {
      const env = buildPluginEnv(
        { command, containerId: 'c', netns: '/n', ifName: 'eth0', args: [['A', 'B']], path: ['/a', '/b'] },
        { baseEnv: base },
      );
      assert.deepEqual(cniVars(env), {
        CNI_COMMAND: command,
        CNI_CONTAINERID: '',
        CNI_NETNS: '',
        CNI_IFNAME: '',
        CNI_ARGS: '',
        CNI_PATH: '/a:/b',
      });
    }
  });

  test('VERSION: dummy netns, ifname and path (I9)', () => {
    const env = buildPluginEnv({ command: 'VERSION', path: ['/opt/cni/bin'] }, { baseEnv: base });
    assert.deepEqual(cniVars(env), {
      CNI_COMMAND: 'VERSION',
      CNI_CONTAINERID: '',
      CNI_NETNS: 'dummy',
      CNI_IFNAME: 'dummy',
      CNI_ARGS: '',
      CNI_PATH: 'dummy',
    });
  });

  test('defaults to inheriting process.env', () => {
    const env = buildPluginEnv({ command: 'DEL', path: [] });
    assert.equal(env.PATH, process.env.PATH);
    for (const k of Object.keys(process.env)) if (!k.startsWith('CNI_')) assert.equal(env[k], process.env[k]);
  });

  test("'minimal' passes only PATH and the CNI variables", () => {
    const env = buildPluginEnv({ command: 'ADD', path: ['/bin'] }, { env: 'minimal', baseEnv: base });
    assert.deepEqual(Object.keys(env).sort(), [
      'CNI_ARGS',
      'CNI_COMMAND',
      'CNI_CONTAINERID',
      'CNI_IFNAME',
      'CNI_NETNS',
      'CNI_PATH',
      'PATH',
    ]);
    assert.equal(env.PATH, '/usr/bin:/bin');
    const noPath = buildPluginEnv({ command: 'ADD', path: [] }, { env: 'minimal', baseEnv: { HOME: '/' } });
    assert.equal(noPath.PATH, DEFAULT_PLUGIN_PATH);
  });

  test('an allowlist passes PATH plus the named variables that are set, never CNI_*', () => {
    const env = buildPluginEnv(
      { command: 'ADD', path: [] },
      { env: ['HOME', 'UNSET_VAR', 'CNI_NETNS_OVERRIDE'], baseEnv: base },
    );
    assert.deepEqual(
      Object.keys(env)
        .filter((k) => !k.startsWith('CNI_'))
        .sort(),
      ['HOME', 'PATH'],
    );
    assert.equal(env.CNI_NETNS_OVERRIDE, undefined);
    assert.equal(env.CNI_NETNS, '');
  });

  test('extraEnv is added but cannot change the request variables', () => {
    const env = buildPluginEnv(
      { command: 'ADD', containerId: 'c', path: [] },
      { env: 'minimal', baseEnv: base, extraEnv: { DEBUG: '1', CNI_CONTAINERID: 'evil', CNI_EXTRA: 'kept' } },
    );
    assert.equal(env.DEBUG, '1');
    assert.equal(env.CNI_CONTAINERID, 'c');
    assert.equal(env.CNI_EXTRA, 'kept');
    assert.throws(
      () => buildPluginEnv({ command: 'ADD', path: [] }, { extraEnv: { 'A=B': 'x' } }),
      (err: unknown) => err instanceof ValidationError && err.field === 'env' && err.code === 4,
    );
  });

  test('a variable named __proto__ is passed on like any other', () => {
    const base = JSON.parse('{"__proto__":"x","A":"1"}') as NodeJS.ProcessEnv;
    const env = buildPluginEnv({ command: 'ADD', path: [] }, { baseEnv: base });
    assert.deepEqual(Object.getOwnPropertyDescriptor(env, '__proto__')?.value, 'x');
    assert.equal(env.A, '1');
  });

  test('trace context: set when the traceparent is valid, ignored entirely otherwise', () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const env = buildPluginEnv(
      { command: 'ADD', path: [] },
      { baseEnv: {}, trace: { traceparent, tracestate: 'rojo=00f067aa0ba902b7', baggage: 'userId=alice' } },
    );
    assert.equal(env.TRACEPARENT, traceparent);
    assert.equal(env.TRACESTATE, 'rojo=00f067aa0ba902b7');
    assert.equal(env.BAGGAGE, 'userId=alice');

    const noState = buildPluginEnv(
      { command: 'ADD', path: [] },
      { baseEnv: {}, trace: { traceparent, tracestate: '' } },
    );
    assert.equal(noState.TRACEPARENT, traceparent);
    assert.equal('TRACESTATE' in noState, false);
    assert.equal('BAGGAGE' in noState, false);

    for (const bad of [
      '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7',
      'garbage',
    ]) {
      const e = buildPluginEnv(
        { command: 'ADD', path: [] },
        { baseEnv: {}, trace: { traceparent: bad, baggage: 'a=b' } },
      );
      assert.equal('TRACEPARENT' in e, false, bad);
      assert.equal('BAGGAGE' in e, false, bad);
    }
  });

  test('CNI_ARGS that would be mis-parsed by the plugin are refused with code 4', () => {
    const bad: Array<[string, string]> = [
      ['K;X', 'v'],
      ['K=X', 'v'],
      ['K', 'v;X=y'],
    ];
    for (const pair of bad) {
      assert.throws(
        () => buildPluginEnv({ command: 'ADD', args: [pair], path: [] }),
        (err: unknown) => err instanceof ValidationError && err.field === 'cniArgs' && err.code === 4,
        pair.join('='),
      );
    }
    // '=' in a value is passed through as Go does.
    assert.equal(formatCniArgs([['K', 'a=b']]), 'K=a=b');
    assert.equal(formatCniArgs([]), '');
  });

  test('NUL in any value is refused, naming the request field it came from', () => {
    assert.throws(
      () => buildPluginEnv({ command: 'ADD', args: [['K', 'a\0b']], path: [] }),
      (err: unknown) =>
        err instanceof ValidationError && err.field === 'cniArgs' && err.details === 'CNI_ARGS',
    );
    assert.throws(
      () => buildPluginEnv({ command: 'ADD', netns: '/x\0y', path: [] }),
      (err: unknown) => err instanceof ValidationError && err.field === 'netns',
    );
    assert.throws(
      () => buildPluginEnv({ command: 'ADD', path: [] }, { baseEnv: { FOO: 'a\0b' } }),
      (err: unknown) => err instanceof ValidationError && err.field === 'env' && err.details === 'FOO',
    );
  });
});

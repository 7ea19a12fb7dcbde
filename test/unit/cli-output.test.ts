// cnitool's output: results in Go's json.MarshalIndent bytes, errors as one line or the spec's object.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { errorLine, errorObject, formatResult, indentJson } from '../../src/cli/output.ts';
import {
  AggregateLibcniError,
  CacheError,
  CniError,
  ConfigError,
  ErrorCode,
  NetworkPluginError,
  NotFoundError,
  PluginAbortedError,
  PluginError,
  type PluginExecInfo,
  PluginTimeoutError,
  ResultError,
  ValidationError,
  VersionError,
} from '../../src/core/errors.ts';
import { CliUsageError } from '../../src/cli/errors.ts';

describe('indentJson (Go json.Indent with 4 spaces)', () => {
  test('a result as Go prints it: one member per line, empty containers kept, no trailing newline', () => {
    const compact =
      '{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","mac":"aa:bb"}],"ips":[],"dns":{},"n":[1,2]}';
    const go = [
      '{',
      '    "cniVersion": "1.0.0",',
      '    "interfaces": [',
      '        {',
      '            "name": "eth0",',
      '            "mac": "aa:bb"',
      '        }',
      '    ],',
      '    "ips": [],',
      '    "dns": {},',
      '    "n": [',
      '        1,',
      '        2',
      '    ]',
      '}',
    ].join('\n');
    assert.equal(indentJson(compact), go);
  });

  test('punctuation and escapes inside strings are left alone', () => {
    const compact = '{"k,{:}":"v [1,2] \\"q\\" \\\\","e":""}';
    assert.equal(indentJson(compact), '{\n    "k,{:}": "v [1,2] \\"q\\" \\\\",\n    "e": ""\n}');
    assert.deepEqual(JSON.parse(indentJson(compact)), JSON.parse(compact));
  });

  test('scalars and empty top-level containers', () => {
    assert.equal(indentJson('{}'), '{}');
    assert.equal(indentJson('[]'), '[]');
    assert.equal(indentJson('"x"'), '"x"');
  });
});

describe('formatResult', () => {
  test("Go's encoder: HTML-safe escapes, key order kept", () => {
    assert.equal(formatResult({ z: '<&>', a: 1 }), '{\n    "z": "\\u003c\\u0026\\u003e",\n    "a": 1\n}');
  });
});

describe('errors', () => {
  test('one line: line breaks folded, usage errors point at --help', () => {
    assert.equal(errorLine(new Error('a\nb\n')), 'a; b');
    assert.equal(errorLine(new AggregateLibcniError([new Error('x'), new Error('y')])), 'x; y');
    assert.equal(
      errorLine(new CliUsageError('add: missing arguments', 'add')),
      'cnitool: add: missing arguments (see "cnitool add --help")',
    );
  });

  test("Go's message text is printed unchanged, then the variable that chose the directory", () => {
    assert.equal(
      errorLine(new NotFoundError('/etc/cni/net.d', 'x')),
      'no net configuration with name "x" in /etc/cni/net.d (networks are read from NETCONFPATH, default /etc/cni/net.d)',
    );
  });

  test('--json: the spec error object, with the plugin code when a plugin failed', () => {
    assert.deepEqual(errorObject(new CniError(7, 'bad config', 'field x')), {
      cniVersion: '1.1.0',
      code: 7,
      msg: 'bad config',
      details: 'field x',
    });
    const wrapped = new NetworkPluginError(
      'plugin type="bridge" failed (add): boom',
      new CniError(101, 'boom'),
      {},
    );
    assert.deepEqual(errorObject(wrapped), {
      cniVersion: '1.1.0',
      code: 101,
      msg: 'plugin type="bridge" failed (add): boom',
    });
    assert.equal(errorObject(new ConfigError('bad')).code, 7);
    assert.equal(errorObject(new NotFoundError('/d', 'n')).code, 7);
    assert.equal(errorObject(new CliUsageError('x')).code, 4);
    assert.equal(errorObject(new Error('x')).code, 999);
  });

  test('--json: never code 0 — a plugin that failed without an error object is 999', () => {
    const exec = (exitCode: number | null, signal: string | null): PluginExecInfo => ({
      pluginPath: '/opt/cni/bin/x',
      command: 'ADD',
      exitCode,
      signal,
      stderr: '',
      stdout: '',
      durationMs: 1,
    });
    const inList = (e: Error) => new NetworkPluginError(`plugin type="x" failed (add): ${e.message}`, e, {});
    // What the exec layer raises, all with Go's code 0: a non-zero exit with nothing on stdout, a
    // crash (signal), an error object with code 0, a timeout, an abort (Ctrl-C / SIGTERM).
    const failures = [
      new PluginError(0, 'netplugin failed with no error message: exit status 1', undefined, exec(1, null)),
      new PluginError(
        0,
        'netplugin failed: "boom": signal: segmentation fault',
        undefined,
        exec(null, 'SIGSEGV'),
      ),
      new PluginError(0, 'zero', 'from the plugin', exec(1, null)),
      new PluginTimeoutError(300, exec(null, 'SIGTERM')),
      new PluginAbortedError(exec(null, 'SIGKILL')),
    ];
    for (const e of failures) {
      const direct = errorObject(e);
      assert.equal(direct.code, 999, e.message);
      assert.equal(direct.msg, e.msg);
      assert.equal(errorObject(inList(e)).code, 999, e.message);
    }
    assert.equal(errorObject(failures[2] as Error).details, 'from the plugin');
    // A result the plugin printed that cannot be decoded: code 0 on the plugin error, 6 underneath.
    const badResult = new PluginError(0, 'returned an invalid result', undefined, exec(0, null), {
      cause: new ResultError('bad'),
    });
    assert.equal(errorObject(inList(badResult)).code, ErrorCode.DecodingFailure);
  });

  test('--json: the codes the README lists', () => {
    assert.equal(errorObject(new ValidationError('netns', 8, 'not a netns')).code, 8);
    assert.equal(errorObject(new ValidationError('containerId', 3, 'missing containerID')).code, 3);
    assert.equal(errorObject(new VersionError('x')).code, 1);
    assert.equal(errorObject(new ResultError('x')).code, 6);
    assert.equal(errorObject(new CacheError('x')).code, 5);
    assert.equal(errorObject(new AggregateLibcniError([new Error('a'), new Error('b')])).code, 999);
  });
});

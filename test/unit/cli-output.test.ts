// cnitool's output: results in Go's json.MarshalIndent bytes, errors as one line or the spec's object.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { errorLine, errorObject, formatResult, indentJson } from '../../src/cli/output.ts';
import {
  AggregateLibcniError,
  CliUsageError,
  CniError,
  ConfigError,
  NetworkPluginError,
  NotFoundError,
} from '../../src/core/errors.ts';

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

  test("Go's message text is printed unchanged", () => {
    assert.equal(
      errorLine(new NotFoundError('/etc/cni/net.d', 'x')),
      'no net configuration with name "x" in /etc/cni/net.d',
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
});

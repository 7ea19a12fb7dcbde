// Decoding a failed plugin run into Go's error (RawExec.pluginErr) and Go's %q quoting of bytes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { goQuoteBytes } from '../../src/go/quote.ts';
import { goDescribeExit as describeExit } from '../../src/go/process.ts';
import { pluginFailure } from '../../src/invoke/plugin-failure.ts';
import type { PluginExecInfo } from '../../src/core/errors.ts';

const info: PluginExecInfo = {
  pluginPath: '/opt/cni/bin/x',
  command: 'ADD',
  exitCode: 1,
  signal: null,
  stderr: '',
  stdout: '',
  durationMs: 1,
};
const fail = (stdout: string | Buffer, stderr = '', exec: Partial<PluginExecInfo> = {}) =>
  pluginFailure(Buffer.from(stdout), Buffer.from(stderr), { ...info, ...exec });

describe('pluginFailure', () => {
  test('an error object: code, msg, details; extra keys ignored; stderr left out of the message', () => {
    const e = fail(
      '{"cniVersion":"1.1.0","code":7,"msg":"Invalid Configuration","details":"too small","x":1}',
      'noise',
    );
    assert.equal(e.code, 7);
    assert.equal(e.message, 'Invalid Configuration; too small');
    assert.equal(e.context.pluginPath, '/opt/cni/bin/x');
    assert.equal(e.context.command, 'ADD');
  });

  test('{} and null give code 0 and an empty message; keys match case-insensitively as in Go', () => {
    for (const empty of ['{}', 'null', '{"code":null,"msg":null}']) {
      const e = fail(empty);
      assert.equal(e.code, 0, empty);
      assert.equal(e.message, '', empty);
    }
    const e = fail('{"CODE":11,"Msg":"later","DETAILS":"busy"}');
    assert.equal(e.code, 11);
    assert.equal(e.message, 'later; busy');
    assert.equal(e.isTryAgainLater, true);
  });

  test('undecodable output: Go syntax and type errors, keeping the fields that did decode', () => {
    assert.equal(
      fail('{"code":7').message,
      'netplugin failed but error parsing its diagnostic message "{\\"code\\":7": unexpected end of JSON input',
    );
    assert.equal(
      fail('[1]').message,
      'netplugin failed but error parsing its diagnostic message "[1]": json: cannot unmarshal array into Go value of type types.Error',
    );
    const typed = fail('{"code":7,"msg":5,"details":"d"}');
    assert.equal(typed.code, 7);
    assert.equal(typed.details, 'd');
    assert.equal(
      typed.msg,
      'netplugin failed but error parsing its diagnostic message "{\\"code\\":7,\\"msg\\":5,\\"details\\":\\"d\\"}": json: cannot unmarshal number into Go struct field Error.msg of type string',
    );
    assert.match(
      fail('{"code":-1}').message,
      /cannot unmarshal number -1 into Go struct field Error\.code of type uint$/,
    );
    assert.match(
      fail('{"code":"7"}').message,
      /cannot unmarshal string into Go struct field Error\.code of type uint$/,
    );
  });

  test('empty stdout: stderr quoted with the exit status, or no error message at all', () => {
    assert.equal(
      fail('', 'some stderr message').message,
      'netplugin failed: "some stderr message": exit status 1',
    );
    assert.equal(
      fail('', '', { exitCode: 2 }).message,
      'netplugin failed with no error message: exit status 2',
    );
    assert.equal(
      fail('', '', { exitCode: null, signal: 'SIGSEGV' }).message,
      'netplugin failed with no error message: signal: segmentation fault',
    );
    // Whitespace is output: Go tries to decode it.
    assert.match(
      fail(' \n').message,
      /^netplugin failed but error parsing its diagnostic message " \\n": unexpected end of JSON input$/,
    );
  });

  test('describeExit uses Go wording', () => {
    assert.equal(describeExit(0, null), 'exit status 0');
    assert.equal(describeExit(null, 'SIGKILL'), 'signal: killed');
    assert.equal(describeExit(null, 'SIGTERM'), 'signal: terminated');
    assert.equal(describeExit(null, 'SIGRTMIN'), 'signal: SIGRTMIN');
  });
});

describe('goQuoteBytes (Go %q)', () => {
  test('escapes like strconv.Quote', () => {
    const q = (s: string | number[]) => goQuoteBytes(typeof s === 'string' ? Buffer.from(s) : Buffer.from(s));
    assert.equal(q('plain text'), '"plain text"');
    assert.equal(q('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(q('\x07\b\f\n\r\t\v'), '"\\a\\b\\f\\n\\r\\t\\v"');
    assert.equal(q('\x00\x1b\x7f'), '"\\x00\\x1b\\x7f"');
    assert.equal(q('héllo 日本 😀'), '"héllo 日本 😀"');
    assert.equal(q('\u00a0\u200b\u{e0001}'), '"\\u00a0\\u200b\\U000e0001"');
    // Invalid UTF-8: each bad byte as \xNN (overlong, surrogate, truncated, stray continuation).
    assert.equal(q([0xc0, 0xaf]), '"\\xc0\\xaf"');
    assert.equal(q([0xed, 0xa0, 0x80]), '"\\xed\\xa0\\x80"');
    assert.equal(q([0x61, 0xe6, 0x97]), '"a\\xe6\\x97"');
    assert.equal(q([0x80, 0x62]), '"\\x80b"');
    assert.equal(q([0xf4, 0x90, 0x80, 0x80]), '"\\xf4\\x90\\x80\\x80"');
  });
});

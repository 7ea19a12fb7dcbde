// The byte-preserving JSON helper: Go's syntax error wording, member/element offsets, and member
// edits that leave every other character of the text alone.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { JsonSyntaxError } from '../../src/core/errors.ts';
import { setMembers } from '../../src/go/json-edit.ts';
import { arrayElements, objectMembers, scanJson } from '../../src/go/json-scan.ts';

function syntaxError(text: string): string {
  try {
    scanJson(text);
  } catch (e) {
    assert.ok(e instanceof JsonSyntaxError, `expected JsonSyntaxError, got ${String(e)}`);
    return e.message;
  }
  return 'no error';
}

describe('scanJson reports errors in Go encoding/json words', () => {
  const cases: Array<[string, string]> = [
    ['', 'unexpected end of JSON input'],
    ['  \n', 'unexpected end of JSON input'],
    ['{', 'unexpected end of JSON input'],
    ['{"a":1', 'unexpected end of JSON input'],
    ['"abc', 'unexpected end of JSON input'],
    ['{"a":1,}', "invalid character '}' looking for beginning of object key string"],
    ['[1,]', "invalid character ']' looking for beginning of value"],
    ['{"a" 1}', "invalid character '1' after object key"],
    ['{"a":1 "b":2}', `invalid character '"' after object key:value pair`],
    ['[1 2]', "invalid character '2' after array element"],
    ['01', "invalid character '1' after top-level value"],
    ['{} x', "invalid character 'x' after top-level value"],
    ['-x', "invalid character 'x' in numeric literal"],
    ['1.x', "invalid character 'x' after decimal point in numeric literal"],
    ['1ex', "invalid character 'x' in exponent of numeric literal"],
    ['trux', "invalid character 'x' in literal true (expecting 'e')"],
    ['"\\x"', "invalid character 'x' in string escape code"],
    ['"\\u12g4"', "invalid character 'g' in \\u hexadecimal character escape"],
    ['"a\nb"', "invalid character '\\n' in string literal"],
    ["'a'", "invalid character '\\'' looking for beginning of value"],
    // Go's scanner shows the first byte of a multi-byte character as a rune: U+FEFF (a BOM) is EF BB BF.
    ['\ufeff{}', "invalid character 'ï' looking for beginning of value"],
    ['é', "invalid character 'Ã' looking for beginning of value"],
    // At end of input Go feeds a space: a token a space cannot end reports that space.
    ['tru', "invalid character ' ' in literal true (expecting 'e')"],
    ['[n', "invalid character ' ' in literal null (expecting 'u')"],
    ['-', "invalid character ' ' in numeric literal"],
    ['2.', "invalid character ' ' after decimal point in numeric literal"],
    ['4e-', "invalid character ' ' in exponent of numeric literal"],
    ['"\\', "invalid character ' ' in string escape code"],
    ['1', 'no error'],
    [' {"a":[true,false,null,-0.5e+3,"\\u00e9"]} ', 'no error'],
  ];
  for (const [text, want] of cases) {
    test(JSON.stringify(text), () => {
      assert.equal(syntaxError(text), want);
    });
  }

  test('nesting deeper than Go allows (10000) is refused, 10000 is fine', () => {
    assert.equal(syntaxError('['.repeat(10001)), "invalid character '[' exceeded max depth");
    assert.equal(syntaxError(`${'['.repeat(10000)}${']'.repeat(10000)}`), 'no error');
  });
});

describe('objectMembers and arrayElements', () => {
  test('members come in document order with exact offsets, duplicates included', () => {
    const text = ' { "a" : 1.50 , "b":[1, 2], "a": {"x":"\\u00e9"} } ';
    const members = objectMembers(text);
    assert.deepEqual(
      members.map((m) => [m.key, text.slice(m.start, m.end), text.slice(m.valueStart, m.valueEnd)]),
      [
        ['a', '"a" : 1.50', '1.50'],
        ['b', '"b":[1, 2]', '[1, 2]'],
        ['a', '"a": {"x":"\\u00e9"}', '{"x":"\\u00e9"}'],
      ],
    );
  });

  test('keys are decoded', () => {
    assert.deepEqual(
      objectMembers('{"caf\\u00e9":1,"\\"q\\"":2}').map((m) => m.key),
      ['café', '"q"'],
    );
  });

  test('array elements slice out exactly', () => {
    const text = '[ 9007199254740993 , {"a": 2},"x" ,null]';
    assert.deepEqual(
      arrayElements(text).map((e) => [text.slice(e.start, e.end), e.kind]),
      [
        ['9007199254740993', 'number'],
        ['{"a": 2}', 'object'],
        ['"x"', 'string'],
        ['null', 'null'],
      ],
    );
    assert.deepEqual(arrayElements('[ ]'), []);
  });

  test('the wrong top-level kind is a TypeError, bad JSON a JsonSyntaxError', () => {
    assert.throws(() => objectMembers('[1]'), TypeError);
    assert.throws(() => arrayElements('{}'), TypeError);
    assert.throws(() => objectMembers('{'), JsonSyntaxError);
  });
});

describe('setMembers', () => {
  const pretty = '{\n  "type": "x",\n  "big": 9007199254740993,\n  "name": "old"\n}\n';

  test('replaces a value in place and keeps every other byte', () => {
    assert.equal(
      setMembers(pretty, [['name', '"new"']]),
      '{\n  "type": "x",\n  "big": 9007199254740993,\n  "name": "new"\n}\n',
    );
  });

  test('appends new keys with the separator and colon style the object uses', () => {
    assert.equal(
      setMembers(pretty, [['cniVersion', '"1.0.0"']]),
      '{\n  "type": "x",\n  "big": 9007199254740993,\n  "name": "old",\n  "cniVersion": "1.0.0"\n}\n',
    );
    assert.equal(
      setMembers('{}', [
        ['a', '1'],
        ['b', '2'],
      ]),
      '{"a":1,"b":2}',
    );
    assert.equal(setMembers('{"a":1}', [['b', '[1, 2]']]), '{"a":1,"b":[1, 2]}');
  });

  test('deletes members with correct commas wherever they are', () => {
    const t = '{"a":1,"b":2,"c":3}';
    assert.equal(setMembers(t, [['a', undefined]]), '{"b":2,"c":3}');
    assert.equal(setMembers(t, [['b', undefined]]), '{"a":1,"c":3}');
    assert.equal(setMembers(t, [['c', undefined]]), '{"a":1,"b":2}');
    assert.equal(
      setMembers(t, [
        ['a', undefined],
        ['b', undefined],
        ['c', undefined],
      ]),
      '{}',
    );
    assert.equal(
      setMembers('{"a":1}', [
        ['a', undefined],
        ['b', '2'],
      ]),
      '{"b":2}',
    );
    assert.equal(setMembers(t, [['zz', undefined]]), t);
  });

  test('a repeated key keeps one member, at the position of its last occurrence', () => {
    assert.equal(setMembers('{"k":1,"x":0,"k":2}', [['k', '3']]), '{"x":0,"k":3}');
    assert.equal(setMembers('{"k":1,"x":0,"k":2}', [['k', undefined]]), '{"x":0}');
  });

  test('the last update of a key wins; new keys are quoted as Go quotes them', () => {
    assert.equal(
      setMembers('{}', [
        ['a', '1'],
        ['a', '2'],
      ]),
      '{"a":2}',
    );
    assert.equal(setMembers('{}', [['<k>', 'true']]), '{"\\u003ck\\u003e":true}');
  });

  test('refuses a value that is not JSON, and a text that is not an object', () => {
    assert.throws(() => setMembers('{}', [['a', '{']]), JsonSyntaxError);
    assert.throws(() => setMembers('[]', [['a', '1']]), TypeError);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { VersionError } from '../../src/core/errors.ts';
import {
  CURRENT_VERSION,
  checkCompatible,
  compareVersions,
  decodePluginInfo,
  greaterThan,
  greaterThanOrEqualTo,
  LEGACY_VERSIONS,
  parseVersion,
  pluginSupports,
  SUPPORTED_VERSIONS,
  versionsStartingFrom,
} from '../../src/types/version.ts';

function throwsVersionError(fn: () => unknown, message?: string | RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof VersionError, `expected VersionError, got ${String(e)}`);
    if (typeof message === 'string') assert.equal(e.message, message);
    else if (message) assert.match(e.message, message);
    return true;
  });
}

describe('spec version constants', () => {
  test('the library implements 1.1.0 and knows every released version in order', () => {
    assert.equal(CURRENT_VERSION, '1.1.0');
    assert.deepEqual(SUPPORTED_VERSIONS, ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']);
    assert.deepEqual(LEGACY_VERSIONS, ['0.1.0', '0.2.0']);
    assert.ok(Object.isFrozen(SUPPORTED_VERSIONS));
  });
});

describe('parseVersion (Y5)', () => {
  test('splits major.minor.micro', () => {
    assert.deepEqual(parseVersion('1.2.3'), [1, 2, 3]);
    assert.deepEqual(parseVersion('0.4.0'), [0, 4, 0]);
  });

  test('an empty version is 0.1.0, as for a config that declares none', () => {
    assert.deepEqual(parseVersion(''), [0, 1, 0]);
  });

  test('missing parts are zero and parts take an optional sign, like strconv.Atoi', () => {
    assert.deepEqual(parseVersion('1'), [1, 0, 0]);
    assert.deepEqual(parseVersion('1.0'), [1, 0, 0]);
    assert.deepEqual(parseVersion('+1.0.0'), [1, 0, 0]);
    assert.deepEqual(parseVersion('01.002.3'), [1, 2, 3]);
  });

  test('refuses the malformed forms upstream tests list', () => {
    for (const bad of [
      'asdfasdf',
      'asdf.',
      '.asdfas',
      'asdf.adsf.',
      '0.',
      '..',
      '1.2.3.4.5',
      '1.0.0-rc1',
      'v1',
    ]) {
      throwsVersionError(() => parseVersion(bad));
    }
  });

  test("errors name the bad part with Go's wording", () => {
    throwsVersionError(
      () => parseVersion('0.'),
      'failed to convert minor version part "": strconv.Atoi: parsing "": invalid syntax',
    );
    throwsVersionError(
      () => parseVersion('1.0.0-rc1'),
      'failed to convert micro version part "0-rc1": strconv.Atoi: parsing "0-rc1": invalid syntax',
    );
    throwsVersionError(
      () => parseVersion('v1'),
      'failed to convert major version part "v1": strconv.Atoi: parsing "v1": invalid syntax',
    );
    throwsVersionError(() => parseVersion('1.2.3.4'), 'invalid version "1.2.3.4": too many parts');
    throwsVersionError(() => parseVersion('99999999999999999999'), /value out of range/);
  });
});

describe('version ordering (Y6)', () => {
  const ordered: Array<[string, string]> = [
    ['1.2.34', '1.2.14'],
    ['2.5.4', '2.4.4'],
    ['1.2.3', '0.2.3'],
    ['0.4.0', '0.3.1'],
    ['1.10.0', '1.9.0'],
  ];

  test('the first of each pair is greater, numerically rather than textually', () => {
    for (const [hi, lo] of ordered) {
      assert.equal(greaterThanOrEqualTo(hi, lo), true, `${hi} >= ${lo}`);
      assert.equal(greaterThanOrEqualTo(lo, hi), false, `${lo} >= ${hi}`);
      assert.equal(greaterThan(hi, lo), true);
      assert.equal(greaterThan(lo, hi), false);
      assert.ok(compareVersions(hi, lo) > 0);
      assert.ok(compareVersions(lo, hi) < 0);
    }
  });

  test('equal versions are >= but not >, also when spelled differently', () => {
    assert.equal(greaterThanOrEqualTo('1.2.3', '1.2.3'), true);
    assert.equal(greaterThan('1.2.3', '1.2.3'), false);
    assert.equal(compareVersions('1.0', '1.0.0'), 0);
    assert.equal(compareVersions('', '0.1.0'), 0);
    assert.equal(greaterThan('1.1.1', '1.1.0'), true);
  });

  test('a malformed side is an error, not false', () => {
    throwsVersionError(() => greaterThanOrEqualTo('1.2.34', 'asdadf'));
    throwsVersionError(() => greaterThanOrEqualTo('adsfad', '2.5.4'));
    throwsVersionError(() => greaterThan('1.0.0', '1.0.x'));
    throwsVersionError(() => compareVersions('1.2.3.4', '1.0.0'));
  });

  test('compareVersions is a consistent order (antisymmetric, matches the number triples)', () => {
    const part = fc.integer({ min: 0, max: 30 });
    const ver = fc.tuple(part, part, part);
    fc.assert(
      fc.property(ver, ver, (a, b) => {
        const sa = a.join('.');
        const sb = b.join('.');
        const expected = Math.sign(a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
        assert.equal(Math.sign(compareVersions(sa, sb)), expected);
        // 0 - x, not -x: equal versions must give 0 both ways, and strict equality tells -0 from 0.
        assert.equal(Math.sign(compareVersions(sb, sa)), 0 - expected);
        assert.equal(compareVersions(sa, sa), 0);
      }),
      { numRuns: 300 },
    );
  });
});

describe('PluginInfo helpers', () => {
  test('pluginSupports reports the given versions in the current spec version', () => {
    assert.deepEqual(pluginSupports('0.4.0', '1.0.0'), {
      cniVersion: '1.1.0',
      supportedVersions: ['0.4.0', '1.0.0'],
    });
    throwsVersionError(() => pluginSupports());
  });

  test('versionsStartingFrom lists the known versions from the given one', () => {
    assert.deepEqual(versionsStartingFrom('0.3.1').supportedVersions, ['0.3.1', '0.4.0', '1.0.0', '1.1.0']);
    assert.deepEqual(versionsStartingFrom('1.1.0').supportedVersions, ['1.1.0']);
    throwsVersionError(() => versionsStartingFrom('0.5.0'));
  });
});

describe('decodePluginInfo (Y7)', () => {
  test("returns the plugin's own list verbatim", () => {
    const info = decodePluginInfo(`{
      "cniVersion": "some-library-version",
      "supportedVersions": [ "some-version", "some-other-version" ]
    }`);
    assert.deepEqual(info, {
      cniVersion: 'some-library-version',
      supportedVersions: ['some-version', 'some-other-version'],
    });
  });

  test('accepts bytes and ignores unknown keys', () => {
    const bytes = new TextEncoder().encode('{"cniVersion":"1.0.0","supportedVersions":["1.0.0"],"x":1}');
    assert.deepEqual(decodePluginInfo(bytes), { cniVersion: '1.0.0', supportedVersions: ['1.0.0'] });
  });

  test('matches keys case-insensitively, as Go decodes struct fields', () => {
    assert.deepEqual(decodePluginInfo('{"CNIVersion":"0.4.0","SupportedVersions":["0.3.1","0.4.0"]}'), {
      cniVersion: '0.4.0',
      supportedVersions: ['0.3.1', '0.4.0'],
    });
  });

  test("bad JSON gives Go's decoder message", () => {
    throwsVersionError(
      () => decodePluginInfo('{{{'),
      "decoding version info: invalid character '{' looking for beginning of object key string",
    );
    throwsVersionError(() => decodePluginInfo(''), 'decoding version info: unexpected end of JSON input');
  });

  test('cniVersion is required', () => {
    throwsVersionError(
      () => decodePluginInfo('{ "supportedVersions": [ "foo" ] }'),
      'decoding version info: missing field cniVersion',
    );
    throwsVersionError(() => decodePluginInfo('null'), 'decoding version info: missing field cniVersion');
  });

  test('a 0.2.0 plugin without a list supports 0.1.0 and 0.2.0; any other version needs the list', () => {
    assert.deepEqual(decodePluginInfo('{ "cniVersion": "0.2.0" }').supportedVersions, ['0.1.0', '0.2.0']);
    assert.deepEqual(
      decodePluginInfo('{ "cniVersion": "0.2.0", "supportedVersions": [] }').supportedVersions,
      ['0.1.0', '0.2.0'],
    );
    throwsVersionError(
      () => decodePluginInfo('{ "cniVersion": "0.3.0" }'),
      'decoding version info: missing field supportedVersions',
    );
  });

  test('wrong JSON types are decoding errors', () => {
    throwsVersionError(() => decodePluginInfo('[]'), /^decoding version info: json: cannot unmarshal array/);
    throwsVersionError(() => decodePluginInfo('{"cniVersion":1}'), /cannot unmarshal number .*cniVersion/);
    throwsVersionError(
      () => decodePluginInfo('{"cniVersion":"1.0.0","supportedVersions":"1.0.0"}'),
      /cannot unmarshal string .*supportedVersions/,
    );
  });
});

describe('checkCompatible (Y8)', () => {
  const info = pluginSupports('1.2.3', '4.3.2');

  test('passes when the config version is in the list', () => {
    assert.doesNotThrow(() => {
      checkCompatible('4.3.2', info);
    });
  });

  test("fails with Go's Reconciler message otherwise", () => {
    throwsVersionError(() => {
      checkCompatible('0.1.0', info);
    }, 'incompatible CNI versions: config is "0.1.0", plugin supports ["1.2.3" "4.3.2"]');
  });

  test('membership is an exact string match: 1.2 is not 1.2.0', () => {
    const v1 = pluginSupports('1.0.0');
    throwsVersionError(() => {
      checkCompatible('1.0', v1);
    });
    throwsVersionError(() => {
      checkCompatible('', v1);
    });
  });
});

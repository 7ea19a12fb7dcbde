import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ResultError } from '../../src/core/errors.ts';
import {
  canonicalCIDR,
  canonicalIP,
  formatIP,
  isIPv4,
  parseCIDR,
  parseIP,
  tryParseIP,
} from '../../src/types/ip.ts';

function throwsResultError(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => e instanceof ResultError && e.message === message);
}

describe('IP address text as Go prints it', () => {
  const cases: Array<[string, string]> = [
    ['10.88.0.1', '10.88.0.1'],
    ['0.0.0.0', '0.0.0.0'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['2001:0db8::0001', '2001:db8::1'],
    ['2001:DB8:0:0:0:0:0:5', '2001:db8::5'],
    ['FD00:88::1', 'fd00:88::1'],
    // the longest zero run is compressed; on a tie the first one; a single zero group never
    ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
    ['1:0:0:0:1:0:0:1', '1::1:0:0:1'],
    ['1:0:1:1:1:1:1:1', '1:0:1:1:1:1:1:1'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    // IPv4-mapped prints as IPv4; other embedded IPv4 prints as hex groups
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['::FFFF:a01:203', '10.1.2.3'],
    ['::1.2.3.4', '::102:304'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
  ];
  for (const [input, expected] of cases) {
    test(`${input} -> ${expected}`, () => {
      assert.equal(canonicalIP(input), expected);
    });
  }

  test('refuses what Go refuses', () => {
    const bad = [
      '',
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '01.2.3.4', // leading zeros (Go >= 1.17)
      '1.2.3.04',
      ' 1.2.3.4',
      '1.2.3.4 ',
      'fe80::1%eth0', // zones
      '::1:2:3:4:5:6:7:8', // `::` must stand for at least one group
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7',
      '00001::', // more than four hex digits
      '1:::2',
      '1::2::3',
      ':1::',
      '1:2:3:4:5:6:7:1.2.3.4',
      'g::1',
      'localhost',
    ];
    for (const text of bad) {
      assert.equal(tryParseIP(text), undefined, text);
      throwsResultError(() => parseIP(text), `invalid IP address: ${text}`);
    }
  });

  test('addresses are 16 bytes, IPv4 in mapped form, as Go holds them', () => {
    assert.deepEqual([...parseIP('1.2.3.4')], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 1, 2, 3, 4]);
    assert.equal(formatIP(new Uint8Array([192, 168, 0, 1])), '192.168.0.1');
    assert.equal(formatIP(new Uint8Array(0)), '<nil>');
  });

  test('agrees with the WHATWG IPv6 serializer (RFC 5952) on random non-mapped addresses', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.array(fc.integer({ min: 0, max: 7 }), { maxLength: 6 }),
        (raw, zeroGroups) => {
          const bytes = Uint8Array.from(raw);
          for (const g of zeroGroups) bytes.fill(0, g * 2, g * 2 + 2); // make zero runs common
          const mapped =
            bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255;
          fc.pre(!mapped);
          const text = formatIP(bytes);
          assert.equal(text, new URL(`http://[${text}]/`).hostname.slice(1, -1));
          assert.deepEqual(parseIP(text), bytes);
          assert.equal(canonicalIP(text.toUpperCase()), text);
        },
      ),
      { numRuns: 600 },
    );
  });

  test('IPv4 text round-trips', () => {
    fc.assert(
      fc.property(fc.ipV4(), (text) => {
        assert.equal(canonicalIP(text), text);
        assert.equal(canonicalIP(`::ffff:${text}`), text);
      }),
      { numRuns: 200 },
    );
  });
});

describe('CIDR text as libcni keeps it', () => {
  test('host bits are kept (types.ParseCIDR)', () => {
    assert.equal(canonicalCIDR('10.1.2.3/24'), '10.1.2.3/24');
    assert.equal(canonicalCIDR('1.2.3.4/24'), '1.2.3.4/24');
    assert.equal(canonicalCIDR('2001:db8::/32'), '2001:db8::/32');
    assert.equal(canonicalCIDR('10.88.0.5/16'), '10.88.0.5/16');
  });

  test('the address is canonicalised', () => {
    assert.equal(canonicalCIDR('2001:DB8:0:0:0:0:0:5/64'), '2001:db8::5/64');
    assert.equal(canonicalCIDR('2001:db8:0::/32'), '2001:db8::/32');
    assert.equal(canonicalCIDR('::/0'), '::/0');
  });

  test('an IPv4-mapped address prints as IPv4 with the low 32 bits of its mask', () => {
    assert.equal(canonicalCIDR('::ffff:1.2.3.4/120'), '1.2.3.4/24');
    assert.equal(canonicalCIDR('::ffff:1.2.3.4/128'), '1.2.3.4/32');
    assert.equal(canonicalCIDR('::ffff:1.2.3.4/64'), '1.2.3.4/0');
  });

  test('the prefix is decimal, may have leading zeros, and must fit the family', () => {
    assert.equal(canonicalCIDR('1.2.3.4/024'), '1.2.3.4/24');
    assert.deepEqual(
      { len: parseCIDR('::ffff:1.2.3.4/120').prefixLength, bits: parseCIDR('::ffff:1.2.3.4/120').bits },
      { len: 120, bits: 128 },
    );
    for (const bad of [
      '1.2.3/45',
      '1.2.3.4/33',
      '::1/129',
      '1.2.3.4/',
      '1.2.3.4/+1',
      '1.2.3.4/-1',
      '1.2.3.4',
      '/24',
      '1.2.3.4/2 4',
      'fe80::1%eth0/64',
    ]) {
      throwsResultError(() => canonicalCIDR(bad), `invalid CIDR address: ${bad}`);
    }
  });
});

describe('isIPv4 (Go To4)', () => {
  test('true for IPv4 and IPv4-mapped IPv6, for addresses and CIDRs', () => {
    assert.equal(isIPv4('10.0.0.1'), true);
    assert.equal(isIPv4('10.0.0.0/8'), true);
    assert.equal(isIPv4('::ffff:10.0.0.1'), true);
    assert.equal(isIPv4('::ffff:10.0.0.1/104'), true);
    assert.equal(isIPv4('::1'), false);
    assert.equal(isIPv4('::/0'), false);
    assert.equal(isIPv4('::10.0.0.1'), false);
  });

  test('text that is neither an address nor a CIDR is an error', () => {
    throwsResultError(() => isIPv4('nope'), 'invalid IP address: nope');
    throwsResultError(() => isIPv4('nope/1'), 'invalid CIDR address: nope/1');
  });
});

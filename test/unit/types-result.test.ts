import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { goMarshal } from '../../src/go/json-encode.ts';
import { ResultError, VersionError } from '../../src/core/errors.ts';
import {
  decodePluginResult,
  isResultVersion,
  normalizeResult,
  resultFromBytes,
} from '../../src/types/result.ts';
import {
  isResult020,
  isResult040,
  isResult100,
  type Result,
  resultVersion,
} from '../../src/types/result-model.ts';

const GOLDEN = new URL('../../fixtures/golden/', import.meta.url).pathname;

function throwsResultError(fn: () => unknown, message: string | RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ResultError, `expected ResultError, got ${String(e)}`);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

/** What Go caches: the result re-encoded through a map (sorted keys, Go escaping). */
function cached(result: Result): string {
  return goMarshal(result, { sortKeys: true });
}

describe('golden cache files: the result Go cached for what the plugin printed', () => {
  const dirs = readdirSync(GOLDEN).filter((d) => statSync(join(GOLDEN, d)).isDirectory());
  test('all scenarios are present', () => {
    assert.ok(dirs.length >= 11, `found ${dirs.length} golden scenarios`);
  });
  for (const dir of dirs) {
    test(dir, () => {
      const path = (f: string) => join(GOLDEN, dir, f);
      const confFile = readdirSync(join(GOLDEN, dir)).find(
        (f) => f === 'conflist.json' || f.endsWith('.conf'),
      );
      assert.ok(confFile, 'config file');
      const conf = JSON.parse(readFileSync(path(confFile), 'utf8')) as { cniVersion?: string };
      const result = decodePluginResult(readFileSync(path('plugin-result.json')), conf.cniVersion ?? '');
      const cacheText = readFileSync(path('cache-go-head'), 'utf8');
      const goResult = (JSON.parse(cacheText) as { result: unknown }).result;
      // Compare bytes: both through the same encoder, and also against the slice of Go's file.
      assert.equal(cached(result), goMarshal(goResult));
      const start = cacheText.indexOf(',"result":') + ',"result":'.length;
      assert.equal(cached(result), cacheText.slice(start, -1));
      // The cached form is a fixed point: decoding it again changes nothing.
      assert.deepEqual(normalizeResult(goResult), result);
    });
  }
});

describe('normalizeResult: Go struct decode + encode', () => {
  test('unknown keys vanish at every level', () => {
    const r = normalizeResult({
      cniVersion: '1.1.0',
      vendor: { x: 1 },
      interfaces: [{ name: 'eth0', vendorIndex: 7, sandbox: '/run/netns/a' }],
      ips: [{ address: '10.0.0.2/24', metric: 5, interface: 0 }],
      routes: [{ dst: '0.0.0.0/0', comment: 'x' }],
      dns: { nameservers: ['10.0.0.1'], ndots: 5 },
    });
    assert.deepEqual(r, {
      cniVersion: '1.1.0',
      interfaces: [{ name: 'eth0', sandbox: '/run/netns/a' }],
      ips: [{ interface: 0, address: '10.0.0.2/24' }],
      routes: [{ dst: '0.0.0.0/0' }],
      dns: { nameservers: ['10.0.0.1'] },
    });
  });

  test('the shapes differ by family: 0.2.0 ip4/ip6, 0.4.0 ips[].version, 1.x without version', () => {
    const r020 = normalizeResult({
      cniVersion: '0.2.0',
      ip4: { ip: '10.0.0.2/24' },
      ips: [{ address: '1.1.1.1/32' }],
    });
    assert.deepEqual(r020, { cniVersion: '0.2.0', ip4: { ip: '10.0.0.2/24' }, dns: {} });
    const r040 = normalizeResult({
      cniVersion: '0.4.0',
      ip4: { ip: '10.0.0.2/24' },
      ips: [{ version: '4', address: '10.0.0.2/24' }],
    });
    assert.deepEqual(r040, { cniVersion: '0.4.0', ips: [{ version: '4', address: '10.0.0.2/24' }], dns: {} });
    const r100 = normalizeResult({ cniVersion: '1.0.0', ips: [{ version: '4', address: '10.0.0.2/24' }] });
    assert.deepEqual(r100, { cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }] });
  });

  test('0.x results always carry dns; 1.x results only when it has content', () => {
    assert.deepEqual(normalizeResult({ cniVersion: '0.3.1' }), { cniVersion: '0.3.1', dns: {} });
    assert.deepEqual(normalizeResult({ cniVersion: '0.1.0', dns: { domain: '' } }), {
      cniVersion: '0.1.0',
      dns: {},
    });
    assert.deepEqual(normalizeResult({ cniVersion: '1.0.0', dns: {} }), { cniVersion: '1.0.0' });
    assert.deepEqual(normalizeResult({ cniVersion: '1.1.0', dns: { search: [], options: [] } }), {
      cniVersion: '1.1.0',
    });
    assert.deepEqual(normalizeResult({ cniVersion: '1.1.0', dns: { domain: 'x' } }), {
      cniVersion: '1.1.0',
      dns: { domain: 'x' },
    });
  });

  test('omitempty: empty lists and strings go, interface index 0 stays, a missing index stays missing', () => {
    const r = normalizeResult({
      cniVersion: '0.4.0',
      interfaces: [{ name: 'eth0', mac: '', sandbox: '' }],
      ips: [
        { version: '4', interface: 0, address: '10.0.0.2/24', gateway: '' },
        { version: '6', address: 'fd00::2/64' },
      ],
      routes: [],
    });
    assert.deepEqual(r, {
      cniVersion: '0.4.0',
      interfaces: [{ name: 'eth0' }],
      ips: [
        { version: '4', interface: 0, address: '10.0.0.2/24' },
        { version: '6', address: 'fd00::2/64' },
      ],
      dns: {},
    });
    assert.equal(cached(r).includes('"interface":0'), true);
  });

  test('route attributes: mtu/advmss/priority dropped at 0, table/scope kept at 0', () => {
    const r = normalizeResult({
      cniVersion: '1.1.0',
      routes: [
        { dst: '0.0.0.0/0', gw: '10.0.0.1', mtu: 0, advmss: 0, priority: 0, table: 0, scope: 0 },
        { dst: '10.90.0.0/16', mtu: 1400, advmss: 1360, priority: 100, table: 254, scope: 253 },
      ],
    });
    assert.deepEqual(r, {
      cniVersion: '1.1.0',
      routes: [
        { dst: '0.0.0.0/0', gw: '10.0.0.1', table: 0, scope: 0 },
        { dst: '10.90.0.0/16', mtu: 1400, advmss: 1360, priority: 100, table: 254, scope: 253 },
      ],
    });
  });

  test('1.x interface attributes: mtu dropped at 0, socketPath and pciID kept when set', () => {
    const r = normalizeResult({
      cniVersion: '1.1.0',
      interfaces: [
        { name: 'eth0', mtu: 0, socketPath: '', pciID: '' },
        { name: 'vhost0', mtu: 9000, socketPath: '/run/vhost/sock0', pciID: '0000:00:1f.6' },
        {},
      ],
    });
    assert.deepEqual(r, {
      cniVersion: '1.1.0',
      interfaces: [
        { name: 'eth0' },
        { name: 'vhost0', mtu: 9000, socketPath: '/run/vhost/sock0', pciID: '0000:00:1f.6' },
        { name: '' }, // name is not omitempty in Go
      ],
    });
  });

  test('0.2.0 routes keep their attributes (HEAD types.Route)', () => {
    const r = normalizeResult({
      cniVersion: '0.2.0',
      ip4: { ip: '10.0.0.2/24', routes: [{ dst: '0.0.0.0/0', gw: '10.0.0.1', mtu: 1400, x: 1 }] },
    });
    assert.deepEqual(r, {
      cniVersion: '0.2.0',
      ip4: { ip: '10.0.0.2/24', routes: [{ dst: '0.0.0.0/0', gw: '10.0.0.1', mtu: 1400 }] },
      dns: {},
    });
  });

  test('IP text is canonicalised as Go prints it, host bits kept', () => {
    const r = normalizeResult({
      cniVersion: '1.0.0',
      ips: [
        { address: '2001:DB8:0:0:0:0:0:5/64', gateway: '2001:0db8::0001' },
        { address: '::ffff:10.1.2.3/120', gateway: '::ffff:10.1.2.1' },
      ],
      routes: [{ dst: '2001:db8:0::/32', gw: '2001:DB8::1' }],
    });
    assert.deepEqual(r, {
      cniVersion: '1.0.0',
      ips: [
        { address: '2001:db8::5/64', gateway: '2001:db8::1' },
        { address: '10.1.2.3/24', gateway: '10.1.2.1' },
      ],
      routes: [{ dst: '2001:db8::/32', gw: '2001:db8::1' }],
    });
  });

  test('keys match case-insensitively, as Go decodes struct fields; the last match wins', () => {
    const r = normalizeResult({
      CNIVersion: '0.4.0',
      IPs: [{ Version: '4', ADDRESS: '10.0.0.2/24' }],
      Interfaces: [{ NAME: 'eth0' }],
      dns: { nameservers: ['1.1.1.1'], NameServers: ['8.8.8.8'] },
    });
    assert.deepEqual(r, {
      cniVersion: '0.4.0',
      interfaces: [{ name: 'eth0' }],
      ips: [{ version: '4', address: '10.0.0.2/24' }],
      dns: { nameservers: ['8.8.8.8'] },
    });
  });

  test('null is an absent value; a null in a string list is ""', () => {
    const r = normalizeResult({
      cniVersion: '1.0.0',
      interfaces: null,
      ips: [{ address: '10.0.0.2/24', interface: null, gateway: null }],
      routes: null,
      dns: { nameservers: ['10.0.0.1', null], domain: null },
    });
    assert.deepEqual(r, {
      cniVersion: '1.0.0',
      ips: [{ address: '10.0.0.2/24' }],
      dns: { nameservers: ['10.0.0.1', ''] },
    });
    assert.deepEqual(normalizeResult(null), { cniVersion: '0.1.0', dns: {} });
  });

  test('a negative zero index decodes as 0, like Go', () => {
    const r = normalizeResult({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24', interface: -0 }] });
    assert.equal(cached(r), '{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.2/24","interface":0}]}');
  });

  test('keys come in Go struct field order', () => {
    const r = normalizeResult({
      dns: { options: ['a'], domain: 'd', search: ['s'], nameservers: ['n'] },
      routes: [{ scope: 1, gw: '10.0.0.1', dst: '0.0.0.0/0' }],
      ips: [{ gateway: '10.0.0.1', address: '10.0.0.2/24', interface: 1, version: '4' }],
      interfaces: [{ sandbox: 's', mac: 'm', name: 'n' }],
      cniVersion: '0.4.0',
    });
    assert.equal(
      JSON.stringify(r),
      '{"cniVersion":"0.4.0","interfaces":[{"name":"n","mac":"m","sandbox":"s"}],' +
        '"ips":[{"version":"4","interface":1,"address":"10.0.0.2/24","gateway":"10.0.0.1"}],' +
        '"routes":[{"dst":"0.0.0.0/0","gw":"10.0.0.1","scope":1}],' +
        '"dns":{"nameservers":["n"],"domain":"d","search":["s"],"options":["a"]}}',
    );
  });

  test('does not modify its input', () => {
    const input = { cniVersion: '1.0.0', ips: [{ address: '2001:DB8::5/64', extra: 1 }] };
    const copy = structuredClone(input);
    normalizeResult(input);
    assert.deepEqual(input, copy);
  });
});

describe('normalizeResult: versions (Y9)', () => {
  test("the value's own version wins over the argument", () => {
    assert.equal(normalizeResult({ cniVersion: '0.3.1' }, '1.0.0').cniVersion, '0.3.1');
  });

  test('the argument fills in a missing or empty version', () => {
    assert.deepEqual(normalizeResult({ ips: [{ address: '10.0.0.2/24' }] }, '1.0.0'), {
      cniVersion: '1.0.0',
      ips: [{ address: '10.0.0.2/24' }],
    });
    assert.equal(normalizeResult({ cniVersion: '' }, '0.4.0').cniVersion, '0.4.0');
    assert.equal(normalizeResult({ cniVersion: null }, '0.4.0').cniVersion, '0.4.0');
  });

  test('no version anywhere means 0.1.0', () => {
    assert.deepEqual(normalizeResult({ ip4: { ip: '10.0.0.2/24' } }), {
      cniVersion: '0.1.0',
      ip4: { ip: '10.0.0.2/24' },
      dns: {},
    });
    assert.equal(normalizeResult({}, '').cniVersion, '0.1.0');
  });

  test("unknown versions fail with Go's text; membership is exact", () => {
    throwsResultError(
      () => normalizeResult({ cniVersion: '0.4567.0' }),
      'unsupported CNI result version "0.4567.0"',
    );
    throwsResultError(
      () => normalizeResult({ cniVersion: '5678.456' }),
      'unsupported CNI result version "5678.456"',
    );
    throwsResultError(() => normalizeResult({ cniVersion: '1.0' }), 'unsupported CNI result version "1.0"');
    throwsResultError(() => normalizeResult({}, '2.0.0'), 'unsupported CNI result version "2.0.0"');
  });

  test('a non-string version is a decoding error', () => {
    throwsResultError(
      () => normalizeResult({ cniVersion: 1 }),
      /cannot unmarshal number into Go struct field \.cniVersion/,
    );
  });
});

describe('normalizeResult: wrong types are ResultErrors naming the path', () => {
  const cases: Array<[unknown, string]> = [
    [{ cniVersion: '1.0.0', ips: {} }, 'result.ips: expected array, got object'],
    [{ cniVersion: '1.0.0', ips: ['10.0.0.1/24'] }, 'result.ips[0]: expected object, got string'],
    [{ cniVersion: '1.0.0', ips: [null] }, 'result.ips[0]: expected object, got null'],
    [{ cniVersion: '1.0.0', ips: [{}] }, 'result.ips[0].address: missing'],
    [{ cniVersion: '1.0.0', ips: [{ address: 5 }] }, 'result.ips[0].address: expected string, got number'],
    [
      { cniVersion: '1.0.0', ips: [{ address: '10.0.0.1' }] },
      'result.ips[0].address: invalid CIDR address: 10.0.0.1',
    ],
    [
      { cniVersion: '1.0.0', ips: [{ address: '10.0.0.1/24', gateway: '10.0.0.x' }] },
      'result.ips[0].gateway: invalid IP address: 10.0.0.x',
    ],
    [
      { cniVersion: '1.0.0', ips: [{ address: '10.0.0.1/24', interface: '0' }] },
      'result.ips[0].interface: expected number, got string',
    ],
    [
      { cniVersion: '1.1.0', interfaces: [{ name: 'a', mtu: 1.5 }] },
      'result.interfaces[0].mtu: expected an integer, got 1.5',
    ],
    [
      { cniVersion: '1.1.0', interfaces: [{ name: true }] },
      'result.interfaces[0].name: expected string, got bool',
    ],
    [{ cniVersion: '1.1.0', routes: [{ gw: '10.0.0.1' }] }, 'result.routes[0].dst: missing'],
    [
      { cniVersion: '1.1.0', routes: [{ dst: '1.2.3.0/24', gw: '1.2.3.x' }] },
      'result.routes[0].gw: invalid IP address: 1.2.3.x',
    ],
    [{ cniVersion: '0.4.0', dns: [] }, 'result.dns: expected object, got array'],
    [
      { cniVersion: '0.4.0', dns: { nameservers: '1.1.1.1' } },
      'result.dns.nameservers: expected array, got string',
    ],
    [
      { cniVersion: '0.4.0', dns: { nameservers: [1] } },
      'result.dns.nameservers[0]: expected string, got number',
    ],
    [{ cniVersion: '0.2.0', ip4: '10.0.0.2/24' }, 'result.ip4: expected object, got string'],
    [{ cniVersion: '0.2.0', ip6: { ip: 'fd00::2' } }, 'result.ip6.ip: invalid CIDR address: fd00::2'],
    [
      { cniVersion: '0.4.0', ips: [{ version: 4, address: '10.0.0.2/24' }] },
      'result.ips[0].version: expected string, got number',
    ],
  ];
  for (const [input, message] of cases) {
    test(message, () => {
      throwsResultError(() => normalizeResult(input), message);
    });
  }

  test('a value that is not an object is refused', () => {
    throwsResultError(
      () => normalizeResult([]),
      /^decoding version from network config: json: cannot unmarshal array/,
    );
    throwsResultError(() => normalizeResult('x'), /cannot unmarshal string/);
  });
});

describe('decodePluginResult: what a plugin printed for ADD (invoke fixupResultVersion + create)', () => {
  test("the plugin's own version is kept even when it differs from the config's (11)", () => {
    const r = decodePluginResult(
      '{"cniVersion":"0.4.0","ips":[{"version":"4","interface":0,"address":"10.88.0.19/16"}]}',
      '1.0.0',
    );
    assert.equal(r.cniVersion, '0.4.0');
    assert.ok(isResult040(r));
  });

  test('a missing, empty or non-string version is replaced by the config version (I6)', () => {
    for (const out of ['{}', '{"cniVersion":""}', '{"cniVersion":7}', '{"cniVersion":null}', 'null']) {
      assert.equal(decodePluginResult(out, '0.3.1').cniVersion, '0.3.1', out);
    }
  });

  test('with no version on either side the result is 0.1.0 (I7)', () => {
    assert.deepEqual(decodePluginResult('{}', ''), { cniVersion: '0.1.0', dns: {} });
  });

  test('accepts bytes, including a pretty-printed plugin output', () => {
    const bytes = new TextEncoder().encode(
      '{\n  "cniVersion": "1.0.0",\n  "ips": [ { "address": "10.0.0.2/24" } ]\n}\n',
    );
    assert.deepEqual(decodePluginResult(bytes, '1.0.0'), {
      cniVersion: '1.0.0',
      ips: [{ address: '10.0.0.2/24' }],
    });
  });

  test("output that is not JSON fails with Go's decoder text", () => {
    throwsResultError(
      () => decodePluginResult('', '1.0.0'),
      'failed to unmarshal raw result: unexpected end of JSON input',
    );
    throwsResultError(
      () => decodePluginResult('{"cniVersion":"1.0.0"', '1.0.0'),
      'failed to unmarshal raw result: unexpected end of JSON input',
    );
    throwsResultError(
      () => decodePluginResult('asdf', '1.0.0'),
      "failed to unmarshal raw result: invalid character 'a' looking for beginning of value",
    );
    throwsResultError(
      () => decodePluginResult('{} trailing', '1.0.0'),
      "failed to unmarshal raw result: invalid character 't' after top-level value",
    );
  });

  test('output that is JSON but not an object is refused', () => {
    throwsResultError(
      () => decodePluginResult('[]', '1.0.0'),
      'failed to unmarshal raw result: json: cannot unmarshal array into Go value of type map[string]interface {}',
    );
    throwsResultError(() => decodePluginResult('"1.0.0"', '1.0.0'), /cannot unmarshal string/);
  });

  test('unknown versions fail with the exact Go text', () => {
    throwsResultError(
      () => decodePluginResult('{"cniVersion":"0.4567.0"}', '1.0.0'),
      'unsupported CNI result version "0.4567.0"',
    );
    throwsResultError(() => decodePluginResult('{}', 'broken'), 'unsupported CNI result version "broken"');
  });

  test('a case-variant cniVersion that disagrees with the exact key is a version mismatch, as in Go', () => {
    throwsResultError(
      () => decodePluginResult('{"cniVersion":"1.0.0","CNIVERSION":"0.2.0"}', '1.0.0'),
      'result type supports [1.0.0 1.1.0] but unmarshalled CNIVersion is "0.2.0"',
    );
  });
});

describe('resultFromBytes: a bare result read back (CreateFromBytes)', () => {
  test('garbage and empty input give the messages upstream tests expect (K7)', () => {
    throwsResultError(
      () => resultFromBytes('asdf'),
      "decoding version from network config: invalid character 'a' looking for beginning of value",
    );
    throwsResultError(
      () => resultFromBytes(''),
      'decoding version from network config: unexpected end of JSON input',
    );
  });

  test('an unknown cached version (K9)', () => {
    throwsResultError(
      () => resultFromBytes('{"cniVersion":"0.4567.0"}'),
      'unsupported CNI result version "0.4567.0"',
    );
  });

  test('a legacy cache holding a bare 0.3.1 result', () => {
    const r = resultFromBytes(
      '{"cniVersion":"0.3.1","ips":[{"version":"4","address":"10.1.2.3/24"}],"dns":{}}',
    );
    assert.deepEqual(r, { cniVersion: '0.3.1', ips: [{ version: '4', address: '10.1.2.3/24' }], dns: {} });
  });
});

describe('result version helpers', () => {
  test('type guards follow cniVersion', () => {
    const a = normalizeResult({ cniVersion: '0.2.0' });
    const b = normalizeResult({ cniVersion: '0.3.0' });
    const c = normalizeResult({ cniVersion: '1.1.0' });
    assert.deepEqual([isResult020(a), isResult040(a), isResult100(a)], [true, false, false]);
    assert.deepEqual([isResult020(b), isResult040(b), isResult100(b)], [false, true, false]);
    assert.deepEqual([isResult020(c), isResult040(c), isResult100(c)], [false, false, true]);
    assert.equal(resultVersion(c), '1.1.0');
  });

  test('isResultVersion is exact', () => {
    assert.equal(isResultVersion('0.3.1'), true);
    assert.equal(isResultVersion('1.1.0'), true);
    assert.equal(isResultVersion(''), false);
    assert.equal(isResultVersion('1.1'), false);
    assert.equal(isResultVersion('1.2.0'), false);
  });
});

describe('properties', () => {
  const onlyOurErrors = (e: unknown): void => {
    if (!(e instanceof ResultError || e instanceof VersionError)) throw e;
  };

  test('arbitrary JSON never throws anything but ResultError', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom('', '0.2.0', '0.4.0', '1.1.0', 'x'), (value, version) => {
        try {
          normalizeResult(value, version);
        } catch (e) {
          onlyOurErrors(e);
        }
      }),
      { numRuns: 800 },
    );
  });

  test('arbitrary text as plugin output never throws anything but ResultError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.json(), fc.string()), (text) => {
        try {
          decodePluginResult(text, '1.0.0');
        } catch (e) {
          onlyOurErrors(e);
        }
      }),
      { numRuns: 800 },
    );
  });

  // Near-results: right keys, values that are often right and sometimes wrong, so decoding goes deep.
  const addr = fc.oneof(
    fc.ipV4().map((ip) => `${ip}/24`),
    fc.ipV6().map((ip) => `${ip}/64`),
    fc.constant('bogus'),
    fc.integer(),
  );
  const ipText = fc.oneof(fc.ipV4(), fc.ipV6(), fc.constant(''), fc.jsonValue());
  const near = fc.record({
    cniVersion: fc.constantFrom('0.1.0', '0.2.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'),
    ips: fc.array(
      fc.record({
        version: fc.constantFrom('4', '6'),
        address: addr,
        gateway: ipText,
        interface: fc.oneof(fc.nat(3), fc.jsonValue()),
      }),
      { maxLength: 3 },
    ),
    ip4: fc.record({ ip: addr, gateway: ipText }),
    interfaces: fc.array(fc.record({ name: fc.string(), mac: fc.oneof(fc.string(), fc.jsonValue()) }), {
      maxLength: 2,
    }),
    routes: fc.array(fc.record({ dst: addr, gw: ipText, table: fc.oneof(fc.integer(), fc.double()) }), {
      maxLength: 2,
    }),
    dns: fc.oneof(
      fc.record({ nameservers: fc.array(fc.oneof(fc.string(), fc.constant(null))) }),
      fc.jsonValue(),
    ),
  });

  test('near-results decode or fail with ResultError, and decoding is idempotent', () => {
    fc.assert(
      fc.property(near, (value) => {
        let r: Result;
        try {
          r = normalizeResult(value);
        } catch (e) {
          onlyOurErrors(e);
          return;
        }
        assert.deepEqual(normalizeResult(JSON.parse(JSON.stringify(r))), r);
        assert.equal(cached(normalizeResult(r)), cached(r));
      }),
      { numRuns: 800 },
    );
  });
});

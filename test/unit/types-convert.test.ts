import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { convertResult } from '../../src/types/convert.ts';
import { ResultError } from '../../src/core/errors.ts';
import { isIPv4 } from '../../src/types/ip.ts';
import { normalizeResult } from '../../src/types/result.ts';
import type { Result, Result020, Result040, Result100 } from '../../src/types/result-model.ts';
import { SUPPORTED_VERSIONS } from '../../src/types/version.ts';

function throwsResultError(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => e instanceof ResultError && e.message === message);
}

/** Every object and array reachable from a value. */
function containers(value: unknown, out = new Set<object>()): Set<object> {
  if (typeof value === 'object' && value !== null) {
    out.add(value);
    for (const v of Object.values(value)) containers(v, out);
  }
  return out;
}

function assertNoSharing(a: unknown, b: unknown): void {
  const left = containers(a);
  for (const o of containers(b)) assert.ok(!left.has(o), 'converted result shares an object with its input');
}

// A dual-stack bridge ADD result as the bridge plugin reports it (1.1.0 with every attribute).
const bridge110 = normalizeResult({
  cniVersion: '1.1.0',
  interfaces: [
    { name: 'cni0', mac: '0a:58:0a:58:00:01' },
    { name: 'veth1a2b3c4d', mac: '86:1d:2c:3b:4a:59' },
    {
      name: 'eth0',
      mac: '0a:58:0a:58:00:05',
      mtu: 1450,
      sandbox: '/run/netns/c1',
      socketPath: '/s',
      pciID: '0000:00:1f.6',
    },
  ],
  ips: [
    { interface: 2, address: '10.88.0.5/16', gateway: '10.88.0.1' },
    { interface: 2, address: 'fd00:88::5/64', gateway: 'fd00:88::1' },
    { address: '10.99.0.5/24' },
  ],
  routes: [
    { dst: '0.0.0.0/0', gw: '10.88.0.1', mtu: 1400, table: 0 },
    { dst: '::/0', gw: 'fd00:88::1' },
    { dst: '192.168.50.0/24' },
  ],
  dns: {
    nameservers: ['10.88.0.1'],
    domain: 'cluster.local',
    search: ['svc.cluster.local'],
    options: ['ndots:5'],
  },
}) as Result100;

const bridge040 = normalizeResult({
  cniVersion: '0.4.0',
  interfaces: [{ name: 'eth0', mac: '0a:58:0a:58:00:09', sandbox: '/run/netns/c2' }],
  ips: [
    { version: '4', interface: 0, address: '10.88.0.9/16', gateway: '10.88.0.1' },
    { version: '6', interface: 0, address: 'fd00:88::9/64' },
    { version: '4', interface: 0, address: '10.89.0.9/16' },
  ],
  routes: [
    { dst: '0.0.0.0/0', gw: '10.88.0.1' },
    { dst: 'fd00:1::/64', gw: 'fd00:88::1', priority: 5 },
    { dst: '10.0.0.0/8' },
  ],
  dns: { nameservers: ['10.88.0.1'] },
}) as Result040;

const legacy020 = normalizeResult({
  cniVersion: '0.2.0',
  ip4: {
    ip: '1.2.3.30/24',
    gateway: '1.2.3.1',
    routes: [{ dst: '15.5.6.0/24', gw: '15.5.6.8' }, { dst: '0.0.0.0/0' }],
  },
  ip6: { ip: 'abcd:1234:ffff::cdde/64', gateway: 'abcd:1234:ffff::1', routes: [{ dst: '1111:dddd::/80' }] },
  dns: {
    nameservers: ['1.2.3.4', '1::cafe'],
    domain: 'acompany.com',
    search: ['somedomain.com'],
    options: ['foo'],
  },
}) as Result020;

/** A sample result for every version, each written in its own family's shape. */
function sampleFor(version: string): Result {
  if (version === '0.1.0' || version === '0.2.0') return { ...legacy020, cniVersion: version };
  if (version === '1.0.0' || version === '1.1.0') return { ...bridge110, cniVersion: version };
  return { ...bridge040, cniVersion: version as Result040['cniVersion'] };
}

describe('convertResult: every pair of versions', () => {
  for (const from of SUPPORTED_VERSIONS) {
    for (const to of SUPPORTED_VERSIONS) {
      test(`${from} -> ${to}`, () => {
        const input = sampleFor(from);
        const before = structuredClone(input);
        const out = convertResult(input, to);
        assert.equal(out.cniVersion, to);
        assert.deepEqual(input, before, 'the input is not modified');
        if (from === to) {
          assert.equal(out, input, 'same version returns the same object');
          return;
        }
        assertNoSharing(input, out);
        // The output is a valid, canonical result of its version: decoding it changes nothing.
        assert.deepEqual(normalizeResult(structuredClone(out)), out);
      });
    }
  }
});

describe('convertResult: rules per pair (reference §3.5)', () => {
  test('an empty target means 0.1.0', () => {
    const out = convertResult(bridge040, '');
    assert.equal(out.cniVersion, '0.1.0');
    assert.equal(convertResult(legacy020, '').cniVersion, '0.1.0');
  });

  test('0.1.0 <-> 0.2.0 only relabels (Y2)', () => {
    const down = convertResult(legacy020, '0.1.0');
    assert.deepEqual(down, { ...legacy020, cniVersion: '0.1.0' });
    assert.deepEqual(convertResult(down, '0.2.0'), legacy020);
  });

  test('0.2.0 -> 0.4.0: ip4 then ip6 become ips with version, routes concatenated, no interfaces', () => {
    assert.deepEqual(convertResult(legacy020, '0.4.0'), {
      cniVersion: '0.4.0',
      ips: [
        { version: '4', address: '1.2.3.30/24', gateway: '1.2.3.1' },
        { version: '6', address: 'abcd:1234:ffff::cdde/64', gateway: 'abcd:1234:ffff::1' },
      ],
      routes: [{ dst: '15.5.6.0/24', gw: '15.5.6.8' }, { dst: '0.0.0.0/0' }, { dst: '1111:dddd::/80' }],
      dns: legacy020.dns,
    });
  });

  test('0.2.0 -> 1.0.0 goes through 0.4.0 and drops ips[].version', () => {
    const only4 = normalizeResult({ cniVersion: '0.2.0', ip4: { ip: '10.0.0.2/24' } });
    assert.deepEqual(convertResult(only4, '1.0.0'), {
      cniVersion: '1.0.0',
      ips: [{ address: '10.0.0.2/24' }],
    });
  });

  test('0.3.x <-> 0.4.0 relabel with a deep copy', () => {
    const out = convertResult(bridge040, '0.3.0');
    assert.deepEqual(out, { ...bridge040, cniVersion: '0.3.0' });
    assert.deepEqual(convertResult(out, '0.3.1'), { ...bridge040, cniVersion: '0.3.1' });
  });

  test('0.4.0 -> 0.2.0: first ip of each version; routes by dst family, only dst and gw', () => {
    assert.deepEqual(convertResult(bridge040, '0.2.0'), {
      cniVersion: '0.2.0',
      ip4: {
        ip: '10.88.0.9/16',
        gateway: '10.88.0.1',
        routes: [{ dst: '0.0.0.0/0', gw: '10.88.0.1' }, { dst: '10.0.0.0/8' }],
      },
      ip6: { ip: 'fd00:88::9/64', routes: [{ dst: 'fd00:1::/64', gw: 'fd00:88::1' }] },
      dns: { nameservers: ['10.88.0.1'] },
    });
  });

  test("0.4.0 -> 0.2.0: the version field decides, not the address's family", () => {
    const odd = normalizeResult({
      cniVersion: '0.4.0',
      ips: [{ version: '6', address: '10.0.0.2/24' }],
      routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }],
    });
    // The IPv4 route has no ip4 to go to and is dropped; the IPv6 one joins the "ip6".
    assert.deepEqual(convertResult(odd, '0.1.0'), {
      cniVersion: '0.1.0',
      ip6: { ip: '10.0.0.2/24', routes: [{ dst: '::/0' }] },
      dns: {},
    });
  });

  test('0.3.x -> 0.2.0 without any IP fails (Y3)', () => {
    const none = normalizeResult({
      cniVersion: '0.3.1',
      interfaces: [{ name: 'eth0' }],
      routes: [{ dst: '0.0.0.0/0' }],
    });
    throwsResultError(() => convertResult(none, '0.2.0'), 'cannot convert: no valid IP addresses');
    const unknownVersion = normalizeResult({
      cniVersion: '0.4.0',
      ips: [{ version: 'x', address: '10.0.0.2/24' }],
    });
    throwsResultError(() => convertResult(unknownVersion, '0.1.0'), 'cannot convert: no valid IP addresses');
    throwsResultError(
      () => convertResult(normalizeResult({ cniVersion: '1.1.0' }), '0.2.0'),
      'cannot convert: no valid IP addresses',
    );
  });

  test('0.4.0 -> 1.1.0: ips lose version, interface index 0 kept, interfaces keep name/mac/sandbox', () => {
    assert.deepEqual(convertResult(bridge040, '1.1.0'), {
      cniVersion: '1.1.0',
      interfaces: [{ name: 'eth0', mac: '0a:58:0a:58:00:09', sandbox: '/run/netns/c2' }],
      ips: [
        { interface: 0, address: '10.88.0.9/16', gateway: '10.88.0.1' },
        { interface: 0, address: 'fd00:88::9/64' },
        { interface: 0, address: '10.89.0.9/16' },
      ],
      routes: [
        { dst: '0.0.0.0/0', gw: '10.88.0.1' },
        { dst: 'fd00:1::/64', gw: 'fd00:88::1', priority: 5 },
        { dst: '10.0.0.0/8' },
      ],
      dns: { nameservers: ['10.88.0.1'] },
    });
  });

  test('0.x -> 1.x with an empty dns leaves dns out', () => {
    const r = normalizeResult({ cniVersion: '0.3.1', ips: [{ version: '4', address: '10.0.0.2/24' }] });
    assert.deepEqual(convertResult(r, '1.0.0'), { cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }] });
  });

  test('1.1.0 -> 0.4.0: version from the address (To4), interface mtu/socketPath/pciID dropped, routes copied (Y4)', () => {
    assert.deepEqual(convertResult(bridge110, '0.4.0'), {
      cniVersion: '0.4.0',
      interfaces: [
        { name: 'cni0', mac: '0a:58:0a:58:00:01' },
        { name: 'veth1a2b3c4d', mac: '86:1d:2c:3b:4a:59' },
        { name: 'eth0', mac: '0a:58:0a:58:00:05', sandbox: '/run/netns/c1' },
      ],
      ips: [
        { version: '4', interface: 2, address: '10.88.0.5/16', gateway: '10.88.0.1' },
        { version: '6', interface: 2, address: 'fd00:88::5/64', gateway: 'fd00:88::1' },
        { version: '4', address: '10.99.0.5/24' },
      ],
      routes: [
        { dst: '0.0.0.0/0', gw: '10.88.0.1', mtu: 1400, table: 0 },
        { dst: '::/0', gw: 'fd00:88::1' },
        { dst: '192.168.50.0/24' },
      ],
      dns: bridge110.dns ?? {},
    });
  });

  test('1.x -> 0.4.0 with no dns gives the 0.x empty dns', () => {
    const r = normalizeResult({ cniVersion: '1.0.0', ips: [{ address: 'fd00::2/64' }] });
    assert.deepEqual(convertResult(r, '0.3.0'), {
      cniVersion: '0.3.0',
      ips: [{ version: '6', address: 'fd00::2/64' }],
      dns: {},
    });
  });

  test('1.1.0 -> 0.1.0 goes through 0.4.0 (Y4 "encodes a 0.1.0 result")', () => {
    assert.deepEqual(convertResult(bridge110, '0.1.0'), {
      cniVersion: '0.1.0',
      ip4: {
        ip: '10.88.0.5/16',
        gateway: '10.88.0.1',
        routes: [{ dst: '0.0.0.0/0', gw: '10.88.0.1' }, { dst: '192.168.50.0/24' }],
      },
      ip6: { ip: 'fd00:88::5/64', gateway: 'fd00:88::1', routes: [{ dst: '::/0', gw: 'fd00:88::1' }] },
      dns: bridge110.dns ?? {},
    });
  });

  test('1.0.0 <-> 1.1.0 relabel and keep every attribute', () => {
    const v100 = convertResult(bridge110, '1.0.0');
    assert.deepEqual(v100, { ...bridge110, cniVersion: '1.0.0' });
    assert.deepEqual(convertResult(v100, '1.1.0'), bridge110);
  });

  test('an unknown target or source has no converter', () => {
    throwsResultError(
      () => convertResult(bridge110, '2.0.0'),
      'no converter for CNI result version 1.1.0 to 2.0.0',
    );
    throwsResultError(
      () => convertResult(bridge040, '1.0'),
      'no converter for CNI result version 0.4.0 to 1.0',
    );
    const forged = { cniVersion: '0.9.0' } as unknown as Result;
    throwsResultError(
      () => convertResult(forged, '1.0.0'),
      'no converter for CNI result version 0.9.0 to 1.0.0',
    );
  });

  test('converted results are fresh: changing one leaves the source alone', () => {
    const out = convertResult(bridge110, '1.0.0') as Result100;
    out.ips![0]!.address = '1.1.1.1/32';
    out.dns!.nameservers!.push('9.9.9.9');
    assert.equal(bridge110.ips?.[0]?.address, '10.88.0.5/16');
    assert.deepEqual(bridge110.dns?.nameservers, ['10.88.0.1']);
  });
});

describe('convertResult: round trips keep what both versions hold', () => {
  const v4 = fc.ipV4();
  // IPv4-mapped IPv6 counts as IPv4 (Go's To4), which would legitimately move it between families.
  const v6 = fc.ipV6().filter((ip) => !isIPv4(ip));
  const prefix4 = fc.integer({ min: 0, max: 32 });
  const prefix6 = fc.integer({ min: 0, max: 128 });
  const cidr4 = fc.tuple(v4, prefix4).map(([ip, p]) => `${ip}/${p}`);
  const cidr6 = fc.tuple(v6, prefix6).map(([ip, p]) => `${ip}/${p}`);
  const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
  const clean = <T extends object>(o: T): T =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  const dns = fc
    .record({
      nameservers: opt(fc.array(v4, { minLength: 1, maxLength: 2 })),
      domain: opt(fc.domain()),
      search: opt(fc.array(fc.domain(), { minLength: 1, maxLength: 2 })),
      options: opt(fc.array(fc.constantFrom('ndots:5', 'edns0'), { minLength: 1, maxLength: 2 })),
    })
    .map(clean);
  const route = (dst: fc.Arbitrary<string>, gw: fc.Arbitrary<string>) =>
    fc.record({ dst, gw: opt(gw) }).map(clean);
  const attrs = fc
    .record({
      mtu: opt(fc.integer({ min: 1, max: 9000 })),
      advmss: opt(fc.integer({ min: 1, max: 9000 })),
      priority: opt(fc.nat(1000)),
      table: opt(fc.nat(255)),
      scope: opt(fc.nat(255)),
    })
    .map(clean);
  const anyRoute = fc
    .tuple(fc.oneof(route(cidr4, v4), route(cidr6, v6)), attrs)
    .map(([r, a]) => ({ ...r, ...a }));
  const iface = fc
    .record({
      name: fc.stringMatching(/^[a-z][a-z0-9]{0,14}$/),
      mac: opt(fc.constantFrom('0a:58:0a:58:00:01', '86:1d:2c:3b:4a:59')),
      sandbox: opt(fc.constantFrom('/run/netns/a', '/proc/1/ns/net')),
    })
    .map(clean);
  const ip040 = fc
    .tuple(fc.boolean(), fc.option(fc.nat(3), { nil: undefined }), cidr4, cidr6, v4, v6, fc.boolean())
    .map(([is4, index, a4, a6, g4, g6, withGw]) =>
      clean({
        version: is4 ? '4' : '6',
        interface: index,
        address: is4 ? a4 : a6,
        gateway: withGw ? (is4 ? g4 : g6) : undefined,
      }),
    );

  test('0.4.0 -> 1.1.0 -> 0.4.0 returns the same result', () => {
    const result040 = fc.record({
      cniVersion: fc.constantFrom('0.3.0', '0.3.1', '0.4.0'),
      interfaces: fc.array(iface, { maxLength: 3 }),
      ips: fc.array(ip040, { maxLength: 4 }),
      routes: fc.array(anyRoute, { maxLength: 3 }),
      dns,
    });
    fc.assert(
      fc.property(result040, fc.constantFrom('1.0.0', '1.1.0'), (raw, up) => {
        const r = normalizeResult(raw) as Result040;
        const back = convertResult(convertResult(r, up), r.cniVersion);
        assert.deepEqual(back, r);
      }),
      { numRuns: 500 },
    );
  });

  test('1.1.0 -> 0.4.0 -> 1.1.0 keeps everything but the interface attributes 0.4.0 lacks', () => {
    const iface100 = fc
      .tuple(
        iface,
        opt(fc.integer({ min: 1, max: 9000 })),
        opt(fc.constant('/run/vhost/s')),
        opt(fc.constant('0000:00:1f.6')),
      )
      .map(([i, mtu, socketPath, pciID]) => clean({ ...i, mtu, socketPath, pciID }));
    const result100 = fc.record({
      cniVersion: fc.constantFrom('1.0.0', '1.1.0'),
      interfaces: fc.array(iface100, { maxLength: 3 }),
      ips: fc.array(
        ip040.map(({ version: _v, ...rest }) => rest),
        { maxLength: 4 },
      ),
      routes: fc.array(anyRoute, { maxLength: 3 }),
      dns,
    });
    fc.assert(
      fc.property(result100, fc.constantFrom('0.3.0', '0.3.1', '0.4.0'), (raw, down) => {
        const r = normalizeResult(raw) as Result100;
        const back = convertResult(convertResult(r, down), r.cniVersion) as Result100;
        const expected = {
          ...r,
          ...(r.interfaces
            ? { interfaces: r.interfaces.map(({ mtu: _m, socketPath: _s, pciID: _p, ...keep }) => keep) }
            : {}),
        };
        assert.deepEqual(back, expected);
      }),
      { numRuns: 500 },
    );
  });

  test('0.2.0 -> 0.4.0 / 1.1.0 -> 0.2.0 returns the same result', () => {
    const ipConf = (cidr: fc.Arbitrary<string>, ip: fc.Arbitrary<string>) =>
      fc
        .record({ ip: cidr, gateway: opt(ip), routes: fc.array(route(cidr, ip), { maxLength: 3 }) })
        .map(clean);
    const result020 = fc
      .record({
        cniVersion: fc.constantFrom('0.1.0', '0.2.0'),
        ip4: opt(ipConf(cidr4, v4)),
        ip6: opt(ipConf(cidr6, v6)),
        dns,
      })
      .map(clean)
      .filter((r) => r.ip4 !== undefined || r.ip6 !== undefined);
    fc.assert(
      fc.property(result020, fc.constantFrom('0.3.1', '0.4.0', '1.0.0', '1.1.0'), (raw, up) => {
        const r = normalizeResult(raw) as Result020;
        const back = convertResult(convertResult(r, up), r.cniVersion);
        assert.deepEqual(back, r);
      }),
      { numRuns: 500 },
    );
  });
});

/**
 * Property-based fuzzing of everything that parses untrusted input: network configuration, plugin
 * results and their conversion, CNI_ARGS and CAP_ARGS (cnitool's environment), plugin environments.
 * The property is always the same: the function returns, or throws one of our typed errors
 * (LibcniError), never a TypeError, RangeError or SyntaxError from deep inside. About 8,000 cases
 * in a few seconds; the seed is printed by fast-check when a property fails.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseCapArgs, parseCniArgs } from '../../src/cli/runtime-inputs.ts';
import { networkConfFromBytes, pluginConfFromBytes } from '../../src/config/parse.ts';
import { buildPluginEnv, formatCniArgs } from '../../src/invoke/env.ts';
import { convertResult } from '../../src/types/convert.ts';
import { LibcniError } from '../../src/core/errors.ts';
import { decodePluginResult, normalizeResult, resultFromBytes } from '../../src/types/result.ts';
import type { Result } from '../../src/types/result-model.ts';

const VERSIONS = ['', '0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0', '9.9.9', 'x', '1.0'];

/** Run `fn`; a LibcniError is an accepted outcome, anything else thrown fails the property. */
function typedOnly<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (e instanceof LibcniError) return undefined;
    throw e;
  }
}

const anyText = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'binary-ascii' }));
const version = fc.constantFrom(...VERSIONS);

/** Almost-valid JSON: a valid document with a cut, an inserted byte, or a duplicated key. */
const mangledJson = fc
  .tuple(fc.jsonValue(), fc.nat(), fc.constantFrom('', '{', '}', '"', ',', '\\', '\u0000', 'null'))
  .map(([v, at, ins]) => {
    const text = JSON.stringify(v);
    const i = at % (text.length + 1);
    return text.slice(0, i) + ins + text.slice(i + (ins === '' ? 1 : 0));
  });

// ---- configuration ---------------------------------------------------------------------------

const ip = fc.oneof(
  fc.ipV4().map((a) => `${a}/24`),
  fc.ipV6().map((a) => `${a}/64`),
  fc.constantFrom('10.0.0.1/33', '300.1.1.1/24', '::1/129', '1.2.3.4', 'not-an-ip', ''),
);

const pluginConf = fc.record(
  {
    type: fc.oneof(fc.constantFrom('bridge', 'host-local', '../x', ''), anyText, fc.jsonValue()),
    name: fc.oneof(anyText, fc.jsonValue()),
    cniVersion: fc.oneof(version, fc.jsonValue()),
    capabilities: fc.oneof(
      fc.dictionary(fc.string(), fc.oneof(fc.boolean(), fc.jsonValue())),
      fc.jsonValue(),
    ),
    ipam: fc.oneof(fc.record({ type: fc.jsonValue(), subnet: ip }, { requiredKeys: [] }), fc.jsonValue()),
    dns: fc.jsonValue(),
    runtimeConfig: fc.jsonValue(),
    prevResult: fc.jsonValue(),
  },
  { requiredKeys: [] },
);

const confList = fc.record(
  {
    cniVersion: fc.oneof(version, fc.jsonValue()),
    cniVersions: fc.oneof(fc.array(version), fc.jsonValue()),
    name: fc.oneof(anyText, fc.jsonValue()),
    disableCheck: fc.oneof(fc.boolean(), fc.constantFrom('true', 'false', 'yes'), fc.jsonValue()),
    disableGC: fc.oneof(fc.boolean(), fc.jsonValue()),
    loadOnlyInlinedPlugins: fc.oneof(fc.boolean(), fc.jsonValue()),
    plugins: fc.oneof(fc.array(pluginConf, { maxLength: 4 }), fc.jsonValue()),
  },
  { requiredKeys: [] },
);

test('config parsing: any bytes, any JSON, any config-shaped object → a config or a typed error', () => {
  const input = fc.oneof(
    anyText,
    mangledJson,
    fc.jsonValue().map((v) => JSON.stringify(v)),
    confList.map((v) => JSON.stringify(v)),
    pluginConf.map((v) => JSON.stringify(v)),
    fc.uint8Array({ maxLength: 64 }),
  );
  fc.assert(
    fc.property(input, (bytes) => {
      const list = typedOnly(() => networkConfFromBytes(bytes));
      if (list !== undefined) {
        assert.equal(typeof list.name, 'string');
        assert.ok(Array.isArray(list.plugins));
      }
      typedOnly(() => pluginConfFromBytes(bytes));
    }),
    { numRuns: 2500 },
  );
});

// ---- results ----------------------------------------------------------------------------------

const route = fc.record(
  {
    dst: ip,
    gw: fc.oneof(fc.ipV4(), fc.ipV6(), anyText),
    mtu: fc.jsonValue(),
    table: fc.integer(),
    scope: fc.integer(),
  },
  { requiredKeys: ['dst'] },
);

const resultLike = fc.record(
  {
    cniVersion: fc.oneof(version, fc.jsonValue()),
    interfaces: fc.oneof(
      fc.array(
        fc.record(
          {
            name: fc.oneof(fc.string(), fc.jsonValue()),
            mac: fc.string(),
            sandbox: fc.string(),
            mtu: fc.jsonValue(),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 3 },
      ),
      fc.jsonValue(),
    ),
    ips: fc.oneof(
      fc.array(
        fc.record(
          {
            version: fc.constantFrom('4', '6', '', 'x'),
            interface: fc.oneof(fc.integer({ min: -2, max: 4 }), fc.jsonValue()),
            address: ip,
            gateway: fc.oneof(fc.ipV4(), fc.ipV6(), fc.string()),
          },
          { requiredKeys: ['address'] },
        ),
        { maxLength: 4 },
      ),
      fc.jsonValue(),
    ),
    routes: fc.oneof(fc.array(route, { maxLength: 3 }), fc.jsonValue()),
    dns: fc.oneof(
      fc.record(
        { nameservers: fc.array(fc.oneof(fc.ipV4(), fc.string())), domain: fc.string() },
        { requiredKeys: [] },
      ),
      fc.jsonValue(),
    ),
    ip4: fc.oneof(
      fc.record(
        { ip, gateway: fc.ipV4(), routes: fc.array(route, { maxLength: 2 }) },
        { requiredKeys: ['ip'] },
      ),
      fc.jsonValue(),
    ),
    ip6: fc.jsonValue(),
    code: fc.jsonValue(),
    msg: fc.jsonValue(),
  },
  { requiredKeys: [] },
);

test('result decoding: plugin stdout and cache contents → a result or a typed error', () => {
  const input = fc.oneof(
    anyText,
    mangledJson,
    resultLike.map((r) => JSON.stringify(r)),
    fc.jsonValue().map((v) => JSON.stringify(v)),
  );
  fc.assert(
    fc.property(input, version, (stdout, configVersion) => {
      const r = typedOnly(() => decodePluginResult(stdout, configVersion));
      if (r !== undefined) assert.equal(typeof r.cniVersion, 'string');
      typedOnly(() => resultFromBytes(stdout));
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.oneof(resultLike, fc.jsonValue()), version, (value, v) => {
      typedOnly(() => normalizeResult(value, v));
    }),
    { numRuns: 1000 },
  );
});

/** Results that are mostly valid, so that conversion (not decoding) is what gets exercised. */
const goodIp = fc.oneof(
  fc.ipV4().map((a) => `${a}/24`),
  fc.ipV6().map((a) => `${a}/64`),
);
const validResultLike = fc.record(
  {
    interfaces: fc.array(
      fc.record({ name: fc.string(), mac: fc.constant('02:00:00:00:00:01'), sandbox: fc.string() }),
      {
        maxLength: 3,
      },
    ),
    ips: fc.array(
      fc.record(
        {
          version: fc.constantFrom('4', '6'),
          interface: fc.integer({ min: -1, max: 3 }),
          address: goodIp,
          gateway: fc.oneof(fc.ipV4(), fc.ipV6()),
        },
        { requiredKeys: ['address'] },
      ),
      { maxLength: 4 },
    ),
    routes: fc.array(fc.record({ dst: goodIp, gw: fc.ipV4() }, { requiredKeys: ['dst'] }), { maxLength: 3 }),
    dns: fc.record(
      { nameservers: fc.array(fc.ipV4(), { maxLength: 2 }), domain: fc.string() },
      { requiredKeys: [] },
    ),
    ip4: fc.record({ ip: fc.ipV4().map((a) => `${a}/24`), gateway: fc.ipV4() }, { requiredKeys: ['ip'] }),
  },
  { requiredKeys: [] },
);

test('result conversion: any valid result to any version → a result of that version or a typed error', () => {
  const valid = fc
    .tuple(
      fc.oneof(validResultLike, resultLike),
      fc.constantFrom('0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'),
    )
    .map(([r, v]) => typedOnly(() => normalizeResult({ ...r, cniVersion: v })))
    .filter((r): r is Result => r !== undefined);
  fc.assert(
    fc.property(valid, version, (result, to) => {
      const converted = typedOnly(() => convertResult(result, to));
      if (converted !== undefined) assert.equal(converted.cniVersion, to === '' ? '0.1.0' : to);
    }),
    { numRuns: 1000 },
  );
});

// ---- CNI_ARGS, CAP_ARGS, plugin environment ----------------------------------------------------

const argPart = fc.oneof(
  anyText,
  fc.constantFrom('K8S_POD_NAME', 'IgnoreUnknown', 'a=b', 'a;b', '', '=', ';', 'x\0y'),
);

test('CNI_ARGS and CAP_ARGS from the environment → args or a ValidationError; valid args round-trip', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        anyText,
        fc.array(fc.tuple(argPart, argPart)).map((ps) => ps.map(([k, v]) => `${k}=${v}`).join(';')),
      ),
      (text) => {
        const args = typedOnly(() => parseCniArgs(text));
        if (args !== undefined) {
          // What parsed is what the plugin will get back in CNI_ARGS.
          assert.equal(formatCniArgs(args), text);
        }
      },
    ),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(
      fc.oneof(
        anyText,
        mangledJson,
        fc.jsonValue().map((v) => JSON.stringify(v)),
      ),
      (text) => {
        const caps = typedOnly(() => parseCapArgs(text));
        if (caps !== undefined) assert.equal(typeof caps, 'object');
      },
    ),
    { numRuns: 700 },
  );
});

test('plugin environment: any request fields → an env of strings without NUL, or a ValidationError', () => {
  fc.assert(
    fc.property(
      fc.record({
        containerId: anyText,
        netns: anyText,
        ifName: anyText,
        args: fc.array(fc.tuple(argPart, argPart), { maxLength: 4 }),
        path: fc.array(anyText, { maxLength: 3 }),
        extra: fc.dictionary(anyText, anyText, { maxKeys: 3 }),
        traceparent: fc.oneof(
          fc.string(),
          fc.constant('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'),
        ),
      }),
      fc.constantFrom('ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'VERSION' as const),
      (r, command) => {
        const env = typedOnly(() =>
          buildPluginEnv(
            {
              command,
              containerId: r.containerId,
              netns: r.netns,
              ifName: r.ifName,
              args: r.args,
              path: r.path,
            },
            { env: 'minimal', extraEnv: r.extra, trace: { traceparent: r.traceparent } },
          ),
        );
        if (env !== undefined) {
          for (const [k, v] of Object.entries(env)) {
            assert.equal(typeof v, 'string');
            assert.ok(!k.includes('\0') && !v.includes('\0') && !k.includes('='), JSON.stringify(k));
          }
          assert.equal(env.CNI_COMMAND, command);
        }
      },
    ),
    { numRuns: 800 },
  );
});

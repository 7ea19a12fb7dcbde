// Injecting values into plugin configs: Go InjectConf semantics (F20), the ADD/CHECK/DEL stdin with
// runtimeConfig filtered by capabilities (C1, C2), GC and STATUS stdin, all byte-preserving.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  buildGcConfig,
  buildRequestConfig,
  buildStatusConfig,
  capabilitiesOf,
  injectConf,
} from '../../src/config/inject.ts';
import { networkConfFromBytes, pluginConfFromBytes } from '../../src/config/parse.ts';
import type { PluginConfig } from '../../src/config/types.ts';
import { objectMembers } from '../../src/go/json-scan.ts';
import { ConfigError } from '../../src/core/errors.ts';

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected an error');
}

/** The raw text of each top-level member (the last one for a repeated key). */
function rawMembers(json: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of objectMembers(json)) out[m.key] = json.slice(m.valueStart, m.valueEnd);
  return out;
}

describe('F20 injectConf', () => {
  const base = pluginConfFromBytes('{ "name": "some-plugin", "type": "foobar" }');

  test('bytes that are not a JSON object', () => {
    const bad: PluginConfig = { network: { type: 'x' }, bytes: Buffer.from('{ cc cc cc}') };
    assert.match(configError(() => injectConf(bad, { a: 1 })).message, /^unmarshal existing network bytes: /);
    const arr: PluginConfig = { network: { type: 'x' }, bytes: Buffer.from('[]') };
    assert.equal(
      configError(() => injectConf(arr, { a: 1 })).message,
      'unmarshal existing network bytes: json: cannot unmarshal array into Go value of type map[string]interface {}',
    );
  });

  test('an empty key, and nil values (null and undefined), are refused', () => {
    assert.equal(configError(() => injectConf(base, { '': 1 })).message, 'keys cannot be empty');
    assert.equal(
      configError(() => injectConf(base, { test: null })).message,
      "key 'test' value must not be nil",
    );
    assert.equal(
      configError(() => injectConf(base, { test: undefined })).message,
      "key 'test' value must not be nil",
    );
  });

  test('adds a new key, keeping the original bytes', () => {
    const out = injectConf(base, { test: 'test' });
    assert.equal(text(out.bytes), '{ "name": "some-plugin", "type": "foobar", "test": "test" }');
    assert.deepEqual(out.network, { name: 'some-plugin', type: 'foobar', test: 'test' });
  });

  test('overwrites an existing key in place; injecting the same value twice is idempotent', () => {
    const once = injectConf(base, { test: 'test' });
    const changed = injectConf(once, { test: 'changedValue' });
    assert.equal(text(changed.bytes), '{ "name": "some-plugin", "type": "foobar", "test": "changedValue" }');
    assert.equal(text(injectConf(once, { test: 'test' }).bytes), text(once.bytes));
  });

  test('injecting dns and type updates the parsed view; an empty type fails as in Go', () => {
    const withDns = injectConf(base, { dns: { nameservers: ['server1', 'server2'], domain: 'local' } });
    const retyped = injectConf(withDns, { type: 'bridge' });
    assert.equal(retyped.network.type, 'bridge');
    assert.deepEqual(retyped.network.dns, { domain: 'local', nameservers: ['server1', 'server2'] });
    // The value is encoded as Go encodes a map: sorted keys.
    assert.equal(
      rawMembers(text(retyped.bytes)).dns,
      '{"domain":"local","nameservers":["server1","server2"]}',
    );
    assert.equal(
      configError(() => injectConf(base, { type: '' })).message,
      "error parsing configuration: missing 'type'",
    );
  });

  test('values Go cannot encode are errors, not crashes', () => {
    assert.match(configError(() => injectConf(base, { n: Number.NaN })).message, /unsupported value/);
  });
});

describe('buildRequestConfig', () => {
  const plugin = pluginConfFromBytes(
    '{ "type": "noop", "name": "own", "cniVersion": "0.1.0", "capabilities": { "portMappings": true, "somethingElse": true, "noCapability": false }, "args": {"k": "v"} }',
  );
  const capabilityArgs = {
    portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
    somethingElse: ['x', 'y'],
    noCapability: 'nope',
    notAdded: true,
  };

  test('name and cniVersion overwrite the plugin own; capabilities and args pass through', () => {
    const stdin = JSON.parse(text(buildRequestConfig(plugin, { name: 'list', cniVersion: '1.1.0' })));
    assert.equal(stdin.name, 'list');
    assert.equal(stdin.cniVersion, '1.1.0');
    assert.deepEqual(stdin.capabilities, { portMappings: true, somethingElse: true, noCapability: false });
    assert.deepEqual(stdin.args, { k: 'v' });
    assert.equal('prevResult' in stdin, false);
    assert.equal('runtimeConfig' in stdin, false);
  });

  test('C1: runtimeConfig holds only capabilities that are true and supplied', () => {
    const stdin = JSON.parse(
      text(buildRequestConfig(plugin, { name: 'l', cniVersion: '1.0.0', capabilityArgs })),
    );
    assert.deepEqual(stdin.runtimeConfig, {
      portMappings: capabilityArgs.portMappings,
      somethingElse: capabilityArgs.somethingElse,
    });
  });

  test('C1: runtimeConfig is encoded as Go encodes a map (sorted keys, HTML-safe)', () => {
    const raw = rawMembers(
      text(
        buildRequestConfig(plugin, {
          name: 'l',
          cniVersion: '1.0.0',
          capabilityArgs: { somethingElse: { z: '<&>', a: 1 }, portMappings: [] },
        }),
      ),
    );
    assert.equal(
      raw.runtimeConfig,
      '{"portMappings":[],"somethingElse":{"a":1,"z":"\\u003c\\u0026\\u003e"}}',
    );
  });

  test('C2: no runtimeConfig when nothing matches; one written in the file then stays (as Go)', () => {
    const none = JSON.parse(
      text(buildRequestConfig(plugin, { name: 'l', cniVersion: '1.0.0', capabilityArgs: { notAdded: 1 } })),
    );
    assert.equal('runtimeConfig' in none, false);
    const withOwn = pluginConfFromBytes(
      '{"type":"x","capabilities":{"a":true},"runtimeConfig":{"fromFile":1}}',
    );
    assert.deepEqual(
      JSON.parse(text(buildRequestConfig(withOwn, { name: 'l', cniVersion: '1.0.0', capabilityArgs: {} })))
        .runtimeConfig,
      { fromFile: 1 },
    );
    assert.deepEqual(
      JSON.parse(
        text(buildRequestConfig(withOwn, { name: 'l', cniVersion: '1.0.0', capabilityArgs: { a: 2 } })),
      ).runtimeConfig,
      { a: 2 },
    );
  });

  test('prevResult is set when given and replaces one in the file', () => {
    const p = pluginConfFromBytes('{"type":"x","prevResult":{"stale":true}}');
    const prev = { cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }] };
    const stdin = JSON.parse(
      text(buildRequestConfig(p, { name: 'l', cniVersion: '1.0.0', prevResult: prev })),
    );
    assert.deepEqual(stdin.prevResult, prev);
    const untouched = JSON.parse(
      text(buildRequestConfig(p, { name: 'l', cniVersion: '1.0.0', prevResult: null })),
    );
    assert.deepEqual(untouched.prevResult, { stale: true });
  });

  test('plugin values pass through byte for byte (Go would corrupt them through float64)', () => {
    const list = networkConfFromBytes(
      '{"name":"n","cniVersion":"1.0.0","plugins":[{"type":"x","big":9007199254740993,"ratio":1.50,"neg":-0,"e":"\\u00e9","html":"<b>","exp":1E3}]}',
    );
    const stdin = text(buildRequestConfig(list.plugins[0]!, { name: 'n', cniVersion: '1.0.0' }));
    const raw = rawMembers(stdin);
    assert.equal(raw.big, '9007199254740993');
    assert.equal(raw.ratio, '1.50');
    assert.equal(raw.neg, '-0');
    assert.equal(raw.e, '"\\u00e9"');
    assert.equal(raw.html, '"<b>"');
    assert.equal(raw.exp, '1E3');
    assert.doesNotThrow(() => JSON.parse(stdin));
    assert.equal(
      stdin,
      '{"type":"x","big":9007199254740993,"ratio":1.50,"neg":-0,"e":"\\u00e9","html":"<b>","exp":1E3,"name":"n","cniVersion":"1.0.0"}',
    );
  });
});

describe('GC and STATUS stdin', () => {
  const plugin = pluginConfFromBytes('{"type":"host-local","capabilities":{"a":true},"x":1}');

  test('GC: both attachment keys, containerID/ifname objects, no runtimeConfig', () => {
    const stdin = text(
      buildGcConfig(plugin, {
        name: 'net',
        cniVersion: '1.1.0',
        validAttachments: [{ containerId: 'abc', ifName: 'eth0' }],
      }),
    );
    const raw = rawMembers(stdin);
    assert.equal(raw['cni.dev/valid-attachments'], '[{"containerID":"abc","ifname":"eth0"}]');
    assert.equal(raw['cni.dev/attachments'], '[{"containerID":"abc","ifname":"eth0"}]');
    assert.equal(raw.name, '"net"');
    assert.equal(raw.cniVersion, '"1.1.0"');
    assert.equal(raw.runtimeConfig, undefined);
    assert.equal(raw.x, '1');
  });

  test('GC: null attachments are sent as null, absent ones are left out, an empty set is []', () => {
    const nul = rawMembers(
      text(buildGcConfig(plugin, { name: 'n', cniVersion: '1.1.0', validAttachments: null })),
    );
    assert.equal(nul['cni.dev/valid-attachments'], 'null');
    assert.equal(nul['cni.dev/attachments'], 'null');
    const absent = rawMembers(text(buildGcConfig(plugin, { name: 'n', cniVersion: '1.1.0' })));
    assert.equal('cni.dev/valid-attachments' in absent, false);
    assert.equal('cni.dev/attachments' in absent, false);
    const empty = rawMembers(
      text(buildGcConfig(plugin, { name: 'n', cniVersion: '1.1.0', validAttachments: [] })),
    );
    assert.equal(empty['cni.dev/valid-attachments'], '[]');
  });

  test('STATUS: name and cniVersion only', () => {
    assert.equal(
      text(buildStatusConfig(plugin, { name: 'n', cniVersion: '1.1.0' })),
      '{"type":"host-local","capabilities":{"a":true},"x":1,"name":"n","cniVersion":"1.1.0"}',
    );
  });
});

test('capabilitiesOf lists the capabilities declared true', () => {
  assert.deepEqual(
    capabilitiesOf(pluginConfFromBytes('{"type":"x","capabilities":{"a":true,"b":false,"c":true}}')),
    ['a', 'c'],
  );
  assert.deepEqual(capabilitiesOf(pluginConfFromBytes('{"type":"x"}')), []);
});

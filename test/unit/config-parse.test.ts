// Parsing plugin objects and network configuration lists from bytes: Go libcni's rules and messages
// (upstream conf_test.go F7, F9, F17, F18 parse-level, F21), plus our byte-exact plugin slices.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { networkConfFromBytes, pluginConfFromBytes } from '../../src/config/parse.ts';
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

describe('pluginConfFromBytes', () => {
  test('F9: a plugin without type is refused', () => {
    assert.equal(
      configError(() => pluginConfFromBytes('{ "name": "some-plugin", "some-key": "some-value" }')).message,
      "error parsing configuration: missing 'type'",
    );
    assert.equal(
      configError(() => pluginConfFromBytes('{"type":""}')).message,
      "error parsing configuration: missing 'type'",
    );
    assert.equal(
      configError(() => pluginConfFromBytes('null')).message,
      "error parsing configuration: missing 'type'",
    );
  });

  test('a JSON error carries Go text, and the file when given', () => {
    const e = configError(() => pluginConfFromBytes('{', { file: '/etc/cni/net.d/x.conf' }));
    assert.equal(e.message, 'error parsing configuration: unexpected end of JSON input');
    assert.equal(e.file, '/etc/cni/net.d/x.conf');
  });

  test('bytes are kept verbatim (and copied)', () => {
    const input = Buffer.from('{ "type" : "bridge", "mtu": 1.50 }\n');
    const conf = pluginConfFromBytes(input);
    assert.equal(text(conf.bytes), '{ "type" : "bridge", "mtu": 1.50 }\n');
    input[3] = 0x41;
    assert.equal(text(conf.bytes), '{ "type" : "bridge", "mtu": 1.50 }\n');
  });

  test('F7: capabilities are read; unknown keys stay in the view', () => {
    const conf = pluginConfFromBytes(
      '{ "name": "p", "type": "noop", "cniVersion": "0.3.1", "capabilities": { "portMappings": true, "somethingElse": true, "noCapability": false }, "some-key": [1] }',
    );
    assert.deepEqual(conf.network, {
      name: 'p',
      type: 'noop',
      cniVersion: '0.3.1',
      capabilities: { portMappings: true, somethingElse: true, noCapability: false },
      'some-key': [1],
    });
  });

  test('known fields match case-insensitively, as Go struct decoding does', () => {
    const conf = pluginConfFromBytes(
      '{"Type":"bridge","NAME":"n","IPAM":{"TYPE":"host-local","subnet":"10.0.0.0/24"}}',
    );
    assert.equal(conf.network.type, 'bridge');
    assert.equal(conf.network.name, 'n');
    assert.deepEqual(conf.network.ipam, { type: 'host-local', subnet: '10.0.0.0/24' });
    // Several matching keys: each is decoded in order, so the last wins; null leaves a string alone.
    assert.equal(pluginConfFromBytes('{"type":"a","Type":"b"}').network.type, 'b');
    assert.equal(pluginConfFromBytes('{"type":"a","Type":null}').network.type, 'a');
    // Unicode folding as in Go: LONG S folds to s; other non-ASCII letters match nothing.
    assert.deepEqual(pluginConfFromBytes('{"type":"x","dn\u017f":{"domain":"d"}}').network.dns, {
      domain: 'd',
    });
    assert.equal(pluginConfFromBytes('{"t\u00fdpe":"x","type":"y"}').network.type, 'y');
  });

  test('wrong value types are refused with Go UnmarshalTypeError text', () => {
    const cases: Array<[string, string]> = [
      ['{"type":5}', 'json: cannot unmarshal number into Go struct field PluginConf.type of type string'],
      [
        '{"type":"x","name":true}',
        'json: cannot unmarshal bool into Go struct field PluginConf.name of type string',
      ],
      [
        '{"type":"x","capabilities":{"a":"yes"}}',
        'json: cannot unmarshal string into Go struct field PluginConf.capabilities of type bool',
      ],
      [
        '{"type":"x","capabilities":[]}',
        'json: cannot unmarshal array into Go struct field PluginConf.capabilities of type map[string]bool',
      ],
      [
        '{"type":"x","ipam":5}',
        'json: cannot unmarshal number into Go struct field PluginConf.ipam of type types.IPAM',
      ],
      [
        '{"type":"x","ipam":{"type":[]}}',
        'json: cannot unmarshal array into Go struct field IPAM.ipam.type of type string',
      ],
      [
        '{"type":"x","dns":{"nameservers":[1]}}',
        'json: cannot unmarshal number into Go struct field DNS.dns.nameservers of type string',
      ],
      [
        '{"type":"x","prevResult":[]}',
        'json: cannot unmarshal array into Go struct field PluginConf.prevResult of type map[string]interface {}',
      ],
      [
        '{"type":"x","cni.dev/valid-attachments":[{"containerID":1}]}',
        'json: cannot unmarshal number into Go struct field GCAttachment.cni.dev/valid-attachments.containerID of type string',
      ],
      ['[]', 'json: cannot unmarshal array into Go value of type types.PluginConf'],
      ['"x"', 'json: cannot unmarshal string into Go value of type types.PluginConf'],
    ];
    for (const [input, want] of cases) {
      assert.equal(
        configError(() => pluginConfFromBytes(input)).message,
        `error parsing configuration: ${want}`,
        input,
      );
    }
  });

  test('null in a capabilities map means false; a keyed __proto__ stays an own key', () => {
    assert.deepEqual(pluginConfFromBytes('{"type":"x","capabilities":{"a":null}}').network.capabilities, {
      a: false,
    });
    const conf = pluginConfFromBytes('{"__proto__":{"polluted":1},"type":"x"}');
    assert.ok(Object.hasOwn(conf.network, '__proto__'));
    assert.equal(Object.getPrototypeOf(conf.network), Object.prototype);
  });
});

describe('networkConfFromBytes', () => {
  const plugins = '"plugins": [{"type": "foo"}]';

  test('name is required and must be a string; it is not validated further', () => {
    assert.equal(
      configError(() => networkConfFromBytes(`{${plugins}}`)).message,
      'error parsing configuration list: no name',
    );
    assert.equal(
      configError(() => networkConfFromBytes(`{"name": 5, ${plugins}}`)).message,
      'error parsing configuration list: invalid name type float64',
    );
    assert.equal(
      configError(() => networkConfFromBytes(`{"name": null, ${plugins}}`)).message,
      'error parsing configuration list: invalid name type <nil>',
    );
    assert.equal(networkConfFromBytes(`{"name": "bad name %%", ${plugins}}`).name, 'bad name %%');
  });

  test('JSON errors and a non-object document', () => {
    assert.equal(
      configError(() => networkConfFromBytes('{')).message,
      'error parsing configuration list: unexpected end of JSON input',
    );
    assert.equal(
      configError(() => networkConfFromBytes('[]')).message,
      'error parsing configuration list: json: cannot unmarshal array into Go value of type map[string]interface {}',
    );
    assert.equal(
      configError(() => networkConfFromBytes('null')).message,
      'error parsing configuration list: no name',
    );
  });

  test('cniVersion must be a string when present', () => {
    assert.equal(
      configError(() => networkConfFromBytes(`{"name":"n","cniVersion":1, ${plugins}}`)).message,
      'error parsing configuration list: invalid cniVersion type float64',
    );
    assert.equal(networkConfFromBytes(`{"name":"n", ${plugins}}`).cniVersion, '');
  });

  describe('F21 version selection', () => {
    const make = (...vs: string[]): string =>
      `{"name": "test", "cniVersions": [${vs.map((v) => `"${v}"`).join(',')}], ${plugins}}`;
    test('the maximum of cniVersions', () => {
      assert.equal(networkConfFromBytes(make('1.1.0', '0.4.0', '1.0.0')).cniVersion, '1.1.0');
    });
    test('versions above the implemented 1.1.0 are dropped', () => {
      assert.equal(networkConfFromBytes(make('99.0.0', '1.1.0', '0.4.0', '1.0.0')).cniVersion, '1.1.0');
      assert.equal(networkConfFromBytes(make('1.2.0')).cniVersion, '');
    });
    test('an unparsable entry is an error', () => {
      assert.equal(
        configError(() => networkConfFromBytes(make('1.1.0', '0.4.0', '1.0.f'))).message,
        'error parsing configuration list: invalid cniVersions entry 1.0.f at index 2: failed to convert micro version part "f": strconv.Atoi: parsing "f": invalid syntax',
      );
    });
    test('without cniVersions, cniVersion is used as is, even above 1.1.0', () => {
      assert.equal(
        networkConfFromBytes(`{"name": "test", "cniVersion": "1.2.3", ${plugins}}`).cniVersion,
        '1.2.3',
      );
    });
    test('cniVersion takes part in the selection', () => {
      assert.equal(
        networkConfFromBytes(
          `{"name": "test", "cniVersion": "1.0.0", "cniVersions": ["0.1.0", "0.4.0"], ${plugins}}`,
        ).cniVersion,
        '1.0.0',
      );
      assert.equal(
        networkConfFromBytes(`{"name": "test", "cniVersion": "9.0.0", "cniVersions": ["0.4.0"], ${plugins}}`)
          .cniVersion,
        '0.4.0',
      );
    });
    test('an empty array and no cniVersion give ""', () => {
      assert.equal(networkConfFromBytes(`{"name": "test", "cniVersions": [], ${plugins}}`).cniVersion, '');
    });
    test('entries must be strings, the key an array', () => {
      assert.equal(
        configError(() => networkConfFromBytes(`{"name": "test", "cniVersions": ["1.0.0", 1], ${plugins}}`))
          .message,
        'error parsing configuration list: invalid type for cniVersions index 1: float64',
      );
      assert.match(
        configError(() => networkConfFromBytes(`{"name": "test", "cniVersions": "1.0.0", ${plugins}}`))
          .message,
        /^error parsing configuration list: invalid type for cniVersions: /,
      );
    });
  });

  describe('F17 boolean flags', () => {
    const withFlag = (key: string, raw: string): string => `{"name":"n","${key}":${raw}, ${plugins}}`;
    for (const key of ['disableCheck', 'disableGC', 'loadOnlyInlinedPlugins'] as const) {
      test(`${key}: bool or case-insensitive "true"/"false" string, else an error`, () => {
        assert.equal(networkConfFromBytes(withFlag(key, 'true'))[key], true);
        assert.equal(networkConfFromBytes(withFlag(key, '"true"'))[key], true);
        assert.equal(networkConfFromBytes(withFlag(key, '"TrUe"'))[key], true);
        assert.equal(networkConfFromBytes(withFlag(key, '"false"'))[key], false);
        assert.equal(networkConfFromBytes(withFlag(key, 'false'))[key], false);
        assert.equal(networkConfFromBytes(`{"name":"n", ${plugins}}`)[key], false);
        assert.equal(
          configError(() => networkConfFromBytes(withFlag(key, '"Adsfasdfasf"'))).message,
          `error parsing configuration list: invalid value "adsfasdfasf" for ${key}`,
        );
        assert.equal(
          configError(() => networkConfFromBytes(withFlag(key, '1'))).message,
          `error parsing configuration list: invalid type float64 for ${key}`,
        );
      });
    }
  });

  describe('plugins', () => {
    test('F18: absent plugins give an empty list unless loadOnlyInlinedPlugins is true', () => {
      assert.deepEqual(networkConfFromBytes('{"name":"n","cniVersion":"0.4.0"}').plugins, []);
      assert.deepEqual(networkConfFromBytes('{"name":"n","loadOnlyInlinedPlugins":false}').plugins, []);
      assert.equal(
        configError(() => networkConfFromBytes('{"name":"n","loadOnlyInlinedPlugins":true}')).message,
        "error parsing configuration list: `loadOnlyInlinedPlugins` is true, and no 'plugins' key",
      );
    });

    test('plugins must be a non-empty array of valid plugin objects', () => {
      assert.equal(
        configError(() => networkConfFromBytes('{"name":"n","plugins":{}}')).message,
        "error parsing configuration list: invalid 'plugins' type map[string]interface {}",
      );
      assert.equal(
        configError(() => networkConfFromBytes('{"name":"n","plugins":[]}')).message,
        'error parsing configuration list: no plugins in list',
      );
      const e = configError(() => networkConfFromBytes('{"name":"n","plugins":[{"type":"a"},{"name":"x"}]}'));
      assert.equal(e.message, "failed to parse plugin config 1: error parsing configuration: missing 'type'");
      assert.ok(e.cause instanceof ConfigError);
      assert.equal(
        configError(() => networkConfFromBytes('{"name":"n","plugins":[5]}')).message,
        'failed to parse plugin config 0: error parsing configuration: json: cannot unmarshal number into Go value of type types.PluginConf',
      );
    });

    test('each plugin keeps the exact bytes it has inside the list (Go would re-marshal them)', () => {
      const list =
        '{\n  "name": "n",\n  "plugins": [\n    { "type": "a", "big": 9007199254740993, "r": 1.50, "h": "<b>\\u00e9" },\n    {"type":"b"}\n  ]\n}';
      const parsed = networkConfFromBytes(Buffer.from(list));
      assert.equal(text(parsed.bytes), list);
      assert.deepEqual(
        parsed.plugins.map((p) => text(p.bytes)),
        ['{ "type": "a", "big": 9007199254740993, "r": 1.50, "h": "<b>\\u00e9" }', '{"type":"b"}'],
      );
      assert.equal(parsed.plugins[0]?.network.h, '<b>é');
    });

    test('a repeated key counts once, with its last value (Go decodes into a map)', () => {
      const parsed = networkConfFromBytes(
        '{"name":"a","plugins":[{"type":"x"}],"name":"b","plugins":[{"type":"y"}]}',
      );
      assert.equal(parsed.name, 'b');
      assert.deepEqual(
        parsed.plugins.map((p) => p.network.type),
        ['y'],
      );
    });
  });
});

// Properties over arbitrary input: the parsers fail only with ConfigError, plugin slices are exact,
// and setMembers always yields valid JSON with exactly the intended members.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { networkConfFromBytes, pluginConfFromBytes } from '../../src/config/parse.ts';
import { setMembers } from '../../src/go/json-edit.ts';
import { objectMembers, scanJson } from '../../src/go/json-scan.ts';
import { ConfigError } from '../../src/core/errors.ts';

const RUNS = 400;

function onlyConfigErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
  }
}

const ws = fc.constantFrom('', ' ', '\n  ', '\t');

/** A config-like object: usually the keys the parsers look at, with values of any JSON type. */
const pluginLike = fc.record(
  {
    type: fc.oneof(fc.string(), fc.jsonValue()),
    Type: fc.string(),
    name: fc.oneof(fc.string(), fc.jsonValue()),
    capabilities: fc.oneof(
      fc.dictionary(fc.string(), fc.oneof(fc.boolean(), fc.constant(null))),
      fc.jsonValue(),
    ),
    ipam: fc.oneof(
      fc.record({ type: fc.jsonValue(), subnet: fc.string() }, { requiredKeys: [] }),
      fc.jsonValue(),
    ),
    dns: fc.oneof(
      fc.record({ nameservers: fc.array(fc.jsonValue()), domain: fc.jsonValue() }, { requiredKeys: [] }),
      fc.jsonValue(),
    ),
    prevResult: fc.jsonValue(),
    'cni.dev/valid-attachments': fc.oneof(
      fc.array(fc.record({ containerID: fc.jsonValue(), ifname: fc.string() })),
      fc.jsonValue(),
    ),
    extra: fc.jsonValue(),
  },
  { requiredKeys: [] },
);

const listLike = fc.record(
  {
    name: fc.oneof(fc.string(), fc.jsonValue()),
    cniVersion: fc.oneof(fc.constantFrom('0.4.0', '1.0.0', '1.1.0', '1.2.0', '', 'x'), fc.jsonValue()),
    cniVersions: fc.oneof(
      fc.array(fc.constantFrom('0.3.1', '1.0.0', '1.1.0', '9.9.9', '1.0', 'a.b', '')),
      fc.jsonValue(),
    ),
    disableCheck: fc.oneof(fc.boolean(), fc.constantFrom('true', 'FALSE', 'yes'), fc.jsonValue()),
    disableGC: fc.boolean(),
    loadOnlyInlinedPlugins: fc.oneof(fc.boolean(), fc.jsonValue()),
    plugins: fc.oneof(fc.array(pluginLike, { maxLength: 3 }), fc.jsonValue()),
  },
  { requiredKeys: [] },
);

test('parsers throw nothing but ConfigError on arbitrary strings and bytes', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.json()), (s) => {
      onlyConfigErrors(() => networkConfFromBytes(s));
      onlyConfigErrors(() => pluginConfFromBytes(s));
    }),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
      onlyConfigErrors(() => networkConfFromBytes(b));
      onlyConfigErrors(() => pluginConfFromBytes(b));
    }),
    { numRuns: RUNS },
  );
});

test('parsers throw nothing but ConfigError on arbitrary JSON values and config-like objects', () => {
  fc.assert(
    fc.property(fc.oneof(fc.jsonValue(), listLike, pluginLike), fc.boolean(), (v, pretty) => {
      const s = JSON.stringify(v, null, pretty ? 2 : undefined);
      onlyConfigErrors(() => networkConfFromBytes(s));
      onlyConfigErrors(() => pluginConfFromBytes(s));
    }),
    { numRuns: RUNS },
  );
});

test('a parsed list hands out each plugin as its exact slice of the text', () => {
  const okPlugin = fc.record({ type: fc.string({ minLength: 1 }), x: fc.jsonValue() });
  fc.assert(
    fc.property(fc.string(), fc.array(okPlugin, { minLength: 1, maxLength: 4 }), ws, (name, plugins, sp) => {
      const pluginTexts = plugins.map((p) => JSON.stringify(p, null, sp === '' ? undefined : 1));
      const listText = `{${sp}"name":${JSON.stringify(name)},${sp}"plugins":[${sp}${pluginTexts.join(`,${sp}`)}${sp}]}`;
      const list = networkConfFromBytes(listText);
      assert.deepEqual(
        list.plugins.map((p) => Buffer.from(p.bytes).toString('utf8')),
        pluginTexts,
      );
      assert.equal(Buffer.from(list.bytes).toString('utf8'), listText);
    }),
    { numRuns: RUNS },
  );
});

/** An object written by hand: any keys (repeats allowed), any spacing. */
const objectText = fc
  .array(fc.tuple(fc.constantFrom('a', 'b', 'name', 'type', '__proto__', 'é'), fc.jsonValue(), ws, ws), {
    maxLength: 6,
  })
  .map((members) => ({
    members: members.map(([k, v]) => [k, v] as const),
    text: `{${members.map(([k, v, s1, s2]) => `${s1}${JSON.stringify(k)}${s2}:${s1}${JSON.stringify(v)}${s2}`).join(',')}}`,
  }));

const updates = fc.array(
  fc.tuple(
    fc.constantFrom('a', 'b', 'c', 'name', 'cniVersion', '__proto__', 'é', '<&>'),
    fc.option(fc.jsonValue(), { nil: undefined }),
  ),
  { maxLength: 5 },
);

test('setMembers always yields valid JSON with exactly the intended members', () => {
  fc.assert(
    fc.property(objectText, updates, (obj, ups) => {
      const result = setMembers(
        obj.text,
        ups.map(([k, v]) => [k, v === undefined ? undefined : JSON.stringify(v)] as const),
      );
      assert.doesNotThrow(() => scanJson(result));
      const expected = new Map<string, unknown>();
      for (const [k, v] of obj.members) expected.set(k, JSON.parse(JSON.stringify(v)));
      for (const [k, v] of ups) {
        if (v === undefined) expected.delete(k);
        else expected.set(k, JSON.parse(JSON.stringify(v)));
      }
      const members = objectMembers(result);
      const updated = new Set(ups.map(([k]) => k));
      // Keys that were updated occur exactly once; others keep their (possibly repeated) members.
      for (const k of updated) assert.ok(members.filter((m) => m.key === k).length <= 1);
      const got = new Map<string, unknown>();
      for (const m of members) got.set(m.key, JSON.parse(result.slice(m.valueStart, m.valueEnd)));
      assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort());
      for (const [k, v] of expected) assert.deepEqual(got.get(k), v, k);
    }),
    { numRuns: RUNS },
  );
});

test('setMembers leaves the text alone when nothing changes', () => {
  fc.assert(
    fc.property(objectText, (obj) => {
      assert.equal(setMembers(obj.text, []), obj.text);
      assert.equal(setMembers(obj.text, [['never-present', undefined]]), obj.text);
    }),
    { numRuns: RUNS },
  );
});

// Config loading and request building against what Go libcni did in the golden runs
// (fixtures/golden, README rules 2 and 9): the cached `config` bytes, and the plugin's stdin.
import assert from 'node:assert/strict';
import { promises as fs, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { buildRequestConfig } from '../../src/config/inject.ts';
import { loadNetworkConf } from '../../src/config/load.ts';
import { objectMembers } from '../../src/go/json-scan.ts';

const GOLDEN = path.resolve(import.meta.dirname, '../../fixtures/golden');

interface Meta {
  network: string;
  confFileName: string;
}

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

function rawMembers(json: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of objectMembers(json)) out[m.key] = json.slice(m.valueStart, m.valueEnd);
  return out;
}

/** Load the scenario's config file the way the Go driver did (LoadConfList over a config dir). */
async function loadScenario(scenario: string) {
  const dir = path.join(GOLDEN, scenario);
  const meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as Meta;
  const source = readdirSync(dir).find((f) => f === 'conflist.json' || f === 'conf.conf');
  assert.ok(source, `no config file in ${scenario}`);
  const fileBytes = readFileSync(path.join(dir, source));
  const confDir = await fs.mkdtemp(path.join(os.tmpdir(), 'libcni-'));
  try {
    await fs.writeFile(path.join(confDir, meta.confFileName), fileBytes);
    const list = await loadNetworkConf(confDir, meta.network);
    const cache = JSON.parse(readFileSync(path.join(dir, 'cache-go-head'), 'utf8')) as { config: string };
    const runtime = JSON.parse(readFileSync(path.join(dir, 'runtime.json'), 'utf8')) as {
      capabilityArgs: Record<string, unknown> | null;
    };
    const goStdin = readFileSync(path.join(dir, 'stdin-received.json'), 'utf8');
    return { list, fileBytes, cacheConfig: Buffer.from(cache.config, 'base64'), runtime, goStdin };
  } finally {
    await fs.rm(confDir, { recursive: true, force: true });
  }
}

const scenarios = readdirSync(GOLDEN).filter((d) => /^\d\d-/.test(d));

describe('every golden scenario', () => {
  test('there are scenarios to check', () => {
    assert.ok(scenarios.length >= 11);
  });
  for (const scenario of scenarios) {
    test(`${scenario}: cached config bytes and plugin stdin match Go`, async () => {
      const { list, cacheConfig, runtime, goStdin } = await loadScenario(scenario);
      // Rule 2: the cache stores list.bytes, so they must be exactly what Go cached.
      assert.deepEqual(Buffer.from(list.bytes), cacheConfig);
      assert.equal(list.plugins.length, 1);
      const stdin = text(
        buildRequestConfig(list.plugins[0]!, {
          name: list.name,
          cniVersion: list.cniVersion,
          capabilityArgs: runtime.capabilityArgs ?? undefined,
        }),
      );
      // Rule 9: the same JSON values as Go sent (Go's bytes differ: sorted, re-escaped, float64).
      assert.deepEqual(JSON.parse(stdin), JSON.parse(goStdin));
      // runtimeConfig is built the way Go builds it, so even its bytes agree.
      assert.equal(rawMembers(stdin).runtimeConfig, rawMembers(goStdin).runtimeConfig);
    });
  }
});

test('09: plugin values reach the plugin as written; Go sent float64 re-encodings', async () => {
  const { list, goStdin, fileBytes } = await loadScenario('09-escaping-and-numbers');
  assert.deepEqual(Buffer.from(list.bytes), fileBytes);
  const ours = rawMembers(
    text(buildRequestConfig(list.plugins[0]!, { name: list.name, cniVersion: list.cniVersion })),
  );
  const go = rawMembers(goStdin);
  // What Go changed and we keep (JSON.parse cannot tell 2^53+1 from 2^53, so look at the text).
  assert.deepEqual(
    { big: ours.big, ratio: ours.ratio, thousand: ours.thousand },
    { big: '9007199254740993', ratio: '1.50', thousand: '1E3' },
  );
  assert.deepEqual(
    { big: go.big, ratio: go.ratio, thousand: go.thousand },
    { big: '9007199254740992', ratio: '1.5', thousand: '1000' },
  );
  // -0 survives in both; strings differ only in escaping, not in value.
  assert.equal(ours.neg, '-0');
  assert.equal(go.neg, '-0');
  assert.equal(ours.note, '"<b>tom & jerry</b>"');
  assert.equal(go.note, '"\\u003cb\\u003etom \\u0026 jerry\\u003c/b\\u003e"');
  assert.equal(ours.unicode, '"caf\\u00e9 \\u2028 \\/"');
  assert.equal(JSON.parse(ours.unicode), JSON.parse(go.unicode!));
});

test('10: a legacy .conf gets Go-marshalled list bytes; the plugin keeps the file bytes', async () => {
  const { list, fileBytes, cacheConfig } = await loadScenario('10-legacy-conf-file');
  assert.equal(
    text(list.bytes),
    '{"cniVersion":"0.4.0","name":"legacy","plugins":[{"big":9007199254740992,"cniVersion":"0.4.0","debugFile":"/run/cni-golden/debug.json","html":"\\u003c\\u0026\\u003e","ipam":{"subnet":"10.91.0.0/24","type":"host-local"},"name":"legacy","type":"noop"}]}',
  );
  assert.deepEqual(Buffer.from(list.bytes), cacheConfig);
  assert.deepEqual(Buffer.from(list.plugins[0]!.bytes), fileBytes);
  assert.equal(list.plugins[0]!.network.ipam?.type, 'host-local');
});

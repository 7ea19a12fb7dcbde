/**
 * Fuzzing CNIConfig's inputs that reach file paths and plugin environments — network name, plugin
 * type, container id, interface name, CNI_ARGS, capability args — with a fake Exec and a temp cache
 * directory: every operation succeeds or throws a typed error, an entry is only ever written as one
 * file directly in `<cacheDir>/results`, and nothing appears anywhere else. About 2,000 cases.
 */
import assert from 'node:assert/strict';
import { promises as fs, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { ResultCache } from '../../src/cache/cache.ts';
import { CNIConfig, type RuntimeConf } from '../../src/cni/index.ts';
import { networkConfFromBytes } from '../../src/config/parse.ts';
import type { NetworkConfigList } from '../../src/config/types.ts';
import type { Exec, ExecOutput } from '../../src/invoke/exec.ts';
import { findInPath } from '../../src/invoke/find.ts';
import { LibcniError } from '../../src/core/errors.ts';

let root: string;
let pluginDir: string;
let cacheDir: string;

before(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'libcni-'));
  pluginDir = path.join(root, 'bin');
  // The cache sits three levels down, so that a `../..` that got through would land inside `root`.
  cacheDir = path.join(root, 'a', 'b', 'cache');
  await fs.mkdir(pluginDir);
  await fs.mkdir(path.dirname(cacheDir), { recursive: true });
  await fs.writeFile(path.join(pluginDir, 'fake'), '#!/bin/sh\n', { mode: 0o755 });
});
after(() => fs.rm(root, { recursive: true, force: true }));

/** Every path under `dir`, relative, directories included. */
function walk(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const rel = prefix === '' ? e.name : `${prefix}/${e.name}`;
    return e.isDirectory() ? [rel, ...walk(path.join(dir, e.name), rel)] : [rel];
  });
}

const RESULT = Buffer.from('{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.2/24"}]}');

/** Plugins found for real in `pluginDir`, run by a stand-in that answers at once. */
let runs = 0;
const exec: Exec = {
  findInPath: (type, paths) => findInPath(type, paths),
  execPlugin: (_path, _stdin, env): Promise<ExecOutput> => {
    runs++;
    const stdout = env.CNI_COMMAND === 'ADD' ? RESULT : Buffer.alloc(0);
    return Promise.resolve({ stdout, stderr: '', exitCode: 0, durationMs: 0 });
  },
};

const hostile = fc.constantFrom(
  '../../x',
  '../../../x',
  '..',
  '.',
  '/etc/passwd',
  'a/b',
  'nul\0byte',
  '',
  ' ',
  '-',
  'x'.repeat(256),
  'é',
  'a\nb',
);
const plausible = fc.stringMatching(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,24}$/);
// Mostly plausible values, so that a good share of the operations reach the cache and the plugin.
const name = fc.oneof(
  { arbitrary: plausible, weight: 8 },
  { arbitrary: hostile, weight: 1 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 1 },
  { arbitrary: fc.string({ minLength: 200, maxLength: 300 }), weight: 1 },
);
const ifName = fc.oneof(
  { arbitrary: fc.stringMatching(/^[a-z][a-z0-9]{0,14}$/), weight: 8 },
  { arbitrary: hostile, weight: 1 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 20 }), weight: 1 },
);
const pluginType = fc.oneof(
  { arbitrary: fc.constant('fake'), weight: 8 },
  { arbitrary: hostile, weight: 1 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 20 }), weight: 1 },
);
const argPart = fc.oneof(
  { arbitrary: plausible, weight: 8 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 10 }), weight: 1 },
  { arbitrary: fc.constantFrom('a=b', 'a;b', ''), weight: 1 },
);

test('CNIConfig with fuzzed names: typed errors only, and files only in <cacheDir>/results', async (t) => {
  const cni = new CNIConfig({ path: [pluginDir], cacheDir, exec, cacheSync: 'none' });
  let added = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        network: name,
        type: pluginType,
        containerId: name,
        ifName,
        args: fc.array(fc.tuple(argPart, argPart), { maxLength: 3 }),
        capabilityArgs: fc.dictionary(fc.constantFrom('portMappings', 'mac', 'x'), fc.jsonValue(), {
          maxKeys: 3,
        }),
      }),
      async (input) => {
        let list: NetworkConfigList;
        try {
          list = networkConfFromBytes(
            JSON.stringify({
              cniVersion: '1.0.0',
              name: input.network,
              plugins: [{ type: input.type, capabilities: { portMappings: true, mac: true } }],
            }),
          );
        } catch (e) {
          if (e instanceof LibcniError) return; // e.g. an empty type: refused while parsing
          throw e;
        }
        const rt: RuntimeConf = {
          containerId: input.containerId,
          netns: '/run/netns/fuzz',
          ifName: input.ifName,
          args: input.args,
          capabilityArgs: input.capabilityArgs,
        };
        const outcome = async (p: Promise<unknown>): Promise<boolean> => {
          try {
            await p;
            return true;
          } catch (e) {
            if (e instanceof LibcniError) return false;
            throw e;
          }
        };
        if (await outcome(cni.addNetworkList(list, rt))) {
          added++;
          const file = new ResultCache(cni.cacheDir).pathFor({
            network: list.name,
            containerId: rt.containerId,
            ifName: rt.ifName,
          });
          assert.equal(
            path.dirname(file),
            path.join(cni.cacheDir, 'results'),
            'the entry is a file directly in results/',
          );
          await fs.access(file);
        }
        await outcome(cni.checkNetworkList(list, rt));
        await outcome(cni.getNetworkListCachedResult(list, rt));
        await outcome(cni.delNetworkList(list, rt));
        await outcome(cni.getCachedAttachments(rt.containerId));
      },
    ),
    { numRuns: 2000 },
  );
  t.diagnostic(`${added} of 2000 ADDs succeeded, ${runs} plugin calls`);
  assert.ok(added > 100, `only ${added} ADDs succeeded: the generators hardly reach the write path`);
  assert.ok(runs > 0);
  // Everything that exists under root is what the test made, or a cache entry directly in results/.
  const unexpected = walk(root).filter(
    (p) =>
      !['bin', 'bin/fake', 'a', 'a/b', 'a/b/cache', 'a/b/cache/results'].includes(p) &&
      !/^a\/b\/cache\/results\/[^/]+$/.test(p),
  );
  assert.deepEqual(unexpected, []);
  // Every ADD was followed by its DEL: nothing is left in the cache either.
  assert.deepEqual(readdirSync(path.join(cacheDir, 'results')), []);
});

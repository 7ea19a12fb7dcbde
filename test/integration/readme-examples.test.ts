// Every ```ts block of README.md and docs/library.md runs as written against the real plugins in
// real namespaces (as root, plugins in /usr/lib/cni; skipped loudly otherwise). Only these literals
// are rewritten, so that the examples do not touch the host's own configuration and never collide
// with another run:
//
//   '/etc/cni/net.d'   -> a temp config dir holding `mynet` (bridge + host-local + portmap, with a
//                         bridge name and a subnet of its own)
//   '/var/lib/cni'     -> a temp cache dir
//   '/var/lib/cni/networks' -> a temp host-local data dir (the quick start's network)
//   'cni-qs0', '10.22.0.0/24' -> a bridge name and a subnet of this run's own (the quick start's)
//   'abc123'           -> a unique container id
//   createNetns()      -> createNetns('<unique name>'), so the namespace can be removed on failure
//   hostPort: 8080     -> 20000 + (pid % 10000) * 4 + 3 (no other suite's port)
//   from 'libcni'      -> the built package entry (dist/index.js; `npm test` builds first)
//
// Each block runs in a fresh process (`node --import tsx`); it must exit 0, and leave no namespace,
// bridge or cache entry behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { sh } from '../helpers/host.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const PLUGINS = '/usr/lib/cni';
const isRoot = process.getuid?.() === 0;

async function hasPlugins(): Promise<boolean> {
  try {
    for (const p of ['bridge', 'host-local', 'portmap', 'loopback']) await fs.access(path.join(PLUGINS, p));
    return true;
  } catch {
    return false;
  }
}
const skipReason = !isRoot
  ? 'not root'
  : !(await hasPlugins())
    ? `reference plugins missing in ${PLUGINS}`
    : undefined;
if (skipReason) console.warn(`\n*** README example tests SKIPPED: ${skipReason} ***\n`);

/** The pages whose ```ts blocks are examples of the library. */
const PAGES = ['README.md', 'docs/library.md'];

/** The ```ts blocks of those pages, with the file and line each starts on. */
async function tsBlocks(): Promise<Array<{ where: string; code: string }>> {
  const out: Array<{ where: string; code: string }> = [];
  const re = /^```ts\n([\s\S]*?)^```$/gm;
  for (const page of PAGES) {
    const text = await fs.readFile(path.join(ROOT, page), 'utf8');
    for (const m of text.matchAll(re)) {
      out.push({ where: `${page}:${text.slice(0, m.index).split('\n').length}`, code: m[1] as string });
    }
  }
  return out;
}

const tag = `${process.pid % 10000}`;
const octet = 100 + (process.pid % 100);
const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'libcni-readme-'));
const bridge = `rdm${tag}`;
const quickBridge = `rdq${tag}`;

after(async () => {
  sh(['ip', 'link', 'del', bridge]);
  sh(['ip', 'link', 'del', quickBridge]);
  await fs.rm(tmp, { recursive: true, force: true });
});

/** The block with the documented literals rewritten for run `n`. */
function rewrite(code: string, n: number, dirs: { conf: string; cache: string }, nsName: string): string {
  const replaced = code
    .replaceAll("'/etc/cni/net.d'", JSON.stringify(dirs.conf))
    .replaceAll("'/var/lib/cni'", JSON.stringify(dirs.cache))
    .replaceAll("'/var/lib/cni/networks'", JSON.stringify(path.join(tmp, `ipam${n}`)))
    .replaceAll("'cni-qs0'", JSON.stringify(quickBridge))
    .replaceAll("'10.22.0.0/24'", JSON.stringify(`10.${octet}.78.0/24`))
    .replaceAll("'abc123'", JSON.stringify(`readme-${tag}-${n}`))
    .replaceAll('createNetns()', `createNetns(${JSON.stringify(nsName)})`)
    .replaceAll('hostPort: 8080', `hostPort: ${20000 + (process.pid % 10000) * 4 + 3}`)
    .replaceAll("from 'libcni'", `from ${JSON.stringify(path.join(ROOT, 'dist/index.js'))}`);
  return replaced;
}

async function writeMynet(conf: string): Promise<void> {
  await fs.mkdir(conf, { recursive: true });
  const list = {
    cniVersion: '1.0.0',
    name: 'mynet',
    plugins: [
      {
        type: 'bridge',
        bridge,
        isGateway: true,
        ipMasq: false,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: `10.${octet}.77.0/24` }]],
          dataDir: path.join(tmp, 'ipam'),
        },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
  await fs.writeFile(path.join(conf, '10-mynet.conflist'), JSON.stringify(list));
}

describe('README examples', async () => {
  const blocks = await tsBlocks();
  test('the README and docs/library.md have ts examples to run', () => {
    assert.ok(blocks.length >= 4, `found ${blocks.length}`);
  });
  for (const [n, block] of blocks.entries()) {
    test(`the example at ${block.where} runs as written`, async (t) => {
      if (skipReason) {
        // As root, the only reason left is missing plugins: fail, naming the package.
        if (isRoot) assert.fail(`cannot run here: ${skipReason}; install containernetworking-plugins`);
        t.skip(`SKIPPED: ${skipReason}`);
        return;
      }
      const dirs = { conf: path.join(tmp, `conf${n}`), cache: path.join(tmp, `cache${n}`) };
      await writeMynet(dirs.conf);
      const nsName = `readme-${tag}-${n}`;
      const file = path.join(tmp, `example${n}.mts`);
      await fs.writeFile(file, rewrite(block.code, n, dirs, nsName));
      try {
        const r = spawnSync(process.execPath, ['--import', 'tsx', file], {
          cwd: ROOT,
          encoding: 'utf8',
          timeout: 120_000,
        });
        assert.equal(r.status, 0, `exit ${String(r.status)}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
        assert.equal(sh(['ip', 'netns', 'list']).stdout.includes(nsName), false, 'the namespace is gone');
        let cached: string[] = [];
        try {
          cached = await fs.readdir(path.join(dirs.cache, 'results'));
        } catch {
          // no cache written at all
        }
        assert.deepEqual(cached, [], 'nothing is left in the cache');
      } finally {
        sh(['ip', 'netns', 'del', nsName]);
      }
    });
  }
});

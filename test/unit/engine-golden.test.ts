// The cache files Go libcni wrote (../shared/golden) are reproduced byte for byte by our ADD, and
// Go's files are read back by our cache readers. The plugin is an in-process fake Exec that
// answers with the exact bytes the Go run's plugin printed.
import assert from 'node:assert/strict';
import { existsSync, promises as fs, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { CNIConfig, type RuntimeConf } from '../../src/cni/index.ts';
import { loadNetworkConf } from '../../src/config/load.ts';
import type { Exec, ExecOutput } from '../../src/invoke/exec.ts';

const GOLDEN = path.resolve(import.meta.dirname, '../../fixtures/golden');

interface Meta {
  network: string;
  confFileName: string;
  cachePath: string;
}

interface RuntimeJson {
  containerId: string;
  netns: string;
  ifName: string;
  args: Array<[string, string]> | null;
  capabilityArgs: unknown;
}

/** An Exec that answers every ADD with fixed bytes and records the stdin it was given. */
class ReplayExec implements Exec {
  readonly stdins: string[] = [];
  constructor(private readonly answer: Buffer) {}
  findInPath(type: string): Promise<string> {
    return Promise.resolve(`/golden/bin/${type}`);
  }
  execPlugin(_pluginPath: string, stdin: Uint8Array): Promise<ExecOutput> {
    this.stdins.push(Buffer.from(stdin).toString('utf8'));
    return Promise.resolve({ stdout: this.answer, stderr: '', exitCode: 0, durationMs: 0 });
  }
}

const scenarios = existsSync(GOLDEN)
  ? readdirSync(GOLDEN).filter((d) => existsSync(path.join(GOLDEN, d, 'meta.json')))
  : [];

const tmpRoots: string[] = [];
after(async () => {
  await Promise.all(tmpRoots.map((d) => fs.rm(d, { recursive: true, force: true })));
});

async function setup(dir: string) {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'libcni-golden-'));
  tmpRoots.push(root);
  const meta = JSON.parse(await fs.readFile(path.join(dir, 'meta.json'), 'utf8')) as Meta;
  const confDir = path.join(root, 'conf');
  await fs.mkdir(confDir);
  const src = existsSync(path.join(dir, 'conflist.json')) ? 'conflist.json' : 'conf.conf';
  await fs.copyFile(path.join(dir, src), path.join(confDir, meta.confFileName));
  const rtJson = JSON.parse(await fs.readFile(path.join(dir, 'runtime.json'), 'utf8')) as RuntimeJson;
  // capabilityArgs was JSON text parsed by the Go runtime into float64 numbers: JSON.parse does the same.
  const rt: RuntimeConf = {
    containerId: rtJson.containerId,
    netns: rtJson.netns,
    ifName: rtJson.ifName,
    args: rtJson.args ?? undefined,
    capabilityArgs: (rtJson.capabilityArgs as Record<string, unknown> | null) ?? undefined,
  };
  const answer = await fs.readFile(path.join(dir, 'plugin-result.json'));
  const list = await loadNetworkConf(confDir, meta.network);
  return { root, meta, rt, answer, list };
}

describe('golden cache files from Go libcni', () => {
  test('the golden fixtures are present', () => {
    assert.ok(scenarios.length >= 11, `expected the 11 golden scenarios under ${GOLDEN}`);
  });

  for (const name of scenarios) {
    const dir = path.join(GOLDEN, name);
    test(`${name}: ADD writes the same bytes as Go libcni >= 1.2`, async () => {
      const { root, meta, rt, answer, list } = await setup(dir);
      const exec = new ReplayExec(answer);
      const cni = new CNIConfig({ path: ['/golden/bin'], cacheDir: path.join(root, 'cache'), exec });
      await cni.addNetworkList(list, rt);
      const written = await fs.readFile(path.join(root, 'cache', meta.cachePath), 'utf8');
      const expected = await fs.readFile(path.join(dir, 'cache-go-head'), 'utf8');
      assert.equal(written, expected);
      const stat = await fs.stat(path.join(root, 'cache', meta.cachePath));
      assert.equal(stat.mode & 0o777, 0o600);
      const dirStat = await fs.stat(path.join(root, 'cache', 'results'));
      assert.equal(dirStat.mode & 0o777, 0o700);
      // What the plugin got is what Go sent, as JSON values (our bytes keep the file's own text).
      assert.equal(exec.stdins.length, 1);
      const goStdin = await fs.readFile(path.join(dir, 'stdin-received.json'), 'utf8');
      assert.deepEqual(JSON.parse(exec.stdins[0] as string), JSON.parse(goStdin));
    });

    for (const goFile of ['cache-go-1.1.2', 'cache-go-head']) {
      if (!existsSync(path.join(dir, goFile))) continue;
      test(`${name}: reads Go's ${goFile}`, async () => {
        const { root, meta, rt, list } = await setup(dir);
        const target = path.join(root, 'cache', meta.cachePath);
        await fs.mkdir(path.dirname(target), { recursive: true });
        await fs.copyFile(path.join(dir, goFile), target);
        const cni = new CNIConfig({
          path: ['/golden/bin'],
          cacheDir: path.join(root, 'cache'),
          exec: new ReplayExec(Buffer.from('{}')),
        });
        const cached = await cni.getNetworkListCachedResult(list, rt);
        assert.ok(cached, 'a cached result');
        assert.equal(cached.cniVersion, list.cniVersion);
        const config = await cni.getNetworkListCachedConfig(list, rt);
        assert.ok(config);
        assert.deepEqual(Buffer.from(config.config), Buffer.from(list.bytes));
        assert.deepEqual(config.rt.args, rt.args);
        const attachments = await cni.getCachedAttachments(rt.containerId);
        assert.equal(attachments.length, 1);
        const [attachment] = attachments;
        assert.ok(attachment);
        assert.equal(attachment.network, meta.network);
        assert.equal(attachment.ifName, rt.ifName);
      });
    }
  }
});

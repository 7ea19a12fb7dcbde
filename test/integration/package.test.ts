// The package as a user gets it: a clean clone of HEAD (never built) is packed with `npm pack`
// (whose prepack builds dist/), the tarball is installed into a fresh project, and from there the
// package is imported from ESM, required from CommonJS (require(esm), Node >= 20.19), typechecked
// under three module resolutions, used for ADD/DEL against the fixture plugins (DefaultExec and
// SpawnerExec through the exported helper), run as `npx -p <tarball> cnitool`, and bundled with
// esbuild into one file that does the same. Needs the npm registry (or npm's cache) for `npm ci`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ensureFixtureModes, FIXTURE_PLUGIN_DIR } from '../helpers/fixtures.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(ROOT, 'node_modules/.bin');
const NPM_FLAGS = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];

let work = '';
let project = '';
let tarball = '';

async function sh(cmd: string, args: readonly string[], cwd: string, env?: Record<string, string>) {
  try {
    return await run(cmd, [...args], {
      cwd,
      env: { ...process.env, ...env },
      maxBuffer: 64 << 20,
      timeout: 600_000,
      encoding: 'utf8',
    });
  } catch (e) {
    const x = e as Error & { stdout?: string; stderr?: string };
    throw new Error(
      `${cmd} ${args.join(' ')} (in ${cwd}) failed: ${x.message}\n${x.stdout ?? ''}\n${x.stderr ?? ''}`,
      {
        cause: e,
      },
    );
  }
}

/** ADD then DEL through the public API; prints the ADD's address. Used as written and bundled. */
const QUICK_START = `
import { fileURLToPath } from 'node:url';
import { CNIConfig, SpawnerExec, networkConfFromBytes } from 'libcni';

const [pluginDir, cacheDir, mode] = process.argv.slice(2);
const exec =
  mode === 'spawner-default' ? new SpawnerExec()
  : mode === 'spawner-export' ? new SpawnerExec({ helperPath: fileURLToPath(import.meta.resolve('libcni/spawner-helper')) })
  : undefined;
const cni = new CNIConfig({ path: [pluginDir], cacheDir, ...(exec ? { exec } : {}) });
const list = networkConfFromBytes(JSON.stringify({ cniVersion: '1.0.0', name: 'pkgtest', plugins: [{ type: 'instant' }] }));
const rt = { containerId: 'pkgtest-' + process.pid, netns: '/var/run/netns/pkgtest', ifName: 'eth0' };
const result = await cni.addNetworkList(list, rt);
await cni.delNetworkList(list, rt);
await exec?.close();
console.log(result.ips[0].address);
`;

const TYPED = `
import { CNIConfig, LibcniError, networkConfFromBytes, type NetworkConfigList, type Result } from 'libcni';
const list: NetworkConfigList = networkConfFromBytes('{"cniVersion":"1.0.0","name":"t","plugins":[{"type":"x"}]}');
const cni = new CNIConfig({ path: ['/usr/lib/cni'] });
export async function add(): Promise<Result> {
  try {
    return await cni.addNetworkList(list, { containerId: 'c', netns: '/n', ifName: 'eth0' });
  } catch (e) {
    if (e instanceof LibcniError) throw new Error(e.message);
    throw e;
  }
}
// @ts-expect-error not a CNIConfig option: proves the types are really resolved, not any
new CNIConfig({ path: [], notAnOption: true });
`;

describe('the packed package, installed into a fresh project', { timeout: 1_200_000 }, () => {
  before(async () => {
    await ensureFixtureModes();
    work = await mkdtemp(path.join(os.tmpdir(), 'libcni-package-'));
    const clone = path.join(work, 'clone');
    await sh('git', ['clone', '--quiet', '--no-hardlinks', ROOT, clone], work);
    await sh('npm', ['ci', '--ignore-scripts', ...NPM_FLAGS], clone);
    await sh('npm', ['pack', '--pack-destination', work, '--loglevel=error'], clone);
    const packed = (await readdir(work)).filter((f) => f.endsWith('.tgz'));
    assert.equal(packed.length, 1, `one tarball expected, got ${packed.join(', ')}`);
    tarball = path.join(work, packed[0] as string);
    project = path.join(work, 'project');
    await mkdir(project);
    await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    await sh('npm', ['install', tarball, ...NPM_FLAGS], project);
    await writeFile(path.join(project, 'quick-start.mjs'), QUICK_START);
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('ships dist/ with LICENSE and CHANGELOG, and no source maps or demo', async () => {
    const { stdout } = await sh('tar', ['-tzf', tarball], work);
    const files = stdout.split('\n').filter(Boolean);
    for (const f of [
      'package/dist/index.js',
      'package/dist/index.d.ts',
      'package/LICENSE',
      'package/CHANGELOG.md',
    ]) {
      assert.ok(files.includes(f), `${f} missing from the tarball`);
    }
    assert.deepEqual(
      files.filter((f) => f.endsWith('.map') || f.includes('demo') || f.startsWith('package/src/')),
      [],
    );
  });

  test('imports from ESM and requires from CommonJS', async () => {
    const esm = await sh(
      process.execPath,
      ['--input-type=module', '-e', "const m = await import('libcni'); console.log(typeof m.CNIConfig)"],
      project,
    );
    assert.equal(esm.stdout.trim(), 'function');
    const cjs = await sh(
      process.execPath,
      [
        '--no-warnings',
        '-e',
        "const m = require('libcni'); console.log(typeof m.CNIConfig, typeof m.NetworkManager)",
      ],
      project,
    );
    assert.equal(cjs.stdout.trim(), 'function function');
  });

  for (const [name, mod, resolution] of [
    ['nodenext', 'nodenext', 'nodenext'],
    ['bundler', 'esnext', 'bundler'],
    ['node (node10)', 'commonjs', 'node'],
  ] as const) {
    test(`typechecks with moduleResolution ${name}`, async () => {
      const dir = path.join(project, `ts-${resolution}`);
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, 'use.ts'), TYPED);
      const tsconfig = {
        compilerOptions: {
          module: mod,
          moduleResolution: resolution,
          target: 'es2022',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [path.join(ROOT, 'node_modules/@types')],
          ...(resolution === 'node' ? { ignoreDeprecations: '6.0' } : {}),
        },
        files: ['use.ts'],
      };
      await writeFile(path.join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
      await sh(path.join(BIN, 'tsc'), ['-p', dir], dir);
    });
  }

  test('the quick start runs ADD and DEL against the fixture plugins', async () => {
    for (const mode of ['default', 'spawner-export']) {
      const cache = path.join(work, `cache-${mode}`);
      const { stdout } = await sh(
        process.execPath,
        ['quick-start.mjs', FIXTURE_PLUGIN_DIR, cache, mode],
        project,
      );
      assert.equal(stdout.trim(), '10.99.0.2/24', mode);
    }
  });

  test('the installed package starts plugins through its prebuilt addon', async () => {
    const probe = "import('libcni').then((m) => console.log(new m.NativeExec().backend))";
    const { stdout } = await sh(process.execPath, ['--input-type=module', '-e', probe], project);
    assert.equal(stdout.trim(), 'addon', 'native/build/cni_spawn.node is in the tarball and loads');
  });

  test('npx -p <tarball> cnitool --help', async () => {
    const { stdout } = await sh('npx', ['--yes', '-p', tarball, 'cnitool', '--help'], project, {
      npm_config_prefer_offline: 'true',
    });
    assert.match(stdout, /cnitool/);
    assert.match(stdout, /add/);
  });

  test('an esbuild bundle of the quick start runs ADD/DEL, SpawnerExec helper included', async () => {
    const out = path.join(project, 'out', 'bundle.mjs');
    await sh(
      path.join(BIN, 'esbuild'),
      [
        'quick-start.mjs',
        '--bundle',
        '--platform=node',
        '--format=esm',
        `--outfile=${out}`,
        '--log-level=error',
      ],
      project,
    );
    // Alone, where no node_modules can be found: everything it needs (zod too) is in the file.
    const alone = path.join(work, 'alone');
    await mkdir(alone);
    await copyFile(out, path.join(alone, 'bundle.mjs'));
    const lone = await sh(
      process.execPath,
      ['bundle.mjs', FIXTURE_PLUGIN_DIR, path.join(work, 'bc1'), 'default'],
      alone,
    );
    assert.equal(lone.stdout.trim(), '10.99.0.2/24');
    // Beside the installed package, the bundled SpawnerExec finds its helper through the export.
    const sp = await sh(
      process.execPath,
      [out, FIXTURE_PLUGIN_DIR, path.join(work, 'bc2'), 'spawner-default'],
      project,
    );
    assert.equal(sp.stdout.trim(), '10.99.0.2/24');
  });
});

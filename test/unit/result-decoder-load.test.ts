// zod and the engine: results are decoded without it (it cost 60-90 ms on the first ADD), so an
// install or bundle without zod still runs every plugin operation; the runtime's typed capabilities
// need it, and a zod that cannot be loaded there is the library's error (LibraryLoadError).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ensureFixtureModes, FIXTURE_PLUGIN_DIR } from '../helpers/fixtures.ts';

const INDEX = new URL('../../src/index.ts', import.meta.url).href;

/** A loader hook that makes `zod` unresolvable, as in a bundle that left it out. */
const NO_ZOD_HOOK = `data:text/javascript,${encodeURIComponent(`
export async function resolve(specifier, context, next) {
  if (specifier === 'zod' || specifier.startsWith('zod/')) {
    const e = new Error("Cannot find package 'zod'");
    e.code = 'ERR_MODULE_NOT_FOUND';
    throw e;
  }
  return next(specifier, context);
}`)}`;
/** The same for require(), which the ESM hooks do not see on Node 20. */
const NO_ZOD_REQUIRE = `
const Module = require('node:module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === 'zod' || request.startsWith('zod/')) {
    const e = new Error("Cannot find module 'zod'");
    e.code = 'MODULE_NOT_FOUND';
    throw e;
  }
  return resolve.call(this, request, ...rest);
};`;
const REGISTER_NO_ZOD = `data:text/javascript,${encodeURIComponent(
  `import { register } from 'node:module'; register(${JSON.stringify(NO_ZOD_HOOK)});`,
)}`;

/** Run `code` as a module in a fresh Node with tsx and no zod to be found, by import or require. */
function runWithoutZod(code: string): { status: number | null; out: unknown; stderr: string } {
  const cache = mkdtempSync(path.join(os.tmpdir(), 'libcni-decoder-load-'));
  try {
    const noRequire = path.join(cache, 'no-zod.cjs');
    writeFileSync(noRequire, NO_ZOD_REQUIRE);
    const args = ['--require', noRequire, '--import', 'tsx', '--import', REGISTER_NO_ZOD];
    const r = spawnSync(process.execPath, [...args, '--input-type=module', '-e', code], {
      encoding: 'utf8',
      env: { ...process.env, TEST_CACHE: path.join(cache, 'cache'), TEST_PLUGINS: FIXTURE_PLUGIN_DIR },
      timeout: 120_000,
    });
    let out: unknown;
    try {
      out = JSON.parse(r.stdout);
    } catch {
      out = r.stdout;
    }
    return { status: r.status, out, stderr: r.stderr };
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

test('without zod, results decode at once and a list is added, checked and deleted', async () => {
  await ensureFixtureModes();
  const { status, out, stderr } = runWithoutZod(`
    const m = await import(${JSON.stringify(INDEX)});
    const decoded = m.normalizeResult({ cniVersion: '1.0.0', ips: [{ address: '10.1.2.3/24' }] });
    const cni = new m.CNIConfig({ path: [process.env.TEST_PLUGINS], cacheDir: process.env.TEST_CACHE });
    const list = m.networkConfFromBytes(JSON.stringify({ cniVersion: '1.0.0', name: 'nozod', plugins: [{ type: 'instant' }, { type: 'instant' }] }));
    const rt = { containerId: 'nozod', netns: '/var/run/netns/none', ifName: 'eth0' };
    const added = await cni.addNetworkList(list, rt);
    await cni.checkNetworkList(list, rt);
    await cni.delNetworkList(list, rt);
    console.log(JSON.stringify({ decoded, added: added.cniVersion, left: await cni.getCachedAttachments() }));
  `);
  assert.equal(status, 0, stderr);
  assert.deepEqual(out, {
    decoded: { cniVersion: '1.0.0', ips: [{ address: '10.1.2.3/24' }] },
    added: '1.1.0', // the instant fixture answers in its own version, which is kept (Go's rule)
    left: [],
  });
});

test('without zod, typed capabilities fail with LibraryLoadError naming zod', () => {
  const { status, out, stderr } = runWithoutZod(`
    const m = await import(${JSON.stringify(INDEX)});
    try {
      m.validateCapabilities({ portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] });
      console.log(JSON.stringify({ ok: true }));
    } catch (e) {
      console.log(JSON.stringify({ name: e.name, isLoadError: e instanceof m.LibraryLoadError, module: e.module, message: e.message }));
    }
  `);
  assert.equal(status, 0, stderr);
  const r = out as { name: string; isLoadError: boolean; module: string; message: string };
  assert.equal(r.isLoadError, true, JSON.stringify(r));
  assert.equal(r.module, 'zod');
  assert.match(r.message, /^libcni could not load its dependency zod: /);
});

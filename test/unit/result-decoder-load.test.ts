// How the result decoder (zod) is loaded: not with the library, asynchronously, and a failure to load
// it is the library's error (LibraryLoadError), never blamed on the plugin that ran.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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
const REGISTER_NO_ZOD = `data:text/javascript,${encodeURIComponent(
  `import { register } from 'node:module'; register(${JSON.stringify(NO_ZOD_HOOK)});`,
)}`;

function runChild(
  code: string,
  extraImports: string[] = [],
): { status: number | null; out: unknown; stderr: string } {
  const cache = mkdtempSync(path.join(os.tmpdir(), 'libcni-decoder-load-'));
  try {
    const args = ['--import', 'tsx', ...extraImports.flatMap((i) => ['--import', i])];
    const r = spawnSync(process.execPath, [...args, '--input-type=module', '-e', code], {
      encoding: 'utf8',
      env: { ...process.env, TEST_CACHE: cache, TEST_PLUGINS: FIXTURE_PLUGIN_DIR },
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

test('the synchronous decoders refuse before loadResultDecoder(), and work after it', () => {
  const { status, out, stderr } = runChild(`
    const m = await import(${JSON.stringify(INDEX)});
    const attempt = () => { try { m.normalizeResult({ cniVersion: '1.0.0' }); return 'decoded'; } catch (e) { return e.name; } };
    const before = attempt();
    await m.loadResultDecoder();
    console.log(JSON.stringify([before, attempt()]));
  `);
  assert.equal(status, 0, stderr);
  assert.deepEqual(out, ['LibraryLoadError', 'decoded']);
});

test('a zod that cannot be loaded fails the ADD with LibraryLoadError before any plugin runs', async () => {
  await ensureFixtureModes();
  const { status, out, stderr } = runChild(
    `
    const m = await import(${JSON.stringify(INDEX)});
    const cni = new m.CNIConfig({ path: [process.env.TEST_PLUGINS], cacheDir: process.env.TEST_CACHE });
    const list = m.networkConfFromBytes(JSON.stringify({ cniVersion: '1.0.0', name: 'nozod', plugins: [{ type: 'instant' }] }));
    try {
      await cni.addNetworkList(list, { containerId: 'nozod', netns: '/var/run/netns/none', ifName: 'eth0' });
      console.log(JSON.stringify({ ok: true }));
    } catch (e) {
      let inner = e;
      while (inner && !(inner instanceof m.LibraryLoadError) && inner.cause) inner = inner.cause;
      const chain = [];
      for (let x = e; x; x = x.cause) chain.push(x.name);
      console.log(JSON.stringify({ chain, module: inner?.module, message: e.message, pluginInChain: chain.includes('PluginError') }));
    }
  `,
    [REGISTER_NO_ZOD],
  );
  assert.equal(status, 0, stderr);
  const r = out as { chain: string[]; module: string; message: string; pluginInChain: boolean };
  assert.ok(r.chain.includes('LibraryLoadError'), JSON.stringify(r));
  assert.equal(r.module, 'zod');
  assert.equal(r.pluginInChain, false, JSON.stringify(r));
  assert.doesNotMatch(r.message, /returned an invalid result/);
});

test('constructing CNIConfig starts loading the decoder in the background, as ESM (no require)', () => {
  const { status, out, stderr } = runChild(`
    import { createRequire } from 'node:module';
    const required = () => Object.keys(createRequire(process.cwd() + '/').cache).some((k) => k.includes('/zod/'));
    const m = await import(${JSON.stringify(INDEX)});
    new m.CNIConfig({ path: [process.env.TEST_PLUGINS], cacheDir: process.env.TEST_CACHE });
    // No operation and no explicit load: only the constructor can have started it.
    // Polled (never timed): it only has to happen, however slow the machine.
    let last = 'not tried';
    for (let i = 0; i < 1200; i++) {
      try { m.normalizeResult({ cniVersion: '1.0.0' }); last = 'decoded'; break; }
      catch (e) { last = e.name; await new Promise((r) => setTimeout(r, 50)); }
    }
    console.log(JSON.stringify([last, required()]));
  `);
  assert.equal(status, 0, stderr);
  assert.deepEqual(out, ['decoded', false]);
});

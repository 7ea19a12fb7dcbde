// Logging built on the diagnostics channels: NODE_DEBUG=libcni, and messages that serialize well.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ensureFixtureModes, FIXTURE_PLUGIN_DIR } from '../helpers/fixtures.ts';

const INDEX = new URL('../../src/index.ts', import.meta.url).href;

/** One ADD through the `instant` fixture in a child process; `code` runs after it with `events`. */
function runAdd(
  env: Record<string, string>,
  after = '',
): { status: number | null; stdout: string; stderr: string } {
  const cache = mkdtempSync(path.join(os.tmpdir(), 'libcni-diag-log-'));
  try {
    const code = `
      import { subscribe } from 'node:diagnostics_channel';
      const events = [];
      if (process.env.TEST_SUBSCRIBE) {
        subscribe('tracing:libcni:plugin:asyncEnd', (m) => events.push(JSON.stringify(m)));
        subscribe('tracing:libcni:operation:asyncEnd', (m) => events.push(JSON.stringify(m)));
      }
      const m = await import(${JSON.stringify(INDEX)});
      const cni = new m.CNIConfig({ path: [process.env.TEST_PLUGINS], cacheDir: process.env.TEST_CACHE });
      const list = m.networkConfFromBytes(JSON.stringify({ cniVersion: '1.0.0', name: 'diaglog', plugins: [{ type: 'instant' }] }));
      await cni.addNetworkList(list, { containerId: 'diaglog', netns: '/var/run/netns/none', ifName: 'eth0' });
      ${after}
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      encoding: 'utf8',
      env: { ...process.env, NODE_DEBUG: '', TEST_CACHE: cache, TEST_PLUGINS: FIXTURE_PLUGIN_DIR, ...env },
      timeout: 120_000,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

test('NODE_DEBUG=libcni logs every plugin call and operation on stderr', async () => {
  await ensureFixtureModes();
  const r = runAdd({ NODE_DEBUG: 'libcni' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /LIBCNI \d+: plugin ADD instant net=diaglog ctr=diaglog if=eth0 exit=0 [\d.]+ms/);
  assert.match(r.stderr, /LIBCNI \d+: operation ADD net=diaglog ctr=diaglog if=eth0 ok [\d.]+ms/);
  const quiet = runAdd({});
  assert.equal(quiet.status, 0, quiet.stderr);
  assert.doesNotMatch(quiet.stderr, /LIBCNI/);
});

test('channel messages serialize as JSON: text output, not Buffers; durations with at most 3 decimals', async () => {
  await ensureFixtureModes();
  const r = runAdd({ TEST_SUBSCRIBE: '1' }, 'console.log(JSON.stringify(events));');
  assert.equal(r.status, 0, r.stderr);
  const events = (JSON.parse(r.stdout) as string[]).map((e) => JSON.parse(e) as Record<string, unknown>);
  const plugin = events.find((e) => e.pluginPath !== undefined) as {
    result: { stdout: unknown; stderr: unknown };
    durationMs: number;
    stderr: unknown;
  };
  assert.equal(typeof plugin.result.stdout, 'string');
  assert.match(plugin.result.stdout as string, /"cniVersion":"1.1.0"/);
  assert.equal(plugin.stderr, '');
  for (const e of events) {
    const d = String(e.durationMs);
    assert.match(d, /^\d+(\.\d{1,3})?$/, `durationMs ${d}`);
  }
});

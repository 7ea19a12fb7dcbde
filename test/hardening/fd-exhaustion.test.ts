// Out of file descriptors, a plugin call must fail on its own (a typed PluginSpawnError naming
// EMFILE), never throw from an event handler and take the embedding process down; once descriptors
// are free again the next call works. Run in a child with a low RLIMIT_NOFILE (`ulimit -n`).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '../..');

// The child fills its descriptor table, calls spawnPlugin, frees the descriptors and calls again.
const CHILD = `
import { openSync, closeSync } from 'node:fs';
import { spawnPlugin } from ${JSON.stringify(path.join(ROOT, 'src/invoke/spawn-plugin.ts'))};
import { PluginSpawnError } from ${JSON.stringify(path.join(ROOT, 'src/core/errors.ts'))};
process.on('uncaughtException', (e) => { console.log(JSON.stringify({ uncaught: String(e) })); process.exit(3); });
const env = { PATH: '/usr/bin:/bin', CNI_COMMAND: 'VERSION' };
const held = [];
try { for (;;) held.push(openSync('/dev/null', 'r')); } catch {}
let first;
try { await spawnPlugin('/bin/true', new Uint8Array(), env, { busyRetry: { attempts: 1 } }); first = { ok: true }; }
catch (e) { first = { name: e.name, typed: e instanceof PluginSpawnError, errno: e.errno, message: e.message }; }
for (const fd of held) closeSync(fd);
await new Promise((r) => setTimeout(r, 50));
let second;
try { const out = await spawnPlugin('/bin/true', new Uint8Array(), env); second = { ok: true, exitCode: out.exitCode }; }
catch (e) { second = { error: String(e) }; }
console.log(JSON.stringify({ first, second }));
`;

test('EMFILE at spawn fails that call with PluginSpawnError; the process survives and the next call works', () => {
  const r = spawnSync(
    'bash',
    ['-c', `ulimit -n 64 && exec "${process.execPath}" --import tsx --input-type=module -e "$CHILD"`],
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CHILD }, timeout: 60_000 },
  );
  const line = r.stdout.trim().split('\n').pop() ?? '';
  assert.equal(r.status, 0, `child exited ${String(r.status)}: ${r.stdout}${r.stderr}`);
  const out = JSON.parse(line) as { first: Record<string, unknown>; second: Record<string, unknown> };
  assert.equal(out.first.typed, true, JSON.stringify(out.first));
  assert.equal(out.first.errno, 'EMFILE');
  assert.deepEqual(out.second, { ok: true, exitCode: 0 });
});

// cnitool as a process, signalled while a plugin runs: the plugin is killed and cnitool exits
// 128 + the signal (SIGTERM 143, SIGINT 130). Runs src/cli/main.ts through tsx, so it needs neither
// root nor a build: a fake plugin that never answers and /proc/self/ns/net as the namespace.
import { spawn } from 'node:child_process';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT } from './cli-support.ts';

const MAIN = path.join(ROOT, 'src/cli/main.ts');

// Writes its pid (the sleep's, after exec) where the test looks for it, then never answers.
const SLOW_PLUGIN = `#!/bin/sh
echo $$ > "$(dirname "$0")/started.tmp" && mv "$(dirname "$0")/started.tmp" "$(dirname "$0")/started"
exec sleep 60
`;

let tmp = '';

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'libcni-cli-signals-'));
  await fs.mkdir(path.join(tmp, 'bin'));
  await fs.mkdir(path.join(tmp, 'conf'));
  await fs.writeFile(path.join(tmp, 'bin', 'slow'), SLOW_PLUGIN, { mode: 0o755 });
  await fs.writeFile(
    path.join(tmp, 'conf', '10-slow.conflist'),
    JSON.stringify({ cniVersion: '1.0.0', name: 'slownet', plugins: [{ type: 'slow' }] }),
  );
});

after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

/** The process exists and is not a zombie (one left unreaped counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Run `cnitool add slownet /proc/self/ns/net ...extra`, send `signal` once the plugin runs. */
async function interrupted(signal: NodeJS.Signals, extra: string[] = []) {
  const started = path.join(tmp, 'bin', 'started');
  await fs.rm(started, { force: true });
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', MAIN, 'add', 'slownet', '/proc/self/ns/net', ...extra],
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        NETCONFPATH: path.join(tmp, 'conf'),
        CNI_PATH: path.join(tmp, 'bin'),
        CNI_CACHE_DIR: path.join(tmp, 'cache'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, sig) => {
      resolve({ code, signal: sig });
    });
  });
  // Wait until the plugin runs (tsx start-up on a busy machine can take seconds).
  const deadline = Date.now() + 60_000;
  while (!existsSync(started)) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`cnitool ended before the plugin started: ${stderr}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the plugin never started: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const pluginPid = Number((await fs.readFile(started, 'utf8')).trim());
  assert.ok(alive(pluginPid), 'the plugin is running');
  child.kill(signal);
  const { code, signal: killedBy } = await closed;
  return { code, killedBy, stdout, stderr, pluginPid };
}

describe('cnitool and signals', () => {
  test('SIGTERM kills the running plugin and exits 143 (128 + 15)', async () => {
    const r = await interrupted('SIGTERM');
    assert.equal(r.killedBy, null, 'cnitool handled the signal and exited by itself');
    assert.equal(r.code, 143, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /aborted/);
    assert.equal(alive(r.pluginPid), false, 'the plugin was killed');
  });

  test('with --json the error object says 999, not 0', async () => {
    const r = await interrupted('SIGTERM', ['--json']);
    assert.equal(r.code, 143, r.stderr);
    const obj = JSON.parse(r.stderr) as { code: number; msg: string };
    assert.equal(obj.code, 999);
    assert.match(obj.msg, /aborted/);
  });

  test('SIGINT (Ctrl-C) exits 130 (128 + 2)', async () => {
    const r = await interrupted('SIGINT');
    assert.equal(r.killedBy, null);
    assert.equal(r.code, 130, r.stderr);
    assert.equal(alive(r.pluginPid), false, 'the plugin was killed');
  });
});

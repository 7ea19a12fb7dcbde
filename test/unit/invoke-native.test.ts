// NativeExec beyond what invoke-exec.test.ts checks for every Exec: that calls really go through
// its addon (the default) or its C helper, many at once; what happens when the helper dies under a
// call; and the fallbacks (addon → helper → DefaultExec) where a back end is unavailable. The shared guarantees (process-group kill, bounded
// output, ETXTBSY retry, exact env, stdin EPIPE, spawn errors) run against it in invoke-exec.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { PluginError } from '../../src/core/errors.ts';
import { SpawnerError } from '../../src/core/runtime-errors.ts';
import { CNIConfig } from '../../src/cni/config.ts';
import { defaultNativeAddonPath, loadNativeBinding } from '../../src/core/native-binding.ts';
import { NativeExec, sharedNativeExec } from '../../src/invoke/native-exec.ts';
import { isRunning, makePluginDir, type PluginDir } from '../helpers/fixtures.ts';

const STDIN = Buffer.from('{"cniVersion":"1.0.0","name":"native-test"}');
const env = (command: string): Record<string, string> => ({ CNI_COMMAND: command, PATH: '/usr/bin:/bin' });

describe('NativeExec through its addon (the default)', () => {
  let plugins: PluginDir;
  let exec: NativeExec;
  before(async () => {
    plugins = await makePluginDir({ fake: 'fake' });
    exec = new NativeExec();
  });
  after(async () => {
    await exec.close();
    await plugins.cleanup();
  });

  test('uses the addon: the plugin is a child of this process, in its own session, in our cwd', async () => {
    // The addon is built by `npm ci` (scripts/build-native.mjs); without it this suite and
    // invoke-exec.test.ts would silently test the helper instead.
    assert.equal(exec.backend, 'addon', 'native/build/cni_spawn.node is built (npm ci / build:native)');
    await plugins.writePlan('fake', { ADD: { result: '{"via":"addon"}' } });
    const out = await exec.execPlugin(plugins.path('fake'), STDIN, env('ADD'));
    assert.equal(out.stdout.toString(), '{"via":"addon"}');
    assert.equal(exec.helperPid, undefined, 'no helper process');
    const call = (await plugins.calls('fake')).at(-1)!;
    assert.equal(call.ppid, process.pid);
    assert.equal(call.sid, call.pid);
    assert.equal(call.cwd, process.cwd());
  });

  test('a path or variable with NUL is refused before anything runs (C strings would cut it short)', async () => {
    const before = (await plugins.calls('fake')).length;
    await assert.rejects(exec.execPlugin(`${plugins.path('fake')}\0x`, STDIN, env('ADD')), /EINVAL/);
    await assert.rejects(
      exec.execPlugin(plugins.path('fake'), STDIN, { ...env('ADD'), X: 'a\0b' }),
      /EINVAL/,
    );
    assert.equal((await plugins.calls('fake')).length, before);
  });

  test('CNIConfig uses the addon by default', async () => {
    const cni = new CNIConfig({ path: [path.dirname(plugins.path('fake'))] });
    await plugins.writePlan('fake', { VERSION: { version: ['1.0.0'] } });
    await cni.getVersionInfo('fake');
    const call = (await plugins.calls('fake')).at(-1)!;
    assert.equal(call.ppid, process.pid, 'started from this process, no helper in between');
    assert.equal(sharedNativeExec().backend, 'addon');
  });

  test('a worker thread ended with a plugin in flight: its handles are closed, this process lives on', async () => {
    const slow = path.join(plugins.root, 'slow');
    await writeFile(slow, '#!/bin/sh\nsleep 1\n', { mode: 0o755 });
    // The addon's environment teardown (an async cleanup hook) must close the loop handles it
    // holds, or Node aborts when the worker's loop is closed.
    const code = `
      const addon = require(${JSON.stringify(defaultNativeAddonPath())});
      const pid = addon.spawn(${JSON.stringify(slow)}, Buffer.alloc(0), Buffer.alloc(0), 1024, 1024, () => {});
      require('node:worker_threads').parentPort.postMessage(pid);`;
    for (const end of ['terminate', 'exit'] as const) {
      const w = new Worker(end === 'exit' ? `${code}; setTimeout(() => process.exit(0), 20)` : code, {
        eval: true,
      });
      const pid = await new Promise<number>((resolve) => w.once('message', resolve));
      assert.ok(pid > 0);
      const code2 = end === 'terminate' ? await w.terminate() : await new Promise((r) => w.once('exit', r));
      assert.equal(typeof code2, 'number');
    }
    // Still working afterwards.
    await plugins.writePlan('fake', { ADD: { result: '{"after":"worker"}' } });
    const out = await exec.execPlugin(plugins.path('fake'), STDIN, env('ADD'));
    assert.equal(out.stdout.toString(), '{"after":"worker"}');
  });

  test('a running plugin keeps the process alive, past the pipe-watch delay; an idle addon does not', () => {
    // Nothing else holds the child's event loop: if the addon's poll handle were not referenced
    // while a plugin runs, Node would exit before the answer came (the timer that first watches a
    // call has fired after 100 ms); once answered, the process must end on its own.
    const code = `
      const addon = require(${JSON.stringify(defaultNativeAddonPath())});
      const env = Buffer.from('PATH=/usr/bin:/bin\\0');
      addon.spawn('/bin/sh', env, Buffer.from('sleep 0.4; echo late'), 1024, 1024, (kind, status, out) => {
        process.stdout.write('answer:' + kind + ':' + status + ':' + out);
      });`;
    const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.error, undefined);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'answer:2:0:late\n');
  });

  test('the environment as one block: exactly its variables, an empty block is an empty environment, a block not ending in NUL is refused', async () => {
    const binding = loadNativeBinding(defaultNativeAddonPath());
    assert.equal(binding.envBlock, true);
    const envOf = (block: Uint8Array): Promise<string> =>
      new Promise((resolve) => {
        binding.spawn('/usr/bin/env', block, Buffer.alloc(0), 4096, 4096, (kind, _status, out) => {
          if (kind === 2) resolve(out?.toString() ?? '');
        });
      });
    assert.equal(await envOf(Buffer.from('A=1\0B=two words\0C=\0')), 'A=1\nB=two words\nC=\n');
    assert.equal(await envOf(Buffer.alloc(0)), '');
    assert.throws(() => binding.spawn('/usr/bin/env', Buffer.from('A=1'), Buffer.alloc(0), 1, 1, () => {}), {
      message: 'spawn: the environment block must end with NUL',
    });
  });

  test('an addon that cannot be loaded: the helper process is used', async () => {
    const e = new NativeExec({ addonPath: path.join(plugins.root, 'no-such.node') });
    assert.equal(e.backend, 'helper');
    await plugins.writePlan('fake', { ADD: { result: '{"via":"helper"}' } });
    const out = await e.execPlugin(plugins.path('fake'), STDIN, env('ADD'));
    assert.equal(out.stdout.toString(), '{"via":"helper"}');
    assert.equal((await plugins.calls('fake')).at(-1)!.ppid, e.helperPid);
    await e.close();
  });
});

describe('NativeExec through its helper process', () => {
  let plugins: PluginDir;
  let exec: NativeExec;
  before(async () => {
    plugins = await makePluginDir({ fake: 'fake', instant: 'instant', sleep: 'sleep' });
    exec = new NativeExec({ addonPath: false });
  });
  after(async () => {
    await exec.close();
    await plugins.cleanup();
  });

  test('uses its helper: the plugin is the helper child, in its own session, in our cwd', async () => {
    await plugins.writePlan('fake', { ADD: { result: '{"via":"native"}' } });
    const out = await exec.execPlugin(plugins.path('fake'), STDIN, env('ADD'));
    assert.equal(out.stdout.toString(), '{"via":"native"}');
    assert.equal(exec.fallbackReason, undefined, 'the helper binary is built (npm ci / build:native)');
    assert.equal(exec.backend, 'helper');
    const call = (await plugins.calls('fake')).at(-1)!;
    assert.ok(exec.helperPid !== undefined && exec.helperPid !== process.pid);
    assert.equal(call.ppid, exec.helperPid, 'started by the helper, not by a fork of Node');
    assert.equal(call.sid, call.pid);
    assert.equal(call.cwd, process.cwd());
  });

  test('helper killed mid-call: the call fails (SpawnerError cause), its plugin group is killed, the next call works', async () => {
    await plugins.writePlan('fake', { ADD: { delayMs: 60_000, grandchild: true } });
    const seen = (await plugins.calls('fake')).length;
    const pending = exec.execPlugin(plugins.path('fake'), STDIN, env('ADD'));
    for (let i = 0; i < 250 && (await plugins.calls('fake')).length === seen; i++) await sleep(20);
    const call = (await plugins.calls('fake')).at(-1)!;
    const helper = exec.helperPid!;
    process.kill(helper, 'SIGKILL');
    await assert.rejects(pending, (err: unknown) => {
      assert.ok(err instanceof PluginError);
      assert.ok(err.cause instanceof SpawnerError);
      assert.equal(err.cause.signal, 'SIGKILL');
      assert.match(
        err.message,
        /native spawner helper \(pid \d+\) was killed by SIGKILL; the plugin may have run/,
      );
      return true;
    });
    for (let i = 0; i < 100 && (isRunning(call.pid) || isRunning(call.grandchildPid!)); i++) await sleep(20);
    assert.equal(isRunning(call.pid), false, 'plugin killed');
    assert.equal(isRunning(call.grandchildPid!), false, 'grandchild killed');

    await plugins.writePlan('fake', { ADD: { result: '{"again":true}' } });
    const out = await exec.execPlugin(plugins.path('fake'), STDIN, env('ADD'));
    assert.equal(out.stdout.toString(), '{"again":true}');
    assert.ok(exec.helperPid !== undefined && exec.helperPid !== helper, 'a new helper');
    assert.equal(exec.fallbackReason, undefined, 'a helper that died is restarted, not given up on');
  });
});

// What both back ends must do alike, beyond invoke-exec.test.ts.
for (const [name, make] of [
  ['addon', () => new NativeExec()],
  ['helper process', () => new NativeExec({ addonPath: false })],
] as const) {
  describe(`NativeExec through its ${name}: descriptors and concurrency`, () => {
    let plugins: PluginDir;
    let exec: NativeExec;
    before(async () => {
      plugins = await makePluginDir({});
      exec = make();
    });
    after(async () => {
      await exec.close();
      await plugins.cleanup();
    });

    test('the plugin inherits no file descriptor but its three pipes', async () => {
      const lsfd = path.join(plugins.root, 'lsfd');
      // The shell lists its own fds; anything leaked to it would show up there.
      await writeFile(lsfd, '#!/bin/sh\nexec ls /proc/self/fd\n', { mode: 0o755 });
      const out = await exec.execPlugin(lsfd, STDIN, env('VERSION'));
      // `ls` itself opens one fd for the directory it lists.
      const fds = out.stdout.toString().trim().split(/\s+/).map(Number);
      assert.deepEqual(
        fds.filter((fd) => fd <= 2),
        [0, 1, 2],
      );
      assert.ok(fds.length <= 4, `unexpected fds: ${fds.join(' ')}`);
    });

    test('each plugin runs in our working directory of the moment (the spawn setup is reused only while it matches)', async () => {
      const pwd = path.join(plugins.root, 'pwd');
      await writeFile(pwd, '#!/bin/sh\npwd -P\n', { mode: 0o755 });
      const before = process.cwd();
      const where = async (): Promise<string> =>
        (await exec.execPlugin(pwd, STDIN, env('VERSION'))).stdout.toString().trim();
      try {
        const first = await where();
        process.chdir(plugins.root);
        const moved = await where();
        process.chdir(before);
        assert.equal(first, realpathSync(before));
        assert.equal(moved, realpathSync(plugins.root));
        assert.equal(await where(), realpathSync(before));
      } finally {
        process.chdir(before);
      }
    });

    test('runs calls concurrently, each with its own answer', async () => {
      const sleeper = path.join(plugins.root, 'echo-after');
      await writeFile(sleeper, '#!/bin/sh\nsleep 0.3\necho "$CNI_CONTAINERID"\n', { mode: 0o755 });
      const ids = Array.from({ length: 8 }, (_, i) => `c${i}`);
      const started = Date.now();
      const outs = await Promise.all(
        ids.map((id) => exec.execPlugin(sleeper, STDIN, { ...env('ADD'), CNI_CONTAINERID: id })),
      );
      assert.deepEqual(
        outs.map((o) => o.stdout.toString().trim()),
        ids,
      );
      // Not a timing test of speed: 8 × 0.3 s one after the other would take 2.4 s at least.
      assert.ok(Date.now() - started < 2400, 'the calls overlapped');
    });
  });
}

describe('NativeExec fallback to DefaultExec', () => {
  let plugins: PluginDir;
  before(async () => {
    plugins = await makePluginDir({ fake: 'fake' });
  });
  after(() => plugins.cleanup());

  test('a missing helper binary: calls run through DefaultExec', async () => {
    const exec = new NativeExec({ helperPath: path.join(plugins.root, 'no-such-helper') });
    await plugins.writePlan('fake', { ADD: { result: '{"via":"fallback"}' } });
    const out = await exec.execPlugin(plugins.path('fake'), STDIN, env('ADD'));
    assert.equal(out.stdout.toString(), '{"via":"fallback"}');
    assert.match(exec.fallbackReason ?? '', /cannot run .*no-such-helper: ENOENT/);
    assert.equal((await plugins.calls('fake')).at(-1)!.ppid, process.pid);
    assert.equal(exec.helperPid, undefined);
  });

  test('a helper that exits at once (never READY): the call runs once through DefaultExec', async () => {
    const exec = new NativeExec({ helperPath: '/bin/false' });
    await plugins.writePlan('fake', { ADD: { result: '{"once":true}' } });
    const before = (await plugins.calls('fake')).length;
    const out = await exec.execPlugin(plugins.path('fake'), STDIN, env('ADD'));
    assert.equal(out.stdout.toString(), '{"once":true}');
    assert.match(
      exec.fallbackReason ?? '',
      /did not start: native spawner helper \(pid \d+\) exited with status 1/,
    );
    assert.equal((await plugins.calls('fake')).length, before + 1, 'run exactly once');
    // And every later call goes straight to DefaultExec.
    await exec.execPlugin(plugins.path('fake'), STDIN, env('ADD'));
    assert.equal((await plugins.calls('fake')).at(-1)!.ppid, process.pid);
  });

  test('LIBCNI_NATIVE_SPAWNER=helper: the helper process, not the addon', () => {
    const module = fileURLToPath(new URL('../../src/invoke/native-exec.ts', import.meta.url));
    const script = `
      const { NativeExec } = await import(${JSON.stringify(module)});
      const e = new NativeExec();
      await e.execPlugin(${JSON.stringify(plugins.path('fake'))}, Buffer.from('{}'), { CNI_COMMAND: 'ADD' });
      console.log(e.backend, e.helperPid !== undefined);
      await e.close();`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, LIBCNI_NATIVE_SPAWNER: 'helper' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'helper true');
  });

  test('LIBCNI_NATIVE_SPAWNER: off, or a bad path, falls back with one NODE_DEBUG=libcni line', () => {
    const module = fileURLToPath(new URL('../../src/invoke/native-exec.ts', import.meta.url));
    const script = `
      const { NativeExec } = await import(${JSON.stringify(module)});
      const e = new NativeExec();
      const env = { CNI_COMMAND: 'ADD', PATH: '/usr/bin:/bin' };
      for (let i = 0; i < 3; i++) await e.execPlugin(${JSON.stringify(plugins.path('fake'))}, Buffer.from('{}'), env);
      console.log(JSON.stringify(e.fallbackReason));`;
    for (const [value, reason] of [
      ['off', 'LIBCNI_NATIVE_SPAWNER=off'],
      ['/nonexistent/cni-spawn', 'cannot run /nonexistent/cni-spawn: ENOENT'],
    ] as const) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        env: { ...process.env, NODE_DEBUG: 'libcni', LIBCNI_NATIVE_SPAWNER: value },
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(reason.replace(/[/.]/g, '\\$&')));
      const lines = r.stderr.split('\n').filter((l) => l.includes('native spawner unavailable'));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /^LIBCNI \d+: native spawner unavailable \(.*\); using DefaultExec$/);
    }
  });
});

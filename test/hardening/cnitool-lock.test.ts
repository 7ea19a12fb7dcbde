/**
 * Issue 16, item 10: cnitool takes the container lock NetworkManager takes. A manager's ADD is held
 * open on a gate; a `cnitool del` for the same container is started. The gate opens only once
 * cnitool is seen contending for the lock (its private claim directory appears in `locks/`) or,
 * without a lock, once its DEL has reached the plugin; then the plugin's ledger must show the DEL
 * beginning after the ADD ended. Fixture plugin, no root needed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { watch, promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { NetworkManager } from '../../src/runtime/manager.ts';
import { makeRuntimeSandbox, type RuntimeSandbox } from '../helpers/runtime-plugins.ts';

const MAIN = path.resolve(import.meta.dirname, '../../src/cli/main.ts');

describe('cnitool and NetworkManager on one container', () => {
  let sb: RuntimeSandbox;
  let gate: string;
  before(async () => {
    sb = await makeRuntimeSandbox();
    gate = path.join(sb.root, 'gate');
    await sb.writeNetwork('10-gated.conflist', 'gated', { twait: gate });
  });
  after(() => sb.cleanup());

  test('a cnitool del waits for the manager ADD in flight on the same container', {
    timeout: 120_000,
  }, async (t) => {
    const manager = new NetworkManager({
      confDir: sb.confDir,
      pluginDirs: [sb.pluginDir],
      cacheDir: sb.cacheDir,
    });
    await manager.start();
    const state = { stop: false };
    try {
      const setup = manager.setup('ctr1', '/run/netns/libcni-test-ctr1');
      // The ADD has begun (and waits for the gate), so the manager holds the container's lock.
      while (!(await sb.calls(true)).some((c) => c.cmd === 'ADD')) await sleep(10);
      const locks = path.join(sb.cacheDir, 'locks');
      const cli = spawn(
        process.execPath,
        ['--import', 'tsx', MAIN, 'del', 'gated', '/run/netns/libcni-test-ctr1'],
        {
          env: {
            ...process.env,
            NETCONFPATH: sb.confDir,
            CNI_PATH: sb.pluginDir,
            CNI_CACHE_DIR: sb.cacheDir,
            CNI_CONTAINERID: 'ctr1',
          },
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let stderr = '';
      cli.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const exited = new Promise<number | null>((resolve) => cli.once('exit', resolve));
      const contending = new Promise<void>((resolve) => {
        const w = watch(locks, (_event, name) => {
          if (name?.startsWith(`.tmp-${String(cli.pid)}-`)) {
            w.close();
            resolve();
          }
        });
        void exited.then(() => {
          w.close();
        });
      });
      const delReached = (async () => {
        while (!state.stop && !(await sb.calls(true)).some((c) => c.cmd === 'DEL')) await sleep(20);
      })();
      const first = await Promise.race([
        contending.then(() => 'cnitool contends for the lock'),
        delReached.then(() => 'the DEL reached the plugin'),
        exited.then(() => 'cnitool exited'),
      ]);
      t.diagnostic(`gate opened when ${first}`);
      await fs.writeFile(gate, '');
      await setup;
      assert.equal(await exited, 0, `cnitool del failed: ${stderr}`);
      const calls = (await sb.calls(true)).map((c) => `${c.cmd} ${c.phase}`);
      assert.deepEqual(calls, ['ADD begin', 'ADD end', 'DEL begin', 'DEL end'], 'the DEL ran inside the ADD');
      assert.deepEqual(await fs.readdir(locks), [], 'no lock left behind');
    } finally {
      state.stop = true;
      await fs.writeFile(gate, '').catch(() => undefined);
      await manager.close();
    }
  });
});

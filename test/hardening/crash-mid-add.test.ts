/**
 * Issue 16, item 7: a process killed (SIGKILL) while network 2 of a setup is in its ADD. The plugin
 * goes on and makes its attachment, but the process that would cache the result is gone. A fresh
 * process must still find that attachment and DEL it: through NetworkManager.gc, CNIConfig's
 * gcNetworkList, and a teardown after network 2's config file was removed. Before the fix nothing
 * was cached for network 2 until its ADD returned, so each of them DELed network 1 only.
 * Fixture plugin with a ledger of its calls, no root needed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { CNIConfig } from '../../src/cni/index.ts';
import { loadNetworkConf } from '../../src/config/load.ts';
import { NetworkManager } from '../../src/runtime/manager.ts';
import { makeRuntimeSandbox, type RecordedCall, type RuntimeSandbox } from '../helpers/runtime-plugins.ts';

const WORKER = fileURLToPath(new URL('./helpers/setup-worker.ts', import.meta.url));
const CID = 'crashed-ctr';

/** ADD and DEL of each network, as `<cmd> <network> <ifName>` (ends only). */
function summary(calls: RecordedCall[]): string[] {
  return calls.map((c) => `${c.cmd} ${String(c.conf.name)} ${c.ifName}`);
}

describe('a process killed in the middle of a setup', () => {
  let sb: RuntimeSandbox;
  let gate: string;
  beforeEach(async () => {
    sb = await makeRuntimeSandbox();
    gate = path.join(sb.root, 'gate');
    await sb.writeNetwork('10-first.conflist', 'first');
    await sb.writeNetwork('20-second.conflist', 'second', { twait: gate });
  });
  afterEach(async () => {
    await fs.writeFile(gate, '').catch(() => undefined);
    await sb.cleanup();
  });

  /** Run a setup in a child, kill it during network 2's ADD, let that ADD finish on its own. */
  async function crashDuringSecondAdd(): Promise<void> {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', WORKER, sb.confDir, sb.pluginDir, sb.cacheDir, CID],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      while (!(await sb.calls(true)).some((c) => c.cmd === 'ADD' && c.conf.name === 'second'))
        await sleep(20);
    } finally {
      child.kill('SIGKILL');
    }
    await exited;
    // The orphaned plugin completes its ADD: an attachment exists that no result was cached for.
    await fs.writeFile(gate, '');
    while ((await sb.calls()).filter((c) => c.cmd === 'ADD').length < 2) await sleep(20);
    assert.deepEqual(summary(await sb.calls()), ['ADD first eth0', 'ADD second eth1']);
  }

  const bothDeleted = ['DEL first eth0', 'DEL second eth1'];

  test('NetworkManager.gc in a fresh process DELs the attachment of network 2 too', {
    timeout: 120_000,
  }, async () => {
    await crashDuringSecondAdd();
    const manager = new NetworkManager({
      confDir: sb.confDir,
      pluginDirs: [sb.pluginDir],
      cacheDir: sb.cacheDir,
      networks: 'all',
    });
    try {
      const report = await manager.gc([]);
      assert.deepEqual(report.errors, []);
    } finally {
      await manager.close();
    }
    const dels = summary((await sb.calls()).filter((c) => c.cmd === 'DEL' && c.cid === CID)).sort();
    assert.deepEqual(dels, bothDeleted);
    assert.deepEqual(await fs.readdir(path.join(sb.cacheDir, 'results')), []);
  });

  test("CNIConfig's gcNetworkList DELs it (as Go's GC would, reading the same entry)", {
    timeout: 120_000,
  }, async () => {
    await crashDuringSecondAdd();
    const cni = new CNIConfig({ path: [sb.pluginDir], cacheDir: sb.cacheDir });
    await cni.gcNetworkList(await loadNetworkConf(sb.confDir, 'second'), { validAttachments: [] });
    const dels = summary((await sb.calls()).filter((c) => c.cmd === 'DEL' && c.cid === CID));
    assert.deepEqual(dels, ['DEL second eth1']);
  });

  test("teardown in a fresh process DELs it even after network 2's config file is gone", {
    timeout: 120_000,
  }, async () => {
    await crashDuringSecondAdd();
    await fs.rm(path.join(sb.confDir, '20-second.conflist'));
    const manager = new NetworkManager({
      confDir: sb.confDir,
      pluginDirs: [sb.pluginDir],
      cacheDir: sb.cacheDir,
      networks: 'all',
    });
    try {
      await manager.teardown(CID, `/run/netns/${CID}`);
    } finally {
      await manager.close();
    }
    const dels = summary((await sb.calls()).filter((c) => c.cmd === 'DEL')).sort();
    assert.deepEqual(dels, bothDeleted);
    assert.deepEqual(await fs.readdir(path.join(sb.cacheDir, 'results')), []);
  });
});

// Where a plugin's stderr goes. Go libcni's default exec copies a successful plugin's stderr to the
// runtime's stderr (pkg/invoke/raw_exec.go); CNIConfig does the same by default, `'ignore'` keeps it
// only for errors, and a listener receives it chunk by chunk with the call it belongs to, for
// successful and failing calls, while errors keep the stderr tail.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { CNIConfig } from '../../src/cni/config.ts';
import type { PluginStderrInfo } from '../../src/cni/stderr.ts';
import { networkConfFromBytes } from '../../src/config/parse.ts';
import { NetworkPluginError, PluginError } from '../../src/core/errors.ts';
import { NetworkManager } from '../../src/runtime/manager.ts';
import { makeRuntimeSandbox, type RuntimeSandbox } from '../helpers/runtime-plugins.ts';

let sb: RuntimeSandbox;
beforeEach(async () => {
  sb = await makeRuntimeSandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

const RT = { containerId: 'c1', netns: '/x', ifName: 'eth0' };

async function list(keys: Record<string, string>) {
  return networkConfFromBytes(await fs.readFile(await sb.writeNetwork('10-a.conflist', 'neta', keys)));
}

describe('a stderr listener', () => {
  it('gets the stderr of successful and failing calls, with the call; errors keep the tail', async () => {
    const seen: Array<{ text: string; info: PluginStderrInfo }> = [];
    const cni = new CNIConfig({
      path: [sb.pluginDir],
      cacheDir: sb.cacheDir,
      stderr: (chunk, info) => seen.push({ text: chunk.toString(), info }),
    });
    await cni.addNetworkList(await list({ tstderr: 'warning: fine' }), RT);
    const err = await cni
      .addNetworkList(await list({ tstderr: 'about to fail', tfail: 'ADD' }), RT)
      .catch((e: unknown) => e);
    assert.ok(err instanceof NetworkPluginError);
    assert.ok(err.cause instanceof PluginError);
    assert.equal(err.cause.exec.stderr, 'about to fail\n');
    assert.deepEqual(
      seen.map((s) => [s.text, s.info.command, s.info.network, s.info.containerId, s.info.ifName]),
      [
        ['warning: fine\n', 'ADD', 'neta', 'c1', 'eth0'],
        ['about to fail\n', 'ADD', 'neta', 'c1', 'eth0'],
      ],
    );
    assert.equal(seen[0]?.info.pluginPath, `${sb.pluginDir}/rtfake`);
  });

  it('is what NetworkManager hands its CNIConfig', async () => {
    await sb.writeNetwork('10-a.conflist', 'neta', { tstderr: 'from the manager' });
    const seen: string[] = [];
    const m = new NetworkManager({
      confDir: sb.confDir,
      pluginDirs: [sb.pluginDir],
      cacheDir: sb.cacheDir,
      stderr: (chunk, info) => seen.push(`${info.command ?? ''} ${chunk.toString()}`),
    });
    await m.setup('c1', '/x');
    await m.teardown('c1', '/x');
    assert.deepEqual(seen, ['ADD from the manager\n', 'DEL from the manager\n']);
  });
});

describe('the default stderr (inherit)', () => {
  async function childStderr(option: string, keys: Record<string, string>): Promise<string> {
    const file = await sb.writeNetwork('10-a.conflist', 'neta', keys);
    const script = [
      "import { readFileSync } from 'node:fs';",
      `import { CNIConfig } from ${JSON.stringify(new URL('../../src/cni/config.ts', import.meta.url).pathname)};`,
      `import { networkConfFromBytes } from ${JSON.stringify(new URL('../../src/config/parse.ts', import.meta.url).pathname)};`,
      'const list = networkConfFromBytes(readFileSync(process.argv[1]));',
      `const cni = new CNIConfig({ path: [${JSON.stringify(sb.pluginDir)}], cacheDir: ${JSON.stringify(sb.cacheDir)}${option} });`,
      "await cni.addNetworkList(list, { containerId: 'c1', netns: '/x', ifName: 'eth0' }).catch(() => {});",
    ].join('\n');
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, file], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    return r.stderr;
  }

  it("copies a successful plugin's stderr to the process's stderr; a failed one's stays in its error, as Go", async () => {
    assert.equal(await childStderr('', { tstderr: 'plugin says hi' }), 'plugin says hi\n');
    assert.equal(await childStderr('', { tstderr: 'plugin failed', tfail: 'ADD' }), '');
  });

  it("'ignore' copies nothing", async () => {
    assert.equal(await childStderr(", stderr: 'ignore'", { tstderr: 'plugin says hi' }), '');
  });
});

// A DEL without the runtime inputs given at ADD: plugins like portmap need the port mappings to
// undo their rules. CNIConfig uses the cached ones when asked (Go never does: default off); cnitool
// does by default and says so on stderr.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type CliIO, runCli } from '../../src/cli/run.ts';
import { CNIConfig } from '../../src/cni/config.ts';
import type { CachedInputsUsed } from '../../src/cni/types.ts';
import { networkConfFromBytes } from '../../src/config/parse.ts';
import { FakeExec } from '../../src/testing.ts';

const PORTS = [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }];
const CONF = {
  cniVersion: '1.0.0',
  name: 'capnet',
  plugins: [{ type: 'capfake', capabilities: { portMappings: true } }],
};

let tmp = '';
before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'libcni-delinputs-'));
});
after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

const runtimeConfigOf = (exec: FakeExec, command: string): unknown =>
  exec.callsOf('capfake', command).at(-1)?.config?.runtimeConfig;

test('CNIConfig: cached inputs only when asked, and the caller is told what was used', async () => {
  const exec = new FakeExec().plugin('capfake', (c) =>
    c.command === 'ADD' ? { result: { cniVersion: '1.0.0' } } : {},
  );
  const cni = new CNIConfig({
    path: ['/fake'],
    cacheDir: path.join(tmp, 'lib-cache'),
    exec,
    cacheSync: 'none',
  });
  const list = networkConfFromBytes(Buffer.from(JSON.stringify(CONF)));
  const rt = { containerId: 'c1', netns: '/run/netns/c1', ifName: 'eth0' };
  await cni.addNetworkList(list, { ...rt, capabilityArgs: { portMappings: PORTS }, args: [['K', 'V']] });

  await cni.delNetworkList(list, rt); // Go's behaviour: what the caller gives, nothing more
  assert.equal(runtimeConfigOf(exec, 'DEL'), undefined);

  await cni.addNetworkList(list, { ...rt, capabilityArgs: { portMappings: PORTS }, args: [['K', 'V']] });
  const told: CachedInputsUsed[] = [];
  await cni.delNetworkList(list, rt, { useCachedInputs: (used) => told.push(used) });
  assert.deepEqual(runtimeConfigOf(exec, 'DEL'), { portMappings: PORTS });
  assert.equal(exec.callsOf('capfake', 'DEL').at(-1)?.env.CNI_ARGS, 'K=V');
  assert.deepEqual(told, [{ args: [['K', 'V']], capabilityArgs: { portMappings: PORTS } }]);
});

test('cnitool del uses the CAP_ARGS cached at ADD and says so', async () => {
  const bin = path.join(tmp, 'bin');
  const conf = path.join(tmp, 'conf');
  await fs.mkdir(bin, { recursive: true });
  await fs.mkdir(conf, { recursive: true });
  // Records each call's command and stdin, one line each.
  await fs.writeFile(
    path.join(bin, 'capfake'),
    `#!/bin/sh\nin=$(cat)\necho "$CNI_COMMAND $in" >> "$(dirname "$0")/calls"\n[ "$CNI_COMMAND" = ADD ] && printf '{"cniVersion":"1.0.0"}'\nexit 0\n`,
    { mode: 0o755 },
  );
  await fs.writeFile(path.join(conf, '10-cap.conflist'), JSON.stringify(CONF));
  let stderr = '';
  const io = (extra: Record<string, string>): CliIO => ({
    stdout: () => undefined,
    stderr: (t) => {
      stderr += t;
    },
    env: { NETCONFPATH: conf, CNI_PATH: bin, CNI_CACHE_DIR: path.join(tmp, 'cli-cache'), ...extra },
    cwd: '/',
    signal: undefined,
  });
  assert.equal(
    await runCli(
      ['add', 'capnet', '/proc/self/ns/net'],
      io({ CAP_ARGS: JSON.stringify({ portMappings: PORTS }) }),
    ),
    0,
    stderr,
  );
  assert.equal(await runCli(['del', 'capnet', '/proc/self/ns/net'], io({})), 0, stderr);
  assert.match(stderr, /using the CAP_ARGS cached at ADD for this DEL/);
  const del = (await fs.readFile(path.join(bin, 'calls'), 'utf8'))
    .split('\n')
    .find((l) => l.startsWith('DEL '));
  assert.deepEqual((JSON.parse(del?.slice(4) ?? '{}') as { runtimeConfig?: unknown }).runtimeConfig, {
    portMappings: PORTS,
  });
});

/**
 * Where a sequential plugin call's time goes in `CNIConfig`, from the outside: the addon's `spawn()`
 * is wrapped (the same module object NativeExec loads), so each call is split into the spawn itself,
 * the plugin's run (spawn returned → exit callback), and the library's JavaScript between one exit
 * callback and the next spawn, within an operation's chain and between two operations. A 3 × noop
 * list, ADD for n containers then DEL for them, as ../shared/bench/vs-go.sh times it.
 *   node --import tsx bench/chain-gaps.ts [--plugin-dir=/tmp/cni-ref] [--n=200] [--rounds=2]
 * (The noop plugin comes from ../shared/ref/build.sh.)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CNIConfig } from '../src/cni/index.ts';
import { loadNetworkConf } from '../src/config/load.ts';
import type { AddonCallback } from '../src/core/native-binding.ts';
import { sharedNativeBinding } from '../src/core/native-binding.ts';

const arg = (name: string, dflt: string): string =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const pluginDir = arg('plugin-dir', '/tmp/cni-ref');
const n = Number(arg('n', '200'));
const rounds = Number(arg('rounds', '2'));

const binding = sharedNativeBinding();
if (binding === undefined) throw new Error('chain-gaps: the addon is not built (npm ci builds it)');

/** What the wrapper saw, one array per measure, in ms. */
const seen = {
  spawn: [] as number[],
  plugin: [] as number[],
  inChain: [] as number[],
  betweenOps: [] as number[],
};
let lastExit = 0;
let opStarted = false;
const spawn = binding.spawn.bind(binding);
binding.spawn = (file, env, stdin, maxOut, maxErr, callback: AddonCallback) => {
  const t0 = performance.now();
  if (lastExit > 0) (opStarted ? seen.betweenOps : seen.inChain).push(t0 - lastExit);
  opStarted = false;
  const pid = spawn(file, env, stdin, maxOut, maxErr, (kind, ...rest) => {
    if (kind !== 1) {
      lastExit = performance.now();
      seen.plugin.push(lastExit - t1);
    }
    callback(kind, ...rest);
  });
  const t1 = performance.now();
  seen.spawn.push(t1 - t0);
  return pid;
};

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] ?? Number.NaN;
};

const dir = mkdtempSync(path.join(os.tmpdir(), 'libcni-chain-gaps-'));
try {
  writeFileSync(
    path.join(dir, 'noop.conflist'),
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'gaps',
      plugins: [{ type: 'noop' }, { type: 'noop' }, { type: 'noop' }],
    }),
  );
  const list = await loadNetworkConf(dir, 'gaps');
  const cni = new CNIConfig({ path: [pluginDir], cacheDir: path.join(dir, 'cache') });
  const rt = (i: number) => ({ containerId: `gaps-${i}`, netns: `/var/run/netns/gaps-${i}`, ifName: 'eth0' });
  for (let r = 1; r <= rounds; r++) {
    for (const k of Object.keys(seen) as Array<keyof typeof seen>) seen[k].length = 0;
    lastExit = 0;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      opStarted = true;
      await cni.addNetworkList(list, rt(i));
    }
    for (let i = 0; i < n; i++) {
      opStarted = true;
      await cni.delNetworkList(list, rt(i));
    }
    const perPair = (performance.now() - t0) / n;
    const f = (x: number) => x.toFixed(3);
    console.log(
      JSON.stringify({
        round: r,
        msPerAddDel: f(perPair),
        spawnP50: f(median(seen.spawn)),
        pluginP50: f(median(seen.plugin)),
        jsInChainP50: f(median(seen.inChain)),
        jsBetweenOpsP50: f(median(seen.betweenOps)),
        jsMsPerAddDel: f(
          (seen.inChain.reduce((a, b) => a + b, 0) + seen.betweenOps.reduce((a, b) => a + b, 0)) / n,
        ),
      }),
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

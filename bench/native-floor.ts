/**
 * Per-call cost of NativeExec's two back ends (its addon, its helper process) against C posix_spawn
 * (../shared/bench/spawn-floor/pspawn.c, or PSPAWN=<binary>) and Node's child_process.spawn, in a
 * parent holding `--heap-mb` of filled Buffers: in each round C and the addon alternate in blocks
 * of `--block` calls, then the helper and DefaultExec run `--n` calls each; each figure is a median
 * per call.
 *   node --import tsx bench/native-floor.ts [--plugin=/tmp/cni-ref/noop] [--n=200] [--rounds=3]
 *     [--heap-mb=100] [--block=25]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultExec } from '../src/invoke/exec.ts';
import { NativeExec } from '../src/invoke/native-exec.ts';

const arg = (name: string, dflt: string): string =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const plugin = arg('plugin', '/tmp/cni-ref/noop');
const n = Number(arg('n', '200'));
const rounds = Number(arg('rounds', '3'));
const heapMb = Number(arg('heap-mb', '100'));
const block = Number(arg('block', '25'));
const pspawn = process.env.PSPAWN ?? '/tmp/pspawn';

// Ballast: real pages (filled), so fork has page tables to copy.
const ballast: Buffer[] = [];
for (let i = 0; i < heapMb; i++) ballast.push(Buffer.alloc(1024 * 1024, i & 0xff));

const env = { CNI_COMMAND: 'VERSION', CNI_PATH: '/usr/lib/cni', PATH: '/usr/bin:/bin' };
const stdin = Buffer.from('{"cniVersion":"1.0.0"}');

async function median(exec: { execPlugin: NativeExec['execPlugin'] }, calls: number): Promise<number> {
  const t: number[] = [];
  for (let i = 0; i < calls; i++) {
    const a = performance.now();
    await exec.execPlugin(plugin, stdin, env);
    t.push(performance.now() - a);
  }
  t.sort((x, y) => x - y);
  return t[calls >> 1] as number;
}

const native = new NativeExec();
const helper = new NativeExec({ addonPath: false });
const direct = new DefaultExec();
await native.execPlugin(plugin, stdin, env);
await helper.execPlugin(plugin, stdin, env); // start the helper outside the timed part
if (native.backend !== 'addon') throw new Error('native addon unavailable (npm run build:native)');
if (helper.backend !== 'helper') throw new Error(`native helper unavailable: ${helper.fallbackReason}`);
const rssMb = Math.round(process.memoryUsage().rss / 2 ** 20);
// pspawn is started through the addon (a script runs it with its arguments): child_process would
// fork this process, and the copy-on-write faults that follow a fork slow the next calls measured.
const runner = path.join(mkdtempSync(path.join(os.tmpdir(), 'libcni-native-floor-')), 'pspawn.sh');
writeFileSync(runner, '#!/bin/sh\nexec "$PSPAWN" "$PLUGIN" "$N"\n', { mode: 0o755 });
async function floorC(calls: number): Promise<number> {
  const out = await native.execPlugin(runner, new Uint8Array(), {
    PSPAWN: pspawn,
    PLUGIN: plugin,
    N: String(calls),
  });
  return Number(out.stdout.toString());
}
const med = (xs: number[]): number => [...xs].sort((x, y) => x - y)[xs.length >> 1] as number;
for (let r = 1; r <= rounds; r++) {
  // C and the addon alternate in blocks of `block` calls, so that the VM's drift (its speed moves
  // by 10 % from one minute to the next) falls on both alike; each figure is the median of its
  // blocks' medians.
  const cBlocks: number[] = [];
  const ourBlocks: number[] = [];
  for (let done = 0; done < n; done += block) {
    cBlocks.push(await floorC(block));
    ourBlocks.push(await median(native, block));
  }
  const c = med(cBlocks);
  const ours = med(ourBlocks);
  const viaHelper = await median(helper, n);
  const node = await median(direct, n);
  const over = (x: number): string => `${x.toFixed(3)} (${x >= c ? '+' : ''}${(x - c).toFixed(3)})`;
  console.log(
    `heap ${heapMb} MB (rss ${rssMb} MB) round ${r}: c_posix_spawn ${c.toFixed(3)}  native_exec ${over(ours)}  native_helper ${over(viaHelper)}  default_exec ${node.toFixed(3)}  ms median per call`,
  );
}
rmSync(path.dirname(runner), { recursive: true, force: true });
await native.close();
await helper.close();
ballast.length = 0;

/**
 * Per-call cost of NativeExec's two back ends (its addon, its helper process) against C posix_spawn
 * (../shared/bench/spawn-floor/pspawn.c, or PSPAWN=<binary>) and Node's child_process.spawn, in a
 * parent holding `--heap-mb` of filled Buffers: rounds alternate C, the addon, the helper,
 * DefaultExec; each figure is the median per call.
 *   node --import tsx bench/native-floor.ts [--plugin=/tmp/cni-ref/noop] [--n=200] [--rounds=3] [--heap-mb=100]
 */
import { execFileSync } from 'node:child_process';
import { DefaultExec } from '../src/invoke/exec.ts';
import { NativeExec } from '../src/invoke/native-exec.ts';

const arg = (name: string, dflt: string): string =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const plugin = arg('plugin', '/tmp/cni-ref/noop');
const n = Number(arg('n', '200'));
const rounds = Number(arg('rounds', '3'));
const heapMb = Number(arg('heap-mb', '100'));
const pspawn = process.env.PSPAWN ?? '/tmp/pspawn';

// Ballast: real pages (filled), so fork has page tables to copy.
const ballast: Buffer[] = [];
for (let i = 0; i < heapMb; i++) ballast.push(Buffer.alloc(1024 * 1024, i & 0xff));

const env = { CNI_COMMAND: 'VERSION', CNI_PATH: '/usr/lib/cni', PATH: '/usr/bin:/bin' };
const stdin = Buffer.from('{"cniVersion":"1.0.0"}');

async function median(exec: { execPlugin: NativeExec['execPlugin'] }): Promise<number> {
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = performance.now();
    await exec.execPlugin(plugin, stdin, env);
    t.push(performance.now() - a);
  }
  t.sort((x, y) => x - y);
  return t[n >> 1] as number;
}

const native = new NativeExec();
const helper = new NativeExec({ addonPath: false });
const direct = new DefaultExec();
await native.execPlugin(plugin, stdin, env);
await helper.execPlugin(plugin, stdin, env); // start the helper outside the timed part
if (native.backend !== 'addon') throw new Error('native addon unavailable (npm run build:native)');
if (helper.backend !== 'helper') throw new Error(`native helper unavailable: ${helper.fallbackReason}`);
const rssMb = Math.round(process.memoryUsage().rss / 2 ** 20);
for (let r = 1; r <= rounds; r++) {
  const c = Number(execFileSync(pspawn, [plugin, String(n)], { encoding: 'utf8' }));
  const ours = await median(native);
  const viaHelper = await median(helper);
  const node = await median(direct);
  const over = (x: number): string => `${x.toFixed(3)} (${x >= c ? '+' : ''}${(x - c).toFixed(3)})`;
  console.log(
    `heap ${heapMb} MB (rss ${rssMb} MB) round ${r}: c_posix_spawn ${c.toFixed(3)}  native_exec ${over(ours)}  native_helper ${over(viaHelper)}  default_exec ${node.toFixed(3)}  ms median per call`,
  );
}
await native.close();
await helper.close();
ballast.length = 0;

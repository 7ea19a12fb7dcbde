/**
 * CPU spent outside the plugin per call, for each way NativeExec can start plugins (its addon, its
 * helper process) and for DefaultExec: this process's user+system time (`process.cpuUsage()`) plus,
 * for the helper, the helper's own (`/proc/<pid>/stat`). Sequential calls of the same plugin.
 *   node --import tsx bench/native-cpu.ts [--plugin=/tmp/cni-ref/noop] [--n=300] [--rounds=2]
 */
import { readFileSync } from 'node:fs';
import { DefaultExec } from '../src/invoke/exec.ts';
import { NativeExec } from '../src/invoke/native-exec.ts';

const arg = (name: string, dflt: string): string =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const plugin = arg('plugin', '/tmp/cni-ref/noop');
const n = Number(arg('n', '300'));
const rounds = Number(arg('rounds', '2'));
const env = { CNI_COMMAND: 'VERSION', CNI_PATH: '/usr/lib/cni', PATH: '/usr/bin:/bin' };
const stdin = Buffer.from('{"cniVersion":"1.0.0"}');

/** utime + stime of `pid` in ms (clock ticks of 10 ms, Linux's USER_HZ). */
function cpuOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const execs = {
  addon: new NativeExec(),
  helper: new NativeExec({ addonPath: false }),
  child_process: new DefaultExec(),
};
if (execs.addon.backend !== 'addon' || execs.helper.backend !== 'helper')
  throw new Error('the native parts are not built (npm run build:native)');
for (const e of Object.values(execs)) for (let i = 0; i < 10; i++) await e.execPlugin(plugin, stdin, env);
for (let r = 1; r <= rounds; r++) {
  for (const [name, e] of Object.entries(execs)) {
    const helperPid = e instanceof NativeExec ? e.helperPid : undefined;
    const h0 = cpuOf(helperPid);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await e.execPlugin(plugin, stdin, env);
    const wall = (performance.now() - t0) / n;
    const c = process.cpuUsage(c0);
    const node = (c.user + c.system) / 1000 / n;
    const helper = (cpuOf(helperPid) - h0) / n;
    console.log(
      `round ${r} ${name}: wall ${wall.toFixed(2)} ms/call, CPU outside the plugin ${(node + helper).toFixed(3)} ms/call (node ${node.toFixed(3)}, helper ${helper.toFixed(3)})`,
    );
  }
}
await execs.addon.close();
await execs.helper.close();

/**
 * The library's own time per ADD+DEL of a three-plugin list, with no process spawned: an `Exec` that
 * answers at once, and the same `Exec` answering after a pause with the CPU idle, as it is while a
 * real plugin runs. The pause is subtracted; what is left is the library's work, hot and "cold" (a
 * vCPU that halted during the pause comes back with cold caches). BENCHMARKS.md, "Where the rest of
 * the gap to Go goes".
 *   node --import tsx bench/library-cost.ts [--n=300] [--pause-ms=6] [--rounds=2]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CNIConfig } from '../src/cni/index.ts';
import { networkConfFromBytes } from '../src/config/parse.ts';
import type { Exec } from '../src/invoke/exec.ts';
import type { ExecOutput } from '../src/invoke/exec-options.ts';

const arg = (name: string, dflt: string): string =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const n = Number(arg('n', '300'));
const pauseMs = Number(arg('pause-ms', '6'));
const rounds = Number(arg('rounds', '2'));

const result = Buffer.from('{"cniVersion":"1.0.0","ips":[{"address":"10.1.2.3/24","gateway":"10.1.2.1"}]}');
const empty = Buffer.alloc(0);
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** An Exec of no process: `pause` ms of idle CPU (Atomics.wait blocks without spinning), then the answer. */
function instantExec(pause: number, paused: { ms: number }): Exec {
  return {
    findInPath: (type) => Promise.resolve(`/plugins/${type}`),
    execPlugin: (_path, _stdin, env): Promise<ExecOutput> => {
      if (pause > 0) {
        const t = performance.now();
        Atomics.wait(sleeper, 0, 0, pause);
        paused.ms += performance.now() - t;
      }
      const stdout = env.CNI_COMMAND === 'ADD' ? result : empty;
      return Promise.resolve({ stdout, stderr: '', exitCode: 0, durationMs: 0 });
    },
  };
}

const list = networkConfFromBytes(
  JSON.stringify({
    cniVersion: '1.0.0',
    name: 'cost',
    plugins: [{ type: 'a' }, { type: 'b' }, { type: 'c' }],
  }),
);
const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'libcni-library-cost-'));
try {
  for (let r = 1; r <= rounds; r++) {
    for (const pause of [0, pauseMs]) {
      const paused = { ms: 0 };
      const cni = new CNIConfig({ path: ['/plugins'], cacheDir, exec: instantExec(pause, paused) });
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      for (let i = 0; i < n; i++) {
        const rt = { containerId: `c${i}`, netns: `/var/run/netns/c${i}`, ifName: 'eth0' };
        await cni.addNetworkList(list, rt);
        await cni.delNetworkList(list, rt);
      }
      const cpu = process.cpuUsage(c0);
      const libraryMs = (performance.now() - t0 - paused.ms) / n;
      console.log(
        JSON.stringify({
          round: r,
          pauseMsPerCall: pause,
          libraryMsPerAddDel: libraryMs.toFixed(3),
          cpuMsPerAddDel: ((cpu.user + cpu.system) / 1000 / n).toFixed(3),
        }),
      );
    }
  }
} finally {
  rmSync(cacheDir, { recursive: true, force: true });
}

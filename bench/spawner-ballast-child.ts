/**
 * Section 7 (runs in its own process, started by bench/spawner-ballast.ts): what a plugin call
 * costs a parent with a big heap, through DefaultExec (Node forks the whole parent) and through
 * SpawnerExec (a small helper forks), against the floor: a *small* Node process (plain `node`, no
 * loader, nothing allocated) spawning the plugin directly. The floor process runs beside us and
 * times its own spawns, and is driven call by call, interleaved with ours.
 *
 * Phases: the parent as it starts, then holding `sizes` GiB of ballast (Buffers filled with
 * non-zero bytes, so the pages are really there). Prints one JSON line per phase.
 *
 *   node --import tsx bench/spawner-ballast-child.ts <rounds> <defaultRounds> <GiB>...
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { DefaultExec } from '../src/invoke/exec.ts';
import { SpawnerExec } from '../src/invoke/spawner.ts';
import { LOOPBACK } from './exec-floor.ts';
import { onCleanup, runWithCleanup } from './scratch.ts';
import { now, pluginEnv } from './stats.ts';

const STDIN = Buffer.from('{"cniVersion":"1.0.0"}');
const CHUNK = 64 * 1024 * 1024;

/** The floor process: reads a line per call, spawns the plugin, answers its own duration (ms). */
const FLOOR_SCRIPT = `
const { spawn } = require('node:child_process');
const [file, stdinText, envJson] = process.argv.slice(1);
const env = JSON.parse(envJson);
const rl = require('node:readline').createInterface({ input: process.stdin });
rl.on('line', () => {
  const t0 = process.hrtime.bigint();
  const c = spawn(file, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  c.stdout.resume(); c.stderr.resume(); c.stdin.on('error', () => {});
  c.on('close', (code) => {
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    process.stdout.write((code === 0 ? ms : -1) + '\\n');
  });
  c.stdin.end(stdinText);
});
`;

/** Resident size of another process, from /proc. */
function rssOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${String(pid)}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

await runWithCleanup(async () => {
  const [roundsArg, defaultRoundsArg, ...sizeArgs] = process.argv.slice(2);
  const rounds = Number(roundsArg);
  const defaultRounds = Number(defaultRoundsArg);
  const sizes = sizeArgs.map(Number);
  const helperPath = process.env.LIBCNI_BENCH_HELPER;
  const env = pluginEnv('VERSION', {
    CNI_CONTAINERID: '',
    CNI_NETNS: 'dummy',
    CNI_IFNAME: 'dummy',
    CNI_ARGS: '',
    CNI_PATH: 'dummy',
  });

  const floorProc = spawn(
    process.execPath,
    ['-e', FLOOR_SCRIPT, LOOPBACK, STDIN.toString(), JSON.stringify(env)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  onCleanup('floor process', () => {
    floorProc.kill();
  });
  const answers = createInterface({ input: floorProc.stdout });
  const pending: Array<(ms: number) => void> = [];
  answers.on('line', (l) => pending.shift()?.(Number(l)));
  const floorCall = (): Promise<number> =>
    new Promise((resolve) => {
      pending.push(resolve);
      floorProc.stdin.write('go\n');
    });

  const spawner = new SpawnerExec(helperPath ? { helperPath } : undefined);
  onCleanup('close spawner', () => spawner.close());
  const direct = new DefaultExec();

  const ballast: Buffer[] = [];
  for (const gib of [0, ...sizes]) {
    while (ballast.length * CHUNK < gib * 2 ** 30) {
      const b = Buffer.allocUnsafeSlow(CHUNK);
      b.fill(0x5a);
      ballast.push(b);
    }
    const floor: number[] = [];
    const viaSpawner: number[] = [];
    /** The helper's own timing of each spawn (spawnPlugin's durationMs): the rest is transport. */
    const spawnerInner: number[] = [];
    const viaDefault: number[] = [];
    const every = Math.max(1, Math.floor(rounds / defaultRounds));
    for (let round = -5; round < rounds; round++) {
      const steps: Array<() => Promise<void>> = [
        async () => {
          const ms = await floorCall();
          if (ms < 0) throw new Error('floor spawn failed');
          if (round >= 0) floor.push(ms);
        },
        async () => {
          const t0 = now();
          const out = await spawner.execPlugin(LOOPBACK, STDIN, env);
          if (round >= 0) {
            viaSpawner.push(now() - t0);
            spawnerInner.push(out.durationMs);
          }
        },
      ];
      if (round >= 0 && round % every === 0) {
        steps.push(async () => {
          const t0 = now();
          await direct.execPlugin(LOOPBACK, STDIN, env);
          viaDefault.push(now() - t0);
        });
      }
      const start = ((round % steps.length) + steps.length) % steps.length;
      for (let k = 0; k < steps.length; k++)
        await (steps[(start + k) % steps.length] as () => Promise<void>)();
    }
    console.log(
      JSON.stringify({
        gib,
        rss: process.memoryUsage().rss,
        helperRss: rssOf(spawner.helperPid),
        floorRss: rssOf(floorProc.pid),
        floor,
        spawner: viaSpawner,
        spawnerInner,
        default: viaDefault,
      }),
    );
  }
  ballast.length = 0;
});

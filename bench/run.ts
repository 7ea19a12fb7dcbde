/**
 * The benchmark suite: every figure next to its floor, measured in the same run (see
 * BENCHMARKS.md for what each section measures and why). Run as root, after a build:
 *
 *   npm run bench                      # = npm run build && node --import tsx bench/run.ts
 *   node --import tsx bench/run.ts --quick --only=exec,fixture --no-write
 *
 * Options: --quick (small counts, a smoke test), --only=<section,...> (vsgo, floor, native, exec, fixture,
 * real, config, gc, cli, ballast, memory), --memory-cycles=1000,10000, --no-write (print only: no results file, no
 * BENCHMARKS.md update).
 *
 * Writes bench/results/latest.json and replaces the generated part of BENCHMARKS.md (between the
 * `bench:results` markers). Everything it creates is removed at the end, on failure and on SIGINT.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { DefaultExec } from '../src/invoke/exec.ts';
import { SpawnerExec } from '../src/invoke/spawner.ts';
import { cliColdStart } from './cli.ts';
import { configLoad } from './config-load.ts';
import { execFloor } from './exec-floor.ts';
import { fixtureChain } from './fixture-chain.ts';
import { gcBench } from './gc.ts';
import { memory } from './memory.ts';
import { realChain, realChainUnavailable } from './real-chain.ts';
import { describeMachine, markdownTable, type Row, textTable } from './report.ts';
import { onCleanup, runWithCleanup, scoped } from './scratch.ts';
import { spawnerBallast } from './spawner-ballast.ts';
import { now } from './stats.ts';
import { vsFloorRows } from './vs-floor.ts';
import { nativeFloor, vsGo } from './vs-go.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUILT_HELPER = `${ROOT}dist/invoke/spawner-child.js`;
const MARK_START = '<!-- bench:results:start -->';
const MARK_END = '<!-- bench:results:end -->';

const args = process.argv.slice(2);
const flag = (name: string): boolean => args.includes(`--${name}`);
const option = (name: string): string | undefined =>
  args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

const quick = flag('quick');
const only = option('only')?.split(',');
const want = (s: string): boolean => only === undefined || only.includes(s);
const memoryCycles = (option('memory-cycles') ?? (quick ? '200,400' : '1000,10000')).split(',').map(Number);

const N = quick
  ? {
      exec: 50,
      chain: 20,
      real: 10,
      width: 8,
      files: 200,
      reps: 3,
      gcEntries: 500,
      gcValid: 12_500,
      cli: 5,
      ballast: 50,
      ballastDefault: 5,
      sizes: [1],
    }
  : {
      exec: 300,
      chain: 100,
      real: 100,
      width: 8,
      files: 1000,
      reps: 7,
      gcEntries: 4000,
      gcValid: 100_000,
      cli: 20,
      ballast: 300,
      ballastDefault: 20,
      sizes: [1, 4],
    };

function newSpawner(): SpawnerExec {
  // The built helper is what users run; the TypeScript one (through tsx) is several times larger,
  // and its size is exactly what a spawn costs.
  const s = existsSync(BUILT_HELPER) ? new SpawnerExec({ helperPath: BUILT_HELPER }) : new SpawnerExec();
  onCleanup('close spawner', () => s.close());
  return s;
}

async function main(): Promise<void> {
  const started = new Date();
  const machine = describeMachine('/usr/lib/cni: Debian containernetworking-plugins');
  console.error(
    `libcni bench: node ${machine.node}, ${machine.os}, ${machine.cpus}, load ${machine.loadAvgAtStart}`,
  );
  if (!existsSync(BUILT_HELPER))
    console.error(`note: ${BUILT_HELPER} missing (npm run build); spawner runs through tsx`);
  const rows: Row[] = [];
  const failures: string[] = [];
  const section = async (name: string, fn: () => Promise<Row[]>): Promise<void> => {
    if (!want(name)) return;
    const t0 = now();
    console.error(`[${name}] ...`);
    try {
      const r = await scoped(fn);
      rows.push(...r);
      console.error(`[${name}] done in ${((now() - t0) / 1000).toFixed(1)} s`);
    } catch (err) {
      failures.push(`${name}: ${(err as Error).message}`);
      console.error(`[${name}] FAILED:`, err);
    }
  };

  // First: BENCHMARKS.md leads with these (Go libcni on the same plugins; C posix_spawn per call).
  await section('vsgo', () => Promise.resolve(vsGo(quick ? '1' : '1 8', quick)));
  await section('floor', () => Promise.resolve(vsFloorRows(quick ? 2 : 12, quick ? 10 : 30)));
  await section('native', () =>
    Promise.resolve(
      (quick ? [100] : [100, 1024, 4096])
        .filter((mb) => (mb / 1024 + 2) * 2 ** 30 < os.freemem())
        .flatMap((mb) => nativeFloor(quick ? 30 : mb > 1024 ? 50 : 200, mb)),
    ),
  );
  await section('exec', () => execFloor({ rounds: N.exec, spawner: newSpawner() }));
  await section('fixture', () =>
    fixtureChain({
      count: N.chain,
      width: N.width,
      execs: { DefaultExec: new DefaultExec(), SpawnerExec: newSpawner() },
    }),
  );
  await section('real', async () => {
    const why = await realChainUnavailable();
    if (why !== undefined)
      return [{ section: 'real chain', metric: `skipped: ${why}`, value: Number.NaN, unit: 'ms' }];
    return realChain({
      count: N.real,
      width: N.width,
      execs: { DefaultExec: new DefaultExec(), SpawnerExec: newSpawner() },
    });
  });
  await section('config', () => configLoad({ files: N.files, reps: N.reps }));
  await section('gc', () => gcBench({ entries: N.gcEntries, valid: N.gcValid, reps: N.reps }));
  await section('cli', () => cliColdStart(N.cli));
  await section('ballast', () =>
    spawnerBallast({
      rounds: N.ballast,
      defaultRounds: N.ballastDefault,
      // Never push the machine into swap or the OOM killer: keep 2 GiB of headroom.
      sizesGiB: N.sizes.filter((g) => (g + 2) * 2 ** 30 < os.freemem()),
      helperPath: existsSync(BUILT_HELPER) ? BUILT_HELPER : undefined,
    }),
  );
  await section('memory', () => memory({ mode: 'default', checkpoints: memoryCycles }));

  const command = `node --import tsx bench/run.ts${args.length > 0 ? ` ${args.join(' ')}` : ''}`;
  console.log(textTable(rows));
  if (failures.length > 0) {
    console.log(`\nFAILED sections:\n${failures.join('\n')}`);
    process.exitCode = 1;
  }
  const md = [
    `Run ${started.toISOString()}, \`${command}\` (as root), ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s.`,
    '',
    `Machine: node ${machine.node}, ${machine.os}, ${machine.cpus}, ${machine.memory}; load average at start ${machine.loadAvgAtStart}; plugins ${machine.plugins}.`,
    '',
    markdownTable(rows),
    ...(failures.length > 0 ? ['', `Failed sections: ${failures.join('; ')}`] : []),
  ].join('\n');
  if (flag('no-write')) {
    console.log(`\n${md}`);
    return;
  }
  await mkdir(`${ROOT}bench/results`, { recursive: true });
  await writeFile(
    `${ROOT}bench/results/latest.json`,
    `${JSON.stringify({ started: started.toISOString(), command, machine, quick, rows, failures }, null, 2)}\n`,
  );
  const mdFile = `${ROOT}BENCHMARKS.md`;
  const text = existsSync(mdFile) ? await readFile(mdFile, 'utf8') : '';
  const a = text.indexOf(MARK_START);
  const b = text.indexOf(MARK_END);
  if (a >= 0 && b > a && !quick && only === undefined) {
    await writeFile(mdFile, `${text.slice(0, a + MARK_START.length)}\n${md}\n${text.slice(b)}`);
    console.error(`wrote bench/results/latest.json and updated ${mdFile}`);
  } else {
    console.error(
      'wrote bench/results/latest.json; BENCHMARKS.md not updated (partial run or no markers). Markdown:',
    );
    console.log(`\n${md}`);
  }
}

await runWithCleanup(main);

/**
 * The noop chain (3 × noop, ADD for n containers then DEL) three ways in short alternating runs:
 * Go libcni 1.1.2 (`golibcni bench`), ours (`../shared/bench/ts-bench.mjs`, the public API) and the
 * C floor of any invoker (bench/chain-floor.c: the plugins started and waited for, nothing else).
 * Short runs, many rounds, so that the VM's drift (its speed moves by 10 % from one minute to the
 * next) falls on all three alike; each run's figure is its p50 ADD + p50 DEL, so the first,
 * colder operations of a run weigh nothing. Says how much of Go's time is the invoker's own, and
 * so what ours/Go 0.95 asks for: a run at 0.95× Go spends (0.95·Go − floor)/6 per plugin call
 * above the floor.
 *   node --import tsx bench/vs-floor.ts [--rounds=12] [--n=30]   (needs /tmp/cni-ref: ../shared/ref/build.sh)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Row } from './report.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const REF = '/tmp/cni-ref';
const arg = (name: string, dflt: string): string =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;

/** Runs one bench process; its last stdout line, parsed. */
function runJson(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): { add_ms_p50: number; del_ms_p50: number } {
  const r = spawnSync(file, args, { env, encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`${file} failed: ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as { add_ms_p50: number; del_ms_p50: number };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? Number.NaN;

/** Per round: p50 ADD + p50 DEL in ms for Go, ours and the floor. */
export function vsFloor(rounds: number, n: number): { go: number; ours: number; floor: number }[] {
  if (!existsSync(`${REF}/golibcni`) || !existsSync(`${REF}/noop`)) {
    throw new Error(`${REF} is not built (../shared/ref/build.sh)`);
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'libcni-vs-floor-'));
  try {
    const floorBin = path.join(dir, 'chain-floor');
    const cc = spawnSync('cc', ['-O2', '-o', floorBin, `${ROOT}bench/chain-floor.c`], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`cannot build bench/chain-floor.c: ${cc.stderr}`);
    mkdirSync(path.join(dir, 'conf'));
    writeFileSync(
      path.join(dir, 'conf', '20-noopnet.conflist'),
      '{ "cniVersion": "1.0.0", "name": "noopnet", "plugins": [ { "type": "noop" }, { "type": "noop" }, { "type": "noop" } ] }\n',
    );
    const env = {
      ...process.env,
      NETCONFPATH: path.join(dir, 'conf'),
      CNI_PATH: `${REF}:/usr/lib/cni`,
      CNI_CACHE_DIR: path.join(dir, 'cache'),
      LIBCNI_ROOT: ROOT,
    };
    const flags = ['-net', 'noopnet', '-n', String(n), '-mkns=false'];
    const out: { go: number; ours: number; floor: number }[] = [];
    for (let r = 0; r < rounds; r++) {
      const sum = (x: { add_ms_p50: number; del_ms_p50: number }): number => x.add_ms_p50 + x.del_ms_p50;
      const go = sum(runJson(`${REF}/golibcni`, ['bench', ...flags], env));
      const ours = sum(runJson(process.execPath, [`${ROOT}../shared/bench/ts-bench.mjs`, ...flags], env));
      const floor = sum(runJson(floorBin, [`${REF}/noop`, String(n), '3'], env));
      out.push({ go, ours, floor });
      console.log(
        `round ${r + 1}: go ${go.toFixed(2)}  ours ${ours.toFixed(2)}  floor ${floor.toFixed(2)} ms per ADD+DEL (p50s)  ours/go ${(ours / go).toFixed(3)}  floor/go ${(floor / go).toFixed(3)}`,
      );
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Per plugin call above the floor (an ADD+DEL of the chain is six calls). */
const perCall = (x: number, floor: number): number => (x - floor) / 6;

/** The suite's rows (bench/run.ts): Go and ours against the floor, medians over rounds. */
export function vsFloorRows(rounds: number, n: number): Row[] {
  if (!existsSync(`${REF}/golibcni`)) {
    return [
      { section: 'vs the C floor', metric: `skipped: ${REF} not built`, value: Number.NaN, unit: 'ms' },
    ];
  }
  const rows = vsFloor(rounds, n);
  const floor = median(rows.map((r) => r.floor));
  const row = (who: 'go' | 'ours', label: string): Row => ({
    section: 'vs the C floor',
    metric: `3 × noop, ${label}: p50 ADD + p50 DEL (median of ${rounds} rounds of ${n})`,
    value: median(rows.map((r) => r[who])),
    unit: 'ms',
    floor,
    floorLabel: 'C chain (bench/chain-floor.c)',
    ratio: median(rows.map((r) => r[who] / r.floor)),
    delta: median(rows.map((r) => r[who] - r.floor)),
    note: `${median(rows.map((r) => perCall(r[who], r.floor))).toFixed(3)} ms per plugin call above the floor`,
  });
  return [
    row('go', 'Go libcni 1.1.2'),
    row('ours', 'ours'),
    {
      section: 'vs the C floor',
      metric: '3 × noop: ours/Go (same rounds)',
      value: median(rows.map((r) => r.ours / r.go)),
      unit: 'x',
      note: `0.95× Go leaves ${median(rows.map((r) => perCall(0.95 * r.go, r.floor))).toFixed(3)} ms per call above the floor`,
    },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = vsFloor(Number(arg('rounds', '12')), Number(arg('n', '30')));
  console.log(
    `medians: ours/go ${median(rows.map((r) => r.ours / r.go)).toFixed(3)}  floor/go ${median(rows.map((r) => r.floor / r.go)).toFixed(3)}  ms per plugin call above the floor: go ${median(rows.map((r) => perCall(r.go, r.floor))).toFixed(3)}  ours ${median(rows.map((r) => perCall(r.ours, r.floor))).toFixed(3)}  at 0.95x go ${median(rows.map((r) => perCall(0.95 * r.go, r.floor))).toFixed(3)}`,
  );
}

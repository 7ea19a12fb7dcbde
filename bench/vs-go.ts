/**
 * The comparison with Go libcni 1.1.2 (`../shared/bench/vs-go.sh`: the same chains, Go's bench and
 * ours alternating, median of rounds of ours/Go), and the per-call floors of the same plugin (C
 * posix_spawn, NativeExec, DefaultExec; bench/native-floor.ts). Runs only where the Go reference
 * is built (`/tmp/cni-ref`, by `../shared/ref/build.sh`); elsewhere it reports why it was skipped.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Row } from './report.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCRIPT = `${ROOT}../shared/bench/vs-go.sh`;
const PSPAWN_SRC = `${ROOT}../shared/bench/spawn-floor/pspawn.c`;
const REF = '/tmp/cni-ref';

function skipped(why: string): Row[] {
  return [{ section: 'vs Go libcni', metric: `skipped: ${why}`, value: Number.NaN, unit: 'ms' }];
}

/** ours/Go per chain and parallelism (`pars`, e.g. "1 8"), as vs-go.sh reports them. */
export function vsGo(pars: string, quick: boolean): Row[] {
  if (!existsSync(SCRIPT)) return skipped(`${SCRIPT} not found`);
  if (!existsSync(`${REF}/golibcni`)) return skipped(`${REF}/golibcni not built (../shared/ref/build.sh)`);
  const env = { ...process.env, PARS: pars, ...(quick ? { ROUNDS: '1', NOOP_N: '20', REAL_N: '10' } : {}) };
  const r = spawnSync('bash', [SCRIPT, ROOT], { env, encoding: 'utf8', timeout: 3_600_000 });
  if (r.status !== 0) throw new Error(`vs-go.sh failed: ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
  const rows: Row[] = [];
  for (const m of r.stdout.matchAll(/^ratio (\S+) p=(\d+) ([\d.]+)$/gm)) {
    const chain = m[1] === 'noopnet' ? '3 × noop' : 'bridge+host-local+portmap+tuning';
    rows.push({
      section: 'vs Go libcni',
      metric: `${chain}, ${m[2]} at a time: ours/Go (ADD+DEL)`,
      value: Number(m[3]),
      unit: 'x',
    });
  }
  return rows;
}

/** Per-call medians of the noop plugin: C posix_spawn, NativeExec and DefaultExec, interleaved. */
export function nativeFloor(n: number, heapMb: number): Row[] {
  if (!existsSync(`${REF}/noop`)) return skipped(`${REF}/noop not built`);
  const pspawn = `${ROOT}bench/results/pspawn`;
  const cc = spawnSync('cc', ['-O2', '-o', pspawn, PSPAWN_SRC], { encoding: 'utf8' });
  if (cc.status !== 0) return skipped(`cannot build ${PSPAWN_SRC}`);
  const r = spawnSync(
    process.execPath,
    [
      '--max-old-space-size=8192',
      '--import',
      'tsx',
      `${ROOT}bench/native-floor.ts`,
      `--n=${n}`,
      '--rounds=3',
      `--heap-mb=${heapMb}`,
    ],
    { env: { ...process.env, PSPAWN: pspawn }, encoding: 'utf8', timeout: 3_600_000 },
  );
  if (r.status !== 0) throw new Error(`native-floor failed: ${r.stderr.trim().split('\n').pop()}`);
  const rows: Row[] = [];
  for (const m of r.stdout.matchAll(
    /round (\d+): c_posix_spawn ([\d.]+) +native_exec ([\d.]+).*native_helper ([\d.]+).*default_exec ([\d.]+)/g,
  )) {
    const [c, ours, viaHelper, node] = [Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])];
    const metric = (what: string): string => `noop plugin, ${heapMb} MB heap, round ${m[1]}: ${what}`;
    rows.push({
      section: 'per call vs C',
      metric: metric('NativeExec (addon)'),
      value: ours,
      unit: 'ms',
      floor: c,
      floorLabel: 'C posix_spawn',
      ratio: ours / c,
      delta: ours - c,
    });
    rows.push({
      section: 'per call vs C',
      metric: metric('NativeExec (helper process)'),
      value: viaHelper,
      unit: 'ms',
      floor: c,
      floorLabel: 'C posix_spawn',
      ratio: viaHelper / c,
      delta: viaHelper - c,
    });
    rows.push({
      section: 'per call vs C',
      metric: metric('DefaultExec'),
      value: node,
      unit: 'ms',
      floor: c,
      floorLabel: 'C posix_spawn',
      ratio: node / c,
      delta: node - c,
    });
  }
  return rows;
}

/**
 * Section 7, the parent side: runs bench/spawner-ballast-child.ts in a fresh process (the ballast
 * must not inflate this one) and turns its phases into rows: DefaultExec and SpawnerExec in a
 * parent holding 0 / 1 / 4 GiB, each against a small process's direct spawn measured alongside.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Row, versus } from './report.ts';
import { onCleanup } from './scratch.ts';
import { median, p99 } from './stats.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Phase {
  gib: number;
  rss: number;
  helperRss: number | undefined;
  floorRss: number | undefined;
  floor: number[];
  spawner: number[];
  spawnerInner: number[];
  default: number[];
}

export interface BallastOptions {
  rounds: number;
  defaultRounds: number;
  sizesGiB: number[];
  helperPath?: string | undefined;
}

function runChild(opts: BallastOptions): Promise<Phase[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        `${ROOT}bench/spawner-ballast-child.ts`,
        String(opts.rounds),
        String(opts.defaultRounds),
        ...opts.sizesGiB.map(String),
      ],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, ...(opts.helperPath ? { LIBCNI_BENCH_HELPER: opts.helperPath } : {}) },
      },
    );
    const stop = onCleanup('ballast child', () => {
      if (child.exitCode === null) child.kill('SIGTERM');
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.on('error', reject);
    child.on('close', (code) => {
      void stop();
      if (code !== 0) reject(new Error(`spawner-ballast-child.ts exited ${String(code)}`));
      else
        resolve(
          out
            .split('\n')
            .filter((l) => l.startsWith('{'))
            .map((l) => JSON.parse(l) as Phase),
        );
    });
  });
}

const MB = 1024 * 1024;

export async function spawnerBallast(opts: BallastOptions): Promise<Row[]> {
  const phases = await runChild(opts);
  const rows: Row[] = [];
  for (const p of phases) {
    const section = `big parent: loopback VERSION, parent RSS ${(p.rss / MB).toFixed(0)} MB${p.gib > 0 ? ` (${String(p.gib)} GiB ballast)` : ' (no ballast)'}`;
    const floor = median(p.floor);
    const floorLabel = `small process${p.floorRss ? `, ${(p.floorRss / MB).toFixed(0)} MB` : ''}`;
    rows.push({
      section,
      metric: `small process direct spawn median (N=${String(p.floor.length)})`,
      value: floor,
      unit: 'ms',
    });
    const s = median(p.spawner);
    rows.push(
      versus({
        section,
        metric: `SpawnerExec median (N=${String(p.spawner.length)}; helper ${p.helperRss ? `${(p.helperRss / MB).toFixed(0)} MB` : '?'})`,
        value: s,
        floor,
        floorLabel,
        unit: 'ms',
        target: 'within +0.50 ms',
        pass: s - floor <= 0.5,
      }),
    );
    rows.push(
      versus({
        section,
        metric: 'SpawnerExec p99',
        value: p99(p.spawner),
        floor: p99(p.floor),
        floorLabel,
        unit: 'ms',
      }),
    );
    rows.push(
      versus({
        section,
        metric: "SpawnerExec: the helper's own spawn time (spawnPlugin durationMs), median",
        value: median(p.spawnerInner),
        floor,
        floorLabel,
        unit: 'ms',
      }),
    );
    rows.push({
      section,
      metric: 'SpawnerExec: transport (call time minus the helper spawn time), median',
      value: median(p.spawner.map((t, i) => t - (p.spawnerInner[i] as number))),
      unit: 'ms',
    });
    rows.push(
      versus({
        section,
        metric: `DefaultExec median (N=${String(p.default.length)})`,
        value: median(p.default),
        floor,
        floorLabel,
        unit: 'ms',
      }),
    );
  }
  return rows;
}

/**
 * Section 6, the parent side: runs bench/memory-child.ts in a fresh process (so that nothing else
 * this benchmark did is on its heap) and compares its memory after the last checkpoint with the
 * first one, which is the floor here: growth between them is what a leak would look like.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Row, versus } from './report.ts';
import { onCleanup } from './scratch.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Sample {
  cycles: number;
  elapsedMs: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

export interface MemoryOptions {
  mode: 'default' | 'spawner';
  checkpoints: number[];
  helperPath?: string | undefined;
}

function runChild(opts: MemoryOptions): Promise<Sample[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--expose-gc',
        '--import',
        'tsx',
        `${ROOT}bench/memory-child.ts`,
        opts.mode,
        ...opts.checkpoints.map(String),
      ],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, ...(opts.helperPath ? { LIBCNI_BENCH_HELPER: opts.helperPath } : {}) },
      },
    );
    const stop = onCleanup('memory child', () => {
      if (child.exitCode === null) child.kill('SIGTERM');
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      for (const line of c.split('\n')) if (line.startsWith('{')) process.stderr.write(`  memory: ${line}\n`);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      void stop();
      if (code !== 0) reject(new Error(`memory-child.ts exited ${String(code)}`));
      else
        resolve(
          out
            .split('\n')
            .filter((l) => l.startsWith('{'))
            .map((l) => JSON.parse(l) as Sample),
        );
    });
  });
}

const MB = 1024 * 1024;

export async function memory(opts: MemoryOptions): Promise<Row[]> {
  const samples = await runChild(opts);
  const first = samples[0] as Sample;
  const last = samples.at(-1) as Sample;
  const section = `memory: ${opts.mode === 'spawner' ? 'SpawnerExec' : 'DefaultExec'}, fixture chain ADD+DEL cycles, 8 at a time (after 2 forced GCs)`;
  const rows: Row[] = [];
  for (const s of samples) {
    rows.push({
      section,
      metric: `after ${String(s.cycles)} cycles: heapUsed`,
      value: s.heapUsed / MB,
      unit: 'MB',
      note: `${(s.cycles / (s.elapsedMs / 1000)).toFixed(0)} cycles/s so far`,
    });
    rows.push({ section, metric: `after ${String(s.cycles)} cycles: RSS`, value: s.rss / MB, unit: 'MB' });
  }
  // The target: neither figure grows by more than 10 MB between the first and the last sample.
  for (const [label, key] of [
    ['RSS', 'rss'],
    ['heapUsed', 'heapUsed'],
  ] as const) {
    rows.push(
      versus({
        section,
        metric: `${label} after ${String(last.cycles)} vs after ${String(first.cycles)}`,
        value: last[key] / MB,
        floor: first[key] / MB,
        floorLabel: `${String(first.cycles)} cycles`,
        unit: 'MB',
        target: '<= +10 MB',
        pass: (last[key] - first[key]) / MB <= 10,
      }),
    );
  }
  return rows;
}

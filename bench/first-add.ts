// First ADD of a fresh process: its latency, and the event-loop delay around it
// (perf_hooks.monitorEventLoopDelay, max over the window). The first ADD is when the result decoder
// (zod) is needed for the first time, so this is where loading it shows. A fresh `node` per run,
// importing the built library (dist/), one ADD of a one-plugin list through the `instant` fixture.
//   npm run build && node --import tsx bench/first-add.ts [runs=15]
// Two shapes per run:
// - "ADD right after construction": new CNIConfig(), then addNetworkList at once;
// - "ADD 200 ms after construction": as a runtime that builds CNIConfig at start and adds later.
// The event-loop window is from construction to the ADD's settlement.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, quantile } from './stats.ts';

const runs = Number(process.argv[2] ?? 15);
const root = fileURLToPath(new URL('..', import.meta.url));
// BENCH_DIST: another build to compare with (e.g. of the previous commit), resolved from this repo.
const entry = process.env.BENCH_DIST
  ? path.resolve(process.env.BENCH_DIST, 'index.js')
  : `${root}dist/index.js`;
if (!existsSync(entry)) {
  console.error(`${entry} is missing: run "npm run build" first`);
  process.exit(1);
}

const child = `
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
const { CNIConfig, networkConfFromBytes } = await import(process.env.BENCH_ENTRY);
const list = networkConfFromBytes(JSON.stringify({ cniVersion: '1.0.0', name: 'bench', plugins: [{ type: 'instant' }] }));
const wait = Number(process.env.BENCH_WAIT_MS);
const h = monitorEventLoopDelay({ resolution: 1 });
h.enable();
const cni = new CNIConfig({ path: [process.env.BENCH_PLUGINS], cacheDir: process.env.BENCH_CACHE });
if (wait > 0) await sleep(wait);
const t0 = performance.now();
await cni.addNetworkList(list, { containerId: 'c' + process.pid, netns: '/var/run/netns/none', ifName: 'eth0' });
const addMs = performance.now() - t0;
h.disable();
process.stdout.write(JSON.stringify({ addMs, maxDelayMs: h.max / 1e6 }));
`;

const summarize = (xs: readonly number[]) => ({
  min: Math.min(...xs).toFixed(1),
  p50: median(xs).toFixed(1),
  p90: quantile(xs, 0.9).toFixed(1),
});

function measure(label: string, waitMs: number): void {
  const add: number[] = [];
  const delay: number[] = [];
  for (let i = 0; i < runs + 1; i++) {
    const cache = mkdtempSync(path.join(os.tmpdir(), 'libcni-first-add-'));
    try {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', child], {
        encoding: 'utf8',
        env: {
          ...process.env,
          BENCH_ENTRY: entry,
          BENCH_WAIT_MS: String(waitMs),
          BENCH_PLUGINS: `${root}fixtures/plugins`,
          BENCH_CACHE: cache,
        },
      });
      if (r.status !== 0) throw new Error(`${label}: exit ${String(r.status)}: ${r.stderr}`);
      const out = JSON.parse(r.stdout) as { addMs: number; maxDelayMs: number };
      if (i === 0) continue; // warms the page cache
      add.push(out.addMs);
      delay.push(out.maxDelayMs);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  }
  console.log(
    JSON.stringify({ label, runs, firstAddMs: summarize(add), maxEventLoopDelayMs: summarize(delay) }),
  );
}

measure('ADD right after construction', 0);
measure('ADD 200 ms after construction', 200);

// Cold start of the built cnitool: a fresh `node` per run, wall time from spawn to exit, measured
// with process.hrtime. Compares `--help` (static text; the engine is never imported) with bare
// Node and with importing the whole engine, which is what an eager CLI would pay on every call.
//   node --import tsx bench/cli-cold-start.ts [runs=20]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const runs = Number(process.argv[2] ?? 20);
const root = fileURLToPath(new URL('..', import.meta.url));
const cli = `${root}dist/cli/main.js`;
if (!existsSync(cli)) {
  console.error(`${cli} is missing: run "npm run build" first`);
  process.exit(1);
}

function measure(label: string, argv: string[]): void {
  const times: number[] = [];
  for (let i = 0; i < runs + 2; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, argv, {
      stdio: 'ignore',
      env: { ...process.env, CNI_PATH: '/usr/lib/cni' },
    });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${label}: exit ${String(r.status)}`);
    if (i >= 2) times.push(ms); // the first two only warm the page cache
  }
  times.sort((a, b) => a - b);
  const at = (q: number): string =>
    (times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0).toFixed(1);
  console.log(JSON.stringify({ label, runs, min: at(0), p50: at(0.5), p90: at(0.9) }));
}

measure('node -e 0 (floor)', ['-e', '0']);
measure('cnitool --help', [cli, '--help']);
measure('cnitool --version', [cli, '--version']);
measure('import the whole engine (what an eager CLI would load)', [
  '--input-type=module',
  '-e',
  `await import(${JSON.stringify(`${root}dist/cli/commands/attach.js`)}); await import(${JSON.stringify(`${root}dist/cli/commands/netns.js`)});`,
]);
if (existsSync('/usr/lib/cni/loopback'))
  measure('cnitool version loopback (one plugin exec)', [cli, 'version', 'loopback']);

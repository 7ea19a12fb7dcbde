/**
 * Section 5: CLI cold start. Same method as bench/cli-cold-start.ts (a fresh `node` per run, wall
 * time from spawn to exit), but the commands are interleaved run by run in rotating order, so that
 * the floor (`node -e 0`) and each command see the same machine. (cli-cold-start.ts measures one
 * command after the other; on a shared VM the load can change between them.)
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Row, versus } from './report.ts';
import { scratchDir } from './scratch.ts';
import { median, now, quantile } from './stats.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = `${ROOT}dist/cli/main.js`;

export async function cliColdStart(runs: number): Promise<Row[]> {
  if (!existsSync(CLI)) {
    return [
      {
        section: 'CLI cold start',
        metric: 'skipped: dist/cli/main.js missing (npm run build)',
        value: Number.NaN,
        unit: 'ms',
      },
    ];
  }
  // What any ESM entry file costs over `node -e 0` (the ESM loader, a package.json lookup): the
  // part of cnitool's start-up that no change inside src/cli can remove.
  const emptyEsm = path.join(await scratchDir('cli'), 'empty.mjs');
  await writeFile(emptyEsm, '');
  const commands: Array<[string, string[]]> = [
    ['node -e 0', ['-e', '0']],
    ['node <empty .mjs file>', [emptyEsm]],
    ['cnitool --help', [CLI, '--help']],
    ['cnitool version loopback', [CLI, 'version', 'loopback']],
    [
      'node importing the whole engine',
      [
        '--input-type=module',
        '-e',
        `await import(${JSON.stringify(`${ROOT}dist/cli/commands/attach.js`)}); await import(${JSON.stringify(`${ROOT}dist/cli/commands/netns.js`)});`,
      ],
    ],
  ];
  const env = { ...process.env, CNI_PATH: '/usr/lib/cni' };
  const times = new Map<string, number[]>(commands.map(([l]) => [l, []]));
  for (let round = -2; round < runs; round++) {
    for (let k = 0; k < commands.length; k++) {
      const [label, argv] = commands[
        (((round + k) % commands.length) + commands.length) % commands.length
      ] as [string, string[]];
      const t0 = now();
      const r = spawnSync(process.execPath, argv, { stdio: 'ignore', env });
      const ms = now() - t0;
      if (r.status !== 0) throw new Error(`${label}: exit ${String(r.status)}`);
      if (round >= 0) times.get(label)?.push(ms); // two warm-up rounds fill the page cache
    }
    await Promise.resolve();
  }
  const section = `CLI cold start (wall, median of ${String(runs)}, interleaved)`;
  const floor = median(times.get('node -e 0') as number[]);
  const rows: Row[] = [{ section, metric: 'node -e 0 (floor)', value: floor, unit: 'ms' }];
  const esm = median(times.get('node <empty .mjs file>') as number[]);
  for (const [label] of commands.slice(1)) {
    const t = times.get(label) as number[];
    const help = label === 'cnitool --help';
    rows.push(
      versus({
        section,
        metric: label,
        value: median(t),
        floor,
        floorLabel: 'node -e 0',
        unit: 'ms',
        target: help ? '< 60 ms' : undefined,
        pass: help ? median(t) < 60 : undefined,
        note: `p90 ${quantile(t, 0.9).toFixed(1)} ms; ${(median(t) - esm).toFixed(1)} ms over an empty ESM entry`,
      }),
    );
  }
  return rows;
}

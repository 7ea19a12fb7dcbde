/**
 * Section 1, the exec floor: one plugin call (`/usr/lib/cni/loopback`, CNI_COMMAND=VERSION) through a
 * bare `child_process.spawn` (the floor), through our DefaultExec, and through SpawnerExec,
 * interleaved round by round in rotating order so that noise on a shared VM hits all three alike.
 * Our overhead is the median of the per-round differences (paired), which is steadier than the
 * difference of two medians.
 */
import { DefaultExec } from '../src/invoke/exec.ts';
import { SpawnerExec } from '../src/invoke/spawner.ts';
import { type Row, versus } from './report.ts';
import { bareSpawn, median, now, p99, pluginEnv } from './stats.ts';

export const LOOPBACK = '/usr/lib/cni/loopback';
const STDIN = Buffer.from('{"cniVersion":"1.0.0"}');

export interface ExecFloorOptions {
  rounds: number;
  spawner: SpawnerExec;
}

export async function execFloor(opts: ExecFloorOptions): Promise<Row[]> {
  const env = pluginEnv('VERSION', {
    CNI_CONTAINERID: '',
    CNI_NETNS: 'dummy',
    CNI_IFNAME: 'dummy',
    CNI_ARGS: '',
    CNI_PATH: 'dummy',
  });
  const direct = new DefaultExec();
  const methods: Array<[string, () => Promise<unknown>]> = [
    ['bare', () => bareSpawn(LOOPBACK, STDIN, env)],
    ['default', () => direct.execPlugin(LOOPBACK, STDIN, env)],
    ['spawner', () => opts.spawner.execPlugin(LOOPBACK, STDIN, env)],
  ];
  const times = new Map<string, number[]>(methods.map(([m]) => [m, []]));
  const warmup = 10;
  for (let round = 0; round < warmup + opts.rounds; round++) {
    for (let k = 0; k < methods.length; k++) {
      const [name, fn] = methods[(round + k) % methods.length] as [string, () => Promise<unknown>];
      const t0 = now();
      await fn();
      const t = now() - t0;
      if (round >= warmup) times.get(name)?.push(t);
    }
  }
  const bare = times.get('bare') as number[];
  const paired = (name: string): number =>
    median((times.get(name) as number[]).map((t, i) => t - (bare[i] as number)));
  const rows: Row[] = [];
  const section = `exec floor (loopback VERSION, N=${String(opts.rounds)}, interleaved)`;
  rows.push({ section, metric: 'bare child_process.spawn median', value: median(bare), unit: 'ms' });
  rows.push({ section, metric: 'bare child_process.spawn p99', value: p99(bare), unit: 'ms' });
  for (const [name, label] of [
    ['default', 'DefaultExec'],
    ['spawner', 'SpawnerExec'],
  ] as const) {
    const t = times.get(name) as number[];
    const over = paired(name);
    rows.push(
      versus({
        section,
        metric: `${label} median`,
        value: median(t),
        floor: median(bare),
        floorLabel: 'bare',
        unit: 'ms',
        target: name === 'default' ? 'overhead <= 0.30 ms' : undefined,
        pass: name === 'default' ? over <= 0.3 : undefined,
        note: `paired overhead ${over.toFixed(3)} ms`,
      }),
    );
    rows.push(
      versus({
        section,
        metric: `${label} p99`,
        value: p99(t),
        floor: p99(bare),
        floorLabel: 'bare',
        unit: 'ms',
      }),
    );
    rows.push({
      section,
      metric: `${label} overhead (median of paired differences)`,
      value: over,
      unit: 'ms',
    });
  }
  return rows;
}

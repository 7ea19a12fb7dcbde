/**
 * Sections 2 and 3: a whole network list, ADD then DEL for many containers, through CNIConfig
 * (DefaultExec and SpawnerExec) and through the floor: the same plugins spawned directly, each with
 * the request a minimal runtime would write (the plugin's JSON plus name, cniVersion, prevResult and
 * runtimeConfig), the previous plugin's stdout passed on as prevResult, the ADD result kept in
 * memory for DEL. The floor writes no cache, validates nothing, looks nothing up: what remains is
 * what the plugins themselves cost.
 *
 * Sequential runs interleave the variants container by container (rotating order); concurrent runs
 * (a pool of `width`) give each variant the machine in turn (see below).
 */
import path from 'node:path';
import { CNIConfig, type RuntimeConf } from '../src/cni/index.ts';
import type { NetworkConfigList } from '../src/config/types.ts';
import type { Exec } from '../src/invoke/exec.ts';
import { type Row, versus } from './report.ts';
import { bareSpawn, median, now, p99, pluginEnv, pool, sum } from './stats.ts';

/** One plugin of the list as the floor sees it. */
interface FloorPlugin {
  path: string;
  conf: Record<string, unknown>;
}

/** What differs per container. */
export interface Container {
  containerId: string;
  netns: string;
  ifName: string;
  capabilityArgs?: Record<string, unknown> | undefined;
}

export interface ChainSetup {
  label: string;
  list: NetworkConfigList;
  pluginDirs: string[];
  cacheDir: string;
  /** Containers for variant `v` (disjoint between variants: ids, namespaces, host ports). */
  containers: (variant: string, i: number) => Container;
  execs: Record<string, Exec>;
  count: number;
  width: number;
  /** Run the concurrent phase too. */
  concurrent: boolean;
  /** Target on the ratio to the floor (e.g. 1.10), applied to the sequential and concurrent totals. */
  maxRatio?: number | undefined;
  /** Attachments made and not yet deleted, with the DEL that undoes each (for cleanup after a failure). */
  live: Map<string, () => Promise<void>>;
}

/** The floor: the plugins run straight, one request each, as a minimal runtime would. */
class FloorRunner {
  readonly #plugins: FloorPlugin[];
  readonly #list: NetworkConfigList;
  readonly #pathEnv: string;
  readonly #results = new Map<string, unknown>();

  constructor(list: NetworkConfigList, pluginDirs: string[]) {
    this.#list = list;
    this.#pathEnv = pluginDirs.join(':');
    // Resolved once: the floor does no lookup per call.
    this.#plugins = list.plugins.map((p) => ({
      path: path.join(pluginDirs[0] as string, p.network.type),
      conf: JSON.parse(Buffer.from(p.bytes).toString('utf8')) as Record<string, unknown>,
    }));
  }

  #request(p: FloorPlugin, c: Container, prevResult: unknown): Buffer {
    const req: Record<string, unknown> = {
      ...p.conf,
      name: this.#list.name,
      cniVersion: this.#list.cniVersion,
    };
    if (prevResult !== undefined) req.prevResult = prevResult;
    const caps = p.conf.capabilities as Record<string, boolean> | undefined;
    if (caps !== undefined && c.capabilityArgs !== undefined) {
      const rc: Record<string, unknown> = {};
      for (const [k, on] of Object.entries(caps))
        if (on && k in c.capabilityArgs) rc[k] = c.capabilityArgs[k];
      if (Object.keys(rc).length > 0) req.runtimeConfig = rc;
    }
    return Buffer.from(JSON.stringify(req));
  }

  #env(command: string, c: Container): Record<string, string> {
    return pluginEnv(command, {
      CNI_CONTAINERID: c.containerId,
      CNI_NETNS: c.netns,
      CNI_IFNAME: c.ifName,
      CNI_ARGS: '',
      CNI_PATH: this.#pathEnv,
    });
  }

  async add(c: Container): Promise<void> {
    let prev: unknown;
    const env = this.#env('ADD', c);
    for (const p of this.#plugins)
      prev = JSON.parse((await bareSpawn(p.path, this.#request(p, c, prev), env)).toString());
    this.#results.set(c.containerId, prev);
  }

  async del(c: Container): Promise<void> {
    const prev = this.#results.get(c.containerId);
    const env = this.#env('DEL', c);
    for (let i = this.#plugins.length - 1; i >= 0; i--) {
      await bareSpawn(
        (this.#plugins[i] as FloorPlugin).path,
        this.#request(this.#plugins[i] as FloorPlugin, c, prev),
        env,
      );
    }
    this.#results.delete(c.containerId);
  }
}

type Op = (c: Container) => Promise<void>;

/** Run the chain benchmark (see the module comment). */
export async function chainBench(s: ChainSetup): Promise<Row[]> {
  const floor = new FloorRunner(s.list, s.pluginDirs);
  const variants: Array<[string, { add: Op; del: Op }]> = [
    ['floor', { add: (c) => floor.add(c), del: (c) => floor.del(c) }],
  ];
  for (const [name, exec] of Object.entries(s.execs)) {
    const cni = new CNIConfig({ path: s.pluginDirs, cacheDir: s.cacheDir, exec });
    const rt = (c: Container): RuntimeConf => ({ ...c, args: [] });
    variants.push([
      name,
      {
        add: async (c) => {
          await cni.addNetworkList(s.list, rt(c));
        },
        del: (c) => cni.delNetworkList(s.list, rt(c)),
      },
    ]);
  }
  const tracked = (name: string, ops: { add: Op; del: Op }): { add: Op; del: Op } => ({
    add: async (c) => {
      await ops.add(c);
      s.live.set(`${name}/${c.containerId}`, () => ops.del(c));
    },
    del: async (c) => {
      await ops.del(c);
      s.live.delete(`${name}/${c.containerId}`);
    },
  });
  const runs = variants.map(([n, ops]) => [n, tracked(n, ops)] as const);

  const seq = new Map<string, { add: number[]; del: number[] }>(runs.map(([n]) => [n, { add: [], del: [] }]));
  // Warm-up: one ADD/DEL per variant (page cache, the helper's start, JIT).
  for (const [n, ops] of runs) {
    const c = s.containers(n, s.count);
    await ops.add(c);
    await ops.del(c);
  }
  for (const phase of ['add', 'del'] as const) {
    for (let i = 0; i < s.count; i++) {
      for (let k = 0; k < runs.length; k++) {
        const [n, ops] = runs[(i + k) % runs.length] as (typeof runs)[number];
        const t0 = now();
        await ops[phase](s.containers(n, i));
        seq.get(n)?.[phase].push(now() - t0);
      }
    }
  }

  // Concurrent: each variant makes all its attachments and removes them again before the next
  // one starts, so that none of them works against another's leftovers (a bridge with more ports,
  // longer iptables chains); two passes, the second in reverse order, so that drift over the run
  // hits all alike. Walls are summed over the passes, latencies pooled.
  const conc = new Map<string, { add: number[]; del: number[]; addWall: number; delWall: number }>();
  if (s.concurrent) {
    for (const [n] of runs) conc.set(n, { add: [], del: [], addWall: 0, delWall: 0 });
    for (const order of [runs, [...runs].reverse()]) {
      for (const [n, ops] of order) {
        const c = conc.get(n) as { add: number[]; del: number[]; addWall: number; delWall: number };
        for (const phase of ['add', 'del'] as const) {
          const t0 = now();
          const times = await pool(s.count, s.width, (i) => ops[phase](s.containers(n, i)));
          const wall = now() - t0;
          c[phase].push(...times);
          if (phase === 'add') c.addWall += wall;
          else c.delWall += wall;
        }
      }
    }
  }

  const rows: Row[] = [];
  const f = seq.get('floor') as { add: number[]; del: number[] };
  const fc = conc.get('floor');
  for (const [n] of runs) {
    const ours = n !== 'floor';
    for (const phase of ['add', 'del'] as const) {
      const P = phase.toUpperCase();
      const t = (seq.get(n) as { add: number[]; del: number[] })[phase];
      const section = `${s.label}: ${P} x${String(s.count)} sequential`;
      const total = sum(t);
      const ratio = total / sum(f[phase]);
      rows.push(
        ours
          ? versus({
              section,
              metric: `${n} total`,
              value: total,
              floor: sum(f[phase]),
              floorLabel: 'direct',
              unit: 'ms',
              target: s.maxRatio === undefined ? undefined : `<= ${s.maxRatio.toFixed(2)}x`,
              pass: s.maxRatio === undefined ? undefined : ratio <= s.maxRatio,
            })
          : { section, metric: 'direct (floor) total', value: total, unit: 'ms' },
      );
      rows.push(
        ours
          ? versus({
              section,
              metric: `${n} p50`,
              value: median(t),
              floor: median(f[phase]),
              floorLabel: 'direct',
              unit: 'ms',
            })
          : { section, metric: 'direct (floor) p50', value: median(t), unit: 'ms' },
      );
      rows.push(
        ours
          ? versus({
              section,
              metric: `${n} p99`,
              value: p99(t),
              floor: p99(f[phase]),
              floorLabel: 'direct',
              unit: 'ms',
            })
          : { section, metric: 'direct (floor) p99', value: p99(t), unit: 'ms' },
      );
      const c = conc.get(n);
      if (c !== undefined && fc !== undefined) {
        const csection = `${s.label}: ${P} x${String(s.count)}, ${String(s.width)} at a time (2 passes)`;
        const wall = phase === 'add' ? c.addWall : c.delWall;
        const fwall = phase === 'add' ? fc.addWall : fc.delWall;
        rows.push(
          ours
            ? versus({
                section: csection,
                metric: `${n} total (wall)`,
                value: wall,
                floor: fwall,
                floorLabel: 'direct',
                unit: 'ms',
                target: s.maxRatio === undefined ? undefined : `<= ${s.maxRatio.toFixed(2)}x`,
                pass: s.maxRatio === undefined ? undefined : wall / fwall <= s.maxRatio,
              })
            : { section: csection, metric: 'direct (floor) total (wall)', value: wall, unit: 'ms' },
        );
        rows.push(
          ours
            ? versus({
                section: csection,
                metric: `${n} p50`,
                value: median(c[phase]),
                floor: median(fc[phase]),
                floorLabel: 'direct',
                unit: 'ms',
              })
            : { section: csection, metric: 'direct (floor) p50', value: median(c[phase]), unit: 'ms' },
        );
        rows.push(
          ours
            ? versus({
                section: csection,
                metric: `${n} p99`,
                value: p99(c[phase]),
                floor: p99(fc[phase]),
                floorLabel: 'direct',
                unit: 'ms',
              })
            : { section: csection, metric: 'direct (floor) p99', value: p99(c[phase]), unit: 'ms' },
        );
      }
    }
  }
  return rows;
}

/**
 * Section 4: a configuration directory of 1000 `.conflist` files (bridge + portmap + tuning,
 * ~600 bytes each). Timed, interleaved over `reps` rounds after a warm-up round:
 * - floor: readdir, sort, then read and JSON.parse every file, one after the other (what any loader
 *   must at least do);
 * - loadNetworkConf(dir, <the name of the last file>): Go's lookup, which parses every file before it;
 * - loadNetworkConfDir(dir): every network with per-file diagnostics;
 * - NetworkManager start: construct + start() (the scan plus the network set), then close().
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadNetworkConf, loadNetworkConfDir } from '../src/config/load.ts';
import { NetworkManager } from '../src/runtime/manager.ts';
import { type Row, versus } from './report.ts';
import { scratchDir } from './scratch.ts';
import { median, now } from './stats.ts';

export interface ConfigLoadOptions {
  files: number;
  reps: number;
}

function conflist(i: number): string {
  const name = `net-${String(i).padStart(4, '0')}`;
  return JSON.stringify(
    {
      cniVersion: '1.0.0',
      name,
      plugins: [
        {
          type: 'bridge',
          bridge: `cni${String(i)}`,
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: `10.${String(100 + (i >> 8))}.${String(i & 255)}.0/24` }]],
            routes: [{ dst: '0.0.0.0/0' }],
          },
        },
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
        { type: 'tuning', sysctl: { 'net.core.somaxconn': '512' } },
      ],
    },
    null,
    2,
  );
}

export async function configLoad(opts: ConfigLoadOptions): Promise<Row[]> {
  const dir = await scratchDir('conf');
  const confDir = path.join(dir, 'net.d');
  await mkdir(confDir);
  for (let i = 0; i < opts.files; i++)
    await writeFile(path.join(confDir, `${String(i).padStart(4, '0')}-net.conflist`), conflist(i));
  const last = `net-${String(opts.files - 1).padStart(4, '0')}`;

  const methods: Array<[string, () => Promise<unknown>]> = [
    [
      'floor',
      async () => {
        const names = (await readdir(confDir)).sort();
        for (const n of names) JSON.parse(await readFile(path.join(confDir, n), 'utf8'));
      },
    ],
    [
      'loadNetworkConf (last name)',
      async () => {
        const l = await loadNetworkConf(confDir, last);
        if (l.name !== last) throw new Error('loadNetworkConf found the wrong network');
      },
    ],
    [
      'loadNetworkConfDir',
      async () => {
        const r = await loadNetworkConfDir(confDir);
        if (r.networks.length !== opts.files)
          throw new Error(`loadNetworkConfDir: ${String(r.networks.length)} networks`);
      },
    ],
    [
      'NetworkManager start',
      async () => {
        const m = new NetworkManager({
          confDir,
          pluginDirs: ['/usr/lib/cni'],
          cacheDir: path.join(dir, 'cache'),
          networks: 'all',
          lockFiles: false,
        });
        await m.start();
        if (m.networks.length !== opts.files)
          throw new Error(`NetworkManager: ${String(m.networks.length)} networks`);
        await m.close();
      },
    ],
  ];
  const times = new Map<string, number[]>(methods.map(([n]) => [n, []]));
  for (let round = 0; round < opts.reps + 1; round++) {
    for (let k = 0; k < methods.length; k++) {
      const [n, fn] = methods[(round + k) % methods.length] as [string, () => Promise<unknown>];
      const t0 = now();
      await fn();
      if (round > 0) times.get(n)?.push(now() - t0);
    }
  }
  const section = `config dir: ${String(opts.files)} conflists (median of ${String(opts.reps)})`;
  const floor = median(times.get('floor') as number[]);
  const rows: Row[] = [
    { section, metric: 'floor: readdir + readFile + JSON.parse each', value: floor, unit: 'ms' },
  ];
  for (const [n] of methods.slice(1)) {
    const v = median(times.get(n) as number[]);
    rows.push(
      versus({
        section,
        metric: n,
        value: v,
        floor,
        floorLabel: 'read+parse',
        unit: 'ms',
        target: '< 150 ms',
        pass: v < 150,
      }),
    );
  }
  return rows;
}

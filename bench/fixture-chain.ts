/**
 * Section 2: a list of three `instant` fixture plugins (POSIX sh, answer at once) at spec 1.1.0,
 * ADD then DEL for `count` containers through CNIConfig and through the plugins run directly
 * (see chains.ts). With plugins this cheap, what is left over the floor is our own cost per call:
 * lookup, request building, result validation, the cache write (fsync'd) and the spawn wrapper.
 */
import { fileURLToPath } from 'node:url';
import { networkConfFromBytes } from '../src/config/parse.ts';
import type { Exec } from '../src/invoke/exec.ts';
import { chainBench } from './chains.ts';
import type { Row } from './report.ts';
import { onCleanup, scratchDir } from './scratch.ts';

export const FIXTURE_PLUGIN_DIR = fileURLToPath(new URL('../fixtures/plugins/', import.meta.url));

export const FIXTURE_CONFLIST = JSON.stringify({
  cniVersion: '1.1.0',
  name: 'lcb-fixture',
  plugins: [{ type: 'instant' }, { type: 'instant', n: 2 }, { type: 'instant', n: 3 }],
});

export interface FixtureChainOptions {
  count: number;
  width: number;
  execs: Record<string, Exec>;
}

export async function fixtureChain(opts: FixtureChainOptions): Promise<Row[]> {
  const dir = await scratchDir('fixture');
  const live = new Map<string, () => Promise<void>>();
  onCleanup('DEL leftover fixture attachments', async () => {
    for (const del of live.values()) await del().catch(() => undefined);
  });
  return chainBench({
    label: 'fixture chain (3 x instant, 1.1.0)',
    list: networkConfFromBytes(FIXTURE_CONFLIST),
    pluginDirs: [FIXTURE_PLUGIN_DIR],
    cacheDir: dir,
    containers: (variant, i) => ({
      containerId: `lcb-${variant}-${String(i)}`,
      netns: '/run/netns/lcb-fixture',
      ifName: 'eth0',
    }),
    execs: opts.execs,
    count: opts.count,
    width: opts.width,
    concurrent: true,
    live,
  });
}

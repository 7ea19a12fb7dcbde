/**
 * Section 3: the real plugins, bridge (with host-local IPAM) + portmap + tuning at spec 1.0.0,
 * ADD then DEL for `count` containers, each in its own network namespace (created before, and
 * deleted after, the timed part), through CNIConfig and through the plugins run directly (see
 * chains.ts). Needs root and the plugins in /usr/lib/cni.
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import { networkConfFromBytes } from '../src/config/parse.ts';
import type { Exec } from '../src/invoke/exec.ts';
import { chainBench } from './chains.ts';
import {
  createNamespaces,
  removeLinkAtCleanup,
  restoreIpForwardAtCleanup,
  SUBNET,
  sweepPortmapChainsAtCleanup,
  TAG,
} from './host.ts';
import type { Row } from './report.ts';
import { onCleanup, scratchDir } from './scratch.ts';

export const REAL_PLUGIN_DIR = '/usr/lib/cni';
const PLUGINS = ['bridge', 'host-local', 'portmap', 'tuning'];

/** Why the section cannot run here, or undefined when it can. */
export async function realChainUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root';
  for (const p of PLUGINS) {
    try {
      await access(path.join(REAL_PLUGIN_DIR, p));
    } catch {
      return `needs ${path.join(REAL_PLUGIN_DIR, p)} (Debian: containernetworking-plugins)`;
    }
  }
  return undefined;
}

export interface RealChainOptions {
  count: number;
  width: number;
  execs: Record<string, Exec>;
}

export async function realChain(opts: RealChainOptions): Promise<Row[]> {
  const dir = await scratchDir('real');
  await restoreIpForwardAtCleanup();
  await removeLinkAtCleanup(TAG);
  await sweepPortmapChainsAtCleanup();
  const variants = ['floor', ...Object.keys(opts.execs)];
  // count + 1 per variant: index `count` is the warm-up container.
  const names = variants.flatMap((_, v) =>
    Array.from({ length: opts.count + 1 }, (_, i) => `${TAG}-${String(v)}-${String(i)}`),
  );
  const paths = await createNamespaces(names);
  const nsPath = new Map(names.map((n, i) => [n, paths[i] as string]));
  const live = new Map<string, () => Promise<void>>();
  onCleanup('DEL leftover attachments', async () => {
    for (const del of [...live.values()].reverse()) await del().catch(() => undefined);
  });

  const conflist = {
    cniVersion: '1.0.0',
    name: `${TAG}-net`,
    plugins: [
      {
        type: 'bridge',
        bridge: TAG,
        isGateway: true,
        ipMasq: false,
        ipam: { type: 'host-local', ranges: [[{ subnet: SUBNET }]], dataDir: path.join(dir, 'ipam') },
      },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      { type: 'tuning', sysctl: { 'net.core.somaxconn': '512' } },
    ],
  };
  const list = networkConfFromBytes(JSON.stringify(conflist));
  return chainBench({
    label: 'real chain (bridge+host-local, portmap, tuning; 1.0.0)',
    list,
    pluginDirs: [REAL_PLUGIN_DIR],
    cacheDir: path.join(dir, 'cache'),
    containers: (variant, i) => {
      const v = variants.indexOf(variant);
      const name = `${TAG}-${String(v)}-${String(i)}`;
      return {
        containerId: `${TAG}-${String(v)}-${String(i)}`,
        netns: nsPath.get(name) as string,
        ifName: 'eth0',
        // Host ports 20000 + 1000 * variant + i: disjoint between variants and containers.
        capabilityArgs: {
          portMappings: [{ hostPort: 20000 + 1000 * v + i, containerPort: 80, protocol: 'tcp' }],
        },
      };
    },
    execs: opts.execs,
    count: opts.count,
    width: opts.width,
    concurrent: true,
    maxRatio: 1.1,
    live,
  });
}

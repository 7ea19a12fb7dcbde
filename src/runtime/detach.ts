/**
 * Teardown and CHECK, driven by the attachment cache: each cached attachment is handled with its
 * own cached config, args and capability args, so they work after the config file or the
 * namespace is gone. Also the reading of a container's cached attachments that GC shares.
 */
import type { RuntimeConf } from '../cni/types.ts';
import type { NetworkAttachment } from '../cache/cache.ts';
import { confListFromConf } from '../config/load.ts';
import { networkConfFromBytes, pluginConfFromBytes } from '../config/parse.ts';
import type { NetworkConfigList } from '../config/types.ts';
import { AggregateLibcniError, ConfigError, LibcniError } from '../core/errors.ts';
import { greaterThanOrEqualTo } from '../types/version.ts';
import { type PlannedAttachment, plan } from './attach.ts';
import { chooseContainerNetworks, validEntries } from './container-networks.ts';
import { asError, type Cni } from './context.ts';
import type { OperationContext } from './coordination.ts';
import type { ManagedNetwork } from './network-set.ts';
import type { ContainerOpOptions, DetachedAttachment, TeardownResult } from './types.ts';

/**
 * The network list to DEL/CHECK a cached attachment with: the cached bytes, as ocicni and podman
 * do, so the operation matches what was set up even if the file changed or is gone. Bytes that
 * hold a single plugin (a legacy `.conf` added directly) are wrapped in a list. When the bytes
 * cannot be used — unparseable, or a list whose plugins came from a subdirectory (Go caches only
 * the file's own bytes) — the loaded network of that name is used.
 */
export function listForCached(a: NetworkAttachment, loaded: readonly ManagedNetwork[]): NetworkConfigList {
  let list: NetworkConfigList | undefined;
  let problem: Error | undefined;
  try {
    list = networkConfFromBytes(a.config);
    if (list.plugins.length === 0) {
      list = undefined;
      try {
        list = confListFromConf(pluginConfFromBytes(a.config));
      } catch {
        problem = new ConfigError(`cached config of network ${JSON.stringify(a.network)} lists no plugins`);
      }
    }
  } catch (e) {
    problem = asError(e);
  }
  if (list === undefined) {
    const fallback = loaded.find((n) => n.name === a.network);
    if (fallback) return fallback.list;
    throw new LibcniError(
      `cannot delete attachment ${a.network}/${a.ifName}: cached config unusable and network not loaded: ${problem?.message ?? 'unknown'}`,
      { cause: problem, context: { network: a.network, containerId: a.containerId, ifName: a.ifName } },
    );
  }
  // The cache file is named after the network the runtime asked for; keep that name authoritative.
  return list.name === a.network ? list : { ...list, name: a.network };
}

/** The runtime config of a cached attachment, in the namespace at `netnsPath`. */
export function rtForCached(a: NetworkAttachment, netnsPath: string): RuntimeConf {
  return {
    containerId: a.containerId,
    netns: netnsPath,
    ifName: a.ifName,
    args: a.cniArgs,
    capabilityArgs: a.capabilityArgs,
  };
}

/** A container's cached attachments, newest first (cache file mtime, then network order). */
export async function cachedAttachments(
  cni: Cni,
  containerId: string,
  loaded: readonly ManagedNetwork[],
): Promise<NetworkAttachment[]> {
  const all = await cni.getCachedAttachments(containerId);
  const order = new Map(loaded.map((n, i) => [n.name, i]));
  const stamped = await Promise.all(
    all.map(async (a) => {
      // vanished meanwhile: sorts as oldest
      const mtime = (await cni.getCachedAttachmentMtime(a)) ?? 0n;
      return { a, mtime };
    }),
  );
  stamped.sort((x, y) => {
    if (x.mtime !== y.mtime) return x.mtime > y.mtime ? -1 : 1;
    return (order.get(y.a.network) ?? -1) - (order.get(x.a.network) ?? -1);
  });
  return stamped.map((s) => s.a);
}

/** What one step of a teardown adds to its result. */
interface TeardownProgress {
  detached: DetachedAttachment[];
  errors: Error[];
}

/** See {@link NetworkManager.teardown}. */
export async function teardown(
  ctx: OperationContext,
  containerId: string,
  netnsPath: string,
  opts: ContainerOpOptions,
): Promise<TeardownResult> {
  return ctx.coordination.withContainer(containerId, opts.signal, async (snapshot) => {
    const { networks } = snapshot;
    const progress: TeardownProgress = { detached: [], errors: [] };
    const handled = await delCached(ctx, containerId, netnsPath, networks, opts.signal, progress);
    let planned: PlannedAttachment[] = [];
    try {
      if (opts.networks === undefined) planned = plan(ctx.options, containerId, netnsPath, networks, opts);
      else {
        const chosen = chooseContainerNetworks(snapshot, opts.networks, opts.perNetwork, ctx.options, false);
        planned = plan(ctx.options, containerId, netnsPath, chosen.networks, {
          ...opts,
          perNetwork: chosen.perNetwork,
        });
      }
    } catch (e) {
      progress.errors.push(asError(e));
    }
    for (const p of planned.reverse()) {
      if (handled.has(p.network.name)) continue;
      try {
        await ctx.cni.delNetworkList(p.list, p.rt, { signal: opts.signal });
        detachedOne(ctx, progress, {
          containerId,
          network: p.network.name,
          ifName: p.rt.ifName,
          source: 'config',
        });
      } catch (e) {
        progress.errors.push(asError(e));
      }
    }
    // An entry no DEL could read (of a network no longer loaded, or under another interface name)
    // would otherwise stay forever, invisible to listing: move it aside and say so.
    try {
      // Each one is reported where it happens (channel, then the cacheQuarantine event).
      await ctx.cni.quarantineCorruptCache(containerId);
    } catch (e) {
      progress.errors.push(asError(e));
    }
    if (progress.errors.length > 0) {
      throw new AggregateLibcniError(progress.errors, { context: { command: 'DEL', containerId } });
    }
    return { detached: progress.detached };
  });
}

/** DEL each cached attachment, newest first, with its cached config; returns the networks handled. */
async function delCached(
  ctx: OperationContext,
  containerId: string,
  netnsPath: string,
  networks: readonly ManagedNetwork[],
  signal: AbortSignal | undefined,
  progress: TeardownProgress,
): Promise<Set<string>> {
  const handled = new Set<string>();
  let cached: NetworkAttachment[] = [];
  try {
    cached = await cachedAttachments(ctx.cni, containerId, networks);
  } catch (e) {
    progress.errors.push(asError(e));
  }
  for (const a of cached) {
    handled.add(a.network);
    try {
      const list = listForCached(a, networks);
      await ctx.cni.delNetworkList(list, rtForCached(a, netnsPath), { signal });
      detachedOne(ctx, progress, { containerId, network: a.network, ifName: a.ifName, source: 'cache' });
    } catch (e) {
      progress.errors.push(asError(e));
    }
  }
  return handled;
}

function detachedOne(ctx: OperationContext, progress: TeardownProgress, d: DetachedAttachment): void {
  progress.detached.push(d);
  ctx.notify('detached', d);
}

/** See {@link NetworkManager.check}. */
export async function check(
  ctx: OperationContext,
  containerId: string,
  netnsPath: string,
  opts: ContainerOpOptions,
): Promise<void> {
  return ctx.coordination.withContainer(containerId, opts.signal, async ({ networks }) => {
    const errors: Error[] = [];
    const cached = (await cachedAttachments(ctx.cni, containerId, networks)).reverse();
    const attached = new Set(cached.map((a) => a.network));
    const expected = expectedNames(networks, opts);
    for (const name of expected) {
      if (!attached.has(name)) {
        errors.push(
          new LibcniError(`container ${containerId} is not attached to network ${JSON.stringify(name)}`, {
            context: { command: 'CHECK', network: name, containerId },
          }),
        );
      }
    }
    for (const a of cached) {
      try {
        const list = listForCached(a, networks);
        if (!supportsCheck(list.cniVersion)) continue;
        await ctx.cni.checkNetworkList(list, rtForCached(a, netnsPath), { signal: opts.signal });
      } catch (e) {
        errors.push(asError(e));
      }
    }
    if (errors.length > 0)
      throw new AggregateLibcniError(errors, { context: { command: 'CHECK', containerId } });
  });
}

/**
 * The networks a CHECK expects the container on: the manager's set, or the container's own list
 * (`networks`, as given to setup) after the built-in networks it does not name.
 */
function expectedNames(networks: readonly ManagedNetwork[], opts: ContainerOpOptions): string[] {
  if (opts.networks === undefined) return networks.map((n) => n.name);
  const own = validEntries(opts.networks).map((e) => e.name);
  const builtins = networks.filter((n) => n.builtin && !own.includes(n.name)).map((n) => n.name);
  return [...builtins, ...own];
}

/** Whether a configuration's version has CHECK (>= 0.4.0). */
export function supportsCheck(version: string): boolean {
  try {
    return greaterThanOrEqualTo(version, '0.4.0');
  } catch {
    return false;
  }
}

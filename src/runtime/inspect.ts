/**
 * A container's networking read back from the attachment cache alone (CRI-O's
 * `GetPodNetworkStatus`, containerd's pod IP after a restart): it needs no setup in this process,
 * only the cache the setup wrote. On top of the merged view setup returns, the pod IPs the way
 * containerd picks them, and one DNS block a runtime can write into `resolv.conf`.
 */
import type { NetworkAttachment } from '../cache/cache.ts';
import type { Result } from '../types/result-model.ts';
import { toMergeable } from './attach.ts';
import { asError } from './context.ts';
import type { OperationContext } from './coordination.ts';
import { cachedAttachments, listForCached, rtForCached, supportsCheck } from './detach.ts';
import { mergeResults } from './merge.ts';
import type { ManagedNetwork } from './network-set.ts';
import type {
  AttachmentCheck,
  InspectedAttachment,
  InspectedIP,
  InspectOptions,
  InspectResult,
  ResolvDNS,
} from './types.ts';

/** An attachment's result as the merge reads it (converted to 1.1.0), with where it came from. */
interface Part {
  network: string;
  ifName: string;
  raw: Result;
  converted: Result;
}

/** See {@link NetworkManager.inspect}. */
export async function inspect(
  ctx: OperationContext,
  containerId: string,
  opts: InspectOptions,
): Promise<InspectResult> {
  return ctx.coordination.withContainer(containerId, opts.signal, async ({ networks }) => {
    // Oldest first: the order setup made them (cache file mtime, then network order).
    const cached = (await cachedAttachments(ctx.cni, containerId, networks)).reverse();
    const attachments: InspectedAttachment[] = [];
    const parts: Part[] = [];
    for (const a of cached) {
      const one = await inspectOne(ctx, a, networks, opts);
      attachments.push(one);
      if (one.result === undefined) continue;
      try {
        parts.push({
          network: a.network,
          ifName: a.ifName,
          raw: one.result,
          converted: toMergeable(one.result),
        });
      } catch (e) {
        one.error = asError(e);
      }
    }
    const merged = mergeResults(parts);
    const ips = containerIPs(parts, merged.interfaces);
    const primary = primaryInterface(ips);
    const ok = attachments.every((x) => x.error === undefined && x.check?.outcome !== 'failed');
    return {
      containerId,
      attachments,
      interfaces: merged.interfaces,
      routes: merged.routes,
      ips,
      primaryIPv4: ips.find((ip) => ip.ifName === primary && ip.family === 4)?.ip,
      primaryIPv6: ips.find((ip) => ip.ifName === primary && ip.family === 6)?.ip,
      dns: mergeDns(parts),
      checked: opts.check === true,
      ok,
    };
  });
}

/** One cached attachment: its result and, with `check`, CHECK's outcome. */
async function inspectOne(
  ctx: OperationContext,
  a: NetworkAttachment,
  networks: readonly ManagedNetwork[],
  opts: InspectOptions,
): Promise<InspectedAttachment> {
  const out: InspectedAttachment = {
    network: a.network,
    ifName: a.ifName,
    netns: a.netns,
    result: undefined,
  };
  let list: ReturnType<typeof listForCached>;
  try {
    list = listForCached(a, networks);
    out.result = await ctx.cni.getNetworkListCachedResult(list, rtForCached(a, a.netns));
  } catch (e) {
    out.error = asError(e);
    return out;
  }
  if (opts.check === true) out.check = await checkOne(ctx, a, list, opts.signal);
  return out;
}

async function checkOne(
  ctx: OperationContext,
  a: NetworkAttachment,
  list: ReturnType<typeof listForCached>,
  signal: AbortSignal | undefined,
): Promise<AttachmentCheck> {
  if (!supportsCheck(list.cniVersion)) return { outcome: 'unsupported', cniVersion: list.cniVersion };
  try {
    await ctx.cni.checkNetworkList(list, rtForCached(a, a.netns), { signal });
    return { outcome: 'passed' };
  } catch (e) {
    // A cancelled inspect is the caller's doing, not the attachment's state: it rejects.
    if (signal?.aborted) throw e;
    return { outcome: 'failed', error: asError(e) };
  }
}

/**
 * The interfaces inside the container, in attachment order: those a result placed in a sandbox,
 * in the order it listed them, then the one the network was asked to create (by definition in
 * the container; addresses without an interface index land there). Their addresses, flattened.
 */
function containerIPs(parts: readonly Part[], interfaces: InspectResult['interfaces']): InspectedIP[] {
  const names: string[] = [];
  for (const part of parts) {
    const listed = (part.converted as { interfaces?: unknown }).interfaces;
    for (const iface of Array.isArray(listed) ? listed : []) {
      const { name, sandbox } = (iface ?? {}) as { name?: unknown; sandbox?: unknown };
      if (typeof name === 'string' && typeof sandbox === 'string' && sandbox !== '' && !names.includes(name))
        names.push(name);
    }
    if (!names.includes(part.ifName)) names.push(part.ifName);
  }
  const ips: InspectedIP[] = [];
  for (const ifName of names) {
    const entry = interfaces[ifName];
    if (entry === undefined) continue;
    for (const { address, gateway } of entry.ips) {
      const ip = address.split('/')[0] as string;
      const one: InspectedIP = {
        ifName,
        network: entry.network,
        address,
        ip,
        family: ip.includes(':') ? 6 : 4,
      };
      if (gateway !== undefined) one.gateway = gateway;
      ips.push(one);
    }
  }
  return ips;
}

/**
 * The interface the pod IPs come from: containerd takes the addresses of its default interface
 * (`eth0`); with interface names chosen per network, the first container interface that has an
 * address stands in for it. `lo` is never it: the loopback plugin reports 127.0.0.1 and ::1 there.
 */
function primaryInterface(ips: readonly InspectedIP[]): string | undefined {
  return ips.find((ip) => ip.ifName !== 'lo')?.ifName;
}

/** Every attachment's DNS settings, in attachment order, each value kept once. */
function mergeDns(parts: readonly Part[]): ResolvDNS {
  const out: ResolvDNS = { nameservers: [], search: [], options: [] };
  const add = (into: string[], values: unknown) => {
    if (!Array.isArray(values)) return;
    for (const v of values) if (typeof v === 'string' && v !== '' && !into.includes(v)) into.push(v);
  };
  for (const part of parts) {
    const dns = (part.converted as { dns?: unknown }).dns;
    if (typeof dns !== 'object' || dns === null) continue;
    const d = dns as Record<string, unknown>;
    add(out.nameservers, d.nameservers);
    add(out.search, d.search);
    add(out.options, d.options);
    if (out.domain === undefined && typeof d.domain === 'string' && d.domain !== '') out.domain = d.domain;
  }
  return out;
}

/**
 * Merging the results of a container's networks into one view a runtime can read: per container
 * interface its MAC, sandbox and addresses, plus every route and DNS block.
 *
 * The difference from go-cni is attribution. go-cni puts every IP that has no `interface` index into
 * `<prefix>0`, whichever network produced it, and resolves an index against a merged interface table.
 * Here an index is resolved against the interfaces of the result it appears in, and an IP without
 * one belongs to the interface that network was asked to create.
 */
import type { DNS, Result, Route } from '../types/result-model.ts';

/** One address on a container interface. */
export interface MergedIP {
  /** CIDR notation, e.g. `10.1.2.3/24`. */
  address: string;
  gateway?: string | undefined;
}

/** A container interface in the merged view. */
export interface MergedInterface {
  /** The network that created (or reported) it. */
  network: string;
  mac?: string | undefined;
  mtu?: number | undefined;
  /** The namespace path the plugin reported it in. */
  sandbox?: string | undefined;
  ips: MergedIP[];
}

/** A route reported by one of the networks (with spec 1.1 attributes when present). */
export type MergedRoute = Route & {
  /** The network whose result listed it. */
  network: string;
};

/** A DNS block reported by one of the networks. */
export type MergedDNS = DNS & {
  network: string;
};

/** One network's part of a setup. */
export interface NetworkAttachmentResult {
  network: string;
  ifName: string;
  /** The result exactly as the plugin chain returned it (and as it was cached). */
  result: Result;
}

/** What {@link NetworkManager.setup} returns. */
export interface SetupResult {
  /** Container-side interfaces keyed by name. */
  interfaces: Record<string, MergedInterface>;
  routes: MergedRoute[];
  /** Each network's DNS block that has any content, in network order. */
  dns: MergedDNS[];
  /** Each network's raw result, in network order. */
  networks: NetworkAttachmentResult[];
}

// The 1.x result shape, read defensively: convertResult gives us this, but a merge must never throw
// on a field a plugin left out.
interface ViewInterface {
  name?: unknown;
  mac?: unknown;
  mtu?: unknown;
  sandbox?: unknown;
}
interface ViewIP {
  interface?: unknown;
  address?: unknown;
  gateway?: unknown;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function strings(v: unknown): string[] | undefined {
  const out = list(v).filter((x): x is string => typeof x === 'string');
  return out.length > 0 ? out : undefined;
}

/**
 * Merge per-network results (each already converted to a 1.x version) into one view.
 *
 * Which interfaces appear: those the plugin placed in a sandbox (the container side), those an IP
 * points at, and always the interface the network was asked to create (IPs without an index land
 * there). Host-side veths and bridges are left out; they remain in each network's raw result.
 */
export function mergeResults(
  parts: ReadonlyArray<{ network: string; ifName: string; converted: Result; raw: Result }>,
): SetupResult {
  const merged: SetupResult = { interfaces: {}, routes: [], dns: [], networks: [] };
  for (const part of parts) {
    merged.networks.push({ network: part.network, ifName: part.ifName, result: part.raw });
    const res = part.converted as unknown as Record<string, unknown>;
    const ifaces = list(res.interfaces) as Array<ViewInterface | null>;
    const local = new Map<number, MergedInterface>();
    const entryFor = (name: string, from?: ViewInterface): MergedInterface => {
      let entry = merged.interfaces[name];
      if (entry === undefined || entry.network !== part.network) {
        // A later network reporting an interface of the same name replaces the earlier entry: one
        // namespace cannot hold two interfaces with one name, so the later report is the current one.
        entry = { network: part.network, ...interfaceFields(from), ips: [] };
        merged.interfaces[name] = entry;
      } else if (from) {
        const fields = interfaceFields(from);
        entry.mac ??= fields.mac;
        entry.mtu ??= fields.mtu;
        entry.sandbox ??= fields.sandbox;
      }
      return entry;
    };
    ifaces.forEach((iface, idx) => {
      const name = str(iface?.name);
      if (name === undefined) return;
      if (str(iface?.sandbox) !== undefined || name === part.ifName)
        local.set(idx, entryFor(name, iface ?? undefined));
    });
    for (const ip of list(res.ips) as Array<ViewIP | null>) {
      const address = str(ip?.address);
      if (address === undefined) continue;
      let target: MergedInterface;
      const idx = ip?.interface;
      if (typeof idx === 'number' && Number.isInteger(idx) && idx >= 0 && idx < ifaces.length) {
        const known = local.get(idx);
        if (known) target = known;
        else {
          const name = str(ifaces[idx]?.name);
          target = name === undefined ? entryFor(part.ifName) : entryFor(name, ifaces[idx] ?? undefined);
          local.set(idx, target);
        }
      } else {
        target = entryFor(part.ifName);
      }
      const gateway = str(ip?.gateway);
      target.ips.push(gateway === undefined ? { address } : { address, gateway });
    }
    // The requested interface always appears, even for results that list no interfaces (0.2.0 up-converted).
    entryFor(part.ifName);
    for (const r of list(res.routes)) {
      if (typeof r !== 'object' || r === null) continue;
      const route = r as Record<string, unknown>;
      const dst = str(route.dst);
      if (dst === undefined) continue;
      merged.routes.push({ ...(route as unknown as Route), dst, network: part.network });
    }
    const dns = (res.dns ?? {}) as Record<string, unknown>;
    const block: MergedDNS = { network: part.network };
    const nameservers = strings(dns.nameservers);
    const domain = str(dns.domain);
    const search = strings(dns.search);
    const options = strings(dns.options);
    if (nameservers) block.nameservers = nameservers;
    if (domain) block.domain = domain;
    if (search) block.search = search;
    if (options) block.options = options;
    if (Object.keys(block).length > 1) merged.dns.push(block);
  }
  return merged;
}

/** The scalar fields of a reported interface that are set, in a fixed order. */
function interfaceFields(from: ViewInterface | undefined): { mac?: string; mtu?: number; sandbox?: string } {
  const out: { mac?: string; mtu?: number; sandbox?: string } = {};
  if (!from) return out;
  const mac = str(from.mac);
  if (mac !== undefined) out.mac = mac;
  if (typeof from.mtu === 'number' && from.mtu > 0) out.mtu = from.mtu;
  const sandbox = str(from.sandbox);
  if (sandbox !== undefined) out.sandbox = sandbox;
  return out;
}

/**
 * Choosing the container-side interface name of each network, the way ocicni does it (go-cni's
 * index-based naming breaks as soon as one name is given explicitly): names given by the caller or
 * fixed by the network (loopback's `lo`) are kept, and the others get `<prefix>0`, `<prefix>1`, … in
 * network order, skipping names already taken.
 */
import { ErrorCode, ValidationError } from '../core/errors.ts';
import { validateInterfaceName } from '../types/validate.ts';

/** One network to name an interface for. */
export interface InterfaceRequest {
  network: string;
  /** A name that must be used (explicit per-network ifName, or a built-in network's fixed name). */
  ifName?: string | undefined;
}

/**
 * The interface name of each request, in the same order. Throws a {@link ValidationError} when two
 * networks ask for one name or a name is not a valid Linux interface name.
 */
export function allocateInterfaceNames(requests: readonly InterfaceRequest[], prefix: string): string[] {
  const taken = new Map<string, string>();
  for (const r of requests) {
    if (r.ifName === undefined) continue;
    validateInterfaceName(r.ifName);
    const other = taken.get(r.ifName);
    if (other !== undefined) {
      throw new ValidationError(
        'ifName',
        ErrorCode.InvalidEnvironmentVariables,
        `interface name ${JSON.stringify(r.ifName)} requested for networks ${JSON.stringify(other)} and ${JSON.stringify(r.network)}`,
      );
    }
    taken.set(r.ifName, r.network);
  }
  let next = 0;
  return requests.map((r) => {
    if (r.ifName !== undefined) return r.ifName;
    while (taken.has(`${prefix}${next}`)) next++;
    const name = `${prefix}${next}`;
    next++;
    validateInterfaceName(name);
    taken.set(name, r.network);
    return name;
  });
}

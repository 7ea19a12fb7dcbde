/**
 * Networks chosen per container (setup's `networks`, like ocicni's `PodNetwork.Networks`): which
 * loaded networks they name, in what order, and with which interface names. The names are looked
 * up among every network the manager loaded, not only those it attaches by default, so a manager
 * that attaches one network by default can still give a container any of the others.
 */
import { ErrorCode, ValidationError } from '../core/errors.ts';
import { NotReadyError } from '../core/runtime-errors.ts';
import type { ResolvedOptions } from './context.ts';
import { allocateInterfaceNames } from './ifnames.ts';
import type { ManagedNetwork, NetworkSet } from './network-set.ts';
import type { ContainerNetwork, PerNetworkOptions } from './types.ts';

/** The networks of one container and each one's inputs, ready for `plan`. */
export interface ContainerChoice {
  networks: ManagedNetwork[];
  /** Per network name; every chosen network has an explicit `ifName` here. */
  perNetwork: Record<string, PerNetworkOptions>;
}

function invalid(message: string): ValidationError {
  return new ValidationError('networks', ErrorCode.InvalidNetworkConfig, message);
}

/** The entries, checked for shape and for names given twice ({@link ValidationError} otherwise). */
export function validEntries(entries: readonly ContainerNetwork[]): ContainerNetwork[] {
  if (!Array.isArray(entries)) throw invalid('networks must be an array of { name, ... }');
  if (entries.length === 0) throw invalid('networks names no network');
  const seen = new Set<string>();
  return entries.map((e: unknown, i) => {
    const name = (e as { name?: unknown } | null)?.name;
    if (typeof e !== 'object' || e === null || typeof name !== 'string' || name === '')
      throw invalid(`networks[${i}] must be an object with a non-empty string name`);
    if (seen.has(name)) throw invalid(`network ${JSON.stringify(name)} is named twice in networks`);
    seen.add(name);
    return e as ContainerNetwork;
  });
}

/** An entry's own fields over the `perNetwork` ones (field by field, so an entry may set only some). */
function ownInputs(entry: ContainerNetwork, base: PerNetworkOptions | undefined): PerNetworkOptions {
  return {
    ifName: entry.ifName ?? base?.ifName,
    args: entry.args ?? base?.args,
    capabilityArgs: entry.capabilityArgs ?? base?.capabilityArgs,
  };
}

/**
 * The networks `entries` name, in their order, after the manager's built-in networks (loopback)
 * that they do not name. Interface names are allocated over all of them as setup does, so that a
 * teardown given the same list names the same interfaces even when some network is gone.
 *
 * `strict` (setup): a name that is not loaded fails with {@link NotReadyError} listing every such
 * name. Otherwise (teardown, check) such entries are left out: nothing can be run for them
 * without their configuration, and their cache entries are handled apart.
 */
export function chooseContainerNetworks(
  set: NetworkSet,
  entries: readonly ContainerNetwork[],
  perNetwork: Readonly<Record<string, PerNetworkOptions>> | undefined,
  options: ResolvedOptions,
  strict: boolean,
): ContainerChoice {
  const valid = validEntries(entries);
  const named = new Set(valid.map((e) => e.name));
  const builtins = set.networks.filter((n) => n.builtin);
  const pool = [...builtins, ...set.available];
  const rows: Array<{ name: string; network: ManagedNetwork | undefined; own: PerNetworkOptions }> = [];
  for (const b of builtins) {
    if (!named.has(b.name))
      rows.push({ name: b.name, network: b, own: ownInputs({ name: b.name }, perNetwork?.[b.name]) });
  }
  for (const e of valid) {
    rows.push({
      name: e.name,
      network: pool.find((n) => n.name === e.name),
      own: ownInputs(e, perNetwork?.[e.name]),
    });
  }
  const unknown = rows.filter((r) => r.network === undefined).map((r) => r.name);
  if (strict && unknown.length > 0) {
    throw new NotReadyError(
      `network ${unknown.map((m) => JSON.stringify(m)).join(', ')} requested for the container is not loaded`,
      set.networks.filter((n) => !n.builtin).length,
      options.minNetworks,
      unknown,
    );
  }
  const ifNames = allocateInterfaceNames(
    rows.map((r) => ({ network: r.name, ifName: r.network?.fixedIfName ?? r.own.ifName })),
    options.interfacePrefix,
  );
  // No prototype: the keys are network names.
  const choice: ContainerChoice = {
    networks: [],
    perNetwork: Object.create(null) as ContainerChoice['perNetwork'],
  };
  rows.forEach((r, i) => {
    if (r.network === undefined) return;
    choice.networks.push(r.network);
    choice.perNetwork[r.name] = { ...r.own, ifName: ifNames[i] };
  });
  return choice;
}

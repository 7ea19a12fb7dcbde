/**
 * Setup: attach a container to every network of the set, one after another or all at once, and
 * on any failure undo what was attempted (the failed network included) under a deadline of its own.
 */
import type { RuntimeConf } from '../cni/types.ts';
import type { NetworkConfigList } from '../config/types.ts';
import { throwIfAborted } from '../core/abort.ts';
import { type RollbackOutcome, SetupError } from '../core/runtime-errors.ts';
import { convertResult } from '../types/convert.ts';
import type { Result } from '../types/result-model.ts';
import { mergeArgs } from './args.ts';
import { mergeCapabilityInputs, unusedCapabilities } from './capabilities.ts';
import { chooseContainerNetworks } from './container-networks.ts';
import { asError, DEFAULT_CLEANUP_TIMEOUT_MS, type ResolvedOptions } from './context.ts';
import type { OperationContext } from './coordination.ts';
import { allocateInterfaceNames } from './ifnames.ts';
import { mergeResults, type SetupResult } from './merge.ts';
import { type ManagedNetwork, notReadyReason } from './network-set.ts';
import type { ContainerOpOptions, SetupOptions } from './types.ts';

/** One attachment a setup makes (or a teardown without a cache entry undoes). */
export interface PlannedAttachment {
  network: ManagedNetwork;
  list: NetworkConfigList;
  rt: RuntimeConf;
}

/** One attachment made, with its result as the plugin returned it and converted for merging. */
interface Attached {
  network: string;
  ifName: string;
  raw: Result;
  converted: Result;
}

/** Convert a result for merging; a result we cannot convert is still returned raw. */
export function toMergeable(raw: Result): Result {
  const version = (raw as { cniVersion?: unknown }).cniVersion;
  if (version === '1.1.0') return raw;
  return convertResult(raw, '1.1.0');
}

/** The attachments a setup of `networks` makes: interface names, args and capability args. */
export function plan(
  options: ResolvedOptions,
  containerId: string,
  netnsPath: string,
  networks: readonly ManagedNetwork[],
  opts: SetupOptions | ContainerOpOptions,
): PlannedAttachment[] {
  const per = opts.perNetwork ?? {};
  const ifNames = allocateInterfaceNames(
    networks.map((n) => ({ network: n.name, ifName: n.fixedIfName ?? per[n.name]?.ifName })),
    options.interfacePrefix,
  );
  const common = opts as SetupOptions;
  return networks.map((network, i) => {
    const own = per[network.name];
    return {
      network,
      list: network.list,
      rt: {
        containerId,
        netns: netnsPath,
        ifName: ifNames[i] as string,
        args: withIgnoreUnknown(options, mergeArgs(common.args, own?.args)),
        capabilityArgs: mergeCapabilityInputs([
          { label: 'capabilities', capabilities: common.capabilities, capabilityArgs: common.capabilityArgs },
          {
            label: `perNetwork[${JSON.stringify(network.name)}].capabilities`,
            capabilities: own?.capabilities,
            capabilityArgs: own?.capabilityArgs,
          },
        ]),
      },
    };
  });
}

function withIgnoreUnknown(
  options: ResolvedOptions,
  args: Array<[string, string]> | undefined,
): Array<[string, string]> | undefined {
  if (args === undefined || options.raw.ignoreUnknownArgs === false) return args;
  if (args.some(([k]) => k.toLowerCase() === 'ignoreunknown')) return args;
  return [['IgnoreUnknown', '1'], ...args];
}

/** See {@link NetworkManager.setup}. */
export async function setup(
  ctx: OperationContext,
  containerId: string,
  netnsPath: string,
  opts: SetupOptions,
): Promise<SetupResult> {
  return ctx.coordination.withContainer(containerId, opts.signal, async (snapshot) => {
    let planned: PlannedAttachment[];
    if (opts.networks === undefined) {
      const notReady = notReadyReason(snapshot, ctx.options);
      if (notReady !== undefined) throw notReady;
      planned = plan(ctx.options, containerId, netnsPath, snapshot.networks, opts);
    } else {
      // Chosen per container: the manager's own set and its readiness rules do not apply; each
      // named network must be loaded (checked, with the interface names, before any plugin runs).
      const chosen = chooseContainerNetworks(snapshot, opts.networks, opts.perNetwork, ctx.options, true);
      planned = plan(ctx.options, containerId, netnsPath, chosen.networks, {
        ...opts,
        perNetwork: chosen.perNetwork,
      });
    }
    for (const p of planned) {
      for (const capability of unusedCapabilities(p.list.plugins, p.rt.capabilityArgs))
        ctx.notify('capabilityUnused', { containerId, network: p.network.name, capability });
    }
    const parts = opts.parallel
      ? await addParallel(ctx, containerId, planned, opts.signal)
      : await addSerial(ctx, containerId, planned, opts.signal);
    return mergeResults(parts);
  });
}

async function addOne(
  ctx: OperationContext,
  containerId: string,
  p: PlannedAttachment,
  signal: AbortSignal | undefined,
): Promise<Attached> {
  throwIfAborted(signal);
  const raw = await ctx.cni.addNetworkList(p.list, p.rt, { signal });
  const converted = toMergeable(raw);
  ctx.notify('attached', { containerId, network: p.network.name, ifName: p.rt.ifName, result: raw });
  return { network: p.network.name, ifName: p.rt.ifName, raw, converted };
}

async function addSerial(
  ctx: OperationContext,
  containerId: string,
  planned: PlannedAttachment[],
  signal: AbortSignal | undefined,
): Promise<Attached[]> {
  const attempted: PlannedAttachment[] = [];
  const parts: Attached[] = [];
  for (const p of planned) {
    attempted.push(p);
    try {
      parts.push(await addOne(ctx, containerId, p, signal));
    } catch (e) {
      const cause = asError(e);
      const outcome = await rollback(ctx, containerId, attempted, cause);
      throw new SetupError(cause, { containerId, network: p.network.name, ifName: p.rt.ifName }, outcome);
    }
  }
  return parts;
}

async function addParallel(
  ctx: OperationContext,
  containerId: string,
  planned: PlannedAttachment[],
  signal: AbortSignal | undefined,
): Promise<Attached[]> {
  // One failure cancels the siblings still running: their work is about to be undone anyway.
  // Failures are kept in the order they happened; those caused by that cancellation are noise.
  const siblings = new AbortController();
  const combined = signal ? AbortSignal.any([signal, siblings.signal]) : siblings.signal;
  const failures: Array<{ i: number; error: Error }> = [];
  const settled = await Promise.allSettled(
    planned.map((p, i) =>
      addOne(ctx, containerId, p, combined).catch((e: unknown) => {
        if (!siblings.signal.aborted) failures.push({ i, error: asError(e) });
        siblings.abort();
        throw e;
      }),
    ),
  );
  if (failures.length === 0) {
    return settled.map((s) => (s as PromiseFulfilledResult<Attached>).value);
  }
  const first = failures[0] as { i: number; error: Error };
  const failedPlan = planned[first.i] as PlannedAttachment;
  const outcome = await rollback(ctx, containerId, planned, first.error);
  throw new SetupError(
    first.error,
    { containerId, network: failedPlan.network.name, ifName: failedPlan.rt.ifName },
    outcome,
    failures.slice(1).map((f) => f.error),
  );
}

/** DEL the attempted attachments newest first, with a deadline of its own. */
async function rollback(
  ctx: OperationContext,
  containerId: string,
  attempted: PlannedAttachment[],
  cause: Error,
): Promise<RollbackOutcome> {
  const signal = AbortSignal.timeout(ctx.options.raw.cleanupTimeoutMs ?? DEFAULT_CLEANUP_TIMEOUT_MS);
  const errors: Error[] = [];
  const undone: Array<{ network: string; ifName: string }> = [];
  for (const p of [...attempted].reverse()) {
    try {
      await ctx.cni.delNetworkList(p.list, p.rt, { signal });
      undone.push({ network: p.network.name, ifName: p.rt.ifName });
      ctx.notify('detached', {
        containerId,
        network: p.network.name,
        ifName: p.rt.ifName,
        source: 'config',
      });
    } catch (e) {
      errors.push(asError(e));
    }
  }
  const outcome: RollbackOutcome = { ok: errors.length === 0, errors, undone };
  ctx.notify('rollback', { containerId, cause, ...outcome });
  return outcome;
}

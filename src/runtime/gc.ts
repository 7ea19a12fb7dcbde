/**
 * Garbage collection (see {@link NetworkManager.gc}): the cache is read and matched against the
 * valid set outside the exclusive section; under it, what changed meanwhile is read again, stale
 * attachments are DELeted with their own cached config, and every loaded network gets libcni's GC.
 */
import type { GCAttachment } from '../cni/types.ts';
import { AttachmentSet } from '../cache/attachment-set.ts';
import type { NetworkAttachment } from '../cache/cache.ts';
import type { NetworkConfigList } from '../config/types.ts';
import { throwIfAborted } from '../core/abort.ts';
import { AggregateLibcniError } from '../core/errors.ts';
import { asError, type Cni, DEFAULT_CLEANUP_TIMEOUT_MS } from './context.ts';
import type { GcWatch, OperationContext } from './coordination.ts';
import { listForCached, rtForCached } from './detach.ts';
import type { ManagedNetwork } from './network-set.ts';
import type { GcOptions, GcReport } from './types.ts';

/**
 * The valid set of a GC as hash lookups: container ids, or `(containerId, ifName)` pairs, each for
 * every network or for one. Built once, so matching a cached attachment is O(1), and each of the
 * caller's objects is read once.
 */
class ValidIndex {
  readonly byId: boolean;
  private readonly ids: Set<string>;
  /** The pairs, copied, in the caller's order. */
  private readonly pairs: ReadonlyArray<{ containerId: string; ifName: string; network: string | undefined }>;
  /** Pairs valid in every network. */
  private readonly anyNetwork = new AttachmentSet();
  /** Pairs valid in one network, by network. */
  private readonly oneNetwork = new Map<string, AttachmentSet>();
  private readonly perNetwork = new Map<string, GCAttachment[]>();

  constructor(valid: readonly string[] | readonly GCAttachment[]) {
    this.byId = valid.every((v) => typeof v === 'string');
    this.ids = new Set(this.byId ? (valid as readonly string[]) : []);
    this.pairs = this.byId
      ? []
      : (valid as readonly GCAttachment[]).map((p) => ({
          containerId: p.containerId,
          ifName: p.ifName,
          network: p.network,
        }));
    for (const p of this.pairs) {
      if (p.network === undefined) {
        this.anyNetwork.add(p.containerId, p.ifName);
        continue;
      }
      let set = this.oneNetwork.get(p.network);
      if (set === undefined) this.oneNetwork.set(p.network, (set = new AttachmentSet()));
      set.add(p.containerId, p.ifName);
    }
  }

  has(a: { containerId: string; ifName: string; network: string }): boolean {
    if (this.byId) return this.ids.has(a.containerId);
    return (
      this.anyNetwork.has(a.containerId, a.ifName) ||
      this.oneNetwork.get(a.network)?.has(a.containerId, a.ifName) === true
    );
  }

  /** The pairs that apply to `network`, each once, in the caller's order (computed once per network). */
  pairsFor(network: string): readonly GCAttachment[] {
    let out = this.perNetwork.get(network);
    if (out === undefined) {
      out = [];
      const listed = new AttachmentSet();
      for (const p of this.pairs) {
        if (p.network !== undefined && p.network !== network) continue;
        if (listed.add(p.containerId, p.ifName)) out.push({ containerId: p.containerId, ifName: p.ifName });
      }
      this.perNetwork.set(network, out);
    }
    return out;
  }
}

/** What GC does with one cached attachment. */
type GcVerdict = { keep: true } | { keep: false; list: NetworkConfigList } | { keep: true; error: Error };

/** Verdicts computed once per cached attachment, whether before or under the gate. */
type Verdicts = (a: NetworkAttachment, loaded: readonly ManagedNetwork[]) => GcVerdict;

/** The cached attachments to leave, and those to DEL with the list each names. */
interface Sorted {
  kept: NetworkAttachment[];
  stale: Array<{ a: NetworkAttachment; list: NetworkConfigList }>;
}

/** See {@link NetworkManager.gc}. */
export async function gc(
  ctx: OperationContext,
  valid: readonly string[] | readonly GCAttachment[],
  opts: GcOptions,
): Promise<GcReport> {
  if (!Array.isArray(valid)) {
    throw new TypeError(
      'gc: the list of valid containers or attachments is required (pass [] to remove all)',
    );
  }
  await ctx.config.ensureLoaded();
  throwIfAborted(opts.signal, { command: 'GC' });
  const index = new ValidIndex(valid);
  const verdicts = new WeakMap<NetworkAttachment, GcVerdict>();
  const verdict: Verdicts = (a, loaded) => {
    let v = verdicts.get(a);
    if (v === undefined) {
      v = gcVerdict(a, index, loaded);
      verdicts.set(a, v);
    }
    return v;
  };

  // Outside the exclusive section: read and match the whole cache.
  const watch = ctx.coordination.beginGcWatch();
  let release: () => void;
  let before = new Map<string, NetworkAttachment | undefined>();
  try {
    try {
      before = await readCacheByName(ctx.cni);
    } catch {
      // Read again below, under the gate; an error that persists is reported from there.
    }
    const loaded = ctx.config.current.networks;
    for (const a of before.values()) if (a !== undefined) verdict(a, loaded);
    if (!index.byId) for (const n of loaded) index.pairsFor(n.name);
    release = await ctx.coordination.acquireExclusive(opts.signal);
  } finally {
    ctx.coordination.endGcWatch(watch);
  }

  try {
    const networks = ctx.config.current.networks;
    const report: GcReport = { removed: [], errors: [], dryRun: opts.dryRun === true };
    const all = await readUnderGate(ctx.cni, before, watch, report);
    const { kept, stale } = sortOut(all, watch, (a) => verdict(a, networks), report);
    if (report.dryRun) {
      report.removed = stale.map(({ a }) => ({
        containerId: a.containerId,
        network: a.network,
        ifName: a.ifName,
      }));
      return report;
    }
    const signal =
      opts.signal ?? AbortSignal.timeout(ctx.options.raw.cleanupTimeoutMs ?? DEFAULT_CLEANUP_TIMEOUT_MS);
    await delStale(ctx, stale, kept, signal, report);
    await gcNetworks(ctx.cni, networks, kept, index, signal, report);
    ctx.notify('gc', report);
    return report;
  } finally {
    release();
  }
}

/** Every cache file by name, with what it holds (undefined: unreadable or not an entry). */
async function readCacheByName(cni: Cni): Promise<Map<string, NetworkAttachment | undefined>> {
  const out = new Map<string, NetworkAttachment | undefined>();
  for (const name of (await cni.listCacheEntryNames()) ?? []) {
    out.set(name, await cni.readCacheEntry(name));
  }
  return out;
}

/**
 * Under the gate: one listing; files read again only where something may have changed (a
 * container operated on since the GC started, or a name not read before).
 */
async function readUnderGate(
  cni: Cni,
  before: ReadonlyMap<string, NetworkAttachment | undefined>,
  watch: GcWatch,
  report: GcReport,
): Promise<NetworkAttachment[]> {
  let names: string[] = [];
  try {
    names = (await cni.listCacheEntryNames()) ?? [];
  } catch (e) {
    report.errors.push(asError(e));
  }
  const touched = (id: string): boolean => watch.inFlight.has(id) || watch.late.has(id);
  const all: NetworkAttachment[] = [];
  for (const name of names) {
    const seen = before.get(name);
    const a = seen !== undefined && !touched(seen.containerId) ? seen : await cni.readCacheEntry(name);
    if (a !== undefined) all.push(a);
  }
  return all;
}

/** Split the cache into what stays (valid, late, unusable config, GC disabled) and what goes. */
function sortOut(
  all: readonly NetworkAttachment[],
  watch: GcWatch,
  verdict: (a: NetworkAttachment) => GcVerdict,
  report: GcReport,
): Sorted {
  const out: Sorted = { kept: [], stale: [] };
  for (const a of all) {
    if (watch.late.has(a.containerId)) {
      out.kept.push(a);
      continue;
    }
    const v = verdict(a);
    if (v.keep) {
      if ('error' in v) report.errors.push(v.error);
      out.kept.push(a);
    } else if (v.list.disableGC) out.kept.push(a);
    else out.stale.push({ a, list: v.list });
  }
  return out;
}

/** DEL each stale attachment under its container's lock file; one that fails is kept. */
async function delStale(
  ctx: OperationContext,
  stale: Sorted['stale'],
  kept: NetworkAttachment[],
  signal: AbortSignal,
  report: GcReport,
): Promise<void> {
  for (const { a, list } of stale) {
    let releaseFile: (() => Promise<void>) | undefined;
    try {
      const pending = ctx.coordination.lockContainerFile(a.containerId, signal);
      if (pending) releaseFile = await pending;
      await ctx.cni.delNetworkList(list, rtForCached(a, a.netns), { signal });
      report.removed.push({ containerId: a.containerId, network: a.network, ifName: a.ifName });
      ctx.notify('detached', {
        containerId: a.containerId,
        network: a.network,
        ifName: a.ifName,
        source: 'cache',
      });
    } catch (e) {
      report.errors.push(asError(e));
      kept.push(a);
    } finally {
      if (releaseFile) await releaseFile();
    }
  }
}

/** libcni's GC for every loaded network, told what is left in the cache for it and what is valid. */
async function gcNetworks(
  cni: Cni,
  networks: readonly ManagedNetwork[],
  kept: readonly NetworkAttachment[],
  index: ValidIndex,
  signal: AbortSignal,
  report: GcReport,
): Promise<void> {
  const keptByNetwork = new Map<string, NetworkAttachment[]>();
  for (const a of kept) {
    const list = keptByNetwork.get(a.network);
    if (list === undefined) keptByNetwork.set(a.network, [a]);
    else list.push(a);
  }
  for (const n of networks) {
    const cachedAttachments = keptByNetwork.get(n.name) ?? [];
    const validAttachments: GCAttachment[] = cachedAttachments.map((a) => ({
      containerId: a.containerId,
      ifName: a.ifName,
    }));
    if (!index.byId) {
      const listed = new AttachmentSet();
      for (const a of cachedAttachments) listed.add(a.containerId, a.ifName);
      for (const p of index.pairsFor(n.name))
        if (!listed.has(p.containerId, p.ifName)) validAttachments.push(p);
    }
    try {
      // What is left in the cache for this network is `cachedAttachments`, all of it valid:
      // libcni's own sweep has nothing to do, and need not read the cache again.
      await cni.gcNetworkList(n.list, { validAttachments }, { signal, cachedAttachments });
    } catch (e) {
      const err = asError(e);
      if (err instanceof AggregateLibcniError) report.errors.push(...err.errors);
      else report.errors.push(err);
    }
  }
}

/** Keep a cached attachment (valid, or its config unusable) or DEL it with the list it names. */
function gcVerdict(a: NetworkAttachment, index: ValidIndex, loaded: readonly ManagedNetwork[]): GcVerdict {
  if (index.has(a)) return { keep: true };
  try {
    return { keep: false, list: listForCached(a, loaded) };
  } catch (e) {
    return { keep: true, error: asError(e) };
  }
}

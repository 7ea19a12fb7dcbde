/**
 * GC and STATUS over a network configuration list (spec 1.1.0): GC DELs what the cache holds
 * beyond the valid attachments, then asks every plugin to collect its own garbage; STATUS asks
 * every plugin whether it can take ADDs.
 */
import { AttachmentSet } from '../cache/attachment-set.ts';
import type { NetworkAttachment } from '../cache/cache.ts';
import { buildGcConfig, buildStatusConfig } from '../config/inject.ts';
import type { NetworkConfigList, PluginConfig } from '../config/types.ts';
import { AggregateLibcniError, type ErrorContext, LibcniError } from '../core/errors.ts';
import { greaterThanOrEqualTo } from '../types/version.ts';
import type { Engine } from './attachment.ts';
import type { InternalOptions } from './runner.ts';
import type { GCArgs, GCAttachment, RuntimeConf } from './types.ts';

/** greaterThanOrEqualTo that treats a malformed version as "no" (Go ignores the error there). */
function safeGte(v: string, min: string): boolean {
  try {
    return greaterThanOrEqualTo(v, min);
  } catch {
    return false;
  }
}

/**
 * GC one list: DEL (as one operation each) every cached attachment of the network that is not
 * valid, then (>= 1.1.0) send GC to every plugin. All failures are collected and thrown together.
 * `del` runs one DEL operation; `cachedAttachments` is the caller's listing of the cache, if any.
 */
export async function gcList(
  e: Engine,
  list: NetworkConfigList,
  args: GCArgs,
  opts: InternalOptions,
  cachedAttachments: readonly NetworkAttachment[] | undefined,
  del: (rt: RuntimeConf) => Promise<void>,
): Promise<void> {
  if (list.disableGC) return;
  let attachments: readonly NetworkAttachment[] | undefined = cachedAttachments;
  if (attachments === undefined) {
    try {
      attachments = await e.cache.listAttachments();
    } catch {
      return; // as Go: an unreadable cache directory ends GC quietly
    }
  }
  const stale = staleAttachments(list.name, attachments ?? [], args.validAttachments);
  const errors = await deleteStale(list.name, stale, del);
  if (safeGte(list.cniVersion, '1.1.0')) {
    const valid = args.validAttachments.map((a) => ({ containerId: a.containerId, ifName: a.ifName }));
    for (const plugin of list.plugins) {
      const err = await gcPlugin(e, list, plugin, valid, opts);
      if (err !== undefined) errors.push(err);
    }
  }
  if (errors.length === 1) throw errors[0] as Error;
  if (errors.length > 1)
    throw new AggregateLibcniError(errors, { context: { command: 'GC', network: list.name } });
}

/** The cached attachments of `network` that are not in `validAttachments`. */
function staleAttachments(
  network: string,
  attachments: readonly NetworkAttachment[],
  validAttachments: readonly GCAttachment[],
): NetworkAttachment[] {
  const mine = attachments.filter((a) => a.network === network);
  // Which of them are valid: one lookup per valid attachment, in a set of this network's cached
  // ones, rather than a set built of the whole valid list (which can be far longer).
  const cached = new AttachmentSet();
  for (const a of mine) cached.add(a.containerId, a.ifName);
  const valid = new AttachmentSet();
  if (mine.length > 0) {
    for (const v of validAttachments)
      if (cached.has(v.containerId, v.ifName)) valid.add(v.containerId, v.ifName);
  }
  return mine.filter((a) => !valid.has(a.containerId, a.ifName));
}

/** DEL each stale attachment with what its cache entry says; the failures, in order. */
async function deleteStale(
  network: string,
  stale: readonly NetworkAttachment[],
  del: (rt: RuntimeConf) => Promise<void>,
): Promise<Error[]> {
  const errors: Error[] = [];
  for (const a of stale) {
    const rt: RuntimeConf = {
      containerId: a.containerId,
      netns: a.netns,
      ifName: a.ifName,
      args: a.cniArgs,
      capabilityArgs: a.capabilityArgs,
    };
    try {
      await del(rt);
    } catch (e) {
      const err = e as Error;
      errors.push(
        new LibcniError(`failed to delete stale attachment ${a.containerId} ${a.ifName}: ${err.message}`, {
          cause: err,
          context: { command: 'DEL', network, containerId: a.containerId, ifName: a.ifName },
        }),
      );
    }
  }
  return errors;
}

/** Send GC to one plugin; its failure, or undefined. */
async function gcPlugin(
  e: Engine,
  list: NetworkConfigList,
  plugin: PluginConfig,
  validAttachments: GCAttachment[],
  opts: InternalOptions,
): Promise<Error | undefined> {
  const context: ErrorContext = { command: 'GC', plugin: plugin.network.type, network: list.name };
  try {
    await e.plugins.runForStatus(
      {
        command: 'GC',
        type: plugin.network.type,
        configVersion: list.cniVersion,
        context,
        stdin: () =>
          buildGcConfig(plugin, { name: list.name, cniVersion: list.cniVersion, validAttachments }),
      },
      opts,
    );
    return undefined;
  } catch (err) {
    const cause = err as Error;
    return new LibcniError(`failed to GC plugin ${plugin.network.type}: ${cause.message}`, {
      cause,
      context,
    });
  }
}

/**
 * STATUS every plugin (spec >= 1.1.0; older lists report nothing). The first failure is thrown as
 * the plugin's own error, so `code` 50/51 can be read from it.
 */
export async function statusList(e: Engine, list: NetworkConfigList, opts: InternalOptions): Promise<void> {
  if (!safeGte(list.cniVersion, '1.1.0')) return;
  for (const plugin of list.plugins) {
    await e.plugins.runForStatus(
      {
        command: 'STATUS',
        type: plugin.network.type,
        configVersion: list.cniVersion,
        context: { command: 'STATUS', plugin: plugin.network.type, network: list.name },
        stdin: () => buildStatusConfig(plugin, { name: list.name, cniVersion: list.cniVersion }),
      },
      opts,
    );
  }
}

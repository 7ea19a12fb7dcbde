/**
 * `cnitool cache ls [containerId]` and `cnitool cache show <network> <containerId> [ifName]`: the
 * attachment cache as Go's libcni reads it. Read-only, and no plugin is involved.
 */
import { ResultCache } from '../../cache/cache.ts';
import { CacheError } from '../../core/errors.ts';
import { formatJson } from '../output.ts';
import type { CommandHandler } from '../command.ts';
import { cacheDirOf, ifNameOf } from '../runtime-inputs.ts';
import { table } from './table.ts';

/** The stored config bytes as JSON when they are JSON (they always are when a runtime wrote them). */
function decodeConfig(bytes: Uint8Array): unknown {
  const text = Buffer.from(bytes).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { base64: Buffer.from(bytes).toString('base64') };
  }
}

/** Runs cache ls / cache show. */
export const runCache: CommandHandler = async (req, io) => {
  const cache = new ResultCache(cacheDirOf(req.options.cacheDir, io.env));
  if (req.name === 'cache ls') {
    const found = (await cache.listAttachments(req.args[0])) ?? [];
    if (req.options.json) {
      io.stdout(
        formatJson(
          found.map((a) => ({
            network: a.network,
            containerId: a.containerId,
            ifName: a.ifName,
            netns: a.netns,
            ...(a.cniArgs ? { cniArgs: a.cniArgs } : {}),
            ...(a.capabilityArgs ? { capabilityArgs: a.capabilityArgs } : {}),
          })),
        ),
      );
    } else if (found.length === 0) {
      io.stderr(`no cached attachments in ${cache.resultsDir}\n`);
    } else {
      io.stdout(
        table([
          ['NETWORK', 'CONTAINER ID', 'IFNAME', 'NETNS'],
          ...found.map((a) => [a.network, a.containerId, a.ifName, a.netns || '-']),
        ]),
      );
    }
    return 0;
  }

  const [network, containerId, ifArg] = req.args as [string, string, string | undefined];
  const ifName = ifArg ?? ifNameOf(req.options.ifname, io.env);
  const read = cache.read({ network, containerId, ifName });
  switch (read.kind) {
    case 'missing':
      throw new CacheError(
        `no cached attachment of network "${network}" for ${containerId} ${ifName} (${read.path})`,
        {
          path: read.path,
        },
      );
    case 'corrupt':
      throw new CacheError(`cache file ${read.path} is corrupt: ${read.reason}`, {
        path: read.path,
        corrupt: true,
      });
    case 'legacy':
      io.stdout(formatJson({ path: read.path, kind: read.reason || 'legacy', document: read.document }));
      return 0;
    case 'entry': {
      const e = read.entry;
      io.stdout(
        formatJson({
          path: read.path,
          kind: 'cniCacheV1',
          containerId: e.containerId,
          networkName: e.network,
          ifName: e.ifName,
          netns: e.netns,
          cniArgs: e.cniArgs,
          capabilityArgs: e.capabilityArgs,
          config: decodeConfig(e.config),
          result: e.result,
        }),
      );
      return 0;
    }
  }
};

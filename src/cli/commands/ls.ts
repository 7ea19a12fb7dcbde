/**
 * `cnitool ls`: the networks in NETCONFPATH as add/check/del would find them, and the files that
 * could not be used, with the reason. Loading never stops at a broken file.
 */
import { loadNetworkConfDir } from '../../config/load.ts';
import type { NetworkConfigList } from '../../config/types.ts';
import { DuplicateNetworkError } from '../../core/errors.ts';
import { formatJson } from '../output.ts';
import type { CommandHandler } from '../command.ts';
import { netConfPath } from '../runtime-inputs.ts';
import { table } from './table.ts';

/** A plugin chain as text: `bridge (host-local) -> portmap`. */
export function describeChain(list: NetworkConfigList): string {
  return list.plugins
    .map((p) => {
      const ipam = p.network.ipam?.type;
      return ipam ? `${p.network.type} (${ipam})` : p.network.type;
    })
    .join(' -> ');
}

/** Runs ls. Exit status 0 even when some files failed: the listing itself worked. */
export const runLs: CommandHandler = async (req, io) => {
  const dir = netConfPath(io.env);
  const found = await loadNetworkConfDir(dir);
  if (req.options.json) {
    io.stdout(
      formatJson({
        dir,
        networks: found.networks.map(({ file, list }) => ({
          name: list.name,
          cniVersion: list.cniVersion,
          file,
          plugins: list.plugins.map((p) => ({
            type: p.network.type,
            ...(p.network.ipam?.type ? { ipam: p.network.ipam.type } : {}),
          })),
          disableCheck: list.disableCheck,
          disableGC: list.disableGC,
        })),
        errors: found.errors.map(({ file, error }) => ({
          file,
          error: error.message,
          ...(error instanceof DuplicateNetworkError ? { duplicateOf: error.firstFile } : {}),
        })),
      }),
    );
    return 0;
  }
  if (found.networks.length === 0 && found.errors.length === 0) {
    io.stderr(`no network configurations in ${dir}\n`);
    return 0;
  }
  if (found.networks.length > 0) {
    io.stdout(
      table([
        ['NETWORK', 'CNIVERSION', 'PLUGINS', 'FILE'],
        ...found.networks.map(({ file, list }) => [
          list.name,
          list.cniVersion || '-',
          describeChain(list),
          file,
        ]),
      ]),
    );
  }
  if (found.errors.length > 0) {
    io.stdout(`${found.networks.length > 0 ? '\n' : ''}Not loaded:\n`);
    for (const { file, error } of found.errors) {
      io.stdout(`  ${file}: ${error.message.replace(/\s*\n\s*/g, '; ')}\n`);
    }
  }
  return 0;
};

/** `cnitool netns add [name] | del <name> | ls`: pinned network namespaces, as `ip netns` makes them. */
import { createNetns, deleteNetns, listNetns } from '../../netns/netns.ts';
import { formatJson } from '../output.ts';
import type { CommandHandler } from '../command.ts';
import { table } from './table.ts';

/** Runs one of the netns subcommands. */
export const runNetns: CommandHandler = async (req, io) => {
  switch (req.name) {
    case 'netns add': {
      const ns = await createNetns(req.args[0]);
      io.stdout(req.options.json ? formatJson(ns) : `${ns.path}\n`);
      return 0;
    }
    case 'netns del':
      await deleteNetns(req.args[0] as string);
      return 0;
    default: {
      const all = await listNetns();
      if (req.options.json) io.stdout(formatJson(all));
      else if (all.length > 0) io.stdout(table(all.map((ns) => [ns.name, ns.path])));
      return 0;
    }
  }
};

/**
 * `cnitool status <network> [<netns>]`: CNI STATUS for every plugin of the network. The optional
 * netns is accepted and ignored because Go's cnitool requires one there.
 */
import type { CommandHandler } from '../command.ts';
import { cniConfigFor, loadNamedNetwork, requirePlugins } from './shared.ts';

/** Runs status; prints nothing when every plugin is ready. */
export const runStatus: CommandHandler = async (req, io) => {
  const list = await loadNamedNetwork(req.args[0] as string, io);
  const cni = cniConfigFor(req.options, io);
  await requirePlugins(cni, list);
  await cni.getStatusNetworkList(list, { signal: io.signal });
  return 0;
};

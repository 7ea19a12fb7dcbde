/**
 * `cnitool gc <network> (<containerId>:<ifName>... | --all)`: CNI GC with an explicit valid set.
 * Go's cnitool passes no set at all, which libcni reads as "nothing is valid"; here that takes --all
 * (enforced in args.ts), because it also deletes attachments that other tools made.
 */
import type { CommandHandler } from '../command.ts';
import { parseGcPairs } from '../runtime-inputs.ts';
import { cniConfigFor, loadNamedNetwork, requirePlugins } from './shared.ts';

/** Runs gc; prints nothing on success. */
export const runGc: CommandHandler = async (req, io) => {
  const [network, ...pairs] = req.args as [string, ...string[]];
  const list = await loadNamedNetwork(network, io);
  const validAttachments = req.options.all ? [] : parseGcPairs(pairs);
  const cni = cniConfigFor(req.options, io);
  await requirePlugins(cni, list);
  await cni.gcNetworkList(list, { validAttachments }, { signal: io.signal });
  return 0;
};

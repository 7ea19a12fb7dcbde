/**
 * `cnitool add|check|del <network> <netns>`: Go cnitool's three attachment commands, with its
 * inputs, container id and output, and with every input checked before the first plugin runs.
 * Each runs holding the container's lock in `<cacheDir>/locks/`, the one NetworkManager takes, so a
 * `cnitool del` never runs in the middle of a runtime's ADD on the same container (or the reverse).
 */
import type { CNIConfig, RuntimeConf } from '../../cni/index.ts';
import type { NetworkConfigList } from '../../config/types.ts';
import { ContainerLockFile } from '../../runtime/locks.ts';
import { formatResult } from '../output.ts';
import type { CliIO } from '../output.ts';
import type { CommandHandler, CommandRequest } from '../command.ts';
import { attachmentInputs, cacheDirOf } from '../runtime-inputs.ts';
import { cniConfigFor, loadNamedNetwork, requireNetns, requirePlugins } from './shared.ts';

/** Runs add, check or del. */
export const runAttach: CommandHandler = async (req, io) => {
  const [network, netnsArg] = req.args as [string, string];
  // Go's order: the network first, then CAP_ARGS, CNI_ARGS, the interface name and the netns path.
  const list = await loadNamedNetwork(network, io);
  const inputs = attachmentInputs(netnsArg, req.options.ifname, io.env, io.cwd);
  const cni = cniConfigFor(req.options, io);
  await requirePlugins(cni, list);
  // DEL must work when the namespace is already gone (the spec requires plugins to cope).
  if (req.name !== 'del') await requireNetns(inputs.netns);

  const rt: RuntimeConf = {
    containerId: inputs.containerId,
    netns: inputs.netns,
    ifName: inputs.ifName,
    args: inputs.args,
    capabilityArgs: inputs.capabilityArgs,
  };
  const release = await new ContainerLockFile(cacheDirOf(req.options.cacheDir, io.env)).acquire(
    rt.containerId,
    { signal: io.signal },
  );
  try {
    return await operate(req, io, cni, list, rt);
  } finally {
    await release();
  }
};

/** The operation itself, run holding the container's lock. */
async function operate(
  req: CommandRequest,
  io: CliIO,
  cni: CNIConfig,
  list: NetworkConfigList,
  rt: RuntimeConf,
): Promise<number> {
  const opts = { signal: io.signal };
  switch (req.name) {
    case 'add': {
      const result = await cni.addNetworkList(list, rt, opts);
      io.stdout(formatResult(result));
      return 0;
    }
    case 'check':
      await cni.checkNetworkList(list, rt, opts);
      return 0;
    default:
      // Unlike Go's cnitool, a DEL without CNI_ARGS/CAP_ARGS gets the ones given at ADD from the
      // cache: portmap, for one, leaves its DNAT rules behind without its port mappings.
      await cni.delNetworkList(list, rt, {
        ...opts,
        useCachedInputs: (used) => {
          const what = [used.args && 'CNI_ARGS', used.capabilityArgs && 'CAP_ARGS'].filter(Boolean);
          io.stderr(`cnitool: using the ${what.join(' and ')} cached at ADD for this DEL\n`);
        },
      });
      return 0;
  }
}

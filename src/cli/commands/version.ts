/** `cnitool version <pluginType>`: CNI VERSION for one plugin. */
import { formatJson } from '../output.ts';
import type { CommandHandler } from '../command.ts';
import { cniConfigFor } from './shared.ts';

/** Runs version: the plugin's answer as text, or as JSON with --json. */
export const runVersion: CommandHandler = async (req, io) => {
  const type = req.args[0] as string;
  const cni = cniConfigFor(req.options, io);
  const pluginPath = await cni.findPlugin(type);
  const info = await cni.getVersionInfo(type, { signal: io.signal });
  if (req.options.json) {
    io.stdout(formatJson({ cniVersion: info.cniVersion, supportedVersions: info.supportedVersions }));
  } else {
    io.stdout(
      `plugin:             ${pluginPath}\n` +
        `answered as:        cniVersion ${info.cniVersion}\n` +
        `supported versions: ${info.supportedVersions.join(' ')}\n`,
    );
  }
  return 0;
};

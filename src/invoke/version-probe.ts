/**
 * Asking a plugin which spec versions it supports: Go's `invoke.GetVersionInfo`.
 */
import { CURRENT_VERSION, decodePluginInfo, type PluginInfo, pluginSupports } from '../types/version.ts';
import { buildPluginEnv, type PluginEnvOptions } from './env.ts';
import type { Exec, ExecOptions } from './exec.ts';

/** Exec and environment options for {@link getVersionInfo}. */
export type VersionProbeOptions = ExecOptions & PluginEnvOptions;

/**
 * What plugins built before the VERSION command existed print for it (Go's old `skel`:
 * `unknown CNI_COMMAND: VERSION`). Go compares the whole error text to this.
 */
const UNKNOWN_VERSION_COMMAND = 'unknown CNI_COMMAND: VERSION';

/** The stdin Go sends with VERSION: `{"cniVersion":"1.1.0"}`. */
const VERSION_STDIN = Buffer.from(`{"cniVersion":${JSON.stringify(CURRENT_VERSION)}}`);

/**
 * Run the plugin with `CNI_COMMAND=VERSION` (env as {@link buildPluginEnv} builds it for VERSION:
 * `CNI_NETNS`, `CNI_IFNAME` and `CNI_PATH` are `dummy`) and decode its answer with
 * {@link decodePluginInfo}. A plugin that answers with exactly `unknown CNI_COMMAND: VERSION`
 * predates the command and is reported as supporting 0.1.0 only, as Go does.
 *
 * @throws the exec error (`PluginError`, `PluginSpawnError`, ...) or the decoder's `VersionError`.
 */
export async function getVersionInfo(
  exec: Exec,
  pluginPath: string,
  options?: VersionProbeOptions,
): Promise<PluginInfo> {
  const { env: envMode, baseEnv, extraEnv, trace, ...execOptions } = options ?? {};
  const env = buildPluginEnv(
    { command: 'VERSION', path: [] },
    { env: envMode, baseEnv, extraEnv, trace, context: execOptions.context },
  );
  let stdout: Buffer;
  try {
    stdout = (await exec.execPlugin(pluginPath, VERSION_STDIN, env, { ...execOptions, command: 'VERSION' }))
      .stdout;
  } catch (err) {
    if (err instanceof Error && err.message === UNKNOWN_VERSION_COMMAND) return pluginSupports('0.1.0');
    throw err;
  }
  return decodePluginInfo(stdout, execOptions.context);
}

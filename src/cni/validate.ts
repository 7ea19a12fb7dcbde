/**
 * Validating configs against the plugins that would run them (Go's `ValidateNetworkList` and
 * `ValidateNetwork`): every plugin must exist and support the config's version.
 */
import type { NetworkConfigList, PluginConf, PluginConfig } from '../config/types.ts';
import { AggregateLibcniError, VersionError } from '../core/errors.ts';
import type { PluginRunner } from './runner.ts';
import type { OperationOptions } from './types.ts';

/** The capabilities a plugin config turns on (`"capabilities": {"portMappings": true}`). */
function enabledCapabilities(conf: PluginConf): string[] {
  const caps = conf.capabilities;
  if (!caps || typeof caps !== 'object') return [];
  return Object.entries(caps)
    .filter(([, on]) => (on as unknown) === true)
    .map(([k]) => k);
}

/** Fail unless plugin `type` supports config version `version` (`""` means 0.1.0). */
async function validatePlugin(
  plugins: PluginRunner,
  type: string,
  version: string,
  opts: OperationOptions | undefined,
): Promise<void> {
  const expected = version === '' ? '0.1.0' : version;
  const info = await plugins.version(type, opts);
  if (!info.supportedVersions.includes(expected)) {
    throw new VersionError(`plugin ${type} does not support config version ${JSON.stringify(expected)}`, {
      context: { plugin: type },
    });
  }
}

/**
 * Check every plugin of the list; returns the capabilities they declare. All problems are
 * reported together, as Go does (`[err1 err2]`).
 */
export async function validateList(
  plugins: PluginRunner,
  list: NetworkConfigList,
  opts: OperationOptions | undefined,
): Promise<string[]> {
  const caps = new Set<string>();
  const errors: Error[] = [];
  for (const plugin of list.plugins) {
    try {
      await validatePlugin(plugins, plugin.network.type, list.cniVersion, opts);
    } catch (e) {
      errors.push(e as Error);
    }
    for (const cap of enabledCapabilities(plugin.network)) caps.add(cap);
  }
  if (errors.length > 0) {
    throw new AggregateLibcniError(errors, { context: { network: list.name }, format: 'go-slice' });
  }
  return [...caps];
}

/** {@link validateList} for a single plugin config; its error is thrown as is. */
export async function validateSingle(
  plugins: PluginRunner,
  net: PluginConfig,
  opts: OperationOptions | undefined,
): Promise<string[]> {
  await validatePlugin(plugins, net.network.type, net.network.cniVersion ?? '', opts);
  return enabledCapabilities(net.network);
}

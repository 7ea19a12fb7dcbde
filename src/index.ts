/**
 * libcni for Node.js: the public surface. Names follow Go libcni's, in TypeScript casing.
 * @packageDocumentation
 */

// Spec model: versions, results, conversion, errors, input validation.
export * from './core/errors.ts';
export {
  CURRENT_VERSION,
  SUPPORTED_VERSIONS,
  LEGACY_VERSIONS,
  type PluginInfo,
  parseVersion,
  compareVersions,
  greaterThan,
  greaterThanOrEqualTo,
  pluginSupports,
  versionsStartingFrom,
  decodePluginInfo,
  checkCompatible,
} from './types/version.ts';
export type {
  DNS,
  Route,
  IPConfig020,
  Result020,
  Interface040,
  IPConfig040,
  Result040,
  Interface100,
  IPConfig100,
  Result100,
  Result,
  ResultVersion,
} from './types/result-model.ts';
export { resultVersion, isResult020, isResult040, isResult100 } from './types/result-model.ts';
export { normalizeResult, decodePluginResult, resultFromBytes } from './types/result.ts';
export { convertResult } from './types/convert.ts';
export { validateContainerId, validateNetworkName, validateInterfaceName } from './types/validate.ts';

// Configuration.
export type { PluginConf, PluginConfig, NetworkConfigList, IpamConf, DnsConf } from './config/types.ts';
export { pluginConfFromBytes, networkConfFromBytes } from './config/parse.ts';
export {
  confFiles,
  networkPluginConfsFromFiles,
  networkConfFromFile,
  confFromFile,
  loadConf,
  loadNetworkConf,
  confListFromConf,
  loadNetworkConfDir,
  type LoadedNetwork,
  type NetworkConfDir,
  type LoadNetworkConfDirOptions,
} from './config/load.ts';
export { injectConf, capabilitiesOf } from './config/inject.ts';

// Invocation seam.
export {
  type Exec,
  DefaultExec,
  type DefaultExecOptions,
  type ExecOptions,
  type ExecOutput,
} from './invoke/exec.ts';
export { findInPath } from './invoke/find.ts';
export { SpawnerExec, type SpawnerExecOptions, type SpawnerHelperExit } from './invoke/spawner.ts';
export type { EnvMode } from './invoke/env.ts';

// Operations and cache.
export {
  CNIConfig,
  type CNIConfigOptions,
  type RuntimeConf,
  type OperationOptions,
  type GCArgs,
  type GCOptions,
  type GCAttachment,
  type CachedConfig,
} from './cni/index.ts';
export { DEFAULT_CACHE_DIR, CACHE_KIND_V1, type CacheSync, type NetworkAttachment } from './cache/cache.ts';

// Network namespaces and the runtime layer.
export {
  createNetns,
  deleteNetns,
  listNetns,
  netnsExists,
  DEFAULT_NETNS_DIR,
  type NetnsHandle,
  type NetnsOptions,
  type NetnsMechanism,
} from './netns/netns.ts';
export * from './runtime/manager.ts';

// Observability: node:diagnostics_channel channels (no cost without subscribers).
export {
  CHANNELS,
  type PluginCallMessage,
  type OperationMessage,
  type OperationCommand,
  type CniCommand,
  type CacheQuarantineMessage,
  type TraceContext,
} from './core/diagnostics.ts';

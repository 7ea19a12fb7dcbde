/**
 * libcni for Node.js: the public surface, listed name by name (nothing is exported by accident;
 * test/unit/public-api.test.ts holds this list against docs/api-list.md). Names follow Go libcni's, in
 * TypeScript casing. `libcni/testing` (testing.ts) adds a fake Exec for users' tests.
 * @packageDocumentation
 */

// Errors: one family, `LibcniError`; `code` is always the spec's numeric code.
export {
  ErrorCode,
  LibcniError,
  CniError,
  PluginError,
  PluginTimeoutError,
  PluginAbortedError,
  PluginNotFoundError,
  PluginSpawnError,
  ValidationError,
  ConfigError,
  NotFoundError,
  NoConfigsFoundError,
  VersionError,
  ResultError,
  CacheError,
  NetworkPluginError,
  AggregateLibcniError,
  JsonSyntaxError,
  DuplicateNetworkError,
  LibraryLoadError,
  type ErrorContext,
  type CniErrorObject,
  type PluginExecInfo,
  type PluginLookupFailure,
} from './core/errors.ts';
export { AbortError } from './core/abort.ts';
export {
  NetnsError,
  SetupError,
  NotReadyError,
  LockTimeoutError,
  SpawnerError,
  type NetnsErrorReason,
  type NetnsHelperRun,
  type RollbackOutcome,
} from './core/runtime-errors.ts';

// Spec model: versions, results, conversion, input validation.
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
export type {
  PluginConf,
  PluginConfig,
  NetworkConfigList,
  IpamConf,
  DnsConf,
  GcAttachmentConf,
} from './config/types.ts';
export { pluginConfFromBytes, networkConfFromBytes, type ParseOptions } from './config/parse.ts';
export {
  confFiles,
  networkPluginConfsFromFiles,
  networkConfFromFile,
  confFromFile,
  loadConf,
  loadNetworkConf,
  confListFromConf,
  loadNetworkConfDir,
  MAX_CONFIG_FILE_BYTES,
  type ConfigFileError,
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
export { type NativeBackendKind, NativeExec, type NativeExecOptions } from './invoke/native-exec.ts';
export { SpawnerExec, type SpawnerExecOptions, type SpawnerHelperExit } from './invoke/spawner.ts';
export type { EnvMode } from './invoke/env.ts';

// Operations and cache.
export { CNIConfig } from './cni/config.ts';
export type {
  CNI,
  CNIConfigOptions,
  RuntimeConf,
  OperationOptions,
  DelOptions,
  CachedInputsUsed,
  GCArgs,
  GCOptions,
  GCAttachment,
  CachedConfig,
} from './cni/types.ts';
export type { PluginStderr, PluginStderrListener, PluginStderrInfo } from './cni/stderr.ts';
export {
  DEFAULT_CACHE_DIR,
  CACHE_KIND_V1,
  type CacheSync,
  type NetworkAttachment,
  type QuarantineInfo,
  type QuarantineListener,
  type AttachmentKey,
} from './cache/cache.ts';

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
export {
  NetworkManager,
  DEFAULT_CONF_DIR,
  DEFAULT_PLUGIN_DIRS,
  type NetworksOption,
  type SkippedNetwork,
  type SetupResult,
  type MergedInterface,
  type MergedIP,
  type MergedRoute,
  type MergedDNS,
  type NetworkAttachmentResult,
  type ManagedNetwork,
  type NetworkSet,
  type CniArgsInput,
  type NetworkManagerOptions,
  type PerNetworkOptions,
  type ContainerNetwork,
  type SetupOptions,
  type ContainerOpOptions,
  type InspectOptions,
  type InspectResult,
  type InspectedAttachment,
  type InspectedIP,
  type AttachmentCheck,
  type ResolvDNS,
  type DetachedAttachment,
  type TeardownResult,
  type GcOptions,
  type GcReport,
  type NetworkStatus,
  type ManagerStatus,
  type CacheQuarantineEvent,
  type ConfigLoadReason,
  type ConfigLoadedEvent,
  type ConfigDirChangedEvent,
  type AttachedEvent,
  type RollbackEvent,
  type NetworkManagerEvents,
  type CapabilityUnusedEvent,
} from './runtime/manager.ts';
export { kubernetesArgs, type KubernetesPodArgs } from './runtime/args.ts';
export {
  validateCapabilities,
  WELL_KNOWN_CAPABILITIES,
  type Capabilities,
  type PortMapping,
  type IPRange,
  type BandwidthLimits,
  type DnsCapability,
} from './runtime/capabilities.ts';

// Observability: node:diagnostics_channel channels (no cost without subscribers).
export {
  CHANNELS,
  type PluginCallMessage,
  type PluginCallOutput,
  type OperationMessage,
  type OperationCommand,
  type CniCommand,
  type CacheQuarantineMessage,
  type TraceContext,
} from './core/diagnostics.ts';
export type { Logger, LogFields, LogLevel } from './core/logger.ts';

/**
 * The cni module's public names: {@link CNIConfig} (config.ts) and its model (types.ts).
 */
export { CNIConfig } from './config.ts';
export type {
  CachedConfig,
  CNI,
  CNIConfigOptions,
  GCArgs,
  GCAttachment,
  GCOptions,
  OperationOptions,
  RuntimeConf,
} from './types.ts';

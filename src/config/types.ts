/**
 * The configuration model: what parsing a plugin object or a network configuration list produces.
 * Types only, so that every module of config/ and above can name them without importing behaviour.
 */

/** `ipam` of a plugin: `type` names the IPAM plugin; the rest is that plugin's settings. */
export interface IpamConf {
  type?: string;
  [key: string]: unknown;
}

/** `dns` of a plugin (the spec's DNS type). */
export interface DnsConf {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
  [key: string]: unknown;
}

/** One entry of `cni.dev/valid-attachments` in a GC request. */
export interface GcAttachmentConf {
  containerID: string;
  ifname: string;
}

/**
 * The parsed view of one plugin object. Known fields are decoded as Go decodes `types.PluginConf`
 * (case-insensitive keys, Go's type rules) and appear under their canonical names; every other key
 * is kept as `JSON.parse` gives it. Numbers in this view are float64: read exact values from
 * {@link PluginConfig.bytes}, which is what plugins receive.
 */
export interface PluginConf {
  /** The plugin executable's name; never empty in a parsed config. */
  type: string;
  name?: string;
  cniVersion?: string;
  /** Capabilities the plugin declares; only `true` ones receive `runtimeConfig` entries. */
  capabilities?: Record<string, boolean>;
  ipam?: IpamConf;
  dns?: DnsConf;
  prevResult?: Record<string, unknown>;
  'cni.dev/valid-attachments'?: GcAttachmentConf[];
  [key: string]: unknown;
}

/** One plugin of a network: its parsed view and the exact JSON it was read from. */
export interface PluginConfig {
  network: PluginConf;
  /** The plugin object's JSON exactly as configured (a slice of the conflist, or a whole file). */
  bytes: Uint8Array;
}

/** A network configuration list (a `.conflist`, or an up-converted legacy `.conf`/`.json`). */
export interface NetworkConfigList {
  name: string;
  /** The selected spec version (see `cniVersions`); may be `""`. */
  cniVersion: string;
  disableCheck: boolean;
  disableGC: boolean;
  loadOnlyInlinedPlugins: boolean;
  plugins: PluginConfig[];
  /** The list's JSON exactly as read; this is what the attachment cache stores. */
  bytes: Uint8Array;
}

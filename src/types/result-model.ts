/**
 * The result model: one shape per spec family, as Go libcni's typed structs encode them. Types and
 * narrowing only; decoding is in result.ts, conversion in convert.ts.
 */

/** DNS settings; each field is left out when empty. */
export interface DNS {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/**
 * A route. `mtu`, `advmss` and `priority` are left out when 0; `table` and `scope` are kept when 0
 * (pointers in Go). The attributes after `gw` exist in Go's model since libcni 1.2.
 */
export interface Route {
  /** Destination CIDR. */
  dst: string;
  /** Next hop; absent means the default gateway of the interface. */
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

/** A 0.1.0/0.2.0 `ip4` or `ip6` entry. */
export interface IPConfig020 {
  /** Address with prefix, host bits kept (`10.1.2.3/24`). */
  ip: string;
  gateway?: string;
  routes?: Route[];
}

/** A 0.1.0/0.2.0 result. */
export interface Result020 {
  cniVersion: '0.1.0' | '0.2.0';
  ip4?: IPConfig020;
  ip6?: IPConfig020;
  /** Always present (`{}` when empty), as Go writes it. */
  dns: DNS;
}

/** A 0.3.x/0.4.0 interface. */
export interface Interface040 {
  /** Always present, `""` when the plugin gave none (not omitempty in Go). */
  name: string;
  mac?: string;
  sandbox?: string;
}

/** A 0.3.x/0.4.0 IP entry. */
export interface IPConfig040 {
  /** `"4"` or `"6"` by the spec. Go keeps any string here and writes `""` when absent, and so do we. */
  version: string;
  /** Index into `interfaces`; 0 is a value and is kept. */
  interface?: number;
  /** Address with prefix, host bits kept. */
  address: string;
  gateway?: string;
}

/** A 0.3.0/0.3.1/0.4.0 result. */
export interface Result040 {
  cniVersion: '0.3.0' | '0.3.1' | '0.4.0';
  interfaces?: Interface040[];
  ips?: IPConfig040[];
  routes?: Route[];
  /** Always present (`{}` when empty), as Go writes it. */
  dns: DNS;
}

/** A 1.0.0/1.1.0 interface. */
export interface Interface100 {
  /** Always present, `""` when the plugin gave none. */
  name: string;
  mac?: string;
  /** Left out when 0. */
  mtu?: number;
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}

/** A 1.0.0/1.1.0 IP entry. */
export interface IPConfig100 {
  /** Index into `interfaces`; 0 is a value and is kept. */
  interface?: number;
  /** Address with prefix, host bits kept. */
  address: string;
  gateway?: string;
}

/** A 1.0.0/1.1.0 result. */
export interface Result100 {
  cniVersion: '1.0.0' | '1.1.0';
  interfaces?: Interface100[];
  ips?: IPConfig100[];
  routes?: Route[];
  /** Left out when empty (libcni >= 1.2). */
  dns?: DNS;
}

/** A validated result of any spec version. `cniVersion` tells the shape. */
export type Result = Result020 | Result040 | Result100;

/** Every version a result can have. */
export type ResultVersion = Result['cniVersion'];

/** The result's spec version. */
export function resultVersion(result: Result): ResultVersion {
  return result.cniVersion;
}

/** Narrow to a 0.1.0/0.2.0 result. */
export function isResult020(result: Result): result is Result020 {
  return result.cniVersion === '0.1.0' || result.cniVersion === '0.2.0';
}

/** Narrow to a 0.3.x/0.4.0 result. */
export function isResult040(result: Result): result is Result040 {
  return result.cniVersion === '0.3.0' || result.cniVersion === '0.3.1' || result.cniVersion === '0.4.0';
}

/** Narrow to a 1.0.0/1.1.0 result. */
export function isResult100(result: Result): result is Result100 {
  return result.cniVersion === '1.0.0' || result.cniVersion === '1.1.0';
}

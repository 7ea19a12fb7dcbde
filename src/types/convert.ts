/**
 * Converting a result between spec versions, rule for rule as Go's `pkg/types/{020,040,100}`
 * converters (https://github.com/containernetworking/cni/tree/main/pkg/types):
 *
 * - same version: the same object back; target `""` means 0.1.0;
 * - within a family (0.1.0/0.2.0, 0.3.x/0.4.0, 1.0.0/1.1.0): a copy with the new label;
 * - 0.2 -> 0.3/0.4: `ip4` then `ip6` become `ips` with `version` "4"/"6", their routes concatenated;
 * - 0.3/0.4 -> 0.2: the first ip of `version` "4" and of "6" become `ip4`/`ip6`; each route goes to the
 *   family of its `dst` keeping only `dst` and `gw`, and is dropped when that family has no ip;
 * - 0.x -> 1.x (via 0.4.0): `ips[].version` dropped;
 * - 1.x -> 0.3/0.4: `version` from the address family (IPv4-mapped counts as 4), interface
 *   `mtu`/`socketPath`/`pciID` dropped; 1.x -> 0.2 goes through 0.4.0.
 *
 * Every converted result is a fresh object: nothing is shared with the input.
 */

import { ResultError } from '../core/errors.ts';
import { isIPv4 } from './ip.ts';
import type {
  DNS,
  Interface040,
  Interface100,
  IPConfig020,
  IPConfig040,
  IPConfig100,
  Result,
  Result020,
  Result040,
  Result100,
  Route,
} from './result-model.ts';

type V020 = Result020['cniVersion'];
type V040 = Result040['cniVersion'];
type V100 = Result100['cniVersion'];

function is020(v: string): v is V020 {
  return v === '0.1.0' || v === '0.2.0';
}
function is040(v: string): v is V040 {
  return v === '0.3.0' || v === '0.3.1' || v === '0.4.0';
}
function is100(v: string): v is V100 {
  return v === '1.0.0' || v === '1.1.0';
}

function copyDNS(dns: DNS | undefined): DNS {
  const out: DNS = {};
  if (!dns) return out;
  if (dns.nameservers?.length) out.nameservers = [...dns.nameservers];
  if (dns.domain) out.domain = dns.domain;
  if (dns.search?.length) out.search = [...dns.search];
  if (dns.options?.length) out.options = [...dns.options];
  return out;
}

function isEmptyDNS(dns: DNS): boolean {
  return Object.keys(dns).length === 0;
}

/**
 * A route with Go's omitempty rules applied: mtu/advmss/priority left out when 0, table/scope
 * (pointers in Go) kept when 0 and left out only when absent.
 */
/** A route's fields as decoded, where absent ones may be present as `undefined`. */
type RouteFields = { [K in keyof Route]: Route[K] | undefined } & { dst: string };

export function copyRoute(r: RouteFields): Route {
  const out: Route = { dst: r.dst };
  if (r.gw !== undefined) out.gw = r.gw;
  if (r.mtu) out.mtu = r.mtu;
  if (r.advmss) out.advmss = r.advmss;
  if (r.priority) out.priority = r.priority;
  if (r.table !== undefined) out.table = r.table;
  if (r.scope !== undefined) out.scope = r.scope;
  return out;
}

/** 0.2.0 down-conversion keeps only these two route fields (Go builds a fresh `types.Route{Dst, GW}`). */
function routeDstGw(r: Route): Route {
  return r.gw === undefined ? { dst: r.dst } : { dst: r.dst, gw: r.gw };
}

function copyIPConfig020(c: IPConfig020): IPConfig020 {
  const out: IPConfig020 = { ip: c.ip };
  if (c.gateway !== undefined) out.gateway = c.gateway;
  if (c.routes?.length) out.routes = c.routes.map(copyRoute);
  return out;
}

function copyInterface040(i: Interface040): Interface040 {
  const out: Interface040 = { name: i.name };
  if (i.mac) out.mac = i.mac;
  if (i.sandbox) out.sandbox = i.sandbox;
  return out;
}

function copyIPConfig040(c: IPConfig040): IPConfig040 {
  return {
    version: c.version,
    ...(c.interface !== undefined ? { interface: c.interface } : {}),
    address: c.address,
    ...(c.gateway !== undefined ? { gateway: c.gateway } : {}),
  };
}

/** A 1.x interface's fields as decoded, where absent ones may be present as `undefined`. */
type Interface100Fields = { [K in keyof Interface100]: Interface100[K] | undefined } & { name: string };

/** A 1.x interface with Go's omitempty rules applied (every field but `name` left out when empty). */
export function copyInterface100(i: Interface100Fields): Interface100 {
  const out: Interface100 = { name: i.name };
  if (i.mac) out.mac = i.mac;
  if (i.mtu) out.mtu = i.mtu;
  if (i.sandbox) out.sandbox = i.sandbox;
  if (i.socketPath) out.socketPath = i.socketPath;
  if (i.pciID) out.pciID = i.pciID;
  return out;
}

function copyIPConfig100(c: IPConfig100 | IPConfig040): IPConfig100 {
  return {
    ...(c.interface !== undefined ? { interface: c.interface } : {}),
    address: c.address,
    ...(c.gateway !== undefined ? { gateway: c.gateway } : {}),
  };
}

function make020(
  version: V020,
  ip4: IPConfig020 | undefined,
  ip6: IPConfig020 | undefined,
  dns: DNS,
): Result020 {
  return { cniVersion: version, ...(ip4 ? { ip4 } : {}), ...(ip6 ? { ip6 } : {}), dns };
}

function make040(
  version: V040,
  interfaces: Interface040[],
  ips: IPConfig040[],
  routes: Route[],
  dns: DNS,
): Result040 {
  return {
    cniVersion: version,
    ...(interfaces.length ? { interfaces } : {}),
    ...(ips.length ? { ips } : {}),
    ...(routes.length ? { routes } : {}),
    dns,
  };
}

function relabel020(r: Result020, to: V020): Result020 {
  return make020(to, r.ip4 && copyIPConfig020(r.ip4), r.ip6 && copyIPConfig020(r.ip6), copyDNS(r.dns));
}

function relabel040(r: Result040, to: V040): Result040 {
  return make040(
    to,
    (r.interfaces ?? []).map(copyInterface040),
    (r.ips ?? []).map(copyIPConfig040),
    (r.routes ?? []).map(copyRoute),
    copyDNS(r.dns),
  );
}

function relabel100(r: Result100, to: V100): Result100 {
  // The 1.0.0 and 1.1.0 types are the same; mapping through from04x/to04x would lose attributes.
  const dns = copyDNS(r.dns);
  return {
    cniVersion: to,
    ...(r.interfaces?.length ? { interfaces: r.interfaces.map(copyInterface100) } : {}),
    ...(r.ips?.length ? { ips: r.ips.map(copyIPConfig100) } : {}),
    ...(r.routes?.length ? { routes: r.routes.map(copyRoute) } : {}),
    ...(isEmptyDNS(dns) ? {} : { dns }),
  };
}

/** Go's 040 `convertFrom02x`. */
function from020To040(r: Result020, to: V040): Result040 {
  const ips: IPConfig040[] = [];
  const routes: Route[] = [];
  const add = (c: IPConfig020 | undefined, version: '4' | '6'): void => {
    if (!c) return;
    ips.push({ version, address: c.ip, ...(c.gateway !== undefined ? { gateway: c.gateway } : {}) });
    for (const route of c.routes ?? []) routes.push(copyRoute(route));
  };
  add(r.ip4, '4');
  add(r.ip6, '6');
  return make040(to, [], ips, routes, copyDNS(r.dns));
}

/** Go's 040 `convertTo02x`. */
function from040To020(r: Result040, to: V020): Result020 {
  let ip4: IPConfig020 | undefined;
  let ip6: IPConfig020 | undefined;
  // The `version` field decides, not the address: that is what Go looks at.
  for (const c of r.ips ?? []) {
    const entry = (): IPConfig020 => ({
      ip: c.address,
      ...(c.gateway !== undefined ? { gateway: c.gateway } : {}),
    });
    if (c.version === '4' && !ip4) ip4 = entry();
    else if (c.version === '6' && !ip6) ip6 = entry();
    if (ip4 && ip6) break;
  }
  for (const route of r.routes ?? []) {
    const target = isIPv4(route.dst) ? ip4 : ip6;
    if (target) (target.routes ??= []).push(routeDstGw(route));
  }
  if (!ip4 && !ip6) throw new ResultError('cannot convert: no valid IP addresses');
  return make020(to, ip4, ip6, copyDNS(r.dns));
}

/** Go's 100 `convertFrom04x`. */
function from040To100(r: Result040, to: V100): Result100 {
  const dns = copyDNS(r.dns);
  const interfaces = (r.interfaces ?? []).map(copyInterface040);
  const ips = (r.ips ?? []).map(copyIPConfig100); // drops `version`
  const routes = (r.routes ?? []).map(copyRoute);
  return {
    cniVersion: to,
    ...(interfaces.length ? { interfaces } : {}),
    ...(ips.length ? { ips } : {}),
    ...(routes.length ? { routes } : {}),
    ...(isEmptyDNS(dns) ? {} : { dns }),
  };
}

/** Go's 100 `convertTo04x`. */
function from100To040(r: Result100, to: V040): Result040 {
  return make040(
    to,
    (r.interfaces ?? []).map(copyInterface040),
    (r.ips ?? []).map((c) => ({
      version: isIPv4(c.address) ? '4' : '6',
      ...(c.interface !== undefined ? { interface: c.interface } : {}),
      address: c.address,
      ...(c.gateway !== undefined ? { gateway: c.gateway } : {}),
    })),
    (r.routes ?? []).map(copyRoute),
    copyDNS(r.dns),
  );
}

/**
 * Convert `result` to the spec version `toVersion` (Go's `GetAsVersion`). A target of `""` means
 * 0.1.0. Converting to the result's own version returns `result` itself; every other conversion
 * returns a new object that shares nothing with `result`.
 *
 * @throws ResultError `no converter for CNI result version <from> to <to>` for a version without a
 *   result shape, and `cannot convert: no valid IP addresses` when a 0.3.x+ result without any
 *   version "4"/"6" ip is converted to 0.1.0/0.2.0.
 */
export function convertResult(result: Result, toVersion: string): Result {
  const to = toVersion === '' ? '0.1.0' : toVersion;
  const from: string = result.cniVersion;
  if (from === to) return result;
  const noConverter = (): never => {
    throw new ResultError(`no converter for CNI result version ${from} to ${to}`);
  };
  if (is020(from)) {
    const r = result as Result020;
    if (is020(to)) return relabel020(r, to);
    if (is040(to)) return from020To040(r, to);
    if (is100(to)) return from040To100(from020To040(r, '0.4.0'), to);
  } else if (is040(from)) {
    const r = result as Result040;
    if (is020(to)) return from040To020(r, to);
    if (is040(to)) return relabel040(r, to);
    if (is100(to)) return from040To100(r, to);
  } else if (is100(from)) {
    const r = result as Result100;
    if (is020(to)) return from040To020(from100To040(r, '0.4.0'), to);
    if (is040(to)) return from100To040(r, to);
    if (is100(to)) return relabel100(r, to);
  }
  return noConverter();
}

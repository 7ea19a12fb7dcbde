/**
 * The decoders of CNI results: a result is decoded the way Go decodes it into its typed struct and
 * built into the canonical object Go would encode back: unknown keys dropped, IP text canonical,
 * `omitempty` applied, keys in Go's struct field order.
 *
 * Written by hand rather than with zod: a result is decoded after every plugin of every ADD, and
 * importing zod and building its schemas cost 60-90 ms on the first one, when a whole ADD of three
 * plugins takes ~20 ms (BENCHMARKS.md). These are a few plain functions with the same rules and
 * the same messages, ready as soon as the module is.
 *
 * Go's decoder rules reproduced here:
 * - object keys match field names case-insensitively (`"IPs"` fills `ips`); the last match wins;
 * - `null` leaves a field at its zero value (absent); a `null` in a string list is `""`;
 * - integers must be integral JSON numbers; strings must be strings; lists must be arrays.
 * Where Go would accept input and then write something it cannot read back (`"<nil>"` for a missing
 * address or route `dst`, `null` entries in `ips`), we refuse the input instead.
 *
 * The first problem found is reported, fields checked in struct order and lists in index order:
 * its path (`ips[0].address`) and why (`missing`, `expected string, got number`, or why a scalar
 * is invalid: `invalid CIDR address: 10.0.0.1`).
 */

import { goJsonKind } from '../go/json-decode.ts';
import { goFieldPicker } from '../go/struct.ts';
import { copyInterface100, copyRoute } from './convert.ts';
import { canonicalCIDR, canonicalIP } from './ip.ts';
import type * as M from './result-model.ts';

/** A decoded result before its version is checked: the version field is whatever the input held. */
export interface DecodedResult020 {
  cniVersion: string;
  ip4?: M.IPConfig020;
  ip6?: M.IPConfig020;
  dns: M.DNS;
}
/** See {@link DecodedResult020}. */
export interface DecodedResult040 {
  cniVersion: string;
  interfaces?: M.Interface040[];
  ips?: M.IPConfig040[];
  routes?: M.Route[];
  dns: M.DNS;
}
/** See {@link DecodedResult020}. */
export interface DecodedResult100 {
  cniVersion: string;
  interfaces?: M.Interface100[];
  ips?: M.IPConfig100[];
  routes?: M.Route[];
  dns?: M.DNS;
}

/** Where a value sits in the result: keys and list indices from the top. */
export type DecodePath = ReadonlyArray<string | number>;

/** The first problem of a result that does not decode: where, and why. */
export class ResultDecodeIssue extends Error {
  readonly path: DecodePath;
  constructor(path: DecodePath, why: string) {
    super(why);
    this.name = 'ResultDecodeIssue';
    this.path = path;
  }
}

/** Decodes the value found at `path`; throws a {@link ResultDecodeIssue}. */
export type ResultDecoder<T> = (value: unknown, path: DecodePath) => T;

/** One decoder per Go result type. */
export interface ResultSchemas {
  readonly '020': ResultDecoder<DecodedResult020>;
  readonly '040': ResultDecoder<DecodedResult040>;
  readonly '100': ResultDecoder<DecodedResult100>;
}

const INT64_LIMIT = 2 ** 63;

function wrongType(value: unknown, path: DecodePath, expected: string): never {
  const why = value === undefined ? 'missing' : `expected ${expected}, got ${goJsonKind(value)}`;
  throw new ResultDecodeIssue(path, why);
}

const at = (path: DecodePath, key: string | number): DecodePath => [...path, key];

/** A field that may be absent (`undefined`: no key, or `null` in the input). */
function optional<T>(decode: ResultDecoder<T>): ResultDecoder<T | undefined> {
  return (v, path) => (v === undefined ? undefined : decode(v, path));
}

function string(v: unknown, path: DecodePath): string {
  if (typeof v !== 'string') wrongType(v, path, 'string');
  return v;
}

/** Go's `int`: an integral JSON number within int64; `-0` decodes to 0. */
function integer(v: unknown, path: DecodePath): number {
  if (typeof v !== 'number') wrongType(v, path, 'number');
  if (!Number.isInteger(v) || Math.abs(v) > INT64_LIMIT) {
    throw new ResultDecodeIssue(path, `expected an integer, got ${String(v)}`);
  }
  return v + 0;
}

function list<T>(item: ResultDecoder<T>): ResultDecoder<T[]> {
  return (v, path) => {
    if (!Array.isArray(v)) wrongType(v, path, 'array');
    return v.map((x: unknown, i) => item(x, at(path, i)));
  };
}

/** `types.IPNet`: required, canonical CIDR text with host bits kept. */
function cidr(v: unknown, path: DecodePath): string {
  const s = string(v, path);
  try {
    return canonicalCIDR(s);
  } catch (e) {
    throw new ResultDecodeIssue(path, (e as Error).message);
  }
}

/** `net.IP` with omitempty: `""` means absent. */
function ip(v: unknown, path: DecodePath): string | undefined {
  const s = string(v, path);
  if (s === '') return undefined;
  try {
    return canonicalIP(s);
  } catch (e) {
    throw new ResultDecodeIssue(path, (e as Error).message);
  }
}

type Shape = Readonly<Record<string, ResultDecoder<unknown>>>;
type Decoded<S extends Shape> = { [K in keyof S]: ReturnType<S[K]> };

/**
 * A Go struct: the keys that name a field (case-folded, the last wins, `null` skipped), each
 * decoded in field order; then `build` makes the canonical object.
 */
function struct<S extends Shape, Out>(shape: S, build: (fields: Decoded<S>) => Out): ResultDecoder<Out> {
  const names = Object.keys(shape);
  const pick = goFieldPicker(names);
  return (v, path) => {
    const picked = pick(v);
    if (typeof picked !== 'object' || picked === null || Array.isArray(picked)) {
      wrongType(picked, path, 'object');
    }
    const given = picked as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const name of names) {
      const value = (shape[name] as ResultDecoder<unknown>)(given[name], at(path, name));
      if (value !== undefined) out[name] = value;
    }
    return build(out as Decoded<S>);
  };
}

const str = optional(string);
/** `[]string`: a `null` element is `""`. */
const strList = optional(list((v, path) => (v === null ? '' : string(v, path))));
const int = optional(integer);
const optIp = optional(ip);

/** `DNS`, which every version has. */
const dns = struct({ nameservers: strList, domain: str, search: strList, options: strList }, (d): M.DNS => {
  const out: M.DNS = {};
  if (d.nameservers?.length) out.nameservers = d.nameservers;
  if (d.domain) out.domain = d.domain;
  if (d.search?.length) out.search = d.search;
  if (d.options?.length) out.options = d.options;
  return out;
});
const optDns = optional(dns);

/** `[]Route`, which every version has. */
const routes = optional(
  list(
    struct(
      { dst: cidr, gw: optIp, mtu: int, advmss: int, priority: int, table: int, scope: int },
      (r): M.Route => copyRoute(r),
    ),
  ),
);

/** The 0.1.0/0.2.0 result: `ip4`/`ip6` and an always-present `dns`. */
function buildResult020(): ResultSchemas['020'] {
  const ipConfig020 = struct({ ip: cidr, gateway: optIp, routes }, (c): M.IPConfig020 => {
    const out: M.IPConfig020 = { ip: c.ip };
    if (c.gateway !== undefined) out.gateway = c.gateway;
    if (c.routes?.length) out.routes = c.routes;
    return out;
  });

  return struct(
    { cniVersion: str, ip4: optional(ipConfig020), ip6: optional(ipConfig020), dns: optDns },
    (r): DecodedResult020 => ({
      cniVersion: r.cniVersion ?? '',
      ...(r.ip4 ? { ip4: r.ip4 } : {}),
      ...(r.ip6 ? { ip6: r.ip6 } : {}),
      dns: r.dns ?? {}, // 0.1.0/0.2.0 always carry dns, `{}` when empty
    }),
  );
}

/** The 0.3.x/0.4.0 result: `ips` carry a `version`, `dns` is always present. */
function buildResult040(): ResultSchemas['040'] {
  const interface040 = struct({ name: str, mac: str, sandbox: str }, (i): M.Interface040 => {
    const out: M.Interface040 = { name: i.name ?? '' };
    if (i.mac) out.mac = i.mac;
    if (i.sandbox) out.sandbox = i.sandbox;
    return out;
  });

  const ipConfig040 = struct(
    { version: str, interface: int, address: cidr, gateway: optIp },
    (c): M.IPConfig040 => ({
      version: c.version ?? '', // not omitempty in Go: an absent version is written as ""
      ...(c.interface !== undefined ? { interface: c.interface } : {}),
      address: c.address,
      ...(c.gateway !== undefined ? { gateway: c.gateway } : {}),
    }),
  );

  return struct(
    {
      cniVersion: str,
      interfaces: optional(list(interface040)),
      ips: optional(list(ipConfig040)),
      routes,
      dns: optDns,
    },
    (r): DecodedResult040 => ({
      cniVersion: r.cniVersion ?? '',
      ...(r.interfaces?.length ? { interfaces: r.interfaces } : {}),
      ...(r.ips?.length ? { ips: r.ips } : {}),
      ...(r.routes?.length ? { routes: r.routes } : {}),
      dns: r.dns ?? {}, // 0.3.x/0.4.0 always carry dns, `{}` when empty
    }),
  );
}

/** The 1.0.0/1.1.0 result: richer interfaces, no ip `version`, `dns` left out when empty. */
function buildResult100(): ResultSchemas['100'] {
  const interface100 = struct(
    { name: str, mac: str, mtu: int, sandbox: str, socketPath: str, pciID: str },
    (i): M.Interface100 => copyInterface100({ ...i, name: i.name ?? '' }),
  );

  const ipConfig100 = struct(
    { interface: int, address: cidr, gateway: optIp },
    (c): M.IPConfig100 => ({
      ...(c.interface !== undefined ? { interface: c.interface } : {}),
      address: c.address,
      ...(c.gateway !== undefined ? { gateway: c.gateway } : {}),
    }),
  );

  return struct(
    {
      cniVersion: str,
      interfaces: optional(list(interface100)),
      ips: optional(list(ipConfig100)),
      routes,
      dns: optDns,
    },
    (r): DecodedResult100 => ({
      cniVersion: r.cniVersion ?? '',
      ...(r.interfaces?.length ? { interfaces: r.interfaces } : {}),
      ...(r.ips?.length ? { ips: r.ips } : {}),
      ...(r.routes?.length ? { routes: r.routes } : {}),
      // libcni >= 1.2 leaves an empty dns out of 1.x results.
      ...(r.dns && Object.keys(r.dns).length > 0 ? { dns: r.dns } : {}),
    }),
  );
}

/** The result decoders, one per Go result type. */
export const resultDecoders: ResultSchemas = {
  '020': buildResult020(),
  '040': buildResult040(),
  '100': buildResult100(),
};

/**
 * zod schemas that decode a result the way Go decodes it into its typed structs, and build the
 * canonical object Go would encode back: unknown keys dropped, IP text canonical, `omitempty` applied,
 * keys in Go's struct field order.
 *
 * zod costs ~50-100 ms to load, and the CLI must start fast, so it is not imported with the library:
 * {@link loadResultDecoder} imports it (a static `import('zod')`, which bundlers follow) and builds
 * the schemas once. CNIConfig starts that in the background when it is constructed and every
 * operation awaits it before its first decode, so loading never stalls an ADD in progress. The
 * synchronous decoders need it done: they throw a {@link LibraryLoadError} until it is.
 *
 * Go's decoder rules reproduced here:
 * - object keys match field names case-insensitively (`"IPs"` fills `ips`); the last match wins;
 * - `null` leaves a field at its zero value (absent); a `null` in a string list is `""`;
 * - integers must be integral JSON numbers; strings must be strings; lists must be arrays.
 * Where Go would accept input and then write something it cannot read back (`"<nil>"` for a missing
 * address or route `dst`, `null` entries in `ips`), we refuse the input instead.
 */

import type * as Zod from 'zod';
import { LibraryLoadError } from '../core/errors.ts';
import { goFieldPicker } from '../go/struct.ts';
import { copyInterface100, copyRoute } from './convert.ts';
import { canonicalCIDR, canonicalIP } from './ip.ts';
import type * as M from './result-model.ts';

type ZodModule = typeof Zod;

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

/** One schema per Go result type. */
export interface ResultSchemas {
  readonly '020': Zod.ZodType<DecodedResult020>;
  readonly '040': Zod.ZodType<DecodedResult040>;
  readonly '100': Zod.ZodType<DecodedResult100>;
}

const INT64_LIMIT = 2 ** 63;

/** The scalar field decoders and the Go struct combinator every result schema is made of. */
function buildScalars(zod: ZodModule) {
  const { z } = zod;

  /** A Go struct: known keys only (case-folded), then `build` makes the canonical object. */
  const struct = <Shape extends Zod.ZodRawShape, Out>(
    shape: Shape,
    build: (v: Zod.output<Zod.ZodObject<Shape>>) => Out,
  ) => {
    return z.preprocess(goFieldPicker(Object.keys(shape)), z.object(shape).transform(build));
  };

  const str = z.string().optional();
  const strList = z.array(z.preprocess((v) => (v === null ? '' : v), z.string())).optional();
  const int = z
    .number()
    .transform((n, ctx) => {
      if (!Number.isInteger(n) || Math.abs(n) > INT64_LIMIT) {
        ctx.addIssue({ code: 'custom', message: `expected an integer, got ${n}` });
        return z.NEVER;
      }
      return n + 0; // -0 decodes to Go's 0
    })
    .optional();
  /** `types.IPNet`: required, canonical CIDR text with host bits kept. */
  const cidr = z.string().transform((s, ctx) => {
    try {
      return canonicalCIDR(s);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  });
  /** `net.IP` with omitempty: `""` means absent. */
  const ip = z
    .string()
    .transform((s, ctx) => {
      if (s === '') return undefined;
      try {
        return canonicalIP(s);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
        return z.NEVER;
      }
    })
    .optional();

  return { z, struct, str, strList, int, cidr, ip };
}

type Scalars = ReturnType<typeof buildScalars>;

/** The types every version shares: `DNS` and `Route`. */
function buildShared({ z, struct, str, strList, int, cidr, ip }: Scalars) {
  const dns = struct({ nameservers: strList, domain: str, search: strList, options: strList }, (d): M.DNS => {
    const out: M.DNS = {};
    if (d.nameservers?.length) out.nameservers = d.nameservers;
    if (d.domain) out.domain = d.domain;
    if (d.search?.length) out.search = d.search;
    if (d.options?.length) out.options = d.options;
    return out;
  });

  const route = struct(
    { dst: cidr, gw: ip, mtu: int, advmss: int, priority: int, table: int, scope: int },
    (r): M.Route => copyRoute(r),
  );
  const routes = z.array(route).optional();

  return { dns, routes };
}

type Shared = ReturnType<typeof buildShared>;

/** The 0.1.0/0.2.0 result: `ip4`/`ip6` and an always-present `dns`. */
function buildResult020({ struct, str, cidr, ip }: Scalars, { dns, routes }: Shared): ResultSchemas['020'] {
  const ipConfig020 = struct({ ip: cidr, gateway: ip, routes }, (c): M.IPConfig020 => {
    const out: M.IPConfig020 = { ip: c.ip };
    if (c.gateway !== undefined) out.gateway = c.gateway;
    if (c.routes?.length) out.routes = c.routes;
    return out;
  });

  return struct(
    { cniVersion: str, ip4: ipConfig020.optional(), ip6: ipConfig020.optional(), dns: dns.optional() },
    (r): DecodedResult020 => ({
      cniVersion: r.cniVersion ?? '',
      ...(r.ip4 ? { ip4: r.ip4 } : {}),
      ...(r.ip6 ? { ip6: r.ip6 } : {}),
      dns: r.dns ?? {}, // 0.1.0/0.2.0 always carry dns, `{}` when empty
    }),
  );
}

/** The 0.3.x/0.4.0 result: `ips` carry a `version`, `dns` is always present. */
function buildResult040(
  { z, struct, str, int, cidr, ip }: Scalars,
  { dns, routes }: Shared,
): ResultSchemas['040'] {
  const interface040 = struct({ name: str, mac: str, sandbox: str }, (i): M.Interface040 => {
    const out: M.Interface040 = { name: i.name ?? '' };
    if (i.mac) out.mac = i.mac;
    if (i.sandbox) out.sandbox = i.sandbox;
    return out;
  });

  const ipConfig040 = struct(
    { version: str, interface: int, address: cidr, gateway: ip },
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
      interfaces: z.array(interface040).optional(),
      ips: z.array(ipConfig040).optional(),
      routes,
      dns: dns.optional(),
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
function buildResult100(
  { z, struct, str, int, cidr, ip }: Scalars,
  { dns, routes }: Shared,
): ResultSchemas['100'] {
  const interface100 = struct(
    { name: str, mac: str, mtu: int, sandbox: str, socketPath: str, pciID: str },
    (i): M.Interface100 => copyInterface100({ ...i, name: i.name ?? '' }),
  );

  const ipConfig100 = struct(
    { interface: int, address: cidr, gateway: ip },
    (c): M.IPConfig100 => ({
      ...(c.interface !== undefined ? { interface: c.interface } : {}),
      address: c.address,
      ...(c.gateway !== undefined ? { gateway: c.gateway } : {}),
    }),
  );

  return struct(
    {
      cniVersion: str,
      interfaces: z.array(interface100).optional(),
      ips: z.array(ipConfig100).optional(),
      routes,
      dns: dns.optional(),
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

function buildSchemas(zod: ZodModule): ResultSchemas {
  const scalars = buildScalars(zod);
  const shared = buildShared(scalars);
  return {
    '020': buildResult020(scalars, shared),
    '040': buildResult040(scalars, shared),
    '100': buildResult100(scalars, shared),
  };
}

let schemas: ResultSchemas | undefined;
let loading: Promise<void> | undefined;

/**
 * Load what result decoding needs (zod) and build the schemas; resolves at once when done before.
 * {@link CNIConfig} calls this itself; call it before the synchronous decoders
 * (`normalizeResult`, `decodePluginResult`, `resultFromBytes`) when using them on their own.
 * @throws LibraryLoadError when zod cannot be loaded (missing from the install or the bundle);
 *   a failed load is retried on the next call.
 */
export function loadResultDecoder(): Promise<void> {
  if (schemas !== undefined) return Promise.resolve();
  loading ??= import('zod').then(
    (zod: ZodModule) => {
      schemas ??= buildSchemas(zod);
    },
    (e: unknown) => {
      loading = undefined;
      const why = e instanceof Error ? e.message : String(e);
      throw new LibraryLoadError('zod', `libcni could not load its dependency zod: ${why}`, { cause: e });
    },
  );
  return loading;
}

/** The result schemas; {@link loadResultDecoder} must have completed. */
export function resultSchemas(): ResultSchemas {
  if (schemas === undefined) {
    throw new LibraryLoadError(
      'zod',
      'the result decoder is not loaded yet: await loadResultDecoder() before decoding results synchronously',
    );
  }
  return schemas;
}

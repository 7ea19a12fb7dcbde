/**
 * Typed capability arguments: the well-known capabilities of CNI's CONVENTIONS.md
 * (https://github.com/containernetworking/cni/blob/main/CONVENTIONS.md, "Well-known Capabilities"),
 * plus the pod annotations containerd passes as `io.kubernetes.cri.pod-annotations`, checked with
 * zod before any plugin runs. A value a plugin would choke on, or a key that is no capability (a typo
 * such as `portMapping`), is a {@link ValidationError} naming the field, instead of a
 * `runtimeConfig` that no plugin receives.
 *
 * zod is loaded on first use, so that code that never passes `capabilities` does not pay for it
 * (60-90 ms); a zod that cannot be loaded is a {@link LibraryLoadError}.
 */
import { createRequire } from 'node:module';
import type * as Zod from 'zod';
import { capabilitiesOf } from '../config/inject.ts';
import type { PluginConfig } from '../config/types.ts';
import { ErrorCode, LibraryLoadError, ValidationError } from '../core/errors.ts';
import { tryParseIP } from '../types/ip.ts';

/** One host port forwarded to the container (`portMappings`, used by the `portmap` plugin). */
export interface PortMapping {
  /** 1–65535. */
  hostPort: number;
  /** 1–65535. */
  containerPort: number;
  /** `tcp`, `udp` or `sctp`. */
  protocol: 'tcp' | 'udp' | 'sctp';
  /** Only this host address (default: every address). */
  hostIP?: string | undefined;
}

/** One pool of an `ipRanges` allocation (host-local's `ranges` entry). */
export interface IPRange {
  /** CIDR, e.g. `10.1.2.0/24`. */
  subnet: string;
  rangeStart?: string | undefined;
  rangeEnd?: string | undefined;
  gateway?: string | undefined;
}

/** Bandwidth limits (`bandwidth` plugin): rates in bits per second, bursts in bits. */
export interface BandwidthLimits {
  ingressRate?: number | undefined;
  ingressBurst?: number | undefined;
  egressRate?: number | undefined;
  egressBurst?: number | undefined;
}

/** DNS settings for the container (`dns`). */
export interface DnsCapability {
  /** Name server addresses. */
  servers?: readonly string[] | undefined;
  searches?: readonly string[] | undefined;
  options?: readonly string[] | undefined;
}

/**
 * The well-known capabilities, typed. Each goes, as given, into the `runtimeConfig` of every plugin
 * that declares it in its `capabilities`; a plugin that does not declare it never sees it.
 */
export interface Capabilities {
  portMappings?: readonly PortMapping[] | undefined;
  /** Outer list: one entry per address to allocate; inner list: the pools for it. */
  ipRanges?: ReadonlyArray<readonly IPRange[]> | undefined;
  bandwidth?: BandwidthLimits | undefined;
  dns?: DnsCapability | undefined;
  /** Addresses to assign, `<ip>` or `<ip>/<prefix>`. */
  ips?: readonly string[] | undefined;
  /** MAC address, e.g. `c2:11:22:33:44:55`. */
  mac?: string | undefined;
  /** InfiniBand GUID, e.g. `c2:11:22:33:44:55:66:77`. */
  infinibandGUID?: string | undefined;
  /** Device identifier, e.g. a PCI address `0000:04:00.5`. */
  deviceID?: string | undefined;
  /** Names other containers of the network may use for this one. */
  aliases?: readonly string[] | undefined;
  /** The pod's cgroup path. */
  cgroupPath?: string | undefined;
  /** The pod's annotations, as containerd passes them. */
  'io.kubernetes.cri.pod-annotations'?: Readonly<Record<string, string>> | undefined;
}

/** The names of the capabilities {@link Capabilities} types, in CONVENTIONS.md's order. */
export const WELL_KNOWN_CAPABILITIES = [
  'portMappings',
  'ipRanges',
  'bandwidth',
  'dns',
  'ips',
  'mac',
  'infinibandGUID',
  'deviceID',
  'aliases',
  'cgroupPath',
  'io.kubernetes.cri.pod-annotations',
] as const satisfies ReadonlyArray<keyof Capabilities>;

type ZodModule = typeof Zod;

/**
 * Octets separated by ':' or '-', as Go's net.ParseMAC reads them (which the tuning plugin uses):
 * 6, 8 or 20 of them for a MAC; an InfiniBand GUID is 8 (upstream's example uses ':').
 */
function isHexOctets(text: string, counts: readonly number[], separators = ':-'): boolean {
  const sep = text[2];
  if (sep === undefined || !separators.includes(sep)) return false;
  const parts = text.split(sep);
  return counts.includes(parts.length) && parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p));
}

function isCidr(text: string): boolean {
  const slash = text.indexOf('/');
  if (slash < 0 || tryParseIP(text.slice(0, slash)) === undefined) return false;
  const prefix = text.slice(slash + 1);
  const max = text.slice(0, slash).includes(':') ? 128 : 32;
  return /^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= max;
}

function buildSchema(z: ZodModule): Zod.ZodType<Capabilities> {
  const ip = z.string().refine((s) => tryParseIP(s) !== undefined, { error: 'not an IP address' });
  const cidr = z.string().refine(isCidr, { error: 'not a CIDR (address/prefix)' });
  const ipOrCidr = z.string().refine((s) => (s.includes('/') ? isCidr(s) : tryParseIP(s) !== undefined), {
    error: 'not an IP address or address/prefix',
  });
  const port = z.number().int().min(1).max(65535);
  const rate = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
  const nonEmpty = z.string().min(1);
  const portMapping = z.strictObject({
    hostPort: port,
    containerPort: port,
    protocol: z.enum(['tcp', 'udp', 'sctp']),
    hostIP: ip.optional(),
  });
  const range = z.strictObject({
    subnet: cidr,
    rangeStart: ip.optional(),
    rangeEnd: ip.optional(),
    gateway: ip.optional(),
  });
  return z.strictObject({
    portMappings: z.array(portMapping).optional(),
    ipRanges: z.array(z.array(range).min(1)).optional(),
    bandwidth: z
      .strictObject({
        ingressRate: rate.optional(),
        ingressBurst: rate.optional(),
        egressRate: rate.optional(),
        egressBurst: rate.optional(),
      })
      .optional(),
    dns: z
      .strictObject({
        servers: z.array(ip).optional(),
        searches: z.array(nonEmpty).optional(),
        options: z.array(nonEmpty).optional(),
      })
      .optional(),
    ips: z.array(ipOrCidr).optional(),
    mac: z
      .string()
      .refine((t) => isHexOctets(t, [6, 8, 20]), { error: 'not a MAC address' })
      .optional(),
    infinibandGUID: z
      .string()
      .refine((t) => isHexOctets(t, [8], ':'), { error: 'not an InfiniBand GUID (8 octets)' })
      .optional(),
    deviceID: nonEmpty.optional(),
    aliases: z.array(nonEmpty).optional(),
    cgroupPath: nonEmpty.optional(),
    'io.kubernetes.cri.pod-annotations': z.record(z.string(), z.string()).optional(),
  });
}

const loadCjs = createRequire(import.meta.url);
let schema: Zod.ZodType<Capabilities> | undefined;

function capabilitiesSchema(): Zod.ZodType<Capabilities> {
  if (schema !== undefined) return schema;
  let zod: ZodModule;
  try {
    zod = loadCjs('zod') as ZodModule;
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new LibraryLoadError('zod', `libcni could not load its dependency zod: ${why}`, { cause: e });
  }
  schema = buildSchema(zod);
  return schema;
}

/** `a.b[0]["x.y"]`: a zod issue path as a field name a reader can find in their code. */
function fieldName(root: string, path: ReadonlyArray<PropertyKey>): string {
  let out = root;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$]*$/.test(key)) out += `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/** Levenshtein distance, for "did you mean" on a misspelt capability. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

function suggestion(key: string): string | undefined {
  const lower = key.toLowerCase();
  const best = WELL_KNOWN_CAPABILITIES.map((c) => ({ c, d: distance(lower, c.toLowerCase()) })).sort(
    (x, y) => x.d - y.d,
  )[0];
  return best !== undefined && best.d <= 3 ? best.c : undefined;
}

/** The first problem zod found, as the library's error. */
function toValidationError(root: string, issue: Zod.core.$ZodIssue): ValidationError {
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    const field = fieldName(root, [...issue.path, key]);
    const atTop = issue.path.length === 0;
    const hint = atTop ? suggestion(key) : undefined;
    const msg = atTop
      ? `unknown capability ${JSON.stringify(key)}${hint ? ` (did you mean ${JSON.stringify(hint)}?)` : ''}`
      : `unknown field ${JSON.stringify(key)}`;
    return new ValidationError(
      field,
      ErrorCode.InvalidNetworkConfig,
      `invalid ${field}: ${msg}`,
      atTop ? 'pass capabilities outside CONVENTIONS.md in capabilityArgs' : undefined,
    );
  }
  const field = fieldName(root, issue.path);
  return new ValidationError(field, ErrorCode.InvalidNetworkConfig, `invalid ${field}: ${issue.message}`);
}

/**
 * Check `value` against {@link Capabilities}; `root` names it in errors (`capabilities`,
 * `perNetwork.net1.capabilities`, ...).
 *
 * @throws {ValidationError} with `field` the path of the first bad value, e.g.
 * `capabilities.portMappings[0].hostPort`.
 */
export function validateCapabilities(value: unknown, root = 'capabilities'): Capabilities {
  if (value === undefined) return {};
  const parsed = capabilitiesSchema().safeParse(value);
  if (parsed.success) return value as Capabilities;
  // zod reports at least one issue for a failed parse.
  throw toValidationError(root, parsed.error.issues[0] as Zod.core.$ZodIssue);
}

/** One source of capability inputs for an attachment: where it came from, for error messages. */
export interface CapabilitySource {
  /** How errors name it: `capabilities`, `perNetwork.net1.capabilities`, ... */
  label: string;
  capabilities?: Capabilities | undefined;
  capabilityArgs?: Readonly<Record<string, unknown>> | undefined;
}

/**
 * The capability args of one attachment: typed `capabilities` (each source validated) and
 * free-form `capabilityArgs`, later sources replacing earlier ones key by key (a network's own over
 * the container-wide ones). A key given in both `capabilities` and `capabilityArgs` (at any level)
 * is a {@link ValidationError}: which one is meant cannot be guessed.
 */
export function mergeCapabilityInputs(
  sources: readonly CapabilitySource[],
): Record<string, unknown> | undefined {
  const typed: Record<string, unknown> = {};
  const free: Record<string, unknown> = {};
  for (const s of sources) {
    const caps = validateCapabilities(s.capabilities, s.label);
    for (const [k, v] of Object.entries(caps)) if (v !== undefined) typed[k] = v;
    for (const [k, v] of Object.entries(s.capabilityArgs ?? {})) free[k] = v;
  }
  const both = Object.keys(typed).find((k) => Object.hasOwn(free, k));
  if (both !== undefined) {
    const field = fieldName('capabilities', [both]);
    throw new ValidationError(
      field,
      ErrorCode.InvalidNetworkConfig,
      `invalid ${field}: ${JSON.stringify(both)} is given both in capabilities and in capabilityArgs`,
    );
  }
  const out = { ...free, ...typed };
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The capability args no plugin of `plugins` declares: the spec drops them, we report them. */
export function unusedCapabilities(
  plugins: readonly PluginConfig[],
  capabilityArgs: Readonly<Record<string, unknown>> | undefined,
): string[] {
  if (capabilityArgs === undefined) return [];
  const declared = new Set(plugins.flatMap((p) => capabilitiesOf(p)));
  return Object.keys(capabilityArgs).filter((k) => capabilityArgs[k] !== undefined && !declared.has(k));
}

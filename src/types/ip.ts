/**
 * IP address and CIDR text, parsed and printed exactly as Go's `net` package does it.
 *
 * Go libcni stores every address of a result as a `net.IP` or `net.IPNet` and prints it back with
 * `String()`, so the text in a Go-written cache is canonical: lowercase, zero runs compressed,
 * IPv4-mapped IPv6 shown as dotted IPv4. Matching those bytes means parsing and printing the same way.
 *
 * Addresses are held as 16 bytes, IPv4 in its IPv4-mapped form, as Go's `ParseIP` returns them.
 * The parser follows Go >= 1.22 (`net/netip` underneath): IPv4 octets with leading zeros and IPv6
 * groups of more than four hex digits are refused, zones (`%eth0`) are refused.
 */

import { ResultError } from '../core/errors.ts';

/** A parsed CIDR as libcni's `types.ParseCIDR` keeps it: the address with its host bits, and the prefix. */
export interface ParsedCIDR {
  /** The address as written (host bits kept), 16 bytes, IPv4 in mapped form. */
  readonly ip: Uint8Array;
  /** Prefix length in bits. */
  readonly prefixLength: number;
  /** 32 when the address was written as IPv4, 128 when written as IPv6 (even an IPv4-mapped one). */
  readonly bits: 32 | 128;
}

const V4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] as const;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** Dotted-quad IPv4: exactly four decimal octets, each 0..255, no leading zeros. */
function parseIPv4Octets(s: string): number[] | undefined {
  const out: number[] = [];
  let i = 0;
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (s.charCodeAt(i) !== 0x2e) return undefined;
      i++;
    }
    const start = i;
    let n = 0;
    while (i < s.length && isDigit(s.charCodeAt(i))) {
      n = n * 10 + (s.charCodeAt(i) - 0x30);
      if (n > 255) return undefined;
      i++;
    }
    const len = i - start;
    if (len === 0) return undefined;
    if (len > 1 && s.charCodeAt(start) === 0x30) return undefined; // leading zero (Go >= 1.17)
    out.push(n);
  }
  return i === s.length ? out : undefined;
}

function v4Mapped(octets: readonly number[]): Uint8Array {
  const ip = new Uint8Array(16);
  ip.set(V4_MAPPED_PREFIX, 0);
  ip.set(octets, 12);
  return ip;
}

/** IPv6 text (with `::` and an optional trailing dotted IPv4) to 16 bytes. */
function parseIPv6Bytes(s: string): Uint8Array | undefined {
  const ip = new Uint8Array(16);
  let ellipsis = -1;
  let i = 0; // byte position in ip
  let p = 0; // char position in s
  if (s.startsWith('::')) {
    ellipsis = 0;
    p = 2;
    if (p === s.length) return ip;
  }
  while (i < 16) {
    // One group of 1..4 hex digits.
    const start = p;
    let n = 0;
    while (p < s.length) {
      const h = hexValue(s.charCodeAt(p));
      if (h < 0) break;
      n = n * 16 + h;
      p++;
    }
    const digits = p - start;
    if (digits === 0) return undefined;
    if (p < s.length && s.charCodeAt(p) === 0x2e) {
      // Trailing IPv4: only as the last 32 bits.
      if (ellipsis < 0 && i !== 12) return undefined;
      if (i + 4 > 16) return undefined;
      const octets = parseIPv4Octets(s.slice(start));
      if (!octets) return undefined;
      ip.set(octets, i);
      i += 4;
      p = s.length;
      break;
    }
    if (digits > 4) return undefined;
    ip[i] = n >> 8;
    ip[i + 1] = n & 0xff;
    i += 2;
    if (p === s.length) break;
    if (s.charCodeAt(p) !== 0x3a || p + 1 === s.length) return undefined;
    p++;
    if (s.charCodeAt(p) === 0x3a) {
      if (ellipsis >= 0) return undefined;
      ellipsis = i;
      p++;
      if (p === s.length) break;
    }
  }
  if (p !== s.length) return undefined;
  if (i < 16) {
    if (ellipsis < 0) return undefined;
    const shift = 16 - i;
    for (let j = i - 1; j >= ellipsis; j--) ip[j + shift] = ip[j] ?? 0;
    ip.fill(0, ellipsis, ellipsis + shift);
  } else if (ellipsis >= 0) {
    return undefined; // `::` must stand for at least one zero group
  }
  return ip;
}

function firstSeparator(text: string): '.' | ':' | undefined {
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '.' || c === ':') return c;
  }
  return undefined;
}

/** Parse like Go's `net.ParseIP`; undefined when `text` is not an IP address. */
export function tryParseIP(text: string): Uint8Array | undefined {
  switch (firstSeparator(text)) {
    case '.': {
      const octets = parseIPv4Octets(text);
      return octets ? v4Mapped(octets) : undefined;
    }
    case ':':
      return parseIPv6Bytes(text);
    default:
      return undefined;
  }
}

/**
 * Parse like Go's `net.ParseIP`.
 * @throws ResultError `invalid IP address: <text>` (Go's `net.ParseError` text).
 */
export function parseIP(text: string): Uint8Array {
  const ip = tryParseIP(text);
  if (!ip) throw new ResultError(`invalid IP address: ${text}`);
  return ip;
}

/** Go's `IP.To4() != nil`: true for IPv4 and for IPv4-mapped IPv6 (`::ffff:a.b.c.d`). */
function is4(ip: Uint8Array): boolean {
  if (ip.length === 4) return true;
  if (ip.length !== 16) return false;
  for (let k = 0; k < 12; k++) if (ip[k] !== V4_MAPPED_PREFIX[k]) return false;
  return true;
}

/** Print like Go's `net.IP.String()`. Accepts 4- or 16-byte addresses. */
export function formatIP(ip: Uint8Array): string {
  if (ip.length === 0) return '<nil>';
  if (is4(ip)) {
    const o = ip.length === 4 ? 0 : 12;
    return `${ip[o]}.${ip[o + 1]}.${ip[o + 2]}.${ip[o + 3]}`;
  }
  if (ip.length !== 16) return `?${Buffer.from(ip).toString('hex')}`;
  // The longest run of at least two zero groups becomes `::`; the first one wins a tie.
  let bestStart = -1;
  let bestEnd = -1;
  for (let i = 0; i < 16; i += 2) {
    let j = i;
    while (j < 16 && ip[j] === 0 && ip[j + 1] === 0) j += 2;
    if (j > i && j - i > bestEnd - bestStart) {
      bestStart = i;
      bestEnd = j;
      i = j;
    }
  }
  if (bestEnd - bestStart <= 2) {
    bestStart = -1;
    bestEnd = -1;
  }
  let out = '';
  for (let i = 0; i < 16; i += 2) {
    if (i === bestStart) {
      out += '::';
      i = bestEnd;
      if (i >= 16) break;
    } else if (i > 0) {
      out += ':';
    }
    out += (((ip[i] ?? 0) << 8) | (ip[i + 1] ?? 0)).toString(16);
  }
  return out;
}

/**
 * Parse like Go's `net.ParseCIDR`, keeping the host bits as libcni's `types.ParseCIDR` does.
 * @throws ResultError `invalid CIDR address: <text>`.
 */
export function parseCIDR(text: string): ParsedCIDR {
  const slash = text.indexOf('/');
  const fail = (): never => {
    throw new ResultError(`invalid CIDR address: ${text}`);
  };
  if (slash < 0) return fail();
  const addr = text.slice(0, slash);
  const mask = text.slice(slash + 1);
  const ip = tryParseIP(addr);
  // The first separator decides the family, as in Go: an IPv4-mapped IPv6 address is still 128 bits wide.
  const bits = firstSeparator(addr) === '.' ? 32 : 128;
  // Prefix: decimal digits only (leading zeros allowed, as Go's dtoi), within the family's width.
  if (!ip || !/^[0-9]+$/.test(mask)) return fail();
  const prefixLength = Number(mask);
  if (prefixLength > bits) return fail();
  return { ip, prefixLength, bits };
}

/**
 * Print like Go's `net.IPNet.String()` for what {@link parseCIDR} returned. An IPv4-mapped address
 * written as IPv6 prints as IPv4 with the last 32 bits of its mask (`::ffff:1.2.3.4/120` -> `1.2.3.4/24`).
 */
export function formatCIDR(cidr: ParsedCIDR): string {
  let prefix = cidr.prefixLength;
  if (cidr.bits === 128 && is4(cidr.ip)) prefix = Math.max(0, prefix - 96);
  return `${formatIP(cidr.ip)}/${prefix}`;
}

/**
 * Go's canonical text of an IP address (`net.ParseIP(text).String()`).
 * @throws ResultError `invalid IP address: <text>`.
 */
export function canonicalIP(text: string): string {
  return formatIP(parseIP(text));
}

/**
 * Go's canonical text of a CIDR with its host bits kept: `2001:DB8:0:0:0:0:0:5/64` -> `2001:db8::5/64`,
 * `10.1.2.3/24` stays.
 * @throws ResultError `invalid CIDR address: <text>`.
 */
export function canonicalCIDR(text: string): string {
  return formatCIDR(parseCIDR(text));
}

/**
 * True when the address is IPv4 by Go's `To4()` rule (so also for IPv4-mapped IPv6). Accepts an
 * address (`10.0.0.1`) or a CIDR (`10.0.0.1/24`); for a CIDR the address part decides.
 * @throws ResultError when `text` is neither.
 */
export function isIPv4(text: string): boolean {
  return is4(text.includes('/') ? parseCIDR(text).ip : parseIP(text));
}

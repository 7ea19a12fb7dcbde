/**
 * Go's quoting, so that our error messages carry Go libcni's exact text (users and upstream tests
 * match on it): `strconv.Quote` of a string (`%q`) and of raw bytes, `%q`/`%v` of a `[]string`, and
 * `encoding/json`'s `quoteChar` for the offending byte of a syntax error.
 * https://pkg.go.dev/strconv#Quote
 */

/** Go's `unicode.IsPrint` outside ASCII: letters, marks, numbers, punctuation, symbols. */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

const HEX = '0123456789abcdef';

function hex(n: number, digits: number): string {
  let s = '';
  for (let shift = (digits - 1) * 4; shift >= 0; shift -= 4) s += HEX.charAt((n >> shift) & 15);
  return s;
}

/** One rune as it appears inside a `strconv.Quote` result (without the quotes). */
export function goEscapeRune(r: number): string {
  if (r === 0x22 || r === 0x5c) return `\\${String.fromCharCode(r)}`;
  if (r >= 0x20 && r < 0x7f) return String.fromCharCode(r);
  if (r >= 0x80 && PRINTABLE.test(String.fromCodePoint(r))) return String.fromCodePoint(r);
  switch (r) {
    case 0x07:
      return '\\a';
    case 0x08:
      return '\\b';
    case 0x0c:
      return '\\f';
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
    case 0x09:
      return '\\t';
    case 0x0b:
      return '\\v';
    default:
      if (r < 0x20 || r === 0x7f) return `\\x${hex(r, 2)}`;
      return r < 0x10000 ? `\\u${hex(r, 4)}` : `\\U${hex(r, 8)}`;
  }
}

/** `strconv.Quote(s)`, i.e. `fmt.Sprintf("%q", s)`: double-quoted, Go escapes, printable runes raw. */
export function goQuoteString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    // A lone surrogate is not valid UTF-8; Go would see the replacement character's escape.
    out += cp >= 0xd800 && cp <= 0xdfff ? '\\ufffd' : goEscapeRune(cp);
  }
  return `${out}"`;
}

/**
 * Decode one UTF-8 sequence at `i` the way Go's `utf8.DecodeRune` does. Returns the rune, or -1
 * for an invalid sequence (overlong forms, surrogates, > U+10FFFF, truncated), which Go reports
 * as `RuneError` with width 1.
 */
function decodeRune(b: Uint8Array, i: number): [rune: number, width: number] {
  const c0 = b[i] as number;
  if (c0 < 0x80) return [c0, 1];
  const cont = (j: number, lo = 0x80, hi = 0xbf): number => {
    const c = b[i + j];
    return c !== undefined && c >= lo && c <= hi ? c & 0x3f : -1;
  };
  if (c0 < 0xc2) return [-1, 1];
  if (c0 < 0xe0) {
    const c1 = cont(1);
    return c1 < 0 ? [-1, 1] : [((c0 & 0x1f) << 6) | c1, 2];
  }
  if (c0 < 0xf0) {
    const c1 = cont(1, c0 === 0xe0 ? 0xa0 : 0x80, c0 === 0xed ? 0x9f : 0xbf);
    const c2 = c1 < 0 ? -1 : cont(2);
    return c2 < 0 ? [-1, 1] : [((c0 & 0x0f) << 12) | (c1 << 6) | c2, 3];
  }
  if (c0 < 0xf5) {
    const c1 = cont(1, c0 === 0xf0 ? 0x90 : 0x80, c0 === 0xf4 ? 0x8f : 0xbf);
    const c2 = c1 < 0 ? -1 : cont(2);
    const c3 = c2 < 0 ? -1 : cont(3);
    return c3 < 0 ? [-1, 1] : [((c0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3, 4];
  }
  return [-1, 1];
}

/**
 * `strconv.Quote(string(bytes))`. Go libcni quotes a failed plugin's stderr and stdout this way;
 * plugin output is bytes and may be invalid UTF-8, which Go writes as `\xNN` per bad byte (a
 * decoded string would already have turned it into U+FFFD), so the bytes are quoted directly.
 */
export function goQuoteBytes(bytes: Uint8Array): string {
  let out = '"';
  for (let i = 0; i < bytes.length; ) {
    const [r, width] = decodeRune(bytes, i);
    if (r < 0) {
      out += `\\x${hex(bytes[i] as number, 2)}`;
      i += 1;
      continue;
    }
    i += width;
    out += goEscapeRune(r);
  }
  return `${out}"`;
}

/** `fmt.Sprintf("%q", list)` for a `[]string`: `["a" "b"]`. */
export function goQuoteList(list: readonly string[]): string {
  return `[${list.map(goQuoteString).join(' ')}]`;
}

/** `fmt.Sprintf("%v", list)` for a `[]string`: `[a b]`. */
export function goList(list: readonly string[]): string {
  return `[${list.join(' ')}]`;
}

/**
 * `encoding/json`'s `quoteChar`: the offending character of a syntax error, single-quoted. Go's
 * scanner works on bytes and shows the offending *byte* as a rune, so the first byte of a
 * multi-byte character is what appears ('é' is reported as 'Ã'). `cp` is the code point at the
 * error offset.
 */
export function goQuoteChar(cp: number): string {
  let byte: number;
  if (cp < 0x80) byte = cp;
  else if (cp < 0x800) byte = 0xc0 | (cp >> 6);
  else if (cp >= 0xd800 && cp <= 0xdfff)
    byte = 0xef; // a lone surrogate encodes as U+FFFD
  else if (cp < 0x10000) byte = 0xe0 | (cp >> 12);
  else byte = 0xf0 | (cp >> 18);
  if (byte === 0x27) return "'\\''";
  if (byte === 0x22) return `'"'`;
  return `'${goEscapeRune(byte)}'`;
}

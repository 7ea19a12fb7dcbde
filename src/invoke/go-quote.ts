/**
 * Go's `%q` / `strconv.Quote` for raw bytes. Go libcni quotes a failed plugin's stderr and stdout
 * with `%q` in its error messages; users match on those messages, so we produce the same text.
 *
 * `goQuoteString` in types/go-format.ts does the same for JavaScript strings; plugin output is
 * bytes and may be invalid UTF-8, which Go writes as `\xNN` per bad byte (a decoded string would
 * already have turned it into U+FFFD), so the bytes are quoted directly here.
 */

const HEX = '0123456789abcdef';

/** Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space. */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

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

function hex(n: number, digits: number): string {
  let s = '';
  for (let shift = (digits - 1) * 4; shift >= 0; shift -= 4) s += HEX.charAt((n >> shift) & 15);
  return s;
}

/** Go's `strconv.Quote(string(bytes))`, i.e. what `fmt.Sprintf("%q", string(b))` prints. */
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
    if (r === 0x22 || r === 0x5c) out += `\\${String.fromCharCode(r)}`;
    else if (r >= 0x20 && r < 0x7f) out += String.fromCharCode(r);
    else if (r >= 0x80 && PRINTABLE.test(String.fromCodePoint(r))) out += String.fromCodePoint(r);
    else if (r === 0x07) out += '\\a';
    else if (r === 0x08) out += '\\b';
    else if (r === 0x0c) out += '\\f';
    else if (r === 0x0a) out += '\\n';
    else if (r === 0x0d) out += '\\r';
    else if (r === 0x09) out += '\\t';
    else if (r === 0x0b) out += '\\v';
    else if (r < 0x20 || r === 0x7f) out += `\\x${hex(r, 2)}`;
    else if (r < 0x10000) out += `\\u${hex(r, 4)}`;
    else out += `\\U${hex(r, 8)}`;
  }
  return `${out}"`;
}

/**
 * JSON text exactly as Go's `encoding/json` writes it, for the places where Go libcni's bytes must be
 * reproduced (the attachment cache, legacy-config up-conversion).
 *
 * Go's encoder differs from `JSON.stringify` in ways that change bytes:
 * - `<`, `>`, `&`, U+2028 and U+2029 are escaped (`\u003c` ...);
 * - control characters other than \n \r \t are `\u00XX` with lowercase hex (Go <= 1.21 style,
 *   which is what the golden files were written with);
 * - invalid UTF-16 (lone surrogates) becomes U+FFFD;
 * - maps are written with keys sorted by their UTF-8 bytes (not UTF-16 code units);
 * - `-0` stays `-0`.
 * Numbers are float64 in both languages and otherwise format the same.
 */

const HEX = '0123456789abcdef';

/** Quote a string as Go's encoder does (HTML-safe). */
export function goQuote(s: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | undefined;
    if (c === 0x22) esc = '\\"';
    else if (c === 0x5c) esc = '\\\\';
    else if (c === 0x0a) esc = '\\n';
    else if (c === 0x0d) esc = '\\r';
    else if (c === 0x09) esc = '\\t';
    else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26) {
      esc = `\\u00${HEX[c >> 4]}${HEX[c & 15]}`;
    } else if (c === 0x2028) esc = '\\u2028';
    else if (c === 0x2029) esc = '\\u2029';
    else if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++; // a valid pair is written raw
        continue;
      }
      esc = '\\ufffd';
    } else if (c >= 0xdc00 && c <= 0xdfff) esc = '\\ufffd';
    if (esc !== undefined) {
      out += s.slice(start, i) + esc;
      start = i + 1;
    }
  }
  return `${out + s.slice(start)}"`;
}

/** Format a number as Go formats a float64. */
export function goNumber(n: number): string {
  if (!Number.isFinite(n)) throw new TypeError(`json: unsupported value: ${n}`);
  if (Object.is(n, -0)) return '-0';
  return String(n);
}

/** Compare two strings by their UTF-8 bytes, the order Go gives map keys. */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** One object or array being encoded: its remaining members, and whether one was written yet. */
interface Frame {
  /** The object or array itself, to detect a cycle (an object inside itself). */
  value: object;
  close: string;
  /** For arrays the keys are undefined: each entry is a value. */
  entries: Array<[key: string | undefined, value: unknown]>;
  next: number;
}

function scalar(v: unknown): string | undefined {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return goQuote(v);
    case 'number':
      return goNumber(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object':
      return v instanceof Uint8Array ? goQuote(Buffer.from(v).toString('base64')) : undefined;
    default:
      throw new TypeError(`json: unsupported type: ${typeof v}`);
  }
}

/**
 * Encode a JSON-compatible value the way Go encodes it after decoding into `interface{}`:
 * object keys sorted by UTF-8 bytes at every depth (`sortKeys`, default true), or kept in
 * insertion order (`sortKeys: false`, for struct-ordered output built by the caller).
 * `undefined` members are left out, as `omitempty` would; `undefined` array entries are `null`.
 * Iterative, so nesting is limited by memory rather than the call stack (Go decodes 10,000 levels).
 */
export function goMarshal(value: unknown, options?: { sortKeys?: boolean }): string {
  const sortKeys = options?.sortKeys ?? true;
  const out: string[] = [];
  const stack: Frame[] = [];
  // The objects being encoded on the current path: meeting one again is a cycle, which would
  // otherwise grow the output forever (Go's encoder refuses it too).
  const open = new Set<object>();
  const enter = (v: unknown): void => {
    const text = scalar(v);
    if (text !== undefined) {
      out.push(text);
      return;
    }
    const obj = v as object;
    if (open.has(obj)) throw new TypeError('json: unsupported value: encountered a cycle');
    open.add(obj);
    if (Array.isArray(obj)) {
      out.push('[');
      stack.push({
        value: obj,
        close: ']',
        entries: obj.map((x: unknown) => [undefined, x ?? null]),
        next: 0,
      });
      return;
    }
    const rec = obj as Record<string, unknown>;
    let keys = Object.keys(rec).filter((k) => rec[k] !== undefined);
    if (sortKeys) keys = keys.sort(compareUtf8);
    out.push('{');
    stack.push({ value: obj, close: '}', entries: keys.map((k) => [k, rec[k]]), next: 0 });
  };
  enter(value);
  for (let top = stack.at(-1); top !== undefined; top = stack.at(-1)) {
    const entry = top.entries[top.next];
    if (entry === undefined) {
      out.push(top.close);
      open.delete(top.value);
      stack.pop();
      continue;
    }
    if (top.next++ > 0) out.push(',');
    if (entry[0] !== undefined) out.push(`${goQuote(entry[0])}:`);
    enter(entry[1]);
  }
  return out.join('');
}

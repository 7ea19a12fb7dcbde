/**
 * Byte-preserving JSON: validate JSON text and find where object members and array elements sit in
 * it, so that they can be read or edited (see json-edit.ts) leaving every other character as it was.
 *
 * libcni decodes plugin configs into float64 maps and encodes them again, which turns
 * `9007199254740993` into `9007199254740992`, `1.50` into `1.5` and `<b>` into `\u003cb\u003e`.
 * We hand plugins the text they were configured with instead, so nothing here ever parses a number.
 *
 * Offsets are UTF-16 indexes into the JavaScript string. The scanner accepts exactly RFC 8259 JSON
 * (as Go's `encoding/json` does) and words its errors as Go's scanner does.
 */
import { JsonSyntaxError } from '../core/errors.ts';
import { goQuoteChar } from './quote.ts';

/** Go's `encoding/json` refuses nesting deeper than this. */
const MAX_DEPTH = 10000;

/** The kind of a JSON value, named by Go's `UnmarshalTypeError` words. */
export type JsonKind = 'object' | 'array' | 'string' | 'number' | 'bool' | 'null';

/** Where a JSON value sits in a text: `[start, end)` plus its kind. */
export interface JsonSpan {
  kind: JsonKind;
  start: number;
  end: number;
}

/** One member of an object as written in the text. */
export interface JsonMember {
  /** The key, decoded. */
  key: string;
  /** Offset of the key's opening quote. */
  start: number;
  /** Offset just after the key's closing quote. */
  keyEnd: number;
  /** Offset of the first character of the value. */
  valueStart: number;
  /** Offset just after the value; also the end of the member. */
  valueEnd: number;
  /** Same as `valueEnd`: the member is `[start, end)`. */
  end: number;
}

/** One element of an array as written in the text: `[start, end)`. */
export interface JsonElement {
  start: number;
  end: number;
  kind: JsonKind;
}

function quoteChar(text: string, i: number): string {
  return goQuoteChar(text.codePointAt(i) ?? 0);
}

function fail(text: string, i: number, context: string): never {
  throw new JsonSyntaxError(`invalid character ${quoteChar(text, i)} ${context}`, i);
}

function eof(i: number): never {
  throw new JsonSyntaxError('unexpected end of JSON input', i);
}

/**
 * The input ended inside a token that a space cannot end. Go's scanner feeds a space at the end of
 * input and reports what that space does, so a truncated `tru` or `1.` is an "invalid character ' '".
 */
function eofInToken(i: number, context: string): never {
  throw new JsonSyntaxError(`invalid character ' ' ${context}`, i);
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

function skipWs(text: string, i: number): number {
  while (i < text.length && isWs(text.charCodeAt(i))) i++;
  return i;
}

/** Characters a string literal can hold without further checks (no quote, backslash or control). */
// eslint-disable-next-line no-control-regex -- control characters are exactly what ends the run
const PLAIN_RUN = /[^"\\\u0000-\u001f]*/y;

/** Scan a string literal whose opening quote is at `i`; returns the offset after the closing quote. */
function scanString(text: string, i: number): number {
  const n = text.length;
  i++;
  for (;;) {
    PLAIN_RUN.lastIndex = i;
    PLAIN_RUN.test(text);
    i = PLAIN_RUN.lastIndex;
    if (i >= n) eof(i);
    const c = text.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c === 0x5c) {
      i++;
      if (i >= n) eofInToken(i, 'in string escape code');
      const e = text.charCodeAt(i);
      if (e === 0x75) {
        for (let k = 1; k <= 4; k++) {
          if (i + k >= n) eofInToken(i + k, 'in \\u hexadecimal character escape');
          if (!isHex(text.charCodeAt(i + k))) fail(text, i + k, 'in \\u hexadecimal character escape');
        }
        i += 5;
        continue;
      }
      // " \ / b f n r t
      if (
        e !== 0x22 &&
        e !== 0x5c &&
        e !== 0x2f &&
        e !== 0x62 &&
        e !== 0x66 &&
        e !== 0x6e &&
        e !== 0x72 &&
        e !== 0x74
      ) {
        fail(text, i, 'in string escape code');
      }
      i++;
      continue;
    }
    fail(text, i, 'in string literal'); // a control character
  }
}

/** Scan a number starting at `i` (a `-` or a digit); returns the offset after it. */
function scanNumber(text: string, i: number): number {
  const n = text.length;
  if (text.charCodeAt(i) === 0x2d) {
    i++;
    if (i >= n) eofInToken(i, 'in numeric literal');
    if (!isDigit(text.charCodeAt(i))) fail(text, i, 'in numeric literal');
  }
  if (text.charCodeAt(i) === 0x30) i++;
  else while (i < n && isDigit(text.charCodeAt(i))) i++;
  if (i < n && text.charCodeAt(i) === 0x2e) {
    i++;
    if (i >= n) eofInToken(i, 'after decimal point in numeric literal');
    if (!isDigit(text.charCodeAt(i))) fail(text, i, 'after decimal point in numeric literal');
    while (i < n && isDigit(text.charCodeAt(i))) i++;
  }
  if (i < n && (text.charCodeAt(i) === 0x65 || text.charCodeAt(i) === 0x45)) {
    i++;
    if (i >= n) eofInToken(i, 'in exponent of numeric literal');
    const s = text.charCodeAt(i);
    if (s === 0x2b || s === 0x2d) {
      i++;
      if (i >= n) eofInToken(i, 'in exponent of numeric literal');
    }
    if (!isDigit(text.charCodeAt(i))) fail(text, i, 'in exponent of numeric literal');
    while (i < n && isDigit(text.charCodeAt(i))) i++;
  }
  return i;
}

function scanLiteral(text: string, i: number, word: 'true' | 'false' | 'null'): number {
  for (let k = 1; k < word.length; k++) {
    const context = `in literal ${word} (expecting ${quoteChar(word, k)})`;
    if (i + k >= text.length) eofInToken(i + k, context);
    if (text.charCodeAt(i + k) !== word.charCodeAt(k)) fail(text, i + k, context);
  }
  return i + word.length;
}

/** Scan `"key"` + `:` at `i` (which must be the opening quote); returns the offset after the colon. */
function scanKeyAndColon(text: string, i: number): number {
  if (i >= text.length) eof(i);
  if (text.charCodeAt(i) !== 0x22) fail(text, i, 'looking for beginning of object key string');
  i = skipWs(text, scanString(text, i));
  if (i >= text.length) eof(i);
  if (text.charCodeAt(i) !== 0x3a) fail(text, i, 'after object key');
  return i + 1;
}

function kindAt(text: string, i: number): JsonKind {
  switch (text.charCodeAt(i)) {
    case 0x7b:
      return 'object';
    case 0x5b:
      return 'array';
    case 0x22:
      return 'string';
    case 0x74:
    case 0x66:
      return 'bool';
    case 0x6e:
      return 'null';
    default:
      return 'number';
  }
}

/**
 * Scan one value that starts at `i` (leading whitespace allowed); returns its span. Iterative, so
 * nesting depth is bounded by Go's limit, not by the JavaScript stack.
 */
function scanValue(text: string, i: number): JsonSpan {
  const n = text.length;
  const stack: number[] = []; // 0x7b for an object, 0x5b for an array
  i = skipWs(text, i);
  const start = i;
  for (;;) {
    // Expecting a value at i (after whitespace).
    i = skipWs(text, i);
    if (i >= n) eof(i);
    const c = text.charCodeAt(i);
    let closed = false;
    if (c === 0x7b || c === 0x5b) {
      if (stack.length >= MAX_DEPTH) fail(text, i, 'exceeded max depth');
      stack.push(c);
      i = skipWs(text, i + 1);
      if (i >= n) eof(i);
      if (c === 0x7b) {
        if (text.charCodeAt(i) === 0x7d) {
          stack.pop();
          i++;
          closed = true;
        } else {
          i = scanKeyAndColon(text, i);
          continue;
        }
      } else if (text.charCodeAt(i) === 0x5d) {
        stack.pop();
        i++;
        closed = true;
      } else {
        continue;
      }
    }
    if (!closed) {
      if (c === 0x22) i = scanString(text, i);
      else if (c === 0x2d || isDigit(c)) i = scanNumber(text, i);
      else if (c === 0x74) i = scanLiteral(text, i, 'true');
      else if (c === 0x66) i = scanLiteral(text, i, 'false');
      else if (c === 0x6e) i = scanLiteral(text, i, 'null');
      else fail(text, i, 'looking for beginning of value');
    }
    // After a complete value: close containers or move on to the next member/element.
    let next = false;
    while (stack.length > 0 && !next) {
      i = skipWs(text, i);
      if (i >= n) eof(i);
      const d = text.charCodeAt(i);
      const inObject = stack[stack.length - 1] === 0x7b;
      if (d === 0x2c) {
        i = inObject ? scanKeyAndColon(text, skipWs(text, i + 1)) : i + 1;
        next = true;
      } else if (d === (inObject ? 0x7d : 0x5d)) {
        stack.pop();
        i++;
      } else {
        fail(text, i, inObject ? 'after object key:value pair' : 'after array element');
      }
    }
    if (!next) return { kind: kindAt(text, start), start, end: i };
  }
}

/**
 * Validate a whole JSON document (one value, optional surrounding whitespace) and return where its
 * value sits. Throws {@link JsonSyntaxError} with Go's wording.
 */
export function scanJson(text: string): JsonSpan {
  const span = scanValue(text, 0);
  const after = skipWs(text, span.end);
  if (after < text.length) fail(text, after, 'after top-level value');
  return span;
}

function decodeKey(text: string, start: number, end: number): string {
  return JSON.parse(text.slice(start, end)) as string;
}

/** Members of the object that starts at `open` in an already validated text. */
export function membersAt(text: string, open: number): { members: JsonMember[]; close: number } {
  const members: JsonMember[] = [];
  let i = skipWs(text, open + 1);
  if (text.charCodeAt(i) === 0x7d) return { members, close: i };
  for (;;) {
    const start = i;
    const keyEnd = scanString(text, i);
    const colon = skipWs(text, keyEnd);
    const value = scanValue(text, colon + 1);
    members.push({
      key: decodeKey(text, start, keyEnd),
      start,
      keyEnd,
      valueStart: value.start,
      valueEnd: value.end,
      end: value.end,
    });
    i = skipWs(text, value.end);
    if (text.charCodeAt(i) === 0x7d) return { members, close: i };
    i = skipWs(text, i + 1); // past the comma
  }
}

/**
 * The members of the object that is the whole of `text`, in document order, duplicates included.
 * Throws {@link JsonSyntaxError} if the text is not JSON and `TypeError` if it is not an object.
 */
export function objectMembers(text: string): JsonMember[] {
  const top = scanJson(text);
  if (top.kind !== 'object') throw new TypeError(`JSON value is ${top.kind}, not an object`);
  return membersAt(text, top.start).members;
}

/**
 * The elements of the array that is the whole of `text`, in order.
 * Throws {@link JsonSyntaxError} if the text is not JSON and `TypeError` if it is not an array.
 */
export function arrayElements(text: string): JsonElement[] {
  const top = scanJson(text);
  if (top.kind !== 'array') throw new TypeError(`JSON value is ${top.kind}, not an array`);
  const out: JsonElement[] = [];
  let i = skipWs(text, top.start + 1);
  if (text.charCodeAt(i) === 0x5d) return out;
  for (;;) {
    const v = scanValue(text, i);
    out.push({ start: v.start, end: v.end, kind: v.kind });
    i = skipWs(text, v.end);
    if (text.charCodeAt(i) === 0x5d) return out;
    i = i + 1; // past the comma
  }
}

/**
 * JSON parsing with Go's `encoding/json` error text.
 *
 * libcni's messages embed Go's decoder errors (`decoding version info: invalid character '{' looking
 * for beginning of object key string`, `... unexpected end of JSON input`) and upstream tests match on
 * them. `JSON.parse` accepts the same grammar but words its errors differently, so when it fails we
 * replay Go's scanner over the bytes to find Go's message. The happy path is plain `JSON.parse`.
 */

import { goQuoteString } from './go-format.ts';

/** The outcome of {@link parseJsonLikeGo}: the value, or Go's reason for refusing the text. */
export type GoJsonParse = { ok: true; value: unknown } | { ok: false; reason: string };

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Parse JSON text or UTF-8 bytes. On a syntax error the reason is Go's `SyntaxError` text, e.g.
 * `unexpected end of JSON input` or `invalid character 'a' looking for beginning of value`.
 */
export function parseJsonLikeGo(input: string | Uint8Array): GoJsonParse {
  const text = typeof input === 'string' ? input : utf8.decode(input);
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
    return { ok: false, reason: goJsonSyntaxError(bytes) ?? (e as Error).message };
  }
}

/** How Go names a decoded JSON value's kind in `cannot unmarshal <kind> into ...` errors. */
export function goJsonKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'bool';
    case 'object':
      return 'object';
    default:
      return typeof value;
  }
}

/** Go's `quoteChar`: how the scanner names the offending byte (as a Latin-1 rune, single-quoted). */
function quoteChar(c: number): string {
  if (c === 0x27) return `'\\''`;
  if (c === 0x22) return `'"'`;
  const q = goQuoteString(String.fromCharCode(c));
  return `'${q.slice(1, -1)}'`;
}

const enum S {
  BeginValue,
  BeginValueOrEmpty,
  BeginStringOrEmpty,
  BeginString,
  EndValue,
  EndTop,
  InString,
  InStringEsc,
  EscU,
  EscU1,
  EscU12,
  EscU123,
  Neg,
  Zero,
  One,
  Dot,
  Dot0,
  E,
  ESign,
  E0,
  Literal,
}

const enum P {
  ObjectKey,
  ObjectValue,
  ArrayValue,
}

const MAX_DEPTH = 10000;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/** Go's `checkValid`: the scanner's first error over `bytes`, or undefined when they are valid JSON. */
export function goJsonSyntaxError(bytes: Uint8Array): string | undefined {
  const stack: P[] = [];
  let state = S.BeginValue;
  // For true/false/null: the remaining expected letters and the literal's name.
  let literalRest = '';
  let literalName = '';
  // An object, not a variable, so that TypeScript does not narrow it across the closures below.
  const scan: { err: string | undefined; endTop: boolean } = { err: undefined, endTop: false };

  const fail = (c: number, context: string): void => {
    scan.err = `invalid character ${quoteChar(c)} ${context}`;
  };

  const endValue = (c: number): void => {
    const n = stack.length;
    if (n === 0) {
      state = S.EndTop;
      scan.endTop = true;
      if (!isSpace(c)) fail(c, 'after top-level value');
      return;
    }
    if (isSpace(c)) {
      state = S.EndValue;
      return;
    }
    const top = stack[n - 1];
    if (top === P.ObjectKey) {
      if (c === 0x3a) {
        stack[n - 1] = P.ObjectValue;
        state = S.BeginValue;
      } else fail(c, 'after object key');
    } else if (top === P.ObjectValue) {
      if (c === 0x2c) {
        stack[n - 1] = P.ObjectKey;
        state = S.BeginString;
      } else if (c === 0x7d) pop();
      else fail(c, 'after object key:value pair');
    } else {
      if (c === 0x2c) state = S.BeginValue;
      else if (c === 0x5d) pop();
      else fail(c, 'after array element');
    }
  };

  const pop = (): void => {
    stack.pop();
    if (stack.length === 0) {
      state = S.EndTop;
      scan.endTop = true;
    } else state = S.EndValue;
  };

  const push = (p: P, next: S): void => {
    stack.push(p);
    state = next;
    if (stack.length > MAX_DEPTH) scan.err = 'exceeded max depth';
  };

  const beginValue = (c: number): void => {
    if (isSpace(c)) return;
    switch (c) {
      case 0x7b:
        push(P.ObjectKey, S.BeginStringOrEmpty);
        return;
      case 0x5b:
        push(P.ArrayValue, S.BeginValueOrEmpty);
        return;
      case 0x22:
        state = S.InString;
        return;
      case 0x2d:
        state = S.Neg;
        return;
      case 0x30:
        state = S.Zero;
        return;
      case 0x74:
        state = S.Literal;
        literalRest = 'rue';
        literalName = 'true';
        return;
      case 0x66:
        state = S.Literal;
        literalRest = 'alse';
        literalName = 'false';
        return;
      case 0x6e:
        state = S.Literal;
        literalRest = 'ull';
        literalName = 'null';
        return;
    }
    if (c >= 0x31 && c <= 0x39) state = S.One;
    else fail(c, 'looking for beginning of value');
  };

  const beginString = (c: number): void => {
    if (isSpace(c)) return;
    if (c === 0x22) state = S.InString;
    else fail(c, 'looking for beginning of object key string');
  };

  const afterNumber = (c: number): void => {
    if (c === 0x2e) state = S.Dot;
    else if (c === 0x65 || c === 0x45) state = S.E;
    else endValue(c);
  };

  const step = (c: number): void => {
    switch (state) {
      case S.BeginValue:
        beginValue(c);
        return;
      case S.BeginValueOrEmpty:
        if (isSpace(c)) return;
        if (c === 0x5d) endValue(c);
        else beginValue(c);
        return;
      case S.BeginStringOrEmpty:
        if (isSpace(c)) return;
        if (c === 0x7d) {
          stack[stack.length - 1] = P.ObjectValue;
          endValue(c);
        } else beginString(c);
        return;
      case S.BeginString:
        beginString(c);
        return;
      case S.EndValue:
        endValue(c);
        return;
      case S.EndTop:
        if (!isSpace(c)) fail(c, 'after top-level value');
        return;
      case S.InString:
        if (c === 0x22) state = S.EndValue;
        else if (c === 0x5c) state = S.InStringEsc;
        else if (c < 0x20) fail(c, 'in string literal');
        return;
      case S.InStringEsc:
        if ('bfnrt\\/"'.includes(String.fromCharCode(c))) state = S.InString;
        else if (c === 0x75) state = S.EscU;
        else fail(c, 'in string escape code');
        return;
      case S.EscU:
      case S.EscU1:
      case S.EscU12:
      case S.EscU123:
        if (!isHex(c)) fail(c, 'in \\u hexadecimal character escape');
        else if (state === S.EscU) state = S.EscU1;
        else if (state === S.EscU1) state = S.EscU12;
        else if (state === S.EscU12) state = S.EscU123;
        else state = S.InString;
        return;
      case S.Neg:
        if (c === 0x30) state = S.Zero;
        else if (c >= 0x31 && c <= 0x39) state = S.One;
        else fail(c, 'in numeric literal');
        return;
      case S.One:
        if (isDigit(c)) return;
        afterNumber(c);
        return;
      case S.Zero:
        afterNumber(c);
        return;
      case S.Dot:
        if (isDigit(c)) state = S.Dot0;
        else fail(c, 'after decimal point in numeric literal');
        return;
      case S.Dot0:
        if (isDigit(c)) return;
        if (c === 0x65 || c === 0x45) state = S.E;
        else endValue(c);
        return;
      case S.E:
        if (c === 0x2b || c === 0x2d) {
          state = S.ESign;
          return;
        }
        if (isDigit(c)) state = S.E0;
        else fail(c, 'in exponent of numeric literal');
        return;
      case S.ESign:
        if (isDigit(c)) state = S.E0;
        else fail(c, 'in exponent of numeric literal');
        return;
      case S.E0:
        if (!isDigit(c)) endValue(c);
        return;
      case S.Literal:
        if (c === literalRest.charCodeAt(0)) {
          literalRest = literalRest.slice(1);
          if (literalRest === '') state = S.EndValue;
        } else {
          fail(c, `in literal ${literalName} (expecting ${quoteChar(literalRest.charCodeAt(0))})`);
        }
        return;
    }
  };

  for (const c of bytes) {
    step(c);
    if (scan.err !== undefined) return scan.err;
  }
  // Go's scanner.eof(): feed one space, which completes a trailing number and exposes half-read literals.
  const endedBeforeEof = scan.endTop;
  if (!endedBeforeEof) step(0x20);
  if (scan.err !== undefined) return scan.err;
  return scan.endTop ? undefined : 'unexpected end of JSON input';
}

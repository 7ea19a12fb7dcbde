/**
 * JSON parsing with Go's `encoding/json` error text.
 *
 * libcni's messages embed Go's decoder errors (`decoding version info: invalid character '{' looking
 * for beginning of object key string`, `... unexpected end of JSON input`) and upstream tests match on
 * them. `JSON.parse` accepts the same grammar but words its errors differently, so when it fails we
 * rescan the text with the Go-faithful scanner in json/raw-json.ts to get Go's message. The happy
 * path is plain `JSON.parse`.
 */

import { JsonSyntaxError } from '../core/errors.ts';
import { scanJson } from './json-scan.ts';

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
    return { ok: false, reason: goJsonSyntaxError(text) ?? (e as Error).message };
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

const GO_DYNAMIC_TYPE: Readonly<Record<string, string>> = {
  null: '<nil>',
  array: '[]interface {}',
  string: 'string',
  number: 'float64',
  bool: 'bool',
  object: 'map[string]interface {}',
};

/** What Go's `%T` prints for a value decoded from JSON into `interface{}`. */
export function goTypeName(value: unknown): string {
  return GO_DYNAMIC_TYPE[goJsonKind(value)] ?? 'map[string]interface {}';
}

/** Go's syntax-error text for `text`, or undefined when it is valid JSON. */
export function goJsonSyntaxError(text: string): string | undefined {
  try {
    scanJson(text);
    return undefined;
  } catch (e) {
    if (e instanceof JsonSyntaxError) return e.message;
    throw e;
  }
}

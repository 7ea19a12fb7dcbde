/**
 * Decoding a JSON object the way Go's `json.Unmarshal` decodes it into a struct — the one place that
 * knows these rules (https://pkg.go.dev/encoding/json#Unmarshal):
 * - keys match fields case-insensitively (ASCII case, plus KELVIN SIGN as `k` and LONG S as `s`,
 *   the only non-ASCII characters Unicode folds to ASCII letters);
 * - keys are decoded in document order, so when several keys match one field the last wins; a
 *   repeated struct or map field merges into what an earlier key decoded;
 * - `null` leaves a string, number or struct as it was and resets a slice or map;
 * - unknown keys are ignored;
 * - a value of the wrong JSON type is an `UnmarshalTypeError` (`json: cannot unmarshal number into
 *   Go struct field PluginConf.type of type string`); decoding goes on, and the first such error is
 *   what `Unmarshal` returns.
 */
import { goJsonKind } from './json-decode.ts';

/** Go's fold of a key for matching an ASCII field name: ASCII lower case, `K`→`k`, `ſ`→`s`. */
export function goFold(key: string): string {
  let out = '';
  for (let i = 0; i < key.length; i++) {
    let c = key.charCodeAt(i);
    if (c === 0x212a) c = 0x6b;
    else if (c === 0x17f) c = 0x73;
    else if (c >= 0x41 && c <= 0x5a) c += 0x20;
    out += String.fromCharCode(c);
  }
  return out;
}

/** A JSON object's members, as `[key, value]` in document order. */
export type Members = ReadonlyArray<readonly [string, unknown]>;

type Obj = Record<string, unknown>;

export function isJsonObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Define an own property: plain assignment of `__proto__` would change the prototype instead. */
export function setOwn(o: Obj, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true });
}

/** A value of the wrong JSON type for a field, worded as Go's `UnmarshalTypeError`. */
export class GoTypeMismatch extends Error {
  constructor(value: unknown, struct: string, path: readonly string[], goType: string) {
    const what =
      typeof value === 'number' && goType === 'uint' ? `number ${String(value)}` : goJsonKind(value);
    super(
      `json: cannot unmarshal ${what} into Go struct field ${struct}.${path.join('.')} of type ${goType}`,
    );
    this.name = 'GoTypeMismatch';
  }
}

/** Decodes one field: (the key's JSON value, what earlier keys decoded) → the field's new state. */
export type FieldDecoder = (value: unknown, prev: unknown) => unknown;

/** A Go struct: its type name, where it sits, and its fields by JSON name. */
export interface StructSpec {
  /** Go struct type name, for error messages. */
  name: string;
  /** JSON field path of this struct inside the outermost one (empty at the top). */
  path: readonly string[];
  fields: ReadonlyArray<readonly [jsonName: string, decode: FieldDecoder]>;
  /** Keep keys that match no field in the view (Go drops them; some callers read them). */
  keepUnknown: boolean;
}

/** Finds the field a key names under Go's folding; the map is built once per field list. */
export function fieldMatcher(fields: readonly string[]): (key: string) => string | undefined {
  const byFolded = new Map(fields.map((f) => [goFold(f), f] as const));
  return (key) => byFolded.get(goFold(key));
}

/**
 * A function that keeps only the keys of an object that name one of `fields`, renamed to the field;
 * later keys win; `null` values are skipped (Go leaves the field at its zero value). Non-objects
 * pass through unchanged, for a schema after it to report. For decoders that check field types
 * themselves (zod schemas, lenient readers) instead of through {@link decodeStruct}.
 */
export function goFieldPicker(fields: readonly string[]): (input: unknown) => unknown {
  const match = fieldMatcher(fields);
  return (input) => {
    if (!isJsonObject(input)) return input;
    const out: Obj = {};
    for (const key of Object.keys(input)) {
      const field = match(key);
      const value = input[key];
      if (field === undefined || value === null) continue;
      setOwn(out, field, value);
    }
    return out;
  };
}

/**
 * Decodes `members` into `view` per `spec`, merging into what `view` holds. A wrong-typed value
 * leaves its field as it was; the first such problem is thrown at the end (`onMismatch: 'throw'`,
 * the default) or returned, with every other field decoded (`'return'`, for callers that keep a
 * partial decode as Go does).
 */
export function decodeStruct(
  members: Members,
  spec: StructSpec,
  view: Obj = {},
  onMismatch: 'throw' | 'return' = 'throw',
): { view: Obj; problem: GoTypeMismatch | undefined } {
  const match = fieldMatcher(spec.fields.map(([name]) => name));
  const decoders = new Map(spec.fields);
  let problem: GoTypeMismatch | undefined;
  for (const [key, value] of members) {
    const name = match(key);
    const decode = name === undefined ? undefined : decoders.get(name);
    if (name === undefined || decode === undefined) {
      if (spec.keepUnknown) setOwn(view, key, value);
      continue;
    }
    try {
      setOwn(view, name, decode(value, view[name]));
    } catch (e) {
      if (!(e instanceof GoTypeMismatch)) throw e;
      problem ??= e;
    }
  }
  for (const [name] of spec.fields) if (view[name] === undefined) Reflect.deleteProperty(view, name);
  if (problem && onMismatch === 'throw') throw problem;
  return { view, problem };
}

/** A `string` field. */
export function goString(struct: string, path: readonly string[]): FieldDecoder {
  return (v, prev) => {
    if (v === null) return prev;
    if (typeof v === 'string') return v;
    throw new GoTypeMismatch(v, struct, path, 'string');
  };
}

/** A `[]string` field: `null` resets it, a `null` element is `""`. */
export function goStringSlice(struct: string, path: readonly string[]): FieldDecoder {
  return (v) => {
    if (v === null) return undefined;
    if (!Array.isArray(v)) throw new GoTypeMismatch(v, struct, path, '[]string');
    return v.map((e: unknown) => {
      if (e === null) return '';
      if (typeof e === 'string') return e;
      throw new GoTypeMismatch(e, struct, path, 'string');
    });
  };
}

/** A `uint` field: a non-negative integer below 2^64. */
export function goUint(struct: string, path: readonly string[]): FieldDecoder {
  return (v, prev) => {
    if (v === null) return prev;
    if (typeof v !== 'number') throw new GoTypeMismatch(v, struct, path, 'uint');
    if (!Number.isInteger(v) || v < 0 || v >= 2 ** 64) throw new GoTypeMismatch(v, struct, path, 'uint');
    return v;
  };
}

/** A nested struct field; a repeated key merges into what the earlier one decoded. */
export function goNested(
  parent: string,
  spec: Omit<StructSpec, 'path'>,
  path: readonly string[],
): FieldDecoder {
  return (v, prev) => {
    if (v === null) return prev;
    if (!isJsonObject(v)) throw new GoTypeMismatch(v, parent, path, `types.${spec.name}`);
    const base: Obj = {};
    if (isJsonObject(prev)) for (const [k, x] of Object.entries(prev)) setOwn(base, k, x);
    return decodeStruct(Object.entries(v), { ...spec, path }, base).view;
  };
}

/** A `map[string]T` field: `null` resets it, a repeated key merges, each value decoded by `value`. */
export function goMap(
  struct: string,
  path: readonly string[],
  goType: string,
  value: (v: unknown) => unknown = (v) => v,
): FieldDecoder {
  return (v, prev) => {
    if (v === null) return undefined;
    if (!isJsonObject(v)) throw new GoTypeMismatch(v, struct, path, goType);
    const out: Obj = {};
    if (isJsonObject(prev)) for (const [k, x] of Object.entries(prev)) setOwn(out, k, x);
    for (const [k, x] of Object.entries(v)) setOwn(out, k, value(x));
    return out;
  };
}

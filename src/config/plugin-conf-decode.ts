/**
 * The parsed view of a plugin object, decoded the way Go decodes it into `types.PluginConf`.
 *
 * What Go's struct decoding does that a plain `JSON.parse` does not, and plugins written in Go rely on:
 * - known fields match keys case-insensitively (`"Type"`, `"TYPE"`); when several keys match, each
 *   one is decoded in document order, so the last wins, except that `null` leaves a string or a
 *   struct as it was and a map/slice `null` resets it;
 * - a repeated object field (`ipam`, `dns`, `capabilities`, `prevResult`) merges into what an
 *   earlier key decoded;
 * - a value of the wrong JSON type is an error, worded as Go's `UnmarshalTypeError`.
 * Keys Go ignores are kept in the view untouched, so callers can still read plugin-specific settings.
 */
import type { JsonMember } from '../json/raw-json.ts';
import type { GcAttachmentConf, PluginConf } from './parse.ts';

type Obj = Record<string, unknown>;

function kindOf(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'bool';
    default:
      return 'object';
  }
}

function mismatch(value: unknown, struct: string, path: readonly string[], goType: string): never {
  // A plain Error: parse.ts turns it into a ConfigError with `error parsing configuration: ` in front.
  throw new Error(
    `json: cannot unmarshal ${kindOf(value)} into Go struct field ${struct}.${path.join('.')} of type ${goType}`,
  );
}

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Define an own property: plain assignment of `__proto__` would change the prototype instead. */
function setOwn(o: Obj, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true });
}

/**
 * Go's `bytes.EqualFold` against an ASCII field name. Besides ASCII case, Unicode folding maps
 * KELVIN SIGN to `k` and LONG S to `s`; no other non-ASCII character folds to ASCII.
 */
function foldsTo(key: string, lowerField: string): boolean {
  if (key.length !== lowerField.length) return false;
  for (let i = 0; i < key.length; i++) {
    let c = key.charCodeAt(i);
    if (c === 0x212a) c = 0x6b;
    else if (c === 0x17f) c = 0x73;
    else if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (c !== lowerField.charCodeAt(i)) return false;
  }
  return true;
}

/** Decodes one field: (new JSON value, what earlier keys decoded) → the field's new state. */
type FieldDecoder = (value: unknown, prev: unknown) => unknown;

interface StructSpec {
  /** Go struct type name, for error messages. */
  name: string;
  /** JSON field path of this struct inside PluginConf (empty at the top). */
  path: readonly string[];
  fields: ReadonlyArray<readonly [jsonName: string, decode: FieldDecoder]>;
  /** Keep keys that match no field (Go drops them; the view keeps them for callers). */
  keepUnknown: boolean;
}

function stringField(struct: string, path: readonly string[]): FieldDecoder {
  return (v, prev) => {
    if (v === null) return prev; // Go ignores null for a string
    if (typeof v === 'string') return v;
    return mismatch(v, struct, path, 'string');
  };
}

function stringSliceField(struct: string, path: readonly string[]): FieldDecoder {
  return (v) => {
    if (v === null) return undefined;
    if (!Array.isArray(v)) return mismatch(v, struct, path, '[]string');
    return v.map((e: unknown) => {
      if (e === null) return '';
      if (typeof e === 'string') return e;
      return mismatch(e, struct, path, 'string');
    });
  };
}

/** Decode `members` (in document order) into `view` per `spec`, merging into what `view` holds. */
function decodeStruct(members: ReadonlyArray<readonly [string, unknown]>, spec: StructSpec, view: Obj): Obj {
  const lower = spec.fields.map(([name]) => name.toLowerCase());
  for (const [key, value] of members) {
    const idx = lower.findIndex((f) => foldsTo(key, f));
    const field = spec.fields[idx];
    if (!field) {
      if (spec.keepUnknown) setOwn(view, key, value);
      continue;
    }
    const [name, decode] = field;
    const next = decode(value, view[name]);
    setOwn(view, name, next);
  }
  for (const [name] of spec.fields) if (view[name] === undefined) Reflect.deleteProperty(view, name);
  return view;
}

function nestedStruct(parent: string, spec: Omit<StructSpec, 'path'>, path: readonly string[]): FieldDecoder {
  return (v, prev) => {
    if (v === null) return prev; // Go ignores null for a struct
    if (!isObject(v)) return mismatch(v, parent, path, `types.${spec.name}`);
    const base: Obj = {};
    if (isObject(prev)) for (const [k, x] of Object.entries(prev)) setOwn(base, k, x);
    return decodeStruct(Object.entries(v), { ...spec, path }, base);
  };
}

const IPAM_FIELDS: StructSpec['fields'] = [['type', stringField('IPAM', ['ipam', 'type'])]];

const DNS_FIELDS: StructSpec['fields'] = [
  ['nameservers', stringSliceField('DNS', ['dns', 'nameservers'])],
  ['domain', stringField('DNS', ['dns', 'domain'])],
  ['search', stringSliceField('DNS', ['dns', 'search'])],
  ['options', stringSliceField('DNS', ['dns', 'options'])],
];

const VALID_ATTACHMENTS = 'cni.dev/valid-attachments';

const GC_ATTACHMENT_FIELDS: StructSpec['fields'] = [
  ['containerID', stringField('GCAttachment', [VALID_ATTACHMENTS, 'containerID'])],
  ['ifname', stringField('GCAttachment', [VALID_ATTACHMENTS, 'ifname'])],
];

const decodeCapabilities: FieldDecoder = (v, prev) => {
  if (v === null) return undefined; // a null map is reset to nil
  if (!isObject(v)) return mismatch(v, 'PluginConf', ['capabilities'], 'map[string]bool');
  const out: Obj = {};
  if (isObject(prev)) for (const [k, x] of Object.entries(prev)) setOwn(out, k, x);
  for (const [k, x] of Object.entries(v)) {
    if (x === null) setOwn(out, k, false);
    else if (typeof x === 'boolean') setOwn(out, k, x);
    else mismatch(x, 'PluginConf', ['capabilities'], 'bool');
  }
  return out;
};

const decodePrevResult: FieldDecoder = (v, prev) => {
  if (v === null) return undefined;
  if (!isObject(v)) return mismatch(v, 'PluginConf', ['prevResult'], 'map[string]interface {}');
  const out: Obj = {};
  if (isObject(prev)) for (const [k, x] of Object.entries(prev)) setOwn(out, k, x);
  for (const [k, x] of Object.entries(v)) setOwn(out, k, x);
  return out;
};

const decodeValidAttachments: FieldDecoder = (v) => {
  if (v === null) return undefined;
  if (!Array.isArray(v)) return mismatch(v, 'PluginConf', [VALID_ATTACHMENTS], '[]types.GCAttachment');
  return v.map((e: unknown): GcAttachmentConf => {
    const out: Obj = { containerID: '', ifname: '' };
    if (e === null) return out as unknown as GcAttachmentConf;
    if (!isObject(e)) return mismatch(e, 'PluginConf', [VALID_ATTACHMENTS], 'types.GCAttachment');
    const d = decodeStruct(
      Object.entries(e),
      { name: 'GCAttachment', path: [VALID_ATTACHMENTS], fields: GC_ATTACHMENT_FIELDS, keepUnknown: false },
      out,
    );
    return {
      containerID: (d.containerID as string | undefined) ?? '',
      ifname: (d.ifname as string | undefined) ?? '',
    };
  });
};

const PLUGIN_CONF: StructSpec = {
  name: 'PluginConf',
  path: [],
  keepUnknown: true,
  fields: [
    ['cniVersion', stringField('PluginConf', ['cniVersion'])],
    ['name', stringField('PluginConf', ['name'])],
    ['type', stringField('PluginConf', ['type'])],
    ['capabilities', decodeCapabilities],
    ['ipam', nestedStruct('PluginConf', { name: 'IPAM', fields: IPAM_FIELDS, keepUnknown: true }, ['ipam'])],
    ['dns', nestedStruct('PluginConf', { name: 'DNS', fields: DNS_FIELDS, keepUnknown: true }, ['dns'])],
    ['prevResult', decodePrevResult],
    [VALID_ATTACHMENTS, decodeValidAttachments],
  ],
};

/**
 * The view of the plugin object whose members are `members` (offsets into `text`). Throws a plain
 * `Error` with Go's `UnmarshalTypeError` message for a value of the wrong type. `type` is `''` when the
 * object has none; the caller decides that this is an error.
 */
export function decodePluginConf(text: string, members: readonly JsonMember[]): PluginConf {
  const entries = members.map(
    (m) => [m.key, JSON.parse(text.slice(m.valueStart, m.valueEnd)) as unknown] as const,
  );
  const view = decodeStruct(entries, PLUGIN_CONF, {});
  if (typeof view.type !== 'string') setOwn(view, 'type', '');
  return view as PluginConf;
}

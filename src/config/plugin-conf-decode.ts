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
 * The rules themselves live in go/struct.ts; this file only describes Go's `types.PluginConf`.
 */
import type { JsonMember } from '../go/json-scan.ts';
import {
  decodeStruct,
  type FieldDecoder,
  GoTypeMismatch,
  goMap,
  goNested,
  goString,
  goStringSlice,
  isJsonObject,
  type StructSpec,
} from '../go/struct.ts';
import type { GcAttachmentConf, PluginConf } from './types.ts';

const IPAM_FIELDS: StructSpec['fields'] = [['type', goString('IPAM', ['ipam', 'type'])]];

const DNS_FIELDS: StructSpec['fields'] = [
  ['nameservers', goStringSlice('DNS', ['dns', 'nameservers'])],
  ['domain', goString('DNS', ['dns', 'domain'])],
  ['search', goStringSlice('DNS', ['dns', 'search'])],
  ['options', goStringSlice('DNS', ['dns', 'options'])],
];

const VALID_ATTACHMENTS = 'cni.dev/valid-attachments';

const GC_ATTACHMENT: StructSpec = {
  name: 'GCAttachment',
  path: [VALID_ATTACHMENTS],
  keepUnknown: false,
  fields: [
    ['containerID', goString('GCAttachment', [VALID_ATTACHMENTS, 'containerID'])],
    ['ifname', goString('GCAttachment', [VALID_ATTACHMENTS, 'ifname'])],
  ],
};

const capabilityValue = (x: unknown): boolean => {
  if (x === null) return false;
  if (typeof x === 'boolean') return x;
  throw new GoTypeMismatch(x, 'PluginConf', ['capabilities'], 'bool');
};

const decodeValidAttachments: FieldDecoder = (v) => {
  if (v === null) return undefined;
  if (!Array.isArray(v))
    throw new GoTypeMismatch(v, 'PluginConf', [VALID_ATTACHMENTS], '[]types.GCAttachment');
  return v.map((e: unknown): GcAttachmentConf => {
    if (e === null) return { containerID: '', ifname: '' };
    if (!isJsonObject(e))
      throw new GoTypeMismatch(e, 'PluginConf', [VALID_ATTACHMENTS], 'types.GCAttachment');
    const { view } = decodeStruct(Object.entries(e), GC_ATTACHMENT);
    return {
      containerID: (view.containerID as string | undefined) ?? '',
      ifname: (view.ifname as string | undefined) ?? '',
    };
  });
};

const PLUGIN_CONF: StructSpec = {
  name: 'PluginConf',
  path: [],
  keepUnknown: true,
  fields: [
    ['cniVersion', goString('PluginConf', ['cniVersion'])],
    ['name', goString('PluginConf', ['name'])],
    ['type', goString('PluginConf', ['type'])],
    ['capabilities', goMap('PluginConf', ['capabilities'], 'map[string]bool', capabilityValue)],
    ['ipam', goNested('PluginConf', { name: 'IPAM', fields: IPAM_FIELDS, keepUnknown: true }, ['ipam'])],
    ['dns', goNested('PluginConf', { name: 'DNS', fields: DNS_FIELDS, keepUnknown: true }, ['dns'])],
    ['prevResult', goMap('PluginConf', ['prevResult'], 'map[string]interface {}')],
    [VALID_ATTACHMENTS, decodeValidAttachments],
  ],
};

/**
 * The view of the plugin object whose members are `members` (offsets into `text`). Throws
 * {@link GoTypeMismatch} (Go's `UnmarshalTypeError` message) for a value of the wrong type. `type`
 * is `''` when the object has none; the caller decides that this is an error.
 */
export function decodePluginConf(text: string, members: readonly JsonMember[]): PluginConf {
  const entries = members.map(
    (m) => [m.key, JSON.parse(text.slice(m.valueStart, m.valueEnd)) as unknown] as const,
  );
  const { view } = decodeStruct(entries, PLUGIN_CONF);
  if (typeof view.type !== 'string') view.type = '';
  return view as PluginConf;
}

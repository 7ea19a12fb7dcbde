/**
 * Editing an object's members in JSON text while leaving every other character as it was (the
 * reason is in json-scan.ts: plugins get the exact text they were configured with).
 */
import { goQuote } from './json-encode.ts';
import { membersAt, scanJson } from './json-scan.ts';

/**
 * Replace, add or delete members of the object that is `objectText`, touching nothing else.
 *
 * For each `[key, valueJson]` in order: an existing member's value text is replaced by `valueJson`;
 * if the key occurs more than once, the last occurrence keeps its place and the others are removed
 * (a JSON reader that keeps the last duplicate, as Go's map decoding does, sees the same thing);
 * `undefined` deletes every occurrence; a new key is appended before the closing brace, with the
 * separator and colon spacing the object already uses. `valueJson` must itself be valid JSON.
 */
export function setMembers(
  objectText: string,
  updates: ReadonlyArray<readonly [key: string, valueJson: string | undefined]>,
): string {
  const top = scanJson(objectText);
  if (top.kind !== 'object') throw new TypeError(`JSON value is ${top.kind}, not an object`);
  for (const [, v] of updates) if (v !== undefined) scanJson(v);
  const { members, close } = membersAt(objectText, top.start);

  // Final decision per key: the last update for a key wins.
  const wanted = new Map<string, string | undefined>();
  for (const [k, v] of updates) {
    wanted.delete(k); // keep the order of the last mention for appended keys
    wanted.set(k, v);
  }
  const lastIndex = new Map<string, number>();
  members.forEach((m, idx) => lastIndex.set(m.key, idx));

  interface Out {
    /** Index in `members` of an original member, or -1 for an appended one. */
    orig: number;
    text: string;
  }
  const out: Out[] = [];
  members.forEach((m, idx) => {
    if (!wanted.has(m.key)) {
      out.push({ orig: idx, text: objectText.slice(m.start, m.end) });
      return;
    }
    const v = wanted.get(m.key);
    if (v === undefined || lastIndex.get(m.key) !== idx) return;
    out.push({ orig: idx, text: objectText.slice(m.start, m.valueStart) + v });
  });

  const last = members[members.length - 1];
  const colon = last ? objectText.slice(last.keyEnd, last.valueStart) : ':';
  const prev = members[members.length - 2];
  const appendSep = last && prev ? objectText.slice(prev.end, last.start) : ',';
  for (const [k, v] of wanted) {
    if (v !== undefined && !lastIndex.has(k)) out.push({ orig: -1, text: goQuote(k) + colon + v });
  }

  const first = members[0];
  let body = '';
  out.forEach((o, pos) => {
    if (pos > 0) {
      const before = out[pos - 1];
      // Between two original members, reuse the separator that followed the earlier one.
      const after = before && before.orig >= 0 ? members[before.orig + 1] : undefined;
      const beforeMember = before && before.orig >= 0 ? members[before.orig] : undefined;
      body +=
        o.orig >= 0 && beforeMember && after ? objectText.slice(beforeMember.end, after.start) : appendSep;
    }
    body += o.text;
  });

  const head = objectText.slice(0, top.start + 1);
  const tail = objectText.slice(close);
  if (!first || !last) return head + body + objectText.slice(top.start + 1, close) + tail;
  const leading = out.length > 0 ? objectText.slice(top.start + 1, first.start) : '';
  return head + leading + body + objectText.slice(last.end, close) + tail;
}

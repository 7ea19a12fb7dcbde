/**
 * Moving config JSON between bytes and text without changing it.
 *
 * Valid UTF-8 round-trips exactly, so a slice of the decoded text encodes back to the very bytes
 * it came from. A byte order mark is kept (and then refused by the JSON scanner, as Go refuses
 * it). Invalid UTF-8 becomes U+FFFD, which is also what Go's decode/encode round trip makes of it.
 */

const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
const encoder = new TextEncoder();

/** The text of JSON given as bytes or as a string. */
export function jsonText(input: string | Uint8Array): string {
  return typeof input === 'string' ? input : decoder.decode(input);
}

/** UTF-8 bytes of `text`, as a plain `Uint8Array` the caller owns. */
export function utf8Bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** A private copy of `input` as bytes: a caller reusing its buffer cannot change a parsed config. */
export function ownBytes(input: string | Uint8Array): Uint8Array {
  return typeof input === 'string' ? encoder.encode(input) : new Uint8Array(input);
}

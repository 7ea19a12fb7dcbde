/**
 * Collecting a process's output within bounds: stdout up to a limit (beyond it the run is a
 * failure, and nothing more is buffered), and only the tail of stderr, which is where a failing
 * program explains itself.
 */

/** Keeps the last `max` bytes of a stream, in memory bounded by about twice that. */
export class TailBuffer {
  readonly #max: number;
  #chunks: Buffer[] = [];
  #length = 0;

  constructor(max: number) {
    this.#max = max;
  }

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    if (this.#length > 2 * this.#max && this.#chunks.length > 1) {
      // Keep memory bounded: fold into a copy of just the tail.
      const tail = Buffer.from(this.tail());
      this.#chunks = [tail];
      this.#length = tail.length;
    }
  }

  /** The last `max` bytes received (not a copy when they arrived as one chunk). */
  tail(): Buffer {
    const all = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks);
    return all.length > this.#max ? all.subarray(all.length - this.#max) : all;
  }
}

/** Keeps a whole stream as long as it stays within `max` bytes. */
export class BoundedBuffer {
  readonly #max: number;
  readonly #chunks: Buffer[] = [];
  #length = 0;

  constructor(max: number) {
    this.#max = max;
  }

  /** Keep `chunk`; false, keeping nothing of it, when it would go over the limit. */
  push(chunk: Buffer): boolean {
    if (this.#length + chunk.length > this.#max) return false;
    this.#length += chunk.length;
    this.#chunks.push(chunk);
    return true;
  }

  /** Everything kept (not a copy when it arrived as one chunk). */
  all(): Buffer {
    return this.#chunks.length === 1
      ? (this.#chunks[0] as Buffer)
      : Buffer.concat(this.#chunks, this.#length);
  }
}

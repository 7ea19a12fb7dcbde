/**
 * The wire formats between {@link SpawnerExec} and its helper process (spawner-child.ts): frames on
 * the helper's stdin (requests) and stdout (replies). A frame is
 *
 *     u32le headerLength | u32le bodyLength | header (UTF-8 JSON) | body (raw bytes)
 *
 * The body carries the bytes that must not be re-encoded: the plugin's stdin in a request, its
 * stdout in a reply. Everything else is small JSON. Both ends are this package, started together,
 * so there is no version negotiation.
 *
 * Beside the pipes, the helper keeps a *start record* in a file the parent opened (fd 3): one
 * 16-byte slot per request in flight, `f64le id | i32le pid | i32le 0`, written with pwrite. The
 * slot is written (pid 0) before the plugin is spawned and gets the pid right after. The parent
 * reads the file only when the helper has died, to learn which of its calls may have started and
 * which process groups to kill. A file, not the pipe, because a message would wake the sleeping
 * parent twice per call for nothing: on a VM each wake-up costs the helper ~50 µs before it can
 * spawn (measured).
 *
 * A helper must answer `ping` at once, whatever else it is doing: the parent pings it when a call's
 * deadline passes or its AbortSignal fires, and kills it (and the process groups of its plugins)
 * when no `pong` comes back within a grace (1 s, see spawner-watchdog.ts). So a helper that is stopped or
 * wedged delays a call's failure by that grace, not indefinitely. The parent also kills the
 * helper's children (listed from /proc while the helper is stopped), so a helper that never wrote
 * a pid to the start record still leaves no plugin running.
 */
import type { ExecOptions } from './spawn-plugin.ts';
import type { ErrorContext, PluginExecInfo } from '../core/errors.ts';

/** Bytes before the header: the two lengths. */
const PREFIX_BYTES = 8;
/**
 * Frames larger than this are a protocol error. The largest legitimate frame is a reply holding
 * stdout at its 16 MiB default limit; a caller may raise that limit, so the cap is generous.
 */
export const MAX_FRAME_BYTES = 1024 * 1024 * 1024;

/**
 * ExecOptions as they travel: everything but the AbortSignal, which becomes `abort` messages, and
 * the stderr listener, a function (the helper does not stream stderr back).
 */
export type WireExecOptions = Omit<ExecOptions, 'signal' | 'onStderr'>;

/** Parent → helper. */
export type Request =
  /** Run a plugin; the frame's body is its stdin. */
  | { t: 'run'; id: number; path: string; env: Record<string, string>; o: WireExecOptions }
  /** The caller aborted request `id`: kill its plugin's process group. */
  | { t: 'abort'; id: number }
  /** Are you alive? Answer `pong` with the same `n` at once. */
  | { t: 'ping'; n: number };

/** How an error thrown by spawnPlugin in the helper travels back. */
export type WireError =
  | { kind: 'plugin'; code: number; msg: string; details: string | undefined; exec: PluginExecInfo }
  | { kind: 'timeout'; timeoutMs: number; exec: PluginExecInfo }
  | { kind: 'aborted'; exec: PluginExecInfo }
  | {
      kind: 'spawn';
      message: string;
      pluginPath: string;
      errno: string | undefined;
      attempts: number;
      context: ErrorContext;
      cause: { message: string; code?: string | undefined; syscall?: string | undefined } | undefined;
    }
  | { kind: 'other'; name: string; message: string };

/** Helper → parent. */
export type Reply =
  /** The plugin exited 0; the frame's body is its stdout. */
  | { t: 'ok'; id: number; stderr: string; exitCode: number; durationMs: number }
  /** The call failed. */
  | { t: 'err'; id: number; e: WireError }
  /** The answer to `ping` `n`. */
  | { t: 'pong'; n: number };

const EMPTY = Buffer.alloc(0);

/** One frame: the JSON header and the raw body. */
export function encodeFrame(header: Request | Reply, body?: Uint8Array): Buffer {
  const json = JSON.stringify(header);
  const headerLength = Buffer.byteLength(json);
  const bodyLength = body === undefined ? 0 : body.byteLength;
  const out = Buffer.allocUnsafe(PREFIX_BYTES + headerLength + bodyLength);
  out.writeUInt32LE(headerLength, 0);
  out.writeUInt32LE(bodyLength, 4);
  out.write(json, PREFIX_BYTES, 'utf8');
  if (body !== undefined && bodyLength > 0) out.set(body, PREFIX_BYTES + headerLength);
  return out;
}

/**
 * Reassembles frames from a byte stream. Chunks are kept in a list and joined once per frame, so a
 * 16 MiB body arriving in 64 KiB pieces is copied once, not once per piece.
 */
export class FrameReader {
  readonly #onFrame: (header: unknown, body: Buffer) => void;
  #chunks: Buffer[] = [];
  #length = 0;
  /** Total length of the frame being read, once its prefix is known. */
  #need = 0;
  #headerLength = 0;

  /** `onFrame` is called once per complete frame, in order; throwing from it is the caller's problem. */
  constructor(onFrame: (header: unknown, body: Buffer) => void) {
    this.#onFrame = onFrame;
  }

  /** Bytes received and not yet part of a complete frame. */
  get pendingBytes(): number {
    return this.#length;
  }

  /**
   * Feed bytes. Throws a plain Error for a malformed stream (an impossible length or a header that
   * is not JSON); the stream cannot be resynchronised after that.
   */
  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    for (;;) {
      if (this.#need === 0) {
        if (this.#length < PREFIX_BYTES) return;
        const head = this.#take(PREFIX_BYTES, false);
        const headerLength = head.readUInt32LE(0);
        const bodyLength = head.readUInt32LE(4);
        if (headerLength === 0 || headerLength + bodyLength > MAX_FRAME_BYTES) {
          throw new Error(`spawner protocol: bad frame lengths ${headerLength}+${bodyLength}`);
        }
        this.#headerLength = headerLength;
        this.#need = PREFIX_BYTES + headerLength + bodyLength;
      }
      if (this.#length < this.#need) return;
      const frame = this.#take(this.#need, true);
      const header: unknown = JSON.parse(
        frame.toString('utf8', PREFIX_BYTES, PREFIX_BYTES + this.#headerLength),
      );
      const body =
        frame.length > PREFIX_BYTES + this.#headerLength
          ? frame.subarray(PREFIX_BYTES + this.#headerLength)
          : EMPTY;
      this.#need = 0;
      this.#onFrame(header, body);
    }
  }

  /** The first `n` buffered bytes as one Buffer; consumed only when `consume`. */
  #take(n: number, consume: boolean): Buffer {
    const first = this.#chunks[0] as Buffer;
    let out: Buffer;
    if (first.length >= n) out = first.subarray(0, n);
    else {
      const joined = Buffer.concat(this.#chunks, this.#length);
      this.#chunks = [joined];
      out = joined.subarray(0, n);
    }
    if (consume) {
      const head = this.#chunks[0] as Buffer;
      if (head.length === n) this.#chunks.shift();
      else this.#chunks[0] = head.subarray(n);
      this.#length -= n;
    }
    return out;
  }
}

/** Bytes per start-record slot. */
export const SLOT_BYTES = 16;

/** A start-record slot: request `id` is starting (`pid` 0) or runs as `pid`. */
export function encodeSlot(id: number, pid: number): Buffer {
  const b = Buffer.alloc(SLOT_BYTES);
  b.writeDoubleLE(id, 0);
  b.writeInt32LE(pid, 8);
  return b;
}

/**
 * The start record as request id → pid (0: started, pid unknown). Slots are reused, so the file
 * also holds finished requests; the reader only asks about calls it has no reply for, and a
 * helper reuses a slot only after the reply of its previous request was written.
 */
export function decodeSlots(file: Buffer): Map<number, number> {
  const out = new Map<number, number>();
  for (let at = 0; at + SLOT_BYTES <= file.length; at += SLOT_BYTES) {
    const id = file.readDoubleLE(at);
    if (id > 0) out.set(id, file.readInt32LE(at + 8));
  }
  return out;
}

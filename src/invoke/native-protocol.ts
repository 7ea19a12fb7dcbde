/**
 * What NativeExec's two native back ends speak: the in-process addon (native-addon.ts) and the C
 * helper process (native-helper.ts) both take a {@link RunRequest} and answer with
 * {@link NativeReply}s to a {@link NativeCallSink}, so one NativeRun (native-run.ts) drives either.
 *
 * Below that, the helper's wire format (native/cni-spawn.c, whose header comment is the reference):
 * frames of `u32le length-of-the-rest | u8 type | u32le id | payload`, strings as
 * `u32le length | bytes`. Both ends ship together in this package, so there is no negotiation.
 */
import type { SpawnerError } from '../core/runtime-errors.ts';

/** Request type: run a plugin. */
const RUN = 1;
/** Frames larger than this are a protocol error (the helper has the same cap). */
const MAX_FRAME_BYTES = 2 ** 30;
/** The u32 fields cannot carry more; a larger limit is as good as none. */
const MAX_U32 = 2 ** 32 - 1;

/** What the helper needs to start one plugin. */
export interface RunRequest {
  id: number;
  pluginPath: string;
  /** The plugin's working directory (ours: the helper may have been started elsewhere). */
  dir: string;
  env: Record<string, string>;
  stdin: Uint8Array;
  maxStdout: number;
  maxStderr: number;
}

/** Back end → NativeRun (`ready` is the helper's alone, before any call). */
export type NativeReply =
  | { type: 'ready' }
  | { type: 'started'; id: number; pid: number }
  | { type: 'failed'; id: number; errno: number }
  | { type: 'overflow'; id: number }
  | { type: 'done'; id: number; status: number; stdout: Buffer; stderr: Buffer };

/** What one call hears from its back end. */
export interface NativeCallSink {
  onReply(reply: Exclude<NativeReply, { type: 'ready' }>): void;
  /** The back end is gone with this call unanswered; `started` is false when nothing ran. */
  onHelperGone(cause: SpawnerError, started: boolean): void;
}

/** Where NativeRun sends a call. */
export interface NativeBackend {
  /** Send a call; its replies go to `sink`. Returns the call's id. */
  send(req: Omit<RunRequest, 'id'>, sink: NativeCallSink): number;
  /** Forget a call (it settled without waiting for the last reply). */
  forget(id: number): void;
  /**
   * Call `id`'s plugin and its process group are gone, but no `done` came: the back end is stuck.
   * The call must then end through `onHelperGone`.
   */
  stuck(id: number, why: string): void;
}

const REPLY_TYPES = ['ready', 'started', 'failed', 'overflow', 'done'] as const;

/** One RUN frame. */
export function encodeRun(r: RunRequest): Buffer {
  const strings: Buffer[] = [Buffer.from(r.pluginPath), Buffer.from(r.dir)];
  const env = Object.entries(r.env).map(([k, v]) => Buffer.from(`${k}=${v}`));
  let size = 4 + 1 + 4 + 8 + 4 + 4 + r.stdin.byteLength;
  for (const s of strings) size += 4 + s.length;
  for (const s of env) size += 4 + s.length;
  const out = Buffer.allocUnsafe(size);
  let at = out.writeUInt32LE(size - 4, 0);
  at = out.writeUInt8(RUN, at);
  at = out.writeUInt32LE(r.id, at);
  at = out.writeUInt32LE(Math.min(r.maxStdout, MAX_U32), at);
  at = out.writeUInt32LE(Math.min(r.maxStderr, MAX_U32), at);
  const str = (b: Uint8Array): void => {
    at = out.writeUInt32LE(b.byteLength, at);
    out.set(b, at);
    at += b.byteLength;
  };
  for (const s of strings) str(s);
  at = out.writeUInt32LE(env.length, at);
  for (const s of env) str(s);
  str(r.stdin);
  return out;
}

/** Reassembles the helper's replies from its stdout. */
export class ReplyReader {
  readonly #onReply: (reply: NativeReply) => void;
  /** Bytes of the frame being received; joined once, when it is complete. */
  #chunks: Buffer[] = [];
  #length = 0;
  /** Bytes the frame being received needs in all, once its length is known (else 0). */
  #need = 0;

  constructor(onReply: (reply: NativeReply) => void) {
    this.#onReply = onReply;
  }

  /** Feed bytes; throws a plain Error on a malformed stream (it cannot be resynchronised). */
  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    if (this.#length < Math.max(this.#need, 4)) return;
    let buf = this.#chunks.length === 1 ? chunk : Buffer.concat(this.#chunks, this.#length);
    this.#need = 0;
    while (buf.length >= 4) {
      const len = buf.readUInt32LE(0);
      if (len < 5 || len > MAX_FRAME_BYTES)
        throw new Error(`native spawner protocol: bad frame length ${len}`);
      if (buf.length < 4 + len) {
        this.#need = 4 + len;
        break;
      }
      this.#onReply(decodeReply(buf.subarray(4, 4 + len)));
      buf = buf.subarray(4 + len);
    }
    // Keep a copy of a partial frame only, never a view pinning a whole chunk.
    this.#chunks = buf.length === 0 ? [] : [Buffer.from(buf)];
    this.#length = buf.length;
  }
}

function decodeReply(f: Buffer): NativeReply {
  const type = REPLY_TYPES[f.readUInt8(0)];
  const id = f.readUInt32LE(1);
  switch (type) {
    case 'ready':
      return { type };
    case 'started':
      return { type, id, pid: f.readInt32LE(5) };
    case 'failed':
      return { type, id, errno: f.readInt32LE(5) };
    case 'overflow':
      return { type, id };
    case 'done': {
      const status = f.readInt32LE(5);
      const outLen = f.readUInt32LE(9);
      const stdout = Buffer.from(f.subarray(13, 13 + outLen));
      const errAt = 13 + outLen;
      const stderr = Buffer.from(f.subarray(errAt + 4, errAt + 4 + f.readUInt32LE(errAt)));
      return { type, id, status, stdout, stderr };
    }
    default:
      throw new Error(`native spawner protocol: unknown reply type ${f.readUInt8(0)}`);
  }
}

/** A wait status as Node reports an exit: the code, or the signal's name. */
export function decodeWaitStatus(
  status: number,
  signalNames: ReadonlyMap<number, string>,
): {
  code: number | null;
  signal: string | null;
} {
  if (status < 0) return { code: null, signal: null }; // no status: reaped elsewhere
  const sig = status & 0x7f;
  if (sig === 0) return { code: (status >> 8) & 0xff, signal: null };
  return { code: null, signal: signalNames.get(sig) ?? `signal ${sig}` };
}

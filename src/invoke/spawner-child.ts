/**
 * The spawner helper process (see spawner.ts): a small Node process that runs plugins for a parent
 * with a large heap, because every spawn from Node forks the whole caller and the page-table copy
 * costs ~29 ms per GiB of its RSS. It runs the very same {@link spawnPlugin} as {@link DefaultExec},
 * so environment, stdin, timeouts, process-group kills, output bounds and ETXTBSY retries behave
 * identically; only the transport is new.
 *
 * Requests arrive on stdin and replies leave on stdout (spawner-protocol.ts). Before a plugin is
 * spawned, the request's slot in the start record (fd 3, see spawner-protocol.ts) is written, and
 * the pid right after: so a request with no slot certainly never ran, and can be given to a new
 * helper if this one dies, and the plugins of one that did start can be killed. A `ping` is
 * answered at once: the parent takes a helper that does not answer for a stopped or wedged one and
 * kills it.
 *
 * When stdin ends (the parent closed it or died), the helper finishes what is in flight and exits.
 * It is not meant to be run by hand.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ChildProcess } from 'node:child_process';
import { subscribe } from 'node:diagnostics_channel';
import { closeSync, openSync, writeSync } from 'node:fs';
import { PluginAbortedError, PluginError, PluginSpawnError, PluginTimeoutError } from '../core/errors.ts';
import { spawnPlugin } from './spawn-plugin.ts';
import {
  encodeFrame,
  encodeSlot,
  FrameReader,
  type Reply,
  type Request,
  SLOT_BYTES,
  type WireError,
} from './spawner-protocol.ts';

/** The start record. fd 3 is inherited without close-on-exec, so plugins would inherit it too:
 * reopen it (Node opens with O_CLOEXEC) and close the original. */
const startRecord = ((): number => {
  try {
    const fd = openSync('/proc/self/fd/3', 'r+');
    closeSync(3);
    return fd;
  } catch {
    return 3; // no /proc: plugins inherit the descriptor, which is harmless
  }
})();

/** A request in flight: its abort controller and its slot in the start record. */
interface Running {
  ac: AbortController;
  slot: number;
}

/** Which request the code running now works for: attributes spawned pids, retries included. */
const currentRequest = new AsyncLocalStorage<number>();
const inFlight = new Map<number, Running>();
/** Free slots of the start record, lowest reused first; the file grows to the peak concurrency. */
const freeSlots: number[] = [];
let slotCount = 0;

function takeSlot(): number {
  if (freeSlots.length === 0) return slotCount++;
  let best = 0;
  for (let i = 1; i < freeSlots.length; i++)
    if ((freeSlots[i] as number) < (freeSlots[best] as number)) best = i;
  return freeSlots.splice(best, 1)[0] as number;
}

function record(slot: number, id: number, pid: number): void {
  writeSync(startRecord, encodeSlot(id, pid), 0, SLOT_BYTES, slot * SLOT_BYTES);
}

function send(reply: Reply, body?: Uint8Array): void {
  process.stdout.write(encodeFrame(reply, body));
}

// Node publishes every ChildProcess on this channel as it is constructed; the pid exists once
// spawn() has returned, which is before the current microtask queue runs.
subscribe('child_process', (message) => {
  const id = currentRequest.getStore();
  if (id === undefined) return;
  const running = inFlight.get(id);
  if (running === undefined) return;
  const child = (message as { process: ChildProcess }).process;
  queueMicrotask(() => {
    if (child.pid !== undefined) record(running.slot, id, child.pid);
  });
});

function wireError(err: unknown): WireError {
  if (err instanceof PluginTimeoutError) return { kind: 'timeout', timeoutMs: err.timeoutMs, exec: err.exec };
  if (err instanceof PluginAbortedError) return { kind: 'aborted', exec: err.exec };
  if (err instanceof PluginError) {
    return { kind: 'plugin', code: err.code, msg: err.msg, details: err.details, exec: err.exec };
  }
  if (err instanceof PluginSpawnError) {
    const cause = err.cause as NodeJS.ErrnoException | undefined;
    return {
      kind: 'spawn',
      message: err.message,
      pluginPath: err.pluginPath,
      errno: err.errno,
      attempts: err.attempts,
      context: err.context,
      cause:
        cause instanceof Error
          ? { message: cause.message, code: cause.code, syscall: cause.syscall }
          : undefined,
    };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return { kind: 'other', name: e.name, message: e.message };
}

async function run(req: Extract<Request, { t: 'run' }>, stdin: Buffer): Promise<void> {
  const ac = new AbortController();
  const slot = takeSlot();
  inFlight.set(req.id, { ac, slot });
  try {
    record(slot, req.id, 0);
    const out = await currentRequest.run(req.id, () =>
      spawnPlugin(req.path, stdin, req.env, { ...req.o, signal: ac.signal }),
    );
    send(
      { t: 'ok', id: req.id, stderr: out.stderr, exitCode: out.exitCode, durationMs: out.durationMs },
      out.stdout,
    );
  } catch (err) {
    send({ t: 'err', id: req.id, e: wireError(err) });
  } finally {
    inFlight.delete(req.id);
    releaseSlot(slot);
  }
}

/** Slots whose reply is still queued in this process: freed once stdout has drained. */
let awaitingDrain: number[] = [];

/**
 * Another request may reuse a slot only once the reply is in the pipe: if this helper died with the
 * reply still queued here, the slot is what tells the parent that the plugin ran.
 */
function releaseSlot(slot: number): void {
  if (process.stdout.writableLength === 0) {
    freeSlots.push(slot);
    return;
  }
  if (awaitingDrain.length === 0) {
    process.stdout.once('drain', () => {
      freeSlots.push(...awaitingDrain);
      awaitingDrain = [];
    });
  }
  awaitingDrain.push(slot);
}

const reader = new FrameReader((header, body) => {
  const req = header as Request;
  switch (req.t) {
    case 'run':
      void run(req, body);
      return;
    case 'abort':
      inFlight.get(req.id)?.ac.abort();
      return;
    case 'ping':
      // At once, whatever is running: the parent kills a helper that does not answer.
      send({ t: 'pong', n: req.n });
      return;
  }
});

// The parent is gone: nobody reads replies any more. Finish what runs, quietly.
process.stdout.on('error', () => undefined);
process.stdin.on('data', (chunk: Buffer) => {
  try {
    reader.push(chunk);
  } catch (err) {
    // Our own parent wrote something unreadable: nothing sensible can follow.
    process.stderr.write(`libcni spawner: ${(err as Error).message}\n`);
    process.exit(70);
  }
});
// When stdin ends nothing new can arrive: the event loop empties, and the process exits, once the
// plugins in flight have been answered. (The helper runs in its own session, so a terminal's Ctrl-C
// meant for the parent does not reach it: the parent may still want plugins to run its cleanup.)

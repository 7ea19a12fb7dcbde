/**
 * NativeExec's in-process back end: the Node-API addon native/cni-spawn-addon.c (its header comment
 * is the reference), which starts each plugin with posix_spawn from inside this process and watches
 * its pipes and exit from Node's own event loop. Nothing is forked and no other process relays the
 * call, so a plugin's exit wakes Node once, as it wakes a Go or C parent.
 *
 * The addon answers the start synchronously (a pid, or the errno of a failed exec); this class
 * hands that to the call as the helper's STARTED/FAILED reply, on a microtask so that the call has
 * finished setting itself up, then relays OVERFLOW and DONE as they come.
 */
import { constants } from 'node:os';
import { loadNativeBinding, type NativeBinding } from '../core/native-binding.ts';
import { SpawnerError } from '../core/runtime-errors.ts';
import type { NativeBackend, NativeCallSink, RunRequest } from './native-protocol.ts';

/** The addon's callback kinds (cni-spawn-addon.c). */
const EV_OVERFLOW = 1;
/** The u32 arguments cannot carry more; a larger limit is as good as none. */
const MAX_U32 = 2 ** 32 - 1;

/**
 * The environment as execve takes it: one block of `K=V` strings, each ending in NUL, for an addon
 * that takes it (the addon points into it: no Node-API call or malloc per variable on each call),
 * else the strings. Undefined when a name or value holds a NUL.
 */
type EnvForm = Uint8Array | string[];

function envForm(env: Readonly<Record<string, string>>, block: boolean): EnvForm | undefined {
  const out: string[] = [];
  for (const k of Object.keys(env)) {
    const kv = `${k}=${env[k] as string}`;
    if (kv.includes('\0')) return undefined;
    out.push(kv);
  }
  if (!block) return out;
  return Buffer.from(out.length === 0 ? '' : `${out.join('\0')}\0`);
}

/** Plugin calls through the addon, many in flight at once. */
export class NativeAddon implements NativeBackend {
  readonly #binding: NativeBinding;
  /** The addon takes the environment as one block (addons built before it take strings). */
  readonly #envBlock: boolean;
  /**
   * Each frozen environment's form, built once: CNIConfig hands the same one to every plugin of an
   * operation.
   */
  readonly #envForms = new WeakMap<Readonly<Record<string, string>>, EnvForm | undefined>();
  readonly #calls = new Map<number, NativeCallSink>();
  #nextId = 1;

  /** Load it from `file`; throws when it cannot be loaded. */
  constructor(file: string) {
    this.#binding = loadNativeBinding(file);
    this.#envBlock = this.#binding.envBlock === true;
  }

  send(req: Omit<RunRequest, 'id'>, sink: NativeCallSink): number {
    const id = this.#nextId++;
    const pid = this.#start(id, req);
    if (pid > 0) this.#calls.set(id, sink);
    queueMicrotask(() => {
      sink.onReply(pid > 0 ? { type: 'started', id, pid } : { type: 'failed', id, errno: -pid });
    });
    return id;
  }

  forget(id: number): void {
    this.#calls.delete(id);
  }

  stuck(id: number, why: string): void {
    const sink = this.#calls.get(id);
    this.#calls.delete(id);
    const info = { pid: process.pid, exitCode: null, signal: null, stderr: '' };
    sink?.onHelperGone(new SpawnerError(`the native addon ${why}`, info), true);
  }

  #envOf(env: Readonly<Record<string, string>>): EnvForm | undefined {
    if (!Object.isFrozen(env)) return envForm(env, this.#envBlock);
    if (this.#envForms.has(env)) return this.#envForms.get(env);
    const form = envForm(env, this.#envBlock);
    this.#envForms.set(env, form);
    return form;
  }

  /** Start the plugin: its pid, or -errno. */
  #start(id: number, req: Omit<RunRequest, 'id'>): number {
    const env = this.#envOf(req.env);
    // C strings end at NUL: a path or variable with one would reach execve cut short. env.ts and
    // find.ts refuse them earlier; this holds for any caller of Exec.
    if (env === undefined || req.pluginPath.includes('\0')) return -constants.errno.EINVAL;
    return this.#binding.spawn(
      req.pluginPath,
      env,
      req.stdin,
      Math.min(req.maxStdout, MAX_U32),
      Math.min(req.maxStderr, MAX_U32),
      (kind, status, stdout, stderr) => {
        const sink = this.#calls.get(id);
        if (sink === undefined) return;
        if (kind === EV_OVERFLOW) {
          sink.onReply({ type: 'overflow', id });
          return;
        }
        this.#calls.delete(id);
        const none = Buffer.alloc(0);
        sink.onReply({ type: 'done', id, status, stdout: stdout ?? none, stderr: stderr ?? none });
      },
    );
  }
}

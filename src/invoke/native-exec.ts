/**
 * NativeExec: the default {@link Exec}. Node starts every child by fork()ing the whole Node process
 * (libuv clone(SIGCHLD), no CLONE_VM), so each plugin call pays a page-table copy that grows with the
 * heap (~29 ms per GiB; BENCHMARKS.md). NativeExec hands each call to a small C helper
 * (native/cni-spawn.c), started once on the first call, which starts plugins with posix_spawn
 * (clone(CLONE_VM|CLONE_VFORK), as Go's os/exec), many at once. Node forks once, for the helper.
 *
 * Everything else is DefaultExec's: the same options, retries of a busy binary (busy-retry.ts),
 * process-group kill on timeout/abort/overflow, output bounds and errors (native-run.ts).
 *
 * Fallback: where the helper binary is missing, not executable, or does not come up (wrong
 * architecture, missing libc, ...), or `LIBCNI_NATIVE_SPAWNER=off`, every call goes through
 * {@link DefaultExec}, and one `NODE_DEBUG=libcni` line says why. A helper that dies after it came
 * up fails the calls it held (native-run.ts) and is restarted by the next call.
 */
import { accessSync, constants as fsConstants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { debuglog } from 'node:util';
import type { ErrorContext } from '../core/errors.ts';
import type { RunOnce } from './busy-retry.ts';
import type { ExecOptions, ExecOutput } from './exec-options.ts';
import { type DefaultExecOptions, type Exec, reportStderr } from './exec.ts';
import { findInPath } from './find.ts';
import { NativeHelper } from './native-helper.ts';
import { type NativeAttempt, nativeRunOnce } from './native-run.ts';
import { runOnce } from './run-once.ts';
import { runPluginWith } from './spawn-plugin.ts';

const debug = debuglog('libcni');

/** Environment variable: a path to the helper binary, or `off` to use DefaultExec. */
export const NATIVE_SPAWNER_ENV = 'LIBCNI_NATIVE_SPAWNER';

/** Options of {@link NativeExec}. */
export interface NativeExecOptions extends DefaultExecOptions {
  /**
   * The helper binary. Default: `$LIBCNI_NATIVE_SPAWNER` when set, else `native/build/cni-spawn`
   * in this package (built by `npm ci`, shipped prebuilt for linux-x64).
   */
  helperPath?: string | undefined;
}

/** The helper binary this package builds (the same from src/ and dist/). */
export function defaultNativeSpawnerPath(): string {
  return fileURLToPath(new URL('../../native/build/cni-spawn', import.meta.url));
}

/** Runs plugins through the native helper, or through DefaultExec where it is unavailable. */
export class NativeExec implements Exec {
  readonly #onStderr: DefaultExecOptions['onStderr'];
  readonly #binary: string;
  #helper: NativeHelper | undefined;
  #fallbackReason: string | undefined;
  readonly #runner: RunOnce;

  constructor(options?: NativeExecOptions) {
    this.#onStderr = options?.onStderr;
    const fromEnv = process.env[NATIVE_SPAWNER_ENV];
    this.#binary =
      options?.helperPath ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : defaultNativeSpawnerPath());
    if (options?.helperPath === undefined && fromEnv === 'off') this.#fallBack(`${NATIVE_SPAWNER_ENV}=off`);
    this.#runner = nativeRunOnce(this.#attempt);
  }

  /** Why calls go through DefaultExec, or undefined while the native helper is used. */
  get fallbackReason(): string | undefined {
    return this.#fallbackReason;
  }

  /** The running helper's pid, if one runs. */
  get helperPid(): number | undefined {
    return this.#helper?.usable === true ? this.#helper.pid : undefined;
  }

  async execPlugin(
    pluginPath: string,
    stdin: Uint8Array,
    env: Record<string, string>,
    options?: ExecOptions,
  ): Promise<ExecOutput> {
    const out = await runPluginWith(this.#runner, pluginPath, stdin, env, options);
    reportStderr(this.#onStderr, pluginPath, out.stderr);
    return out;
  }

  findInPath(type: string, paths: readonly string[], context?: ErrorContext): Promise<string> {
    return findInPath(type, paths, context);
  }

  /** Stop the helper once the calls in flight are answered; later calls start a new one. */
  async close(): Promise<void> {
    const h = this.#helper;
    this.#helper = undefined;
    await h?.close();
  }

  /** The helper for one attempt, started if needed; or the fallback's way of running it. */
  readonly #attempt = (): NativeAttempt | RunOnce => {
    if (this.#fallbackReason !== undefined) return runOnce;
    if (this.#helper?.usable !== true) {
      try {
        accessSync(this.#binary, fsConstants.X_OK);
        this.#helper = new NativeHelper(this.#binary, this.#onGone);
      } catch (err) {
        this.#fallBack(`cannot run ${this.#binary}: ${(err as Error).message}`);
        return runOnce;
      }
    }
    return { helper: this.#helper, fallback: runOnce };
  };

  readonly #onGone = (h: NativeHelper, started: boolean, why: string): void => {
    if (this.#helper === h) this.#helper = undefined;
    if (!started) this.#fallBack(`the helper ${this.#binary} did not start: ${why}`);
  };

  #fallBack(reason: string): void {
    if (this.#fallbackReason !== undefined) return;
    this.#fallbackReason = reason;
    debug('native spawner unavailable (%s); using DefaultExec', reason);
  }
}

let shared: NativeExec | undefined;

/**
 * The process-wide {@link NativeExec} that CNIConfig uses when given no `exec`: one helper for
 * every CNIConfig. An idle helper never keeps the process alive.
 */
export function sharedNativeExec(): Exec {
  shared ??= new NativeExec();
  return shared;
}

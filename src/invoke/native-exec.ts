/**
 * NativeExec: the default {@link Exec}. Node starts every child by fork()ing the whole Node process
 * (libuv clone(SIGCHLD), no CLONE_VM), so each plugin call pays a page-table copy that grows with the
 * heap (~29 ms per GiB; BENCHMARKS.md). NativeExec starts plugins with posix_spawn
 * (clone(CLONE_VM|CLONE_VFORK), as Go's os/exec), which copies nothing, through the first of:
 *
 * 1. the Node-API addon (native-addon.ts, native/cni-spawn-addon.c): posix_spawn from inside this
 *    process, the plugin's pipes and exit watched by Node's own event loop; the cheapest, as no
 *    other process wakes for a call (BENCHMARKS.md);
 * 2. the C helper process (native-helper.ts, native/cni-spawn.c), started once on the first call
 *    and driven over its stdin/stdout: statically linked, it also runs where the addon cannot load
 *    (a libc other than the one it was built for);
 * 3. {@link DefaultExec} (child_process).
 *
 * Everything else is DefaultExec's: the same options, retries of a busy binary (busy-retry.ts),
 * process-group kill on timeout/abort/overflow, output bounds and errors (native-run.ts).
 *
 * `LIBCNI_NATIVE_SPAWNER` chooses: `off` for DefaultExec, `helper` for the helper process, or a
 * path to a helper binary. A back end that cannot be used is skipped with one `NODE_DEBUG=libcni`
 * line saying why. A helper that dies after it came up fails the calls it held (native-run.ts) and
 * is restarted by the next call.
 */
import { accessSync, constants as fsConstants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { debuglog } from 'node:util';
import type { ErrorContext } from '../core/errors.ts';
import { defaultNativeAddonPath, NATIVE_SPAWNER_ENV } from '../core/native-binding.ts';
import type { RunOnce } from './busy-retry.ts';
import type { ExecOptions, ExecOutput } from './exec-options.ts';
import { type DefaultExecOptions, type Exec, reportStderr } from './exec.ts';
import { findInPath } from './find.ts';
import { NativeAddon } from './native-addon.ts';
import { NativeHelper } from './native-helper.ts';
import { type NativeAttempt, nativeRunOnce } from './native-run.ts';
import { runOnce } from './run-once.ts';
import { runPluginWith } from './spawn-plugin.ts';

const debug = debuglog('libcni');

/** Options of {@link NativeExec}. */
export interface NativeExecOptions extends DefaultExecOptions {
  /**
   * The addon (`native/build/cni_spawn.node` in this package by default), or `false` to go
   * straight to the helper process. Ignored when `helperPath` or `$LIBCNI_NATIVE_SPAWNER` is set.
   */
  addonPath?: string | false | undefined;
  /**
   * The helper binary, used where the addon is unavailable; given, it is used instead of the addon.
   * Default: `$LIBCNI_NATIVE_SPAWNER` when it is a path, else `native/build/cni-spawn` in this
   * package (built by `npm ci`, shipped prebuilt for linux-x64).
   */
  helperPath?: string | undefined;
}

/** The helper binary this package builds (the same from src/ and dist/). */
export function defaultNativeSpawnerPath(): string {
  return fileURLToPath(new URL('../../native/build/cni-spawn', import.meta.url));
}

/** Which way {@link NativeExec} starts plugins. */
export type NativeBackendKind = 'addon' | 'helper' | 'child_process';

/** Runs plugins through the addon, else the helper process, else DefaultExec. */
export class NativeExec implements Exec {
  readonly #onStderr: DefaultExecOptions['onStderr'];
  readonly #binary: string;
  readonly #addon: NativeAddon | undefined;
  #helper: NativeHelper | undefined;
  #fallbackReason: string | undefined;
  readonly #runner: RunOnce;

  constructor(options?: NativeExecOptions) {
    this.#onStderr = options?.onStderr;
    const fromEnv = process.env[NATIVE_SPAWNER_ENV] ?? '';
    const envPath = fromEnv === 'off' || fromEnv === 'helper' ? '' : fromEnv;
    this.#binary = options?.helperPath ?? (envPath !== '' ? envPath : defaultNativeSpawnerPath());
    if (options?.helperPath === undefined && fromEnv === 'off') this.#fallBack(`${NATIVE_SPAWNER_ENV}=off`);
    else if (options?.helperPath === undefined && fromEnv === '' && options?.addonPath !== false)
      this.#addon = this.#loadAddon(options?.addonPath ?? defaultNativeAddonPath());
    this.#runner = nativeRunOnce(this.#attempt);
  }

  /** How plugins are started now: the addon, the helper process, or child_process (DefaultExec). */
  get backend(): NativeBackendKind {
    if (this.#addon !== undefined) return 'addon';
    return this.#fallbackReason === undefined ? 'helper' : 'child_process';
  }

  /** Why calls go through DefaultExec, or undefined while a native back end is used. */
  get fallbackReason(): string | undefined {
    return this.#fallbackReason;
  }

  /** The running helper's pid, if one runs (never with the addon). */
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
    if (this.#addon !== undefined) return { helper: this.#addon, fallback: runOnce };
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

  #loadAddon(file: string): NativeAddon | undefined {
    try {
      return new NativeAddon(file);
    } catch (err) {
      debug(
        'native addon unavailable (cannot load %s: %s); using the helper process',
        file,
        (err as Error).message,
      );
      return undefined;
    }
  }

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
export function sharedNativeExec(): NativeExec {
  shared ??= new NativeExec();
  return shared;
}

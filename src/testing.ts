/**
 * `libcni/testing`: an in-memory {@link Exec} for the tests of code built on this library (as Go
 * ships `pkg/invoke/fakes`). Plugins are registered by type with a function that answers each call;
 * every call is recorded with its command, environment and parsed config. Failures go through the
 * same decoding as a real plugin's, so a test sees exactly the errors production would.
 *
 * ```ts
 * import { CNIConfig, networkConfFromBytes } from 'libcni';
 * import { FakeExec } from 'libcni/testing';
 *
 * const exec = new FakeExec().plugin('bridge', (call) =>
 *   call.command === 'ADD' ? { result: { cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }] } } : {});
 * const cni = new CNIConfig({ path: ['/fake'], exec });
 * ```
 * @packageDocumentation
 */
import { performance } from 'node:perf_hooks';
import { type ErrorContext, PluginAbortedError } from './core/errors.ts';
import type { Exec, ExecOutput } from './invoke/exec.ts';
import { checkLookup, pluginNotFound } from './invoke/find.ts';
import { pluginFailure } from './invoke/plugin-failure.ts';

/** One recorded plugin call. */
export interface FakePluginCall {
  /** The plugin `type` (the file name the lookup resolved). */
  type: string;
  pluginPath: string;
  /** `CNI_COMMAND`: ADD, CHECK, DEL, GC, STATUS or VERSION. */
  command: string;
  /** The exact environment the plugin would have been started with. */
  env: Readonly<Record<string, string>>;
  /** The exact bytes on the plugin's stdin. */
  stdin: Buffer;
  /** `stdin` parsed as JSON (undefined when it is not JSON). */
  config: Record<string, unknown> | undefined;
}

/** What a fake plugin answers. Every field is optional: `{}` is a plugin that prints nothing and exits 0. */
export interface FakeReply {
  /** Printed as JSON on stdout with exit status 0 (ADD's result, VERSION's answer, ...). */
  result?: unknown;
  /** The spec's error object, printed on stdout with exit status 1 (unless `exitCode` says otherwise). */
  error?: { code: number; msg: string; details?: string };
  /** Raw stdout instead of `result`/`error`, for malformed output. */
  stdout?: string | Uint8Array;
  stderr?: string;
  /** Exit status; default 0, or 1 with `error`. */
  exitCode?: number;
}

/** Answers one call; may be async (e.g. to wait on the test). */
export type FakePlugin = (call: FakePluginCall) => FakeReply | Promise<FakeReply>;

/** Options of {@link FakeExec}. */
export interface FakeExecOptions {
  /**
   * The spec versions a plugin registered without a VERSION answer reports. Default: every
   * version from 0.1.0 to 1.1.0.
   */
  supportedVersions?: readonly string[];
}

const ALL_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];

function parseConfig(stdin: Buffer): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(stdin.toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Registered plugins live under this directory name in the search path; any path list works. */
function typeOf(pluginPath: string): string {
  return pluginPath.slice(pluginPath.lastIndexOf('/') + 1);
}

/** An {@link Exec} whose plugins are functions. Unknown types are not found, as on disk. */
export class FakeExec implements Exec {
  /** Every call, in order. */
  readonly calls: FakePluginCall[] = [];
  readonly #plugins = new Map<string, FakePlugin>();
  readonly #versions: readonly string[];

  constructor(options?: FakeExecOptions) {
    this.#versions = options?.supportedVersions ?? ALL_VERSIONS;
  }

  /**
   * Registers plugin `type`. Without `answer`, the plugin succeeds with no output (and answers
   * VERSION with the supported versions); on ADD it then returns its `prevResult`, or an empty
   * result of the config's version, as a pass-through plugin would.
   */
  plugin(type: string, answer?: FakePlugin): this {
    this.#plugins.set(type, answer ?? ((call) => this.#passThrough(call)));
    return this;
  }

  /** The recorded calls of one plugin type and, optionally, one command. */
  callsOf(type: string, command?: string): FakePluginCall[] {
    return this.calls.filter((c) => c.type === type && (command === undefined || c.command === command));
  }

  /** Forget the recorded calls (registrations stay). */
  reset(): void {
    this.calls.length = 0;
  }

  /** Resolves a registered type to `<first path>/<type>`; otherwise fails as the real lookup does. */
  findInPath(type: string, paths: readonly string[], context?: ErrorContext): Promise<string> {
    return Promise.resolve().then(() => {
      checkLookup(type, paths, context);
      if (!this.#plugins.has(type)) throw pluginNotFound(type, paths, context);
      return `${paths[0] ?? ''}/${type}`;
    });
  }

  // Parameter types come from Exec.
  async execPlugin(
    ...[pluginPath, stdin, env, options]: Parameters<Exec['execPlugin']>
  ): Promise<ExecOutput> {
    const started = performance.now();
    const type = typeOf(pluginPath);
    const command = options?.command ?? env.CNI_COMMAND ?? '';
    const bytes = Buffer.from(stdin);
    const call: FakePluginCall = {
      type,
      pluginPath,
      command,
      env: { ...env },
      stdin: bytes,
      config: parseConfig(bytes),
    };
    this.calls.push(call);
    const info = (exitCode: number | null) => ({
      pluginPath,
      command,
      exitCode,
      signal: null,
      stderr: '',
      stdout: '',
      durationMs: performance.now() - started,
    });
    if (options?.signal?.aborted) throw new PluginAbortedError(info(null), { context: options.context });
    const answer = this.#plugins.get(type);
    if (answer === undefined) throw new Error(`FakeExec: no plugin registered as ${JSON.stringify(type)}`);
    const reply = await answer(call);
    const stdout = Buffer.from(
      reply.stdout ??
        (reply.error !== undefined
          ? JSON.stringify(reply.error)
          : reply.result === undefined
            ? ''
            : JSON.stringify(reply.result)),
    );
    const stderr = reply.stderr ?? '';
    const exitCode = reply.exitCode ?? (reply.error === undefined ? 0 : 1);
    const durationMs = performance.now() - started;
    if (exitCode !== 0) {
      const run = {
        ...info(exitCode),
        stderr,
        stdout: stdout.subarray(0, 4096).toString('utf8'),
        durationMs,
      };
      throw pluginFailure(stdout, Buffer.from(stderr), run, options?.context);
    }
    return { stdout, stderr, exitCode, durationMs };
  }

  #passThrough(call: FakePluginCall): FakeReply {
    if (call.command === 'VERSION') {
      return { result: { cniVersion: this.#versions.at(-1), supportedVersions: this.#versions } };
    }
    if (call.command !== 'ADD') return {};
    const prev = call.config?.prevResult;
    return { result: prev ?? { cniVersion: call.config?.cniVersion ?? '1.1.0' } };
  }
}

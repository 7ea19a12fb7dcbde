/**
 * The environment a plugin runs with: the spec's `CNI_*` variables for one request, on top of a
 * chosen part of the caller's environment (SPEC.md "Parameters"; Go's `invoke.Args.AsEnv`).
 */
import path from 'node:path';
import type { CniCommand, TraceContext } from '../core/diagnostics.ts';
import { type ErrorContext, ErrorCode, ValidationError } from '../core/errors.ts';

/** What one plugin call is about; becomes the `CNI_*` variables. */
export interface PluginRequest {
  command: CniCommand;
  containerId?: string | undefined;
  /** Path of the network namespace (`CNI_NETNS`). */
  netns?: string | undefined;
  ifName?: string | undefined;
  /** `CNI_ARGS` pairs, joined as `K=V;K=V` in order. Ignored when `argsString` is non-empty. */
  args?: ReadonlyArray<readonly [string, string]> | undefined;
  /** A ready-made `CNI_ARGS` value (Go's `PluginArgsStr`); wins over `args` when non-empty. */
  argsString?: string | undefined;
  /** Plugin search path, joined with `:` into `CNI_PATH`. */
  path: readonly string[];
}

/**
 * Which part of the caller's environment a plugin sees (a runtime's own variables, such as
 * `LOG_TARGET` or `XDG_RUNTIME_DIR`, have broken plugins that read them):
 * - `'inherit'` (Go's behaviour): everything except inherited `CNI_*`;
 * - `'minimal'`: only `PATH`;
 * - a list of names: `PATH` plus those names, when set.
 */
export type EnvMode = 'inherit' | 'minimal' | readonly string[];

/** How to build the environment around the `CNI_*` variables. */
export interface PluginEnvOptions {
  /** Default `'inherit'`. */
  env?: EnvMode | undefined;
  /** The environment to inherit from. Default `process.env`. */
  baseEnv?: NodeJS.ProcessEnv | undefined;
  /**
   * Variables to add. Applied after the inherited ones and before the `CNI_*` request variables,
   * so they cannot change the request, but may set other `CNI_*` names on purpose.
   */
  extraEnv?: Readonly<Record<string, string>> | undefined;
  /** Trace context for the call, usually from the caller's active span. */
  trace?: TraceContext | undefined;
  /** Where the call happens, given to the errors raised for bad values. */
  context?: ErrorContext | undefined;
}

/** `PATH` given to plugins in `'minimal'`/allowlist mode when the caller has none. */
export const DEFAULT_PLUGIN_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Version 00 traceparent with non-zero trace and span ids (an all-zero id is invalid per W3C). */
const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/** Which request field a `CNI_*` variable came from, for {@link ValidationError.field}. */
const FIELD_OF: Readonly<Record<string, string>> = {
  CNI_CONTAINERID: 'containerId',
  CNI_NETNS: 'netns',
  CNI_IFNAME: 'ifName',
  CNI_ARGS: 'cniArgs',
  CNI_PATH: 'path',
};

function refuseArgs(msg: string, details: string, context: ErrorContext | undefined): never {
  throw new ValidationError('cniArgs', ErrorCode.InvalidEnvironmentVariables, msg, details, { context });
}

/**
 * `CNI_ARGS` from pairs: `K=V` joined with `;`, as Go's `stringify`. Go does no checking, so a `;`
 * in a key or value, or a `=` in a key, silently turns into different arguments on the plugin side
 * (Go plugins split on every `;` and `=`); we refuse them with code 4 instead.
 */
export function formatCniArgs(
  args: ReadonlyArray<readonly [string, string]>,
  context?: ErrorContext,
): string {
  let out = '';
  for (let i = 0; i < args.length; i++) {
    const [k, v] = args[i] as readonly [string, string];
    if (k.includes(';') || k.includes('=')) {
      refuseArgs(`CNI_ARGS key must not contain ";" or "="`, k, context);
    }
    if (v.includes(';')) refuseArgs(`CNI_ARGS value must not contain ";"`, `${k}=${v}`, context);
    out += i === 0 ? `${k}=${v}` : `;${k}=${v}`;
  }
  return out;
}

function copyInherited(
  out: Record<string, string>,
  base: NodeJS.ProcessEnv,
  mode: 'inherit' | readonly string[],
): void {
  const names = mode === 'inherit' ? Object.keys(base) : mode;
  for (const name of names) {
    // Inherited CNI_* would otherwise reach the plugin (e.g. CNI_NETNS_OVERRIDE changes how Go
    // plugins treat CNI_NETNS), so none of them pass, whatever the mode.
    if (name.startsWith('CNI_')) continue;
    const value = base[name];
    if (value !== undefined) out[name] = value;
  }
}

/**
 * Build the complete environment for one plugin call, exactly as Go sets the `CNI_*` variables:
 * - ADD/CHECK/DEL: `CNI_COMMAND`, `CNI_CONTAINERID`, `CNI_NETNS`, `CNI_IFNAME`, `CNI_ARGS`,
 *   `CNI_PATH` (absent request fields become empty strings);
 * - GC/STATUS: the same six, with container id, netns, args and ifname always `""`;
 * - VERSION: `CNI_NETNS`, `CNI_IFNAME` and `CNI_PATH` are `dummy` (plugins built on old `skel`
 *   insist on them), container id and args `""`.
 *
 * Every inherited `CNI_*` variable is dropped first. Throws {@link ValidationError} (code 4) for
 * CNI_ARGS that would be mis-parsed by the plugin (see {@link formatCniArgs}) and for any value or
 * name containing NUL, which cannot be passed through `execve`.
 */
export function buildPluginEnv(req: PluginRequest, options?: PluginEnvOptions): Record<string, string> {
  const mode = options?.env ?? 'inherit';
  const base = options?.baseEnv ?? process.env;
  // No prototype: a variable named `__proto__` is a variable like any other, as in Go.
  const env = Object.create(null) as Record<string, string>;

  if (mode === 'inherit') copyInherited(env, base, 'inherit');
  else {
    if (mode !== 'minimal') copyInherited(env, base, mode);
    // PATH always passes: plugins exec helpers (iptables, ip, ...) by name.
    const inheritedPath = base.PATH;
    env.PATH = inheritedPath === undefined || inheritedPath === '' ? DEFAULT_PLUGIN_PATH : inheritedPath;
  }

  const extra = options?.extraEnv;
  if (extra !== undefined) {
    for (const name of Object.keys(extra)) {
      if (name === '' || name.includes('=') || name.includes('\0')) {
        throw new ValidationError(
          'env',
          ErrorCode.InvalidEnvironmentVariables,
          'invalid environment variable name',
          name,
          { context: options?.context },
        );
      }
      env[name] = extra[name] as string;
    }
  }

  const command = req.command;
  env.CNI_COMMAND = command;
  if (command === 'VERSION') {
    env.CNI_CONTAINERID = '';
    env.CNI_NETNS = 'dummy';
    env.CNI_IFNAME = 'dummy';
    env.CNI_ARGS = '';
    env.CNI_PATH = 'dummy';
  } else if (command === 'GC' || command === 'STATUS') {
    env.CNI_CONTAINERID = '';
    env.CNI_NETNS = '';
    env.CNI_IFNAME = '';
    env.CNI_ARGS = '';
    env.CNI_PATH = req.path.join(path.delimiter);
  } else {
    env.CNI_CONTAINERID = req.containerId ?? '';
    env.CNI_NETNS = req.netns ?? '';
    env.CNI_IFNAME = req.ifName ?? '';
    env.CNI_ARGS =
      req.argsString !== undefined && req.argsString !== ''
        ? req.argsString
        : req.args === undefined
          ? ''
          : formatCniArgs(req.args, options?.context);
    env.CNI_PATH = req.path.join(path.delimiter);
  }

  const trace = options?.trace;
  if (trace !== undefined && TRACEPARENT.test(trace.traceparent)) {
    env.TRACEPARENT = trace.traceparent;
    if (trace.tracestate) env.TRACESTATE = trace.tracestate;
    if (trace.baggage) env.BAGGAGE = trace.baggage;
  }

  // One pass over the finished object: NUL cannot cross execve, and Node would only say
  // ERR_INVALID_ARG_VALUE at spawn time, far from the input that caused it.
  for (const name in env) {
    if ((env[name] as string).includes('\0')) {
      throw new ValidationError(
        FIELD_OF[name] ?? 'env',
        ErrorCode.InvalidEnvironmentVariables,
        'environment value must not contain NUL',
        name,
        { context: options?.context },
      );
    }
  }
  return env;
}

/**
 * Every error this library raises. One module defines them all so that callers can rely on
 * `instanceof` and on the stable `name`; the rest of the code only raises them.
 *
 * Messages keep Go libcni's wording where upstream tests or users match on it; the extra context
 * (plugin, command, network, container) lives in fields, never only in the text.
 */

/** The spec's well-known error codes (SPEC.md "Error"). Codes >= 100 are plugin-specific. */
export const ErrorCode = {
  Unknown: 0,
  IncompatibleCNIVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironmentVariables: 4,
  IOFailure: 5,
  DecodingFailure: 6,
  InvalidNetworkConfig: 7,
  InvalidNetNS: 8,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  PluginNotAvailableLimitedConnectivity: 51,
  Internal: 999,
} as const;

/** Where an error happened: filled in as far as the raising layer knows it. */
export interface ErrorContext {
  /** CNI command: ADD, CHECK, DEL, GC, STATUS or VERSION. */
  command?: string | undefined;
  /** Plugin `type`. */
  plugin?: string | undefined;
  /** Absolute path of the plugin executable. */
  pluginPath?: string | undefined;
  /** Network (list) name. */
  network?: string | undefined;
  containerId?: string | undefined;
  ifName?: string | undefined;
}

/** The keys of `ctx` in their order (every field of an ErrorContext is an optional string). */
function keysOf(ctx: ErrorContext): Array<keyof ErrorContext> {
  return Object.keys(ctx) as Array<keyof ErrorContext>;
}

function cleanContext(ctx: ErrorContext | undefined): ErrorContext {
  const out: ErrorContext = {};
  if (!ctx) return out;
  for (const k of keysOf(ctx)) {
    const v = ctx[k];
    if (v !== undefined && v !== '') out[k] = v;
  }
  return out;
}

/**
 * The context for an error raised by an inner layer on behalf of a caller: what the inner layer
 * knows (`own`) first, then whatever the caller's `outer` context adds.
 */
export function mergeContext(own: ErrorContext, outer: ErrorContext | undefined): ErrorContext {
  const out = cleanContext(own);
  if (!outer) return out;
  for (const k of keysOf(outer)) {
    const v = outer[k];
    if (v && out[k] === undefined) out[k] = v;
  }
  return out;
}

/** Base class of every error raised by this library. */
export class LibcniError extends Error {
  /** What the library knew about the call when the error was raised. */
  readonly context: Readonly<ErrorContext>;

  constructor(message: string, options?: { cause?: unknown; context?: ErrorContext | undefined }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.context = cleanContext(options?.context);
  }
}

/** The JSON error object plugins print on stdout (SPEC.md "Error"). */
export interface CniErrorObject {
  cniVersion?: string;
  code: number;
  msg: string;
  details?: string;
}

/**
 * The spec's error object: a numeric `code`, `msg` and optional `details`.
 * `message` is Go's `types.Error.Error()`: msg, then `; details` when details are present.
 */
export class CniError extends LibcniError {
  readonly code: number;
  readonly msg: string;
  readonly details: string | undefined;

  constructor(
    code: number,
    msg: string,
    details?: string,
    options?: { cause?: unknown; context?: ErrorContext | undefined },
  ) {
    super(details ? `${msg}; ${details}` : msg, options);
    this.code = code;
    this.msg = msg;
    this.details = details || undefined;
  }

  /** True for code 11, which the spec reserves for "try again later". */
  get isTryAgainLater(): boolean {
    return this.code === ErrorCode.TryAgainLater;
  }

  /** The spec's JSON form, as a plugin prints it. */
  toJSON(cniVersion?: string): CniErrorObject {
    const o: CniErrorObject = {} as CniErrorObject;
    if (cniVersion) o.cniVersion = cniVersion;
    o.code = this.code;
    o.msg = this.msg;
    if (this.details) o.details = this.details;
    return o;
  }
}

/** Facts about one plugin process, kept on every error that comes from running a plugin. */
export interface PluginExecInfo {
  pluginPath: string;
  command: string;
  exitCode: number | null;
  signal: string | null;
  /** The end of what the plugin wrote on stderr (bounded). */
  stderr: string;
  /** The start of what the plugin wrote on stdout (bounded). */
  stdout: string;
  durationMs: number;
}

/**
 * A plugin failed: it exited non-zero (with or without a spec error object on stdout), was killed,
 * or its output could not be decoded. `code` is the plugin's own code when it printed one, else 0
 * as in Go.
 */
export class PluginError extends CniError {
  readonly exec: PluginExecInfo;

  constructor(
    code: number,
    msg: string,
    details: string | undefined,
    exec: PluginExecInfo,
    options?: { cause?: unknown; context?: ErrorContext | undefined },
  ) {
    super(code, msg, details, {
      ...options,
      context: { command: exec.command, pluginPath: exec.pluginPath, ...options?.context },
    });
    this.exec = exec;
  }
}

/** The plugin outlived its timeout; its whole process group was killed. */
export class PluginTimeoutError extends PluginError {
  readonly timeoutMs: number;
  constructor(
    timeoutMs: number,
    exec: PluginExecInfo,
    options?: { cause?: unknown; context?: ErrorContext | undefined },
  ) {
    super(
      ErrorCode.Unknown,
      `netplugin failed with no error message: timed out after ${timeoutMs} ms`,
      undefined,
      exec,
      options,
    );
    this.timeoutMs = timeoutMs;
  }
}

/** The caller's AbortSignal fired; the plugin's whole process group was killed. */
export class PluginAbortedError extends PluginError {
  constructor(exec: PluginExecInfo, options?: { cause?: unknown; context?: ErrorContext | undefined }) {
    super(ErrorCode.Unknown, 'netplugin failed with no error message: aborted', undefined, exec, options);
  }
}

/** Why a plugin lookup failed. */
export type PluginLookupFailure = 'not-found' | 'invalid-name' | 'no-name' | 'no-paths';

/** The plugin `type` could not be resolved to an executable on the search path. */
export class PluginNotFoundError extends LibcniError {
  readonly reason: PluginLookupFailure;
  readonly paths: readonly string[];
  constructor(
    message: string,
    reason: PluginLookupFailure,
    paths: readonly string[],
    options?: { context?: ErrorContext | undefined },
  ) {
    super(message, options);
    this.reason = reason;
    this.paths = paths;
  }
}

/** The plugin could not be started at all (EACCES, ENOEXEC, ETXTBSY that never cleared, ...). */
export class PluginSpawnError extends LibcniError {
  readonly pluginPath: string;
  readonly errno: string | undefined;
  readonly attempts: number;
  constructor(
    message: string,
    pluginPath: string,
    errno: string | undefined,
    attempts: number,
    options?: { cause?: unknown; context?: ErrorContext | undefined },
  ) {
    super(message, options);
    this.pluginPath = pluginPath;
    this.errno = errno;
    this.attempts = attempts;
  }
}

/** Input that reaches a file path or the plugin environment was refused (container id, network, ifname). */
export class ValidationError extends CniError {
  /** Which input: containerId, network, ifName, pluginType, cniArgs, capabilityArgs, ... */
  readonly field: string;
  constructor(
    field: string,
    code: number,
    msg: string,
    details?: string,
    options?: { context?: ErrorContext | undefined },
  ) {
    super(code, msg, details, options);
    this.field = field;
  }
}

/** A configuration file or byte string could not be parsed or is not valid CNI configuration. */
export class ConfigError extends LibcniError {
  /** The file the configuration came from, when it came from a file. */
  readonly file: string | undefined;
  constructor(
    message: string,
    options?: { cause?: unknown; file?: string | undefined; context?: ErrorContext },
  ) {
    super(message, options);
    this.file = options?.file;
  }
}

/** No network configuration with the requested name exists in the directory. */
export class NotFoundError extends ConfigError {
  readonly dir: string;
  readonly networkName: string;
  constructor(dir: string, name: string) {
    super(`no net configuration with name "${name}" in ${dir}`);
    this.dir = dir;
    this.networkName = name;
  }
}

/** The directory holds no network configuration files at all (or does not exist). */
export class NoConfigsFoundError extends ConfigError {
  readonly dir: string;
  constructor(dir: string) {
    super(`no net configurations found in ${dir}`);
    this.dir = dir;
  }
}

/** A malformed or unsupported spec version, or a plugin/config version mismatch. */
export class VersionError extends LibcniError {}

/** A result could not be decoded, validated or converted between spec versions. */
export class ResultError extends LibcniError {}

/** The attachment cache could not be read or written. */
export class CacheError extends LibcniError {
  readonly path: string | undefined;
  /** True when the entry existed but was unreadable JSON or the wrong shape. */
  readonly corrupt: boolean;
  /** Where a corrupt entry was moved, when it was quarantined. */
  readonly quarantinedTo: string | undefined;
  constructor(
    message: string,
    options?: {
      cause?: unknown;
      path?: string | undefined;
      corrupt?: boolean;
      quarantinedTo?: string | undefined;
      context?: ErrorContext | undefined;
    },
  ) {
    super(message, options);
    this.path = options?.path;
    this.corrupt = options?.corrupt ?? false;
    this.quarantinedTo = options?.quarantinedTo;
  }
}

/**
 * An operation on a network list failed at one plugin. The message is Go's
 * (`plugin type="bridge" name="x" failed (add): <cause>`); `cause` is the underlying error.
 */
export class NetworkPluginError extends LibcniError {
  constructor(message: string, cause: Error, context: ErrorContext) {
    super(message, { cause, context });
  }
  /** The spec error code of the underlying failure, when it has one. */
  get code(): number | undefined {
    return findCniError(this)?.code;
  }
}

/** The first {@link CniError} on the `cause` chain of `err`, if any. */
export function findCniError(err: unknown): CniError | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 16 && e instanceof Error; depth++) {
    if (e instanceof CniError) return e;
    e = e.cause;
  }
  return undefined;
}

/** Several independent failures (GC collects them all). The message joins theirs, one per line, as Go's `errors.Join`. */
export class AggregateLibcniError extends LibcniError {
  readonly errors: readonly Error[];
  /**
   * `options.format`: `'lines'` (default) joins the messages one per line; `'go-slice'` gives Go's
   * `%v` of an error slice, `[msg1 msg2]` (what Go's ValidateNetworkList returns).
   */
  constructor(
    errors: readonly Error[],
    options?: { context?: ErrorContext; format?: 'lines' | 'go-slice' | undefined },
  ) {
    const messages = errors.map((e) => e.message);
    super(options?.format === 'go-slice' ? `[${messages.join(' ')}]` : messages.join('\n'), options);
    this.errors = errors;
  }
}

/**
 * JSON text is not well-formed. The message is Go's `encoding/json` wording (`unexpected end of JSON
 * input`, `invalid character 'x' looking for beginning of value`, ...) so that the messages built on
 * it match libcni's; `offset` is the UTF-16 index in the text where the scanner stopped.
 */
export class JsonSyntaxError extends LibcniError {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}

/**
 * A directory scan found a second file defining a network name that an earlier file (in load order)
 * already defined. The first one wins, as in Go libcni; this reports the one that was ignored.
 */
export class DuplicateNetworkError extends ConfigError {
  readonly networkName: string;
  /** The file whose definition was kept. */
  readonly firstFile: string;
  constructor(networkName: string, file: string, firstFile: string) {
    super(`duplicate network name "${networkName}" ignored: already defined in ${firstFile}`, { file });
    this.networkName = networkName;
    this.firstFile = firstFile;
  }
}

/**
 * A module this library needs could not be loaded (a dependency missing from the install, or left
 * out of a bundle). This is the library's own fault or its installation's, never a plugin's.
 */
export class LibraryLoadError extends LibcniError {
  /** The module specifier that failed to load. */
  readonly module: string;
  constructor(module: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.module = module;
  }
}

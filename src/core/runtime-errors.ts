/**
 * The errors of the parts that manage host resources around plugin calls: network namespaces, the
 * NetworkManager (setup rollback, readiness, container locks) and SpawnerExec's helper process.
 * Beside errors.ts, which holds the base class and the errors of configuration and plugin calls.
 */
import { type ErrorContext, findCniError, LibcniError } from './errors.ts';

/**
 * Why a network namespace operation failed:
 * - `EINVAL`: a bad name, path or option (nothing touched the disk);
 * - `EEXIST`: a namespace (or any file) with that name already exists; it was not touched;
 * - `EPERM`: the process lacks root (CAP_SYS_ADMIN);
 * - `ENOHELPER`: the helper binary (`ip`, `unshare`, `mount`, `umount`) is not installed;
 * - `EHELPER`: the helper ran and failed, usually because the kernel refused (see `helper.stderr`);
 * - `ETIMEDOUT`: the helper outlived its timeout and was killed;
 * - `ENOTNETNS`: a delete was refused because the path is not a network namespace mount;
 * - `EIO`: a file system call failed (the `cause` has the errno).
 */
export type NetnsErrorReason =
  | 'EINVAL'
  | 'EEXIST'
  | 'EPERM'
  | 'ENOHELPER'
  | 'EHELPER'
  | 'ETIMEDOUT'
  | 'ENOTNETNS'
  | 'EIO';

/** One run of a namespace helper binary, kept on the error it caused. */
export interface NetnsHelperRun {
  /** The argv that ran, the binary's absolute path first. */
  argv: readonly string[];
  exitCode: number | null;
  signal: string | null;
  /** What the helper wrote on stderr (bounded). */
  stderr: string;
}

/** Creating, deleting or inspecting a pinned network namespace failed. */
export class NetnsError extends LibcniError {
  /** The kind of failure; stable, for programs to branch on. */
  /** Why it failed; `code` is kept for the spec's numeric codes on the other classes. */
  readonly reason: NetnsErrorReason;
  /** The namespace file concerned, when known. */
  readonly path: string | undefined;
  /** The helper run that failed, when a helper was involved. */
  readonly helper: NetnsHelperRun | undefined;
  constructor(
    reason: NetnsErrorReason,
    message: string,
    options?: { cause?: unknown; path?: string | undefined; helper?: NetnsHelperRun | undefined },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
    this.path = options?.path;
    this.helper = options?.helper;
  }
}

/** What undoing a failed setup achieved: every attachment already made (and the failed one) was DELeted. */
export interface RollbackOutcome {
  /** True when every DEL of the rollback succeeded. */
  ok: boolean;
  /** The DELs that failed, newest attachment first. */
  errors: readonly Error[];
  /** The attachments whose DEL succeeded, in the order they were undone. */
  undone: ReadonlyArray<{ network: string; ifName: string }>;
}

/**
 * Attaching a container to one of its networks failed (NetworkManager.setup). `cause` is the
 * original error; `rollback` says whether undoing the attachments already made succeeded.
 */
export class SetupError extends LibcniError {
  /** The network whose attachment failed. */
  readonly network: string;
  readonly ifName: string;
  readonly rollback: RollbackOutcome;
  /** Further failures when networks were attached in parallel and more than one failed. */
  readonly otherFailures: readonly Error[];
  constructor(
    cause: Error,
    where: { containerId: string; network: string; ifName: string },
    rollback: RollbackOutcome,
    otherFailures: readonly Error[] = [],
  ) {
    const undo = rollback.ok
      ? 'rolled back'
      : `rollback failed: ${rollback.errors.map((e) => e.message).join('; ')}`;
    super(
      `error adding container ${where.containerId} to network ${JSON.stringify(where.network)} (${where.ifName}): ${cause.message} (${undo})`,
      {
        cause,
        context: {
          command: 'ADD',
          network: where.network,
          containerId: where.containerId,
          ifName: where.ifName,
        },
      },
    );
    this.network = where.network;
    this.ifName = where.ifName;
    this.rollback = rollback;
    this.otherFailures = otherFailures;
  }
  /** The spec error code of the original failure, when it has one. */
  get code(): number | undefined {
    return findCniError(this.cause)?.code;
  }
}

/**
 * NetworkManager is not ready for an ADD: fewer networks are loaded than `minNetworks`, or a network
 * requested by name is not loaded. Teardown never raises this: it works from the cache.
 */
export class NotReadyError extends LibcniError {
  readonly loaded: number;
  readonly minNetworks: number;
  /** Networks requested by name that are not loaded, or whose plugin is not installed. */
  readonly missing: readonly string[];
  constructor(message: string, loaded: number, minNetworks: number, missing: readonly string[]) {
    super(message);
    this.loaded = loaded;
    this.minNetworks = minNetworks;
    this.missing = missing;
  }
}

/** Another process held a container's advisory lock file for longer than the caller was willing to wait. */
export class LockTimeoutError extends LibcniError {
  readonly file: string;
  /** Who held it, e.g. `pid 1234`. */
  readonly holder: string;
  constructor(file: string, holder: string, options?: { context?: ErrorContext }) {
    super(`timed out waiting for lock ${file} held by ${holder}`, options);
    this.file = file;
    this.holder = holder;
  }
}

/**
 * The spawner helper process of `SpawnerExec` exited or broke its protocol. It is never thrown on
 * its own: it is the `cause` of the error of each plugin call that was affected (a
 * {@link PluginSpawnError} when the plugin never started, a {@link PluginError} when it was running
 * and its process group had to be killed).
 */
export class SpawnerError extends LibcniError {
  /** The helper's pid, when it had started. */
  readonly pid: number | undefined;
  /** Its exit status, or null when it was killed by a signal or never started. */
  readonly exitCode: number | null;
  /** The signal that ended it, if any. */
  readonly signal: string | null;
  /** The end of what it wrote on stderr (bounded). */
  readonly stderr: string;
  constructor(
    message: string,
    info: { pid: number | undefined; exitCode: number | null; signal: string | null; stderr: string },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.pid = info.pid;
    this.exitCode = info.exitCode;
    this.signal = info.signal;
    this.stderr = info.stderr;
  }
}

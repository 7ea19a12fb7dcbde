/**
 * This package's Node-API addon, `native/build/cni_spawn.node` (native/cni-spawn-addon.c), built by
 * `npm ci` and shipped prebuilt for linux-x64. Two layers use it: invoke/ starts plugins with its
 * `spawn` (posix_spawn, no fork of Node), cache/ replaces entries with its `renameExchange`. Both
 * work without it (child_process or the helper process; a plain rename), so failing to load it is
 * never an error, only one `NODE_DEBUG=libcni` line.
 *
 * `LIBCNI_NATIVE_SPAWNER=off` keeps every native part out of the process: no addon, no helper.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { debuglog } from 'node:util';

const debug = debuglog('libcni');

/** Environment variable: `off` (no native code), `helper` (the helper process), or a helper binary's path. */
export const NATIVE_SPAWNER_ENV = 'LIBCNI_NATIVE_SPAWNER';

/** `callback(kind, status, stdout, stderr)` of a spawn (the addon's header comment says when each comes). */
export type AddonCallback = (kind: number, status: number, stdout?: Buffer, stderr?: Buffer) => void;

/** What the addon exports. */
export interface NativeBinding {
  /**
   * The plugin's pid, or -errno when it could not be started. `env`: `K=V` strings, or where
   * {@link envBlock} is true, one block of them, each ending in NUL.
   */
  spawn(
    path: string,
    env: string[] | Uint8Array,
    stdin: Uint8Array,
    maxStdout: number,
    maxStderr: number,
    callback: AddonCallback,
  ): number;
  /** `spawn` takes the environment as one block. Absent from addons built before it. */
  envBlock?: boolean | undefined;
  /** Swap two names (renameat2 RENAME_EXCHANGE): 0 or -errno. Absent from addons built before it. */
  renameExchange?: ((from: string, to: string) => number) | undefined;
}

/** The addon this package builds (the same from src/ and dist/). */
export function defaultNativeAddonPath(): string {
  return fileURLToPath(new URL('../../native/build/cni_spawn.node', import.meta.url));
}

/** Load the addon at `file`; throws what loading throws (missing file, wrong architecture or libc, ...). */
export function loadNativeBinding(file: string): NativeBinding {
  const mod = createRequire(import.meta.url)(file) as Partial<NativeBinding> | undefined;
  if (typeof mod?.spawn !== 'function') throw new Error(`${file} is not the cni_spawn addon`);
  return mod as NativeBinding;
}

let shared: { binding: NativeBinding | undefined } | undefined;

/**
 * The addon at its default path, loaded on first use (Node's require keeps one instance per path,
 * so this and NativeExec share it); undefined when it cannot be loaded or native code is off.
 */
export function sharedNativeBinding(): NativeBinding | undefined {
  if (shared !== undefined) return shared.binding;
  shared = { binding: undefined };
  if (process.env[NATIVE_SPAWNER_ENV] === 'off') return undefined;
  const file = defaultNativeAddonPath();
  try {
    shared.binding = loadNativeBinding(file);
  } catch (err) {
    debug('native addon unavailable (cannot load %s: %s)', file, (err as Error).message);
  }
  return shared.binding;
}

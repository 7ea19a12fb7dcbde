/**
 * The inputs Go's cnitool takes from its environment, read with its exact rules: NETCONFPATH,
 * CNI_PATH, CNI_IFNAME, CNI_ARGS, CAP_ARGS, the container id derived from the netns path, and (ours)
 * CNI_CONTAINERID and CNI_CACHE_DIR. Pure functions: every check here runs before any plugin does.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { ErrorCode, ValidationError } from '../core/errors.ts';
import { validateContainerId, validateInterfaceName } from '../types/validate.ts';

/** The environment as cnitool reads it. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Go cnitool's config directory when NETCONFPATH is unset or empty. */
export const DEFAULT_NETCONFPATH = '/etc/cni/net.d';
/** Go libcni's cache directory (libcni.CacheDir). */
export const DEFAULT_CACHE_DIR = '/var/lib/cni';
/** Go cnitool's interface name when CNI_IFNAME is unset. */
export const DEFAULT_IFNAME = 'eth0';

/** The directory network configs are loaded from. */
export function netConfPath(env: Env): string {
  return env.NETCONFPATH || DEFAULT_NETCONFPATH;
}

/**
 * The plugin search path: CNI_PATH split on ':' as Go's filepath.SplitList does (an empty or unset
 * variable is no directories at all, which libcni reports when it looks for a plugin).
 */
export function cniPath(env: Env): string[] {
  const v = env.CNI_PATH;
  return v ? v.split(':') : [];
}

/** The cache directory: the --cache-dir flag, else CNI_CACHE_DIR, else /var/lib/cni. */
export function cacheDirOf(flag: string | undefined, env: Env): string {
  return flag ?? (env.CNI_CACHE_DIR || DEFAULT_CACHE_DIR);
}

/**
 * The interface name: the --ifname flag, else CNI_IFNAME, else eth0. As in Go, eth0 applies only
 * when the variable is unset: set but empty is an error ("interface name is empty"), as is any name
 * the kernel would refuse. Throws {@link ValidationError}.
 */
export function ifNameOf(flag: string | undefined, env: Env): string {
  const name = flag ?? env.CNI_IFNAME ?? DEFAULT_IFNAME;
  validateInterfaceName(name);
  return name;
}

/**
 * CNI_ARGS with Go cnitool's strict rule: `K=V;K=V`, each pair splitting on '=' into exactly two
 * non-empty parts (so a value containing '=' is refused). Empty or unset: no args.
 */
export function parseCniArgs(text: string | undefined): Array<[string, string]> | undefined {
  if (!text) return undefined;
  const out: Array<[string, string]> = [];
  for (const pair of text.split(';')) {
    const kv = pair.split('=');
    if (kv.length !== 2 || !kv[0] || !kv[1]) {
      throw new ValidationError(
        'cniArgs',
        ErrorCode.InvalidEnvironmentVariables,
        `invalid CNI_ARGS pair ${goQuoted(pair)}`,
      );
    }
    out.push([kv[0], kv[1]]);
  }
  return out;
}

/**
 * CAP_ARGS: a JSON object of capability arguments. Empty or unset: none. JSON `null` is accepted
 * as none, as Go's json.Unmarshal into a map accepts it; anything else that is not an object fails.
 */
export function parseCapArgs(text: string | undefined): Record<string, unknown> | undefined {
  if (!text) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ValidationError(
      'capabilityArgs',
      ErrorCode.InvalidEnvironmentVariables,
      `invalid CAP_ARGS: not JSON: ${(e as Error).message}`,
    );
  }
  if (value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    const kind = Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    throw new ValidationError(
      'capabilityArgs',
      ErrorCode.InvalidEnvironmentVariables,
      `invalid CAP_ARGS: must be a JSON object, got ${kind}`,
    );
  }
  return value as Record<string, unknown>;
}

/**
 * The container id Go's cnitool derives from a netns path: "cnitool-" and the hex of the first 10
 * bytes of sha512(absolute path). `absNetns` must already be absolute (see {@link absoluteNetns}).
 */
export function cnitoolContainerId(absNetns: string): string {
  return `cnitool-${createHash('sha512').update(absNetns).digest().subarray(0, 10).toString('hex')}`;
}

/**
 * Go's filepath.Abs: join with the working directory and clean (`.`, `..`, duplicate and trailing
 * slashes); symlinks are not resolved. path.resolve does exactly that.
 */
export function absoluteNetns(netns: string, cwd: string): string {
  return path.resolve(cwd, netns);
}

/** CNI_CONTAINERID when set and non-empty (validated), else the id derived from the netns path. */
export function containerIdOf(absNetns: string, env: Env): string {
  const id = env.CNI_CONTAINERID || cnitoolContainerId(absNetns);
  validateContainerId(id);
  return id;
}

/** What add/check/del hand to the library, all validated. */
export interface AttachmentInputs {
  containerId: string;
  netns: string;
  ifName: string;
  args: Array<[string, string]> | undefined;
  capabilityArgs: Record<string, unknown> | undefined;
}

/**
 * Read everything add/check/del need from the environment, in Go cnitool's order (CAP_ARGS,
 * CNI_ARGS, interface name, netns path), so the first problem reported is the one Go would report.
 */
export function attachmentInputs(
  netnsArg: string,
  ifnameFlag: string | undefined,
  env: Env,
  cwd: string,
): AttachmentInputs {
  const capabilityArgs = parseCapArgs(env.CAP_ARGS);
  const args = parseCniArgs(env.CNI_ARGS);
  const ifName = ifNameOf(ifnameFlag, env);
  if (netnsArg === '') {
    throw new ValidationError('netns', ErrorCode.InvalidNetNS, 'the netns path is empty');
  }
  const netns = absoluteNetns(netnsArg, cwd);
  return { containerId: containerIdOf(netns, env), netns, ifName, args, capabilityArgs };
}

/** Go's %q for the strings CNI_ARGS can hold (printable text): JSON quoting matches it there. */
function goQuoted(s: string): string {
  return JSON.stringify(s);
}

/** One `<containerId>:<ifName>` pair given to gc. */
export interface GcPair {
  containerId: string;
  ifName: string;
}

/** Parse gc's `<containerId>:<ifName>` arguments; each part is validated as ADD would. */
export function parseGcPairs(items: readonly string[]): GcPair[] {
  return items.map((item) => {
    const parts = item.split(':');
    if (parts.length !== 2 || !parts[0] || !parts[1]) {
      const hint = item.includes('/')
        ? " (Go's cnitool takes a netns path here and deletes every attachment; for that, pass --all)"
        : '';
      throw new ValidationError(
        'validAttachments',
        ErrorCode.InvalidEnvironmentVariables,
        `gc: ${JSON.stringify(item)} is not <containerId>:<ifName>${hint}`,
      );
    }
    const [containerId, ifName] = parts as [string, string];
    validateContainerId(containerId);
    validateInterfaceName(ifName);
    return { containerId, ifName };
  });
}

/**
 * Validation of the values that reach file paths and plugin environments: container id, network
 * name and interface name, with Go's `pkg/utils` codes and messages.
 */
import { type ErrorContext, ErrorCode, ValidationError } from '../core/errors.ts';

const SAFE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** Go's unicode.IsSpace set. */
const UNICODE_SPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;

/** Linux IFNAMSIZ - 1. */
export const MAX_IFNAME_BYTES = 15;

// Go's two checks of a name, with their codes and texts: empty, then characters outside the safe set.
const NAME_RULES = {
  containerId: {
    empty: [ErrorCode.UnknownContainer, 'missing containerID'],
    unsafe: [ErrorCode.InvalidEnvironmentVariables, 'invalid characters in containerID'],
  },
  network: {
    empty: [ErrorCode.InvalidNetworkConfig, 'missing network name:'],
    unsafe: [ErrorCode.InvalidNetworkConfig, 'invalid characters found in network name'],
  },
} as const;

function requireSafeName(
  field: keyof typeof NAME_RULES,
  value: string,
  context: ErrorContext | undefined,
): void {
  const rule = NAME_RULES[field];
  if (value === '') throw new ValidationError(field, rule.empty[0], rule.empty[1], undefined, { context });
  if (!SAFE_NAME.test(value))
    throw new ValidationError(field, rule.unsafe[0], rule.unsafe[1], value, { context });
}

// Each check below takes the context of the call it guards, for the error it raises.

/** Refuse an empty container id (code 3) or one with characters outside `[a-zA-Z0-9_.-]` (code 4). */
export function validateContainerId(id: string, context?: ErrorContext): void {
  requireSafeName('containerId', id, context);
}

/** Refuse an empty network name or one with characters outside `[a-zA-Z0-9_.-]` (code 7). */
export function validateNetworkName(name: string, context?: ErrorContext): void {
  requireSafeName('network', name, context);
}

/** Refuse an interface name the kernel would refuse or that could escape a path (code 4). */
export function validateInterfaceName(ifName: string, context?: ErrorContext): void {
  const code = ErrorCode.InvalidEnvironmentVariables;
  const opts = { context };
  if (ifName === '') throw new ValidationError('ifName', code, 'interface name is empty', undefined, opts);
  if (Buffer.byteLength(ifName, 'utf8') > MAX_IFNAME_BYTES) {
    throw new ValidationError(
      'ifName',
      code,
      'interface name is too long',
      `interface name should be less than ${MAX_IFNAME_BYTES + 1} characters`,
      opts,
    );
  }
  if (ifName === '.' || ifName === '..')
    throw new ValidationError('ifName', code, 'interface name is . or ..', undefined, opts);
  if (ifName.includes('/') || ifName.includes(':') || UNICODE_SPACE.test(ifName)) {
    throw new ValidationError(
      'ifName',
      code,
      'interface name contains / or : or whitespace characters',
      undefined,
      opts,
    );
  }
}

/** True when `s` is safe as one path component made of `[a-zA-Z0-9_.-]`, not starting with a dot. */
export function isSafeName(s: string): boolean {
  return SAFE_NAME.test(s);
}

/**
 * Refuse values that would let a cache file path escape its directory even where Go does not
 * validate (DEL, cache reads): path separators, NUL, `.`/`..` and over-long names.
 */
export function assertPathComponent(field: string, value: string, context?: ErrorContext): void {
  if (
    value === '' ||
    value === '.' ||
    value === '..' ||
    value.includes('/') ||
    value.includes('\0') ||
    Buffer.byteLength(value, 'utf8') > 255
  ) {
    throw new ValidationError(
      field,
      ErrorCode.InvalidEnvironmentVariables,
      `invalid ${field}: must be a non-empty file name component without "/" or NUL`,
      JSON.stringify(value),
      { context },
    );
  }
}

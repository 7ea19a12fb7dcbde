/**
 * Names of pinned network namespaces. A name becomes a file name in the namespace directory and an
 * argument to `ip netns`, so it is checked before anything touches the disk.
 */
import { randomBytes } from 'node:crypto';
import { NetnsError } from '../core/runtime-errors.ts';

/** The longest name accepted. */
export const MAX_NETNS_NAME_LENGTH = 64;

// A safe file name: no '/', no leading '.' or '-' (so never '.', '..' or something `ip` reads as an option).
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** True when `name` is a safe namespace file name: `^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`, at most 64 characters. */
export function isValidNetnsName(name: string): boolean {
  return name.length <= MAX_NETNS_NAME_LENGTH && NAME_RE.test(name);
}

/** Throws a {@link NetnsError} (`EINVAL`) unless {@link isValidNetnsName} accepts `name`. */
export function validateNetnsName(name: string): void {
  if (!isValidNetnsName(name)) {
    throw new NetnsError(
      'EINVAL',
      `invalid network namespace name ${JSON.stringify(name)}: it must match ${NAME_RE.source} and be at most ${MAX_NETNS_NAME_LENGTH} characters`,
    );
  }
}

/** A fresh random name: `cni-` and 16 hex digits (64 random bits). */
export function randomNetnsName(): string {
  return `cni-${randomBytes(8).toString('hex')}`;
}

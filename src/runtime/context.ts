/**
 * What the parts of a {@link NetworkManager} share, handed to each of them explicitly: the CNI
 * object, the manager's options, the way to emit events, and the names the parts have in common.
 * No part reaches into another's state; each gets this context, and what else it needs, by
 * argument.
 */
import type { CNI } from '../cni/types.ts';
import type { NetworkConfigList } from '../config/types.ts';
import type { NetworkSet } from './network-set.ts';
import type { NetworkManagerEvents, NetworkManagerOptions } from './types.ts';

/**
 * The CNI object as the parts see it: the {@link CNI} interface, so that what the manager needs
 * from libcni is declared in one place and a fake can stand in for it.
 */
export type Cni = CNI;

/** The manager's options: the caller's object as given (read when used), plus the resolved defaults. */
export interface ResolvedOptions {
  /** The caller's options object itself. */
  readonly raw: NetworkManagerOptions;
  /** The directory read; undefined when the configurations are given (`configs`). */
  readonly confDir: string | undefined;
  /** The configurations given instead of a directory (a copy of the array). */
  readonly configs: readonly NetworkConfigList[] | undefined;
  /** Where the networks come from, for messages: the directory, or `the configs given`. */
  readonly origin: string;
  readonly interfacePrefix: string;
  readonly minNetworks: number;
}

/** Emit an event without letting a throwing listener break the operation that emits it. */
export type Notify = <K extends keyof NetworkManagerEvents>(
  event: K,
  ...args: NetworkManagerEvents[K]
) => void;

/** Where the current network set comes from (the config source), as the other parts need it. */
export interface SetSource {
  /** The set loaded last. */
  readonly current: NetworkSet;
  /** Resolves once the first load has finished. */
  ensureLoaded(): Promise<unknown>;
}

/** The context every part receives. */
export interface PartContext {
  readonly cni: Cni;
  readonly options: ResolvedOptions;
  readonly notify: Notify;
  readonly config: SetSource;
}

/** Default deadline for a rollback or for the DELs of a GC when the caller gives none. */
export const DEFAULT_CLEANUP_TIMEOUT_MS = 60_000;

export function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

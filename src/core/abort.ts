/**
 * Aborts: the one error every public call rejects with when its AbortSignal fires, and the
 * helpers that turn a fired signal into it. Apart from errors.ts so that file stays about the
 * errors of configuration and plugin calls.
 */
import { type ErrorContext, LibcniError } from './errors.ts';

/**
 * The caller's AbortSignal cancelled an operation: before it started, while it waited its turn
 * (behind another operation on the same container or namespace name), or while a plugin ran (its
 * process group was killed). One class for all of them, so `err.name === 'AbortError'` (the name
 * DOM and Node give aborts) and `instanceof AbortError` both hold. `cause` is the signal's reason;
 * `interrupted` is the error the operation ended with when the abort stopped it half-way (a
 * `NetworkPluginError` whose cause is the `PluginAbortedError`, or a setup's
 * `SetupError` with its rollback).
 */
export class AbortError extends LibcniError {
  readonly interrupted: Error | undefined;
  constructor(
    reason: unknown,
    options?: { interrupted?: Error | undefined; context?: ErrorContext | undefined },
  ) {
    const why =
      reason instanceof Error
        ? reason.message
        : typeof reason === 'string' || typeof reason === 'number'
          ? String(reason)
          : '';
    const what = options?.interrupted ? `: ${options.interrupted.message}` : '';
    super(`operation aborted${why === '' ? '' : ` (${why})`}${what}`, {
      cause: reason,
      context: options?.context,
    });
    this.name = 'AbortError';
    this.interrupted = options?.interrupted;
  }
}

/** Throw an {@link AbortError} when `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, context?: ErrorContext): void {
  if (signal?.aborted) throw new AbortError(signal.reason, { context });
}

/**
 * Run a public operation under `signal`: refused at once when it has already fired, and any
 * failure once it has fired is reported as an {@link AbortError} (keeping the failure as
 * `interrupted`), since the abort is what ended it.
 */
export async function underSignal<T>(
  signal: AbortSignal | undefined,
  context: ErrorContext | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  throwIfAborted(signal, context);
  try {
    return await fn();
  } catch (e) {
    if (e instanceof AbortError || signal?.aborted !== true) throw e;
    throw new AbortError(signal.reason, { interrupted: e instanceof Error ? e : undefined, context });
  }
}

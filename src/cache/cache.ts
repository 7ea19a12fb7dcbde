/**
 * The attachment cache, one file per (network, container, interface) under `<cacheDir>/results/`:
 * the entry format (entry.ts), the files (store.ts) and what a read means to each operation
 * (reads.ts). This module gathers their public names.
 */
export * from './entry.ts';
export { type QuarantineInfo, type QuarantineListener, ResultCache } from './store.ts';
export * from './reads.ts';

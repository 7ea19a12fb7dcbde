export * from './types/errors.ts';

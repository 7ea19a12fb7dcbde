/**
 * Small statistics and timing helpers shared by the benchmark sections.
 */
import { spawn } from 'node:child_process';

/** Milliseconds since an arbitrary origin, sub-microsecond resolution. */
export function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Nearest-rank quantile of `xs` (0 ≤ q ≤ 1); NaN for an empty list. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
}

export const median = (xs: readonly number[]): number => quantile(xs, 0.5);
export const p99 = (xs: readonly number[]): number => quantile(xs, 0.99);
export const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** Run `fn(i)` for i in [0, n) with at most `width` in flight; returns each call's duration (ms). */
export async function pool(n: number, width: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const times = new Array<number>(n);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      const t0 = now();
      await fn(i);
      times[i] = now() - t0;
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, worker));
  return times;
}

/**
 * The floor every exec figure is compared with: a plain `child_process.spawn`, stdin written,
 * stdout collected, resolved on 'close' with exit 0. No process group, no timeout, no bounds.
 */
export function bareSpawn(file: string, stdin: Uint8Array, env: Record<string, string>): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.stdin.on('error', () => undefined); // EPIPE from plugins that do not read stdin
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`${file} exited ${String(code)}: ${Buffer.concat([...out, ...err]).toString()}`));
    });
    child.stdin.end(stdin);
  });
}

/** The environment a plugin gets for `command`: ours minus inherited CNI_*, plus the request's. */
export function pluginEnv(command: string, extra?: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('CNI_')) env[k] = v;
  env.CNI_COMMAND = command;
  return { ...env, ...extra };
}

/** `x` with `digits` decimals, or `-` when not a finite number. */
export function fmt(x: number | undefined, digits = 2): string {
  return x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits);
}

/**
 * Result rows, the console table and the markdown table of a benchmark run.
 */
import os from 'node:os';
import { fmt } from './stats.ts';

/** One reported figure, always next to the floor it is compared with (measured in the same run). */
export interface Row {
  section: string;
  metric: string;
  value: number;
  unit: 'ms' | 'MB' | 'calls/s' | 'x';
  /** The floor's figure, in the same unit. */
  floor?: number | undefined;
  floorLabel?: string | undefined;
  /** value / floor. */
  ratio?: number | undefined;
  /** value − floor. */
  delta?: number | undefined;
  /** Human-readable target, when the brief sets one. */
  target?: string | undefined;
  pass?: boolean | undefined;
  note?: string | undefined;
}

/** A row compared with its floor: ratio and delta filled in. */
export function versus(row: Omit<Row, 'ratio' | 'delta'>): Row {
  const out: Row = { ...row };
  if (row.floor !== undefined && row.floor !== 0) {
    out.ratio = row.value / row.floor;
    out.delta = row.value - row.floor;
  }
  return out;
}

export interface Machine {
  node: string;
  os: string;
  cpus: string;
  memory: string;
  loadAvgAtStart: string;
  plugins: string;
}

export function describeMachine(plugins: string): Machine {
  const cpus = os.cpus();
  return {
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    cpus: `${String(cpus.length)} x ${cpus[0]?.model ?? 'unknown'}`,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    loadAvgAtStart: os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
    plugins,
  };
}

function cells(r: Row): string[] {
  const digits = r.unit === 'calls/s' ? 0 : r.unit === 'MB' ? 1 : 2;
  return [
    r.section,
    r.metric,
    `${fmt(r.value, digits)} ${r.unit}`,
    r.floor === undefined ? '' : `${fmt(r.floor, digits)}${r.floorLabel ? ` (${r.floorLabel})` : ''}`,
    r.ratio === undefined ? '' : `${fmt(r.ratio, 3)}x`,
    r.delta === undefined ? '' : `${r.delta >= 0 ? '+' : ''}${fmt(r.delta, digits)}`,
    r.target ?? '',
    r.pass === undefined ? '' : r.pass ? 'yes' : 'NO',
    r.note ?? '',
  ];
}

const HEAD = ['section', 'metric', 'value', 'floor', 'ratio', 'delta', 'target', 'met', 'note'];

/** A fixed-width text table for the console. */
export function textTable(rows: readonly Row[]): string {
  const all = [HEAD, ...rows.map(cells)];
  const widths = HEAD.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] as number))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The same rows as a GitHub markdown table. */
export function markdownTable(rows: readonly Row[]): string {
  const esc = (s: string): string => s.replaceAll('|', '\\|');
  const lines = [`| ${HEAD.join(' | ')} |`, `|${HEAD.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${cells(r).map(esc).join(' | ')} |`);
  return lines.join('\n');
}

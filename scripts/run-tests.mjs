#!/usr/bin/env node
// Runs every test file with node:test through tsx. Node 20's --test does not expand globs, so the
// files are listed here. Arguments narrow the run: `npm test -- unit` runs files whose path contains "unit".
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { restoreHostState, saveHostState } from './host-state.mjs';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);

function walk(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const files = walk(join(root, 'test'))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error(`run-tests: no test files match ${filters.join(' ')}`);
  process.exit(1);
}
console.log(`run-tests: node ${process.version}, ${files.length} files`);
const hostState = saveHostState();
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], {
  cwd: root,
  stdio: 'inherit',
});
for (const note of restoreHostState(hostState)) console.log(`run-tests: ${note}`);
process.exit(r.status ?? 1);

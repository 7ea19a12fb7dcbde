#!/usr/bin/env node
// Runs every test file with node:test through tsx. Node 20's --test does not expand globs, so the
// files are listed here. Arguments narrow the run: `npm test -- unit` runs files whose path contains "unit".
// Tests that need a link type this host's kernel lacks run in the kernel lane (./kernel-lane/).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { restoreHostState, saveHostState } from './host-state.mjs';
import { planLane, runLane } from './kernel-lane/plan.mjs';

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
const lane = planLane(root, files);
for (const line of lane.notes) console.log(`run-tests: ${line}`);
if (lane.problem) console.error(`\n*** run-tests: ${lane.problem} ***\n`);
const hostState = saveHostState();
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, LIBCNI_KERNEL_LANE_KINDS: lane.ready ? lane.kinds.join(',') : '' },
});
for (const note of restoreHostState(hostState)) console.log(`run-tests: ${note}`);
let status = r.status ?? 1;
if (lane.ready) {
  const laneStatus = await runLane(root, lane);
  if (status === 0) status = laneStatus;
}
if (lane.problem) {
  console.error(`\n*** run-tests: FAILED: ${lane.problem} ***\n`);
  status = 1;
}
process.exit(status);

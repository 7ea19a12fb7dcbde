#!/usr/bin/env node
// Builds the native plugin spawner (native/cni-spawn.c → native/build/cni-spawn), run by `npm ci`
// (the `install` script) and by `prepack` (the binary ships in the npm tarball for linux-x64).
// Static when libc's static archive is there (a prebuilt binary then runs on any Linux of that
// architecture), else dynamic. Without a compiler it logs and exits 0: the library then uses
// DefaultExec (src/invoke/native-exec.ts). `--required` (prepack) makes a failed build an error.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = `${root}native/cni-spawn.c`;
const outDir = `${root}native/build`;
const out = `${outDir}/cni-spawn`;
const required = process.argv.includes('--required');

function fail(msg) {
  console.error(`build-native: ${msg}; plugins will be started by Node's child_process (DefaultExec)`);
  process.exit(required ? 1 : 0);
}

if (process.platform !== 'linux') fail(`not built on ${process.platform}`);
if (!existsSync(src)) {
  // Installed from the tarball: the prebuilt binary is used as it is.
  process.exit(0);
}
const cc = process.env.CC || 'cc';
mkdirSync(outDir, { recursive: true });
const tmp = `${out}.${process.pid}.tmp`;
const flags = ['-O2', '-Wall', '-o', tmp, src];
let r = spawnSync(cc, ['-static', ...flags], { stdio: ['ignore', 'ignore', 'pipe'] });
if (r.error === undefined && r.status !== 0)
  r = spawnSync(cc, flags, { stdio: ['ignore', 'ignore', 'pipe'] });
if (r.error !== undefined) fail(`no C compiler (${cc}: ${r.error.message})`);
if (r.status !== 0) {
  rmSync(tmp, { force: true });
  fail(`${cc} failed:\n${r.stderr.toString()}`);
}
renameSync(tmp, out);
console.log(`build-native: built ${out}`);

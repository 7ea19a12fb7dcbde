#!/usr/bin/env node
// Builds NativeExec's two native parts (src/invoke/native-exec.ts), run by `npm ci` (the `prepare`
// script) and by `prepack` (both ship in the npm tarball for linux-x64):
//   native/cni-spawn-addon.c → native/build/cni_spawn.node, the Node-API addon (the default);
//   native/cni-spawn.c       → native/build/cni-spawn, the helper process (static when libc's
//                              static archive is there, so a prebuilt one runs on any Linux of that
//                              architecture, whatever its libc).
// The addon needs no Node headers (native/node-abi.h declares what it uses); where Node's headers
// are installed, they are used first to check those declarations, and a mismatch fails the build.
// Without a compiler it logs and exits 0: the library then uses DefaultExec. `--required`
// (prepack) makes any failure an error.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = `${root}native/build`;
const required = process.argv.includes('--required');
const cc = process.env.CC || 'cc';
let failed = false;

function fail(what, msg) {
  console.error(`build-native: ${what}: ${msg}`);
  failed = true;
}

/** Runs the compiler; undefined on success, else why not. */
function compile(args) {
  const r = spawnSync(cc, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.error !== undefined) return `no C compiler (${cc}: ${r.error.message})`;
  return r.status === 0 ? undefined : `${cc} failed:\n${r.stderr.toString()}`;
}

/** Builds `out` with each flag set in turn until one works. */
function build(what, src, out, flagSets) {
  const tmp = `${out}.${process.pid}.tmp`;
  let why;
  for (const flags of flagSets) {
    why = compile([...flags, '-o', tmp, src]);
    if (why === undefined) {
      renameSync(tmp, out);
      console.log(`build-native: built ${out}`);
      return;
    }
    if (why.startsWith('no C compiler')) break;
  }
  rmSync(tmp, { force: true });
  fail(what, why);
}

if (process.platform !== 'linux') {
  console.error(`build-native: not built on ${process.platform}; plugins will be started by child_process`);
  process.exit(required ? 1 : 0);
}
if (!existsSync(`${root}native/cni-spawn.c`)) process.exit(0); // installed from the tarball: prebuilt
mkdirSync(outDir, { recursive: true });

const base = ['-O2', '-Wall'];
build('helper', `${root}native/cni-spawn.c`, `${outDir}/cni-spawn`, [['-static', ...base], base]);

const addonSrc = `${root}native/cni-spawn-addon.c`;
const nodeHeaders = path.join(path.dirname(process.execPath), '..', 'include', 'node');
const checkWhy = existsSync(path.join(nodeHeaders, 'node_api.h'))
  ? compile([...base, '-fsyntax-only', '-DLIBCNI_WITH_NODE_HEADERS', `-I${nodeHeaders}`, addonSrc])
  : undefined;
if (checkWhy !== undefined && !checkWhy.startsWith('no C compiler'))
  fail('addon', `native/node-abi.h disagrees with Node's headers in ${nodeHeaders}:\n${checkWhy}`);
else build('addon', addonSrc, `${outDir}/cni_spawn.node`, [[...base, '-shared', '-fPIC']]);

if (failed) {
  console.error('build-native: what was not built is skipped at run time (NativeExec falls back)');
  process.exit(required ? 1 : 0);
}

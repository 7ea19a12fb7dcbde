#!/usr/bin/env node
// Runs one command inside the kernel lane's guest (see setup.sh): qemu with TCG boots Debian's
// kernel, the guest mounts the host's / over virtio-9p and runs the command from the same checkout,
// with its own /proc, /sys, /dev and /run (so links and namespaces stay in the guest). Output and
// exit status come back through files in a per-run dir under /tmp, removed afterwards; qemu runs
// under `timeout -k`, so a hung guest cannot hang the caller.
//
//   node scripts/kernel-lane/run.mjs [--timeout SECONDS] -- COMMAND [ARG...]
//
// Exits with the command's status. Used by scripts/run-tests.mjs for the tests that need a link
// type the host's kernel lacks.
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { clearInterval, setInterval } from 'node:timers';

const HERE = path.dirname(new URL(import.meta.url).pathname);
export const LANE_CACHE = process.env.LIBCNI_LANE_CACHE ?? '/var/cache/libcni-kernel-lane';
const SETUP = 'scripts/kernel-lane/setup.sh';

/** The lane is not usable: the message names what is missing and how to get it. */
export class LaneUnavailable extends Error {}

function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** The kernel and initramfs setup.sh prepared; throws LaneUnavailable naming what is missing. */
export function laneConfig() {
  const missing = [];
  if (!onPath('qemu-system-x86_64')) missing.push('qemu-system-x86_64 (Debian package qemu-system-x86)');
  if (!onPath('timeout')) missing.push('timeout (Debian package coreutils)');
  const file = path.join(LANE_CACHE, 'lane.json');
  let conf;
  if (!existsSync(file)) missing.push(`${file} (the kernel and initramfs)`);
  else {
    conf = JSON.parse(readFileSync(file, 'utf8'));
    for (const k of ['kernel', 'initrd']) if (!existsSync(conf[k])) missing.push(conf[k]);
  }
  if (missing.length > 0) {
    throw new LaneUnavailable(
      `kernel lane not set up: missing ${missing.join(', ')}; run \`bash ${SETUP}\` as root`,
    );
  }
  return conf;
}

function quote(s) {
  return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

function noSpace(what, p) {
  // The kernel command line splits on whitespace.
  if (/\s/.test(p))
    throw new LaneUnavailable(`kernel lane: ${what} ${JSON.stringify(p)} contains whitespace`);
  return p;
}

function qemuArgs(conf, dir) {
  const append = [
    'console=ttyS0',
    'quiet',
    'panic=-1',
    // On a loaded host, TCG can be too slow for the kernel's IO-APIC timer check, which then panics
    // at boot ("IO-APIC + timer doesn't work"); the check is for broken hardware, not for qemu.
    'no_timer_check',
    `libcni_lane_init=${noSpace('script path', path.join(HERE, 'guest-init.sh'))}`,
    `libcni_lane_dir=${noSpace('run dir', dir)}`,
  ].join(' ');
  return [
    ...['-accel', 'tcg', '-cpu', 'max', '-smp', '1', '-m', '1024M'],
    ...['-nodefaults', '-display', 'none', '-no-reboot', '-monitor', 'none'],
    ...['-kernel', conf.kernel, '-initrd', conf.initrd, '-append', append],
    ...['-serial', `file:${path.join(dir, 'console.log')}`],
    ...['-fsdev', 'local,id=hostroot,path=/,security_model=passthrough,multidevs=remap'],
    ...['-device', 'virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot'],
  ];
}

/** Copy what the guest appended to `file` since `pos` to `sink`; returns the new position. */
function drain(file, pos, sink) {
  if (!existsSync(file)) return pos;
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size <= pos) return pos;
    const buf = Buffer.alloc(size - pos);
    const n = readSync(fd, buf, 0, buf.length, pos);
    sink(buf.subarray(0, n));
    return pos + n;
  } finally {
    closeSync(fd);
  }
}

/**
 * Run `argv` in a fresh guest, in `cwd`, with `env` added to a minimal environment (PATH, HOME,
 * TMPDIR in the run dir). Output is passed to `onOutput` as it arrives. Resolves with the exit
 * status and the whole output; rejects with LaneUnavailable when the guest cannot run or never
 * recorded a status (then the console's last lines are in the message).
 */
export async function runInLane({
  argv,
  cwd = process.cwd(),
  env = {},
  timeoutSec = 1800,
  onOutput = () => {},
}) {
  const conf = laneConfig();
  const dir = mkdtempSync('/tmp/libcni-lane-');
  const chunks = [];
  const sink = (b) => {
    chunks.push(b);
    onOutput(b);
  };
  let child;
  const forward = (sig) => child?.kill(sig);
  try {
    mkdirSync(path.join(dir, 'tmp'));
    const vars = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: '/root',
      TMPDIR: path.join(dir, 'tmp'),
      ...env,
    };
    const job = [
      `cd ${quote(cwd)} || exit 125`,
      ...Object.entries(vars).map(([k, v]) => `export ${k}=${quote(v)}`),
      `exec ${argv.map(quote).join(' ')}`,
    ];
    writeFileSync(path.join(dir, 'job.sh'), `${job.join('\n')}\n`);
    // `timeout` puts itself in its own process group, so a Ctrl-C at the terminal does not reach
    // it: forward SIGINT/SIGTERM ourselves, and it passes them on to qemu.
    process.on('SIGINT', forward).on('SIGTERM', forward);
    child = spawn('timeout', ['-k', '15', String(timeoutSec), 'qemu-system-x86_64', ...qemuArgs(conf, dir)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let qemuErr = '';
    child.stderr.on('data', (d) => {
      qemuErr += d;
    });
    const out = path.join(dir, 'output');
    let pos = 0;
    const timer = setInterval(() => {
      pos = drain(out, pos, sink);
    }, 500);
    const code = await new Promise((resolve) => child.once('close', (c, s) => resolve(c ?? s)));
    clearInterval(timer);
    drain(out, pos, sink);
    const statusFile = path.join(dir, 'status');
    if (!existsSync(statusFile)) {
      const consoleLog = path.join(dir, 'console.log');
      const tail = existsSync(consoleLog)
        ? readFileSync(consoleLog, 'utf8').split('\n').slice(-30).join('\n')
        : '';
      const why = code === 124 ? `timed out after ${timeoutSec} s` : `qemu exited with ${code}`;
      throw new LaneUnavailable(`kernel lane: the guest recorded no exit status (${why})\n${qemuErr}${tail}`);
    }
    return {
      status: Number(readFileSync(statusFile, 'utf8').trim()),
      output: Buffer.concat(chunks).toString('utf8'),
    };
  } finally {
    process.off('SIGINT', forward).off('SIGTERM', forward);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const args = process.argv.slice(2);
  let timeoutSec = 1800;
  if (args[0] === '--timeout') {
    timeoutSec = Number(args[1]);
    args.splice(0, 2);
  }
  if (args[0] === '--') args.shift();
  if (args.length === 0 || !(timeoutSec > 0)) {
    console.error('usage: node scripts/kernel-lane/run.mjs [--timeout SECONDS] -- COMMAND [ARG...]');
    process.exit(2);
  }
  try {
    const r = await runInLane({ argv: args, timeoutSec, onOutput: (b) => process.stdout.write(b) });
    process.exit(r.status);
  } catch (e) {
    console.error(e instanceof LaneUnavailable ? e.message : e);
    process.exit(1);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  await main();
}

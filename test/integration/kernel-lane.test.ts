/**
 * The kernel lane's runner (scripts/kernel-lane/run.mjs), booted once: the command runs in a guest
 * with Debian's kernel (which can create the links this host may lack), on the host's files, with
 * its own /run; its output and exit status come back; and nothing is left on the host afterwards
 * (no qemu process, no run dir). Root only; needs the lane set up (scripts/kernel-lane/setup.sh):
 * when it is not, the test fails naming what is missing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '../..');
const RUN = path.join(ROOT, 'scripts/kernel-lane/run.mjs');
const isRoot = process.getuid?.() === 0;

describe('kernel lane runner', () => {
  it('runs a command in the guest: its kernel, its own /run, output and exit status back; leaves nothing on the host', {
    skip: isRoot ? false : 'SKIPPED: needs root (qemu shares the host root read-write)',
    timeout: 900_000,
  }, () => {
    const marker = `libcni-lane-test-${process.pid}`;
    const script = [
      'uname -r',
      'echo "tmp=$TMPDIR"',
      `touch /run/${marker}`,
      'ip link add lp type veth peer name lq',
      'ip link add link lp name lx type ipvlan mode l2 && echo ipvlan-ok',
      'ip link add lv type vrf table 10 && echo vrf-ok',
      'exit 7',
    ].join('; ');
    const r = spawnSync(process.execPath, [RUN, '--timeout', '600', '--', 'sh', '-c', script], {
      encoding: 'utf8',
      timeout: 700_000,
    });
    assert.equal(r.status, 7, `the guest's exit status comes back: ${r.stdout}${r.stderr}`);
    const lines = r.stdout.trim().split('\n');
    const lane = JSON.parse(
      readFileSync(
        path.join(process.env.LIBCNI_LANE_CACHE ?? '/var/cache/libcni-kernel-lane', 'lane.json'),
        'utf8',
      ),
    ) as {
      version: string;
    };
    assert.equal(lines[0], lane.version, 'the guest runs the lane kernel');
    assert.notEqual(lines[0], os.release());
    assert.ok(lines.includes('ipvlan-ok') && lines.includes('vrf-ok'), r.stdout);
    assert.equal(existsSync(`/run/${marker}`), false, "the guest's /run is its own");
    const tmp = lines.find((l) => l.startsWith('tmp='))?.slice(4) ?? '';
    assert.match(tmp, /^\/tmp\/libcni-lane-[^/]+\/tmp$/);
    assert.equal(existsSync(path.dirname(tmp)), false, 'the run dir is removed');
    const ps = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    assert.ok(!ps.stdout.includes(path.dirname(tmp)), 'no qemu of this run is left');
    assert.equal(
      spawnSync('ip', ['link', 'show', 'lx']).status,
      1,
      "the guest's links never appear on the host",
    );
  });
});

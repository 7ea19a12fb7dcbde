// Which test files `npm test` also runs in the kernel lane, and running them there. A test file
// declares a link type it needs with `itNeedsLink('<kind>', …)` (test/plugins/lane.ts); when this
// host's kernel cannot create that kind, the file also runs in the guest, where only those tests
// are registered, and on the host those tests are left out (the host runs the rest, including the
// tests of a kernel without the kind). Where the host's kernel has every kind, the lane is unused.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LaneUnavailable, laneConfig, runInLane } from './run.mjs';

// A throwaway network namespace (unshare) per probe, so nothing is left on the host.
const PROBES = {
  ipvlan: 'ip link add p type veth peer name q && ip link add link p name x type ipvlan mode l2',
  vlan: 'ip link add p type veth peer name q && ip link add link p name x type vlan id 5',
  vrf: 'ip link add x type vrf table 10',
};

function inFreshNetns(script) {
  return (
    spawnSync('unshare', ['--net', 'sh', '-c', script], { stdio: 'ignore', timeout: 20_000 }).status === 0
  );
}

/** The link kinds each file needs, from its `itNeedsLink('<kind>'` calls. */
function kindsOf(root, file) {
  const src = readFileSync(join(root, file), 'utf8');
  return [...src.matchAll(/\bitNeedsLink\(\s*'([a-z0-9]+)'/g)].map((m) => m[1]);
}

/**
 * The lane's part of this run: `kinds` the host lacks, the `files` to run in the guest, whether the
 * lane is `ready`, or the `problem` that stops it (the run must then fail).
 */
export function planLane(root, files) {
  const plan = { kinds: [], files: [], ready: false, problem: undefined, notes: [] };
  const wanted = new Map(files.map((f) => [f, kindsOf(root, f)]));
  const all = new Set([...wanted.values()].flat());
  if (all.size === 0) return plan;
  // Without root there are no namespaces to probe in; the plugin tests skip ("needs root") anyway.
  if (process.getuid?.() !== 0 || !inFreshNetns('true')) return plan;
  for (const kind of all) {
    const probe = PROBES[kind];
    if (!probe) throw new Error(`run-tests: no kernel probe for link kind ${kind}`);
    if (!inFreshNetns(probe)) plan.kinds.push(kind);
  }
  plan.kinds.sort();
  if (plan.kinds.length === 0) return plan;
  plan.files = files.filter((f) => wanted.get(f).some((k) => plan.kinds.includes(k)));
  try {
    const conf = laneConfig();
    plan.ready = true;
    plan.notes.push(
      `this kernel cannot create ${plan.kinds.join(', ')} links: their tests run in the kernel lane ` +
        `(qemu, Debian kernel ${conf.version}) after the host run: ${plan.files.join(' ')}`,
    );
  } catch (e) {
    if (!(e instanceof LaneUnavailable)) throw e;
    plan.problem = `this kernel cannot create ${plan.kinds.join(', ')} links, and ${e.message}`;
  }
  return plan;
}

/** Run the plan's files in the guest (output streamed); returns the exit status. */
export async function runLane(root, plan) {
  console.log(`\nrun-tests: kernel lane: booting the guest for ${plan.files.join(' ')}`);
  const started = Date.now();
  try {
    const r = await runInLane({
      argv: [process.execPath, '--import', 'tsx', '--test', '--test-reporter=spec', ...plan.files],
      cwd: root,
      env: { LIBCNI_KERNEL_LANE: 'guest' },
      onOutput: (b) => process.stdout.write(b),
    });
    const secs = Math.round((Date.now() - started) / 1000);
    console.log(`run-tests: kernel lane: exit status ${r.status} after ${secs} s (boot included)`);
    return r.status;
  } catch (e) {
    if (!(e instanceof LaneUnavailable)) throw e;
    console.error(`\n*** run-tests: FAILED: ${e.message} ***\n`);
    return 1;
  }
}

/**
 * Where a plugin test that needs a link type runs. This host's kernel may lack ipvlan, 802.1Q vlan
 * or vrf; then `npm test` (scripts/run-tests.mjs) runs the tests that need them in the kernel lane
 * (a qemu guest with Debian's kernel, scripts/kernel-lane/) and the rest on the host:
 *
 * - `LIBCNI_KERNEL_LANE=guest`: this process is in the guest; only tests declared with
 *   {@link itNeedsLink} are registered here.
 * - `LIBCNI_KERNEL_LANE_KINDS=ipvlan,vlan,…` on the host: the runner runs the tests needing these
 *   kinds in the guest, so they are not registered on the host, and the tests of a kernel without
 *   them ({@link itWithoutLink}) run here.
 * - neither (a direct `node --test`, or a host whose kernel has every kind): the host's kernel is
 *   asked; a test whose kind is missing fails, saying how to run it, rather than skipping.
 *
 * scripts/run-tests.mjs finds the kinds a file needs by looking for `itNeedsLink('<kind>'` in it,
 * so write the kind literally.
 */
import assert from 'node:assert/strict';
import { it, type TestContext } from 'node:test';
import { kernelSupports } from './helpers.ts';

/** The link types the kernel lane provides. */
export type LaneKind = 'ipvlan' | 'vlan' | 'vrf';

const CONFIG: Record<LaneKind, string> = {
  ipvlan: 'CONFIG_IPVLAN',
  vlan: 'CONFIG_VLAN_8021Q',
  vrf: 'CONFIG_NET_VRF',
};

/** True inside the kernel lane's guest. */
export const inKernelLane = process.env.LIBCNI_KERNEL_LANE === 'guest';
const laneKinds = new Set((process.env.LIBCNI_KERNEL_LANE_KINDS ?? '').split(',').filter(Boolean));

const probed = new Map<LaneKind, boolean>();
function hostHas(kind: LaneKind): boolean {
  let ok = probed.get(kind);
  if (ok === undefined) {
    ok = kernelSupports(kind);
    probed.set(kind, ok);
  }
  return ok;
}

type Body = (t: TestContext) => Promise<void>;

/**
 * A test that needs the kernel to create `kind` links: registered where it runs (here, or only in
 * the guest when the runner sends `kind` to the lane); fails when no kernel here can run it.
 */
export function itNeedsLink(kind: LaneKind, name: string, fn: Body): void {
  if (inKernelLane) {
    it(name, fn);
    return;
  }
  if (laneKinds.has(kind)) return; // registered in the guest's run of this file
  it(name, async (t) => {
    if (!hostHas(kind)) {
      assert.fail(
        `this kernel cannot create ${kind} links (${CONFIG[kind]} not set): run the tests with \`npm test\`, ` +
          'which runs this one in the kernel lane (set up by scripts/kernel-lane/setup.sh)',
      );
    }
    await fn(t);
  });
}

/**
 * A test of what happens on a kernel without `kind`: runs on the host when its kernel lacks it
 * (the lane's guest has it, so never there). On a kernel that has `kind` there is nothing to test
 * and it is skipped, saying so: the full lifecycle runs instead.
 */
export function itWithoutLink(kind: LaneKind, name: string, fn: Body): void {
  if (inKernelLane) return;
  const absent = laneKinds.has(kind) || !hostHas(kind);
  if (absent) it(name, fn);
  else it(name, { skip: `this kernel supports ${kind}: the full lifecycle runs instead` }, fn);
}

/** A test that needs nothing from the lane: registered on the host only. */
export function itOnHost(name: string, fn: Body): void {
  if (!inKernelLane) it(name, fn);
}

/**
 * Concurrency with the real reference plugins (root only; skipped LOUDLY otherwise): 50 containers
 * × setup/check/teardown, 7 rounds (1,050 NetworkManager operations, 2,100 CNI operations with the
 * loopback network) at 8-way parallelism through one NetworkManager, bridge + host-local + loopback.
 *
 * Proves: every result equals what the cache holds and what the namespace shows; operations on one
 * container never overlap (also when setup, check and teardown of a container are issued at once);
 * a GC issued mid-run waits for the operations in flight and holds back new ones; and at the end no
 * namespace, link, host-local lease, cache entry or lock file is left.
 *
 * Names carry this process's pid: bridge `lch<pid%10000>`, namespaces `lch-<pid>-<n>`, subnet
 * 10.201.0.0/16, host-local dataDir and the cache in a temp dir. The after hook removes everything,
 * also after a failure, and restores ip_forward.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { existsSync, promises as fs, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CHANNELS, type OperationMessage } from '../../src/core/diagnostics.ts';
import { createNetns, deleteNetns, type NetnsHandle } from '../../src/netns/netns.ts';
import { NetworkManager } from '../../src/runtime/manager.ts';
import { ipv4AddrsIn, sh } from '../helpers/host.ts';

const PLUGIN_DIR = '/usr/lib/cni';
const CONTAINERS = 50;
const ROUNDS = 7;
const PARALLEL = 8;

const isRoot = process.getuid?.() === 0;
const missing = ['bridge', 'host-local', 'loopback'].filter((p) => !existsSync(path.join(PLUGIN_DIR, p)));
const hasIp = spawnSync('ip', ['-V']).status === 0;
const skipReason = !isRoot
  ? 'needs root for network namespaces and bridges'
  : missing.length > 0
    ? `needs the CNI plugins ${missing.join(', ')} in ${PLUGIN_DIR} (Debian package containernetworking-plugins)`
    : !hasIp
      ? 'needs ip (Debian package iproute2)'
      : undefined;
if (skipReason) console.warn(`\n*** hardening concurrency test (real plugins) SKIPPED: ${skipReason} ***\n`);

const BRIDGE = `lch${process.pid % 10000}`;
const NETWORK = 'lchnet';

function bridgePorts(): string[] {
  const r = sh(['ip', '-j', 'link', 'show', 'master', BRIDGE]);
  if (r.status !== 0) return [];
  return (JSON.parse(r.stdout || '[]') as Array<{ ifname: string }>).map((l) => l.ifname);
}

/** Run `fn` over `items` with at most `limit` at a time. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: limit }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  });
  await Promise.all(workers);
}

describe('NetworkManager under concurrency with bridge + host-local + loopback', {
  concurrency: false,
}, () => {
  let root = '';
  let ipForward: string | undefined;
  let manager: NetworkManager | undefined;
  const namespaces: NetnsHandle[] = [];

  before(async () => {
    if (skipReason) return;
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'libcni-'));
    ipForward = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8');
  });

  after(async () => {
    await manager?.close();
    for (const ns of namespaces) await deleteNetns(ns.name).catch(() => undefined);
    if (!skipReason) sh(['ip', 'link', 'del', BRIDGE]);
    if (ipForward !== undefined) writeFileSync('/proc/sys/net/ipv4/ip_forward', ipForward);
    if (root) await fs.rm(root, { recursive: true, force: true });
  });

  function skipped(t: TestContext): boolean {
    // As root, the only reasons left name a package to install: fail, do not skip.
    if (skipReason && process.getuid?.() === 0)
      assert.fail(`cannot run here: ${skipReason}; install it (the README's set-up line)`);
    if (skipReason) t.skip(`SKIPPED: ${skipReason}`);
    return skipReason !== undefined;
  }

  it(`${CONTAINERS} containers × setup/check/teardown × ${ROUNDS} rounds, ${PARALLEL}-way: serialized, consistent, no leaks`, {
    timeout: 300_000,
  }, async (t) => {
    if (skipped(t)) return;
    const confDir = path.join(root, 'net.d');
    const ipamDir = path.join(root, 'ipam');
    const cacheDir = path.join(root, 'cache');
    await fs.mkdir(confDir);
    await fs.writeFile(
      path.join(confDir, '10-lch.conflist'),
      JSON.stringify({
        cniVersion: '1.0.0',
        name: NETWORK,
        plugins: [
          {
            type: 'bridge',
            bridge: BRIDGE,
            isGateway: true,
            ipMasq: false,
            ipam: { type: 'host-local', dataDir: ipamDir, ranges: [[{ subnet: '10.201.0.0/16' }]] },
          },
        ],
      }),
    );
    // A Linux bridge without an address of its own takes the lowest MAC among its ports, so it
    // changes while other containers join and leave; the bridge plugin's CHECK compares it with the
    // MAC cached at ADD and then fails ("Bridge interface ... Mac doesn't match"). Runtimes pin the
    // bridge address; so does this test: create the bridge first, with a fixed address.
    const mac = `02:00:${[
      (process.pid >> 24) & 255,
      (process.pid >> 16) & 255,
      (process.pid >> 8) & 255,
      process.pid & 255,
    ]
      .map((b) => b.toString(16).padStart(2, '0'))
      .join(':')}`;
    for (const args of [
      ['link', 'add', BRIDGE, 'type', 'bridge'],
      ['link', 'set', BRIDGE, 'address', mac],
      ['link', 'set', BRIDGE, 'up'],
    ]) {
      const r = sh(['ip', ...args]);
      assert.equal(r.status, 0, `ip ${args.join(' ')}: ${r.stderr}`);
    }
    for (let i = 0; i < CONTAINERS; i++) namespaces.push(await createNetns(`lch-${process.pid}-${i}`));
    const m = new NetworkManager({
      confDir,
      pluginDirs: [PLUGIN_DIR],
      cacheDir,
      loopback: true,
      timeoutMs: 60_000,
    });
    manager = m;
    await m.start();
    const ids = namespaces.map((_, i) => `lch-ctr-${i}`);

    // Watch every CNI operation: per container at most one at a time, none at all during a GC.
    const inFlight = new Map<string, number>();
    let total = 0;
    let maxTotal = 0;
    let cniOps = 0;
    let gcOpen = false;
    const violations: string[] = [];
    const onStart = (msg: unknown) => {
      const op = msg as OperationMessage;
      if (op.command === 'GC') {
        if (total > 0) violations.push(`GC started with ${total} operations in flight`);
        gcOpen = true;
        return;
      }
      if (gcOpen) violations.push(`${op.command} ${op.containerId} started during GC`);
      const n = (inFlight.get(op.containerId) ?? 0) + 1;
      if (n > 1) violations.push(`${op.command} ${op.containerId} overlapped another operation on it`);
      inFlight.set(op.containerId, n);
      total++;
      maxTotal = Math.max(maxTotal, total);
    };
    const onEnd = (msg: unknown) => {
      const op = msg as OperationMessage;
      if (op.command === 'GC') return;
      cniOps++;
      inFlight.set(op.containerId, (inFlight.get(op.containerId) ?? 1) - 1);
      total--;
    };
    // A TracingChannel's events are the channels `tracing:<name>:<phase>`.
    subscribe(`tracing:${CHANNELS.operation}:start`, onStart);
    subscribe(`tracing:${CHANNELS.operation}:asyncEnd`, onEnd);
    m.on('gc', () => {
      gcOpen = false; // emitted inside the GC's exclusive section, just before it is released
    });

    let managerOps = 0;
    const list = m.networks.find((n) => n.name === NETWORK)?.list;
    assert.ok(list);
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const verify = round % 2 === 0;
        let gc: Promise<void> | undefined;
        if (round === 3) {
          // Mid-run, while operations are in flight: GC with every container valid.
          gc = (async () => {
            while (total === 0) await sleep(1);
            const inFlightAtCall = total;
            const report = await m.gc(ids);
            assert.deepEqual(report.errors, []);
            assert.deepEqual(report.removed, [], 'every container is valid: nothing removed');
            assert.ok(inFlightAtCall > 0, 'GC was called while operations were in flight');
          })();
        }
        await pool(
          namespaces.map((ns, i) => ({ ns, id: ids[i] as string })),
          PARALLEL,
          async ({ ns, id }) => {
            if (!verify) {
              // Issued together: only per-container serialization makes CHECK see the setup and
              // teardown come last.
              await Promise.all([m.setup(id, ns.path), m.check(id, ns.path), m.teardown(id, ns.path)]);
              managerOps += 3;
              return;
            }
            const res = await m.setup(id, ns.path);
            const part = res.networks.find((n) => n.network === NETWORK);
            assert.ok(part, 'the bridge network is attached');
            const cached = await m.cni.getNetworkListCachedResult(list, {
              containerId: id,
              netns: ns.path,
              ifName: part.ifName,
            });
            assert.deepEqual(cached, part.result, 'the result is what the cache holds');
            const address = res.interfaces[part.ifName]?.ips[0]?.address;
            assert.ok(address !== undefined && address.startsWith('10.201.'), String(address));
            assert.deepEqual(ipv4AddrsIn(ns.name)[part.ifName], [address], 'and what the namespace shows');
            const lease = await fs.readFile(
              path.join(ipamDir, NETWORK, address.split('/')[0] as string),
              'utf8',
            );
            assert.ok(lease.startsWith(id), 'host-local leased it to this container');
            await m.check(id, ns.path);
            await m.teardown(id, ns.path);
            managerOps += 3;
            assert.deepEqual(await m.cni.getCachedAttachments(id), []);
            assert.equal(
              existsSync(path.join(ipamDir, NETWORK, address.split('/')[0] as string)),
              false,
              'lease released',
            );
            assert.deepEqual(Object.keys(ipv4AddrsIn(ns.name)), ['lo'], 'only lo left in the namespace');
          },
        );
        await gc;
      }
    } finally {
      unsubscribe(`tracing:${CHANNELS.operation}:start`, onStart);
      unsubscribe(`tracing:${CHANNELS.operation}:asyncEnd`, onEnd);
    }

    t.diagnostic(
      `${managerOps} NetworkManager operations, ${cniOps} CNI operations, up to ${maxTotal} at once`,
    );
    assert.deepEqual(violations, []);
    assert.equal(managerOps, CONTAINERS * ROUNDS * 3);
    assert.ok(managerOps >= 1000);
    assert.ok(maxTotal > 1 && maxTotal <= PARALLEL, `parallelism seen: ${maxTotal}`);

    // No leaks: cache entries, lock files, leases, bridge ports, interfaces in the namespaces.
    assert.deepEqual(await fs.readdir(path.join(cacheDir, 'results')), []);
    assert.deepEqual(await fs.readdir(path.join(cacheDir, 'locks')), []);
    const leases = (await fs.readdir(path.join(ipamDir, NETWORK))).filter((n) =>
      /^\d+\.\d+\.\d+\.\d+$/.test(n),
    );
    assert.deepEqual(leases, []);
    assert.deepEqual(bridgePorts(), []);
    for (const ns of namespaces) assert.deepEqual(Object.keys(ipv4AddrsIn(ns.name)), ['lo'], ns.name);
    for (const ns of namespaces) await deleteNetns(ns.name);
    const mine = new Set(namespaces.map((ns) => ns.name));
    const left = sh(['ip', 'netns', 'list'])
      .stdout.split('\n')
      .filter((l) => mine.has(l.split(' ')[0] as string));
    assert.deepEqual(left, [], 'no namespace left');
  });
});

import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ResultCache } from '../../src/cache/cache.ts';
import { NetworkManager, type NetworkManagerOptions } from '../../src/runtime/manager.ts';
import { AbortError } from '../../src/core/abort.ts';
import { AggregateLibcniError, ValidationError } from '../../src/core/errors.ts';
import { NotReadyError, SetupError } from '../../src/core/runtime-errors.ts';
import { briefCalls, makeRuntimeSandbox, type RuntimeSandbox } from '../helpers/runtime-plugins.ts';

let sb: RuntimeSandbox;
const manager = (extra: Partial<NetworkManagerOptions> = {}): NetworkManager => sb.manager(extra);

beforeEach(async () => {
  sb = await makeRuntimeSandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

describe('setup', () => {
  it('attaches every network in file order as eth0, eth1 and merges the results per interface', async () => {
    await sb.writeNetwork('20-b.conflist', 'netb', { tip: '10.9.2.5/24', tgw: '10.9.2.1' });
    await sb.writeNetwork('10-a.conflist', 'neta', { tip: '10.9.1.5/24', tgw: '10.9.1.1' });
    const m = manager();
    const r = await m.setup('c1', '/run/netns/x');
    assert.deepEqual(briefCalls(await sb.calls()), ['ADD c1 eth0 neta', 'ADD c1 eth1 netb']);
    assert.deepEqual(Object.keys(r.interfaces), ['eth0', 'eth1']);
    assert.deepEqual(r.interfaces.eth0?.ips, [{ address: '10.9.1.5/24', gateway: '10.9.1.1' }]);
    assert.deepEqual(r.interfaces.eth1?.ips, [{ address: '10.9.2.5/24', gateway: '10.9.2.1' }]);
    assert.equal(r.interfaces.eth1.network, 'netb');
    assert.equal(r.interfaces.eth0.sandbox, '/run/netns/x');
    // host-side interfaces stay in the raw results only
    assert.equal(r.interfaces['host-eth0'], undefined);
    assert.deepEqual(
      r.networks.map((n) => [n.network, n.ifName, n.result.cniVersion]),
      [
        ['neta', 'eth0', '1.0.0'],
        ['netb', 'eth1', '1.0.0'],
      ],
    );
    assert.deepEqual(
      r.routes.map((x) => [x.network, x.gw]),
      [
        ['neta', '10.9.1.1'],
        ['netb', '10.9.2.1'],
      ],
    );
    assert.deepEqual(await sb.cacheFiles(), ['neta-c1-eth0', 'netb-c1-eth1']);
  });

  it('honours explicit interface names and gives the others the next free <prefix>N', async () => {
    await sb.writeNetwork('10-a.conflist', 'neta');
    await sb.writeNetwork('20-b.conflist', 'netb');
    await sb.writeNetwork('30-c.conflist', 'netc');
    const m = manager({ interfacePrefix: 'net' });
    const r = await m.setup('c1', '/run/netns/x', {
      perNetwork: { netb: { ifName: 'net0' }, nope: { ifName: 'x' } },
    });
    assert.deepEqual(
      r.networks.map((n) => `${n.network}=${n.ifName}`),
      ['neta=net1', 'netb=net0', 'netc=net2'],
    );
  });

  it('refuses two networks asking for one interface name before running any plugin', async () => {
    await sb.writeNetwork('10-a.conflist', 'neta');
    await sb.writeNetwork('20-b.conflist', 'netb');
    const m = manager();
    await assert.rejects(
      m.setup('c1', '/x', { perNetwork: { neta: { ifName: 'eth5' }, netb: { ifName: 'eth5' } } }),
      ValidationError,
    );
    assert.deepEqual(await sb.calls(), []);
  });

  it('passes container-wide and per-network CNI args and capability args', async () => {
    await sb.writeNetwork('10-a.conflist', 'neta', {}, { capabilities: { portMappings: true } });
    await sb.writeNetwork('20-b.conflist', 'netb');
    const m = manager();
    await m.setup('c1', '/x', {
      args: [
        ['K8S_POD_NAMESPACE', 'ns'],
        ['K8S_POD_NAME', 'pod'],
      ],
      capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
      perNetwork: { netb: { args: { K8S_POD_NAME: 'other', EXTRA: '1' } } },
    });
    const [a, b] = await sb.calls();
    assert.equal(a?.args, 'IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=pod');
    assert.deepEqual(a.conf.runtimeConfig, {
      portMappings: [{ containerPort: 80, hostPort: 8080, protocol: 'tcp' }],
    });
    assert.equal(b?.args, 'IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=other;EXTRA=1');
    assert.equal(b.conf.runtimeConfig, undefined); // netb does not declare the capability
  });

  it('adds the built-in loopback network first as lo, with no effect on eth numbering', async () => {
    await sb.writeNetwork('10-a.conflist', 'neta');
    const m = manager({ loopback: true });
    const r = await m.setup('c1', '/x');
    assert.deepEqual(
      r.networks.map((n) => `${n.network}=${n.ifName}`),
      ['cni-loopback=lo', 'neta=eth0'],
    );
  });

  it('attaches only the named networks, in the order named, and is not ready while one is missing', async () => {
    await sb.writeNetwork('10-a.conflist', 'neta');
    await sb.writeNetwork('20-b.conflist', 'netb');
    const m = manager({ networks: ['netb', 'neta'] });
    const r = await m.setup('c1', '/x');
    assert.deepEqual(
      r.networks.map((n) => `${n.network}=${n.ifName}`),
      ['netb=eth0', 'neta=eth1'],
    );
    const m2 = manager({ networks: ['neta', 'ghost'] });
    await assert.rejects(m2.setup('c2', '/x'), (e: unknown) => {
      assert.ok(e instanceof NotReadyError);
      assert.deepEqual(e.missing, ['ghost']);
      return true;
    });
    assert.equal((await m2.status()).ready, false);
  });

  it('throws NotReadyError with no networks, yet teardown still works', async () => {
    const m = manager();
    await assert.rejects(m.setup('c1', '/x'), NotReadyError);
    assert.deepEqual(await m.teardown('c1', '/x'), { detached: [] });
  });
});

describe('rollback', () => {
  it('DELs the failed network and then the ones before it, newest first, and throws SetupError', async () => {
    await sb.writeNetwork('10-a.conflist', 'neta');
    await sb.writeNetwork('20-b.conflist', 'netb', { tfail: 'ADD' });
    await sb.writeNetwork('30-c.conflist', 'netc');
    const m = manager();
    const events: string[] = [];
    m.on('rollback', (e) => events.push(`rollback ${e.containerId} ok=${e.ok} ${e.cause.message}`));
    const err = await m.setup('c1', '/x').then(
      () => assert.fail('setup should fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof SetupError);
    assert.equal(err.network, 'netb');
    assert.equal(err.ifName, 'eth1');
    assert.equal(err.code, 100);
    assert.equal(err.rollback.ok, true);
    assert.deepEqual(err.rollback.undone, [
      { network: 'netb', ifName: 'eth1' },
      { network: 'neta', ifName: 'eth0' },
    ]);
    assert.deepEqual(briefCalls(await sb.calls()), [
      'ADD c1 eth0 neta',
      'ADD c1 eth1 netb',
      'DEL c1 eth1 netb',
      'DEL c1 eth0 neta',
    ]);
    assert.deepEqual(await sb.cacheFiles(), []);
    assert.equal(events.length, 1);
    assert.match(events[0] as string, /^rollback c1 ok=true .*injected failure/);
  });

  it('reports a rollback DEL that fails and still DELs the rest', async () => {
    await sb.writeNetwork('10-a.conflist', 'neta');
    await sb.writeNetwork('20-b.conflist', 'netb', { tfail: 'ADD' });
    await sb.writeNetwork('05-z.conflist', 'netz', { tfail: 'DEL' });
    const m = manager();
    const err = await m.setup('c1', '/x').catch((e: unknown) => e);
    assert.ok(err instanceof SetupError);
    assert.equal(err.rollback.ok, false);
    assert.equal(err.rollback.errors.length, 1);
    assert.match(err.message, /rollback failed/);
    assert.deepEqual(briefCalls(await sb.calls()), [
      'ADD c1 eth0 netz',
      'ADD c1 eth1 neta',
      'ADD c1 eth2 netb',
      'DEL c1 eth2 netb',
      'DEL c1 eth1 neta',
      'DEL c1 eth0 netz',
    ]);
    // netz's DEL failed, so its cache entry (and resources) remain for a later teardown or GC
    assert.deepEqual(await sb.cacheFiles(), ['netz-c1-eth0']);
  });

  it('rolls back with a fresh deadline when the caller aborts mid-setup', async () => {
    const gate = path.join(sb.root, 'gate');
    await sb.writeNetwork('10-a.conflist', 'neta');
    await sb.writeNetwork('20-b.conflist', 'netb', { twait: gate });
    const m = manager();
    const ac = new AbortController();
    m.on('attached', (e) => {
      if (e.network === 'neta')
        setImmediate(() => {
          ac.abort(new Error('caller gave up'));
        });
    });
    const outer = await m.setup('c1', '/x', { signal: ac.signal }).catch((e: unknown) => e);
    // The abort is what the caller sees; the setup error with its rollback is what it interrupted.
    assert.ok(outer instanceof AbortError);
    const err = outer.interrupted;
    assert.ok(err instanceof SetupError);
    assert.equal(err.network, 'netb');
    assert.equal(err.rollback.ok, true);
    const dels = briefCalls(await sb.calls()).filter((c) => c.startsWith('DEL'));
    assert.deepEqual(dels, ['DEL c1 eth1 netb', 'DEL c1 eth0 neta']);
    assert.deepEqual(await sb.cacheFiles(), []);
  });

  it('in parallel mode rolls back every network, and records each failure', async () => {
    await sb.writeNetwork('10-a.conflist', 'neta');
    await sb.writeNetwork('20-b.conflist', 'netb', { tfail: 'ADD' });
    const m = manager();
    const err = await m.setup('c1', '/x', { parallel: true }).catch((e: unknown) => e);
    assert.ok(err instanceof SetupError);
    assert.equal(err.network, 'netb');
    const dels = briefCalls(await sb.calls()).filter((c) => c.startsWith('DEL'));
    assert.deepEqual(dels, ['DEL c1 eth1 netb', 'DEL c1 eth0 neta']);
    assert.deepEqual(await sb.cacheFiles(), []);
  });
});

describe('lifecycle rules', () => {
  it('runs the networks of one setup at once with parallel: true', async () => {
    const barrier = `${path.join(sb.root, 'barrier')}:2`;
    await sb.writeNetwork('10-a.conflist', 'neta', { tbarrier: barrier });
    await sb.writeNetwork('20-b.conflist', 'netb', { tbarrier: barrier });
    const m = manager();
    // Each ADD waits until both are running: this completes only if they overlap.
    const r = await m.setup('c1', '/x', { parallel: true });
    assert.deepEqual(Object.keys(r.interfaces).sort(), ['eth0', 'eth1']);
    assert.deepEqual(
      r.networks.map((n) => n.network),
      ['neta', 'netb'],
    );
  });

  it('runs different containers concurrently', async () => {
    const barrier = `${path.join(sb.root, 'barrier')}:2`;
    await sb.writeNetwork('10-a.conflist', 'neta', { tbarrier: barrier });
    const m = manager();
    await Promise.all([m.setup('c1', '/x'), m.setup('c2', '/y')]);
    assert.deepEqual(await sb.cacheFiles(), ['neta-c1-eth0', 'neta-c2-eth0']);
  });

  it('serializes operations on one container in arrival order', async () => {
    await sb.writeNetwork('10-a.conflist', 'neta', { tdelay: '0.1' });
    const m = manager();
    await Promise.all([m.setup('c1', '/x'), m.teardown('c1', '/x'), m.setup('c1', '/x')]);
    const seq = (await sb.calls(true)).map((c) => `${c.cmd}:${c.phase}`);
    assert.deepEqual(seq, ['ADD:begin', 'ADD:end', 'DEL:begin', 'DEL:end', 'ADD:begin', 'ADD:end']);
  });

  it('GC waits for an in-flight ADD and collects it if not valid; what arrives while GC holds the gate waits', async () => {
    const gate = path.join(sb.root, 'gate');
    await sb.writeNetwork('10-a.conflist', 'neta', { twait: gate });
    const m = manager();
    const order: string[] = [];
    const first = m.setup('c1', '/x').then(() => order.push('setup c1 done'));
    // Wait until c1's ADD is running in the plugin.
    while (!(await sb.calls(true)).some((c) => c.cmd === 'ADD')) await new Promise((r) => setTimeout(r, 10));
    // GC's DELs run under its exclusive gate: a setup issued from there must wait for the whole GC.
    let third: Promise<unknown> | undefined;
    m.once('detached', () => {
      third = m.setup('c3', '/z').then(() => order.push('setup c3 done'));
    });
    const gc = m.gc(['c2']).then((r) => {
      order.push('gc done');
      return r;
    });
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(order, []); // nothing may finish while c1's ADD is held at the gate
    await fs.writeFile(gate, '');
    const [, report] = await Promise.all([first, gc]);
    await third;
    assert.deepEqual(order, ['setup c1 done', 'gc done', 'setup c3 done']);
    // c1 was being set up when GC was called: GC comes after it, and c1 is not valid.
    assert.deepEqual(report.removed, [{ containerId: 'c1', network: 'neta', ifName: 'eth0' }]);
    const seq = (await sb.calls()).map((c) => `${c.cmd} ${c.cid}`);
    assert.deepEqual(seq, ['ADD c1', 'DEL c1', 'GC ', 'ADD c3']);
  });
});

describe('teardown', () => {
  it('DELs from the cache, with cached args, after the config file was deleted', async () => {
    const file = await sb.writeNetwork('10-a.conflist', 'neta', { tmark: 'v1' });
    await sb.writeNetwork('20-b.conflist', 'netb');
    const m = manager();
    await m.setup('c1', '/x', { args: { K8S_POD_NAME: 'pod' } });
    await fs.rm(file);
    await sb.writeNetwork('20-b.conflist', 'netb', { tmark: 'v2' }); // changed: the cache still says v1-less
    await m.load();
    assert.deepEqual(
      m.networks.map((n) => n.name),
      ['netb'],
    );
    const res = await m.teardown('c1', '/x');
    assert.deepEqual(
      res.detached.map((d) => `${d.network}/${d.ifName}/${d.source}`),
      ['netb/eth1/cache', 'neta/eth0/cache'],
    );
    const dels = (await sb.calls()).filter((c) => c.cmd === 'DEL');
    assert.deepEqual(
      dels.map((c) => `${String(c.conf.name)} ${c.ifName} ${c.args} ${String(c.conf.tmark)}`),
      [
        'netb eth1 IgnoreUnknown=1;K8S_POD_NAME=pod undefined',
        'neta eth0 IgnoreUnknown=1;K8S_POD_NAME=pod v1',
      ],
    );
    assert.deepEqual(await sb.cacheFiles(), []);
    // Again: nothing cached; the loaded network gets a DEL from its config, which succeeds.
    const again = await m.teardown('c1', '/x');
    assert.deepEqual(
      again.detached.map((d) => `${d.network}/${d.ifName}/${d.source}`),
      ['netb/eth0/config'],
    );
  });

  it('keeps going past a failing DEL and throws all failures together', async () => {
    await sb.writeNetwork('10-a.conflist', 'neta');
    await sb.writeNetwork('20-b.conflist', 'netb');
    const m = manager();
    await m.setup('c1', '/x');
    // DEL runs with the cached config: make the cached config of netb one that fails on DEL.
    const entryPath = path.join(sb.cacheDir, 'results', 'netb-c1-eth1');
    const entry = JSON.parse(await fs.readFile(entryPath, 'utf8')) as { config: string };
    const conf = JSON.parse(Buffer.from(entry.config, 'base64').toString()) as {
      plugins: Array<Record<string, string>>;
    };
    (conf.plugins[0] as Record<string, string>).tfail = 'DEL';
    entry.config = Buffer.from(JSON.stringify(conf)).toString('base64');
    await fs.writeFile(entryPath, JSON.stringify(entry));
    const err = await m.teardown('c1', '/x').catch((e: unknown) => e);
    assert.ok(err instanceof AggregateLibcniError);
    assert.equal(err.errors.length, 1);
    assert.deepEqual(briefCalls((await sb.calls()).filter((c) => c.cmd === 'DEL')), [
      'DEL c1 eth1 netb',
      'DEL c1 eth0 neta',
    ]);
    assert.deepEqual(await sb.cacheFiles(), ['netb-c1-eth1']);
  });
});

describe('check', () => {
  it('CHECKs every cached attachment and reports a network the container is not attached to', async () => {
    await sb.writeNetwork('10-a.conflist', 'neta');
    const m = manager();
    await m.setup('c1', '/x');
    await m.check('c1', '/x');
    assert.deepEqual(briefCalls((await sb.calls()).filter((c) => c.cmd === 'CHECK')), ['CHECK c1 eth0 neta']);
    await sb.writeNetwork('20-b.conflist', 'netb');
    await m.load();
    await assert.rejects(m.check('c1', '/x'), /not attached to network "netb"/);
  });
});

describe('gc', () => {
  it('DELs attachments of containers not in the valid set and sends plugins the valid ones', async () => {
    await sb.writeNetwork('10-a.conflist', 'neta');
    const m = manager();
    await m.setup('c1', '/x');
    await m.setup('c2', '/y');
    const dry = await m.gc(['c1'], { dryRun: true });
    assert.deepEqual(dry.removed, [{ containerId: 'c2', network: 'neta', ifName: 'eth0' }]);
    assert.deepEqual(await sb.cacheFiles(), ['neta-c1-eth0', 'neta-c2-eth0']);
    const report = await m.gc(['c1']);
    assert.deepEqual(report.errors, []);
    assert.deepEqual(report.removed, [{ containerId: 'c2', network: 'neta', ifName: 'eth0' }]);
    assert.deepEqual(await sb.cacheFiles(), ['neta-c1-eth0']);
    const gcCall = (await sb.calls()).find((c) => c.cmd === 'GC');
    assert.deepEqual(gcCall?.conf['cni.dev/valid-attachments'], [{ containerID: 'c1', ifname: 'eth0' }]);
    const del = (await sb.calls()).find((c) => c.cmd === 'DEL');
    assert.equal(del?.netns, '/y'); // the cached namespace path
  });

  it('DELs cached attachments of networks no longer loaded, with their cached config', async () => {
    const file = await sb.writeNetwork('10-a.conflist', 'neta', { tmark: 'old' });
    const m = manager();
    await m.setup('c1', '/x');
    await fs.rm(file);
    await sb.writeNetwork('20-b.conflist', 'netb');
    await m.load();
    const report = await m.gc([]);
    assert.deepEqual(report.removed, [{ containerId: 'c1', network: 'neta', ifName: 'eth0' }]);
    const del = (await sb.calls()).find((c) => c.cmd === 'DEL');
    assert.equal(del?.conf.tmark, 'old');
    assert.deepEqual(await sb.cacheFiles(), []);
  });

  it('with pairs, keeps what a pair names (in its network only) and sends each valid attachment once', async () => {
    await sb.writeNetwork('10-a.conflist', 'neta');
    await sb.writeNetwork('20-b.conflist', 'netb');
    const m = manager();
    await m.setup('c1', '/x'); // neta eth0, netb eth1
    await m.setup('c2', '/y');
    const report = await m.gc([
      { containerId: 'c1', ifName: 'eth0' },
      { containerId: 'c1', ifName: 'eth1', network: 'neta' }, // not netb's: c1's netb attachment goes
      { containerId: 'c2', ifName: 'eth1', network: 'netb' },
      { containerId: 'c9', ifName: 'eth0' },
      { containerId: 'c9', ifName: 'eth0', network: 'netb' }, // the same pair again, for netb
    ]);
    assert.deepEqual(report.errors, []);
    assert.deepEqual(report.removed, [
      { containerId: 'c2', network: 'neta', ifName: 'eth0' },
      { containerId: 'c1', network: 'netb', ifName: 'eth1' },
    ]);
    assert.deepEqual(await sb.cacheFiles(), ['neta-c1-eth0', 'netb-c2-eth1']);
    const sent = (await sb.calls())
      .filter((c) => c.cmd === 'GC')
      .map((c) => [c.conf.name, c.conf['cni.dev/valid-attachments']]);
    assert.deepEqual(sent, [
      [
        'neta',
        [
          { containerID: 'c1', ifname: 'eth0' },
          { containerID: 'c1', ifname: 'eth1' },
          { containerID: 'c9', ifname: 'eth0' },
        ],
      ],
      [
        'netb',
        [
          { containerID: 'c2', ifname: 'eth1' },
          { containerID: 'c1', ifname: 'eth0' },
          { containerID: 'c9', ifname: 'eth0' },
        ],
      ],
    ]);
  });

  it('matches pairs by lookup: each pair is read a fixed number of times, whatever the cache holds', async () => {
    // Not a timing test: the caller's pair objects count how often their fields are read. Scanning
    // the valid list for every cached attachment (or for every pair) reads them O(cache x pairs)
    // (or O(pairs^2)) times; an index reads each field about once.
    const file = await sb.writeNetwork('10-a.conflist', 'neta', {}, { cniVersion: '1.0.0' });
    const config = await fs.readFile(file);
    const cache = new ResultCache(sb.cacheDir, { sync: 'none' });
    const ENTRIES = 300;
    const PAIRS = 3000;
    for (let i = 0; i < ENTRIES; i++) {
      const containerId = `c${String(i).padStart(4, '0')}`;
      await cache.write({ network: 'neta', containerId, ifName: 'eth0', config, netns: '/x' });
    }
    let reads = 0;
    const counted = (containerId: string, ifName: string) => ({
      get containerId() {
        reads++;
        return containerId;
      },
      get ifName() {
        reads++;
        return ifName;
      },
      get network() {
        reads++;
        return undefined;
      },
    });
    // Every cached attachment but the last two is valid; most pairs name nothing cached.
    const valid = Array.from({ length: PAIRS }, (_, i) =>
      counted(i < ENTRIES - 2 ? `c${String(i).padStart(4, '0')}` : `other${i}`, 'eth0'),
    );
    const m = manager();
    const report = await m.gc(valid);
    assert.deepEqual(report.errors, []);
    assert.deepEqual(
      report.removed.map((r) => r.containerId),
      ['c0298', 'c0299'],
    );
    assert.ok(reads <= 4 * PAIRS, `${reads} reads of the fields of ${PAIRS} pairs`);
  });

  it('does not hold up an operation issued while it reads the cache, and leaves that container alone', async () => {
    const file = await sb.writeNetwork('10-a.conflist', 'neta');
    const config = await fs.readFile(file);
    const cache = new ResultCache(sb.cacheDir, { sync: 'none' });
    for (let i = 0; i < 50; i++) {
      await cache.write({ network: 'neta', containerId: `old${i}`, ifName: 'eth0', config, netns: '/x' });
    }
    const m = manager();
    await m.start();
    const order: string[] = [];
    const gc = m.gc(Array.from({ length: 49 }, (_, i) => `old${i}`)).then((r) => {
      order.push('gc done');
      return r;
    });
    // Issued after gc(): it runs while GC reads the cache, and GC's exclusive part waits for it.
    const setup = m.setup('late', '/y').then(() => order.push('setup late done'));
    const [report] = await Promise.all([gc, setup]);
    assert.deepEqual(order, ['setup late done', 'gc done']);
    // "late" is not in the valid set, but it was set up after GC was called: left for the next GC.
    assert.deepEqual(report.removed, [{ containerId: 'old49', network: 'neta', ifName: 'eth0' }]);
    assert.ok((await sb.cacheFiles()).includes('neta-late-eth0'));
    const seq = (await sb.calls()).map((c) => `${c.cmd} ${c.cid}`);
    assert.deepEqual(seq, ['ADD late', 'DEL old49', 'GC ']);
  });

  it('requires the valid set', async () => {
    const m = manager();
    await assert.rejects(m.gc(undefined as unknown as string[]), TypeError);
  });
});

describe('status and config errors', () => {
  it('reports a bad file without hiding the good ones', async () => {
    await sb.writeNetwork('10-a.conflist', 'neta');
    await fs.writeFile(path.join(sb.confDir, '05-bad.conflist'), '{"name": ');
    const m = manager();
    const seen: string[] = [];
    m.on('configError', (e) => seen.push(path.basename(e.file)));
    const st = await m.status();
    assert.equal(st.ready, true);
    assert.deepEqual(
      st.networks.map((n) => [n.name, n.ok]),
      [['neta', true]],
    );
    assert.deepEqual(
      st.configErrors.map((e) => path.basename(e.file)),
      ['05-bad.conflist'],
    );
    assert.deepEqual(seen, ['05-bad.conflist']);
  });

  it('is not ready when a plugin fails STATUS or a named network has a plugin missing, and says which', async () => {
    await sb.writeNetwork('10-a.conflist', 'neta', { tfail: 'STATUS' });
    await fs.writeFile(
      path.join(sb.confDir, '20-b.conflist'),
      JSON.stringify({ cniVersion: '1.0.0', name: 'netb', plugins: [{ type: 'not-installed' }] }),
    );
    const m = manager({ networks: ['neta', 'netb'] });
    const st = await m.status();
    assert.equal(st.ready, false);
    const [a, b] = st.networks;
    assert.equal(a?.ok, false);
    assert.equal((a.error as { code?: number }).code, 50);
    assert.equal(b, undefined);
    assert.deepEqual(
      st.skipped.map((s) => [s.name, s.reason, s.required]),
      [['netb', 'pluginMissing', true]],
    );
    assert.match(String(st.skipped[0]?.error?.message), /not-installed/);
  });

  it('keeps the last good version of a file that broke, and drops a deleted one', async () => {
    const file = await sb.writeNetwork('10-a.conflist', 'neta', { tmark: 'good' });
    await sb.writeNetwork('20-b.conflist', 'netb');
    const m = manager();
    await m.load();
    await fs.writeFile(file, '{ broken');
    await m.load();
    assert.deepEqual(
      m.networks.map((n) => [n.name, n.staleError !== undefined]),
      [
        ['neta', true],
        ['netb', false],
      ],
    );
    const st = await m.status();
    assert.equal(st.networks[0]?.stale, true);
    assert.equal(st.configErrors.length, 1);
    await fs.rm(file);
    await m.load();
    assert.deepEqual(
      m.networks.map((n) => n.name),
      ['netb'],
    );
  });
});

describe('reload during an operation', () => {
  it('finishes an in-flight setup on the network set it started with', async () => {
    const gate = path.join(sb.root, 'gate');
    await sb.writeNetwork('10-a.conflist', 'neta', { twait: gate });
    const fileB = await sb.writeNetwork('20-b.conflist', 'netb', { tmark: 'v1' });
    const m = manager();
    const running = m.setup('c1', '/x');
    while (!(await sb.calls(true)).some((c) => c.cmd === 'ADD')) await new Promise((r) => setTimeout(r, 10));
    await fs.rm(fileB);
    await m.load();
    assert.deepEqual(
      m.networks.map((n) => n.name),
      ['neta'],
    );
    await fs.writeFile(gate, '');
    const r = await running;
    assert.deepEqual(
      r.networks.map((n) => n.network),
      ['neta', 'netb'],
    );
    const addB = (await sb.calls()).find((c) => c.cmd === 'ADD' && c.conf.name === 'netb');
    assert.equal(addB?.conf.tmark, 'v1');
    // The next operation sees the new set; teardown still finds netb through the cache.
    const td = await m.teardown('c1', '/x');
    assert.deepEqual(td.detached.map((d) => d.network).sort(), ['neta', 'netb']);
  });
});

describe('watch', () => {
  it('picks up a new conflist, survives a broken one, and stops on close', async () => {
    await sb.writeNetwork('10-a.conflist', 'neta');
    const m = manager({ watch: true, debounceMs: 30 });
    await m.start();
    const loaded = (names: string) =>
      new Promise<void>((resolve) => {
        const on = (e: { networks: Array<{ name: string }> }) => {
          if (e.networks.map((n) => n.name).join(',') === names) {
            m.off('configLoaded', on);
            resolve();
          }
        };
        m.on('configLoaded', on);
      });
    const both = loaded('neta,netb');
    await sb.writeNetwork('20-b.conflist', 'netb');
    await both;
    const broken = new Promise<string>((resolve) =>
      m.once('configError', (e) => {
        resolve(path.basename(e.file));
      }),
    );
    await fs.writeFile(path.join(sb.confDir, '30-c.conflist'), 'not json');
    assert.equal(await broken, '30-c.conflist');
    await m.settled();
    assert.deepEqual(
      m.networks.map((n) => n.name),
      ['neta', 'netb'],
    );
    const r = await m.setup('c1', '/x');
    assert.deepEqual(Object.keys(r.interfaces), ['eth0', 'eth1']);
    await m.close();
    await sb.writeNetwork('40-d.conflist', 'netd');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(
      m.networks.map((n) => n.name),
      ['neta', 'netb'],
    );
  });
});

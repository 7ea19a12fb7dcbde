// NetworkManager.inspect: a container's networking from the cache alone, in a manager that never
// ran setup: the attachments, the merged view, the pod IPs containerd would choose, the DNS merge,
// and CHECK per attachment when asked.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ValidationError } from '../../src/core/errors.ts';
import { NetworkManager, type NetworkManagerOptions } from '../../src/runtime/manager.ts';
import { makeRuntimeSandbox, type RuntimeSandbox } from '../helpers/runtime-plugins.ts';

// ADD answers with the JSON in the file named by the config key `tresult`, @NETNS@ and @IFNAME@
// replaced; CHECK fails when the config key `tfail` is CHECK; everything else succeeds.
const RESULT_PLUGIN = `#!/bin/sh
stdin=$(cat)
field() { printf '%s' "$stdin" | tr -d '\\n' | sed -n "s/.*\\"$1\\":\\"\\([^\\"]*\\)\\".*/\\1/p" | head -n 1; }
if [ "$CNI_COMMAND" = VERSION ]; then
  printf '%s' '{"cniVersion":"1.1.0","supportedVersions":["0.3.1","0.4.0","1.0.0","1.1.0"]}'; exit 0
fi
if [ "$CNI_COMMAND" = CHECK ] && [ "$(field tfail)" = CHECK ]; then
  printf '{"cniVersion":"1.0.0","code":100,"msg":"check failed for %s"}' "$CNI_IFNAME"; exit 1
fi
if [ "$CNI_COMMAND" = ADD ]; then
  sed -e "s#@NETNS@#$CNI_NETNS#g" -e "s#@IFNAME@#$CNI_IFNAME#g" "$(field tresult)"
fi
exit 0
`;

let sb: RuntimeSandbox;
const manager = (extra: Partial<NetworkManagerOptions> = {}): NetworkManager => sb.manager(extra);

/** A network of the result plugin answering `result` (a 1.0.0 result unless it says otherwise). */
async function resultNetwork(
  file: string,
  name: string,
  result: Record<string, unknown>,
  extra: { cniVersion?: string; tfail?: string } = {},
): Promise<void> {
  const resultFile = path.join(sb.root, `${name}.result.json`);
  await fs.writeFile(resultFile, JSON.stringify({ cniVersion: extra.cniVersion ?? '1.0.0', ...result }));
  const plugin: Record<string, unknown> = { type: 'rtresult', tresult: resultFile };
  if (extra.tfail) plugin.tfail = extra.tfail;
  const list = { cniVersion: extra.cniVersion ?? '1.0.0', name, plugins: [plugin] };
  await fs.writeFile(path.join(sb.confDir, file), JSON.stringify(list));
}

beforeEach(async () => {
  sb = await makeRuntimeSandbox();
  await fs.writeFile(path.join(sb.pluginDir, 'rtresult'), RESULT_PLUGIN, { mode: 0o755 });
});
afterEach(async () => {
  await sb.cleanup();
});

describe('inspect', () => {
  it('gives an empty report for a container with nothing cached', async () => {
    await sb.writeNetwork('10-a.conflist', 'neta');
    const r = await manager().inspect('never-set-up');
    assert.deepEqual(r, {
      containerId: 'never-set-up',
      attachments: [],
      interfaces: {},
      routes: [],
      ips: [],
      primaryIPv4: undefined,
      primaryIPv6: undefined,
      dns: { nameservers: [], search: [], options: [] },
      checked: false,
      ok: true,
    });
    await assert.rejects(manager().inspect('bad/id'), ValidationError);
  });

  it('reads back, in a fresh manager, every attachment with the merged view, pod IPs and DNS', async () => {
    // lo first (loopback's addresses must not become the pod IP), then a network whose host side
    // has an address, whose container interface lists IPv6 before IPv4, then a second interface.
    await resultNetwork('10-lo.conflist', 'lonet', {
      interfaces: [{ name: 'lo', sandbox: '@NETNS@' }],
      ips: [
        { interface: 0, address: '127.0.0.1/8' },
        { interface: 0, address: '::1/128' },
      ],
    });
    await resultNetwork('20-main.conflist', 'main', {
      interfaces: [
        { name: 'vethhost1', mac: '02:00:00:00:01:01' },
        { name: '@IFNAME@', mac: '02:00:00:00:01:02', sandbox: '@NETNS@' },
      ],
      ips: [
        { interface: 0, address: '192.0.2.1/32' },
        { interface: 1, address: 'fd00:1::5/64', gateway: 'fd00:1::1' },
        { interface: 1, address: '10.1.0.5/24', gateway: '10.1.0.1' },
        { interface: 1, address: '10.1.0.6/24' },
      ],
      routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }],
      dns: {
        nameservers: ['10.1.0.53', '10.0.0.10'],
        search: ['ns.svc.local', 'svc.local'],
        options: ['ndots:5'],
      },
    });
    await resultNetwork('30-side.conflist', 'side', {
      interfaces: [{ name: '@IFNAME@', sandbox: '@NETNS@' }],
      ips: [{ interface: 0, address: '10.2.0.7/24' }],
      dns: {
        nameservers: ['10.0.0.10', '10.2.0.53'],
        domain: 'side.local',
        search: ['svc.local'],
        options: ['ndots:5', 'edns0'],
      },
    });
    const made = await manager().setup('c1', '/run/netns/c1', {
      networks: [{ name: 'lonet', ifName: 'lo' }, { name: 'main' }, { name: 'side' }],
    });

    const r = await manager().inspect('c1');
    assert.deepEqual(
      r.attachments.map((a) => [a.network, a.ifName, a.netns, a.result?.cniVersion, a.error, a.check]),
      [
        ['lonet', 'lo', '/run/netns/c1', '1.0.0', undefined, undefined],
        ['main', 'eth0', '/run/netns/c1', '1.0.0', undefined, undefined],
        ['side', 'eth1', '/run/netns/c1', '1.0.0', undefined, undefined],
      ],
    );
    // The merged view is the one setup returned.
    assert.deepEqual(r.interfaces, made.interfaces);
    assert.deepEqual(r.routes, made.routes);
    assert.deepEqual(
      r.attachments.map((a) => a.result),
      made.networks.map((n) => n.result),
    );
    // Container addresses only (the host side's 192.0.2.1 is not one), in attachment order.
    assert.deepEqual(
      r.ips.map(
        (ip) => `${ip.ifName} ${ip.network} ${ip.address} ${ip.ip} v${ip.family} ${ip.gateway ?? '-'}`,
      ),
      [
        'lo lonet 127.0.0.1/8 127.0.0.1 v4 -',
        'lo lonet ::1/128 ::1 v6 -',
        'eth0 main fd00:1::5/64 fd00:1::5 v6 fd00:1::1',
        'eth0 main 10.1.0.5/24 10.1.0.5 v4 10.1.0.1',
        'eth0 main 10.1.0.6/24 10.1.0.6 v4 -',
        'eth1 side 10.2.0.7/24 10.2.0.7 v4 -',
      ],
    );
    assert.equal(r.primaryIPv4, '10.1.0.5');
    assert.equal(r.primaryIPv6, 'fd00:1::5');
    assert.deepEqual(r.dns, {
      nameservers: ['10.1.0.53', '10.0.0.10', '10.2.0.53'],
      search: ['ns.svc.local', 'svc.local'],
      options: ['ndots:5', 'edns0'],
      domain: 'side.local',
    });
    assert.equal(r.checked, false);
    assert.equal(r.ok, true);
  });

  it('takes both pod IPs from the first container interface only (containerd)', async () => {
    await resultNetwork('10-v4.conflist', 'v4only', {
      interfaces: [{ name: '@IFNAME@', sandbox: '@NETNS@' }],
      ips: [{ interface: 0, address: '10.3.0.2/24' }],
    });
    await resultNetwork('20-v6.conflist', 'v6only', {
      interfaces: [{ name: '@IFNAME@', sandbox: '@NETNS@' }],
      ips: [{ interface: 0, address: 'fd00:3::2/64' }],
    });
    await manager().setup('c1', '/run/netns/c1', { networks: [{ name: 'v4only' }, { name: 'v6only' }] });
    const r = await manager().inspect('c1');
    assert.equal(r.primaryIPv4, '10.3.0.2');
    assert.equal(r.primaryIPv6, undefined);
  });

  it('places addresses without an interface index on the requested interface (results that list none)', async () => {
    await resultNetwork(
      '10-old.conflist',
      'old',
      {
        ips: [{ version: '4', address: '10.4.0.9/24', gateway: '10.4.0.1' }],
        dns: { nameservers: ['10.4.0.1'] },
      },
      { cniVersion: '0.3.1' },
    );
    await manager().setup('c1', '/run/netns/c1');
    const r = await manager().inspect('c1');
    assert.equal(r.attachments[0]?.result?.cniVersion, '0.3.1');
    assert.deepEqual(
      r.ips.map((ip) => `${ip.ifName} ${ip.address}`),
      ['eth0 10.4.0.9/24'],
    );
    assert.equal(r.primaryIPv4, '10.4.0.9');
    assert.deepEqual(r.dns.nameservers, ['10.4.0.1']);
  });

  it('with check, reports CHECK per attachment and an overall flag instead of throwing', async () => {
    const iface = {
      interfaces: [{ name: '@IFNAME@', sandbox: '@NETNS@' }],
      ips: [{ interface: 0, address: '10.5.0.2/24' }],
    };
    await resultNetwork('10-good.conflist', 'good', iface);
    await resultNetwork('20-bad.conflist', 'bad', iface, { tfail: 'CHECK' });
    await resultNetwork(
      '30-old.conflist',
      'old',
      { ips: [{ version: '4', address: '10.6.0.2/24' }] },
      { cniVersion: '0.3.1' },
    );
    await manager().setup('c1', '/run/netns/c1');
    const fresh = manager();
    const r = await fresh.inspect('c1', { check: true });
    assert.equal(r.checked, true);
    assert.equal(r.ok, false);
    assert.deepEqual(
      r.attachments.map((a) => [a.network, a.check?.outcome]),
      [
        ['good', 'passed'],
        ['bad', 'failed'],
        ['old', 'unsupported'],
      ],
    );
    const failed = r.attachments[1]?.check;
    assert.ok(failed?.outcome === 'failed');
    assert.match(failed.error.message, /check failed for eth1/);
    // The report is still complete.
    assert.equal(r.primaryIPv4, '10.5.0.2');
    // Without the failing network, everything passes.
    await fresh.teardown('c1', '/run/netns/c1');
    await manager().setup('c2', '/run/netns/c2', { networks: [{ name: 'good' }] });
    const ok = await manager().inspect('c2', { check: true });
    assert.deepEqual([ok.ok, ok.attachments[0]?.check], [true, { outcome: 'passed' }]);
  });

  it('reports an attachment whose cached entry cannot be read, and still reports the others', async () => {
    const iface = {
      interfaces: [{ name: '@IFNAME@', sandbox: '@NETNS@' }],
      ips: [{ interface: 0, address: '10.7.0.2/24' }],
    };
    await resultNetwork('10-a.conflist', 'neta', iface);
    await resultNetwork('20-b.conflist', 'netb', iface);
    await manager().setup('c1', '/run/netns/c1');
    // The cached result of netb no longer fits its cached config's version.
    const file = path.join(sb.cacheDir, 'results', 'netb-c1-eth1');
    const entry = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
    entry.result = { cniVersion: '1.0.0', ips: 'not a list' };
    await fs.writeFile(file, JSON.stringify(entry));
    const r = await manager().inspect('c1');
    assert.deepEqual(
      r.attachments.map((a) => [a.network, a.result === undefined, a.error instanceof Error]),
      [
        ['neta', false, false],
        ['netb', true, true],
      ],
    );
    assert.equal(r.ok, false);
    assert.equal(r.primaryIPv4, '10.7.0.2');
  });

  it('waits for an operation in flight on the container instead of reading a half-made setup', async () => {
    const gate = path.join(sb.root, 'gate');
    await sb.writeNetwork('10-a.conflist', 'neta', { tip: '10.8.0.2/24' });
    await sb.writeNetwork('20-b.conflist', 'netb', { tip: '10.8.1.2/24', twait: gate });
    const m = manager();
    const setup = m.setup('c1', '/run/netns/c1');
    // netb's ADD has started (neta is cached by then): the setup holds the container.
    while (!(await sb.calls(true)).some((c) => c.cmd === 'ADD' && c.cid === 'c1' && c.ifName === 'eth1')) {
      await new Promise((r) => setTimeout(r, 20));
    }
    let settled = false;
    const seen = m.inspect('c1').finally(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(settled, false, 'inspect returned while the setup held the container');
    await fs.writeFile(gate, '');
    await setup;
    const r = await seen;
    assert.deepEqual(
      r.attachments.map((a) => a.network),
      ['neta', 'netb'],
    );
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allocateInterfaceNames } from '../../src/runtime/ifnames.ts';
import { mergeResults } from '../../src/runtime/merge.ts';
import { argsToPairs, mergeArgs, mergeCapabilityArgs } from '../../src/runtime/args.ts';
import type { Result } from '../../src/types/result-model.ts';
import { ValidationError } from '../../src/core/errors.ts';

function part(network: string, ifName: string, result: unknown) {
  return { network, ifName, converted: result as Result, raw: result as Result };
}

describe('mergeResults', () => {
  it('resolves an IP interface index within its own network result (not a merged table)', () => {
    // Both results list bridge, veth, then the container interface at index 2.
    const mk = (ifName: string, addr: string) => ({
      cniVersion: '1.1.0',
      interfaces: [
        { name: 'cni0', mac: '02:00:00:00:00:aa' },
        { name: `veth-${ifName}`, mac: '02:00:00:00:00:bb' },
        { name: ifName, mac: `02:00:00:00:00:0${ifName.slice(-1)}`, sandbox: '/run/netns/x', mtu: 1400 },
      ],
      ips: [{ interface: 2, address: addr, gateway: addr.replace(/\.\d+\//, '.1/').split('/')[0] }],
    });
    const r = mergeResults([
      part('a', 'eth0', mk('eth0', '10.1.0.5/24')),
      part('b', 'eth1', mk('eth1', '10.2.0.5/24')),
    ]);
    assert.deepEqual(r.interfaces, {
      eth0: {
        network: 'a',
        mac: '02:00:00:00:00:00',
        mtu: 1400,
        sandbox: '/run/netns/x',
        ips: [{ address: '10.1.0.5/24', gateway: '10.1.0.1' }],
      },
      eth1: {
        network: 'b',
        mac: '02:00:00:00:00:01',
        mtu: 1400,
        sandbox: '/run/netns/x',
        ips: [{ address: '10.2.0.5/24', gateway: '10.2.0.1' }],
      },
    });
  });

  it("puts IPs without an interface index on that network's interface, not on eth0 (go-cni's bug)", () => {
    const r = mergeResults([
      part('a', 'eth0', { cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }] }),
      part('b', 'eth1', { cniVersion: '1.0.0', ips: [{ address: '10.0.1.2/24' }] }),
    ]);
    assert.deepEqual(r.interfaces.eth0?.ips, [{ address: '10.0.0.2/24' }]);
    assert.deepEqual(r.interfaces.eth1?.ips, [{ address: '10.0.1.2/24' }]);
    assert.equal(r.interfaces.eth1.network, 'b');
  });

  it('collects routes and non-empty DNS blocks tagged with their network, and keeps raw results', () => {
    const a = {
      cniVersion: '1.1.0',
      routes: [{ dst: '0.0.0.0/0', gw: '10.0.0.1', table: 0 }],
      dns: { nameservers: ['10.0.0.1'], search: ['svc'] },
    };
    const b = { cniVersion: '1.1.0', dns: {} };
    const r = mergeResults([part('a', 'eth0', a), part('b', 'eth1', b)]);
    assert.deepEqual(r.routes, [{ dst: '0.0.0.0/0', gw: '10.0.0.1', table: 0, network: 'a' }]);
    assert.deepEqual(r.dns, [{ network: 'a', nameservers: ['10.0.0.1'], search: ['svc'] }]);
    assert.equal(r.networks[1]?.result, b);
    // a network whose result names no interfaces still shows the interface it was asked for
    assert.deepEqual(r.interfaces.eth1, { network: 'b', ips: [] });
  });

  it('ignores malformed entries instead of throwing', () => {
    const r = mergeResults([
      part('a', 'eth0', {
        cniVersion: '1.0.0',
        interfaces: [null, {}],
        ips: [{ interface: 7, address: '10.0.0.9/8' }, {}],
      }),
    ]);
    assert.deepEqual(r.interfaces.eth0?.ips, [{ address: '10.0.0.9/8' }]);
  });
});

describe('allocateInterfaceNames', () => {
  it('gives auto names in order, skipping explicit and fixed ones', () => {
    assert.deepEqual(
      allocateInterfaceNames(
        [
          { network: 'lo', ifName: 'lo' },
          { network: 'a' },
          { network: 'b', ifName: 'eth0' },
          { network: 'c' },
          { network: 'd', ifName: 'eth2' },
          { network: 'e' },
        ],
        'eth',
      ),
      ['lo', 'eth1', 'eth0', 'eth3', 'eth2', 'eth4'],
    );
  });

  it('refuses duplicate explicit names and names the kernel would refuse', () => {
    assert.throws(
      () =>
        allocateInterfaceNames(
          [
            { network: 'a', ifName: 'x' },
            { network: 'b', ifName: 'x' },
          ],
          'eth',
        ),
      ValidationError,
    );
    assert.throws(
      () => allocateInterfaceNames([{ network: 'a' }], 'averyveryverylongprefix'),
      ValidationError,
    );
    assert.throws(() => allocateInterfaceNames([{ network: 'a', ifName: 'a/b' }], 'eth'), ValidationError);
  });
});

describe('args merging', () => {
  it('overlays per-network CNI args in place and appends new keys', () => {
    assert.deepEqual(
      mergeArgs({ A: '1', B: '2' }, [
        ['B', '3'],
        ['C', '4'],
      ]),
      [
        ['A', '1'],
        ['B', '3'],
        ['C', '4'],
      ],
    );
    assert.equal(mergeArgs(undefined, {}), undefined);
    assert.deepEqual(argsToPairs([['K', 'V']]), [['K', 'V']]);
  });

  it('overlays capability args per key', () => {
    assert.deepEqual(mergeCapabilityArgs({ mac: 'a', ips: ['x'] }, { mac: 'b' }), { mac: 'b', ips: ['x'] });
    assert.equal(mergeCapabilityArgs(undefined, undefined), undefined);
  });
});

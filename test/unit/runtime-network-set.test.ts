import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { networkConfFromBytes } from '../../src/config/parse.ts';
import { buildNetworkSet, LOOPBACK_IFNAME, type ManagedNetwork } from '../../src/runtime/network-set.ts';
import { ConfigError, DuplicateNetworkError } from '../../src/core/errors.ts';

const list = (name: string, mark = '') =>
  networkConfFromBytes(JSON.stringify({ cniVersion: '1.0.0', name, plugins: [{ type: 'x', mark }] }));
const isDup = (e: Error) => e instanceof DuplicateNetworkError;
const all = { networks: 'all' } as const;

describe('buildNetworkSet', () => {
  const scan = {
    networks: [
      { file: '/d/10-a.conflist', list: list('a') },
      { file: '/d/20-b.conflist', list: list('b') },
      { file: '/d/30-c.conflist', list: list('c') },
    ],
    errors: [],
  };

  it('keeps the loader order, or the order of the names requested, and reports missing names', () => {
    assert.deepEqual(
      buildNetworkSet(scan, [], all).networks.map((n) => n.name),
      ['a', 'b', 'c'],
    );
    const named = buildNetworkSet(scan, [], { networks: ['c', 'x', 'a'] });
    assert.deepEqual(
      named.networks.map((n) => n.name),
      ['c', 'a'],
    );
    assert.deepEqual(named.missing, ['x']);
  });

  it('applies maxNetworks and puts the loopback network first as lo', () => {
    const set = buildNetworkSet(scan, [], { ...all, maxNetworks: 2, loopback: true });
    assert.deepEqual(
      set.networks.map((n) => [n.name, n.fixedIfName, n.builtin]),
      [
        ['cni-loopback', LOOPBACK_IFNAME, true],
        ['a', undefined, false],
        ['b', undefined, false],
      ],
    );
    assert.equal(set.networks[0]?.list.plugins[0]?.network.type, 'loopback');
  });

  it('keeps the last good version of a file that no longer parses, in its place', () => {
    const before = buildNetworkSet(scan, [], all).networks as ManagedNetwork[];
    const broken = new ConfigError('error parsing configuration list: unexpected end of JSON input', {
      file: '/d/20-b.conflist',
    });
    const after = buildNetworkSet(
      {
        networks: [scan.networks[0], scan.networks[2]] as typeof scan.networks,
        errors: [{ file: '/d/20-b.conflist', error: broken }],
      },
      before,
      all,
      isDup,
    );
    assert.deepEqual(
      after.networks.map((n) => [n.name, n.staleError?.message]),
      [
        ['a', undefined],
        ['b', broken.message],
        ['c', undefined],
      ],
    );
    assert.equal(after.configErrors.length, 1);
    // A file that never parsed has nothing to keep; a duplicate report keeps nothing either.
    const dup = new DuplicateNetworkError('a', '/d/40-a2.conflist', '/d/10-a.conflist');
    const again = buildNetworkSet(
      { networks: scan.networks, errors: [{ file: '/d/40-a2.conflist', error: dup }] },
      before,
      all,
      isDup,
    );
    assert.deepEqual(
      again.networks.map((n) => n.name),
      ['a', 'b', 'c'],
    );
  });

  it('first, all and names: a network with a missing plugin is skipped, and required only when named', () => {
    const missing = new Error('failed to find plugin "x2"');
    const unusable = (l: { name: string }) => (l.name === 'a' ? missing : undefined);
    const brief = (set: ReturnType<typeof buildNetworkSet>) => [
      set.networks.map((n) => n.name).join(','),
      set.skipped.map((x) => `${x.name}:${x.reason}:${String(x.required)}`).join(','),
    ];
    assert.deepEqual(brief(buildNetworkSet(scan, [], { loopback: true }, isDup, unusable)), [
      'cni-loopback,b',
      'a:pluginMissing:false,c:notSelected:false',
    ]);
    assert.deepEqual(brief(buildNetworkSet(scan, [], all, isDup, unusable)), [
      'b,c',
      'a:pluginMissing:false',
    ]);
    const named = buildNetworkSet(scan, [], { networks: ['c', 'a', 'c', 'x'] }, isDup, unusable);
    assert.deepEqual(brief(named), ['c', 'a:pluginMissing:true,b:notSelected:false']);
    assert.deepEqual(named.missing, ['x']);
    assert.equal(named.skipped[0]?.error, missing);
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isNetnsMount, isShared, parseMountinfo, topMountAt } from '../../src/netns/mountinfo.ts';
import { classifyHelperFailure } from '../../src/netns/netns.ts';
import { capEffHasSysAdmin } from '../../src/netns/privilege.ts';

const SAMPLE = [
  '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard',
  '50 27 0:26 /netns /run/netns rw,nosuid,nodev shared:5 - tmpfs tmpfs rw,size=1k',
  '51 50 0:4 net:[4026532296] /run/netns/blue rw - nsfs nsfs rw',
  '52 50 0:4 mnt:[4026532300] /run/netns/notnet rw - nsfs nsfs rw',
  '53 27 0:4 net:[4026532400] /tmp/with\\040space/ns\\134x rw master:3 - nsfs nsfs rw',
  '54 50 0:40 / /run/netns/blue rw - tmpfs tmpfs rw',
  'garbage line without separator',
  '',
].join('\n');

test('parses fields, propagation tags and octal escapes', () => {
  const m = parseMountinfo(SAMPLE);
  assert.equal(m.length, 6);
  assert.deepEqual(m[1], {
    mountId: 50,
    parentId: 27,
    root: '/netns',
    mountPoint: '/run/netns',
    optionalFields: ['shared:5'],
    fsType: 'tmpfs',
    source: 'tmpfs',
  });
  assert.equal(m[4]!.mountPoint, '/tmp/with space/ns\\x');
  assert.deepEqual(m[4]!.optionalFields, ['master:3']);
});

test('network namespace mounts are nsfs with a net:[...] root', () => {
  const m = parseMountinfo(SAMPLE);
  assert.deepEqual(
    m.filter(isNetnsMount).map((e) => e.mountPoint),
    ['/run/netns/blue', '/tmp/with space/ns\\x'],
  );
});

test('topMountAt returns the last mount stacked on a path', () => {
  const m = parseMountinfo(SAMPLE);
  assert.equal(topMountAt(m, '/run/netns/blue')?.fsType, 'tmpfs');
  assert.equal(topMountAt(m, '/run/netns/nothing'), undefined);
  assert.equal(isShared(topMountAt(m, '/run/netns')!), true);
  assert.equal(isShared(topMountAt(m, '/')!), false);
});

test('CapEff decides CAP_SYS_ADMIN (bit 21)', () => {
  assert.equal(capEffHasSysAdmin('Name:\tnode\nCapEff:\t000001ffffffffff\n'), true);
  assert.equal(capEffHasSysAdmin('CapEff:\t0000000000200000\n'), true);
  assert.equal(capEffHasSysAdmin('CapEff:\t00000000001fffff\n'), false);
  assert.equal(capEffHasSysAdmin('CapEff:\t0000000000000000\n'), false);
  assert.equal(capEffHasSysAdmin('no such line'), undefined);
});

test('helper failures map to error codes', () => {
  const base = { spawnError: undefined, timedOut: false };
  const enoent = Object.assign(new Error('spawn ip ENOENT'), { code: 'ENOENT' });
  assert.equal(classifyHelperFailure({ ...base, spawnError: enoent, stderr: '' }), 'ENOHELPER');
  assert.equal(classifyHelperFailure({ ...base, timedOut: true, stderr: '' }), 'ETIMEDOUT');
  assert.equal(
    classifyHelperFailure({ ...base, stderr: 'Cannot create namespace file "/run/netns/x": File exists' }),
    'EEXIST',
  );
  assert.equal(
    classifyHelperFailure({ ...base, stderr: 'unshare: unshare failed: Operation not permitted' }),
    'EPERM',
  );
  assert.equal(classifyHelperFailure({ ...base, stderr: 'mount: only root can do that' }), 'EPERM');
  assert.equal(
    classifyHelperFailure({ ...base, stderr: 'unshare: unshare failed: No space left on device' }),
    'EHELPER',
  );
});

// The inputs Go's cnitool reads from its environment, with its exact rules.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  absoluteNetns,
  attachmentInputs,
  cacheDirOf,
  cniPath,
  cnitoolContainerId,
  containerIdOf,
  ifNameOf,
  netConfPath,
  parseCapArgs,
  parseCniArgs,
  parseGcPairs,
} from '../../src/cli/runtime-inputs.ts';
import { ValidationError } from '../../src/core/errors.ts';

const fails = (fn: () => unknown, pattern: RegExp): void => {
  assert.throws(fn, (e: unknown) => e instanceof ValidationError && pattern.test(e.message));
};

describe('cnitool runtime inputs', () => {
  test("container id: Go's formula, checked against a value Go's cnitool printed", () => {
    // From shared/ref/README.md: golibcni containerid /var/run/netns/refm0.
    assert.equal(cnitoolContainerId('/var/run/netns/refm0'), 'cnitool-56ceaf6655c38de30727');
    assert.match(cnitoolContainerId('/x'), /^cnitool-[0-9a-f]{20}$/);
  });

  test('the netns path is made absolute and cleaned like filepath.Abs, symlinks untouched', () => {
    assert.equal(absoluteNetns('blue', '/run/netns'), '/run/netns/blue');
    assert.equal(absoluteNetns('/var//run/./netns/../netns/blue/', '/'), '/var/run/netns/blue');
    assert.equal(absoluteNetns('../x', '/a/b'), '/a/x');
  });

  test('CNI_CONTAINERID overrides the derived id when non-empty, and is validated', () => {
    assert.equal(containerIdOf('/n', { CNI_CONTAINERID: 'abc' }), 'abc');
    assert.equal(containerIdOf('/n', { CNI_CONTAINERID: '' }), cnitoolContainerId('/n'));
    fails(() => containerIdOf('/n', { CNI_CONTAINERID: 'a/b' }), /invalid characters in containerID/);
  });

  test("CNI_ARGS: Go's strict K=V;K=V", () => {
    assert.equal(parseCniArgs(undefined), undefined);
    assert.equal(parseCniArgs(''), undefined);
    assert.deepEqual(parseCniArgs('IgnoreUnknown=1;K8S_POD_NAME=web'), [
      ['IgnoreUnknown', '1'],
      ['K8S_POD_NAME', 'web'],
    ]);
    fails(() => parseCniArgs('A=1;'), /^invalid CNI_ARGS pair ""$/);
    fails(() => parseCniArgs('A=1=2'), /^invalid CNI_ARGS pair "A=1=2"$/);
    fails(() => parseCniArgs('=1'), /pair "=1"/);
    fails(() => parseCniArgs('A='), /pair "A="/);
    fails(() => parseCniArgs('A'), /pair "A"/);
  });

  test('CAP_ARGS: a JSON object; null is none; anything else fails', () => {
    assert.equal(parseCapArgs(undefined), undefined);
    assert.equal(parseCapArgs('null'), undefined);
    assert.deepEqual(parseCapArgs('{"portMappings":[{"hostPort":8080}]}'), {
      portMappings: [{ hostPort: 8080 }],
    });
    fails(() => parseCapArgs('{"a":'), /invalid CAP_ARGS: not JSON/);
    fails(() => parseCapArgs('[1]'), /must be a JSON object, got an array/);
    fails(() => parseCapArgs('"s"'), /got a string/);
  });

  test('interface name: flag, else CNI_IFNAME, else eth0 only when unset', () => {
    assert.equal(ifNameOf(undefined, {}), 'eth0');
    assert.equal(ifNameOf(undefined, { CNI_IFNAME: 'net1' }), 'net1');
    assert.equal(ifNameOf('net2', { CNI_IFNAME: 'net1' }), 'net2');
    fails(() => ifNameOf(undefined, { CNI_IFNAME: '' }), /^interface name is empty$/);
    fails(() => ifNameOf('', {}), /interface name is empty/);
    fails(() => ifNameOf('a:b', {}), /contains \/ or :/);
    fails(() => ifNameOf('x'.repeat(16), {}), /too long/);
  });

  test('NETCONFPATH, CNI_PATH and the cache dir defaults', () => {
    assert.equal(netConfPath({}), '/etc/cni/net.d');
    assert.equal(netConfPath({ NETCONFPATH: '' }), '/etc/cni/net.d');
    assert.equal(netConfPath({ NETCONFPATH: '/c' }), '/c');
    assert.deepEqual(cniPath({}), []);
    assert.deepEqual(cniPath({ CNI_PATH: '/a:/b' }), ['/a', '/b']);
    assert.equal(cacheDirOf(undefined, {}), '/var/lib/cni');
    assert.equal(cacheDirOf(undefined, { CNI_CACHE_DIR: '/e' }), '/e');
    assert.equal(cacheDirOf('/f', { CNI_CACHE_DIR: '/e' }), '/f');
  });

  test("attachmentInputs checks in Go's order: CAP_ARGS, CNI_ARGS, ifname", () => {
    const env = { CAP_ARGS: '[', CNI_ARGS: 'x', CNI_IFNAME: '' };
    fails(() => attachmentInputs('ns', undefined, env, '/run/netns'), /CAP_ARGS/);
    fails(() => attachmentInputs('ns', undefined, { ...env, CAP_ARGS: '' }, '/run/netns'), /CNI_ARGS/);
    fails(
      () => attachmentInputs('ns', undefined, { CNI_IFNAME: '' }, '/run/netns'),
      /interface name is empty/,
    );
    fails(() => attachmentInputs('', undefined, {}, '/'), /netns path is empty/);
    assert.deepEqual(attachmentInputs('ns', 'net1', { CNI_ARGS: 'A=1' }, '/run/netns'), {
      containerId: cnitoolContainerId('/run/netns/ns'),
      netns: '/run/netns/ns',
      ifName: 'net1',
      args: [['A', '1']],
      capabilityArgs: undefined,
    });
  });

  test('gc pairs are <containerId>:<ifName>, each part validated; a netns path gets a hint', () => {
    assert.deepEqual(parseGcPairs(['c1:eth0', 'c2:net1']), [
      { containerId: 'c1', ifName: 'eth0' },
      { containerId: 'c2', ifName: 'net1' },
    ]);
    fails(() => parseGcPairs(['c1']), /is not <containerId>:<ifName>$/);
    fails(() => parseGcPairs(['c1:eth0:x']), /is not <containerId>:<ifName>/);
    fails(() => parseGcPairs(['/var/run/netns/x']), /pass --all/);
    fails(() => parseGcPairs(['c 1:eth0']), /invalid characters in containerID/);
    fails(() => parseGcPairs(['c1:' + 'e'.repeat(16)]), /too long/);
  });
});

// Typed capabilities on NetworkManager.setup: checked before any plugin runs (a ValidationError
// naming the field, unknown keys included), merged with capabilityArgs by a stated rule, delivered
// in runtimeConfig only to the plugins that declare them, and reported when no plugin does.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ValidationError } from '../../src/core/errors.ts';
import { validateCapabilities } from '../../src/runtime/capabilities.ts';
import { type CapabilityUnusedEvent, NetworkManager } from '../../src/runtime/manager.ts';
import { makeRuntimeSandbox, type RuntimeSandbox } from '../helpers/runtime-plugins.ts';

let sb: RuntimeSandbox;
const manager = (): NetworkManager => sb.manager();

beforeEach(async () => {
  sb = await makeRuntimeSandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

/** The ValidationError `fn` rejects with. */
async function validationError(p: Promise<unknown>): Promise<ValidationError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof ValidationError, `expected a ValidationError, got ${String(err)}`);
  return err;
}

describe('validateCapabilities', () => {
  it('accepts every capability of CONVENTIONS.md in its documented shape', () => {
    const caps = {
      portMappings: [
        { hostPort: 8080, containerPort: 80, protocol: 'tcp' as const },
        { hostPort: 8000, containerPort: 8001, protocol: 'udp' as const, hostIP: '127.0.0.1' },
      ],
      ipRanges: [
        [{ subnet: '10.1.2.0/24', rangeStart: '10.1.2.3', rangeEnd: '10.1.2.99', gateway: '10.1.2.254' }],
      ],
      bandwidth: { ingressRate: 2048, ingressBurst: 1600, egressRate: 4096, egressBurst: 1600 },
      dns: { searches: ['internal.yoyodyne.net'], servers: ['8.8.8.8', '10.0.0.10'], options: ['ndots:5'] },
      ips: ['192.168.0.1', '10.10.0.1/24', '3ffe:ffff:0:01ff::2', '3ffe:ffff:0:01ff::1/64'],
      mac: 'c2:11:22:33:44:55',
      infinibandGUID: 'c2:11:22:33:44:55:66:77',
      deviceID: '0000:04:00.5',
      aliases: ['my-container', 'primary-db'],
      cgroupPath: '/kubelet.slice/kubelet-kubepods.slice',
      'io.kubernetes.cri.pod-annotations': { 'example.com/x': 'y' },
    };
    assert.deepEqual(validateCapabilities(caps), caps);
  });

  it('names the bad field, down to the array index', () => {
    const cases: Array<[unknown, string]> = [
      [
        { portMappings: [{ hostPort: 70000, containerPort: 80, protocol: 'tcp' }] },
        'capabilities.portMappings[0].hostPort',
      ],
      [
        { portMappings: [{ hostPort: 80, containerPort: 80, protocol: 'icmp' }] },
        'capabilities.portMappings[0].protocol',
      ],
      [
        { portMappings: [{ hostport: 80, hostPort: 80, containerPort: 80, protocol: 'tcp' }] },
        'capabilities.portMappings[0].hostport',
      ],
      [{ ipRanges: [[{ subnet: '10.1.2.0' }]] }, 'capabilities.ipRanges[0][0].subnet'],
      [{ bandwidth: { ingressRate: -1 } }, 'capabilities.bandwidth.ingressRate'],
      [{ dns: { servers: ['not-an-ip'] } }, 'capabilities.dns.servers[0]'],
      [{ ips: ['10.0.0.1/33'] }, 'capabilities.ips[0]'],
      [{ mac: 'c2:11:22:33:44' }, 'capabilities.mac'],
      [{ infinibandGUID: 'c2:11:22:33:44:55' }, 'capabilities.infinibandGUID'],
      [{ deviceID: '' }, 'capabilities.deviceID'],
      [{ aliases: 'db' }, 'capabilities.aliases'],
      [{ cgroupPath: 42 }, 'capabilities.cgroupPath'],
      [
        { 'io.kubernetes.cri.pod-annotations': { a: 1 } },
        'capabilities["io.kubernetes.cri.pod-annotations"].a',
      ],
    ];
    for (const [value, field] of cases) {
      assert.throws(
        () => validateCapabilities(value),
        (e: unknown) => e instanceof ValidationError && e.field === field && e.message.includes(field),
        field,
      );
    }
  });

  it('refuses a key that is no capability, and suggests the one meant', () => {
    assert.throws(
      () => validateCapabilities({ portMapping: [] }),
      (e: unknown) =>
        e instanceof ValidationError &&
        e.field === 'capabilities.portMapping' &&
        /unknown capability "portMapping" \(did you mean "portMappings"\?\)/.test(e.message),
    );
  });
});

describe('setup with capabilities', () => {
  it('fails before any plugin runs when a capability is invalid', async () => {
    await sb.writeNetwork('10-a.conflist', 'neta', {}, { capabilities: { portMappings: true } });
    const m = manager();
    const bad = [{ hostPort: 0, containerPort: 80, protocol: 'tcp' as const }];
    const err = await validationError(m.setup('c1', '/x', { capabilities: { portMappings: bad } }));
    assert.equal(err.field, 'capabilities.portMappings[0].hostPort');
    const typo = await validationError(
      m.setup('c1', '/x', { capabilities: { portMapping: [] } as unknown as { portMappings: [] } }),
    );
    assert.equal(typo.field, 'capabilities.portMapping');
    const perNet = await validationError(
      m.setup('c1', '/x', { perNetwork: { neta: { capabilities: { mac: 'zz' } } } }),
    );
    assert.equal(perNet.field, 'perNetwork["neta"].capabilities.mac');
    assert.deepEqual(await sb.calls(), []);
  });

  it('a key in both capabilities and capabilityArgs is an error, at any level', async () => {
    await sb.writeNetwork('10-a.conflist', 'neta', {}, { capabilities: { mac: true } });
    const m = manager();
    const err = await validationError(
      m.setup('c1', '/x', {
        capabilities: { mac: '02:00:00:00:00:09' },
        perNetwork: { neta: { capabilityArgs: { mac: '02:00:00:00:00:0a' } } },
      }),
    );
    assert.equal(err.field, 'capabilities.mac');
    assert.deepEqual(await sb.calls(), []);
  });

  it('delivers typed and free-form capabilities to declaring plugins, a network overriding per key', async () => {
    await sb.writeNetwork(
      '10-a.conflist',
      'neta',
      {},
      { capabilities: { mac: true, portMappings: true, custom: true } },
    );
    await sb.writeNetwork('20-b.conflist', 'netb', {}, { capabilities: { mac: true } });
    const m = manager();
    const pm = [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' as const }];
    await m.setup('c1', '/x', {
      capabilities: { mac: '02:00:00:00:00:01', portMappings: pm },
      capabilityArgs: { custom: { x: 1 } },
      perNetwork: { netb: { capabilities: { mac: '02:00:00:00:00:02' } } },
    });
    const [a, b] = await sb.calls();
    assert.deepEqual(a?.conf.runtimeConfig, { mac: '02:00:00:00:00:01', portMappings: pm, custom: { x: 1 } });
    assert.deepEqual(b?.conf.runtimeConfig, { mac: '02:00:00:00:00:02' });
  });

  it('raises capabilityUnused for each capability no plugin of a network declares, and drops it', async () => {
    await sb.writeNetwork('10-a.conflist', 'neta', {}, { capabilities: { portMappings: true } });
    await sb.writeNetwork('20-b.conflist', 'netb');
    const m = manager();
    const unused: CapabilityUnusedEvent[] = [];
    m.on('capabilityUnused', (e) => unused.push(e));
    const pm = [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' as const }];
    await m.setup('c1', '/x', { capabilities: { portMappings: pm }, capabilityArgs: { portMapping: pm } });
    assert.deepEqual(unused, [
      { containerId: 'c1', network: 'neta', capability: 'portMapping' },
      { containerId: 'c1', network: 'netb', capability: 'portMapping' },
      { containerId: 'c1', network: 'netb', capability: 'portMappings' },
    ]);
    const [a, b] = await sb.calls();
    assert.deepEqual(a?.conf.runtimeConfig, { portMappings: pm });
    assert.equal(b?.conf.runtimeConfig, undefined);
  });
});

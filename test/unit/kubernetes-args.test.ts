// Kubernetes-style CNI_ARGS: kubernetesArgs builds them in ocicni's and containerd's order, and
// CNIConfig's `ignoreUnknownArgs` puts IgnoreUnknown=1 first (off by default, as Go libcni sends
// args as given).
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { CNIConfig } from '../../src/cni/config.ts';
import { networkConfFromBytes } from '../../src/config/parse.ts';
import { kubernetesArgs } from '../../src/runtime/args.ts';
import { makeRuntimeSandbox, type RuntimeSandbox } from '../helpers/runtime-plugins.ts';

let sb: RuntimeSandbox;
beforeEach(async () => {
  sb = await makeRuntimeSandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

describe('kubernetesArgs', () => {
  it('gives namespace, name, infra container id and uid, leaving out what is not given', () => {
    assert.deepEqual(
      kubernetesArgs({ namespace: 'default', name: 'web', uid: 'u-1', infraContainerId: 'sb1' }),
      [
        ['K8S_POD_NAMESPACE', 'default'],
        ['K8S_POD_NAME', 'web'],
        ['K8S_POD_INFRA_CONTAINER_ID', 'sb1'],
        ['K8S_POD_UID', 'u-1'],
      ],
    );
    assert.deepEqual(kubernetesArgs({ namespace: 'ns', name: 'p' }), [
      ['K8S_POD_NAMESPACE', 'ns'],
      ['K8S_POD_NAME', 'p'],
    ]);
  });
});

describe('CNIConfig ignoreUnknownArgs', () => {
  async function argsSent(options: { ignoreUnknownArgs?: boolean }, args?: Array<[string, string]>) {
    const file = await sb.writeNetwork('10-a.conflist', 'neta');
    const list = networkConfFromBytes(await fs.readFile(file));
    const cni = new CNIConfig({ path: [sb.pluginDir], cacheDir: sb.cacheDir, ...options });
    const rt = { containerId: 'c1', netns: '/x', ifName: 'eth0', args };
    await cni.addNetworkList(list, rt);
    await cni.delNetworkList(list, rt);
    return (await sb.calls()).map((c) => c.args);
  }

  it('puts IgnoreUnknown=1 first when on, there are args and none is IgnoreUnknown', async () => {
    const args = kubernetesArgs({ namespace: 'ns', name: 'p' });
    assert.deepEqual(await argsSent({ ignoreUnknownArgs: true }, args), [
      'IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p',
      'IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p',
    ]);
    // Nothing without args, nor when the caller gave IgnoreUnknown; off by default (Go sends args as given).
    await fs.rm(sb.log, { force: true });
    assert.deepEqual(await argsSent({ ignoreUnknownArgs: true }), ['', '']);
    await fs.rm(sb.log, { force: true });
    assert.deepEqual(
      await argsSent({ ignoreUnknownArgs: true }, [
        ['K8S_POD_NAME', 'p'],
        ['IgnoreUnknown', 'true'],
      ]),
      ['K8S_POD_NAME=p;IgnoreUnknown=true', 'K8S_POD_NAME=p;IgnoreUnknown=true'],
    );
    await fs.rm(sb.log, { force: true });
    assert.deepEqual(await argsSent({}, [['K8S_POD_NAME', 'p']]), ['K8S_POD_NAME=p', 'K8S_POD_NAME=p']);
  });
});

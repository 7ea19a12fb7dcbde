/**
 * Plugin compatibility: which spec versions each installed reference plugin speaks (VERSION through
 * CNIConfig.getVersionInfo), and what that means for GC and STATUS, which the spec added in 1.1.0:
 * the 1.1.1 plugins do not list 1.1.0, so through our library a 1.1.0 list is rejected by
 * validateNetworkList; and GC/STATUS at 1.1.0, sent anyway, reach the plugin and come back as its
 * error. Their skel (CNI library 1.0) validates CNI_CONTAINERID for every command but VERSION, and
 * GC/STATUS carry none, so that error is code 3 "missing containerID" before any version check.
 * No root needed: nothing here touches the kernel.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { CNIConfig } from '../../src/cni/index.ts';
import { networkConfFromBytes } from '../../src/config/parse.ts';
import { ErrorCode, VersionError, findCniError } from '../../src/core/errors.ts';
import { announceSkip, missingPackage, PLUGIN_DIR, RecordingExec, skipIf } from './helpers.ts';

const ALL = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0'];
/** What containernetworking-plugins 1.1.1 reports; the table in docs/compatibility.md is built from this. */
const EXPECTED: Record<string, string[]> = {
  bridge: ALL,
  ptp: ALL,
  macvlan: ALL,
  ipvlan: ALL,
  vlan: ALL,
  'host-device': ALL,
  loopback: ALL,
  'host-local': ALL,
  static: ALL,
  dhcp: ALL,
  portmap: ALL,
  tuning: ALL,
  bandwidth: ['0.3.0', '0.3.1', '0.4.0', '1.0.0'],
  firewall: ['0.4.0', '1.0.0'],
  sbr: ALL,
  vrf: ['0.3.1', '0.4.0', '1.0.0'],
};
const PLUGINS = Object.keys(EXPECTED);

const missing = PLUGINS.filter((p) => !existsSync(path.join(PLUGIN_DIR, p)));
const skip =
  missing.length > 0
    ? missingPackage(
        `plugin binaries ${missing.join(', ')} not in ${PLUGIN_DIR} (Debian package containernetworking-plugins)`,
      )
    : undefined;
if (skip) announceSkip('plugin suite: VERSION / GC / STATUS', skip);

let root = '';
let cni: CNIConfig;
const exec = new RecordingExec();

function list110(plugin: string) {
  return networkConfFromBytes(
    JSON.stringify({ cniVersion: '1.1.0', name: `lcp-v110-${plugin}`, plugins: [{ type: plugin }] }),
  );
}

describe('VERSION, GC and STATUS of every plugin', () => {
  before(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'libcni-'));
    cni = new CNIConfig({ path: [PLUGIN_DIR], cacheDir: path.join(root, 'cache'), exec, timeoutMs: 10_000 });
  });
  after(async () => {
    if (root) await fs.rm(root, { recursive: true, force: true });
  });

  it('VERSION: every plugin reports the spec versions of containernetworking-plugins 1.1.1 (up to 1.0.0, none with GC/STATUS)', async (t) => {
    if (skipIf(t, skip)) return;
    const got: Record<string, string[]> = {};
    for (const p of PLUGINS) got[p] = (await cni.getVersionInfo(p)).supportedVersions;
    assert.deepEqual(got, EXPECTED);
  });

  it('1.1.0 lists are refused by validateNetworkList for every plugin (VersionError naming the plugin)', async (t) => {
    if (skipIf(t, skip)) return;
    for (const p of PLUGINS) {
      const err = await cni.validateNetworkList(list110(p)).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err, `${p} accepted 1.1.0`);
      const inner = (err as { errors?: Error[] }).errors?.[0];
      assert.ok(inner instanceof VersionError, `${p}: ${(err as Error).message}`);
      assert.equal(inner.message, `plugin ${p} does not support config version "1.1.0"`);
    }
  });

  it('GC at 1.1.0 reaches every plugin (CNI_COMMAND=GC with cni.dev/valid-attachments) and returns the plugin error (code 3, missing containerID)', async (t) => {
    if (skipIf(t, skip)) return;
    for (const p of PLUGINS) {
      exec.calls.length = 0;
      const err = await cni
        .gcNetworkList(list110(p), { validAttachments: [{ containerId: 'lcp-keep', ifName: 'eth0' }] })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.deepEqual(
        exec.calls.map((c) => `${c.plugin} ${c.command}`),
        [`${p} GC`],
      );
      assert.deepEqual(exec.calls[0]?.stdin['cni.dev/valid-attachments'], [
        { containerID: 'lcp-keep', ifname: 'eth0' },
      ]);
      assert.ok(err instanceof Error, `${p} accepted GC`);
      assert.match(err.message, new RegExp(`^failed to GC plugin ${p}: `));
      assert.equal(findCniError(err)?.code, ErrorCode.UnknownContainer, `${p}: ${err.message}`);
      assert.equal(findCniError(err)?.msg, 'missing containerID');
    }
  });

  it('STATUS at 1.1.0 reaches every plugin and returns the plugin error (code 3, missing containerID)', async (t) => {
    if (skipIf(t, skip)) return;
    for (const p of PLUGINS) {
      exec.calls.length = 0;
      const err = await cni.getStatusNetworkList(list110(p)).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.deepEqual(
        exec.calls.map((c) => `${c.plugin} ${c.command}`),
        [`${p} STATUS`],
      );
      assert.equal(findCniError(err)?.code, ErrorCode.UnknownContainer, `${p}: ${String(err)}`);
      assert.equal(findCniError(err)?.msg, 'missing containerID');
    }
  });
});

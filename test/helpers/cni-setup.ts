/**
 * Shared setup for the CNIConfig tests (test/unit/cni-*.test.ts), which reproduce Go libcni's
 * upstream API tests: a plugin directory of fixture plugins, a temp cache directory, a CNIConfig
 * over both, and readers for what each fake plugin received and what landed in the cache.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CNIConfig, type RuntimeConf } from '../../src/cni/index.ts';
import { networkConfFromBytes } from '../../src/config/parse.ts';
import type { NetworkConfigList } from '../../src/config/types.ts';
import {
  type FakeCall,
  type FakePlan,
  type FixtureName,
  makePluginDir,
  type PluginDir,
  readCalls,
} from './fixtures.ts';

/** The spec version Go's tests call `version.Current()`. */
export const CURRENT = '1.1.0';

/** A plugin directory, a cache directory and a CNIConfig using them. */
export interface CniFixture {
  plugins: PluginDir;
  /** Cache root (entries live in `<cacheDir>/results`). */
  cacheDir: string;
  cni: CNIConfig;
  /** `<cacheDir>/results/<network>-<containerId>-<ifName>`, as Go names cache files. */
  cacheFile(network: string, rt: Pick<RuntimeConf, 'containerId' | 'ifName'>): string;
  /** Write raw text as the cache file of an attachment (creating `results/`). */
  writeCache(network: string, rt: Pick<RuntimeConf, 'containerId' | 'ifName'>, text: string): Promise<string>;
  /** Names in `<cacheDir>/results`, sorted ([] when the directory does not exist). */
  cacheNames(): Promise<string[]>;
  /**
   * What the plugins wrote on stderr, chunk by chunk with the call it came from: the CNIConfig gets
   * a `stderr` listener that records it here instead of copying it to the test run's output.
   */
  stderr: Array<{ text: string; command: string | undefined; network: string | undefined }>;
}

const cleanups: Array<() => Promise<void>> = [];

/** Remove every fixture made so far; call it from a file-level `after` hook. */
export async function cleanupFixtures(): Promise<void> {
  await Promise.all(cleanups.splice(0).map((c) => c()));
}

/**
 * Make a plugin directory holding `plugins` (type → fixture) and a CNIConfig whose cache lives
 * in the same temp root. Removed by {@link cleanupFixtures}.
 */
export async function makeCniFixture(
  plugins: Readonly<Record<string, FixtureName>>,
  options?: { timeoutMs?: number },
): Promise<CniFixture> {
  const dir = await makePluginDir(plugins);
  cleanups.push(() => dir.cleanup());
  const cacheDir = path.join(dir.root, 'cache');
  const cacheFile = (network: string, rt: Pick<RuntimeConf, 'containerId' | 'ifName'>): string =>
    path.join(cacheDir, 'results', `${network}-${rt.containerId}-${rt.ifName}`);
  const stderr: CniFixture['stderr'] = [];
  return {
    stderr,
    plugins: dir,
    cacheDir,
    // cacheSync 'none': fsync buys nothing in a temp dir and costs time on a shared machine.
    cni: new CNIConfig({
      path: [dir.dir],
      cacheDir,
      timeoutMs: options?.timeoutMs,
      cacheSync: 'none',
      stderr: (chunk, info) => {
        stderr.push({ text: chunk.toString('utf8'), command: info.command, network: info.network });
      },
    }),
    cacheFile,
    async writeCache(network, rt, text) {
      const file = cacheFile(network, rt);
      await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      await fs.writeFile(file, text, { mode: 0o600 });
      return file;
    },
    async cacheNames() {
      try {
        return (await fs.readdir(path.join(cacheDir, 'results'))).sort();
      } catch {
        return [];
      }
    },
  };
}

/** The request config a plugin read on stdin, parsed. */
export function stdinOf(call: FakeCall | undefined): Record<string, unknown> {
  if (!call) throw new Error('expected a recorded plugin call');
  if (call.stdin === null) throw new Error(`the ${call.command} call did not read stdin`);
  return JSON.parse(call.stdin) as Record<string, unknown>;
}

/** The `CNI_*` variables a plugin was started with (everything else is the inherited environment). */
export function cniVarsOf(call: FakeCall | undefined): Record<string, string> {
  if (!call) throw new Error('expected a recorded plugin call');
  return Object.fromEntries(Object.entries(call.env).filter(([k]) => k.startsWith('CNI_')));
}

/** The commands recorded in a fake plugin's debug file, in order. */
export async function commandsIn(debugFile: string): Promise<string[]> {
  return (await readCalls(debugFile)).map((c) => c.command);
}

/** Parse a JSON text (a fixture constant) into a plain object. */
export function json(text: string): Record<string, unknown> {
  return JSON.parse(text) as Record<string, unknown>;
}

// ---- upstream's three-plugin list ------------------------------------------------------------

/** Port mappings as upstream's tests pass them in CapabilityArgs. */
export const PORT_MAPPINGS = [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }];

/** The capability arguments upstream's list tests pass. */
export const LIST_CAPABILITY_ARGS = { portMappings: PORT_MAPPINGS, otherCapability: 33 };

/** What the list's first plugin answers to ADD (upstream's ipResult). */
export const IP_RESULT = `{"cniVersion":"${CURRENT}","ips":[{"address":"10.1.2.3/24"}]}`;

/** The same address as a 0.4.0 result. */
export const IP_RESULT_040 =
  '{"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.1.2.3/24"}],"dns":{}}';

/** The plan upstream's list runs ADD with: an IP, then PASSTHROUGH, then INJECT-DNS. */
export const LIST_ADD_PLAN: FakePlan = {
  ADD: [{ result: IP_RESULT }, { result: 'PASSTHROUGH' }, { result: 'INJECT-DNS' }],
};

/** The `some-key` of each of the list's plugins, which tells their calls apart in the shared log. */
const SOME_KEYS = ['some-value', 'some-other-value', 'yet-another-value'];

/** One plugin's config text, written as upstream's newPluginInfo writes it. */
function pluginText(someKey: string, prevResult: string | undefined, capabilities: string[]): string {
  let text = `{"type": "noop", "some-key": "${someKey}"`;
  if (prevResult !== undefined) text += `, "prevResult": ${prevResult}`;
  if (capabilities.length > 0) {
    text += `, "capabilities": {${capabilities.map((c) => `"${c}": true`).join(', ')}}`;
  }
  return `${text}}`;
}

/**
 * Upstream's makePluginList: three `noop` plugins with capabilities [portMappings,
 * otherCapability], [otherCapability] and none (the last two with `prevResult` written in their
 * file), and what each must read on stdin for ADD/CHECK/DEL without an injected prevResult.
 */
export function makePluginList(cniVersion: string, ipResult: string = IP_RESULT) {
  const texts = [
    pluginText(SOME_KEYS[0] as string, undefined, ['portMappings', 'otherCapability']),
    pluginText(SOME_KEYS[1] as string, ipResult, ['otherCapability']),
    pluginText(SOME_KEYS[2] as string, ipResult, []),
  ];
  const list = networkConfFromBytes(
    `{\n"name": "some-list",\n"cniVersion": "${cniVersion}",\n"plugins": [\n${texts.join(',\n')}\n]\n}`,
  );
  // Only the capabilities each plugin declares reach its runtimeConfig.
  const runtimeConfigs = [
    { portMappings: PORT_MAPPINGS, otherCapability: 33 },
    { otherCapability: 33 },
    undefined,
  ];
  const stdinData = texts.map((t, i) => {
    const conf: Record<string, unknown> = { ...json(t), name: 'some-list', cniVersion };
    if (runtimeConfigs[i]) conf.runtimeConfig = runtimeConfigs[i];
    return conf;
  });
  return { list, texts, stdinData };
}

/**
 * A CNIConfig over upstream's list. All three plugins are the one fake `noop` and record into one
 * log (`calls()`), so the order they ran in is visible; `plan` steps are used call by call.
 */
export async function listFixture(options?: { cniVersion?: string; ipResult?: string; plan?: FakePlan }) {
  const cniVersion = options?.cniVersion ?? CURRENT;
  const f = await makeCniFixture({ noop: 'fake' });
  await f.plugins.writePlan('noop', options?.plan ?? LIST_ADD_PLAN);
  const { list, texts, stdinData } = makePluginList(cniVersion, options?.ipResult);
  const rt: RuntimeConf = {
    containerId: 'some-container-id',
    netns: '/some/netns/path',
    ifName: 'some-eth0',
    args: [['FOO', 'BAR']],
    capabilityArgs: LIST_CAPABILITY_ARGS,
  };
  const expectedVars = (command: string): Record<string, string> => ({
    CNI_COMMAND: command,
    CNI_CONTAINERID: 'some-container-id',
    CNI_NETNS: '/some/netns/path',
    CNI_IFNAME: 'some-eth0',
    CNI_ARGS: 'FOO=BAR',
    CNI_PATH: f.plugins.dir,
  });
  return { ...f, list, texts, stdinData, rt, expectedVars, calls: () => f.plugins.calls('noop') };
}

/** Which of the list's three plugins made a call (by its `some-key`; -1 for VERSION probes). */
export function pluginIndex(call: FakeCall): number {
  if (call.command === 'VERSION') return -1;
  return SOME_KEYS.indexOf(stdinOf(call)['some-key'] as string);
}

/** `[command, plugin index]` for every recorded call, in order. */
export function trace(calls: readonly FakeCall[]): Array<[string, number]> {
  return calls.map((c) => [c.command, pluginIndex(c)]);
}

/** The list with plugin `index` looked up under another executable name (Go mutates `Network.Type`). */
export function withPluginType(list: NetworkConfigList, index: number, type: string): NetworkConfigList {
  const plugins = list.plugins.map((p, i) =>
    i === index ? { network: { ...p.network, type }, bytes: p.bytes } : p,
  );
  return { ...list, plugins };
}

/**
 * Security properties (threat model: configuration files and runtime inputs are untrusted, plugin
 * binaries in the search path are trusted):
 * - a plugin type, network name, container id or interface name that tries to leave its directory
 *   is refused before any plugin runs or any file is created;
 * - the cache directory is 0700 and its files 0600, whatever the umask;
 * - no shell anywhere: src/ never asks for one, and a plugin file the kernel cannot execute itself
 *   (which execvp would hand to /bin/sh) is refused;
 * - `env: 'minimal'` gives plugins PATH and the CNI variables only.
 */
import assert from 'node:assert/strict';
import { existsSync, promises as fs, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CNIConfig, type RuntimeConf } from '../../src/cni/index.ts';
import { networkConfFromBytes } from '../../src/config/parse.ts';
import type { NetworkConfigList } from '../../src/config/types.ts';
import { findInPath } from '../../src/invoke/find.ts';
import { NetworkManager } from '../../src/runtime/manager.ts';
import { LibcniError, PluginSpawnError } from '../../src/core/errors.ts';
import { makePluginDir, type PluginDir } from '../helpers/fixtures.ts';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/** Values that try to leave a directory, or break a path. */
const HOSTILE = ['../../escape', '..', '.', 'a/b', '/abs', 'nul\0byte', 'x'.repeat(300)];

describe('path traversal through names is refused before anything runs or is written', () => {
  let plugins: PluginDir;
  let cacheDir: string;
  before(async () => {
    // `fake` is the legitimate plugin; `trap` sits one level up, where `../trap` would reach it.
    plugins = await makePluginDir({ fake: 'fake' });
    await fs.symlink(plugins.realPath('fake'), path.join(plugins.root, 'trap'));
    await fs.writeFile(path.join(plugins.root, 'trap.debug'), '');
    cacheDir = path.join(plugins.root, 'cache');
  });
  after(() => plugins.cleanup());

  function listWith(type: string, name = 'safenet'): NetworkConfigList {
    return networkConfFromBytes(JSON.stringify({ cniVersion: '1.0.0', name, plugins: [{ type }] }));
  }

  async function assertRefusedQuietly(
    run: (cni: CNIConfig) => Promise<unknown>,
    what: string,
  ): Promise<void> {
    const cni = new CNIConfig({ path: [plugins.dir], cacheDir });
    const err = await run(cni).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof LibcniError, `${what}: expected a typed refusal, got ${String(err)}`);
    assert.deepEqual(await plugins.calls('fake'), [], `${what}: no plugin ran`);
    assert.equal(
      readFileSync(path.join(plugins.root, 'trap.debug'), 'utf8'),
      '',
      `${what}: the trap did not run`,
    );
    assert.equal(existsSync(cacheDir), false, `${what}: nothing was written`);
    assert.deepEqual(
      readdirSync(plugins.root).sort(),
      ['bin', 'real', 'trap', 'trap.debug'],
      `${what}: no file appeared next to the cache`,
    );
  }

  const rt = (over: Partial<RuntimeConf>): RuntimeConf => ({
    containerId: 'ctr',
    netns: '/run/netns/x',
    ifName: 'eth0',
    ...over,
  });

  for (const command of ['ADD', 'CHECK', 'DEL'] as const) {
    const op = (cni: CNIConfig, list: NetworkConfigList, r: RuntimeConf) =>
      command === 'ADD'
        ? cni.addNetworkList(list, r)
        : command === 'CHECK'
          ? cni.checkNetworkList(list, r)
          : cni.delNetworkList(list, r);

    test(`${command}: hostile plugin types`, async () => {
      for (const type of ['../trap', '/bin/true', `${plugins.root}/trap`, 'fa\0ke', 'x'.repeat(5000), '..']) {
        await assertRefusedQuietly(
          (cni) => op(cni, listWith(type), rt({})),
          `${command} type ${JSON.stringify(type)}`,
        );
      }
    });

    test(`${command}: hostile network names, container ids and interface names`, async () => {
      for (const bad of HOSTILE) {
        await assertRefusedQuietly(
          (cni) => op(cni, listWith('fake', bad), rt({})),
          `${command} network ${JSON.stringify(bad)}`,
        );
        await assertRefusedQuietly(
          (cni) => op(cni, listWith('fake'), rt({ containerId: bad })),
          `${command} containerId ${JSON.stringify(bad)}`,
        );
        await assertRefusedQuietly(
          (cni) => op(cni, listWith('fake'), rt({ ifName: bad })),
          `${command} ifName ${JSON.stringify(bad)}`,
        );
      }
      // Each part fine, the cache file name they make together over 255 bytes.
      const long = 'n'.repeat(120);
      await assertRefusedQuietly(
        (cni) => op(cni, listWith('fake', long), rt({ containerId: 'c'.repeat(130) })),
        `${command} joined name too long`,
      );
    });
  }

  test('NetworkManager refuses a hostile container id for every operation', async () => {
    const confDir = path.join(plugins.root, 'net.d');
    await fs.mkdir(confDir);
    try {
      await fs.writeFile(
        path.join(confDir, '10-n.conflist'),
        JSON.stringify({ cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'fake' }] }),
      );
      const m = new NetworkManager({ confDir, pluginDirs: [plugins.dir], cacheDir });
      for (const bad of HOSTILE) {
        await assert.rejects(m.setup(bad, '/run/netns/x'), LibcniError);
        await assert.rejects(m.check(bad, '/run/netns/x'), LibcniError);
        await assert.rejects(m.teardown(bad, '/run/netns/x'), LibcniError);
      }
      assert.deepEqual(await plugins.calls('fake'), []);
      assert.equal(existsSync(cacheDir), false);
    } finally {
      await fs.rm(confDir, { recursive: true, force: true });
    }
  });
});

describe('file modes', () => {
  let plugins: PluginDir;
  before(async () => {
    plugins = await makePluginDir({ fake: 'fake' });
  });
  after(() => plugins.cleanup());

  test('cache and lock directories are 0700 and their files 0600, even with umask 0', async () => {
    const cacheDir = path.join(plugins.root, 'fresh', 'cni');
    const confDir = path.join(plugins.root, 'net.d');
    await fs.mkdir(confDir);
    await fs.writeFile(
      path.join(confDir, '10-n.conflist'),
      JSON.stringify({ cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'fake' }] }),
    );
    await plugins.writePlan('fake', { ADD: { result: { cniVersion: '1.0.0' } } });
    const previous = process.umask(0);
    try {
      const m = new NetworkManager({ confDir, pluginDirs: [plugins.dir], cacheDir });
      let lockMode: number | undefined;
      m.on('attached', () => {
        // While the operation runs, its lock file exists.
        lockMode = statSync(path.join(cacheDir, 'locks', 'modes.lock')).mode & 0o777;
      });
      await m.setup('modes', '/run/netns/x');
      const mode = (p: string) => statSync(p).mode & 0o777;
      assert.equal(mode(cacheDir), 0o700, 'cache dir');
      assert.equal(mode(path.join(cacheDir, 'results')), 0o700, 'results dir');
      assert.equal(mode(path.join(cacheDir, 'results', 'n-modes-eth0')), 0o600, 'cache file');
      assert.equal(mode(path.join(cacheDir, 'locks')), 0o700, 'locks dir');
      assert.equal(lockMode, 0o600, 'lock file');
    } finally {
      process.umask(previous);
    }
  });
});

describe('no shell anywhere', () => {
  function sources(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory()
        ? sources(path.join(dir, e.name))
        : e.name.endsWith('.ts')
          ? [path.join(dir, e.name)]
          : [],
    );
  }

  test('src/ never asks child_process for a shell', () => {
    const offences: string[] = [];
    for (const file of sources(SRC)) {
      const text = readFileSync(file, 'utf8');
      const rel = path.relative(SRC, file);
      if (/\bshell\s*:/.test(text)) offences.push(`${rel}: a "shell:" option`);
      if (/\bexecSync\s*\(|\bexecFileSync\s*\(/.test(text)) offences.push(`${rel}: execSync/execFileSync`);
      if (/['"`](\/bin\/)?(ba|da)?sh['"`]\s*,\s*\[\s*['"`]-c/.test(text)) offences.push(`${rel}: sh -c`);
      // What is imported from child_process: spawn-style only (argv arrays, no shell by default).
      // Type-only names cannot run anything, so only values are checked.
      for (const m of text.matchAll(
        /import\s*(type\s*)?\{([^}]*)\}\s*from\s*['"](?:node:)?child_process['"]/g,
      )) {
        if (m[1] !== undefined) continue;
        const names = (m[2] ?? '')
          .split(',')
          .map((n) => n.trim())
          .filter((n) => n !== '' && !n.startsWith('type '))
          .map((n) => n.split(/\s+as\s+/)[0] ?? '');
        for (const n of names) {
          if (
            ![
              'spawn',
              'spawnSync',
              'execFile',
              'ChildProcess',
              'ChildProcessWithoutNullStreams',
              'SpawnOptions',
            ].includes(n)
          ) {
            offences.push(`${rel}: imports ${n} from child_process`);
          }
        }
      }
      if (
        /from\s*['"](?:node:)?child_process['"]/.test(text) &&
        /import\s+\*\s+as|import\s+\w+\s+from\s*['"](?:node:)?child_process/.test(text)
      ) {
        offences.push(`${rel}: imports all of child_process (cannot check what it calls)`);
      }
    }
    assert.deepEqual(offences, []);
  });

  describe('a plugin file that is neither ELF nor #! (execvp would run it with /bin/sh)', () => {
    let root: string;
    before(async () => {
      root = await fs.mkdtemp(path.join(os.tmpdir(), 'libcni-'));
      await fs.writeFile(path.join(root, 'script-no-shebang'), `touch ${root}/PWNED\n`, { mode: 0o755 });
      await fs.writeFile(path.join(root, 'empty'), '', { mode: 0o755 });
      await fs.writeFile(path.join(root, 'with-shebang'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    });
    after(() => fs.rm(root, { recursive: true, force: true }));

    test('is refused with ENOEXEC (Go: "exec format error") and never runs', async () => {
      const cni = new CNIConfig({ path: [root], cacheDir: path.join(root, 'cache') });
      for (const type of ['script-no-shebang', 'empty']) {
        const list = networkConfFromBytes(
          JSON.stringify({ cniVersion: '1.0.0', name: 'n', plugins: [{ type }] }),
        );
        const err = await cni
          .addNetworkList(list, { containerId: 'c', netns: '/x', ifName: 'eth0' })
          .catch((e: unknown) => e);
        assert.ok(err instanceof LibcniError, String(err));
        const cause = err.cause;
        assert.ok(cause instanceof PluginSpawnError, String(cause));
        assert.equal(cause.errno, 'ENOEXEC');
        assert.equal(cause.pluginPath, path.join(root, type));
        assert.match(
          cause.message,
          /^netplugin failed with no error message: fork\/exec .*: exec format error/,
        );
        // An empty file would otherwise "succeed" as an empty shell script.
        await assert.rejects(
          cni.delNetworkList(list, { containerId: 'c', netns: '/x', ifName: 'eth0' }),
          LibcniError,
        );
      }
      assert.equal(existsSync(path.join(root, 'PWNED')), false, 'the script never ran');
    });

    test('ELF binaries and #! scripts are found as before', async () => {
      assert.equal(await findInPath('with-shebang', [root]), path.join(root, 'with-shebang'));
      const node = process.execPath;
      assert.equal(await findInPath(path.basename(node), [path.dirname(node)]), node);
    });

    test('a plugin rewritten in place is checked again', async () => {
      const file = path.join(root, 'changes');
      await fs.writeFile(file, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
      await findInPath('changes', [root]);
      await fs.writeFile(file, 'exit 0 # no shebang any more, and a different size\n');
      await assert.rejects(findInPath('changes', [root]), { errno: 'ENOEXEC' });
    });
  });
});

describe("env: 'minimal'", () => {
  let plugins: PluginDir;
  before(async () => {
    plugins = await makePluginDir({ fake: 'fake' });
  });
  after(() => plugins.cleanup());

  test('plugins see PATH and the six CNI variables, nothing else of ours', async () => {
    process.env.LIBCNI_TEST_SECRET = 'do-not-leak';
    process.env.CNI_NETNS_OVERRIDE = '1';
    try {
      const cni = new CNIConfig({
        path: [plugins.dir],
        cacheDir: path.join(plugins.root, 'cache'),
        env: 'minimal',
      });
      const list = networkConfFromBytes(
        JSON.stringify({ cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'fake' }] }),
      );
      await plugins.writePlan('fake', { ADD: { result: { cniVersion: '1.0.0' } } });
      const rt = {
        containerId: 'c',
        netns: '/x',
        ifName: 'eth0',
        args: [['K', 'V']] as Array<[string, string]>,
      };
      await cni.addNetworkList(list, rt);
      await cni.delNetworkList(list, rt);
      await cni.validateNetworkList(list); // VERSION
      const calls = await plugins.calls('fake');
      assert.deepEqual(
        calls.map((c) => c.command),
        ['ADD', 'DEL', 'VERSION'],
      );
      const expected = [
        'CNI_ARGS',
        'CNI_COMMAND',
        'CNI_CONTAINERID',
        'CNI_IFNAME',
        'CNI_NETNS',
        'CNI_PATH',
        'PATH',
      ];
      for (const c of calls) assert.deepEqual(Object.keys(c.env).sort(), expected, `${c.command} env`);
      assert.equal(calls[0]?.env.CNI_ARGS, 'K=V');

      // Even when inheriting, no CNI_* of ours reaches the plugin.
      const inherit = new CNIConfig({ path: [plugins.dir], cacheDir: path.join(plugins.root, 'cache') });
      await inherit.delNetworkList(list, rt);
      const last = (await plugins.calls('fake')).at(-1)!;
      assert.equal(last.env.LIBCNI_TEST_SECRET, 'do-not-leak');
      assert.equal(last.env.CNI_NETNS_OVERRIDE, undefined);
    } finally {
      delete process.env.LIBCNI_TEST_SECRET;
      delete process.env.CNI_NETNS_OVERRIDE;
    }
  });
});

// runCli in-process, no root needed: a recording fake plugin on CNI_PATH, /proc/self/ns/net as the
// namespace. Pins add's exact output bytes, the Go cache path, and that bad input runs no plugin.
import assert from 'node:assert/strict';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type CliIO, InterruptedError, runCli } from '../../src/cli/run.ts';
import { cnitoolContainerId } from '../../src/cli/runtime-inputs.ts';
import { ResultCache } from '../../src/cache/cache.ts';

const NETNS = '/proc/self/ns/net';
// Records each call, then answers like a plugin for ADD and VERSION.
const FAKE_PLUGIN = `#!/bin/sh
echo "$CNI_COMMAND" >> "$(dirname "$0")/calls"
cat > /dev/null
case "$CNI_COMMAND" in
  ADD) printf '{"cniVersion":"1.0.0","interfaces":[{"name":"%s","sandbox":"%s"}],"ips":[{"address":"10.1.2.3/24","interface":0}]}' "$CNI_IFNAME" "$CNI_NETNS" ;;
  VERSION) printf '{"cniVersion":"1.0.0","supportedVersions":["0.4.0","1.0.0"]}' ;;
esac
`;

// Never answers: for --timeout and Ctrl-C.
const SLOW_PLUGIN = `#!/bin/sh
exec sleep 60
`;

// Fails with nothing on stdout (exit 1), or by crashing, as the first argument of CNI_ARGS says.
const FAILING_PLUGIN = `#!/bin/sh
cat > /dev/null
case "$CNI_ARGS" in
  *crash*) kill -SEGV $$ ;;
esac
exit 1
`;

let tmp = '';
let env: Record<string, string> = {};

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'libcni-cli-run-'));
  await fs.mkdir(path.join(tmp, 'bin'));
  await fs.mkdir(path.join(tmp, 'conf'));
  await fs.writeFile(path.join(tmp, 'bin', 'fake'), FAKE_PLUGIN, { mode: 0o755 });
  await fs.writeFile(path.join(tmp, 'bin', 'slow'), SLOW_PLUGIN, { mode: 0o755 });
  await fs.writeFile(path.join(tmp, 'bin', 'failing'), FAILING_PLUGIN, { mode: 0o755 });
  await fs.writeFile(
    path.join(tmp, 'conf', '10-fake.conflist'),
    JSON.stringify({ cniVersion: '1.0.0', name: 'fakenet', plugins: [{ type: 'fake' }, { type: 'fake' }] }),
  );
  await fs.writeFile(
    path.join(tmp, 'conf', '20-halfmissing.conflist'),
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'halfnet',
      plugins: [{ type: 'fake' }, { type: 'not-installed' }],
    }),
  );
  await fs.writeFile(
    path.join(tmp, 'conf', '30-slow.conflist'),
    JSON.stringify({ cniVersion: '1.0.0', name: 'slownet', plugins: [{ type: 'slow' }] }),
  );
  await fs.writeFile(
    path.join(tmp, 'conf', '40-failing.conflist'),
    JSON.stringify({ cniVersion: '1.0.0', name: 'failnet', plugins: [{ type: 'failing' }] }),
  );
  // A network whose name begins with "-", in a directory of its own.
  await fs.mkdir(path.join(tmp, 'dashconf'));
  await fs.writeFile(
    path.join(tmp, 'dashconf', '10-dash.conflist'),
    JSON.stringify({ cniVersion: '1.0.0', name: '-dash', plugins: [{ type: 'fake' }] }),
  );
  env = {
    NETCONFPATH: path.join(tmp, 'conf'),
    CNI_PATH: path.join(tmp, 'bin'),
    CNI_CACHE_DIR: path.join(tmp, 'cache'),
  };
});

after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

async function cli(argv: string[], extraEnv: Record<string, string> = {}, signal?: AbortSignal) {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env: { ...env, ...extraEnv },
    cwd: '/',
    signal,
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

const calls = () => {
  const f = path.join(tmp, 'bin', 'calls');
  return existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n') : [];
};

describe('runCli', () => {
  test('--help and --version', async () => {
    const help = await cli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^cnitool: /);
    assert.match(help.stdout, /cnitool gc <network> \(<containerId>:<ifName>\.\.\. \| --all\)/);
    const pkg = JSON.parse(await fs.readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    assert.equal((await cli(['--version'])).stdout, `cnitool ${pkg.version} (libcni for Node.js)\n`);
  });

  test("add prints Go's bytes and caches at Go's path; check/del follow; the cache commands read it", async () => {
    const add = await cli(['add', 'fakenet', NETNS]);
    assert.equal(add.code, 0, add.stderr);
    assert.equal(
      add.stdout,
      [
        '{',
        '    "cniVersion": "1.0.0",',
        '    "interfaces": [',
        '        {',
        '            "name": "eth0",',
        `            "sandbox": "${NETNS}"`,
        '        }',
        '    ],',
        '    "ips": [',
        '        {',
        '            "interface": 0,',
        '            "address": "10.1.2.3/24"',
        '        }',
        '    ]',
        '}',
      ].join('\n'),
    );
    const id = cnitoolContainerId(NETNS);
    const file = path.join(tmp, 'cache', 'results', `fakenet-${id}-eth0`);
    assert.ok(existsSync(file), file);

    const ls = await cli(['cache', 'ls', '--json']);
    assert.deepEqual(JSON.parse(ls.stdout), [
      { network: 'fakenet', containerId: id, ifName: 'eth0', netns: NETNS },
    ]);
    const show = JSON.parse((await cli(['cache', 'show', 'fakenet', id])).stdout) as {
      path: string;
      config: unknown;
    };
    assert.equal(show.path, file);
    assert.deepEqual(show.config, {
      cniVersion: '1.0.0',
      name: 'fakenet',
      plugins: [{ type: 'fake' }, { type: 'fake' }],
    });

    assert.equal((await cli(['check', 'fakenet', NETNS])).code, 0);
    assert.equal((await cli(['del', 'fakenet', NETNS])).code, 0);
    assert.equal(existsSync(file), false);
    assert.deepEqual(calls(), ['ADD', 'ADD', 'CHECK', 'CHECK', 'DEL', 'DEL']);
    await fs.rm(path.join(tmp, 'bin', 'calls'), { force: true });
  });

  test('bad input: one line on stderr, exit 1, and no plugin ever runs', async () => {
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [['add', 'nonet', NETNS], {}, /^no net configuration with name "nonet" in /],
      [['add', 'fakenet', NETNS], { CAP_ARGS: 'nope' }, /^invalid CAP_ARGS: not JSON/],
      [['add', 'fakenet', NETNS], { CNI_ARGS: 'a=1;;b=2' }, /^invalid CNI_ARGS pair ""$/],
      [['add', 'fakenet', NETNS], { CNI_IFNAME: '' }, /^interface name is empty$/],
      [['add', 'fakenet', NETNS, '-i', 'bad name'], {}, /whitespace/],
      [['add', 'fakenet', path.join(tmp, 'no-such-ns')], {}, /does not exist/],
      [['check', 'fakenet', tmp], {}, /is not a network namespace/],
      [['add', 'halfnet', NETNS], {}, /failed to find plugin "not-installed"/],
      [['gc', 'fakenet', 'not-a-pair'], {}, /is not <containerId>:<ifName>/],
      [['add'], {}, /^cnitool: add: missing arguments/],
    ];
    for (const [argv, extra, pattern] of cases) {
      const r = await cli(argv, extra);
      assert.equal(r.code, 1, argv.join(' '));
      assert.equal(r.stdout, '');
      assert.equal(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
      assert.match(r.stderr.trimEnd(), pattern);
    }
    assert.deepEqual(calls(), [], 'no plugin was executed');
    assert.equal(
      existsSync(path.join(tmp, 'cache', 'results', `fakenet-${cnitoolContainerId(NETNS)}-eth0`)),
      false,
    );
  });

  test('errors name the file and the variable at fault', async () => {
    // A broken list earlier in load order than the network asked for: Go's message names no file.
    const conf = path.join(tmp, 'conf-broken');
    await fs.mkdir(conf, { recursive: true });
    await fs.writeFile(path.join(conf, '05-broken.conflist'), '{"cniVersion":');
    await fs.copyFile(path.join(tmp, 'conf', '10-fake.conflist'), path.join(conf, '10-fake.conflist'));
    const broken = await cli(['add', 'fakenet', NETNS], { NETCONFPATH: conf });
    assert.equal(broken.code, 1);
    assert.equal(
      broken.stderr,
      `${path.join(conf, '05-broken.conflist')}: error parsing configuration list: unexpected end of JSON input\n`,
    );
    // No CNI_PATH at all: Go says only "no paths provided".
    const noPath = await cli(['add', 'fakenet', NETNS], { CNI_PATH: '' });
    assert.equal(noPath.code, 1);
    assert.match(
      noPath.stderr,
      /^no paths provided \(CNI_PATH is unset or empty: .*CNI_PATH=\/usr\/lib\/cni\)\n$/,
    );
    const noNet = await cli(['add', 'nonet', NETNS]);
    assert.match(
      noNet.stderr,
      /^no net configuration with name "nonet" in .* \(networks are read from NETCONFPATH/,
    );
    assert.deepEqual(calls(), [], 'no plugin was executed');
  });

  test('del does not require the namespace to exist', async () => {
    const r = await cli(['del', 'fakenet', path.join(tmp, 'gone')]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(calls(), ['DEL', 'DEL']);
    await fs.rm(path.join(tmp, 'bin', 'calls'), { force: true });
  });

  test('cache show reports a missing entry; cache ls on an empty cache says so on stderr', async () => {
    const r = await cli(['cache', 'show', 'fakenet', 'nope']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no cached attachment of network "fakenet" for nope eth0/);
    const ls = await cli(['cache', 'ls'], { CNI_CACHE_DIR: path.join(tmp, 'empty-cache') });
    assert.equal(ls.code, 0);
    assert.equal(ls.stdout, '');
    assert.match(ls.stderr, /no cached attachments/);
  });

  test('gc with a valid pair keeps it and DELs the rest', async () => {
    const cache = new ResultCache(path.join(tmp, 'cache'));
    const config = await fs.readFile(path.join(tmp, 'conf', '10-fake.conflist'));
    for (const containerId of ['keep', 'drop']) {
      await cache.write({ network: 'fakenet', containerId, ifName: 'eth0', config, netns: NETNS });
    }
    const r = await cli(['gc', 'fakenet', 'keep:eth0']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      (await cache.listAttachments())?.map((a) => a.containerId),
      ['keep'],
    );
    assert.deepEqual(calls(), ['DEL', 'DEL']);
    assert.equal((await cli(['gc', 'fakenet', '--all'])).code, 0);
    assert.deepEqual(await cache.listAttachments(), []);
    await fs.rm(path.join(tmp, 'bin', 'calls'), { force: true });
  });

  test('version and --json', async () => {
    const r = await cli(['version', 'fake', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { cniVersion: '1.0.0', supportedVersions: ['0.4.0', '1.0.0'] });
    const err = await cli(['version', 'missing', '--json']);
    assert.equal(err.code, 1);
    const obj = JSON.parse(err.stderr) as { code: number; msg: string };
    assert.match(obj.msg, /failed to find plugin "missing"/);
    await fs.rm(path.join(tmp, 'bin', 'calls'), { force: true });
  });

  test('--timeout kills a plugin that hangs: exit 1 and the timeout in the message', async () => {
    const r = await cli(['add', 'slownet', NETNS, '--timeout', '300']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /timed out after 300 ms/);
  });

  test('an abort (Ctrl-C in main.ts) kills the plugin and exits 130', async () => {
    const controller = new AbortController();
    setTimeout(() => {
      controller.abort(new InterruptedError('SIGINT'));
    }, 300);
    const r = await cli(['add', 'slownet', NETNS], {}, controller.signal);
    assert.equal(r.code, 130);
    assert.match(r.stderr, /aborted/);
  });

  test('SIGTERM (main.ts aborts with its name) exits 143, 128 + 15; --json reports code 999', async () => {
    const controller = new AbortController();
    setTimeout(() => {
      controller.abort(new InterruptedError('SIGTERM'));
    }, 300);
    const r = await cli(['add', 'slownet', NETNS, '--json'], {}, controller.signal);
    assert.equal(r.code, 143);
    const obj = JSON.parse(r.stderr) as { code: number; msg: string };
    assert.equal(obj.code, 999);
    assert.match(obj.msg, /aborted/);
  });

  test('--json: a plugin that failed without an error object is code 999, never 0', async () => {
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [['add', 'failnet', NETNS], {}, /netplugin failed with no error message: exit status 1/],
      [['add', 'failnet', NETNS], { CNI_ARGS: 'crash=1' }, /signal: segmentation fault/],
      [['add', 'slownet', NETNS, '--timeout', '200'], {}, /timed out after 200 ms/],
    ];
    for (const [argv, extra, pattern] of cases) {
      const r = await cli([...argv, '--json'], extra);
      assert.equal(r.code, 1, argv.join(' '));
      assert.equal(r.stdout, '');
      const obj = JSON.parse(r.stderr) as { cniVersion: string; code: number; msg: string };
      assert.equal(obj.code, 999, r.stderr);
      assert.equal(obj.cniVersion, '1.1.0');
      assert.match(obj.msg, pattern);
    }
  });

  test('a network name beginning with "-" is a network name, as in Go\'s cnitool', async () => {
    const dash = { NETCONFPATH: path.join(tmp, 'dashconf') };
    const del = await cli(['del', '-dash', NETNS], dash);
    assert.equal(del.code, 0, del.stderr);
    assert.deepEqual(calls(), ['DEL']);
    await fs.rm(path.join(tmp, 'bin', 'calls'), { force: true });
    // ADD refuses the name as Go's libcni does (before any plugin runs), not as an unknown option.
    const add = await cli(['add', '-dash', NETNS], dash);
    assert.equal(add.code, 1);
    assert.match(add.stderr, /invalid characters found in network name; -dash/);
    const missing = await cli(['add', '-nonet', NETNS], dash);
    assert.match(missing.stderr, /^no net configuration with name "-nonet" in /);
    assert.deepEqual(calls(), []);
  });
});

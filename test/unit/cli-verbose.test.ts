// cnitool --verbose / -v: each plugin call on stderr — path, command, the environment cnitool set,
// stdin, exit and time — while stdout stays exactly what it is without it.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type CliIO, runCli } from '../../src/cli/run.ts';
import { explicitEnv } from '../../src/cli/verbose.ts';

const NETNS = '/proc/self/ns/net';
const FAKE_PLUGIN = `#!/bin/sh
cat > /dev/null
case "$CNI_COMMAND" in
  ADD) printf '{"cniVersion":"1.0.0","ips":[{"address":"10.1.2.3/24"}]}' ;;
  VERSION) printf '{"cniVersion":"1.0.0","supportedVersions":["1.0.0"]}' ;;
esac
`;
const FAILING_PLUGIN = `#!/bin/sh
cat > /dev/null
exit 3
`;

let tmp = '';
let env: Record<string, string | undefined> = {};

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'libcni-cli-verbose-'));
  await fs.mkdir(path.join(tmp, 'bin'));
  await fs.mkdir(path.join(tmp, 'conf'));
  await fs.writeFile(path.join(tmp, 'bin', 'fake'), FAKE_PLUGIN, { mode: 0o755 });
  await fs.writeFile(path.join(tmp, 'bin', 'failing'), FAILING_PLUGIN, { mode: 0o755 });
  const conf = (name: string, plugins: object[]) => JSON.stringify({ cniVersion: '1.0.0', name, plugins });
  await fs.writeFile(
    path.join(tmp, 'conf', '10-v.conflist'),
    conf('vnet', [{ type: 'fake', answer: 42 }, { type: 'fake' }]),
  );
  await fs.writeFile(path.join(tmp, 'conf', '20-f.conflist'), conf('fnet', [{ type: 'failing' }]));
  // As main.ts does: cnitool's own environment is the one plugins inherit.
  env = {
    ...process.env,
    NETCONFPATH: path.join(tmp, 'conf'),
    CNI_PATH: path.join(tmp, 'bin'),
    CNI_CACHE_DIR: path.join(tmp, 'cache'),
  };
});

after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

async function cli(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env,
    cwd: '/',
  };
  return { code: await runCli(argv, io), stdout, stderr: () => stderr };
}

/** The blocks of one call: the header with env and stdin, then its outcome line. */
function calls(stderr: string): Array<{ head: string; env: string[]; stdin: unknown; end: string }> {
  const out = [];
  for (const m of stderr.matchAll(
    /^cnitool: (\S+ \S+)\n((?: {2}env .*\n)*) {2}stdin (.*)\ncnitool: (.*)$/gm,
  )) {
    out.push({
      head: m[1] as string,
      env: (m[2] as string).trimEnd().split('\n'),
      stdin: JSON.parse(m[3] as string) as unknown,
      end: m[4] as string,
    });
  }
  return out;
}

test('add -v shows each plugin call, and stdout is the same as without it', async () => {
  const quiet = await cli(['add', 'vnet', NETNS]);
  assert.equal(quiet.code, 0, quiet.stderr());
  assert.equal(quiet.stderr(), '');
  await cli(['del', 'vnet', NETNS]);

  const loud = await cli(['add', 'vnet', NETNS, '-v']);
  assert.equal(loud.code, 0, loud.stderr());
  assert.equal(loud.stdout, quiet.stdout);
  const plugin = path.join(tmp, 'bin', 'fake');
  const seen = calls(loud.stderr());
  assert.equal(seen.length, 2, loud.stderr());
  const [first, second] = seen as [(typeof seen)[0], (typeof seen)[0]];
  assert.equal(first.head, `ADD ${plugin}`);
  assert.match(first.end, new RegExp(`^ADD ${plugin}: exit 0 after \\d+(\\.\\d+)? ms$`));
  assert.deepEqual(first.env.slice(0, 6), [
    '  env CNI_COMMAND=ADD',
    `  env CNI_CONTAINERID=${(first.env[1] as string).slice('  env CNI_CONTAINERID='.length)}`,
    `  env CNI_NETNS=${NETNS}`,
    '  env CNI_IFNAME=eth0',
    '  env CNI_ARGS=',
    `  env CNI_PATH=${path.join(tmp, 'bin')}`,
  ]);
  assert.match(first.env[1] as string, /^ {2}env CNI_CONTAINERID=cnitool-[0-9a-f]{20}$/);
  assert.match(first.env.at(-1) as string, /^ {2}env \(\d+ more, unchanged from cnitool's environment\)$/);
  assert.deepEqual(first.stdin, { cniVersion: '1.0.0', name: 'vnet', type: 'fake', answer: 42 });
  assert.equal((second.stdin as { prevResult?: unknown }).prevResult !== undefined, true);
  const del = await cli(['--verbose', 'del', 'vnet', NETNS]);
  assert.deepEqual(
    calls(del.stderr()).map((c) => c.head),
    [`DEL ${plugin}`, `DEL ${plugin}`],
  );
});

test('a failing plugin: its exit status and time, then the error as usual', async () => {
  const r = await cli(['add', 'fnet', NETNS, '-v']);
  assert.equal(r.code, 1);
  const [call] = calls(r.stderr());
  assert.match(call?.end ?? '', /^ADD \S+\/failing: exit 3 after [\d.]+ ms$/);
  await cli(['del', 'fnet', NETNS]);
});

test('version -v shows the VERSION call; --verbose does not apply to commands that run no plugin', async () => {
  const r = await cli(['version', 'fake', '-v']);
  assert.equal(r.code, 0, r.stderr());
  assert.deepEqual(
    calls(r.stderr()).map((c) => [c.head.split(' ')[0], c.stdin]),
    [['VERSION', { cniVersion: '1.1.0' }]],
  );
  const ls = await cli(['ls', '--verbose']);
  assert.equal(ls.code, 1);
  assert.match(ls.stderr(), /option --verbose does not apply to "ls"/);
});

test('the environment shown: CNI_* always, others only when not passed on unchanged', () => {
  const { shown, inherited } = explicitEnv(
    {
      HOME: '/root',
      PATH: '/bin',
      CNI_NETNS: '/x',
      CNI_COMMAND: 'DEL',
      TRACEPARENT: '00-ab',
      CNI_PATH: '/p',
    },
    { HOME: '/root', PATH: '/usr/bin', CNI_PATH: '/p' },
  );
  assert.deepEqual(shown, [
    ['CNI_COMMAND', 'DEL'],
    ['CNI_NETNS', '/x'],
    ['CNI_PATH', '/p'],
    ['PATH', '/bin'],
    ['TRACEPARENT', '00-ab'],
  ]);
  assert.equal(inherited, 1);
});

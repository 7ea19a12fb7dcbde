// cnitool completion bash|zsh|fish: scripts generated from the CLI spec — every command and option
// is in each, bash's parses and completes commands, options, networks (through `cnitool ls`),
// plugins and shells; zsh's and fish's parse when those shells are installed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { completionScript } from '../../src/cli/completion.ts';
import { type CliIO, runCli } from '../../src/cli/run.ts';
import { COMMANDS, COMMON_OPTIONS, OPTIONS, SHELLS } from '../../src/cli/spec.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
let tmp = '';

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'libcni-cli-completion-'));
  await fs.mkdir(path.join(tmp, 'conf'));
  await fs.mkdir(path.join(tmp, 'bin'));
  for (const [file, name] of [
    ['10-alpha.conflist', 'alpha-net'],
    ['20-beta.conflist', 'beta-net'],
  ]) {
    await fs.writeFile(
      path.join(tmp, 'conf', file as string),
      JSON.stringify({ cniVersion: '1.0.0', name, plugins: [{ type: 'bridge' }] }),
    );
  }
  await fs.writeFile(path.join(tmp, 'conf', '30-broken.conflist'), '{');
  await fs.writeFile(path.join(tmp, 'bin', 'myplugin'), '#!/bin/sh\n', { mode: 0o755 });
  await fs.writeFile(path.join(tmp, 'bin', 'not-executable'), '', { mode: 0o644 });
  // The command the script calls back for network names: this checkout's cnitool.
  await fs.writeFile(
    path.join(tmp, 'cnitool'),
    `#!/bin/sh\nexec "${process.execPath}" --import tsx "${path.join(ROOT, 'src/cli/main.ts')}" "$@"\n`,
    { mode: 0o755 },
  );
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
    env: {},
    cwd: '/',
  };
  return { code: await runCli(argv, io), stdout, stderr };
}

test('each script names every command, group member and option of the spec', async () => {
  for (const shell of SHELLS) {
    const r = await cli(['completion', shell]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, completionScript(shell));
    for (const c of COMMANDS) {
      for (const word of c.name.split(' '))
        assert.match(r.stdout, new RegExp(`\\b${word}\\b`), `${shell}: ${c.name}`);
      for (const o of [...c.options, ...COMMON_OPTIONS]) {
        assert.ok(r.stdout.includes(shell === 'fish' ? `-l ${o}` : `--${o}`), `${shell}: ${c.name} --${o}`);
      }
    }
    for (const [name, o] of Object.entries(OPTIONS)) {
      const short = (o as { short?: string }).short;
      if (short)
        assert.ok(
          r.stdout.includes(shell === 'fish' ? `-s ${short}` : `-${short}`),
          `${shell}: -${short} (${name})`,
        );
    }
  }
  const bad = await cli(['completion', 'tcsh']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /unknown shell "tcsh": expected bash, zsh, fish/);
});

function hasShell(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

test('bash -n accepts the bash script; zsh -n and fish --no-execute theirs, where installed', async (t) => {
  for (const [shell, args] of [
    ['bash', ['-n']],
    ['zsh', ['-n']],
    ['fish', ['--no-execute']],
  ] as const) {
    if (!hasShell(shell)) {
      t.diagnostic(`${shell} is not installed: only its content is checked`);
      continue;
    }
    const file = path.join(tmp, `script.${shell}`);
    await fs.writeFile(file, completionScript(shell));
    const r = spawnSync(shell, [...args, file], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${shell}: ${r.stderr}`);
  }
});

/** What bash's _cnitool offers for the command line `line` (cursor at its end). */
function complete(line: string): string[] {
  const script = path.join(tmp, 'script.bash');
  const words = line.split(' ');
  words[0] = path.join(tmp, 'cnitool');
  const program = `
    source ${JSON.stringify(script)}
    COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(' ')})
    COMP_CWORD=${words.length - 1}
    _cnitool
    printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync('bash', ['-c', program], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      NETCONFPATH: path.join(tmp, 'conf'),
      CNI_PATH: `${path.join(tmp, 'bin')}:/nonexistent`,
    },
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean).sort();
}

test('bash completes commands, group members, options, networks, plugins and shells', async () => {
  await fs.writeFile(path.join(tmp, 'script.bash'), completionScript('bash'));
  assert.deepEqual(complete('cnitool '), [
    'add',
    'cache',
    'check',
    'completion',
    'del',
    'gc',
    'help',
    'ls',
    'netns',
    'status',
    'version',
  ]);
  assert.deepEqual(complete('cnitool ch'), ['check']);
  assert.deepEqual(complete('cnitool netns '), ['add', 'del', 'ls']);
  assert.deepEqual(complete('cnitool cache s'), ['show']);
  assert.deepEqual(complete('cnitool add '), ['alpha-net', 'beta-net']);
  // Options and their values are skipped when finding the command and the argument position.
  assert.deepEqual(complete('cnitool --cache-dir /tmp add -i eth1 b'), ['beta-net']);
  assert.deepEqual(complete('cnitool status --timeout 50 '), ['alpha-net', 'beta-net']);
  assert.deepEqual(complete('cnitool add --'), [
    '--cache-dir',
    '--help',
    '--ifname',
    '--json',
    '--timeout',
    '--verbose',
  ]);
  assert.deepEqual(complete('cnitool ls --'), ['--help', '--json']);
  assert.deepEqual(complete('cnitool version '), ['myplugin']);
  assert.deepEqual(complete('cnitool completion '), ['bash', 'fish', 'zsh']);
  assert.deepEqual(complete('cnitool completion bash '), []);
  assert.deepEqual(complete('cnitool add alpha-net /nonexistent-dir/'), []);
  assert.deepEqual(complete('cnitool --timeout '), []);
});

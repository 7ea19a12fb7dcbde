// cnitool's argv parsing: commands, options anywhere, per-command options, argument counts, help
// forms, and gc's "--all or pairs" rule. Everything here must fail before a command module loads.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCommandLine } from '../../src/cli/args.ts';
import { COMMANDS } from '../../src/cli/spec.ts';
import { CliUsageError } from '../../src/cli/errors.ts';

function run(argv: string[]) {
  const inv = parseCommandLine(argv);
  assert.equal(inv.kind, 'run');
  return inv;
}

function usageError(argv: string[], pattern: RegExp): void {
  assert.throws(
    () => parseCommandLine(argv),
    (e: unknown) => e instanceof CliUsageError && pattern.test(e.message),
    `${argv.join(' ')} should fail with ${pattern}`,
  );
}

describe('parseCommandLine', () => {
  test("Go cnitool's form: add <net> <netns>", () => {
    const inv = run(['add', 'mynet', '/var/run/netns/x']);
    assert.equal(inv.command.name, 'add');
    assert.deepEqual(inv.args, ['mynet', '/var/run/netns/x']);
    assert.equal(inv.options.ifname, undefined);
    assert.equal(inv.options.json, false);
  });

  test('options before or after the command, short and long', () => {
    assert.equal(run(['-i', 'net1', 'add', 'n', 'ns']).options.ifname, 'net1');
    assert.equal(run(['add', 'n', 'ns', '--ifname=net2']).options.ifname, 'net2');
    const inv = run(['del', '--cache-dir', '/c', 'n', 'ns', '--timeout', '2500', '--json']);
    assert.equal(inv.options.cacheDir, '/c');
    assert.equal(inv.options.timeoutMs, 2500);
    assert.equal(inv.options.json, true);
    assert.deepEqual(inv.args, ['n', 'ns']);
  });

  test('after the command, a "-" word that is none of our options is an argument, as Go\'s cnitool reads it', () => {
    // Go's cnitool takes its arguments by position: `cnitool add -foo /run/netns/x` is network "-foo".
    assert.deepEqual(run(['add', '-foo', '/run/netns/x']).args, ['-foo', '/run/netns/x']);
    assert.deepEqual(run(['del', 'n', '-weird']).args, ['n', '-weird']);
    assert.deepEqual(run(['add', '-', '-1']).args, ['-', '-1']);
    const inv = run(['-i', 'eth1', 'add', '-foo', 'ns', '--json']);
    assert.deepEqual(inv.args, ['-foo', 'ns']);
    assert.equal(inv.options.ifname, 'eth1');
    assert.equal(inv.options.json, true);
    assert.equal(run(['gc', '-n', '--all']).args[0], '-n');
    assert.deepEqual(run(['cache', 'show', '-n', 'c']).args, ['-n', 'c']);
  });

  test('"--" ends the options: what follows is arguments, even our option names', () => {
    const inv = run(['add', '--ifname', 'eth2', '--', '-i', '--json']);
    assert.deepEqual(inv.args, ['-i', '--json']);
    assert.equal(inv.options.ifname, 'eth2');
    assert.equal(inv.options.json, false);
    assert.deepEqual(run(['--', 'add', 'n', 'ns']).args, ['n', 'ns']);
    usageError(['add', '--', 'a', 'b', 'c'], /add: too many arguments/);
  });

  test("an unknown option is refused where Go's cnitool would fail too", () => {
    // Before the command (Go: not a command), and where no argument fits (a mistyped option).
    usageError(['-foo', 'add', 'n', 'ns'], /^unknown option -foo$/);
    usageError(['--frob', 'add', 'n', 'ns'], /^unknown option --frob$/);
    usageError(
      ['add', '--frob', 'n', 'ns'],
      /^unknown option --frob \(to pass an argument that begins with "-", put it after "--"\)$/,
    );
    usageError(['ls', '-x'], /unknown option -x/);
    usageError(['gc', 'n', '--al'], /unknown option --al/); // no <containerId>:<ifName> begins with "-"
    usageError(['add', 'n', 'ns', '--json=1'], /option --json does not take a value/);
    usageError(['add', '-i', '-x', 'n', 'ns'], /option --ifname needs a value/);
  });

  test('two-word commands', () => {
    assert.equal(run(['netns', 'add']).command.name, 'netns add');
    assert.deepEqual(run(['cache', 'show', 'n', 'c', 'eth1']).args, ['n', 'c', 'eth1']);
  });

  test('status accepts the netns Go requires, and works without it', () => {
    assert.deepEqual(run(['status', 'n']).args, ['n']);
    assert.deepEqual(run(['status', 'n', '/var/run/netns/x']).args, ['n', '/var/run/netns/x']);
  });

  test('wrong argument counts, unknown commands and options are usage errors', () => {
    usageError([], /no command given/);
    usageError(['add', 'n'], /add: missing arguments: expected <network> <netns>/);
    usageError(['add', 'n', 'ns', 'extra'], /too many arguments/);
    usageError(['frob'], /unknown command "frob"/);
    usageError(['netns'], /"netns" needs a subcommand/);
    usageError(['netns', 'frob'], /unknown command "netns frob"/);
    usageError(['add', 'n', 'ns', '--frob'], /unknown option --frob/);
    usageError(['add', 'n', 'ns', '-i'], /option --ifname needs a value/);
  });

  test('an option that does not apply to the command is refused', () => {
    usageError(['add', 'n', 'ns', '--all'], /--all does not apply to "add"/);
    usageError(['ls', '--ifname', 'x'], /--ifname does not apply to "ls"/);
    usageError(['netns', 'ls', '--cache-dir', '/x'], /--cache-dir does not apply/);
  });

  test('--timeout must be a positive whole number of ms; --cache-dir must not be empty', () => {
    for (const bad of ['0', '1.5', 'abc', '10s', ''])
      usageError(['add', 'n', 'ns', `--timeout=${bad}`], /--timeout/);
    usageError(['add', 'n', 'ns', '--cache-dir='], /--cache-dir must not be empty/);
  });

  test('gc needs pairs or --all, never both', () => {
    usageError(['gc', 'n'], /--all to delete every cached attachment/);
    usageError(['gc', 'n', 'c:eth0', '--all'], /cannot be combined/);
    assert.equal(run(['gc', 'n', '--all']).options.all, true);
    assert.deepEqual(run(['gc', 'n', 'a:eth0', 'b:net1']).args, ['n', 'a:eth0', 'b:net1']);
  });

  test('help in every form', () => {
    assert.deepEqual(parseCommandLine(['--help']), { kind: 'help', topic: undefined, json: false });
    assert.deepEqual(parseCommandLine(['help']), { kind: 'help', topic: undefined, json: false });
    assert.equal(parseCommandLine(['netns', '--help']).kind, 'help');
    for (const spec of COMMANDS) {
      const words = spec.name.split(' ');
      for (const argv of [
        [...words, '--help'],
        [...words, '-h'],
        ['help', ...words],
      ]) {
        const inv = parseCommandLine(argv);
        assert.equal(inv.kind, 'help', argv.join(' '));
        assert.equal((inv as { topic: unknown }).topic, spec, argv.join(' '));
      }
    }
    // Help wins over missing arguments.
    assert.equal(parseCommandLine(['add', '--help']).kind, 'help');
  });

  test('--version', () => {
    assert.deepEqual(parseCommandLine(['--version']), { kind: 'version', json: false });
  });
});

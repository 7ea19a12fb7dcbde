// Running plugin processes: Go's RawExec behaviour (I11) and what we add on top — process-group
// kill on timeout/abort (T1), EPIPE, bounded output, stderr tail, ETXTBSY retry, spawn errors.
// Every test runs three times: through child_process (spawnPlugin, DefaultExec), and through both
// of NativeExec's native back ends (its addon, its helper process), which must keep every one of
// these guarantees.
import assert from 'node:assert/strict';
import { open, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DefaultExec,
  type Exec,
  type ExecOptions,
  type ExecOutput,
  spawnPlugin,
} from '../../src/invoke/exec.ts';
import { NativeExec } from '../../src/invoke/native-exec.ts';
import {
  PluginAbortedError,
  PluginError,
  PluginSpawnError,
  PluginTimeoutError,
} from '../../src/core/errors.ts';
import { isRunning, makePluginDir, type PluginDir } from '../helpers/fixtures.ts';

const STDIN = Buffer.from('{"name":"raw-exec-test","some":"stdin-json","cniVersion":"0.3.1"}');

function envFor(command: string, extra?: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    CNI_COMMAND: command,
    CNI_CONTAINERID: 'some-container-id',
    CNI_NETNS: '/some/netns/path',
    CNI_IFNAME: 'some-eth0',
    CNI_ARGS: '',
    CNI_PATH: '/some/bin/path',
    ...extra,
  };
}

/** None of `pids` is running (checked right when a call settles: no waiting). */
const allGone = (pids: number[]): boolean => !pids.some(isRunning);

type Run = (
  pluginPath: string,
  stdin: Uint8Array,
  env: Record<string, string>,
  options?: ExecOptions,
) => Promise<ExecOutput>;

/** The exec under test, and a factory for one with an onStderr hook. */
interface Variant {
  name: string;
  run: Run;
  make: (onStderr: (p: string, text: string) => void) => Exec;
}

// Both native parts are built by `npm ci` (scripts/build-native.mjs); without them this suite would
// silently test DefaultExec again, so invoke-native.test.ts fails when either is missing.
const addon = new NativeExec();
const helper = new NativeExec({ addonPath: false });
const VARIANTS: Variant[] = [
  { name: 'spawnPlugin (DefaultExec)', run: spawnPlugin, make: (onStderr) => new DefaultExec({ onStderr }) },
  {
    name: 'NativeExec (addon)',
    run: (p, s, e, o) => addon.execPlugin(p, s, e, o),
    make: (onStderr) => new NativeExec({ onStderr }),
  },
  {
    name: 'NativeExec (helper process)',
    run: (p, s, e, o) => helper.execPlugin(p, s, e, o),
    make: (onStderr) => new NativeExec({ onStderr, addonPath: false }),
  },
];

after(async () => {
  await addon.close();
  await helper.close();
});

for (const { name, run, make } of VARIANTS)
  describe(name, () => {
    let plugins: PluginDir;
    before(async () => {
      plugins = await makePluginDir({ fake: 'fake', instant: 'instant', sleep: 'sleep' });
    });
    after(() => plugins.cleanup());

    test('passes stdin and exactly the given env, no arguments, in its own process group; returns stdout', async () => {
      await plugins.writePlan('fake', { ADD: { result: '{ "some": "result" }' } });
      const env = envFor('ADD', { ONLY_THIS: 'yes' });
      const out = await run(plugins.path('fake'), STDIN, env);
      assert.equal(out.stdout.toString(), '{ "some": "result" }');
      assert.equal(out.exitCode, 0);
      assert.ok(out.durationMs > 0);
      const call = (await plugins.calls('fake')).at(-1)!;
      assert.equal(call.command, 'ADD');
      assert.equal(call.stdin, STDIN.toString());
      assert.deepEqual(call.env, env);
      assert.deepEqual(call.argv, [plugins.path('fake')]);
      assert.equal(call.pgid, call.pid, 'the plugin leads its own process group');
      assert.equal(call.sid, call.pid, 'and its own session (detached)');
    });

    test('stderr of a successful plugin is returned, and DefaultExec hands it to onStderr', async () => {
      await plugins.writePlan('fake', { ADD: { result: '{}', stderr: 'some stderr message' } });
      const out = await run(plugins.path('fake'), STDIN, envFor('ADD'));
      assert.equal(out.stderr, 'some stderr message');

      const seen: Array<[string, string]> = [];
      const exec = make((p, text) => seen.push([p, text]));
      await exec.execPlugin(plugins.path('fake'), STDIN, envFor('ADD'));
      assert.deepEqual(seen, [[plugins.path('fake'), 'some stderr message']]);

      const throwing = make(() => {
        throw new Error('logger down');
      });
      assert.equal(
        (await throwing.execPlugin(plugins.path('fake'), STDIN, envFor('ADD'))).stdout.toString(),
        '{}',
      );
    });

    test('an error object on stdout becomes the error (code, msg, details), with exec info', async () => {
      await plugins.writePlan('fake', {
        ADD: { error: { code: 7, msg: 'banana', details: 'ripe' }, stderr: 'noise' },
      });
      await assert.rejects(run(plugins.path('fake'), STDIN, envFor('ADD')), (err: unknown) => {
        assert.ok(err instanceof PluginError);
        assert.equal(err.message, 'banana; ripe');
        assert.equal(err.code, 7);
        assert.equal(err.msg, 'banana');
        assert.equal(err.details, 'ripe');
        assert.equal(err.exec.pluginPath, plugins.path('fake'));
        assert.equal(err.exec.command, 'ADD');
        assert.equal(err.exec.exitCode, 1);
        assert.equal(err.exec.signal, null);
        assert.equal(err.exec.stderr, 'noise');
        assert.match(err.exec.stdout, /"msg":"banana"/);
        assert.equal(err.context.pluginPath, plugins.path('fake'));
        return true;
      });
    });

    test('exit 0 with an error object on stdout is success, as in Go', async () => {
      await plugins.writePlan('fake', { ADD: { error: { code: 7, msg: 'banana' }, exitCode: 0 } });
      const out = await run(plugins.path('fake'), STDIN, envFor('ADD'));
      assert.match(out.stdout.toString(), /banana/);
    });

    test('stderr only, exit 1: Go-quoted stderr and the exit status', async () => {
      await plugins.writePlan('fake', { ADD: { stderr: 'some stderr message', exitCode: 1 } });
      await assert.rejects(run(plugins.path('fake'), STDIN, envFor('ADD')), {
        message: 'netplugin failed: "some stderr message": exit status 1',
        code: 0,
      });
      await plugins.writePlan('fake', { ADD: { stderr: 'line "one"\n\ttab\u00e9\x01', exitCode: 3 } });
      await assert.rejects(run(plugins.path('fake'), STDIN, envFor('ADD')), {
        message: 'netplugin failed: "line \\"one\\"\\n\\ttab\u00e9\\x01": exit status 3',
      });
    });

    test('no output at all: netplugin failed with no error message', async () => {
      await plugins.writePlan('fake', { ADD: { exitCode: 1 } });
      await assert.rejects(run(plugins.path('fake'), STDIN, envFor('ADD')), {
        message: 'netplugin failed with no error message: exit status 1',
      });
    });

    test('killed by a signal: Go describes the signal', async () => {
      await plugins.writePlan('fake', { ADD: { killSelf: 'SIGKILL' } });
      await assert.rejects(run(plugins.path('fake'), STDIN, envFor('ADD')), (err: unknown) => {
        assert.ok(err instanceof PluginError);
        assert.equal(err.message, 'netplugin failed with no error message: signal: killed');
        assert.equal(err.exec.signal, 'SIGKILL');
        assert.equal(err.exec.exitCode, null);
        return true;
      });
    });

    test('undecodable stdout: Go diagnostic-message error with the JSON syntax reason', async () => {
      await plugins.writePlan('fake', { ADD: { result: 'not json', exitCode: 1 } });
      await assert.rejects(run(plugins.path('fake'), STDIN, envFor('ADD')), {
        message:
          "netplugin failed but error parsing its diagnostic message \"not json\": invalid character 'o' in literal null (expecting 'u')",
      });
      await plugins.writePlan('fake', { ADD: { result: '{}', exitCode: 2 } });
      await assert.rejects(run(plugins.path('fake'), STDIN, envFor('ADD')), { message: '', code: 0 });
    });

    test('a plugin that exits without reading a large stdin does not crash us (EPIPE)', async () => {
      const big = Buffer.alloc(4 * 1024 * 1024, 0x20);
      const out = await run(plugins.path('instant'), big, envFor('ADD'));
      assert.match(out.stdout.toString(), /"cniVersion":"1.1.0"/);

      await plugins.writePlan('fake', { DEL: { noStdin: true, exitCode: 0 } });
      await run(plugins.path('fake'), big, envFor('DEL'));
      assert.equal((await plugins.calls('fake')).at(-1)!.stdin, null);
    });

    test('stdin far larger than a pipe holds reaches the plugin whole (written as the plugin reads)', async () => {
      const config = JSON.stringify({ cniVersion: '1.0.0', name: 'big', pad: 'y'.repeat(1024 * 1024) });
      await plugins.writePlan('fake', { ADD: { result: '{"ok":true}' } });
      const out = await run(plugins.path('fake'), Buffer.from(config), envFor('ADD'));
      assert.equal(out.stdout.toString(), '{"ok":true}');
      const seen = (await plugins.calls('fake')).at(-1)!.stdin;
      assert.equal(seen?.length, config.length);
      assert.equal(seen, config);
    });

    test('stdout far larger than a pipe holds, within the limit, arrives whole (a plugin that fills its pipe is drained)', async () => {
      await plugins.writePlan('fake', { ADD: { outputBytes: 1024 * 1024, delayMs: 0 } });
      const out = await run(plugins.path('fake'), STDIN, envFor('ADD'), { maxStdoutBytes: 2 * 1024 * 1024 });
      assert.equal(out.stdout.length, 1024 * 1024);
      assert.ok(out.stdout.every((b) => b === 0x78));
    });

    test('stdout over the limit is cut off: the group is killed and the call fails', async () => {
      await plugins.writePlan('fake', { ADD: { outputBytes: 8 * 1024 * 1024, delayMs: 0 } });
      await assert.rejects(
        run(plugins.path('fake'), STDIN, envFor('ADD'), { maxStdoutBytes: 64 * 1024 }),
        (err: unknown) => {
          assert.ok(err instanceof PluginError);
          assert.equal(err.message, 'netplugin failed: output exceeded the limit of 65536 bytes');
          assert.ok(err.exec.stdout.length <= 4096);
          return true;
        },
      );
      const pid = (await plugins.calls('fake')).at(-1)!.pid;
      assert.ok(allGone([pid]));
    });

    test('stderr keeps only its tail, in the output and in errors', async () => {
      const noise = `${'a'.repeat(100_000)}THE-END`;
      await plugins.writePlan('fake', { ADD: { stderr: noise, exitCode: 1 } });
      await assert.rejects(
        run(plugins.path('fake'), STDIN, envFor('ADD'), { maxStderrBytes: 1024 }),
        (err: unknown) => {
          assert.ok(err instanceof PluginError);
          assert.equal(err.exec.stderr.length, 1024);
          assert.ok(err.exec.stderr.endsWith('THE-END'));
          assert.equal(err.message, `netplugin failed: "${err.exec.stderr}": exit status 1`);
          return true;
        },
      );
    });

    test('T1: timeout kills the whole process group, grandchild included, even ignoring SIGTERM', async () => {
      await plugins.writePlan('fake', {
        ADD: { delayMs: 60_000, ignoreSigterm: true, grandchild: 'ignore-term' },
      });
      await assert.rejects(
        run(plugins.path('fake'), STDIN, envFor('ADD'), { timeoutMs: 400, killGraceMs: 100 }),
        (err: unknown) => {
          assert.ok(err instanceof PluginTimeoutError);
          assert.match(err.message, /netplugin failed with no error message/);
          assert.equal(err.timeoutMs, 400);
          assert.equal(err.exec.signal, 'SIGKILL');
          return true;
        },
      );
      const call = (await plugins.calls('fake')).at(-1)!;
      assert.ok(call.grandchildPid !== undefined);
      assert.equal(isRunning(call.pid), false, 'plugin gone when the call settles');
      assert.ok(allGone([call.grandchildPid]), 'grandchild gone');
    });

    test('timeout of a plugin that just sleeps: SIGTERM is enough, no wait for the grace period', async () => {
      await assert.rejects(
        run(plugins.path('sleep'), STDIN, envFor('ADD'), { timeoutMs: 200, killGraceMs: 60_000 }),
        (err: unknown) => {
          assert.ok(err instanceof PluginTimeoutError);
          assert.equal(err.message, 'netplugin failed with no error message: timed out after 200 ms');
          assert.equal(err.exec.signal, 'SIGTERM');
          return true;
        },
      );
    });

    test('a grandchild holding stdout open after a normal exit does not hang the call', async () => {
      await plugins.writePlan('fake', { ADD: { result: '{"ok":true}', grandchild: true } });
      const out = await run(plugins.path('fake'), STDIN, envFor('ADD'));
      assert.equal(out.stdout.toString(), '{"ok":true}');
      const gpid = (await plugins.calls('fake')).at(-1)!.grandchildPid!;
      process.kill(gpid, 'SIGKILL');
    });

    test('an already-aborted signal never spawns', async () => {
      const before = (await plugins.calls('fake')).length;
      const reason = new Error('shutting down');
      await assert.rejects(
        run(plugins.path('fake'), STDIN, envFor('ADD'), { signal: AbortSignal.abort(reason) }),
        (err: unknown) => {
          assert.ok(err instanceof PluginAbortedError);
          assert.equal(err.cause, reason);
          assert.equal(err.exec.exitCode, null);
          return true;
        },
      );
      await sleep(50);
      assert.equal((await plugins.calls('fake')).length, before);
    });

    test('abort during the run kills the group and rejects with PluginAbortedError', async () => {
      await plugins.writePlan('fake', { ADD: { delayMs: 60_000, grandchild: true } });
      const ac = new AbortController();
      const seen = (await plugins.calls('fake')).length;
      const pending = run(plugins.path('fake'), STDIN, envFor('ADD'), {
        signal: ac.signal,
        killGraceMs: 100,
      });
      // Abort once the plugin has recorded this call (it is certainly running then).
      for (let i = 0; i < 250 && (await plugins.calls('fake')).length === seen; i++) await sleep(20);
      const call = (await plugins.calls('fake')).at(-1)!;
      assert.ok(call.grandchildPid !== undefined && isRunning(call.grandchildPid));
      ac.abort(new Error('user cancelled'));
      await assert.rejects(pending, (err: unknown) => {
        assert.ok(err instanceof PluginAbortedError);
        assert.equal((err.cause as Error).message, 'user cancelled');
        assert.match(err.message, /netplugin failed with no error message/);
        return true;
      });
      assert.ok(allGone([call.pid, call.grandchildPid]));
    });

    test('spawn errors: PluginSpawnError with the errno and the path in the message', async () => {
      const missing = '/tmp/some/invalid/plugin/path';
      await assert.rejects(run(missing, STDIN, envFor('ADD')), (err: unknown) => {
        assert.ok(err instanceof PluginSpawnError);
        assert.equal(err.errno, 'ENOENT');
        assert.equal(err.pluginPath, missing);
        assert.equal(err.attempts, 1);
        assert.equal(
          err.message,
          `netplugin failed with no error message: fork/exec ${missing}: no such file or directory`,
        );
        return true;
      });
      const noexec = path.join(plugins.root, 'noexec');
      await writeFile(noexec, '#!/bin/sh\n', { mode: 0o644 });
      await assert.rejects(run(noexec, STDIN, envFor('ADD')), { errno: 'EACCES' });
    });

    describe('ETXTBSY (the binary is still being written)', () => {
      let busy: PluginDir;
      before(async () => {
        busy = await makePluginDir({ instant: 'instant' }, { copy: true });
      });
      after(() => busy.cleanup());

      test('is retried with a fresh spawn and succeeds once the writer is done', async () => {
        const writer = await open(busy.realPath('instant'), 'r+');
        let release: Promise<void> | undefined;
        try {
          // Without retries the spawn fails: the file really is busy.
          await assert.rejects(
            run(busy.path('instant'), STDIN, envFor('ADD'), { busyRetry: { attempts: 1 } }),
            { errno: 'ETXTBSY', attempts: 1 },
          );
          release = sleep(100).then(() => writer.close());
          const out = await run(busy.path('instant'), STDIN, envFor('ADD'));
          assert.match(out.stdout.toString(), /10\.99\.0\.2/);
        } finally {
          await (release ?? writer.close());
        }
      });

      test('fails loudly after the attempts when it never clears', async () => {
        const writer = await open(busy.realPath('instant'), 'r+');
        try {
          await assert.rejects(
            run(busy.path('instant'), STDIN, envFor('DEL'), {
              busyRetry: { attempts: 3, initialDelayMs: 10, maxDelayMs: 20 },
            }),
            (err: unknown) => {
              assert.ok(err instanceof PluginSpawnError);
              assert.equal(err.errno, 'ETXTBSY');
              assert.equal(err.attempts, 3);
              assert.equal(
                err.message,
                `netplugin failed with no error message: fork/exec ${busy.path('instant')}: text file busy (gave up after 3 attempts)`,
              );
              assert.equal(err.context.command, 'DEL');
              return true;
            },
          );
        } finally {
          await writer.close();
        }
      });

      test('the call timeout covers the retries', async () => {
        const writer = await open(busy.realPath('instant'), 'r+');
        try {
          await assert.rejects(
            run(busy.path('instant'), STDIN, envFor('ADD'), {
              timeoutMs: 150,
              busyRetry: { attempts: 1000, initialDelayMs: 20, maxDelayMs: 20 },
            }),
            (err: unknown) => {
              assert.ok(err instanceof PluginTimeoutError);
              assert.equal(err.timeoutMs, 150);
              return true;
            },
          );
        } finally {
          await writer.close();
        }
      });

      test('the retry backoff is abortable', async () => {
        const writer = await open(busy.realPath('instant'), 'r+');
        try {
          const ac = new AbortController();
          setTimeout(() => {
            ac.abort();
          }, 50);
          await assert.rejects(
            run(busy.path('instant'), STDIN, envFor('ADD'), {
              signal: ac.signal,
              busyRetry: { attempts: 100, initialDelayMs: 20, maxDelayMs: 20 },
            }),
            PluginAbortedError,
          );
        } finally {
          await writer.close();
        }
      });
    });
  });

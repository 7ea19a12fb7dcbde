// SpawnerExec: plugins run through a small helper process behave exactly as with DefaultExec
// (same output, same errors field for field, same process-group kills), and the helper's own
// lifecycle (lazy start, restart after death, requeue of calls that never started, close, unref)
// never loses a call or runs a plugin twice.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { open, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { DefaultExec, type Exec, type ExecOptions } from '../../src/invoke/exec.ts';
import { childPids } from '../../src/invoke/process-group.ts';
import { SpawnerExec, type SpawnerHelperExit } from '../../src/invoke/spawner.ts';
import {
  PluginAbortedError,
  PluginError,
  PluginSpawnError,
  PluginTimeoutError,
} from '../../src/core/errors.ts';
import { SpawnerError } from '../../src/core/runtime-errors.ts';
import { type FakePlan, isRunning, makePluginDir, type PluginDir } from '../helpers/fixtures.ts';

const STDIN = Buffer.from('{"name":"spawner-test","cniVersion":"1.0.0"}');

function envFor(command: string, extra?: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    CNI_COMMAND: command,
    CNI_CONTAINERID: 'ctr-1',
    CNI_NETNS: '/run/netns/x',
    CNI_IFNAME: 'eth0',
    CNI_ARGS: '',
    CNI_PATH: '/opt/cni/bin',
    ...extra,
  };
}

/**
 * How `p` settled, or a failed assertion once it is still pending after `ms`. The calls below run on
 * a stopped helper: if SpawnerExec does not enforce the deadline itself, nothing ever settles them.
 */
async function settledWithin<T>(p: Promise<T>, ms: number, what: string): Promise<PromiseSettledResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<'pending'>((resolve) => {
    timer = setTimeout(resolve, ms, 'pending');
  });
  const r = await Promise.race([Promise.allSettled([p]).then(([s]) => s), pending]);
  clearTimeout(timer);
  assert.notEqual(r, 'pending', `${what} is still pending after ${ms} ms`);
  return r as PromiseSettledResult<T>;
}

/** The rejection of a settled call (fails when it was fulfilled). */
function rejection(r: PromiseSettledResult<unknown>): Error {
  assert.equal(r.status, 'rejected', 'the call should have failed');
  return r.reason as Error;
}

/** Everything observable about an outcome, minus timings and pids. */
function outcome(
  settled: PromiseSettledResult<{ stdout: Buffer; stderr: string; exitCode: number }>,
): unknown {
  if (settled.status === 'fulfilled') {
    const o = settled.value;
    return { ok: true, stdout: o.stdout.toString('latin1'), stderr: o.stderr, exitCode: o.exitCode };
  }
  const e = settled.reason as Record<string, unknown> & Error;
  const exec = e.exec as Record<string, unknown> | undefined;
  const cause = e.cause as (Error & { code?: unknown }) | undefined;
  return {
    class: e.constructor.name,
    name: e.name,
    message: e.message,
    code: e.code,
    msg: e.msg,
    details: e.details,
    errno: e.errno,
    attempts: e.attempts,
    timeoutMs: e.timeoutMs,
    context: e.context,
    exec: exec === undefined ? undefined : { ...exec, durationMs: typeof exec.durationMs },
    cause: cause === undefined ? undefined : { message: cause.message, code: cause.code },
  };
}

describe('SpawnerExec', () => {
  let plugins: PluginDir;
  let spawner: SpawnerExec;
  const direct = new DefaultExec();

  before(async () => {
    plugins = await makePluginDir({ fake: 'fake', instant: 'instant', sleep: 'sleep' });
    spawner = new SpawnerExec();
  });
  after(async () => {
    await spawner.close();
    await plugins.cleanup();
  });

  /** Run the same call through both execs (one after the other: the fake plugin counts calls). */
  async function both(
    pluginPath: string,
    plan: FakePlan | undefined,
    env: Record<string, string>,
    options?: ExecOptions,
    stdin: Uint8Array = STDIN,
  ): Promise<[unknown, unknown]> {
    const results: unknown[] = [];
    for (const exec of [direct, spawner] as Exec[]) {
      if (plan !== undefined) await plugins.writePlan('fake', plan);
      results.push(
        outcome((await Promise.allSettled([exec.execPlugin(pluginPath, stdin, env, options)]))[0]),
      );
    }
    return results as [unknown, unknown];
  }

  test('starts lazily: no helper until the first call', () => {
    const lazy = new SpawnerExec();
    assert.equal(lazy.helperPid, undefined);
  });

  test('passes stdin and exactly the env, runs the plugin in its own process group', async () => {
    await plugins.writePlan('fake', { ADD: { result: '{"some":"result"}', stderr: 'note' } });
    const env = envFor('ADD', { ONLY_THIS: 'yes' });
    const out = await spawner.execPlugin(plugins.path('fake'), STDIN, env);
    assert.equal(out.stdout.toString(), '{"some":"result"}');
    assert.equal(out.stderr, 'note');
    assert.equal(out.exitCode, 0);
    const call = (await plugins.calls('fake')).at(-1)!;
    assert.equal(call.stdin, STDIN.toString());
    assert.deepEqual(call.env, env);
    assert.deepEqual(call.argv, [plugins.path('fake')]);
    assert.equal(call.pgid, call.pid);
    assert.equal(call.sid, call.pid);
    assert.equal(call.ppid, spawner.helperPid, 'spawned by the helper, not by us');
  });

  const parityCases: Array<[string, FakePlan, (ExecOptions & { stdin?: Buffer }) | undefined]> = [
    ['success with stderr', { ADD: { result: '{"ok":1}', stderr: 'warn' } }, undefined],
    [
      'an error object with exit 1',
      { ADD: { error: { code: 7, msg: 'banana', details: 'ripe' }, stderr: 'x' } },
      undefined,
    ],
    ['stderr only, exit 3', { ADD: { stderr: 'line "one"\n\ttab\u00e9\x01', exitCode: 3 } }, undefined],
    ['no output, exit 1', { ADD: { exitCode: 1 } }, undefined],
    ['killed by a signal', { ADD: { killSelf: 'SIGKILL' } }, undefined],
    ['undecodable stdout', { ADD: { result: 'not json', exitCode: 1 } }, undefined],
    ['stdout over the limit', { ADD: { outputBytes: 1024 * 1024 } }, { maxStdoutBytes: 64 * 1024 }],
    [
      'a stderr tail',
      { ADD: { stderr: `${'a'.repeat(100_000)}THE-END`, exitCode: 1 } },
      { maxStderrBytes: 1024 },
    ],
    ['binary stdout, exit 0', { ADD: { result: '\u00ff\u0000\u00fe' } }, undefined],
    [
      'a large stdin the plugin never reads',
      { DEL: { noStdin: true } },
      { stdin: Buffer.alloc(4 * 1024 * 1024, 0x20), context: { network: 'n1', containerId: 'c1' } },
    ],
  ];
  for (const [name, plan, opts] of parityCases) {
    test(`same outcome as DefaultExec: ${name}`, async () => {
      const { stdin, ...options } = opts ?? {};
      const command = Object.keys(plan)[0]!;
      const [d, s] = await both(plugins.path('fake'), plan, envFor(command), options, stdin ?? STDIN);
      assert.deepEqual(s, d);
    });
  }

  test('same spawn errors as DefaultExec: ENOENT and EACCES', async () => {
    const [d1, s1] = await both('/tmp/some/invalid/plugin/path', undefined, envFor('ADD'), {
      command: 'ADD',
    });
    assert.deepEqual(s1, d1);
    assert.equal((s1 as { errno: string }).errno, 'ENOENT');
    const noexec = path.join(plugins.root, 'noexec');
    await writeFile(noexec, '#!/bin/sh\n', { mode: 0o644 });
    const [d2, s2] = await both(noexec, undefined, envFor('ADD'));
    assert.deepEqual(s2, d2);
    assert.equal((s2 as { class: string }).class, 'PluginSpawnError');
  });

  test('a successful call hands stderr to onStderr, and a throwing logger is ignored', async () => {
    const seen: string[] = [];
    const exec = new SpawnerExec({
      onStderr: (_p, text) => {
        seen.push(text);
        throw new Error('logger down');
      },
    });
    try {
      await plugins.writePlan('fake', { ADD: { result: '{}', stderr: 'some stderr message' } });
      const out = await exec.execPlugin(plugins.path('fake'), STDIN, envFor('ADD'));
      assert.equal(out.stdout.toString(), '{}');
      assert.deepEqual(seen, ['some stderr message']);
    } finally {
      await exec.close();
    }
  });

  test('timeout kills the whole process group, grandchild included, as DefaultExec', async () => {
    await plugins.writePlan('fake', {
      ADD: { delayMs: 60_000, ignoreSigterm: true, grandchild: 'ignore-term' },
    });
    await assert.rejects(
      spawner.execPlugin(plugins.path('fake'), STDIN, envFor('ADD'), { timeoutMs: 400, killGraceMs: 100 }),
      (err: unknown) => {
        assert.ok(err instanceof PluginTimeoutError);
        assert.equal(err.timeoutMs, 400);
        assert.equal(err.exec.signal, 'SIGKILL');
        assert.match(err.message, /timed out after 400 ms/);
        return true;
      },
    );
    const call = (await plugins.calls('fake')).at(-1)!;
    assert.equal(isRunning(call.pid), false);
    assert.equal(isRunning(call.grandchildPid!), false);
  });

  test('an aborted signal never reaches the helper; abort during the run kills the group', async () => {
    const before = (await plugins.calls('fake')).length;
    const reason = new Error('shutting down');
    await assert.rejects(
      spawner.execPlugin(plugins.path('fake'), STDIN, envFor('ADD'), { signal: AbortSignal.abort(reason) }),
      (err: unknown) => err instanceof PluginAbortedError && err.cause === reason,
    );
    assert.equal((await plugins.calls('fake')).length, before);

    await plugins.writePlan('fake', { ADD: { delayMs: 60_000, grandchild: true } });
    const ac = new AbortController();
    const run = spawner.execPlugin(plugins.path('fake'), STDIN, envFor('ADD'), {
      signal: ac.signal,
      killGraceMs: 100,
    });
    for (let i = 0; i < 250 && (await plugins.calls('fake')).length === before; i++) await sleep(20);
    const call = (await plugins.calls('fake')).at(-1)!;
    assert.ok(isRunning(call.grandchildPid!));
    const cancel = new Error('user cancelled');
    ac.abort(cancel);
    await assert.rejects(run, (err: unknown) => {
      assert.ok(err instanceof PluginAbortedError);
      assert.equal(err.cause, cancel, 'the cause is our signal reason, not a copy');
      assert.match(err.message, /aborted/);
      return true;
    });
    assert.equal(isRunning(call.pid), false);
    assert.equal(isRunning(call.grandchildPid!), false);
  });

  test('runs calls concurrently, each exactly once, each with its own answer', async () => {
    await plugins.writePlan('fake', { ADD: { result: 'PASSTHROUGH', delayMs: 200 } });
    const before = (await plugins.calls('fake')).length;
    const n = 12;
    const outs = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        spawner.execPlugin(
          plugins.path('fake'),
          Buffer.from(JSON.stringify({ cniVersion: '1.0.0', prevResult: { cniVersion: '1.0.0', n: i } })),
          envFor('ADD'),
        ),
      ),
    );
    outs.forEach((o, i) => {
      assert.equal((JSON.parse(o.stdout.toString()) as { n: number }).n, i);
    });
    const calls = (await plugins.calls('fake')).slice(before);
    assert.equal(calls.length, n);
    assert.equal(new Set(calls.map((c) => c.pid)).size, n);
    assert.equal(new Set(calls.map((c) => c.ppid)).size, 1, 'all through one helper');
  });

  test('ETXTBSY is retried inside the helper, as DefaultExec does', async () => {
    const busy = await makePluginDir({ instant: 'instant' }, { copy: true });
    const exec = new SpawnerExec();
    try {
      const writer = await open(busy.realPath('instant'), 'r+');
      let release: Promise<void> | undefined;
      try {
        await assert.rejects(
          exec.execPlugin(busy.path('instant'), STDIN, envFor('ADD'), { busyRetry: { attempts: 1 } }),
          { errno: 'ETXTBSY', attempts: 1 },
        );
        release = sleep(100).then(() => writer.close());
        const out = await exec.execPlugin(busy.path('instant'), STDIN, envFor('ADD'));
        assert.match(out.stdout.toString(), /10\.99\.0\.2/);
      } finally {
        await (release ?? writer.close());
      }
    } finally {
      await exec.close();
      await busy.cleanup();
    }
  });

  test('helper killed mid-call: the call fails (never rerun), its plugin group is killed, the next call restarts it', async () => {
    const exec = new SpawnerExec();
    const exits: Array<{ signal: string | null; callsInFlight: number }> = [];
    const watched = new SpawnerExec({ onHelperExit: (i) => exits.push(i) });
    try {
      for (const e of [exec, watched]) {
        await plugins.writePlan('fake', { ADD: { delayMs: 60_000, grandchild: true } });
        const before = (await plugins.calls('fake')).length;
        const run = e.execPlugin(plugins.path('fake'), STDIN, envFor('ADD'));
        for (let i = 0; i < 250 && (await plugins.calls('fake')).length === before; i++) await sleep(20);
        const call = (await plugins.calls('fake')).at(-1)!;
        const helper = e.helperPid!;
        assert.equal(call.ppid, helper);
        process.kill(helper, 'SIGKILL');
        await assert.rejects(run, (err: unknown) => {
          assert.ok(err instanceof PluginError && !(err instanceof PluginAbortedError));
          assert.ok(err.cause instanceof SpawnerError);
          assert.equal(err.cause.signal, 'SIGKILL');
          assert.equal(err.cause.pid, helper);
          assert.match(err.message, /spawner helper \(pid \d+\) was killed by SIGKILL.*may have run/);
          assert.equal(err.exec.signal, 'SIGKILL');
          return true;
        });
        assert.equal(isRunning(call.pid), false, 'the orphaned plugin was killed');
        assert.equal(isRunning(call.grandchildPid!), false, 'and its group');
        assert.equal((await plugins.calls('fake')).length, before + 1, 'never run again');

        await plugins.writePlan('fake', { ADD: { result: '{"again":true}' } });
        const out = await e.execPlugin(plugins.path('fake'), STDIN, envFor('ADD'));
        assert.equal(out.stdout.toString(), '{"again":true}');
        assert.notEqual(e.helperPid, helper, 'a new helper');
      }
      assert.deepEqual(
        exits.map((x) => [x.signal, x.callsInFlight]),
        [['SIGKILL', 1]],
      );
    } finally {
      await exec.close();
      await watched.close();
    }
  });

  test('calls the dead helper never read are handed to a new helper and run exactly once', async () => {
    const exec = new SpawnerExec();
    try {
      await exec.execPlugin(plugins.path('instant'), STDIN, envFor('VERSION')); // helper up, idle
      const helper = exec.helperPid!;
      process.kill(helper, 'SIGSTOP'); // it cannot read what we send now
      await plugins.writePlan('fake', { ADD: { result: 'PASSTHROUGH' } });
      const before = (await plugins.calls('fake')).length;
      const runs = [0, 1, 2].map((i) =>
        exec.execPlugin(
          plugins.path('fake'),
          Buffer.from(JSON.stringify({ cniVersion: '1.0.0', prevResult: { cniVersion: '1.0.0', n: i } })),
          envFor('ADD'),
        ),
      );
      await sleep(50);
      process.kill(helper, 'SIGKILL');
      const outs = await Promise.all(runs);
      outs.forEach((o, i) => {
        assert.equal((JSON.parse(o.stdout.toString()) as { n: number }).n, i);
      });
      assert.equal((await plugins.calls('fake')).length, before + 3);
      assert.notEqual(exec.helperPid, helper);
    } finally {
      await exec.close();
    }
  });

  test('a helper that cannot start fails the call with PluginSpawnError (cause SpawnerError), plugin never run', async () => {
    const exits: number[] = [];
    const broken = new SpawnerExec({
      helperPath: path.join(plugins.root, 'no-such-helper.js'),
      execArgv: [],
      onHelperExit: () => exits.push(1),
    });
    const before = (await plugins.calls('fake')).length;
    await assert.rejects(broken.execPlugin(plugins.path('fake'), STDIN, envFor('ADD')), (err: unknown) => {
      assert.ok(err instanceof PluginSpawnError);
      assert.ok(err.cause instanceof SpawnerError);
      assert.equal(err.cause.exitCode, 1);
      assert.match(err.cause.stderr, /no-such-helper\.js/);
      assert.match(err.message, /^netplugin failed with no error message: fork\/exec .*: spawner helper/);
      return true;
    });
    assert.equal(exits.length, 3, 'first try plus two requeues');
    assert.equal((await plugins.calls('fake')).length, before);
    await broken.close();
  });

  test('close() lets calls in flight finish, stops the helper, and refuses later calls', async () => {
    const exec = new SpawnerExec();
    await plugins.writePlan('fake', { ADD: { result: '{"late":true}', delayMs: 300 } });
    const run = exec.execPlugin(plugins.path('fake'), STDIN, envFor('ADD'));
    await sleep(50);
    const helper = exec.helperPid!;
    await exec.close();
    assert.equal((await run).stdout.toString(), '{"late":true}');
    assert.equal(isRunning(helper), false);
    assert.equal(exec.helperPid, undefined);
    await assert.rejects(exec.execPlugin(plugins.path('fake'), STDIN, envFor('ADD')), (err: unknown) => {
      assert.ok(err instanceof PluginSpawnError);
      assert.match(err.message, /spawner helper is closed/);
      return true;
    });
  });

  test('an idle helper does not keep the process alive; the helper exits with it', () => {
    const spawnerModule = fileURLToPath(new URL('../../src/invoke/spawner.ts', import.meta.url));
    const script = `
      import { SpawnerExec } from ${JSON.stringify(spawnerModule)};
      const exec = new SpawnerExec();
      const out = await exec.execPlugin(${JSON.stringify(plugins.path('instant'))}, Buffer.from('{}'), { CNI_COMMAND: 'VERSION' });
      console.log(exec.helperPid, out.stdout.length > 0);
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const [pid, ok] = r.stdout.trim().split(' ');
    assert.equal(ok, 'true');
    // The helper sees its stdin end when we exit and follows; give it a moment, not a deadline.
    let alive = true;
    for (let i = 0; i < 100 && alive; i++) {
      alive = isRunning(Number(pid));
      if (alive) spawnSync('sleep', ['0.05']);
    }
    assert.equal(alive, false);
  });

  describe('a helper that stops answering (SIGSTOP): deadlines are enforced on our side', () => {
    /**
     * The helper's children (its plugins) once there are `n`. Read from /proc rather than from the
     * plugins' records: the helper can be stopped right after the spawn, long before the deadline,
     * however slowly the plugins start on a loaded machine.
     */
    async function spawnedBy(helper: number, n: number): Promise<number[]> {
      let pids: number[] = [];
      for (let i = 0; i < 1000 && pids.length < n; i++) {
        pids = childPids(helper);
        if (pids.length < n) await sleep(10);
      }
      assert.equal(pids.length, n, 'the helper spawned the plugins');
      return pids;
    }

    /** A helper that is up, so that no deadline is spent starting it. */
    async function warm(exec: SpawnerExec): Promise<number> {
      await exec.execPlugin(plugins.path('instant'), STDIN, envFor('VERSION'));
      return exec.helperPid!;
    }

    /** Neither the plugins nor anything in their process groups (the recorded grandchildren) runs. */
    async function nothingLeft(pids: number[], before: number): Promise<void> {
      for (const pid of pids) assert.equal(isRunning(pid), false, `plugin ${pid} was killed`);
      for (const c of (await plugins.calls('fake')).slice(before)) {
        assert.equal(isRunning(c.pid), false, `plugin ${c.pid} was killed`);
        if (c.grandchildPid !== undefined) {
          assert.equal(isRunning(c.grandchildPid), false, `and its process group (${c.grandchildPid})`);
        }
      }
    }

    /** Whatever a failed test left behind: the stopped helper and the plugins it started. */
    async function cleanUp(exec: SpawnerExec, helper: number | undefined, pids: number[], before: number) {
      const groups = [...pids];
      for (const c of (await plugins.calls('fake')).slice(before))
        groups.push(c.pid, c.grandchildPid ?? c.pid);
      for (const pid of groups) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // gone, as it should be
        }
      }
      try {
        if (helper !== undefined) process.kill(helper, 'SIGKILL');
      } catch {
        // gone, as it should be
      }
      await exec.close();
    }

    /** The next call works, on a new helper. */
    async function nextCallWorks(exec: SpawnerExec, old: number): Promise<void> {
      await plugins.writePlan('fake', { ADD: { result: '{"again":true}' } });
      const out = await exec.execPlugin(plugins.path('fake'), STDIN, envFor('ADD'), { timeoutMs: 10_000 });
      assert.equal(out.stdout.toString(), '{"again":true}');
      assert.ok(exec.helperPid !== undefined && exec.helperPid !== old, 'a new helper');
    }

    test('timeoutMs: the call fails with PluginTimeoutError, the helper is killed and replaced, no plugin is left', async () => {
      const exits: SpawnerHelperExit[] = [];
      const exec = new SpawnerExec({ onHelperExit: (i) => exits.push(i) });
      let helper: number | undefined;
      let pids: number[] = [];
      const before = (await plugins.calls('fake')).length;
      try {
        helper = await warm(exec);
        await plugins.writePlan('fake', { ADD: { delayMs: 60_000, grandchild: true } });
        const run = exec.execPlugin(plugins.path('fake'), STDIN, envFor('ADD'), {
          timeoutMs: 2500,
          context: { network: 'n1' },
        });
        pids = await spawnedBy(helper, 1);
        process.kill(helper, 'SIGSTOP');

        const err = rejection(await settledWithin(run, 10_000, 'the call'));
        assert.ok(err instanceof PluginTimeoutError, `got ${String(err)}`);
        assert.equal(err.timeoutMs, 2500);
        assert.match(err.message, /timed out after 2500 ms/);
        assert.equal(err.context.network, 'n1');
        assert.ok(err.cause instanceof SpawnerError, 'the cause tells that the helper did not answer');
        assert.equal(err.cause.pid, helper);
        assert.match(err.cause.message, /did not answer a ping/);

        await nothingLeft(pids, before);
        assert.equal(isRunning(helper), false, 'the stopped helper was killed');
        assert.deepEqual(
          exits.map((x) => [x.pid, x.signal, x.callsInFlight]),
          [[helper, 'SIGKILL', 1]],
        );
        await nextCallWorks(exec, helper);
        assert.ok((await plugins.calls('fake')).length <= before + 2, 'the timed-out call never ran again');
      } finally {
        await cleanUp(exec, helper, pids, before);
      }
    });

    test('AbortSignal: the call fails with PluginAbortedError (cause: the reason), no plugin is left', async () => {
      const exec = new SpawnerExec();
      let helper: number | undefined;
      let pids: number[] = [];
      const before = (await plugins.calls('fake')).length;
      try {
        helper = await warm(exec);
        await plugins.writePlan('fake', { ADD: { delayMs: 60_000, grandchild: 'ignore-term' } });
        const ac = new AbortController();
        const run = exec.execPlugin(plugins.path('fake'), STDIN, envFor('ADD'), { signal: ac.signal });
        pids = await spawnedBy(helper, 1);
        process.kill(helper, 'SIGSTOP');
        await sleep(200);
        const reason = new Error('shutting down');
        ac.abort(reason);

        const err = rejection(await settledWithin(run, 10_000, 'the aborted call'));
        assert.ok(err instanceof PluginAbortedError, `got ${String(err)}`);
        assert.equal(err.cause, reason, 'the cause is our signal reason, as with DefaultExec');
        await nothingLeft(pids, before);
        assert.equal(isRunning(helper), false, 'the stopped helper was killed');
        await nextCallWorks(exec, helper);
      } finally {
        await cleanUp(exec, helper, pids, before);
      }
    });

    test('the other calls on that helper fail typed (a started one) or run on the new helper (an unread one)', async () => {
      const exec = new SpawnerExec();
      let helper: number | undefined;
      let pids: number[] = [];
      const before = (await plugins.calls('fake')).length;
      try {
        helper = await warm(exec);
        await plugins.writePlan('fake', {
          ADD: { delayMs: 60_000, grandchild: true },
          CHECK: { result: '{"checked":true}' },
        });
        const timed = exec.execPlugin(plugins.path('fake'), STDIN, envFor('ADD'), { timeoutMs: 2500 });
        const other = exec.execPlugin(plugins.path('fake'), STDIN, envFor('ADD')); // no deadline of its own
        pids = await spawnedBy(helper, 2);
        process.kill(helper, 'SIGSTOP');
        const unread = exec.execPlugin(plugins.path('fake'), STDIN, envFor('CHECK')); // sent to the stopped helper

        const [t, o, u] = await Promise.all([
          settledWithin(timed, 10_000, 'the call with a timeout'),
          settledWithin(other, 10_000, 'the other started call'),
          settledWithin(unread, 10_000, 'the call the helper never read'),
        ]);
        assert.ok(rejection(t) instanceof PluginTimeoutError);
        const err = rejection(o);
        assert.ok(
          err instanceof PluginError &&
            !(err instanceof PluginTimeoutError) &&
            !(err instanceof PluginAbortedError),
          `got ${String(err)}`,
        );
        assert.ok(err.cause instanceof SpawnerError, 'SpawnerError as cause, as for a helper death');
        assert.equal(err.cause.pid, helper);
        assert.match(err.message, /did not answer a ping.*the plugin may have run/);
        assert.equal(u.status, 'fulfilled', 'a call that never started is handed to the new helper');
        assert.equal(u.value.stdout.toString(), '{"checked":true}');

        await nothingLeft(pids, before);
        assert.equal(isRunning(helper), false);
        const calls = (await plugins.calls('fake')).slice(before);
        assert.ok(calls.filter((c) => c.command === 'ADD').length <= 2, 'each call ran at most once');
        assert.equal(calls.filter((c) => c.command === 'CHECK').length, 1);
        await nextCallWorks(exec, helper);
      } finally {
        await cleanUp(exec, helper, pids, before);
      }
    });

    test('any helper: one that never answers nor records its plugins still fails the call in time, and its plugins are killed', async () => {
      const exec = new SpawnerExec({
        helperPath: fileURLToPath(new URL('../helpers/mute-spawner-helper.ts', import.meta.url)),
      });
      let helper: number | undefined;
      let pids: number[] = [];
      const before = (await plugins.calls('fake')).length;
      try {
        await plugins.writePlan('fake', { ADD: { delayMs: 60_000, grandchild: true } });
        // A long deadline: this helper starts cold, and must have spawned the plugin by then.
        const run = exec.execPlugin(plugins.path('fake'), STDIN, envFor('ADD'), { timeoutMs: 4000 });
        helper = exec.helperPid!;
        pids = await spawnedBy(helper, 1);

        const err = rejection(await settledWithin(run, 15_000, 'the call'));
        assert.ok(err instanceof PluginTimeoutError, `got ${String(err)}`);
        assert.equal(err.timeoutMs, 4000);
        assert.ok(err.cause instanceof SpawnerError);
        assert.match(err.cause.message, /did not answer a ping/);
        // In no start record: found as the helper's child while it was stopped, before the kill.
        await nothingLeft(pids, before);
        assert.equal(isRunning(helper), false);
        assert.equal(exec.helperPid, undefined, 'no helper until the next call');
      } finally {
        await cleanUp(exec, helper, pids, before);
      }
    });

    test('a live helper that is still killing a stubborn plugin is not taken for a stopped one', async () => {
      const exits: SpawnerHelperExit[] = [];
      const exec = new SpawnerExec({ onHelperExit: (i) => exits.push(i) });
      const before = (await plugins.calls('fake')).length;
      try {
        const helper = await warm(exec);
        await plugins.writePlan('fake', { ADD: { delayMs: 60_000, ignoreSigterm: true } });
        const ac = new AbortController();
        const run = exec.execPlugin(plugins.path('fake'), STDIN, envFor('ADD'), {
          signal: ac.signal,
          killGraceMs: 2500,
        });
        // Recorded: it ignores SIGTERM from now on. The helper needs the whole killGraceMs to
        // answer, well beyond the grace for a stopped helper, and answers pings meanwhile.
        for (let i = 0; i < 500 && (await plugins.calls('fake')).length === before; i++) await sleep(20);
        const [call] = (await plugins.calls('fake')).slice(before);
        assert.ok(call !== undefined, 'the plugin started');
        const reason = new Error('cancelled');
        ac.abort(reason);

        const err = rejection(await settledWithin(run, 10_000, 'the call'));
        assert.ok(err instanceof PluginAbortedError);
        assert.equal(err.cause, reason);
        assert.equal(
          err.exec.signal,
          'SIGKILL',
          'SIGTERM was ignored: the helper sent SIGKILL after the grace',
        );
        assert.equal(isRunning(call.pid), false);
        assert.equal(exec.helperPid, helper, 'the same helper');
        assert.deepEqual(exits, []);
      } finally {
        await exec.close();
      }
    });
  });
});

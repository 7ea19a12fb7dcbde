// `npm run demo` (examples/demo.ts): runs clean twice in a row, cleans up after Ctrl-C, and says
// exactly what to do when root or the plugins are missing. The demo picks its own 10.254.x.0/24.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import { describe, test } from 'node:test';
import {
  DEMO,
  TSX_IMPORT,
  linkExists,
  netnsNames,
  type RunOutput,
  runNode,
  skipReason,
} from './cli-support.ts';

const SKIP = skipReason() ?? (existsSync(DEMO) ? undefined : `${DEMO} is missing`);

function demoTempDirs(): string[] {
  return readdirSync(os.tmpdir()).filter((n) => n.startsWith('libcni-demo-'));
}

/** Nothing of the demo run with this pid is left: namespace, bridge. */
function assertNothingLeft(pid: number): void {
  const tag = String(pid % 100000);
  assert.ok(!netnsNames().includes(`cnidemo-${tag}`), 'namespace left behind');
  assert.equal(linkExists(`cnidemo${tag}`), false, 'bridge left behind');
}

async function runDemo(
  onStdout?: (all: string, kill: (s: NodeJS.Signals) => void) => void,
): Promise<RunOutput & { pid: number }> {
  let pid = 0;
  const r = await runNode(DEMO, [], {
    nodeArgs: TSX_IMPORT,
    env: { CNI_PATH: '/usr/lib/cni' },
    onStdout: (all, kill) => {
      // The namespace step prints its path; the pid is in the names.
      const m = /cnidemo-(\d+)/.exec(all);
      if (m && pid === 0) pid = Number(m[1]);
      onStdout?.(all, kill);
    },
  });
  return { ...r, pid };
}

describe('npm run demo', { skip: SKIP }, () => {
  test('runs clean twice in a row and leaves no namespace, link or temp dir', async () => {
    const before = demoTempDirs();
    for (let i = 0; i < 2; i++) {
      const r = await runDemo();
      assert.equal(r.code, 0, `run ${i + 1}: ${r.stderr}\n${r.stdout}`);
      assert.match(r.stdout, /create network namespace cnidemo-\d+/);
      assert.match(r.stdout, /ping the gateway/);
      assert.match(r.stdout, /1 packets transmitted, 1 received/);
      assert.match(r.stdout, /CHECK[^\n]*\n {4}ok/);
      assert.match(r.stdout, /Done: /);
      assertNothingLeft(r.pid);
    }
    assert.deepEqual(demoTempDirs(), before, 'no temp dir left');
  });

  test('Ctrl-C during ADD still cleans up everything', async () => {
    let sent = false;
    const r = await runDemo((all, kill) => {
      if (!sent && all.includes('ADD:')) {
        sent = true;
        kill('SIGINT');
      }
    });
    assert.ok(sent);
    assert.equal(r.code, 130, r.stdout + r.stderr);
    assert.match(r.stdout, /clean up/);
    assert.doesNotMatch(r.stdout + r.stderr, /FAILED|left behind:/);
    assertNothingLeft(r.pid);
  });

  test('says what to do when not run as root', async () => {
    const r = await runNode(DEMO, [], {
      nodeArgs: TSX_IMPORT,
      env: { CNI_PATH: '/usr/lib/cni' },
      uid: 65534,
      cwd: '/',
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /run as root: sudo npm run demo/);
  });

  test('says what to install when the plugins are missing', async () => {
    const r = await runNode(DEMO, [], {
      nodeArgs: TSX_IMPORT,
      env: { CNI_PATH: '/nonexistent/cni' },
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /sudo apt-get install -y containernetworking-plugins/);
    assert.match(r.stderr, /bridge, host-local, portmap, tuning/);
  });
});

/**
 * A process that takes container lock `c1` under `<cacheDir>/locks` for the lock-takeover test.
 *
 *   node --import tsx lock-contender.ts hold <cacheDir>
 *     takes the lock, prints `held`, and keeps it until killed (the test kills it with SIGKILL,
 *     leaving the lock of a dead process behind);
 *   node --import tsx lock-contender.ts contend <cacheDir> <markerFile>
 *     prints `ready`, then for each `go <round>` line on stdin takes the lock, creates <markerFile>
 *     with O_EXCL (EEXIST: another process is inside at the same time), holds it a few
 *     milliseconds, removes it, releases the lock and prints `done <round> <overlaps>`.
 */
import { promises as fs } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { ContainerLockFile } from '../../../src/runtime/locks.ts';

const [mode, cacheDir, marker] = process.argv.slice(2) as [string, string, string | undefined];
const locks = new ContainerLockFile(cacheDir);

if (mode === 'hold') {
  await locks.acquire('c1', { timeoutMs: 60_000 });
  process.stdout.write('held\n');
  setInterval(() => undefined, 60_000);
} else {
  process.stdout.write('ready\n');
  for await (const line of createInterface({ input: process.stdin })) {
    const [, round] = line.split(' ');
    const release = await locks.acquire('c1', { timeoutMs: 60_000 });
    let overlaps = 0;
    let mine = false;
    try {
      await fs.writeFile(marker as string, String(process.pid), { flag: 'wx' });
      mine = true;
    } catch {
      overlaps++;
    }
    await sleep(5);
    if (mine) await fs.unlink(marker as string);
    await release();
    process.stdout.write(`done ${String(round)} ${String(overlaps)}\n`);
  }
}

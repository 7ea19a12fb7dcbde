/**
 * Which way of creating a pinned network namespace is fastest from Node? Run as root:
 *
 *   node --import tsx bench/netns-mechanism.ts [N]
 *
 * Methods, each timed as create + delete, N cycles (default 50) after 5 warm-up cycles, the methods
 * interleaved within every round (rotating order) so that noise on the VM hits them alike:
 *   ip            spawn `ip netns add NAME` / spawn `ip netns del NAME`
 *   unshare       writeFile(PATH,'',{flag:'wx',mode:0}) + spawn `unshare --net=PATH true`
 *                 / spawn `umount PATH` + unlink, in /run/netns
 *   unshare-tmp   as unshare, in a fresh temp dir made a shared bind mount of itself
 *
 * Everything it creates (namespaces, placeholder files, the temp dir's mount, and /run/netns when
 * it did not exist before) is removed on exit, on failure and on SIGINT/SIGTERM.
 */
import { mkdtemp, readdir, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isNetnsMount, readMountinfo, topMountAt } from '../src/netns/mountinfo.ts';
import { describeOutcome, findHelper, runHelper } from '../src/netns/run-helper.ts';

const N = Number(process.argv[2] ?? 50);
const WARMUP = 5;
const TIMEOUT_MS = 10_000;
const RUN_NETNS = '/run/netns';
const tag = `bench${String(process.pid)}`;

const created = new Set<string>(); // netns files that may exist
let tmpDir: string | undefined;
let tmpDirMounted = false;
let runNetnsExisted = true;

async function must(file: string, args: string[]): Promise<void> {
  const o = await runHelper(file, args, TIMEOUT_MS);
  if (o.exitCode !== 0) throw new Error(describeOutcome(o));
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

interface Method {
  name: string;
  dir: () => string;
  create: (name: string, file: string) => Promise<void>;
  del: (name: string, file: string) => Promise<void>;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run this as root');
  const ip = await findHelper('ip');
  const unshare = await findHelper('unshare');
  const mount = await findHelper('mount');
  const umount = await findHelper('umount');
  if (!ip || !unshare || !mount || !umount)
    throw new Error('needs ip (iproute2), unshare (util-linux), mount');

  runNetnsExisted = await exists(RUN_NETNS);
  // `ip netns add` prepares /run/netns as a shared bind mount on first use; do it up front so that
  // neither method pays for it inside the timed loop.
  await must(ip, ['netns', 'add', `${tag}-setup`]);
  created.add(path.join(RUN_NETNS, `${tag}-setup`));
  await must(ip, ['netns', 'del', `${tag}-setup`]);

  tmpDir = await mkdtemp(path.join(os.tmpdir(), 'libcni-netns-bench-'));
  await must(mount, ['--rbind', tmpDir, tmpDir]);
  tmpDirMounted = true;
  await must(mount, ['--make-shared', tmpDir]);
  const tmp = tmpDir;

  const unshareCreate = async (_name: string, file: string): Promise<void> => {
    await writeFile(file, '', { flag: 'wx', mode: 0 });
    created.add(file);
    await must(unshare, [`--net=${file}`, 'true']);
  };
  const umountDelete = async (_name: string, file: string): Promise<void> => {
    await must(umount, [file]);
    await unlink(file);
  };
  const methods: Method[] = [
    {
      name: 'ip',
      dir: () => RUN_NETNS,
      create: async (name, file) => {
        created.add(file);
        await must(ip, ['netns', 'add', name]);
      },
      del: async (name) => {
        await must(ip, ['netns', 'del', name]);
      },
    },
    { name: 'unshare', dir: () => RUN_NETNS, create: unshareCreate, del: umountDelete },
    { name: 'unshare-tmp', dir: () => tmp, create: unshareCreate, del: umountDelete },
  ];

  const times = new Map<string, { create: number[]; del: number[]; total: number[] }>();
  for (const m of methods) times.set(m.name, { create: [], del: [], total: [] });

  for (let round = 0; round < WARMUP + N; round++) {
    for (let k = 0; k < methods.length; k++) {
      const m = methods[(round + k) % methods.length]!;
      const name = `${tag}-${m.name}-${String(round)}`;
      const file = path.join(m.dir(), name);
      const t0 = process.hrtime.bigint();
      await m.create(name, file);
      const t1 = process.hrtime.bigint();
      await m.del(name, file);
      const t2 = process.hrtime.bigint();
      created.delete(file);
      if (round >= WARMUP) {
        const t = times.get(m.name)!;
        t.create.push(Number(t1 - t0) / 1e6);
        t.del.push(Number(t2 - t1) / 1e6);
        t.total.push(Number(t2 - t0) / 1e6);
      }
    }
  }

  const q = (xs: number[], p: number): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))]!;
  };
  const rows = methods.map((m) => {
    const t = times.get(m.name)!;
    return {
      name: m.name,
      c: q(t.create, 0.5),
      d: q(t.del, 0.5),
      tot: q(t.total, 0.5),
      p90: q(t.total, 0.9),
    };
  });
  const fastest = Math.min(...rows.map((r) => r.tot));
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  console.log(
    `node ${process.version}, ${os.type()} ${os.release()}, ${String(os.cpus().length)} x ${cpu}, N=${String(N)} after ${String(WARMUP)} warm-ups`,
  );
  console.log('method        create-med  delete-med  total-med  total-p90  ratio-to-fastest');
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(12)}  ${r.c.toFixed(2).padStart(10)}  ${r.d.toFixed(2).padStart(10)}  ${r.tot.toFixed(2).padStart(9)}  ${r.p90.toFixed(2).padStart(9)}  ${(r.tot / fastest).toFixed(2).padStart(16)}`,
    );
  }
}

/** Removes everything this run may have left, reporting (not throwing) what it could not remove. */
async function cleanup(): Promise<void> {
  const umount = await findHelper('umount');
  const mounts = await readMountinfo().catch(() => []);
  for (const file of created) {
    const m = topMountAt(mounts, file);
    if (m && isNetnsMount(m) && umount) await runHelper(umount, ['-l', file], TIMEOUT_MS);
    await unlink(file).catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') console.error(`cleanup: ${file}: ${String(e)}`);
    });
  }
  created.clear();
  if (tmpDir) {
    if (tmpDirMounted && umount) await runHelper(umount, ['-l', tmpDir], TIMEOUT_MS);
    await rm(tmpDir, { recursive: true, force: true });
    tmpDir = undefined;
  }
  // Leave /run/netns as we found it, but only when nobody else has put a namespace there meanwhile:
  // a plain (not lazy) umount refuses while other mounts sit inside.
  if (!runNetnsExisted && (await exists(RUN_NETNS)) && (await readdir(RUN_NETNS)).length === 0) {
    if (umount) await runHelper(umount, [RUN_NETNS], TIMEOUT_MS);
    await rmdir(RUN_NETNS).catch(() => undefined);
  }
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void cleanup().finally(() => process.exit(130));
  });
}

try {
  await main();
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await cleanup();
}

/**
 * The container side of the example: a one-file rootfs (a static busybox), an OCI runtime config
 * that joins the network namespace libcni made, and `crun` to run, stop and delete it.
 */
import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { copyFile, mkdir, open, readFile, statfs, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from './host.mjs';

const TMPFS_MAGIC = 0x01021994;
const CGROUP2_SUPER_MAGIC = 0x63677270;

/**
 * A bundle directory: `rootfs/` with busybox as its only program and `www/index.html` holding
 * `token`, and `config.json` (see {@link ociConfig}).
 */
export async function writeBundle(bundleDir, { busybox, token, netnsPath, hostname }) {
  const rootfs = path.join(bundleDir, 'rootfs');
  // Mount points exist in the image, as in any image: the rootfs is mounted read-only.
  for (const dir of ['bin', 'proc', 'dev', 'sys', 'tmp', 'www'])
    await mkdir(path.join(rootfs, dir), { recursive: true });
  await copyFile(busybox, path.join(rootfs, 'bin', 'busybox'), fsConstants.COPYFILE_EXCL);
  await writeFile(path.join(rootfs, 'www', 'index.html'), `<h1>hello from a crun container</h1>\n${token}\n`);
  const config = ociConfig({ netnsPath, hostname });
  await writeFile(path.join(bundleDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  return config;
}

/**
 * The OCI runtime config (runtime-spec 1.0.2): busybox httpd in the foreground on port 80, as root
 * with no capability but binding a low port, in new pid, mount, ipc and uts namespaces and in the
 * network namespace at `netnsPath`. No user namespace: the veth libcni's bridge plugin made is
 * owned by the host's user namespace, as with containerd and CRI-O. `crun spec` prints the template
 * this follows; its cgroup namespace is left out because the example runs crun with cgroups disabled.
 */
export function ociConfig({ netnsPath, hostname }) {
  const caps = ['CAP_NET_BIND_SERVICE'];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ['/bin/busybox', 'httpd', '-f', '-v', '-p', '80', '-h', '/www'],
      env: ['PATH=/bin'],
      cwd: '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'],
      },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'size=1m'] },
    ],
    linux: {
      namespaces: [
        { type: 'pid' },
        { type: 'network', path: netnsPath },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
      ],
      maskedPaths: ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/sys/firmware'],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

/**
 * Whether crun must be started with the cgroup v2 hierarchy out of its sight. On a "hybrid" host
 * (cgroup v1 controllers under a tmpfs /sys/fs/cgroup, cgroup v2 at /sys/fs/cgroup/unified) crun
 * refuses to create any container as soon as a controller sits in the v2 hierarchy, and it checks
 * that before it looks at its cgroup manager, so `--cgroup-manager=disabled` alone does not help
 * (libcrun_cgroup_enter in https://github.com/containers/crun/blob/1.8.1/src/libcrun/cgroup.c).
 */
async function crunNeedsUnifiedHidden() {
  const type = async (p) => (await statfs(p).catch(() => undefined))?.type;
  if ((await type('/sys/fs/cgroup')) !== TMPFS_MAGIC) return false;
  if ((await type('/sys/fs/cgroup/unified')) !== CGROUP2_SUPER_MAGIC) return false;
  const controllers = await readFile('/sys/fs/cgroup/unified/cgroup.controllers', 'utf8').catch(() => '');
  return controllers.trim() !== '';
}

/**
 * `crun` with its global options. Cgroups are disabled: the example sets no resource limits, so
 * there is no cgroup to make or to clean up, and it runs the same on cgroup v1, v2 and hybrid hosts
 * and whatever manages the host's cgroups (systemd or not).
 */
function crunArgv(args) {
  return ['crun', ['--cgroup-manager=disabled', ...args]];
}

/**
 * `crun run --detach`: create and start the container; crun returns once its process runs. The
 * container's stdout and stderr (httpd's log) go to `logFile`, not to ours, so it never holds this
 * program's pipes open.
 *
 * On a hybrid host (see crunNeedsUnifiedHidden) crun runs in a private mount namespace with
 * /sys/fs/cgroup/unified unmounted: there it sees a v1-only host, and with cgroups disabled it
 * touches none. That namespace lives only as long as that one crun process; the container's mount
 * namespace starts as a copy of it but then pivots into the rootfs, which mounts no cgroup.
 */
export async function crunRun({ id, bundleDir, logFile }) {
  let [file, args] = crunArgv(['run', '--detach', '--bundle', bundleDir, id]);
  if (await crunNeedsUnifiedHidden()) {
    const script = 'umount /sys/fs/cgroup/unified && exec "$@"';
    [file, args] = [
      'unshare',
      ['--mount', '--propagation', 'private', '--', 'sh', '-ec', script, 'sh', file, ...args],
    ];
  }
  const log = await open(logFile, 'a');
  try {
    const child = spawn(file, args, { stdio: ['ignore', log.fd, log.fd] });
    const code = await new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (c, sig) => resolve(c ?? sig));
    });
    if (code !== 0) {
      const tail = (await readFile(logFile, 'utf8')).trim().split('\n').slice(-5).join('\n');
      throw new Error(`crun run ${id} exited with ${code}: ${tail}`);
    }
  } finally {
    await log.close();
  }
}

/** The container's state (`running`, `stopped`, …), or undefined when crun does not know it. */
export async function crunStatus(id) {
  const [file, args] = crunArgv(['state', id]);
  const r = await run(file, args, { allowFail: true });
  if (!r.ok) return undefined;
  return JSON.parse(r.stdout).status;
}

async function waitForStatus(id, wanted, attempts) {
  for (let i = 0; i < attempts; i++) {
    const status = await crunStatus(id);
    if (status === undefined || status === wanted) return status;
    await sleep(100);
  }
  return crunStatus(id);
}

/**
 * Stop and delete the container, as a runtime does: SIGTERM, a grace period, then SIGKILL, then
 * `crun delete`. httpd here is PID 1 of its PID namespace, and the kernel does not deliver a signal
 * to a namespace's init that it has no handler for, so in practice the grace period runs out and
 * SIGKILL (which always reaches it, sent from outside) ends it. Returns what it did.
 */
export async function crunStopAndDelete(id) {
  let status = await crunStatus(id);
  if (status === undefined) return 'not there';
  let how = `was ${status}`;
  if (status === 'running') {
    await run(...crunArgv(['kill', id, 'TERM']), { allowFail: true });
    status = await waitForStatus(id, 'stopped', 20);
    how = 'ended by SIGTERM';
  }
  if (status === 'running' || status === 'paused') {
    await run(...crunArgv(['kill', id, 'KILL']));
    status = await waitForStatus(id, 'stopped', 100);
    how = 'SIGTERM ignored, ended by SIGKILL';
  }
  if (status !== undefined) await run(...crunArgv(['delete', '--force', id]));
  return `${how}; deleted`;
}

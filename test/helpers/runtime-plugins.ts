/**
 * A shell-script CNI plugin for the runtime tests, driven by keys in its own network config, so each
 * network of a test behaves as the test says without any shared state:
 *
 *   tlog      file to append one JSON line per call to: {cmd, cid, ifName, netns, args, phase, conf}
 *             (phase "begin" before waiting/sleeping, "end" just before answering)
 *   tfail     a CNI command (ADD, DEL, CHECK, STATUS, GC) that fails with code 100 (STATUS: 50)
 *   tdelay    seconds to sleep before answering (GNU sleep, fractions allowed)
 *   twait     a file; ADD waits until it exists (10 s max, then fails) — a gate the test opens
 *   tbarrier  "<dir>:<n>": ADD creates <dir>/<cid>-<ifName> and waits until <dir> holds n entries
 *             (10 s max, then fails) — completes only if n calls run at the same time
 *   tip       address for the result, e.g. "10.9.1.5/24" (gateway: tgw)
 *   tstderr   text the plugin writes on its stderr (every command but VERSION)
 *
 * A shell script rather than a Node one: a test here makes dozens of plugin calls on a shared
 * 2-core machine, and sh starts in about a millisecond.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NetworkManager, type NetworkManagerOptions } from '../../src/runtime/manager.ts';

const SCRIPT = `#!/bin/sh
stdin=$(cat)
field() { printf '%s' "$stdin" | tr -d '\\n' | sed -n "s/.*\\"$1\\":\\"\\([^\\"]*\\)\\".*/\\1/p" | head -n 1; }
if [ "$CNI_COMMAND" = VERSION ]; then
  printf '%s' '{"cniVersion":"1.1.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}'
  exit 0
fi
log=$(field tlog)
record() {
  [ -n "$log" ] || return 0
  printf '{"cmd":"%s","phase":"%s","cid":"%s","ifName":"%s","netns":"%s","args":"%s","conf":%s}\\n' \\
    "$CNI_COMMAND" "$1" "$CNI_CONTAINERID" "$CNI_IFNAME" "$CNI_NETNS" "$CNI_ARGS" "$(printf '%s' "$stdin" | tr -d '\\n')" >> "$log"
}
fail() {
  printf '{"cniVersion":"1.0.0","code":%s,"msg":"%s"}' "$1" "$2"
  exit 1
}
record begin
msg=$(field tstderr)
[ -n "$msg" ] && printf '%s\n' "$msg" >&2
if [ "$CNI_COMMAND" = ADD ]; then
  wait=$(field twait)
  if [ -n "$wait" ]; then
    i=0
    while [ ! -e "$wait" ]; do i=$((i+1)); [ $i -gt 1000 ] && fail 101 "gate never opened"; sleep 0.01; done
  fi
  barrier=$(field tbarrier)
  if [ -n "$barrier" ]; then
    dir=\${barrier%:*}; n=\${barrier##*:}
    mkdir -p "$dir"; : > "$dir/$CNI_CONTAINERID-$CNI_IFNAME"
    i=0
    while [ "$(ls "$dir" | wc -l)" -lt "$n" ]; do i=$((i+1)); [ $i -gt 1000 ] && fail 102 "barrier timeout"; sleep 0.01; done
  fi
fi
delay=$(field tdelay)
[ -n "$delay" ] && sleep "$delay"
if [ "$(field tfail)" = "$CNI_COMMAND" ]; then
  record end
  if [ "$CNI_COMMAND" = STATUS ]; then fail 50 "plugin not available"; fi
  fail 100 "injected failure"
fi
record end
if [ "$CNI_COMMAND" = ADD ]; then
  ip=$(field tip); [ -n "$ip" ] || ip=10.99.0.2/24
  gw=$(field tgw); [ -n "$gw" ] || gw=10.99.0.1
  printf '{"cniVersion":"1.0.0","interfaces":[{"name":"host-%s","mac":"02:00:00:00:00:01"},{"name":"%s","mac":"02:00:00:00:00:02","sandbox":"%s"}],"ips":[{"interface":1,"address":"%s","gateway":"%s"}],"routes":[{"dst":"0.0.0.0/0","gw":"%s"}],"dns":{"nameservers":["%s"]}}' \\
    "$CNI_IFNAME" "$CNI_IFNAME" "$CNI_NETNS" "$ip" "$gw" "$gw" "$gw"
fi
exit 0
`;

/** One call the plugin recorded. */
export interface RecordedCall {
  cmd: string;
  phase: 'begin' | 'end';
  cid: string;
  ifName: string;
  netns: string;
  args: string;
  conf: Record<string, unknown>;
}

/** A temp directory with a plugin dir (`rtfake`, plus `loopback` as a copy), a conf dir and a cache dir. */
export interface RuntimeSandbox {
  root: string;
  pluginDir: string;
  confDir: string;
  cacheDir: string;
  log: string;
  /** Write `<confDir>/<file>` holding a one-plugin conflist of `rtfake` with the given test keys. */
  writeNetwork(
    file: string,
    name: string,
    keys?: Record<string, string>,
    extra?: { cniVersion?: string; capabilities?: Record<string, boolean>; disableGC?: boolean },
  ): Promise<string>;
  /** The calls recorded so far (only the "end" phase unless `phases` is true). */
  calls(phases?: boolean): Promise<RecordedCall[]>;
  /**
   * A NetworkManager over this sandbox's directories, following every network of the directory
   * (`networks: 'all'`) unless `options` say otherwise; closed by `cleanup()`.
   */
  manager(options?: Partial<NetworkManagerOptions>): NetworkManager;
  /** The file names under the cache's `results/`, sorted; none when it does not exist. */
  cacheFiles(): Promise<string[]>;
  /** Close the managers made by `manager()`, then remove the sandbox. */
  cleanup(): Promise<void>;
}

/** Calls as `<cmd> <container> <ifName> <network>` lines, for compact assertions. */
export const briefCalls = (calls: readonly RecordedCall[]): string[] =>
  calls.map((c) => `${c.cmd} ${c.cid} ${c.ifName} ${String(c.conf.name)}`);

/** Make a sandbox; call `cleanup()` in an after hook. */
export async function makeRuntimeSandbox(): Promise<RuntimeSandbox> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'libcni-'));
  const pluginDir = path.join(root, 'bin');
  const confDir = path.join(root, 'net.d');
  const cacheDir = path.join(root, 'cache');
  const log = path.join(root, 'calls.log');
  await fs.mkdir(pluginDir);
  await fs.mkdir(confDir);
  await fs.writeFile(path.join(pluginDir, 'rtfake'), SCRIPT, { mode: 0o755 });
  await fs.writeFile(path.join(pluginDir, 'loopback'), SCRIPT, { mode: 0o755 });
  const managers: NetworkManager[] = [];
  return {
    root,
    pluginDir,
    confDir,
    cacheDir,
    log,
    async writeNetwork(file, name, keys = {}, extra = {}) {
      const plugin: Record<string, unknown> = { type: 'rtfake', tlog: log, ...keys };
      if (extra.capabilities) plugin.capabilities = extra.capabilities;
      const list: Record<string, unknown> = {
        cniVersion: extra.cniVersion ?? '1.1.0',
        name,
        plugins: [plugin],
      };
      if (extra.disableGC) list.disableGC = true;
      const p = path.join(confDir, file);
      await fs.writeFile(p, JSON.stringify(list));
      return p;
    },
    async calls(phases = false) {
      let text: string;
      try {
        text = await fs.readFile(log, 'utf8');
      } catch {
        return [];
      }
      const all = text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as RecordedCall);
      return phases ? all : all.filter((c) => c.phase === 'end');
    },
    manager(options = {}) {
      const m = new NetworkManager({
        confDir,
        pluginDirs: [pluginDir],
        cacheDir,
        networks: 'all',
        ...options,
      });
      managers.push(m);
      return m;
    },
    async cacheFiles() {
      try {
        return (await fs.readdir(path.join(cacheDir, 'results'))).sort();
      } catch {
        return [];
      }
    },
    async cleanup() {
      for (const m of managers.splice(0)) await m.close();
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}

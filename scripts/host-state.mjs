// Host state that the real plugins change as a side effect and never undo, saved before a test run
// and restored after it: IP forwarding (bridge `isGateway` turns it on) and the shared NAT chains
// portmap creates on first use (CNI-HOSTPORT-*, kept by portmap for every later container). Test
// files run in parallel, so no single file can know whether it was the first to change them; the
// runner can. Only acts as root, and only on what was absent before the run.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const SYSCTLS = ['/proc/sys/net/ipv4/ip_forward', '/proc/sys/net/ipv6/conf/all/forwarding'];
const TOOLS = ['iptables', 'ip6tables'];

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.error ? { status: -1, stdout: '', stderr: String(r.error) } : r;
}

/** `-A CHAIN ... -j TARGET` lines of iptables-save split into argv words (double quotes honoured). */
function words(line) {
  const out = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line))
    out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]);
  return out;
}

function natChains(tool) {
  const r = run(`${tool}-save`, ['-t', 'nat']);
  if (r.status !== 0) return undefined;
  const chains = new Set();
  for (const line of r.stdout.split('\n'))
    if (line.startsWith(':CNI-')) chains.add(line.slice(1).split(' ')[0]);
  return { chains, lines: r.stdout.split('\n') };
}

export function saveHostState() {
  if (process.getuid?.() !== 0) return undefined;
  const sysctls = {};
  for (const f of SYSCTLS) {
    try {
      sysctls[f] = readFileSync(f, 'utf8');
    } catch {
      // not on this kernel
    }
  }
  const nat = {};
  for (const tool of TOOLS) nat[tool] = natChains(tool)?.chains;
  return { sysctls, nat };
}

export function restoreHostState(saved) {
  if (!saved) return [];
  const notes = [];
  for (const [f, value] of Object.entries(saved.sysctls)) {
    try {
      if (readFileSync(f, 'utf8') !== value) {
        writeFileSync(f, value);
        notes.push(`restored ${f} to ${value.trim()}`);
      }
    } catch {
      // vanished: nothing to restore
    }
  }
  for (const tool of TOOLS) {
    const before = saved.nat[tool];
    const now = natChains(tool);
    if (!before || !now) continue;
    const added = [...now.chains].filter((c) => c.startsWith('CNI-HOSTPORT-') && !before.has(c));
    if (added.length === 0) continue;
    // Jumps into the new chains from elsewhere first, then the chains themselves.
    for (const line of now.lines) {
      if (!line.startsWith('-A ')) continue;
      const w = words(line);
      const target = w[w.indexOf('-j') + 1];
      if (added.includes(target) && !added.includes(w[1])) run(tool, ['-t', 'nat', '-D', ...w.slice(1)]);
    }
    for (const c of added) run(tool, ['-t', 'nat', '-F', c]);
    for (const c of added) run(tool, ['-t', 'nat', '-X', c]);
    notes.push(`removed ${tool} nat chains ${added.join(' ')} (portmap leaves them)`);
  }
  return notes;
}

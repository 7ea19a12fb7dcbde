/**
 * Reading `/proc/self/mountinfo`: the one place that says which files are namespace bind mounts and
 * whether a directory is a (shared) mount point. Parsing is pure so it can be tested on fixed text.
 *
 * Line format (proc(5)):
 * `36 35 98:0 /root /mount/point rw,noatime shared:1 master:2 - fstype source super,options`
 */
import { readFile } from 'node:fs/promises';

/** One mount, as the kernel lists it. Paths are unescaped. */
export interface MountEntry {
  mountId: number;
  parentId: number;
  /** The root of the mount within its filesystem; for nsfs it names the namespace: `net:[4026532296]`. */
  root: string;
  /** Where it is mounted, relative to this process's root. */
  mountPoint: string;
  /** Propagation tags such as `shared:1`, `master:2`, `unbindable`. */
  optionalFields: readonly string[];
  fsType: string;
  source: string;
}

// The kernel escapes space, tab, newline and backslash in paths as a backslash and three octal digits.
function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses mountinfo text. Lines that do not have the expected shape are skipped, not fatal. */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const fields = line.split(' ');
    const sep = fields.indexOf('-', 6);
    if (sep < 0 || fields.length < sep + 3) continue;
    const [id, parent, , root, mountPoint] = fields;
    if (id === undefined || parent === undefined || root === undefined || mountPoint === undefined) continue;
    out.push({
      mountId: Number(id),
      parentId: Number(parent),
      root: unescapeOctal(root),
      mountPoint: unescapeOctal(mountPoint),
      optionalFields: fields.slice(6, sep),
      fsType: fields[sep + 1] ?? '',
      source: unescapeOctal(fields[sep + 2] ?? ''),
    });
  }
  return out;
}

/** The mounts of the calling process's mount namespace. */
export async function readMountinfo(): Promise<MountEntry[]> {
  return parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8'));
}

/** True when the entry is a bind mount of a network namespace (nsfs, `net:[inode]`). */
export function isNetnsMount(m: MountEntry): boolean {
  return m.fsType === 'nsfs' && m.root.startsWith('net:[');
}

/** The last (topmost) mount on `mountPoint`, if any. Later lines stack on top of earlier ones. */
export function topMountAt(mounts: readonly MountEntry[], mountPoint: string): MountEntry | undefined {
  for (let i = mounts.length - 1; i >= 0; i--) {
    const m = mounts[i];
    if (m?.mountPoint === mountPoint) return m;
  }
  return undefined;
}

/** True when the mount propagates mount events to its peers (`shared:N`). */
export function isShared(m: MountEntry): boolean {
  return m.optionalFields.some((f) => f.startsWith('shared:'));
}

/**
 * Test helpers for the fixture plugins in fixtures/plugins/: a temp plugin directory holding them
 * under any type names, the fake plugin's plans, and the calls it recorded.
 */
import { readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Directory of the fixture plugins. */
export const FIXTURE_PLUGIN_DIR = fileURLToPath(new URL('../../fixtures/plugins/', import.meta.url));

/**
 * The fixture plugins:
 * - `fake`: records every call and answers as its plan says (see fixtures/plugins/fake.mjs);
 * - `instant`: POSIX sh, answers ADD/VERSION with fixed JSON at once, never reads stdin;
 * - `sleep`: POSIX sh, sleeps (in a child process) for `FAKE_SLEEP_SECONDS` (600) and never answers.
 */
export type FixtureName = 'fake' | 'instant' | 'sleep';

const FILES: Readonly<Record<FixtureName, string>> = { fake: 'fake.mjs', instant: 'instant', sleep: 'sleep' };

/** One step of a fake plugin's plan (fixtures/plugins/fake.mjs describes each field). */
export interface FakeStep {
  result?: string | Record<string, unknown>;
  error?: { code: number; msg: string; details?: string } | Record<string, unknown>;
  exitCode?: number;
  stderr?: string;
  delayMs?: number;
  outputBytes?: number;
  /** `'old'`, a list of versions, an object printed as JSON, or raw text. */
  version?: string[] | Record<string, unknown> | string;
  noStdin?: boolean;
  grandchild?: boolean | 'ignore-term';
  ignoreSigterm?: boolean;
  killSelf?: NodeJS.Signals;
}

/** A fake plugin's plan: steps per CNI_COMMAND (`*` for any); an array is used one call at a time. */
export type FakePlan = Partial<Record<string, FakeStep | FakeStep[]>>;

/** What the fake plugin recorded for one call. */
export interface FakeCall {
  command: string;
  /** `[path it was invoked as, ...arguments]`. */
  argv: string[];
  env: Record<string, string>;
  /** null when the plan said not to read stdin. */
  stdin: string | null;
  cwd: string;
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  grandchildPid?: number;
}

/** Make sure the fixtures are executable (git can lose the mode bits). */
export async function ensureFixtureModes(): Promise<void> {
  await Promise.all(Object.values(FILES).map((f) => chmod(path.join(FIXTURE_PLUGIN_DIR, f), 0o755)));
}

/** Write the plan a fake plugin with this debug file follows. */
export async function writePlan(debugFile: string, plan: FakePlan): Promise<void> {
  await writeFile(`${debugFile}.plan.json`, JSON.stringify(plan));
}

/** The calls a fake plugin recorded in `debugFile`, oldest first ([] when none). */
export async function readCalls(debugFile: string): Promise<FakeCall[]> {
  let text: string;
  try {
    text = await readFile(debugFile, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as FakeCall);
}

/**
 * True while the process runs. A zombie counts as gone: killed grandchildren are re-parented to
 * init, which may reap them only much later.
 */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** A temp directory of plugins, for CNI_PATH. */
export interface PluginDir {
  /** Temp root; put debug files and other scratch files here. */
  readonly root: string;
  /** The plugin directory (a CNI_PATH entry). */
  readonly dir: string;
  /** Absolute path of plugin `type`. */
  path(type: string): string;
  /** The real file behind `type` (differs from {@link path} for copies, which are symlinked). */
  realPath(type: string): string;
  /** The file a fake plugin `type` records its calls in (`<dir>/<type>.debug`). */
  debugFile(type: string): string;
  /** Set what fake plugin `type` answers. */
  writePlan(type: string, plan: FakePlan): Promise<void>;
  /** The calls fake plugin `type` recorded. */
  calls(type: string): Promise<FakeCall[]>;
  /** Remove everything. */
  cleanup(): Promise<void>;
}

/**
 * Create a temp plugin directory with `plugins` (`{ type: fixture }`), symlinked to the fixtures,
 * or copied with `copy: true` (a copy can be held open for writing, e.g. to provoke ETXTBSY).
 * Every `fake` gets an empty `<type>.debug`, so it records its calls there without further setup.
 */
export async function makePluginDir(
  plugins: Readonly<Record<string, FixtureName>>,
  options?: { copy?: boolean },
): Promise<PluginDir> {
  await ensureFixtureModes();
  const root = await mkdtemp(path.join(os.tmpdir(), 'libcni-'));
  const dir = path.join(root, 'bin');
  const realDir = path.join(root, 'real');
  await mkdir(dir);
  await mkdir(realDir);
  const real = new Map<string, string>();
  for (const [type, fixture] of Object.entries(plugins)) {
    const source = path.join(FIXTURE_PLUGIN_DIR, FILES[fixture]);
    let target = source;
    if (options?.copy) {
      // Keep the fixture's extension: Node decides ESM vs CommonJS from it.
      target = path.join(realDir, type + path.extname(source));
      await copyFile(source, target);
      await chmod(target, 0o755);
    }
    await symlink(target, path.join(dir, type));
    real.set(type, target);
    if (fixture === 'fake') await writeFile(path.join(dir, `${type}.debug`), '');
  }
  return {
    root,
    dir,
    path: (type) => path.join(dir, type),
    realPath: (type) => real.get(type) ?? path.join(dir, type),
    debugFile: (type) => path.join(dir, `${type}.debug`),
    writePlan: (type, plan) => writePlan(path.join(dir, `${type}.debug`), plan),
    calls: (type) => readCalls(path.join(dir, `${type}.debug`)),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

// The layering check that `npm run lint` runs: the real src/ passes, and a planted upward import, a
// sibling import and a cycle are each caught.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

const SCRIPT = path.resolve(import.meta.dirname, '../../scripts/check-layers.mjs');

function check(srcDir?: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [SCRIPT, ...(srcDir ? [srcDir] : [])], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

async function tree(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'libcni-layers-'));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), text);
  }
  return root;
}

test('the real src/ has no upward import, no sibling import and no cycle', () => {
  const r = check();
  assert.equal(r.status, 0, r.out);
});

test('an upward import is refused, also when it imports only a type', async () => {
  const root = await tree({
    'core/errors.ts': "import type { X } from '../types/model.ts';\nexport type Y = X;\n",
    'types/model.ts': 'export type X = number;\n',
  });
  try {
    const r = check(root);
    assert.equal(r.status, 1);
    assert.match(r.out, /core\/errors\.ts \(core\) imports types\/model\.ts \(types\): a higher layer/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a sibling import on one layer and a cycle inside a module are refused', async () => {
  const root = await tree({
    'config/a.ts': "export { b } from './b.ts';\nexport const a = 1;\n",
    'config/b.ts': "import { a } from './a.ts';\nexport const b = a;\n",
    'cache/c.ts': "import { a } from '../config/a.ts';\nexport const c = a;\n",
  });
  try {
    const r = check(root);
    assert.equal(r.status, 1);
    assert.match(
      r.out,
      /cache\/c\.ts \(services\) imports config\/a\.ts \(services\): a sibling on the same layer/,
    );
    assert.match(r.out, /cycle: config\/a\.ts -> config\/b\.ts -> config\/a\.ts/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

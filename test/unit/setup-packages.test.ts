// One list of Debian packages for everything: scripts/packages.txt, read by .ci/run, must equal the
// README's set-up lines (the ones before `npm run demo` and `npm test`), and must hold every package
// a test names when its tool is missing.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (f: string): string => readFileSync(path.join(ROOT, f), 'utf8');

function listed(): string[] {
  return read('scripts/packages.txt')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** The indented README lines that set the machine up, keyed by the command they end with. */
function setupLines(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of read('README.md').split('\n')) {
    const m = /^ {4}(apt-get .*&& (npm run demo|npm test))$/.exec(line);
    if (m) out.set(m[2] as string, m[1] as string);
  }
  return out;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

describe('the set-up packages', () => {
  it('the README has one set-up line before `npm run demo` and the same one before `npm test`', () => {
    const lines = setupLines();
    assert.deepEqual([...lines.keys()].sort(), ['npm run demo', 'npm test']);
    const demo = (lines.get('npm run demo') as string).replace(/ && npm run demo$/, '');
    const test = (lines.get('npm test') as string).replace(/ && npm test$/, '');
    assert.equal(demo, test);
  });

  it('that line runs apt-get update first, installs exactly scripts/packages.txt, then sets up the kernel lane', () => {
    const line = setupLines().get('npm test') as string;
    const steps = line.split(' && ');
    assert.equal(steps[0], 'apt-get update');
    const install = /^apt-get install -y --no-install-recommends (.+)$/.exec(steps[1] ?? '');
    assert.ok(install, `second step installs with --no-install-recommends: ${steps[1]}`);
    assert.deepEqual((install[1] as string).split(' ').sort(), listed().sort());
    assert.equal(steps[2], 'bash scripts/kernel-lane/setup.sh');
    assert.equal(steps[3], 'npm ci');
  });

  it('.ci/run installs from scripts/packages.txt (no list of its own) and sets up the kernel lane', () => {
    const ci = read('.ci/run');
    assert.match(ci, /< scripts\/packages\.txt|scripts\/packages\.txt/);
    assert.doesNotMatch(ci, /PKGS=\(/, 'no package list in .ci/run itself');
    assert.match(ci, /^bash scripts\/kernel-lane\/setup\.sh$/m);
  });

  it('every package a test names for a missing tool is in the list', () => {
    const wanted = new Set<string>();
    for (const file of walk(path.join(ROOT, 'test'))) {
      const src = readFileSync(file, 'utf8');
      for (const m of src.matchAll(/\(Debian package ([a-z0-9.+-]+)\)/g)) wanted.add(m[1] as string);
      for (const block of src.matchAll(/tools: \{([^}]*)\}/g)) {
        for (const v of (block[1] as string).matchAll(/:\s*'([a-z0-9.+-]+)'/g)) wanted.add(v[1] as string);
      }
    }
    assert.ok(wanted.has('dnsmasq-base'), 'the dhcp suite names dnsmasq-base');
    const missing = [...wanted].filter((p) => !listed().includes(p)).sort();
    assert.deepEqual(missing, [], 'named by a test but not in scripts/packages.txt');
  });
});

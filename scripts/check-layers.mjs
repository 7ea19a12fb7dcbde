#!/usr/bin/env node
// Checks the layering of src/ (part of `npm run lint`): every relative import must point to a lower
// layer or stay inside its own module (a top folder of src/), and no two modules may import each other, however
// indirectly. Type-only imports count too: a model type belongs in a model file of a lower layer.
//
// Usage: node scripts/check-layers.mjs [srcDir]   (exit 1 and one line per problem when it fails)
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

// Lowest first. A module is placed by its path below src/; the first matching entry wins.
const LAYERS = [
  ['core', ['core/']],
  ['go', ['go/']],
  ['types', ['types/']],
  ['services', ['config/', 'invoke/', 'cache/', 'netns/']],
  ['cni', ['cni.ts', 'cni/']],
  ['runtime', ['runtime/']],
  ['cli', ['cli/']],
  ['entry', ['index.ts', 'testing.ts', 'otel.ts']],
];

const srcDir = path.resolve(process.argv[2] ?? new URL('../src', import.meta.url).pathname);

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return walk(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** [layer index, module] of a file below src/: the module is its top folder, or the file itself. */
function placeOf(rel) {
  const module = rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : rel;
  for (const [i, [, prefixes]] of LAYERS.entries()) {
    for (const prefix of prefixes) {
      if (prefix.endsWith('/') ? rel.startsWith(prefix) : rel === prefix) return [i, module];
    }
  }
  return [-1, module];
}

// Static imports and re-exports (`import … from`, `export … from`, `import '…'`) and literal import().
const IMPORT_RE =
  /(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s*'(\.[^']+)'|(?:^|\n)\s*import\s*'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/g;

function importsOf(file) {
  const text = readFileSync(file, 'utf8');
  const out = [];
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec) out.push(path.resolve(path.dirname(file), spec));
  }
  return out;
}

const files = walk(srcDir).sort();
const graph = new Map(files.map((f) => [f, importsOf(f)]));
const problems = [];
const rel = (f) => path.relative(srcDir, f);

for (const [file, deps] of graph) {
  const [layer, module] = placeOf(rel(file));
  if (layer < 0)
    problems.push(`${rel(file)}: in no layer (add its folder to LAYERS in scripts/check-layers.mjs)`);
  for (const dep of deps) {
    if (!graph.has(dep)) {
      problems.push(`${rel(file)}: imports ${rel(dep)}, which is not a module of src/`);
      continue;
    }
    const [depLayer, depModule] = placeOf(rel(dep));
    if (depModule === module) continue; // inside one module (a top folder of src/) anything goes but cycles
    if (depLayer >= layer) {
      const how = depLayer === layer ? 'a sibling on the same layer' : 'a higher layer';
      problems.push(
        `${rel(file)} (${LAYERS[layer]?.[0]}) imports ${rel(dep)} (${LAYERS[depLayer]?.[0]}): ${how}`,
      );
    }
  }
}

// Cycles: depth-first search, reporting each cycle once by its smallest rotation.
const state = new Map();
const seen = new Set();
function visit(file, stack) {
  state.set(file, 'active');
  stack.push(file);
  for (const dep of graph.get(file) ?? []) {
    if (!graph.has(dep)) continue;
    if (state.get(dep) === 'active') {
      const cycle = stack.slice(stack.indexOf(dep)).map(rel);
      const start = cycle.indexOf([...cycle].sort()[0]);
      const key = [...cycle.slice(start), ...cycle.slice(0, start)].join(' -> ');
      if (!seen.has(key)) {
        seen.add(key);
        problems.push(`cycle: ${key} -> ${cycle[start]}`);
      }
    } else if (!state.has(dep)) {
      visit(dep, stack);
    }
  }
  stack.pop();
  state.set(file, 'done');
}
for (const f of files) if (!state.has(f)) visit(f, []);

if (problems.length > 0) {
  console.error(`check-layers: ${problems.length} problem(s) in ${rel(srcDir) || srcDir}:`);
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}
console.log(`check-layers: ${files.length} modules, layers and cycles OK`);

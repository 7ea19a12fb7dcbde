// The package entry exports exactly what docs/api-list.md documents: every export is in the
// list, and every name in the list is an export or a member (method, option, field) of one.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

const ROOT = path.resolve(import.meta.dirname, '../..');
const INDEX = path.join(ROOT, 'src/index.ts');
const TESTING = path.join(ROOT, 'src/testing.ts');
const OTEL = path.join(ROOT, 'src/otel.ts');

function documentedNames(): Set<string> {
  const readme = readFileSync(path.join(ROOT, 'docs/api-list.md'), 'utf8');
  const start = readme.indexOf('<!-- api:start -->');
  const end = readme.indexOf('<!-- api:end -->');
  assert.ok(start >= 0 && end > start, 'docs/api-list.md has the <!-- api:start --> … <!-- api:end --> list');
  const section = readme.slice(start, end);
  return new Set([...section.matchAll(/`([A-Za-z_$][\w$]*)(?:\([^`]*\))?`/g)].map((m) => m[1] as string));
}

/** The entries' exports (`libcni`, `libcni/testing`, `libcni/otel`; values and types) and their members' names. */
function exportsOfEntry(entries = [INDEX, TESTING, OTEL]): { exports: Set<string>; members: Set<string> } {
  const program = ts.createProgram(entries, {
    allowImportingTsExtensions: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: ['node'],
    strict: true,
  });
  const checker = program.getTypeChecker();
  const exported = entries.flatMap((entry) => {
    const source = program.getSourceFile(entry);
    assert.ok(source);
    const moduleSymbol = checker.getSymbolAtLocation(source);
    assert.ok(moduleSymbol);
    return checker.getExportsOfModule(moduleSymbol);
  });
  const members = new Set<string>();
  for (const sym of exported) {
    const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
    const types = [checker.getDeclaredTypeOfSymbol(target)];
    if (target.valueDeclaration)
      types.push(checker.getTypeOfSymbolAtLocation(target, target.valueDeclaration));
    for (const type of types) {
      for (const p of type.getProperties()) members.add(p.name);
      for (const sig of type.getConstructSignatures()) {
        for (const param of sig.getParameters()) {
          const decl = param.valueDeclaration;
          if (!decl) continue;
          for (const p of checker.getTypeOfSymbolAtLocation(param, decl).getProperties()) members.add(p.name);
        }
      }
    }
  }
  return { exports: new Set(exported.map((s) => s.name)), members };
}

test('every export of the package entry is in docs/api-list.md, and the list names nothing else', () => {
  const documented = documentedNames();
  const { exports, members } = exportsOfEntry();
  const undocumented = [...exports].filter((n) => !documented.has(n)).sort();
  assert.deepEqual(undocumented, [], 'exported but not in docs/api-list.md');
  const unknown = [...documented].filter((n) => !exports.has(n) && !members.has(n)).sort();
  assert.deepEqual(unknown, [], 'in docs/api-list.md but neither exported nor a member of an export');
});

test('the documented values import from the entry at run time, and helpers stay private', async () => {
  const entry = (await import('../../src/index.ts')) as Record<string, unknown>;
  const { exports } = exportsOfEntry([INDEX]);
  for (const name of Object.keys(entry)) assert.ok(exports.has(name), `${name} is exported`);
  for (const name of ['CNIConfig', 'NetworkManager', 'loadNetworkConf', 'createNetns', 'LibcniError']) {
    assert.equal(typeof entry[name], 'function', name);
  }
  for (const internal of ['findCniError', 'mergeContext', 'CliUsageError', 'ResultCache', 'spawnPlugin']) {
    assert.equal(entry[internal], undefined, `${internal} is not public`);
  }
});

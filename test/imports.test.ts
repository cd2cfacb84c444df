/**
 * The import graph of src/ has no circle (as `npx madge --circular --extensions ts src` checks),
 * counting every import and re-export by relative path: static, type-only and dynamic import('…').
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const SRC = path.resolve(import.meta.dirname, '..', 'src');

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

/** The src/ files that `file` imports, by relative specifier ('./x.js' is x.ts). */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)'(\.{1,2}\/[^']+)'/gm)].map((m) => m[1]);
  return specs.map((s) => path.resolve(path.dirname(file), s.replace(/\.js$/, '.ts'))).filter((f) => f.startsWith(SRC) && fs.existsSync(f));
}

/** One circle of the graph, as a list of files, or null. */
function findCircle(graph: Map<string, string[]>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string): string[] | null => {
    if (state.get(f) === 'done') return null;
    if (state.get(f) === 'open') return [...stack.slice(stack.indexOf(f)), f];
    state.set(f, 'open');
    stack.push(f);
    for (const g of graph.get(f) ?? []) {
      const c = visit(g);
      if (c) return c;
    }
    stack.pop();
    state.set(f, 'done');
    return null;
  };
  for (const f of graph.keys()) {
    const c = visit(f);
    if (c) return c;
  }
  return null;
}

test('no import circle in src/', () => {
  const files = tsFiles(SRC);
  assert.ok(files.length > 100, `found only ${files.length} files under ${SRC}`);
  const graph = new Map(files.map((f) => [f, importsOf(f)]));
  assert.ok([...graph.values()].reduce((n, g) => n + g.length, 0) > files.length, 'the import scan found too few imports to be reading them');
  const circle = findCircle(graph);
  assert.equal(circle, null, `import circle: ${circle?.map((f) => path.relative(SRC, f)).join(' → ')}`);
});

test('the circle finder finds a circle', () => {
  assert.deepEqual(
    findCircle(
      new Map([
        ['a', ['b']],
        ['b', ['c']],
        ['c', ['a']],
      ]),
    ),
    ['a', 'b', 'c', 'a'],
  );
  assert.equal(
    findCircle(
      new Map([
        ['a', ['b']],
        ['b', ['c']],
        ['c', []],
      ]),
    ),
    null,
  );
});

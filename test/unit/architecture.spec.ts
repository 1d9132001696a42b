// The import graph of src/ keeps its shape: no cycles (type-only imports count too), and data
// flows one way (providers -> watch -> registry -> state -> metrics/api), so nothing below the
// HTTP layer imports server/, and state/ never imports watch/. The graph is read from the files.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

// `import x from`, `import type { a } from`, `import * as m from`, `export { a } from`,
// `export type * from`, `import './side-effect.js'`: static imports and re-exports, multi-line too.
const IMPORT =
  /^(?:import|export)(?:\s+type)?\s*(?:(?:\*(?:\s+as\s+\w+)?|\{[^}]*\}|\w+(?:\s*,\s*(?:\{[^}]*\}|\*\s+as\s+\w+))?)\s*from\s*)?'([^']+)'/gm;

/** Every .ts file under `dir`, as paths relative to src/ (`watch/check.ts`). */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [relative(SRC, path)] : [];
  });
}

/** The relative imports of each file of src/, as files of src/ (`./x.js` read as `x.ts`). */
function importGraph(): Map<string, string[]> {
  const files = sourceFiles(SRC);
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(join(SRC, file), 'utf8');
    const targets = [...text.matchAll(IMPORT)]
      .map((m) => m[1] ?? '')
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => relative(SRC, resolve(SRC, dirname(file), spec.replace(/\.js$/, '.ts'))));
    graph.set(file, [...new Set(targets.filter((target) => known.has(target)))]);
  }
  return graph;
}

/** One cycle per back edge met by a depth-first walk, each as its files in order (first again last). */
function findCycles(graph: Map<string, string[]>): string[][] {
  const done = new Set<string>();
  const path: string[] = [];
  const cycles: string[][] = [];
  const visit = (file: string): void => {
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      const at = path.indexOf(next);
      if (at >= 0) cycles.push([...path.slice(at), next]);
      else if (!done.has(next)) visit(next);
    }
    path.pop();
    done.add(file);
  };
  for (const file of [...graph.keys()].sort()) if (!done.has(file)) visit(file);
  return cycles;
}

/** Imports from a file under one of `from` to a file under `to`, as `a.ts -> b.ts`. */
function crossings(graph: Map<string, string[]>, from: string[], to: string): string[] {
  return [...graph].flatMap(([file, targets]) =>
    from.some((dir) => file.startsWith(`${dir}/`))
      ? targets.filter((t) => t.startsWith(`${to}/`)).map((t) => `${file} -> ${t}`)
      : [],
  );
}

describe('the import graph of src/', () => {
  const graph = importGraph();

  it('is read from the files, type-only imports and re-exports included', () => {
    // Guards the regex: were it to match nothing, every check below would pass on an empty graph.
    expect(graph.get('watch/created.ts')).toContain('watch/target.ts'); // import type { ... }
    expect(graph.get('registry/auth.ts')).toContain('registry/challenge.ts'); // export { ... } from
  });

  it('finds a cycle when there is one', () => {
    const planted = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(findCycles(planted)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
  });

  it('has no import cycle', () => {
    const cycles = findCycles(graph).map((cycle) => cycle.join(' -> '));
    expect(cycles, `import cycles in src/:\n${cycles.join('\n')}`).toEqual([]);
  });

  it('keeps HTTP out of state/, registry/, providers/ and watch/', () => {
    expect(crossings(graph, ['state', 'registry', 'providers', 'watch'], 'server')).toEqual([]);
  });

  it('keeps state/ below watch/', () => {
    expect(crossings(graph, ['state'], 'watch')).toEqual([]);
  });

  it('loads the MQTT and Kubernetes client libraries only when they are configured', () => {
    // Each costs megabytes of heap and code: a file that imports one is reached from the CLI
    // only through an import() made where the feature is configured.
    const libraries = ['mqtt', '@kubernetes/client-node'];
    const loaded = valueImportsFrom('cli.ts').filter(({ spec }) => libraries.includes(spec));
    expect(loaded).toEqual([]);
    // Guards the walk: what the CLI surely loads at start is found.
    expect(valueImportsFrom('cli.ts').map(({ spec }) => spec)).toContain('prom-client');
  });
});

/**
 * Every import with a value (not `import type`) of the files loaded with `entry`, following
 * the relative ones: what loading `entry` loads before any import() runs.
 */
function valueImportsFrom(entry: string): Array<{ file: string; spec: string }> {
  const VALUE_IMPORT = /^(?:import|export)(\s+type)?\s*(?:[^'";]*?\s*from\s*)?'([^']+)'/gm;
  const found: Array<{ file: string; spec: string }> = [];
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(join(SRC, file), 'utf8');
    for (const m of text.matchAll(VALUE_IMPORT)) {
      const spec = m[2] ?? '';
      if (m[1]) continue; // import type: erased
      if (!spec.startsWith('.')) found.push({ file, spec });
      else visit(relative(SRC, resolve(SRC, dirname(file), spec.replace(/\.js$/, '.ts'))));
    }
  };
  visit(entry);
  return found;
}

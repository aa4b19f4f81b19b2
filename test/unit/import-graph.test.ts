/**
 * The import graph keeps the rooms apart (issue 16, decision 030):
 *   lib/ (CDK) imports no local/, cli/ or handler module (lambdas/<handler>.ts);
 *   cli/ imports no handler module; lambdas/ imports no local/, cli/ or lib/;
 *   lambdas/domain imports no AWS SDK adapter; the cli/ modules have no import cycle;
 *   lambdas/ imports of drivers/ only the pure list (drivers/{index,types,evidence-kit}.ts, drivers/<name>/{index,config,evidence}.ts),
 *   which imports no CDK, local/, workflow or CLI module (decision 035); lib/ imports no driver's local part.
 * Imports are read with a regex over `import … from '…'`, `export … from '…'`, `import('…')` and
 * `require('…')`; only relative specifiers are resolved (packages are not part of the graph).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { describe, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const SCANNED = ['bin', 'cli', 'lib', 'lambdas', 'local', 'drivers', 'workflows'];

const SPECIFIER = /(?:\bimport\s[^'"`;]*?\sfrom\s*|\bexport\s[^'"`;]*?\sfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g;

/** Relative specifiers imported by a TypeScript source text (comments stripped first). */
export function importsOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
  const found: string[] = [];
  for (const m of code.matchAll(SPECIFIER)) if (m[1].startsWith('.')) found.push(m[1]);
  return found;
}

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (n === 'node_modules') return [];
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

function resolve(from: string, spec: string): string | undefined {
  const base = join(dirname(from), spec);
  for (const candidate of [base, `${base}.ts`, join(base, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile() && candidate.endsWith('.ts')) return candidate;
  }
  return undefined;
}

const posix = (p: string): string => relative(ROOT, p).split(sep).join('/');

/** The graph: repository-relative file → repository-relative files it imports. */
export function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of SCANNED.flatMap((d) => walk(join(ROOT, d)))) {
    const targets = importsOf(readFileSync(file, 'utf8'))
      .map((s) => resolve(file, s))
      .filter((t): t is string => t !== undefined)
      .map(posix);
    graph.set(posix(file), [...new Set(targets)]);
  }
  return graph;
}

/** A handler module: a .ts file directly under lambdas/ other than ports.ts and registry.ts (pure data: the handlers as declared, decision 034). */
export const isHandler = (f: string): boolean => /^lambdas\/[^/]+\.ts$/.test(f) && f !== 'lambdas/ports.ts' && f !== 'lambdas/registry.ts';

interface Rule {
  readonly name: string;
  readonly from: (f: string) => boolean;
  readonly to: (f: string) => boolean;
}
const under = (dir: string) => (f: string) => f.startsWith(`${dir}/`);
/** The drivers' pure list, what the Lambda bundles reach through the config schema: no CDK, no local runtime, no workflow builder. */
export const isPureDriverModule = (f: string): boolean => /^drivers\/(index|types|evidence-kit)\.ts$/.test(f) || /^drivers\/[^/]+\/(index|config|evidence)\.ts$/.test(f);
export const RULES: readonly Rule[] = [
  { name: 'lib/ → local/', from: under('lib'), to: under('local') },
  { name: 'lib/ → cli/', from: under('lib'), to: under('cli') },
  { name: 'lib/ → handler module', from: under('lib'), to: isHandler },
  { name: 'cli/ → handler module', from: under('cli'), to: isHandler },
  { name: 'lambdas/ → local/', from: under('lambdas'), to: under('local') },
  { name: 'lambdas/ → cli/', from: under('lambdas'), to: under('cli') },
  { name: 'lambdas/ → lib/', from: under('lambdas'), to: under('lib') },
  { name: 'lambdas/domain → lambdas/adapters', from: under('lambdas/domain'), to: under('lambdas/adapters') },
  { name: 'lambdas/ → drivers/ beyond the pure list', from: under('lambdas'), to: (t) => under('drivers')(t) && !isPureDriverModule(t) },
  {
    name: 'pure driver list → CDK, local, workflow or CLI module',
    from: isPureDriverModule,
    to: (t) => (under('drivers')(t) && !isPureDriverModule(t)) || under('lib')(t) || under('local')(t) || under('workflows')(t) || under('cli')(t),
  },
  { name: "lib/ → a driver's local part", from: under('lib'), to: (t) => /^drivers\/[^/]+\/local\.ts$/.test(t) },
];

export function violations(graph: Map<string, string[]>): string[] {
  const out: string[] = [];
  for (const [file, targets] of graph) {
    for (const rule of RULES) {
      if (!rule.from(file)) continue;
      for (const t of targets) if (rule.to(t)) out.push(`${rule.name}: ${file} imports ${t}`);
    }
  }
  return out.sort();
}

/** Strongly connected components with more than one member (or a self-import), among the given files (Tarjan). */
export function cycles(graph: Map<string, string[]>, keep: (f: string) => boolean): string[][] {
  const nodes = [...graph.keys()].filter(keep);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of (graph.get(v) ?? []).filter(keep)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc.sort());
    }
  };
  for (const v of nodes) if (!index.has(v)) visit(v);
  return found;
}

describe('the import graph', () => {
  const graph = importGraph();

  it('reads the imports of every source file under bin, cli, lib, lambdas and local', () => {
    assert.ok(graph.has('cli/main.ts'), 'cli/main.ts is scanned');
    assert.ok(graph.has('lib/ReleaseControlPlane.ts'), 'lib/ReleaseControlPlane.ts is scanned');
    assert.ok(
      (graph.get('cli/main.ts') ?? []).some((t) => t.startsWith('cli/commands/')),
      'cli/main.ts imports its commands',
    );
  });

  it('has no arrow that crosses a room the wrong way', () => {
    assert.deepEqual(violations(graph), []);
  });

  it('has no import cycle among the cli/ modules', () => {
    assert.deepEqual(cycles(graph, under('cli')), []);
  });
});

describe('the import-graph checks themselves', () => {
  it('reads static, type-only, re-export, dynamic and require imports and skips commented ones', () => {
    const text = [
      "import { a } from './a';",
      "import type { B } from '../b';",
      "export { c } from './c';",
      "export * from './d';",
      "const e = require('./e');",
      "const f = await import('./f');",
      "import './g';",
      "import { z } from 'zod';",
      "// import { x } from './commented';",
      "/* import { y } from './block'; */",
    ].join('\n');
    assert.deepEqual(importsOf(text), ['./a', '../b', './c', './d', './e', './f', './g']);
  });

  it('flags a lib/ file importing local/ or a handler, and a domain file importing an adapter', () => {
    const graph = new Map<string, string[]>([
      ['lib/Thing.ts', ['local/cloud.ts', 'lambdas/approval-request.ts', 'lambdas/ports.ts', 'lambdas/domain/config.ts']],
      ['lambdas/domain/x.ts', ['lambdas/adapters/sfn.ts']],
      ['cli/commands/a.ts', ['lambdas/intake.ts', 'lambdas/shared/api-gateway.ts']],
      ['lambdas/domain/config.ts', ['drivers/index.ts', 'drivers/helm/config.ts', 'drivers/helm/cdk.ts']],
      ['drivers/helm/index.ts', ['drivers/helm/config.ts', 'drivers/helm/workflow.ts', 'lib/acknowledge.ts']],
      ['lib/drivers.ts', ['drivers/index.ts', 'drivers/helm/cdk.ts', 'drivers/helm/local.ts']],
    ]);
    assert.deepEqual(violations(graph), [
      'cli/ → handler module: cli/commands/a.ts imports lambdas/intake.ts',
      'lambdas/ → drivers/ beyond the pure list: lambdas/domain/config.ts imports drivers/helm/cdk.ts',
      'lambdas/domain → lambdas/adapters: lambdas/domain/x.ts imports lambdas/adapters/sfn.ts',
      "lib/ → a driver's local part: lib/drivers.ts imports drivers/helm/local.ts",
      'lib/ → handler module: lib/Thing.ts imports lambdas/approval-request.ts',
      'lib/ → local/: lib/Thing.ts imports local/cloud.ts',
      'pure driver list → CDK, local, workflow or CLI module: drivers/helm/index.ts imports drivers/helm/workflow.ts',
      'pure driver list → CDK, local, workflow or CLI module: drivers/helm/index.ts imports lib/acknowledge.ts',
    ]);
  });

  it('finds a cycle of three modules and ignores a chain', () => {
    const graph = new Map<string, string[]>([
      ['cli/a.ts', ['cli/b.ts']],
      ['cli/b.ts', ['cli/c.ts']],
      ['cli/c.ts', ['cli/a.ts']],
      ['cli/d.ts', ['cli/a.ts']],
    ]);
    assert.deepEqual(cycles(graph, under('cli')), [['cli/a.ts', 'cli/b.ts', 'cli/c.ts']]);
    graph.set('cli/c.ts', []);
    assert.deepEqual(cycles(graph, under('cli')), []);
  });
});

/**
 * Converts test files from `node:test` to vitest, in place. Idempotent: a file already converted is left
 * as it is, so it can be re-run on a tree others have edited or moved (issue 16, decision 032).
 *
 *   node --import tsx scripts/to-vitest.ts [--check] [dir-or-file ...]     (default: test/ and drivers/)
 *
 * What it rewrites (everything the tests used on the day it was written):
 * - `import { … } from 'node:test'` → `import { … } from 'vitest'`: `before` → `beforeAll`, `after` → `afterAll`
 *   (call sites that start a statement are renamed too), `mock` → `vi`, `test`/`it`/`describe`/`beforeEach`/
 *   `afterEach` as they are;
 * - `it(name, { skip: reason-or-false }, fn)` → `it.skipIf(reason-or-false)(name, fn)` (same for `describe`):
 *   node skips when the value is truthy, and so does `skipIf`; the reason stays in the source;
 * - `it(name, { todo: 'reason' }, fn)` → `// TODO: reason` + `it.todo(name, fn)`, and
 *   `it(name, cond ? { todo: … } : {}, fn)` → `(cond ? it.todo : it)(name, fn)` (vitest does not run a todo's body;
 *   node ran it and ignored the result);
 * - `t.diagnostic(x)` → `t.annotate(x)` (the message shows in vitest's report as node's diagnostic did);
 * - `t.skip(reason)` in a test body → `t.skip(reason)` is kept: vitest's context has `skip(note)` too (it stops the test);
 * - `mock.method(obj, 'name', impl)` → `vi.spyOn(obj, 'name').mockImplementation(impl)`, `mock.restoreAll()` →
 *   `vi.restoreAllMocks()`, `mock.fn(` → `vi.fn(`.
 * Anything else from node:test it does not know (t.plan, t.mock, t.test subtests, mock.timers …) is reported and the
 * script exits 1, so nothing is converted halfway silently. `--check` writes nothing and exits 1 when a file would change.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '..');

/** A node:test import name → the vitest name. */
const RENAMES: Readonly<Record<string, string>> = {
  describe: 'describe',
  it: 'it',
  test: 'test',
  before: 'beforeAll',
  after: 'afterAll',
  beforeEach: 'beforeEach',
  afterEach: 'afterEach',
  mock: 'vi',
  suite: 'describe',
};

export class ConversionError extends Error {
  override readonly name = 'ConversionError';
}

/** An import or require of node:test that starts a line. */
const NODE_TEST_IMPORT = /^(?:import[^\n]*from\s*'node:test'|(?:const|let|var)[^\n]*require\('node:test'\))/m;
const IMPORT_RE = /^import\s*\{([^}]*)\}\s*from\s*'node:test';?[ \t]*$/m;
/** A quoted or template string without nested templates: what test names and reasons are here. */
const STR = String.raw`(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|\`(?:[^\`\\]|\\.)*\`)`;

/** The converted source, and the problems it could not convert (empty when all went well). */
export function convert(source: string): { text: string; problems: string[] } {
  let text = source;
  const problems: string[] = [];
  const m = IMPORT_RE.exec(text);
  if (m) {
    const names = (m[1] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const parts = names.map((n) => n.split(/\s+as\s+/).map((s) => s.trim()) as [string, string | undefined]);
    const unknown = parts.filter(([orig]) => !RENAMES[orig]).map(([orig]) => orig);
    for (const orig of unknown) problems.push(`imports ${orig} from node:test, which has no vitest counterpart here`);
    if (unknown.length === 0) {
      // Everything imported has a counterpart: convert the import and the hook call sites (nothing halfway otherwise).
      const out = parts.map(([orig, alias]) => (alias ? `${RENAMES[orig]} as ${alias}` : (RENAMES[orig] as string)));
      for (const [orig, alias] of parts) {
        const to = RENAMES[orig] as string;
        // A hook starts a statement: rename those call sites only (a local `const before = …` stays as it is).
        if (!alias && to !== orig) text = text.replace(new RegExp(String.raw`^(\s*)${orig}\(`, 'gm'), `$1${to}(`);
      }
      text = text.replace(IMPORT_RE, `import { ${[...new Set(out)].sort((a, b) => a.localeCompare(b)).join(', ')} } from 'vitest';`);
    }
  }
  if (NODE_TEST_IMPORT.test(text)) problems.push('a node:test import the script does not recognise');

  // { skip: X } → .skipIf(X)   (it/test/describe, the options as the second argument, on one line or several)
  text = text.replace(
    new RegExp(String.raw`\b(it|test|describe)\((\s*)(${STR}),(\s*)\{\s*skip:\s*([^{}\n]*?)\s*\},\s*`, 'g'),
    (_all, fn: string, ws1: string, name: string, ws2: string, cond: string) => `${fn}.skipIf(${cond})(${ws1}${name},${ws2 === '' ? ' ' : ws2}`,
  );
  // cond ? { todo: … } : {} → (cond ? it.todo : it)
  text = text.replace(
    new RegExp(String.raw`\b(it|test)\((\s*)(${STR}),\s*([A-Za-z_$][\w$.]*)\s*\?\s*\{\s*todo:\s*${STR}\s*\}\s*:\s*\{\s*\},\s*`, 'g'),
    (_all, fn: string, ws1: string, name: string, cond: string) => `(${cond} ? ${fn}.todo : ${fn})(${ws1}${name}, `,
  );
  // { todo: 'reason' } → it.todo, the reason kept as a comment above
  text = text.replace(
    new RegExp(String.raw`^([ \t]*)\b(it|test)\((\s*)(${STR}),(\s*)\{\s*todo:\s*(${STR})\s*\},\s*`, 'gm'),
    (_all, indent: string, fn: string, ws1: string, name: string, ws2: string, reason: string) =>
      `${indent}// TODO: ${reason.slice(1, -1).replace(/\n/g, ' ')}\n${indent}${fn}.todo(${ws1}${name},${ws2 === '' ? ' ' : ws2}`,
  );

  text = text.replace(/\b(t|ctx)\.diagnostic\(/g, '$1.annotate(');
  text = text.replace(/\bmock\.method\(([^,()]+),\s*('[^']+'|"[^"]+"),\s*/g, 'vi.spyOn($1, $2).mockImplementation(');
  text = text.replace(/\bmock\.restoreAll\(\)/g, 'vi.restoreAllMocks()');
  text = text.replace(/\bmock\.fn\(/g, 'vi.fn(');

  for (const [re, what] of [
    [/\bmock\.(?!method|restoreAll|fn)\w+/, 'mock.* beyond method/restoreAll/fn'],
    [/\b(t|ctx)\.(plan|mock|test|todo|runOnly|signal|before|after|beforeEach|afterEach)\b/, 'a test-context method vitest has not (t.plan, t.mock, t.test …)'],
    [/\b(it|test|describe)\([^\n]*,\s*\{\s*(skip|todo|only|concurrency|timeout):/, 'a node:test option object the script did not convert'],
  ] as const) {
    if (re.test(text) && /from 'vitest'/.test(text)) problems.push(what);
  }
  return { text, problems };
}

function walk(p: string): string[] {
  if (!statSync(p).isDirectory()) return [p];
  return readdirSync(p)
    .filter((n) => n !== 'node_modules' && n !== 'fixtures')
    .flatMap((n) => walk(join(p, n)));
}

function main(argv: readonly string[]): number {
  const check = argv.includes('--check');
  const roots = argv.filter((a) => a !== '--check');
  const files = (roots.length ? roots : [join(ROOT, 'test'), join(ROOT, 'drivers')]).flatMap(walk).filter((f) => f.endsWith('.ts'));
  let changed = 0;
  let failed = 0;
  for (const f of files.sort()) {
    const before = readFileSync(f, 'utf8');
    // Only files that import node:test (a file that merely mentions it in a string, like this script's test, is not one).
    if (!NODE_TEST_IMPORT.test(before)) continue;
    const { text, problems } = convert(before);
    const rel = relative(ROOT, f);
    for (const p of problems) console.error(`${rel}: ${p}`);
    if (problems.length) failed++;
    if (text !== before) {
      changed++;
      if (!check) writeFileSync(f, text);
      console.log(`${check ? 'would convert' : 'converted'} ${rel}`);
    }
  }
  console.log(`${changed} file(s) ${check ? 'to convert' : 'converted'}, ${failed} with problems`);
  return failed > 0 || (check && changed > 0) ? 1 : 0;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));

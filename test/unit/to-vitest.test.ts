/** scripts/to-vitest.ts: the node:test → vitest conversion the lead re-runs on the merged tree (decision 032). */
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { convert } from '../../scripts/to-vitest';

const NODE_TEST = [
  "import assert from 'node:assert/strict';",
  "import { after, before, describe, it, mock } from 'node:test';",
  '',
  'before(() => {',
  "  mock.method(Thing.prototype, 'save', function (this: Thing, body: string) {",
  '    return body;',
  '  });',
  '});',
  'after(() => mock.restoreAll());',
  "describe('suite', { skip: tool ? false : 'tool is not installed' }, () => {",
  "  it('runs', { skip: jq ? false : JQ_MISSING }, (t) => {",
  '    const before = performance.now();',
  '    t.diagnostic(`took ${performance.now() - before} ms`);',
  '  });',
  "  it('is known to fail', known ? { todo: `KNOWN: ${known}` } : {}, () => {});",
  '  it(',
  "    'is not built yet',",
  "    { todo: 'the record needs splitting' },",
  '    async () => {},',
  '  );',
  '});',
  '',
].join('\n');

describe('scripts/to-vitest.ts', () => {
  it('imports from vitest, renaming before/after to beforeAll/afterAll and mock to vi', () => {
    const { text, problems } = convert(NODE_TEST);

    assert.deepEqual(problems, []);
    assert.match(text, /^import \{ afterAll, beforeAll, describe, it, vi \} from 'vitest';$/m);
    assert.doesNotMatch(text, /node:test/);
    assert.match(text, /^beforeAll\(\(\) => \{$/m);
    assert.match(text, /^afterAll\(\(\) => vi\.restoreAllMocks\(\)\);$/m);
    assert.match(text, /vi\.spyOn\(Thing\.prototype, 'save'\)\.mockImplementation\(function \(this: Thing, body: string\) \{/);
  });

  it('keeps a local variable named like a hook, and turns a diagnostic into an annotation', () => {
    const { text } = convert(NODE_TEST);

    assert.match(text, /const before = performance\.now\(\);/);
    assert.match(text, /t\.annotate\(`took \$\{performance\.now\(\) - before\} ms`\);/);
  });

  it('turns skip options into skipIf with the same value (truthy skips), and todos into it.todo', () => {
    const { text } = convert(NODE_TEST);

    assert.match(text, /describe\.skipIf\(tool \? false : 'tool is not installed'\)\('suite', \(\) => \{/);
    assert.match(text, /it\.skipIf\(jq \? false : JQ_MISSING\)\('runs', \(t\) => \{/);
    assert.match(text, /\(known \? it\.todo : it\)\('is known to fail', \(\) => \{\}\);/);
    assert.match(text, /\/\/ TODO: the record needs splitting\n\s*it\.todo\(\n\s*'is not built yet',\n\s*async \(\) => \{\},/);
  });

  it('is idempotent: a converted file converts to itself', () => {
    const once = convert(NODE_TEST).text;

    assert.equal(convert(once).text, once);
  });

  it('reports what it cannot convert instead of converting it halfway', () => {
    const { problems } = convert("import { it } from 'node:test';\nit('plans', (t) => {\n  t.plan(2);\n});\n");

    assert.deepEqual(problems, ['a test-context method vitest has not (t.plan, t.mock, t.test …)']);
    assert.deepEqual(convert("import { it, snapshot } from 'node:test';\n").problems, [
      'imports snapshot from node:test, which has no vitest counterpart here',
      'a node:test import the script does not recognise',
    ]);
  });
});

/**
 * The strict JSON reader (lambdas/domain/strict-json.ts): the values of JSON.parse, except that a
 * duplicate key or nesting past the limit is refused with the JSON path.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import fc from 'fast-check';
import { JsonReadError, MAX_JSON_DEPTH, parseStrictJson } from '../../lambdas/domain/strict-json';

const ROOT = join(__dirname, '..', '..');

function problemsOf(text: string, maxDepth?: number): { problems: string[]; syntax: boolean } {
  try {
    parseStrictJson(text, maxDepth === undefined ? {} : { maxDepth });
  } catch (e) {
    assert.ok(e instanceof JsonReadError, `expected a JsonReadError, got ${String(e)}`);
    return { problems: e.problems, syntax: e.syntax };
  }
  assert.fail(`accepted ${text.slice(0, 80)}`);
}

describe('the strict JSON reader', () => {
  it('reads what JSON.parse reads, value for value (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = JSON.stringify(v);
        assert.deepEqual(parseStrictJson(text), JSON.parse(text));
      }),
      { numRuns: 400 },
    );
  });

  it('refuses exactly the texts JSON.parse refuses, when they hold no duplicate key (property)', () => {
    const jsonish = fc.stringMatching(/^[\s{}[\]",:0-9.eE+\-a-z\\]{0,24}$/);
    fc.assert(
      fc.property(jsonish, (text) => {
        let native: unknown;
        let nativeOk = true;
        try {
          native = JSON.parse(text);
        } catch {
          nativeOk = false;
        }
        let strictOk = true;
        let strict: unknown;
        try {
          strict = parseStrictJson(text);
        } catch (e) {
          if (!(e instanceof JsonReadError)) throw e;
          if (!e.syntax) return; // a duplicate key: refused on purpose
          strictOk = false;
        }
        assert.equal(strictOk, nativeOk, text);
        if (nativeOk) assert.deepEqual(strict, native);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads the example config and every example scenario as JSON.parse does', () => {
    const files = ['examples/gantry.config.json', 'examples/scenarios/demo.json', 'examples/scenarios/window-across-midnight.json'];
    for (const f of files) {
      const text = readFileSync(join(ROOT, f), 'utf8');
      assert.deepEqual(parseStrictJson(text), JSON.parse(text), f);
    }
  });

  it('keeps a __proto__ key as an own key, as JSON.parse does, without touching the prototype', () => {
    const v = parseStrictJson('{"__proto__":{"polluted":true},"a":1}') as Record<string, unknown>;

    assert.ok(Object.hasOwn(v, '__proto__'));
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.equal((v as { polluted?: unknown }).polluted, undefined);
    assert.deepEqual(v, JSON.parse('{"__proto__":{"polluted":true},"a":1}'));
  });

  it('names a duplicate key by its JSON path and both lines', () => {
    const text = '{\n  "services": {\n    "payments": {\n      "stages": [{}, {}, {\n        "bakeMinutes": 30,\n        "bakeMinutes": 0\n      }]\n    }\n  }\n}';

    const { problems, syntax } = problemsOf(text);

    assert.equal(syntax, false);
    assert.deepEqual(problems, [
      'services.payments.stages[2].bakeMinutes: duplicate key (given at line 5 and again at line 6; JSON readers disagree on which one counts): give it once',
    ]);
  });

  it('reports every duplicate, a service defined twice included', () => {
    const text = '{"services":{"payments":{"a":1,"a":2},"payments":{}},"x":[{"k":1,"k":1,"k":1}]}';

    const { problems } = problemsOf(text);

    assert.deepEqual(problems, [
      'services.payments.a: duplicate key (given at line 1 and again at line 1; JSON readers disagree on which one counts): give it once',
      'services.payments: duplicate key (given at line 1 and again at line 1; JSON readers disagree on which one counts): give it once',
      'x[0].k: duplicate key (given at line 1 and again at line 1; JSON readers disagree on which one counts): give it once',
      'x[0].k: duplicate key (given at line 1 and again at line 1; JSON readers disagree on which one counts): give it once',
    ]);
  });

  it('does not take keys that differ only by an escape for duplicates, nor equal keys in different objects', () => {
    assert.deepEqual(parseStrictJson('{"a":{"k":1},"b":{"k":2},"\\u0061b":3}'), { a: { k: 1 }, b: { k: 2 }, ab: 3 });
    // "\u0061" is "a": the same key written two ways is a duplicate.
    assert.match(problemsOf('{"a":1,"\\u0061":2}').problems[0] ?? '', /^a: duplicate key/);
  });

  it(`accepts ${MAX_JSON_DEPTH} levels of nesting and refuses one more, naming where`, () => {
    const nest = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    assert.doesNotThrow(() => parseStrictJson(nest(MAX_JSON_DEPTH)));

    const { problems, syntax } = problemsOf(`{"x":${nest(MAX_JSON_DEPTH)}}`);

    assert.equal(syntax, false);
    assert.deepEqual(problems, [
      `x[0][0][0][0][0][0][0]… (${MAX_JSON_DEPTH} levels down): expected objects and arrays nested at most ${MAX_JSON_DEPTH} levels deep, got more (line 1, column ${MAX_JSON_DEPTH + 5})`,
    ]);
  });

  it('refuses 100,000 levels of nesting with a message, not a stack overflow', () => {
    const { problems } = problemsOf(`${'['.repeat(100_000)}${']'.repeat(100_000)}`);

    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /nested at most 64 levels deep/);
  });

  it('says where a syntax error is, with the path it was reading', () => {
    assert.deepEqual(problemsOf('{\n  "a": [1, 2,]\n}'), { problems: ['a[2]: expected a JSON value, got "]" (line 2, column 14)'], syntax: true });
    assert.deepEqual(problemsOf('{"a": 01}'), { problems: ['a: expected a JSON number such as 10, -1.5 or 2e3 (line 1, column 7)'], syntax: true });
    assert.deepEqual(problemsOf('{"a": "x\ny"}'), { problems: ['a: expected the control character U+000A to be escaped inside a string (line 1, column 9)'], syntax: true });
    assert.deepEqual(problemsOf('{"a": 1} x'), { problems: ['(root): expected the end of the document, got "x" (line 1, column 10)'], syntax: true });
    assert.deepEqual(problemsOf('\uFEFF{}'), { problems: ['(root): expected a JSON value, got a byte-order mark (U+FEFF) (line 1, column 1)'], syntax: true });
    assert.deepEqual(problemsOf(''), { problems: ['(root): expected a JSON value, got the end of the text (line 1, column 1)'], syntax: true });
  });

  it('takes a smaller depth limit when asked', () => {
    assert.deepEqual(problemsOf('{"a":{"b":{}}}', 2).problems, ['a.b: expected objects and arrays nested at most 2 levels deep, got more (line 1, column 11)']);
  });
});

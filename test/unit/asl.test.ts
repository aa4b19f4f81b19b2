/** The workflow definitions: valid ASL, JSONPath only, every placeholder substituted locally and by CDK. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { FUNCTION_PLACEHOLDERS, loadDefinition, substitutions } from '../../local/engine';

const validate = require('asl-validator') as (d: unknown) => { isValid: boolean; errors: unknown[] };
const dir = join(__dirname, '..', '..', 'statemachines');
const files = readdirSync(dir).filter((f) => f.endsWith('.asl.json'));

function walk(v: unknown, visit: (key: string, value: unknown, path: string) => void, path = '$'): void {
  if (Array.isArray(v)) v.forEach((x, i) => walk(x, visit, `${path}[${i}]`));
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      visit(k, x, `${path}.${k}`);
      walk(x, visit, `${path}.${k}`);
    }
  }
}

describe('state machine definitions', () => {
  it('has the release, rollback, insight and drill workflows', () => {
    assert.deepEqual(files.sort(), ['drill.asl.json', 'insight.asl.json', 'release.asl.json', 'rollback.asl.json']);
  });

  for (const file of files) {
    const text = readFileSync(join(dir, file), 'utf8');
    // A fresh copy per test: asl-validator writes defaults (QueryLanguage) into what it validates.
    const fresh = () => JSON.parse(text) as { States: Record<string, Record<string, unknown>> };
    const def = fresh();

    it(`${file} is valid Amazon States Language`, () => {
      const r = validate(fresh());
      assert.equal(r.isValid, true, JSON.stringify(r.errors));
    });

    it(`${file} uses JSONPath only: no QueryLanguage, Output, Assign or Arguments (the local engine ignores them silently)`, () => {
      const found: string[] = [];
      walk(def, (k, _v, path) => {
        if (['QueryLanguage', 'Output', 'Assign', 'Arguments'].includes(k)) found.push(path);
      });
      assert.deepEqual(found, []);
    });

    it(`${file} has a substitution for every placeholder`, () => {
      const placeholders = [...new Set([...text.matchAll(/\$\{([A-Za-z0-9]+)\}/g)].map((m) => m[1] as string))];
      const subs = substitutions();
      assert.ok(placeholders.length > 0);
      for (const p of placeholders) assert.ok(subs[p], `no substitution for \${${p}}`);
      const loaded = JSON.stringify(loadDefinition(file.replace('.asl.json', '')));
      assert.doesNotMatch(loaded, /\$\{/);
    });

    it(`${file} retries transient errors on every Lambda task and catches everything else`, () => {
      for (const [name, state] of Object.entries(def.States)) {
        if (state.Type !== 'Task') continue;
        const retry = JSON.stringify(state.Retry ?? []);
        assert.match(retry, /ThrottlingException/, `${name} retries throttling`);
        if (name !== 'HandleInternalError') assert.ok(Array.isArray(state.Catch) && state.Catch.length > 0, `${name} has a Catch`);
      }
    });

    it(`${file} names states for what they do`, () => {
      for (const name of Object.keys(def.States)) assert.match(name, /^[A-Z][A-Za-z]+$/, name);
    });
  }

  it('maps every function placeholder to a handler file that exists', () => {
    for (const fn of Object.values(FUNCTION_PLACEHOLDERS)) {
      assert.ok(readFileSync(join(__dirname, '..', '..', 'lambdas', `${fn}.ts`), 'utf8').includes('export const handler'), fn);
    }
  });
});

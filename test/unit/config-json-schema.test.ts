/**
 * schemas/gantry.config.schema.json is generated from the zod config schema (scripts/config-schema.ts), the
 * example config names it with `$schema`, and the config parser allows exactly that one new top-level field.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import Ajv2020 from 'ajv/dist/2020';
import { configHash, parseConfig } from '../../lambdas/domain/config';
import { ValidationError } from '../../lambdas/domain/validation';
import { CONFIG_DOC_FILE, CONFIG_SCHEMA_FILE, configDocText, configFields, configJsonSchemaText, FIELD_DESCRIPTIONS } from '../../scripts/config-schema';

const ROOT = join(__dirname, '..', '..');
const example = (): Record<string, unknown> => JSON.parse(readFileSync(join(ROOT, 'examples', 'gantry.config.json'), 'utf8'));
const committed = (): Record<string, unknown> => JSON.parse(readFileSync(CONFIG_SCHEMA_FILE, 'utf8'));

function problemsOf(raw: unknown): string[] {
  try {
    parseConfig(raw);
    return [];
  } catch (e) {
    assert.ok(e instanceof ValidationError, String(e));
    return e.problems;
  }
}

describe('schemas/gantry.config.schema.json', () => {
  it('is the file generated from lambdas/domain/config.ts (npm run schemas)', () => {
    assert.equal(readFileSync(CONFIG_SCHEMA_FILE, 'utf8'), configJsonSchemaText());
  });

  it('accepts the example config, which names it with $schema', () => {
    const raw = example();
    assert.equal(raw.$schema, '../schemas/gantry.config.schema.json');
    const validate = new Ajv2020({ allErrors: true, strict: false }).compile(committed());

    assert.equal(validate(raw), true, JSON.stringify(validate.errors));
  });

  it('refuses what the zod schema refuses field by field: an unknown stage field and a bakeMinutes out of range', () => {
    const validate = new Ajv2020({ allErrors: true, strict: false }).compile(committed());
    const raw = example() as { services: Record<string, { stages: Array<Record<string, unknown>> }> };
    const first = Object.values(raw.services)[0]!.stages[0]!;
    first.bakeTime = 5;
    first.bakeMinutes = -5;

    assert.equal(validate(raw), false);
    const paths = (validate.errors ?? []).map((e) => `${e.instancePath} ${e.keyword}`);
    assert.ok(
      paths.some((p) => p.endsWith('/stages/0 additionalProperties')),
      paths.join('\n'),
    );
    assert.ok(
      paths.some((p) => p.endsWith('/stages/0/bakeMinutes minimum')),
      paths.join('\n'),
    );
  });
});

describe('parseConfig and $schema', () => {
  it('accepts a top-level $schema string and drops it: the parsed config and its hash are those of the file without it', () => {
    const withSchema = example();
    const { $schema: _, ...without } = withSchema;

    const parsed = parseConfig(withSchema);
    assert.equal('$schema' in parsed, false);
    assert.equal(configHash(parsed), configHash(parseConfig(without)));
  });

  it('refuses a $schema that is not a string, naming it', () => {
    const raw = { ...example(), $schema: 42 };
    const problems = problemsOf(raw);

    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0]!, /^\$schema: /);
  });

  it('still refuses any other unknown top-level field, and $schema anywhere but the top', () => {
    const raw = example() as Record<string, unknown> & { clusters: Record<string, Record<string, unknown>> };
    raw.$comment = 'x';
    Object.values(raw.clusters)[0]!.$schema = 'y';

    const problems = problemsOf(raw);
    assert.ok(
      problems.some((p) => p.startsWith('$comment: unknown field')),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => /^clusters\.[a-z-]+\.\$schema: unknown field/.test(p)),
      problems.join('\n'),
    );
  });
});

describe('docs/config.md, the config reference', () => {
  it('has the field table generated from the schema (npm run schemas)', () => {
    const doc = readFileSync(CONFIG_DOC_FILE, 'utf8');
    assert.equal(doc, configDocText(doc));
  });

  it('describes every field of the schema, and no field the schema does not have', () => {
    const rows = configFields(committed());
    assert.ok(rows.length > 80, `${rows.length} fields`);
    assert.deepEqual(
      rows.map((r) => r.path).filter((p) => FIELD_DESCRIPTIONS[p] === undefined),
      [],
    );
    assert.deepEqual(
      Object.keys(FIELD_DESCRIPTIONS).filter((p) => !rows.some((r) => r.path === p)),
      [],
    );
  });

  it('names each field with its type, whether it is required and its default', () => {
    const doc = readFileSync(CONFIG_DOC_FILE, 'utf8');
    assert.match(doc, /^\| `services\.<name>\.stages\[\]\.bakeMinutes` \| whole number 0–1440 \| no \| `0` \| /m);
    assert.match(doc, /^\| `services\.<name>\.stages\[\]\.insufficientData` \| `"fail"` \\\| `"ignore"` \| no \| `"fail"` \| /m);
    assert.match(doc, /^\| `services\.<name>\.stages\[\]\.deploy\.allowDestroy \(terraform\)` \| boolean \| no \| `false` \| /m);
    assert.match(doc, /^\| `clusters\.<name>\.region` \| string matching `[^`]+` \| yes \| {2}\| /m);
  });

  it('refuses to regenerate when the doc has lost its markers', () => {
    assert.throws(() => configDocText('# config\n'), /fields:start/);
  });
});

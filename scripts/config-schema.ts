/**
 * Writes schemas/gantry.config.schema.json: the JSON Schema of `gantry.config.json`, generated from the zod
 * config schema (lambdas/domain/config.ts `configSchema`) with zod's `z.toJSONSchema`, for editors (the
 * example config names it with `"$schema"`). Refinements that JSON Schema cannot express (a stage's cluster
 * must be a key of `clusters`, time zones, tag patterns that compile in RE2, …) are checked by `parseConfig` only.
 *
 *   npm run schemas              (node --import tsx scripts/config-schema.ts)
 *   npm run schemas -- --check   writes nothing; exits 1 when the committed file is out of date
 *
 * test/unit/config-json-schema.test.ts makes the same check.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { configSchema } from '../lambdas/domain/config';

export const CONFIG_SCHEMA_FILE = join(__dirname, '..', 'schemas', 'gantry.config.schema.json');

/** The JSON Schema of the config as a user writes it (fields with a default are optional), as file text. */
export function configJsonSchemaText(): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input', target: 'draft-2020-12' });
  const doc = {
    $schema: schema.$schema,
    title: 'gantry.config.json',
    description: 'Gantry deployment config (policy as code). Generated from lambdas/domain/config.ts by `npm run schemas`; do not edit. Reference: docs/config.md.',
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$schema')),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

if (require.main === module) {
  const check = process.argv.includes('--check');
  const want = configJsonSchemaText();
  let have = '';
  try {
    have = readFileSync(CONFIG_SCHEMA_FILE, 'utf8');
  } catch {
    // absent: out of date
  }
  if (have === want) {
    console.log('schemas/gantry.config.schema.json is up to date');
  } else if (check) {
    console.error('schemas/gantry.config.schema.json is out of date with lambdas/domain/config.ts: run npm run schemas');
    process.exit(1);
  } else {
    writeFileSync(CONFIG_SCHEMA_FILE, want);
    console.log('wrote schemas/gantry.config.schema.json');
  }
}

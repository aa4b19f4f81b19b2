import { writeFileSync } from 'node:fs';
import { parseConfig } from '../lambdas/domain/config';
import { buildGantry, testConfig } from './infra/fixtures';
const b = buildGantry({ bundle: false });
writeFileSync(process.argv[2], JSON.stringify(b.template.toJSON(), null, 1));
const raw = JSON.parse(JSON.stringify(testConfig()));
raw.signing = { keys: { k1: 'arn:aws:kms:eu-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab' } };
const b2 = buildGantry({ bundle: false, config: parseConfig(raw, 'x') });
writeFileSync(process.argv[3], JSON.stringify(b2.template.toJSON(), null, 1));

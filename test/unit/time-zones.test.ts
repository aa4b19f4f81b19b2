/**
 * lambdas/domain/time-zones.ts checks a config's time zones without luxon (decision 039); it must agree
 * with luxon's `IANAZone.isValidZone`, which the config used before, on every string.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { IANAZone as Luxon } from 'luxon';
import { describe, it } from 'vitest';
import { parseConfig } from '../../lambdas/domain/config';
import { IANAZone } from '../../lambdas/domain/time-zones';

const SAMPLES = [
  'Europe/London',
  'America/New_York',
  'Asia/Kolkata',
  'UTC',
  'Etc/GMT+5',
  'europe/london',
  'Fantasia/Castle',
  'Sport~~blorp',
  '',
  ' ',
  'GMT',
  'Z',
  '+01:00',
  'Europe/London ',
  'America/Argentina/Buenos_Aires',
];

describe('the time-zone check of the config', () => {
  it('agrees with luxon on named samples', () => {
    for (const z of SAMPLES) assert.equal(IANAZone.isValidZone(z), Luxon.isValidZone(z), JSON.stringify(z));
    assert.equal(IANAZone.isValidZone('Europe/London'), true);
    assert.equal(IANAZone.isValidZone('Fantasia/Castle'), false);
  });

  it('agrees with luxon on every zone the runtime knows and on arbitrary strings', () => {
    for (const z of Intl.supportedValuesOf('timeZone')) assert.equal(IANAZone.isValidZone(z), Luxon.isValidZone(z), z);
    fc.assert(fc.property(fc.string({ maxLength: 30 }), (z) => IANAZone.isValidZone(z) === Luxon.isValidZone(z)));
  });

  it('still makes parseConfig refuse an unknown zone, naming the field', () => {
    const scenario = JSON.parse(readFileSync(join(__dirname, '..', '..', 'examples', 'scenarios', 'window-across-midnight.json'), 'utf8')) as {
      config: { services: Record<string, { stages: { windows?: { timezone: string } }[] }> };
    };
    const raw = scenario.config;
    const stage = Object.values(raw.services)
      .flatMap((s) => s.stages)
      .find((st) => st.windows);
    assert.ok(stage?.windows, 'the scenario has a stage with windows');
    parseConfig(raw);
    stage.windows.timezone = 'Fantasia/Castle';
    assert.throws(() => parseConfig(raw), /windows\.timezone: expected an IANA time zone/);
  });
});

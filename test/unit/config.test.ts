import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { parseConfig } from '../../lambdas/domain/config';
import { ValidationError } from '../../lambdas/domain/validation';

describe('parseConfig', () => {
  it('names the JSON path, the allowed range and the value found for a negative bake', () => {
    const raw = {
      services: {
        payments: {
          repository: 'payments-api',
          stages: [
            { name: 'dev', cluster: 'dev', namespace: 'payments', deploy: { driver: 'helm', release: 'payments', chart: 'oci://x/y', version: '1.0.0' } },
            { name: 'prod', cluster: 'dev', namespace: 'payments', deploy: { driver: 'helm', release: 'payments', chart: 'oci://x/y', version: '1.0.0' }, bakeMinutes: -5 },
          ],
        },
      },
      clusters: { dev: { name: 'dev-eks', region: 'eu-west-2' } },
    };
    assert.throws(
      () => parseConfig(raw),
      (e: unknown) => e instanceof ValidationError && e.problems.includes('services.payments.stages[1].bakeMinutes: expected a whole number from 0 to 1440, got -5'),
    );
  });
});

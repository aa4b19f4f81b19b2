/**
 * Scenario faults on DynamoDB operations (decision 024): answered at the ledger client's wire, as DynamoDB
 * answers them, so the real SDK client retries what it would retry. Before, a `dynamodb` fault line was
 * accepted and never fired.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { loadScenario, loadScenarioFile } from '../../local/scenario';
import { simulate } from '../../local/simulate';
import { ROOT } from './helpers';

async function demoWith(script: unknown[]) {
  const raw = structuredClone(loadScenarioFile(join(ROOT, 'examples', 'scenarios', 'demo.json')).scenario) as Record<string, unknown>;
  raw.config = '../gantry.config.json';
  raw.script = script;
  return simulate(loadScenario(raw, join(ROOT, 'examples', 'scenarios')));
}

describe('a scenario fault on a DynamoDB operation', () => {
  it("fires on the ledger's writes, and three throttled PutItems are absorbed by the SDK's four attempts", async () => {
    const { output } = await demoWith([{ when: { at: 'PT0S' }, fault: { service: 'dynamodb', operation: 'PutItem', error: 'ProvisionedThroughputExceededException', count: 3 } }]);

    const fired = output.timeline.filter((t) => t.event === 'Fault Injected');
    assert.equal(fired.length, 3);
    assert.ok(
      fired.every((t) => /dynamodb PutItem/.test(String(t.reason))),
      JSON.stringify(fired),
    );
    assert.equal(output.releases[0]?.status, 'SUCCEEDED');
    assert.equal(output.releases[0]?.audit.verified, true);
  });
});

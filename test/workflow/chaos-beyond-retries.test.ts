/**
 * `--chaos N` past the SDK's retries (N ≥ 4: DynamoDB gets 4 attempts, the other clients 3): the
 * simulation runs and reports what Gantry did, instead of aborting in its own set-up. Faults hit only the
 * calls made while the scenario runs, never the simulator's seeding of the stages or its read-out.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { loadScenarioFile } from '../../local/scenario';
import { simulate } from '../../local/simulate';
import { D1, ROOT } from './helpers';

const demo = () => loadScenarioFile(join(ROOT, 'examples', 'scenarios', 'demo.json'));

describe('chaos past the retries', () => {
  it('runs the demo with every AWS call failing its first 4 attempts, stages seeded as the scenario says', async () => {
    const { output } = await simulate(demo(), { chaos: { transientFailures: 4 } });

    for (const stage of ['dev', 'staging', 'prod']) assert.equal(output.stages[`payments/${stage}`]?.lastKnownGood, D1, `payments/${stage} was seeded`);
    assert.ok((output.chaos?.injected['dynamodb:PutItem'] ?? 0) > 0, 'the ledger writes of the run were faulted');
    assert.ok(output.executions.length >= 1, 'the push started an execution');
  });

  it('runs it with 10 failed attempts per call too: intake gives up, which the output reports (in AWS: the intake dead-letter queue)', async () => {
    const { output } = await simulate(demo(), { chaos: { transientFailures: 10 } });

    for (const stage of ['dev', 'staging', 'prod']) assert.equal(output.stages[`payments/${stage}`]?.lastKnownGood, D1, `payments/${stage} was seeded`);
    assert.ok((output.chaos?.injected['sfn:StartExecution'] ?? 0) > 0, "intake's calls were faulted");
    assert.ok(
      output.warnings.some((w) => w.startsWith('event delivery to ecr-push failed')),
      output.warnings.join('\n'),
    );
    assert.deepEqual(output.executions, [], 'nothing started: the push waits in the dead-letter queue for a replay');
  });
});

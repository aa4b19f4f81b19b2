/**
 * Waves of clusters in other accounts and regions (issue 18): every cluster reached with its own role, the stage's
 * alarms watched in every account where it has a cluster, an alarm forwarded from another account failing a wave bake,
 * and the rollback of every touched cluster, each in its own account.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import { loadScenarioFile } from '../../local/scenario';
import { type SimulationOutput, simulate } from '../../local/simulate';
import type { LedgerEvent } from '../../lambdas/domain/ledger';
import { D1, D2, ROOT } from './helpers';

const TARGET_B = 'arn:aws:iam::222222222222:role/gantry-target-Gantry';
const TARGET_C = 'arn:aws:iam::333333333333:role/gantry-target-Gantry';

describe('waves across accounts: an alarm in account 333333333333 during wave 2', () => {
  let output: SimulationOutput;
  let events: LedgerEvent[];
  beforeAll(async () => {
    const r = await simulate(loadScenarioFile(join(ROOT, 'examples', 'scenarios', 'waves-cross-account.json')));
    output = r.output;
    events = r.ledgerEvents;
  });

  it('reaches each cluster in its own account and region with its own role', () => {
    const deploys = output.deployments.filter((d) => d.stage === 'prod' && d.kind === 'deploy');
    const where = Object.fromEntries(deploys.map((d) => [d.cluster, `${d.target?.account}/${d.target?.region} ${d.target?.roleArn}`]));
    assert.equal(where['prod-eu-2'], `222222222222/eu-west-1 ${TARGET_B}`);
    assert.equal(where['prod-us-1'], `333333333333/us-east-1 ${TARGET_C}`);
    assert.match(where['prod-eu-1'] ?? '', /^111122223333\/eu-west-2 arn:aws:iam::111122223333:role\//, "the home cluster through the stack's ClusterAccessRole");
    assert.ok(deploys.every((d) => d.digest === D2));
  });

  it("fails wave 2's bake on the alarm forwarded from account 333333333333", () => {
    const forwarded = output.timeline.find((t) => t.event === 'Alarm Event Forwarded');
    assert.match(forwarded?.reason ?? '', /"from":"333333333333\/us-east-1"/);
    const waveBake = events.find((e) => e.type === 'bake.finished' && e.data.phase === 'wave-2');
    assert.equal(waveBake?.data.result, 'FAIL');
    assert.match(String(waveBake?.data.reason), /alarm payments-prod-5xx in ALARM at bake minute 3/);
  });

  it('rolls back waves 1 and 2, each cluster in its own account, and never touches wave 3', () => {
    const rollbacks = output.deployments.filter((d) => d.stage === 'prod' && d.kind === 'rollback');
    assert.deepEqual(rollbacks.map((d) => `${d.cluster} ${d.target?.account} ${d.result}`).sort(), [
      'prod-eu-1 111122223333 SUCCEEDED',
      'prod-eu-2 222222222222 SUCCEEDED',
      'prod-us-1 333333333333 SUCCEEDED',
    ]);
    assert.ok(rollbacks.every((d) => d.digest === D1));
    assert.equal(output.deployments.filter((d) => d.cluster === 'prod-ap-1').length, 0, 'wave 3 (prod-ap-1, account 222222222222) never touched');
    const prod = output.releases[0]?.stages.find((s) => s.name === 'prod');
    assert.equal(prod?.status, 'ROLLED_BACK');
    assert.equal(output.stages['payments/prod']?.running, D1);
  });

  it('closes everything: chain verified, no lease held, nothing unused', () => {
    assert.equal(output.releases[0]?.audit.verified, true);
    assert.deepEqual(output.leasesHeld, []);
    assert.deepEqual(output.unused, []);
    assert.deepEqual(output.warnings, []);
  });
});

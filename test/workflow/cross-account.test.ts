/**
 * A stage in another account and region, through `gantry simulate` (issue 18, decision 045): the real workflows,
 * every eks:call with the cluster's role (Credentials.RoleArn), the plan describing the cluster in its region, the
 * alarms read in its account, its alarm events forwarded with their account and region. A role the target account
 * does not have, and an alarm of the same name in another account, behave as AWS would have them behave.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { loadScenario, loadScenarioFile } from '../../local/scenario';
import { simulate } from '../../local/simulate';
import { D1, D2, ROOT } from './helpers';

const ROLE = 'arn:aws:iam::222222222222:role/gantry-target-cluster-access';
const scenarioFile = (name: string) => join(ROOT, 'examples', 'scenarios', `${name}.json`);

/** The cross-account example with its config and script edited. */
async function crossAccountWith(edit: (raw: Record<string, any>) => void) {
  const raw = structuredClone(loadScenarioFile(scenarioFile('cross-account')).scenario) as Record<string, any>;
  edit(raw);
  return simulate(loadScenario(raw, join(ROOT, 'examples', 'scenarios')));
}

describe('a prod stage in account 222222222222, eu-central-1', () => {
  it('fails its bake on an alarm fired there (the forwarded event), rolls prod back there, and names the account, region and role in the ledger', async () => {
    const { output, ledgerEvents } = await simulate(loadScenarioFile(scenarioFile('cross-account')));

    const prod = output.releases[0]?.stages.find((s) => s.name === 'prod');
    assert.equal(output.releases[0]?.status, 'ROLLED_BACK');
    assert.equal(prod?.status, 'ROLLED_BACK');
    assert.match(String(prod?.rollback?.reason), /payments-prod-5xx in ALARM at bake minute 7/);
    // The bake's failure names where the alarm fired.
    const gate = ledgerEvents.find((e) => e.type === 'gate.evaluated' && e.stage === 'prod' && e.data.gate === 'bake' && e.data.result === 'FAIL');
    assert.deepEqual([(gate?.data.evidence as Record<string, unknown>)?.account, (gate?.data.evidence as Record<string, unknown>)?.region], ['222222222222', 'eu-central-1']);
    // The deploy and the rollback evidence name the cluster's account, region and the role eks:call ran with.
    const finished = ledgerEvents.filter((e) => e.stage === 'prod' && typeof e.data.evidence === 'object' && (e.data.evidence as Record<string, unknown>).kubernetes);
    assert.ok(finished.length >= 2, 'deploy and rollback evidence');
    for (const e of finished) {
      const k = (e.data.evidence as { kubernetes: Record<string, unknown> }).kubernetes;
      assert.deepEqual([k.cluster, k.account, k.region, k.roleArn], ['prod-eks', '222222222222', 'eu-central-1', ROLE]);
    }
    assert.deepEqual(
      output.deployments.filter((d) => d.stage === 'prod').map((d) => [d.kind, d.digest, d.target?.account, d.target?.region, d.target?.roleArn]),
      [
        ['deploy', D2, '222222222222', 'eu-central-1', ROLE],
        ['rollback', D1, '222222222222', 'eu-central-1', ROLE],
      ],
    );
    assert.ok(output.timeline.some((t) => t.event === 'Alarm Event Forwarded'));
    assert.ok(output.timeline.some((t) => t.event === 'Role Assumed' && (t.reason ?? '').includes(ROLE)));
    assert.equal(output.releases[0]?.audit.verified, true);
  });

  it('promotes when an alarm of the same name fires in Gantry’s own account: it is not the alarm the bake watches', async () => {
    const { output, ledgerEvents } = await simulate(loadScenarioFile(scenarioFile('cross-account-bake-passes')));

    assert.equal(output.releases[0]?.status, 'SUCCEEDED');
    assert.equal(output.releases[0]?.stages.find((s) => s.name === 'prod')?.status, 'PROMOTED');
    assert.ok(
      output.timeline.some((t) => t.event === 'Alarm State Changed' && (t.reason ?? '').includes('payments-prod-5xx')),
      'the own-account alarm did fire',
    );
    assert.equal(ledgerEvents.filter((e) => e.type === 'gate.evaluated' && e.data.result === 'FAIL').length, 0);
  });

  it('blocks prod before anything is deployed when the target account has no such role: its alarms cannot be read (AssumeRole refused)', async () => {
    const { output } = await crossAccountWith((raw) => {
      raw.missingRoles = [ROLE];
      raw.script = [];
    });

    const prod = output.releases[0]?.stages.find((s) => s.name === 'prod');
    assert.equal(prod?.status, 'BLOCKED');
    assert.match(
      String(prod?.reason),
      /^alarms\.pre-deploy: could not read alarm payments-prod-5xx: AccessDenied: .* is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::222222222222:role\/gantry-target-cluster-access$/,
    );
    assert.equal(output.deployments.filter((d) => d.stage === 'prod').length, 0, 'no eks:call reached the cluster');
  });

  it('fails the prod deploy (ClusterAccessError, the deploy’s failure path), before any eks:call, when a stage without alarms cannot reach its cluster', async () => {
    const { output, ledgerEvents } = await crossAccountWith((raw) => {
      raw.missingRoles = [ROLE];
      raw.script = [];
      const prod = raw.config.services.payments.stages.find((s: { name: string }) => s.name === 'prod');
      prod.alarms = [];
    });

    // The deploy fails on the plan; the rollback cannot reach the cluster either: nothing was changed there, and the
    // stage says it could not confirm it (ROLLBACK_FAILED, for an operator).
    assert.equal(output.releases[0]?.stages.find((s) => s.name === 'prod')?.status, 'ROLLBACK_FAILED');
    assert.match(String(output.releases[0]?.stages.find((s) => s.name === 'prod')?.reason), /^deploy failed: cannot describe cluster prod-eks/, 'not the internal-error path');
    assert.equal(output.deployments.filter((d) => d.stage === 'prod').length, 0, 'no eks:call reached the cluster');
    const failure = JSON.stringify(ledgerEvents.filter((e) => e.stage === 'prod' && /deploy/.test(e.type)).map((e) => e.data));
    assert.match(failure, /cannot describe cluster prod-eks \(account 222222222222, region eu-central-1 as arn:aws:iam::222222222222:role\/gantry-target-cluster-access\)/);
    assert.match(failure, /AccessDenied/);
  });
});

/**
 * Plan, approve, apply that plan (decision 049), through the real workflow and handlers: a Terraform stage with an
 * approval plans first, its approvers see and approve the plan's sha256, the apply applies exactly that saved plan;
 * a stale plan is not applied, re-planned and approved again; a decision on another hash is refused; a plan that
 * destroys is refused before anyone is asked.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it, vi } from 'vitest';
import { auditRelease } from '../../lambdas/domain/audit/report-model';
import type { LedgerEvent } from '../../lambdas/domain/ledger';
import { MAX_TERRAFORM_PLANS } from '../../lambdas/domain/plan-approval';
import { LocalCloud } from '../../local/cloud';
import { loadScenario } from '../../local/scenario';
import { type SimulationResult, simulate } from '../../local/simulate';
import { renderAudit } from '../../cli/render/render';
import { ROOT } from './helpers';

const APPROVER = 'arn:aws:sts::111122223333:assumed-role/ReleaseApprovers/carol';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** What the local drivers wrote to the artifacts bucket, by key. */
const stored = new Map<string, string>();
beforeAll(() => {
  const original = LocalCloud.prototype.putEvidence;
  vi.spyOn(LocalCloud.prototype, 'putEvidence').mockImplementation(function (this: LocalCloud, key: string, body: string) {
    stored.set(key, body);
    return original.call(this, key, body);
  });
});
afterAll(() => vi.restoreAllMocks());

function example(name: string): Record<string, any> {
  return JSON.parse(readFileSync(join(ROOT, 'examples', 'scenarios', `${name}.json`), 'utf8'));
}

async function run(raw: unknown): Promise<SimulationResult> {
  return simulate(loadScenario(raw, join(ROOT, 'examples', 'scenarios')));
}

const prodEvents = (r: SimulationResult, type: string) => r.ledgerEvents.filter((e: LedgerEvent) => e.stage === 'prod' && e.type === type);

describe('a Terraform stage with an approval plans, is approved on its plan hash and applies that plan', () => {
  let r: SimulationResult;
  beforeAll(async () => {
    r = await run(example('terraform-plan-approved'));
  });

  it('promotes prod, having planned once and applied exactly once', () => {
    assert.equal(r.output.releases[0]?.status, 'SUCCEEDED');
    assert.deepEqual(r.output.warnings, []);
    // The plan-only run is no deployment of the stage: one apply, no rollback.
    assert.deepEqual(
      r.output.deployments.filter((d) => d.stage === 'prod').map((d) => `${d.kind}:${d.result}`),
      ['deploy:SUCCEEDED'],
    );
  });

  it('records the saved plan (plan.recorded) with the sha256 of the binary plan in the artifacts bucket', () => {
    const [plan] = prodEvents(r, 'plan.recorded');
    assert.ok(plan);
    const key = String(plan.data.key);
    assert.equal(key, `evidence/${plan.releaseId}/prod/plan-1/tfplan`);
    const saved = stored.get(key);
    assert.ok(saved, 'the saved plan is in the artifacts bucket');
    assert.equal(plan.data.sha256, sha256(saved));
    assert.deepEqual([plan.data.adds, plan.data.changes, plan.data.destroys, plan.data.attempt], [0, 1, 0, 1]);
  });

  it('puts the plan in Approval Requested, and the approver approves that hash', () => {
    const [plan] = prodEvents(r, 'plan.recorded');
    const requested = r.output.lifecycle.find((l) => l.detailType === 'Approval Requested' && l.detail.stage === 'prod');
    const shown = requested?.detail.plan as Record<string, unknown> | undefined;
    assert.equal(shown?.sha256, plan?.data.sha256);
    assert.deepEqual([shown?.adds, shown?.changes, shown?.destroys, shown?.key], [0, 1, 0, plan?.data.key]);
    const gate = prodEvents(r, 'gate.evaluated').find((e) => e.data.gate === 'approval' && e.data.decision === 'APPROVED');
    assert.equal(gate?.data.planSha256, plan?.data.sha256);
    assert.equal(gate?.data.principal, APPROVER);
  });

  it('applies exactly the approved plan: the deploy evidence carries the same sha256, checked by the apply', () => {
    const [plan] = prodEvents(r, 'plan.recorded');
    const finished = prodEvents(r, 'deploy.finished').find((e) => e.data.kind === 'deploy');
    const tf = (finished?.data.evidence as { terraform?: Record<string, unknown> } | undefined)?.terraform;
    assert.equal(tf?.savedPlanSha256, plan?.data.sha256);
    // The deploy's plan JSON is the saved plan's, as planned and approved.
    assert.equal(tf?.planSha256, sha256(stored.get(`evidence/${plan?.releaseId}/prod/plan-1/plan.json`) ?? ''));
    const started = prodEvents(r, 'deploy.started')[0];
    assert.equal(started?.data.planSha256, plan?.data.sha256);
  });

  it('shows each approval with the plan hash it approved in audit show', () => {
    const a = auditRelease(r.ledgerEvents.filter((e) => e.releaseId === r.output.releases[0]?.releaseId));
    assert.ok(a);
    const prod = a.stages.find((s) => s.name === 'prod');
    const [plan] = prodEvents(r, 'plan.recorded');
    assert.equal(prod?.plans?.length, 1);
    assert.deepEqual(
      prod?.plans?.[0]?.decisions.map((d) => [d.decision, d.planSha256]),
      [['APPROVED', plan?.data.sha256]],
    );
    assert.equal(prod?.plans?.[0]?.appliedSha256, plan?.data.sha256);
    const text = renderAudit(a, undefined);
    assert.match(text, new RegExp(`plan 1 .*sha256 ${String(plan?.data.sha256)}`));
    assert.match(text, new RegExp(`APPROVED by .*approving plan sha256 ${String(plan?.data.sha256)}`));
  });
});

describe('the state moves after the approval', () => {
  let r: SimulationResult;
  beforeAll(async () => {
    r = await run(example('terraform-plan-stale'));
  });

  it('applies nothing from the stale plan, plans again, asks again, and applies plan 2', () => {
    assert.equal(r.output.releases[0]?.status, 'SUCCEEDED');
    const plans = prodEvents(r, 'plan.recorded');
    assert.deepEqual(
      plans.map((p) => p.data.attempt),
      [1, 2],
    );
    assert.notEqual(plans[0]?.data.sha256, plans[1]?.data.sha256);
    const stale = prodEvents(r, 'plan.stale');
    assert.equal(stale.length, 1);
    assert.equal(stale[0]?.data.sha256, plans[0]?.data.sha256);
    assert.match(String(stale[0]?.data.message), /Saved plan is stale/);
    // Two approvals, each on its own plan; two Approval Requested, each with its plan.
    const approvals = prodEvents(r, 'gate.evaluated').filter((e) => e.data.gate === 'approval' && e.data.decision === 'APPROVED');
    assert.deepEqual(
      approvals.map((a) => a.data.planSha256),
      plans.map((p) => p.data.sha256),
    );
    const requested = r.output.lifecycle.filter((l) => l.detailType === 'Approval Requested').map((l) => (l.detail.plan as { sha256?: string }).sha256);
    assert.deepEqual(
      requested,
      plans.map((p) => p.data.sha256),
    );
    // One apply reached the cluster: plan 2's. The stale apply's run is not a deployment.
    assert.deepEqual(
      r.output.deployments.filter((d) => d.stage === 'prod').map((d) => `${d.kind}:${d.result}`),
      ['deploy:SUCCEEDED'],
    );
    const finished = prodEvents(r, 'deploy.finished').filter((e) => e.data.kind === 'deploy');
    assert.equal(finished.length, 1);
    assert.equal((finished[0]?.data.evidence as { terraform?: { savedPlanSha256?: string } }).terraform?.savedPlanSha256, plans[1]?.data.sha256);
  });

  it('blocks the stage after the last re-plan allowed, naming why, with nothing applied', async () => {
    const s = example('terraform-plan-stale');
    // Every apply finds its plan stale (every driver run takes a line; a plan-only run ignores it); an approval every
    // ten minutes answers each request.
    s.script = [
      ...Array.from({ length: 24 }, (_, k) => ({ when: { at: `PT${35 + k * 10}M` }, approve: { principal: APPROVER } })),
      ...Array.from({ length: 3 * MAX_TERRAFORM_PLANS }, (_, k) => ({ when: { at: `PT${30 + k}M` }, deploy: { planStale: true } })),
    ];
    const out = await run(s);
    const release = out.output.releases[0];
    assert.equal(release?.status, 'BLOCKED');
    assert.equal(prodEvents(out, 'plan.recorded').length, MAX_TERRAFORM_PLANS);
    assert.equal(prodEvents(out, 'plan.stale').length, MAX_TERRAFORM_PLANS);
    const prod = release?.stages.find((x) => x.name === 'prod');
    assert.match(String(prod?.reason), new RegExp(`terraform.plan: the approved plan went stale ${MAX_TERRAFORM_PLANS} times`));
    assert.deepEqual(
      out.output.deployments.filter((d) => d.stage === 'prod'),
      [],
    );
    assert.equal(out.output.stages['payments/prod']?.running, `sha256:${'1'.repeat(64)}`);
    assert.deepEqual(out.output.leasesHeld, []);
  });
});

describe('a plan-first stage that requires two approvals (decision 050)', () => {
  it('counts again for a new plan: both approvers approve plan 1, it goes stale, both approve plan 2', async () => {
    const s = example('terraform-plan-stale');
    s.config.services.payments.stages[2].approval.required = 2;
    const DAVE = 'arn:aws:sts::111122223333:assumed-role/ReleaseApprovers/dave';
    s.script = [
      { when: { at: 'PT35M' }, approve: { principal: APPROVER } },
      { when: { at: 'PT36M' }, approve: { principal: DAVE } },
      { when: { at: 'PT35M30S' }, deploy: { planStale: true } },
      { when: { at: 'PT50M' }, approve: { principal: DAVE } },
      { when: { at: 'PT51M' }, approve: { principal: APPROVER } },
    ];
    const r = await run(s);
    assert.equal(r.output.releases[0]?.status, 'SUCCEEDED');
    const plans = prodEvents(r, 'plan.recorded');
    assert.equal(plans.length, 2);
    // Each round: one approval.recorded (1 of 2), then the gate that completes the count, each naming that round's plan.
    const partial = prodEvents(r, 'approval.recorded');
    assert.deepEqual(
      partial.map((e) => [e.stepKey, e.data.count, e.data.principal, e.data.planSha256]),
      [
        ['stage:prod:approval:1', 1, APPROVER, plans[0]?.data.sha256],
        ['stage:prod:plan:2:approval:1', 1, DAVE, plans[1]?.data.sha256],
      ],
    );
    const gates = prodEvents(r, 'gate.evaluated').filter((e) => e.data.gate === 'approval' && e.data.decision === 'APPROVED');
    assert.deepEqual(
      gates.map((g) => [g.stepKey, g.data.principal, g.data.planSha256]),
      [
        ['stage:prod:gate:approval', DAVE, plans[0]?.data.sha256],
        ['stage:prod:plan:2:gate:approval', APPROVER, plans[1]?.data.sha256],
      ],
    );
  });
});

describe('refusals', () => {
  it('refuses a decision naming another plan hash (409, nothing recorded); the stage keeps waiting and times out', async () => {
    const s = example('terraform-plan-approved');
    s.script = [{ when: { service: 'payments', stage: 'prod', phase: 'approval', after: 'PT10M' }, approve: { principal: APPROVER, planSha256: 'f'.repeat(64) } }];
    const r = await run(s);
    assert.equal(r.output.releases[0]?.status, 'REJECTED');
    const refused = r.output.timeline.find((t) => t.event === 'Approval Refused');
    assert.match(String(refused?.reason), /HTTP 409 planSha256 f{64} is not the stage's current plan/);
    const decisions = prodEvents(r, 'gate.evaluated').filter((e) => e.data.gate === 'approval');
    assert.deepEqual(
      decisions.map((d) => d.data.decision),
      ['TIMED_OUT'],
    );
    assert.equal(prodEvents(r, 'deploy.started').length, 0);
  });

  it('refuses an approval that names no plan (409)', async () => {
    const s = example('terraform-plan-approved');
    s.script = [{ when: { service: 'payments', stage: 'prod', phase: 'approval', after: 'PT10M' }, approve: { principal: APPROVER, planSha256: null } }];
    const r = await run(s);
    const refused = r.output.timeline.find((t) => t.event === 'Approval Refused');
    assert.match(String(refused?.reason), /HTTP 409 .*must name it \(planSha256\)/);
    assert.equal(r.output.releases[0]?.status, 'REJECTED');
  });

  it('refuses a plan that destroys without allowDestroy at plan time, before anyone is asked', async () => {
    const s = example('terraform-plan-approved');
    s.script = [{ when: { service: 'payments', stage: 'prod', phase: 'deploy', after: 'PT0S' }, deploy: { planDestroys: 2 } }];
    const r = await run(s);
    assert.equal(r.output.releases[0]?.status, 'BLOCKED');
    const gate = prodEvents(r, 'gate.evaluated').find((e) => e.data.gate === 'terraform.plan');
    assert.equal(gate?.data.result, 'FAIL');
    assert.match(String(gate?.data.reason), /would destroy 2 resource\(s\) and stage prod does not allow it \(deploy.allowDestroy\): refused before anyone was asked/);
    assert.equal(r.output.lifecycle.filter((l) => l.detailType === 'Approval Requested').length, 0);
    assert.equal(prodEvents(r, 'stage.waiting').filter((e) => e.data.waitingFor === 'approval').length, 0);
    assert.deepEqual(
      r.output.deployments.filter((d) => d.stage === 'prod'),
      [],
    );
    // The refused plan is recorded as evidence of what would have changed.
    assert.equal(prodEvents(r, 'plan.recorded')[0]?.data.destroys, 2);
  });

  it('asks for the approval of a plan that destroys when the stage allows it', async () => {
    const s = example('terraform-plan-approved');
    s.config.services.payments.stages[2].deploy.allowDestroy = true;
    s.script = [
      { when: { service: 'payments', stage: 'prod', phase: 'deploy', after: 'PT0S' }, deploy: { planDestroys: 1 } },
      { when: { service: 'payments', stage: 'prod', phase: 'approval', after: 'PT5M' }, approve: { principal: APPROVER } },
    ];
    const r = await run(s);
    assert.equal(r.output.releases[0]?.status, 'SUCCEEDED');
    const requested = r.output.lifecycle.find((l) => l.detailType === 'Approval Requested');
    assert.equal((requested?.detail.plan as { destroys?: number }).destroys, 1);
  });

  it('keeps a Terraform stage without an approval on the plan-and-apply run it always had', async () => {
    const s = example('terraform-plan-approved');
    delete s.config.services.payments.stages[2].approval;
    s.script = [];
    const r = await run(s);
    assert.equal(r.output.releases[0]?.status, 'SUCCEEDED');
    assert.equal(prodEvents(r, 'plan.recorded').length, 0);
    const tf = (prodEvents(r, 'deploy.finished')[0]?.data.evidence as { terraform?: Record<string, unknown> }).terraform;
    assert.equal(tf?.savedPlanSha256, undefined);
    assert.match(String(tf?.planKey), /\/prod\/deploy\/plan\.json$/);
  });
});

/**
 * lambdas/domain/plan-approval.ts (decision 049) and its one hunk in the approval API: a decision on a stage that
 * planned first must name the stage's current plan hash; another hash (or none) is refused with 409 and nothing is
 * recorded; the accepted decision records the hash it approved.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import {
  planGateVerdict,
  applyEnvironment,
  approvalGateStep,
  approvalWaitingStep,
  checkPlanApproval,
  currentPlan,
  isStaleApply,
  MAX_TERRAFORM_PLANS,
  planEnvironment,
  readPlanRun,
  savedPlanKey,
} from '../../lambdas/domain/plan-approval';
import { decisionEvent } from '../../local/api-events';
import type { LocalDynamo } from '../../local/dynamo';
import { startMemoryDynamo } from '../../local/memory-dynamo';
import { BOB, call, forgeEvent, prodOf, RELEASE, T0, waitingRelease } from '../helpers/approval-harness';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const planned = (seq: number, sha256: string, attempt: number) => ({
  type: 'plan.recorded',
  stage: 'prod',
  seq,
  at: `2026-11-24T10:0${seq}:00.000Z`,
  data: { sha256, key: savedPlanKey('rel-1', 'prod', attempt), adds: 1, changes: 2, destroys: 0, attempt },
});
const build = (vars: Record<string, string>, extra: Record<string, unknown> = {}) => ({
  build: { Id: 'gantry-terraform:0b5f', ExportedEnvironmentVariables: Object.entries(vars).map(([Name, Value]) => ({ Name, Value })), ...extra },
});

describe('the plan of a stage', () => {
  it('is the latest plan.recorded of that stage, none for another stage', () => {
    const events = [planned(1, A, 1), planned(2, B, 2)];
    assert.equal(currentPlan(events, 'prod')?.sha256, B);
    assert.equal(currentPlan(events, 'prod')?.attempt, 2);
    assert.equal(currentPlan(events, 'staging'), undefined);
  });

  it("keys plan 1's approval as the stage always did, and plan n's apart", () => {
    assert.equal(approvalGateStep([], 'prod'), 'stage:prod:gate:approval');
    assert.equal(approvalGateStep([planned(1, A, 1)], 'prod'), 'stage:prod:gate:approval');
    assert.equal(approvalGateStep([planned(1, A, 1), planned(2, B, 2)], 'prod'), 'stage:prod:plan:2:gate:approval');
    assert.equal(approvalWaitingStep([planned(1, A, 1), planned(2, B, 2)], 'prod'), 'stage:prod:plan:2:waiting:approval');
    assert.equal(approvalWaitingStep([planned(1, A, 1)], 'prod'), 'stage:prod:waiting:approval');
  });
});

describe('checkPlanApproval', () => {
  const events = [planned(1, A, 1), planned(2, B, 2)];

  it("accepts the current plan's hash and records it", () => {
    assert.deepEqual(checkPlanApproval(events, 'prod', B), { ok: true, fields: { planSha256: B } });
  });

  it('refuses a stale plan’s hash, naming the current plan (409)', () => {
    const r = checkPlanApproval(events, 'prod', A);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.statusCode, 409);
    assert.match(
      !r.ok ? r.message : '',
      new RegExp(`planSha256 ${A} is not the stage's current plan: it is plan 2 sha256 ${B} \\(1 to add, 2 to change, 0 to destroy\\); nothing was recorded`),
    );
  });

  it('refuses an approval that names no plan, and takes a rejection without one', () => {
    const r = checkPlanApproval(events, 'prod', undefined);
    assert.match(!r.ok ? r.message : '', /must name it \(planSha256\)/);
    assert.deepEqual(checkPlanApproval(events, 'prod', undefined, 'reject'), { ok: true, fields: {} });
    assert.equal(checkPlanApproval(events, 'prod', A, 'reject').ok, false);
  });

  it('refuses a planSha256 for a stage without a plan, and needs none there', () => {
    assert.deepEqual(checkPlanApproval([], 'prod', undefined), { ok: true, fields: {} });
    const r = checkPlanApproval([], 'prod', A);
    assert.match(!r.ok ? r.message : '', /has no Terraform plan to approve/);
  });
});

describe('gate terraform.plan (planGateVerdict)', () => {
  const plan = { sha256: 'c'.repeat(64), key: 'evidence/r/prod/plan-1/tfplan', adds: 1, changes: 2, destroys: 0 };
  const ctx = { attempt: 1, stage: 'prod', allowDestroy: false };
  it('passes a saved plan that ended planned, naming its sha256 and counts', () => {
    const v = planGateVerdict({ plan, result: 'planned', problems: [] }, ctx);
    assert.equal(v.verdict, 'PASS');
    assert.match(v.reason, /plan 1 saved: sha256 c{64}, 1 to add, 2 to change, 0 to destroy/);
  });
  it('refuses a destroying plan unless the stage allows destroys, before anyone is asked', () => {
    const destroying = { plan: { ...plan, destroys: 3 }, result: 'planned' as const, problems: [] };
    const v = planGateVerdict(destroying, ctx);
    assert.equal(v.verdict, 'FAIL');
    assert.match(v.reason, /would destroy 3 resource\(s\) and stage prod does not allow it \(deploy.allowDestroy\)/);
    assert.equal(planGateVerdict(destroying, { ...ctx, allowDestroy: true }).verdict, 'PASS');
  });
  it('fails a run with no saved plan, or one that did not end planned, saying why', () => {
    const none = planGateVerdict({ problems: ['TF_SAVED_PLAN_SHA256: not 64 hex digits'] }, { ...ctx, error: { Error: 'States.TaskFailed', Cause: 'build failed' } });
    assert.equal(none.verdict, 'FAIL');
    assert.match(none.reason, /produced no plan to approve: .*\(dropped: TF_SAVED_PLAN_SHA256: not 64 hex digits\)/);
    const errored = planGateVerdict({ plan, problems: [] }, ctx);
    assert.equal(errored.verdict, 'FAIL');
    assert.match(errored.reason, /ended without a result/);
  });
});

describe('what the builds report', () => {
  const ctx = { releaseId: 'rel-1', stage: 'prod', attempt: 1 };
  it('reads a plan-only run: the saved plan of this release, stage and attempt', () => {
    const r = readPlanRun(
      build({ TF_SAVED_PLAN_SHA256: A, TF_SAVED_PLAN_KEY: savedPlanKey('rel-1', 'prod', 1), TF_PLAN_SUMMARY: '{"add":1,"change":0,"destroy":3}', TF_PLAN_RESULT: 'planned' }),
      ctx,
    );
    assert.deepEqual(r.plan, { sha256: A, key: 'evidence/rel-1/prod/plan-1/tfplan', adds: 1, changes: 0, destroys: 3 });
    assert.equal(r.result, 'planned');
    assert.equal(r.buildId, 'gantry-terraform:0b5f');
    assert.deepEqual(r.problems, []);
  });

  it("drops another plan's key, a malformed sha256 and an unknown result, naming each (never the value)", () => {
    const r = readPlanRun(
      build({
        TF_SAVED_PLAN_SHA256: 'nope',
        TF_SAVED_PLAN_KEY: savedPlanKey('rel-2', 'prod', 1),
        TF_PLAN_SUMMARY: '{"add":1,"change":0,"destroy":0}',
        TF_PLAN_RESULT: '$(reboot)',
      }),
      ctx,
    );
    assert.equal(r.plan, undefined);
    assert.equal(r.result, undefined);
    assert.deepEqual(
      r.problems.map((p) => p.split(':')[0]),
      ['TF_SAVED_PLAN_SHA256', 'TF_SAVED_PLAN_KEY', 'TF_PLAN_RESULT'],
    );
    assert.ok(!r.problems.join(' ').includes('reboot'));
  });

  it('reads a failed build from its Catch (Cause as JSON), and knows a stale apply from another failure', () => {
    const cause = (vars: Record<string, string>) => ({ Error: 'States.TaskFailed', Cause: JSON.stringify({ Build: build(vars).build }) });
    assert.equal(isStaleApply(cause({ TF_PLAN_RESULT: 'stale' })), true);
    assert.equal(isStaleApply(cause({ TF_PLAN_RESULT: 'mismatch' })), false);
    assert.equal(isStaleApply(cause({})), false);
    assert.equal(isStaleApply(undefined), false);
  });

  it("builds the runs' environments, refusing what must not reach the shell", () => {
    const typed = (Name: string, Value: string) => ({ Name, Value, Type: 'PLAINTEXT' as const });
    const base = [typed('GANTRY_STAGE', 'prod')];
    assert.deepEqual(
      planEnvironment(base, 2, typed).map((v) => `${v.Name}=${v.Value}`),
      ['GANTRY_STAGE=prod', 'GANTRY_TF_MODE=plan', 'GANTRY_TF_PLAN_ATTEMPT=2'],
    );
    assert.throws(() => planEnvironment(base, MAX_TERRAFORM_PLANS + 1, typed), RangeError);
    assert.deepEqual(
      applyEnvironment(base, { key: savedPlanKey('rel-1', 'prod', 1), sha256: A }, typed).map((v) => v.Name),
      ['GANTRY_STAGE', 'GANTRY_TF_MODE', 'GANTRY_TF_PLAN_KEY', 'GANTRY_TF_PLAN_SHA256'],
    );
    assert.throws(() => applyEnvironment(base, { key: 'k', sha256: 'A; rm -rf /' }, typed), TypeError);
  });
});

describe('the approval API on a stage that planned first', () => {
  let dynamo: LocalDynamo;
  beforeAll(async () => {
    dynamo = await startMemoryDynamo();
  });
  afterAll(async () => {
    await dynamo?.close();
  });
  const approveWith = (planSha256: unknown) =>
    decisionEvent(
      BOB,
      { releaseId: RELEASE, stage: 'prod', decision: 'approve', ...(planSha256 !== undefined ? { planSha256: planSha256 as string } : {}) },
      { at: T0, requestId: `req-${String(planSha256)}` },
    );

  async function plannedRelease() {
    const h = await waitingRelease(dynamo);
    await forgeEvent(h, {
      stepKey: 'stage:prod:plan:1',
      type: 'plan.recorded',
      at: T0.toISOString(),
      stage: 'prod',
      data: { sha256: A, key: savedPlanKey(RELEASE, 'prod', 1), adds: 0, changes: 1, destroys: 0, attempt: 1 },
    });
    return h;
  }

  it('refuses another hash with 409 and records nothing; the release keeps waiting', async () => {
    const h = await plannedRelease();
    const before = (await h.ledger.events(RELEASE)).length;
    const r = await call(h, approveWith(B));
    assert.equal(r.status, 409);
    assert.match(String(r.body.message), new RegExp(`planSha256 ${B} is not the stage's current plan: it is plan 1 sha256 ${A}`));
    assert.equal((await h.ledger.events(RELEASE)).length, before);
    assert.equal(h.tasks.sent, 0);
    assert.equal((await prodOf(h))?.approval, undefined);
  });

  it('refuses a planSha256 that is no sha256 with 400, naming the field', async () => {
    const h = await plannedRelease();
    const r = await call(h, approveWith('XYZ'));
    assert.equal(r.status, 400);
    assert.match(JSON.stringify(r.body.problems), /body\.planSha256: expected the sha256 of the saved plan/);
  });

  it('records the hash an accepted approval approved, and answers it', async () => {
    const h = await plannedRelease();
    const r = await call(h, approveWith(A));
    assert.equal(r.status, 200);
    assert.equal(r.body.planSha256, A);
    const gate = (await h.ledger.events(RELEASE)).find((e) => e.type === 'gate.evaluated' && e.data.gate === 'approval');
    assert.equal(gate?.data.planSha256, A);
    assert.equal(gate?.stepKey, 'stage:prod:gate:approval');
    assert.equal(h.tasks.sent, 1);
  });
});

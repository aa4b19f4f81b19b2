/**
 * The record step's actions of a Terraform stage that plans before its approval (decision 049), called from
 * lambdas/record-step.ts: the plan-only run's environment, the plan recorded (or refused), the apply's start, and
 * an apply that found its saved plan stale. The pure half is lambdas/domain/plan-approval.ts.
 */
import * as z from 'zod';
import { driverEnvironment, driverFailureMessage } from '../domain/release';
import type { LedgerEvent, ReleaseSummary } from '../domain/ledger';
import {
  applyEnvironment,
  currentPlan,
  DEPLOY_CHECK_ATTEMPTS_PER_PLAN,
  isStaleApply,
  MAX_TERRAFORM_PLANS,
  planEnvironment,
  planGateVerdict,
  readPlanRun,
} from '../domain/plan-approval';
import { stageStep } from '../domain/step-keys';
import { buildOf } from '../domain/driver-evidence';
import type { Deps } from '../ports';
import { logger } from './middleware';
import { announce, record, stageConfigOf } from './recorder';

const errorSchema = z.object({ Error: z.string().optional(), Cause: z.string().optional() }).passthrough();
const staged = { releaseId: z.string().min(1), stage: z.string().min(1) };
const attempt = z.number().int().min(1).max(MAX_TERRAFORM_PLANS);

/** The actions' task inputs, for record-step's discriminated union. */
export const TERRAFORM_PLAN_ACTIONS = [
  z.object({ action: z.literal('terraform-plan-prepare'), ...staged }),
  // `result`: the plan-only build's result, or its Catch's { Error, Cause }. Untrusted: read by readPlanRun.
  z.object({ action: z.literal('terraform-plan-recorded'), ...staged, attempt, result: z.unknown().optional() }),
  z.object({ action: z.literal('terraform-apply-started'), ...staged, attempt }),
  z.object({ action: z.literal('terraform-apply-failed'), ...staged, attempt, error: errorSchema.optional() }),
] as const;

type PlanStep = z.output<(typeof TERRAFORM_PLAN_ACTIONS)[number]>;
type Of<A extends PlanStep['action']> = Extract<PlanStep, { action: A }>;

export interface PlanStepContext {
  readonly deps: Deps;
  readonly events: readonly LedgerEvent[];
  readonly release: ReleaseSummary;
  readonly deployEnded: (stage: string) => Promise<void>;
}

const typed = (Name: string, Value: string) => ({ Name, Value, Type: 'PLAINTEXT' as const });

function stageEnv(c: PlanStepContext, stage: string) {
  const { st } = stageConfigOf(c.deps, c.release.service, stage);
  if (!c.release.digest) throw new Error(`release ${c.release.releaseId} has no digest to plan`);
  return driverEnvironment({
    config: c.deps.config,
    service: c.release.service,
    stage: st,
    digest: c.release.digest,
    releaseId: c.release.releaseId,
    kind: 'deploy',
    registry: c.deps.runtime.ecrRegistry,
  });
}

/** The next plan of the stage: its number and the plan-only run's environment. */
export async function terraformPlanPrepare(e: Of<'terraform-plan-prepare'>, c: PlanStepContext): Promise<Record<string, unknown>> {
  const n = (currentPlan(c.events, e.stage)?.attempt ?? 0) + 1;
  return { attempt: n, env: planEnvironment(stageEnv(c, e.stage), n, typed) };
}

const gateKey = (stage: string, n: number, what = 'gate:terraform.plan') =>
  n <= 1 && what === 'gate:terraform.plan' ? stageStep.gate(stage, 'terraform.plan') : stageStep.planRound(stage, n, what);

/**
 * Plan n's run ended: `plan.recorded` (sha256, key, counts, attempt) when it reported a saved plan, and gate
 * `terraform.plan` — PASS (the approvers are asked next), FAIL when the plan destroys without allowDestroy (refused
 * before anyone is asked) or the run reported no plan.
 */
export async function terraformPlanRecorded(e: Of<'terraform-plan-recorded'>, c: PlanStepContext): Promise<Record<string, unknown>> {
  const { deps, release } = c;
  const { st } = stageConfigOf(deps, release.service, e.stage);
  const run = readPlanRun(e.result, { releaseId: e.releaseId, stage: e.stage, attempt: e.attempt });
  for (const problem of run.problems) logger.warn('terraform plan evidence', { releaseId: e.releaseId, stage: e.stage, attempt: e.attempt, problem });
  const allowDestroy = st.deploy.driver === 'terraform' && st.deploy.allowDestroy;
  if (run.plan) {
    await record(
      deps,
      e.releaseId,
      stageStep.plan(e.stage, e.attempt),
      'plan.recorded',
      { ...run.plan, attempt: e.attempt, ...(run.buildId ? { buildId: run.buildId } : {}), digest: release.digest ?? null },
      e.stage,
    );
  }
  // A failed plan-only build reaches the workflow's Catch as { Error, Cause }.
  const error = typeof (e.result as { Error?: unknown } | undefined)?.Error === 'string' ? (e.result as { Error: string; Cause?: string }) : undefined;
  const { verdict, reason } = planGateVerdict(run, { attempt: e.attempt, stage: e.stage, allowDestroy, error });
  const r = await record(
    deps,
    e.releaseId,
    gateKey(e.stage, e.attempt),
    'gate.evaluated',
    {
      gate: 'terraform.plan',
      result: verdict,
      reason,
      evidence: { attempt: e.attempt, ...(run.plan ? { plan: run.plan } : {}), allowDestroy, ...(run.buildId ? { buildId: run.buildId } : {}) },
    },
    e.stage,
  );
  if (verdict === 'FAIL') {
    await announce(deps, r.duplicate, 'Stage Gate Failed', release, { stage: e.stage, status: 'BLOCKED', at: r.at, gate: 'terraform.plan', reason });
    return { verdict: 'BLOCK', attempt: e.attempt, reason };
  }
  const plan = run.plan as NonNullable<typeof run.plan>;
  return {
    verdict: 'PASS',
    attempt: e.attempt,
    sha256: plan.sha256,
    key: plan.key,
    adds: plan.adds,
    changes: plan.changes,
    destroys: plan.destroys,
    applyEnv: applyEnvironment(stageEnv(c, e.stage), plan, typed),
    deployCheckAttempt: e.attempt <= 1 ? 0 : e.attempt * DEPLOY_CHECK_ATTEMPTS_PER_PLAN,
  };
}

/** The apply of plan n starts (deploy.started, naming the plan it applies). */
export async function terraformApplyStarted(e: Of<'terraform-apply-started'>, c: PlanStepContext): Promise<Record<string, unknown>> {
  const plan = currentPlan(c.events, e.stage);
  const key = e.attempt <= 1 ? stageStep.deployStarted(e.stage) : stageStep.planRound(e.stage, e.attempt, 'deploy.started');
  await record(
    c.deps,
    e.releaseId,
    key,
    'deploy.started',
    { kind: 'deploy', digest: c.release.digest, driver: 'terraform', planSha256: plan?.sha256 ?? null, planAttempt: e.attempt },
    e.stage,
  );
  return {};
}

/**
 * The apply of plan n failed. Terraform refused the saved plan as stale (the state moved since the plan: nothing
 * applied): `plan.stale`, the deploy's claim on the lease ended, and REPLAN — or, after MAX_TERRAFORM_PLANS plans,
 * gate `terraform.plan` FAIL and BLOCK. Any other failure: FAILED (the workflow records the failed deploy as for
 * any driver).
 */
export async function terraformApplyFailed(e: Of<'terraform-apply-failed'>, c: PlanStepContext): Promise<Record<string, unknown>> {
  const { deps, release } = c;
  if (!isStaleApply(e.error)) return { verdict: 'FAILED' };
  const plan = currentPlan(c.events, e.stage);
  const message = driverFailureMessage(e.error);
  const build = buildOf(e.error);
  await record(
    deps,
    e.releaseId,
    stageStep.planRound(e.stage, e.attempt, 'stale'),
    'plan.stale',
    { sha256: plan?.sha256 ?? null, attempt: e.attempt, message, ...(typeof build?.Id === 'string' ? { buildId: build.Id } : {}) },
    e.stage,
  );
  await c.deployEnded(e.stage);
  if (e.attempt < MAX_TERRAFORM_PLANS) return { verdict: 'REPLAN', attempt: e.attempt };
  const reason = `the approved plan went stale ${MAX_TERRAFORM_PLANS} times (the state kept moving between plan and apply): nothing was applied; start a new release when the state is quiet`;
  const r = await record(
    deps,
    e.releaseId,
    gateKey(e.stage, e.attempt, 'gate:terraform.plan:stale'),
    'gate.evaluated',
    { gate: 'terraform.plan', result: 'FAIL', reason, evidence: { attempts: e.attempt } },
    e.stage,
  );
  await announce(deps, r.duplicate, 'Stage Gate Failed', release, { stage: e.stage, status: 'BLOCKED', at: r.at, gate: 'terraform.plan', reason });
  return { verdict: 'BLOCK', attempt: e.attempt, reason };
}

/**
 * Plan, approve, apply that plan (docs/decisions/049-terraform-plan-approval.md). A Terraform stage with an
 * `approval` plans first (a plan-only run of its CodeBuild project), records the saved plan's sha256, key and
 * counts as `plan.recorded`, asks its approvers to approve THAT hash, and applies exactly that saved plan. An
 * apply that finds the plan stale (the state moved since) applies nothing: the stage plans again and asks again,
 * at most MAX_TERRAFORM_PLANS plans in all.
 *
 * Pure: no AWS SDK, no clock. What a plan or apply build reports is untrusted text: each value is checked here
 * against its own pattern before it reaches the ledger or another build's environment.
 */
import type { StageConfig } from './config';
import { buildOf, exportedVariables } from './driver-evidence';
import { driverFailureMessage } from './release';
import type { PlanSummary } from './ledger';
import { stageStep } from './step-keys';

/** Plans of one stage in one release: the first and at most three re-plans after a stale apply. */
export const MAX_TERRAFORM_PLANS = 4;
/** deploy-check's attempt numbers for plan n > 1 start here (n × this), clear of plan 1's 0, 1, 2 … */
export const DEPLOY_CHECK_ATTEMPTS_PER_PLAN = 1000;

export const SHA256_HEX = /^[a-f0-9]{64}$/;
const COUNTS = /^\{"add":(\d{1,7}),"change":(\d{1,7}),"destroy":(\d{1,7})\}$/;

/** Whether a stage takes the plan-first path: a Terraform stage with an approval and no waves. */
export function plansBeforeApproval(st: Pick<StageConfig, 'deploy' | 'approval' | 'waves'>): boolean {
  return st.deploy.driver === 'terraform' && st.approval !== undefined && st.waves === undefined;
}

/** The artifacts-bucket key of plan n's binary saved plan. */
export function savedPlanKey(releaseId: string, stage: string, attempt: number): string {
  return `evidence/${releaseId}/${stage}/plan-${attempt}/tfplan`;
}

interface PlanEvent {
  readonly type: string;
  readonly stage?: string;
  readonly seq: number;
  readonly at: string;
  readonly data: Record<string, unknown>;
}

/** The stage's latest recorded plan, or undefined when it has none (not a plan-first stage, or not planned yet). */
export function currentPlan(events: readonly PlanEvent[], stage: string): PlanSummary | undefined {
  const e = [...events].sort((a, b) => b.seq - a.seq).find((x) => x.type === 'plan.recorded' && x.stage === stage);
  if (!e || typeof e.data.sha256 !== 'string') return undefined;
  const d = e.data;
  return {
    sha256: d.sha256 as string,
    key: String(d.key ?? ''),
    adds: Number(d.adds ?? 0),
    changes: Number(d.changes ?? 0),
    destroys: Number(d.destroys ?? 0),
    attempt: Number(d.attempt ?? 1),
    at: e.at,
  };
}

/** The step key of a step of the stage's current plan round: plan 1 (and a stage without plans) keeps the stage's own key. */
function roundStep(events: readonly PlanEvent[], stage: string, own: string, step: string): string {
  const n = currentPlan(events, stage)?.attempt ?? 1;
  return n <= 1 ? own : stageStep.planRound(stage, n, step);
}

/** The key of the stage's approval decision (gate `approval`) in its current plan round. */
export function approvalGateStep(events: readonly PlanEvent[], stage: string): string {
  return roundStep(events, stage, stageStep.gate(stage, 'approval'), 'gate:approval');
}

/** The key of the stage's approval wait (stage.waiting) in its current plan round. */
export function approvalWaitingStep(events: readonly PlanEvent[], stage: string): string {
  return roundStep(events, stage, stageStep.waiting(stage, 'approval'), 'waiting:approval');
}

/** approvalGateStep from the release's summary (its stage's latest plan), for code that holds the summary, not the events. */
export function approvalGateStepOf(release: { readonly stages: ReadonlyArray<{ readonly name: string; readonly plan?: { readonly attempt: number } }> }, stage: string): string {
  const n = release.stages.find((s) => s.name === stage)?.plan?.attempt ?? 1;
  return n <= 1 ? stageStep.gate(stage, 'approval') : stageStep.planRound(stage, n, 'gate:approval');
}

/** The key of the n-th accepted approval (decision 050) in the stage's current plan round: plan 1 keeps `approval:<n>`. */
export function approvalRecordedStep(
  release: { readonly stages: ReadonlyArray<{ readonly name: string; readonly plan?: { readonly attempt: number } }> },
  stage: string,
  count: number,
): string {
  const n = release.stages.find((s) => s.name === stage)?.plan?.attempt ?? 1;
  return n <= 1 ? stageStep.approvalRecorded(stage, count) : stageStep.planRound(stage, n, `approval:${count}`);
}

/** What an approval request carries about the plan (`Approval Requested` detail `plan`, the API's view, `gantry status`). */
export function planView(plan: PlanSummary): { sha256: string; key: string; adds: number; changes: number; destroys: number; attempt: number; at: string } {
  return { sha256: plan.sha256, key: plan.key, adds: plan.adds, changes: plan.changes, destroys: plan.destroys, attempt: plan.attempt, at: plan.at };
}

export type PlanApprovalCheck =
  | { readonly ok: true; /** Fields the recorded decision carries: the plan hash it approved. */ readonly fields: { planSha256?: string } }
  | { readonly ok: false; readonly statusCode: 409; readonly message: string };

/**
 * The approval decision against the stage's current plan: when the stage has a plan, the decision must name its
 * sha256 (`planSha256`); another hash, or none, is refused (409, nothing recorded). A stage without a plan takes
 * no `planSha256` (refused too: the caller believes it approves a plan that does not exist). A rejection may leave
 * the hash out.
 */
export function checkPlanApproval(events: readonly PlanEvent[], stage: string, planSha256: string | undefined, decision: 'approve' | 'reject' = 'approve'): PlanApprovalCheck {
  const plan = currentPlan(events, stage);
  if (!plan) {
    return planSha256 === undefined
      ? { ok: true, fields: {} }
      : { ok: false, statusCode: 409, message: `stage ${stage} has no Terraform plan to approve; send the decision without planSha256` };
  }
  const shown = `plan ${plan.attempt} sha256 ${plan.sha256} (${plan.adds} to add, ${plan.changes} to change, ${plan.destroys} to destroy)`;
  // A rejection needs no hash (whatever the plan, the answer is no); one that names a hash must name the current one.
  if (planSha256 === undefined && decision === 'reject') return { ok: true, fields: {} };
  if (planSha256 === undefined) {
    return { ok: false, statusCode: 409, message: `stage ${stage} applies a saved Terraform plan: the decision must name it (planSha256); the current one is ${shown}` };
  }
  if (planSha256 !== plan.sha256) {
    return { ok: false, statusCode: 409, message: `planSha256 ${planSha256} is not the stage's current plan: it is ${shown}; nothing was recorded` };
  }
  return { ok: true, fields: { planSha256 } };
}

// ---------------------------------------------------------------- what the builds report

/** `TF_PLAN_RESULT` of a plan-only run and of an apply run (drivers/terraform/deploy.sh). */
export const PLAN_RESULTS = ['planned', 'refused', 'applied', 'stale', 'mismatch'] as const;
export type PlanResult = (typeof PLAN_RESULTS)[number];

export interface PlanRun {
  /** The validated saved plan, when the run reported all of it. */
  readonly plan?: { sha256: string; key: string; adds: number; changes: number; destroys: number };
  readonly result?: PlanResult;
  readonly buildId?: string;
  /** Values dropped (names only) and why. */
  readonly problems: string[];
}

/**
 * Gate `terraform.plan` on a plan-only run: FAIL when it produced no saved plan, when the plan destroys and the stage
 * does not allow it (refused before anyone is asked), or when the run did not end `planned`; PASS otherwise.
 */
export function planGateVerdict(
  run: PlanRun,
  ctx: { attempt: number; stage: string; allowDestroy: boolean; error?: { Error?: string; Cause?: string } },
): { verdict: 'PASS' | 'FAIL'; reason: string } {
  const { attempt, stage, error } = ctx;
  if (!run.plan) {
    const why = error ? driverFailureMessage(error) : 'it reported no saved plan';
    return {
      verdict: 'FAIL',
      reason: `plan ${attempt}: the plan-only run produced no plan to approve: ${why}${run.problems.length ? ` (dropped: ${run.problems.join('; ')})` : ''}`,
    };
  }
  if (run.plan.destroys > 0 && !ctx.allowDestroy) {
    return {
      verdict: 'FAIL',
      reason: `plan ${attempt} (sha256 ${run.plan.sha256}) would destroy ${run.plan.destroys} resource(s) and stage ${stage} does not allow it (deploy.allowDestroy): refused before anyone was asked`,
    };
  }
  if (error || run.result !== 'planned') {
    return { verdict: 'FAIL', reason: `plan ${attempt}: the plan-only run ended ${run.result ?? 'without a result'}${error ? `: ${driverFailureMessage(error)}` : ''}` };
  }
  return { verdict: 'PASS', reason: `plan ${attempt} saved: sha256 ${run.plan.sha256}, ${run.plan.adds} to add, ${run.plan.changes} to change, ${run.plan.destroys} to destroy` };
}

/**
 * A plan-only run's report (the CodeBuild result, or a failed build's Catch `{ Error, Cause }`): the saved plan's
 * sha256 (TF_SAVED_PLAN_SHA256), its key (TF_SAVED_PLAN_KEY, which must be plan n's of this release and stage),
 * its counts (TF_PLAN_SUMMARY) and the run's TF_PLAN_RESULT.
 */
export function readPlanRun(result: unknown, ctx: { releaseId: string; stage: string; attempt: number }): PlanRun {
  const build = buildOf(result);
  const vars = exportedVariables(build);
  const get = (name: string) => {
    const v = vars.get(name);
    return v === undefined || v === '' ? undefined : v;
  };
  const problems: string[] = [];
  const sha = get('TF_SAVED_PLAN_SHA256');
  const key = get('TF_SAVED_PLAN_KEY');
  const summary = get('TF_PLAN_SUMMARY');
  const res = get('TF_PLAN_RESULT');
  const shaOk = sha !== undefined && SHA256_HEX.test(sha);
  const keyOk = key === savedPlanKey(ctx.releaseId, ctx.stage, ctx.attempt);
  const counts = summary !== undefined ? COUNTS.exec(summary) : null;
  if (sha !== undefined && !shaOk) problems.push('TF_SAVED_PLAN_SHA256: not a sha256');
  if (key !== undefined && !keyOk) problems.push(`TF_SAVED_PLAN_KEY: not plan ${ctx.attempt}'s key (${savedPlanKey(ctx.releaseId, ctx.stage, ctx.attempt)})`);
  if (summary !== undefined && !counts) problems.push('TF_PLAN_SUMMARY: not {"add":N,"change":N,"destroy":N}');
  const resultOk = res !== undefined && (PLAN_RESULTS as readonly string[]).includes(res);
  if (res !== undefined && !resultOk) problems.push(`TF_PLAN_RESULT: not one of ${PLAN_RESULTS.join(', ')}`);
  const id = build?.Id;
  return {
    ...(shaOk && keyOk && counts ? { plan: { sha256: sha as string, key: key as string, adds: Number(counts[1]), changes: Number(counts[2]), destroys: Number(counts[3]) } } : {}),
    ...(resultOk ? { result: res as PlanResult } : {}),
    ...(typeof id === 'string' && /^[A-Za-z0-9][A-Za-z0-9_-]{1,254}:[A-Za-z0-9-]{1,128}$/.test(id) ? { buildId: id } : {}),
    problems,
  };
}

/** Whether an apply run's failure is Terraform refusing a stale saved plan (TF_PLAN_RESULT=stale): nothing was applied. */
export function isStaleApply(error: unknown): boolean {
  return exportedVariables(buildOf(error)).get('TF_PLAN_RESULT') === 'stale';
}

/** The apply run's environment: the stage's deploy environment, mode apply, the approved plan's key and sha256. */
export function applyEnvironment<T extends { Name: string; Value: string }>(
  deployEnv: readonly T[],
  plan: { key: string; sha256: string },
  typed: (name: string, value: string) => T,
): T[] {
  if (!SHA256_HEX.test(plan.sha256)) throw new TypeError('refusing to pass an unvalidated plan sha256 to a driver');
  return [...deployEnv, typed('GANTRY_TF_MODE', 'apply'), typed('GANTRY_TF_PLAN_KEY', plan.key), typed('GANTRY_TF_PLAN_SHA256', plan.sha256)];
}

/** The plan-only run's environment: the stage's deploy environment, mode plan, the plan's number. */
export function planEnvironment<T extends { Name: string; Value: string }>(deployEnv: readonly T[], attempt: number, typed: (name: string, value: string) => T): T[] {
  if (!Number.isInteger(attempt) || attempt < 1 || attempt > MAX_TERRAFORM_PLANS) throw new RangeError(`plan attempt ${attempt} is not 1..${MAX_TERRAFORM_PLANS}`);
  return [...deployEnv, typed('GANTRY_TF_MODE', 'plan'), typed('GANTRY_TF_PLAN_ATTEMPT', String(attempt))];
}

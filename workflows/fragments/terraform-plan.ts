/**
 * Plan, approve, apply that plan (docs/decisions/049-terraform-plan-approval.md): the release workflow's states of a
 * Terraform stage with an `approval` (and no waves). A plan-only run of the stage's Terraform project saves the binary
 * plan and reports its sha256; the plan is recorded (destroys without allowDestroy refused here, before anyone is
 * asked); the approvers are asked with the plan; after the point-of-action check, an apply run applies exactly that
 * saved plan. An apply that finds the plan stale applies nothing and goes back to the plan, at most
 * MAX_TERRAFORM_PLANS plans (lambdas/domain/plan-approval.ts). Everything lives under `$.stage`, so the next stage
 * starts without it.
 */
import { catchAll, catchOn, lambdaTask, type Catcher, type States } from '../builder';
import { codeBuildRun } from './codebuild';
import { requestApproval } from './record';

/** The state names (the history budget and its test read them). */
export const TERRAFORM_PLAN_STATES = {
  prepare: 'PrepareTerraformPlan',
  plan: 'PlanWithTerraform',
  record: 'RecordTerraformPlan',
  verdict: 'TerraformPlanVerdict',
  approval: 'RequestPlanApproval',
  startCheck: 'StartPlanDeployCheck',
  applyStarted: 'RecordPlanApplyStarted',
  apply: 'ApplyTerraformPlan',
  applyFailed: 'CheckTerraformApply',
  applyVerdict: 'TerraformApplyVerdict',
} as const;

const N = TERRAFORM_PLAN_STATES;

/** The Choice rule that sends a plan-first stage from NeedsApproval into the plan (ahead of the plain approval). */
export const PLAN_FIRST_RULE = {
  And: [
    { Variable: '$.stage.approvalRequired', BooleanEquals: true },
    { Variable: '$.stage.driver', StringEquals: 'terraform' },
    { Not: { Variable: '$.stage.waveCount', IsPresent: true } },
  ],
  Next: N.prepare,
};

/** The DeployCheckVerdict rule that sends a plan-first stage's PASS to the apply of its saved plan. */
export const APPLY_SAVED_PLAN_RULE = {
  And: [
    { Variable: '$.deployCheck.verdict', StringEquals: 'PASS' },
    { Variable: '$.stage.tfPlan.applyEnv', IsPresent: true },
  ],
  Next: N.applyStarted,
};

export interface TerraformPlanChain {
  /** The approval's catchers (rejected, timed out, preempted, internal error), as RequestApproval's. */
  readonly approvalCatchers: Catcher[];
  /** The point-of-action check the approved plan goes to (ConfirmDeploy). */
  readonly confirmDeploy: string;
  readonly onBlocked: string;
  readonly onDeployed: string;
  /** A failed apply that is not a stale plan: the deploy failed (error at `$.deployError`). */
  readonly onFailed: string;
  readonly onInternalError: string;
}

const stageTask = (action: string, extra: Record<string, string | number> = {}) => ({
  action,
  'releaseId.$': '$.release.releaseId',
  'stage.$': '$.stage.name',
  ...extra,
});

export function terraformPlanChain(c: TerraformPlanChain): States {
  const project = '${TerraformProjectName}';
  return {
    [N.prepare]: lambdaTask('RecordStep', {
      Comment: "The stage's next plan (1, or one more after a stale apply) and the plan-only run's environment (GANTRY_TF_MODE=plan).",
      Parameters: stageTask('terraform-plan-prepare'),
      ResultPath: '$.stage.tfPlan',
      Catch: [catchAll(c.onInternalError)],
      Next: N.plan,
    }),
    [N.plan]: codeBuildRun({
      project,
      comment:
        'A plan-only run of the Terraform project: terraform plan -out with the image pinned by digest, the binary saved plan and its JSON written to the artifacts bucket, their sha256 and counts exported. Nothing is applied.',
      envPath: '$.stage.tfPlan.env',
      resultPath: '$.stage.planRun',
      onError: catchAll(N.record, '$.stage.planRun'),
      next: N.record,
    }),
    [N.record]: lambdaTask('RecordStep', {
      Comment:
        'Records plan.recorded (sha256, key, adds/changes/destroys, attempt) and gate terraform.plan: FAIL (BLOCK) when the plan destroys without allowDestroy or produced no plan, before anyone is asked; PASS carries the apply environment (GANTRY_TF_MODE=apply, the plan key and sha256).',
      Parameters: stageTask('terraform-plan-recorded', { 'attempt.$': '$.stage.tfPlan.attempt', 'result.$': '$.stage.planRun' } as Record<string, string>),
      ResultPath: '$.stage.tfPlan',
      Catch: [catchAll(c.onInternalError)],
      Next: N.verdict,
    }),
    [N.verdict]: {
      Type: 'Choice',
      Choices: [{ Variable: '$.stage.tfPlan.verdict', StringEquals: 'PASS', Next: N.approval }],
      Default: c.onBlocked,
    },
    [N.approval]: requestApproval(
      "Asks the stage's approvers to approve the saved plan (Approval Requested carries its sha256 and counts); a decision must name that sha256. Segregation of duties as for any approval; no decision within timeoutMinutes rejects.",
      c.approvalCatchers,
      N.startCheck,
    ),
    [N.startCheck]: {
      Type: 'Pass',
      Comment: "The point of action, with this plan's own attempt numbers (plan 1: 0, plan n: n × 1000), so each round's checks are recorded.",
      Parameters: { 'attempt.$': '$.stage.tfPlan.deployCheckAttempt' },
      ResultPath: '$.deployCheck',
      Next: c.confirmDeploy,
    },
    [N.applyStarted]: lambdaTask('RecordStep', {
      Comment: 'deploy.started, naming the approved plan it applies.',
      Parameters: stageTask('terraform-apply-started', { 'attempt.$': '$.stage.tfPlan.attempt' } as Record<string, string>),
      ResultPath: null,
      Catch: [catchAll(c.onInternalError)],
      Next: N.apply,
    }),
    [N.apply]: codeBuildRun({
      project,
      comment:
        'The apply run: downloads the saved plan by its key, refuses it unless its sha256 is the approved one, and runs terraform apply of exactly that plan. A stale plan (the state moved) applies nothing and is reported as such (TF_PLAN_RESULT=stale).',
      envPath: '$.stage.tfPlan.applyEnv',
      resultPath: '$.deploy',
      onError: catchAll(N.applyFailed, '$.deployError'),
      next: c.onDeployed,
    }),
    [N.applyFailed]: lambdaTask('RecordStep', {
      Comment: 'A stale saved plan: plan.stale, nothing applied, REPLAN (or BLOCK after the last plan allowed). Any other failure: FAILED, recorded as a failed deploy.',
      Parameters: stageTask('terraform-apply-failed', { 'attempt.$': '$.stage.tfPlan.attempt', 'error.$': '$.deployError' } as Record<string, string>),
      ResultPath: '$.stage.applyCheck',
      Catch: [catchOn(['States.ALL'], c.onInternalError)],
      Next: N.applyVerdict,
    }),
    [N.applyVerdict]: {
      Type: 'Choice',
      Choices: [
        { Variable: '$.stage.applyCheck.verdict', StringEquals: 'REPLAN', Next: N.prepare },
        { Variable: '$.stage.applyCheck.verdict', StringEquals: 'BLOCK', Next: c.onBlocked },
      ],
      Default: c.onFailed,
    },
  };
}

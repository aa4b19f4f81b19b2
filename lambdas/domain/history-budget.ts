/**
 * The history budget: the worst-case number of Step Functions history events one release execution of a
 * service can write, computed from the config (all stages). Step Functions fails an execution at 25,000
 * events, and no Catch can handle that; a config whose worst case can pass HISTORY_BUDGET (20,000) is
 * refused, naming the service, the stage and the setting to change. Pure: no I/O, no clock.
 *
 * The formula (docs/decisions/017-history-budget.md):
 *
 *   worst case = EXECUTION_FIXED_EVENTS
 *              + Σ over stages ( STAGE_FIXED_EVENTS + Σ over the stage's loops ( extra iterations × LOOP_EVENTS[loop] ) )
 *
 * The fixed parts are the longest path through the workflow (every state once, every Retry of those
 * states used up); test/unit/history-budget.test.ts derives them, and each loop's events per iteration,
 * from statemachines/release.asl.json, so the numbers here cannot drift from the workflow.
 */
import type { ServiceConfig, StageConfig } from './config';

/** Step Functions' hard quota of events in one execution's history. */
export const HISTORY_HARD_LIMIT = 25_000;
/** What a config's worst case may reach: the rest of the quota is headroom for retries inside loops. */
export const HISTORY_BUDGET = 20_000;

/**
 * Events one run of a state adds to the history (HistoryEventType in the Step Functions API reference):
 * a Task: TaskStateEntered, Scheduled, Started, Succeeded|Failed|TimedOut, TaskStateExited (a Lambda
 * given by ARN writes LambdaFunction* events instead: the same count); a `.waitForTaskToken` or `.sync`
 * Task also writes TaskSubmitted; Wait, Choice and Pass: Entered and Exited; Succeed: Entered and
 * Exited; Fail: FailStateEntered. The execution itself writes ExecutionStarted and one closing event.
 */
export const EVENTS_PER_STATE = { Task: 5, CallbackTask: 6, Wait: 2, Choice: 2, Pass: 2, Succeed: 2, Fail: 1, Map: 4 } as const;
/**
 * A Map state (waves of clusters, decision 044): MapStateEntered, MapStateStarted, MapStateSucceeded, MapStateExited
 * (EVENTS_PER_STATE.Map); each iteration adds MapIterationStarted and MapIterationSucceeded|Failed, plus its own states.
 */
export const MAP_ITERATION_EVENTS = 2;
export const EXECUTION_EVENTS = 2;
/** A failed attempt that a Retry repeats: Scheduled, Started, Submitted (callback and .sync), Failed|TimedOut. */
export const RETRY_ATTEMPT_EVENTS = 4;

/** The shape of an ASL state this module reads. */
export interface AslState {
  readonly Type: string;
  readonly Resource?: string;
  readonly Retry?: ReadonlyArray<{ readonly MaxAttempts?: number }>;
}

/** Events one run of `state` writes, without retries. */
export function eventsOfState(state: AslState): number {
  if (state.Type === 'Task') return /\.(waitForTaskToken|sync)(:\d+)?$/.test(state.Resource ?? '') ? EVENTS_PER_STATE.CallbackTask : EVENTS_PER_STATE.Task;
  const n = (EVENTS_PER_STATE as Record<string, number>)[state.Type];
  if (n === undefined) throw new HistoryBudgetError(`no event count for state type ${state.Type}`);
  return n;
}

/** Events one run of `state` writes when every Retry attempt is used up (Retry's MaxAttempts defaults to 3). */
export function worstEventsOfState(state: AslState): number {
  const retries = (state.Retry ?? []).reduce((n, r) => n + (r.MaxAttempts ?? 3), 0);
  return eventsOfState(state) + retries * RETRY_ATTEMPT_EVENTS;
}

export class HistoryBudgetError extends Error {
  override readonly name = 'HistoryBudgetError';
}

/**
 * Events of one extra iteration of each loop of the release workflow, keyed by the loop's Wait state (the
 * state that closes the cycle). Each cycle, from the Wait state back to it: the Wait, then the states it
 * leads to until the Choice that sends it back.
 */
export const LOOP_EVENTS = {
  /** WaitForStageLease (callback Task: parked until the holder frees the lease) → AcquireStageLease (Task) → IsStageLeaseHeld (Choice). */
  WaitForStageLease: 13,
  /** WaitForReleaseWindow → CheckReleaseWindow (Task) → ReleaseWindowVerdict (Choice). */
  WaitForReleaseWindow: 9,
  /** WaitForDeployWindow → ConfirmDeploy (Task) → DeployCheckVerdict (Choice): the window closed while the release waited. */
  WaitForDeployWindow: 9,
  /** WaitForImageScanEvent (callback Task: woken by the scan's event, or its deadline) → RunImageGates (Task) → ImageGatesVerdict (Choice). */
  WaitForImageScanEvent: 13,
  /** WaitForImageScan → RunImageGates (Task) → ImageGatesVerdict (Choice): polling after a wake-up that found the scan unfinished. */
  WaitForImageScan: 9,
  /** WaitBakePollInterval → PollBakeAlarms (Task) → PollBakeVerdict (Choice). */
  WaitBakePollInterval: 9,
  /** WaitForRollout → ReadRollout (eks:call) → CheckRollout (Task) → RolloutVerdict (Choice). */
  WaitForRollout: 14,
  /** WaitForRollbackRollout → ReadRollbackRollout → CheckRollbackRollout → RollbackRolloutVerdict. */
  WaitForRollbackRollout: 14,
  /** A canary step's rollout watch: WaitForCanaryRollout → ReadCanaryRollout → CheckCanaryRollout → CanaryRolloutVerdict. */
  WaitForCanaryRollout: 14,
  /** A canary's promotion: WaitForPromotionRollout → ReadPromotionRollout → CheckPromotionRollout → PromotionRolloutVerdict. */
  WaitForPromotionRollout: 14,
} as const;
export type LoopName = keyof typeof LOOP_EVENTS;

/**
 * The longest path from the start to the first BeginStage (25), plus the longest from FinishRelease to the
 * end (43, through HandleInternalError), plus the execution's own two events, every Retry used up
 * (derived from the ASL in the test).
 */
export const EXECUTION_FIXED_EVENTS = 70;
/**
 * The Kubernetes driver's update loop, which has no Wait (a 409 Conflict on the PUT goes straight back to the
 * GET) and is bounded by a constant: ReadDeployment → PrepareDeploymentUpdate → IsDeploymentUpdateReady →
 * ReplaceDeployment (409, caught) → CountDeploymentConflict → IsDeploymentConflictRetryable, every Retry used up
 * (derived from the ASL in the test). The rollback's loop (ReadRollbackDeployment …) is the same fragment.
 */
export const KUBERNETES_CONFLICT_LOOP_EVENTS = 69;
/**
 * Conflicts a write may meet before its last PUT: MAX_UPDATE_ATTEMPTS − 1 (lambdas/domain/rollout.ts; a test keeps
 * them equal). The longest path already holds one pass through the loop; these are the extra ones.
 */
export const KUBERNETES_CONFLICT_RETRIES = 2;
/** Writes on one stage's longest path: the deploy and the rollback. */
export const KUBERNETES_WRITES_PER_STAGE = 2;
/**
 * The longest path through one stage, from BeginStage to the next stage, to FinishRelease, or to the end
 * (through the Kubernetes driver, a polling bake and a Kubernetes rollback; each loop's body once), every
 * Retry used up (derived from the ASL in the test), plus the update loop's extra passes of the deploy and of
 * the rollback (KUBERNETES_WRITES_PER_STAGE × KUBERNETES_CONFLICT_RETRIES × KUBERNETES_CONFLICT_LOOP_EVENTS = 276).
 */
export const STAGE_FIXED_EVENTS = 885; // issue 18 (decision 045): the DescribeCluster and DescribeRollbackCluster states left the chain (the plan describes the cluster), −42

/**
 * Canary stages (`deploy.rollout`, docs/decisions/043-canary-steps.md): STAGE_FIXED_EVENTS is the longest path of a
 * stage WITHOUT the canary chain; a canary stage adds these (each derived from the ASL in the test):
 * - CANARY_FIXED_EXTRA_EVENTS: the longest path through the canary chain (one step, promotion, clean-up) minus the
 *   longest path it replaces, every Retry used up;
 * - CANARY_STEP_EVENTS: one more step (BeginCanaryStep … IsLastCanaryStep, routed, baked and analysed), every Retry used up;
 * - CANARY_CONFLICT_LOOP_EVENTS: one 409 loop of a canary write (ReadCanaryDeployment … IsCanaryConflictRetryable).
 */
export const CANARY_FIXED_EXTRA_EVENTS = 434;
export const CANARY_STEP_EVENTS = 267;
export const CANARY_CONFLICT_LOOP_EVENTS = 67;

/** A canary stage's share beyond STAGE_FIXED_EVENTS: its extra steps, the rollout watches of each step and of the promotion, the 409 loops. */
export function canaryTerms(st: StageConfig, i: number): BudgetTerm[] {
  if (st.deploy.driver !== 'kubernetes' || !st.deploy.rollout) return [];
  const d = st.deploy;
  const steps = d.rollout?.steps.length ?? 0;
  const reads = Math.ceil((d.timeoutMinutes * 60) / d.pollSeconds) + 1;
  // Each step's canary rollout and the promotion's stable rollout, watched up to deploy.timeoutMinutes.
  const watches = (steps + 1) * reads * LOOP_EVENTS.WaitForCanaryRollout;
  // Every write group (each step, the promotion, the clean-up) may meet MAX_UPDATE_ATTEMPTS − 1 conflicts.
  const conflicts = (steps + 2) * KUBERNETES_CONFLICT_RETRIES * CANARY_CONFLICT_LOOP_EVENTS;
  const events = CANARY_FIXED_EXTRA_EVENTS + (steps - 1) * CANARY_STEP_EVENTS + watches + conflicts;
  return [
    {
      stage: st.name,
      stageIndex: i,
      loop: 'WaitForCanaryRollout',
      iterations: (steps + 1) * reads,
      events,
      setting: ['stages', i, 'deploy', 'rollout', 'steps'],
      what: `a canary of ${steps} step(s) in stage ${st.name}, each rollout watched up to ${d.timeoutMinutes} minutes every ${d.pollSeconds} s`,
      fix: () => 'use fewer canary steps, poll less often (deploy.pollSeconds) or shorten deploy.timeoutMinutes',
    },
  ];
}

/**
 * Plan, approve, apply that plan (decision 049): a Terraform stage with an approval (and no waves) plans first, and an
 * apply that finds its saved plan stale goes back to the plan, at most TERRAFORM_PLANS_PER_STAGE plans in all
 * (lambdas/domain/plan-approval.ts MAX_TERRAFORM_PLANS; a test keeps them equal). STAGE_FIXED_EVENTS is the longest
 * path of a stage WITHOUT the plan states; such a stage adds (each derived from the ASL in the test):
 * - TERRAFORM_PLAN_FIXED_EXTRA_EVENTS: the longest path through the plan states (plan, record, approval, apply, the
 *   stale check) minus the longest path without them, every Retry used up;
 * - TERRAFORM_PLAN_ROUND_EVENTS: one more round after a stale apply (PrepareTerraformPlan … TerraformApplyVerdict,
 *   through ConfirmDeploy), every Retry used up.
 */
export const TERRAFORM_PLANS_PER_STAGE = 4;
export const TERRAFORM_PLAN_FIXED_EXTRA_EVENTS = 62;
export const TERRAFORM_PLAN_ROUND_EVENTS = 171;

/** Whether a stage plans before its approval (lambdas/domain/plan-approval.ts plansBeforeApproval, kept equal by a test). */
const plansFirst = (st: StageConfig): boolean => st.deploy.driver === 'terraform' && st.approval !== undefined && st.waves === undefined;

/** A plan-first Terraform stage's share beyond STAGE_FIXED_EVENTS: its plan states, and a new round for each re-plan. */
export function terraformPlanTerms(st: StageConfig, i: number): BudgetTerm[] {
  if (!plansFirst(st)) return [];
  const rounds = TERRAFORM_PLANS_PER_STAGE - 1;
  return [
    {
      stage: st.name,
      stageIndex: i,
      loop: 'terraform-plans',
      iterations: TERRAFORM_PLANS_PER_STAGE,
      events: TERRAFORM_PLAN_FIXED_EXTRA_EVENTS + rounds * TERRAFORM_PLAN_ROUND_EVENTS,
      setting: ['stages', i, 'approval'],
      what: `stage ${st.name}'s Terraform plans (a plan before its approval, and up to ${rounds} new plan(s) and approval(s) after a stale apply)`,
      fix: () => 'move the stage to another service, or split its stages (the re-plan limit is fixed)',
    },
  ];
}

/** The time a plan-first stage can hold its lease beyond a plain stage's: every further plan, approval and apply. */
function terraformPlanHold(st: StageConfig): Array<{ setting: ReadonlyArray<string | number>; minutes: number }> {
  if (!plansFirst(st) || !st.approval) return [];
  const build = st.deploy.timeoutMinutes + DEPLOY_STARTUP_MINUTES;
  const rounds = TERRAFORM_PLANS_PER_STAGE - 1;
  return [{ setting: ['approval', 'timeoutMinutes'], minutes: TERRAFORM_PLANS_PER_STAGE * build + rounds * (st.approval.timeoutMinutes + build) }];
}

/** image-gates polls a running scan this often (lambdas/image-gates.ts SCAN_POLL_SECONDS; a test keeps them equal). */
export const SCAN_POLL_SECONDS = 30;
/** The event-driven bake's safety timeout past bakeMinutes (release.ts bakeTimeoutSeconds; a test keeps them equal). */
export const BAKE_SAFETY_MINUTES = 15;
/**
 * What a deploy may hold the stage past deploy.timeoutMinutes, as the lease-wait term counts it. An allowance: the
 * deploy task's own timeout (release.ts deployTimeoutSeconds: queue + the build budget, Helm's --atomic rollback
 * included) can be longer by under two hours, i.e. under 26 events of hourly lease re-checks (a test bounds it).
 */
export const DEPLOY_STARTUP_MINUTES = 10;
/** nextOpening looks this far ahead (lambdas/domain/windows.ts LOOKAHEAD_DAYS; a test keeps them equal). */
export const WINDOW_LOOKAHEAD_MINUTES = 60 * 24 * 60;

/**
 * How a release waits for a stage lease another release holds: the one place to change when the lease
 * wait changes. `WaitForStageLease` is a task-token hand-off: the waiter is woken when the holder frees the
 * lease, and looks again by itself every LEASE_WAIT_RECHECK_SECONDS should a wake-up be lost. A lease has
 * no TTL, so a wait lasts as long as another release can hold the stage (stageHoldMinutes).
 */
export interface LeaseWaitModel {
  readonly loop: LoopName;
  readonly recheckSeconds: number;
  /** No wait outlasts this (a lease TTL), or null: as long as another release can hold the stage. */
  readonly capMinutes: number | null;
}
/** WaitForStageLease's TimeoutSeconds in the workflow (a test keeps them equal). */
export const LEASE_WAIT_RECHECK_SECONDS = 3600;
export const LEASE_WAIT: LeaseWaitModel = { loop: 'WaitForStageLease', recheckSeconds: LEASE_WAIT_RECHECK_SECONDS, capMinutes: null };

/**
 * Release-window checkpoints per stage: the `window` gate when the stage starts (WaitForReleaseWindow) and
 * again right before the deploy (ConfirmDeploy, WaitForDeployWindow); both loops cost the same per iteration.
 */
export const WINDOW_CHECKPOINTS_PER_STAGE = 2;

/** One loop's (or the lease wait's) share of a stage's worst case, and the setting that drives it. */
export interface BudgetTerm {
  readonly stage: string;
  readonly stageIndex: number;
  /** The loop, or `waves`: a wave stage's waves and clusters (waveTerms, decision 044); `terraform-plans` (decision 049). */
  readonly loop: LoopName | 'waves' | 'terraform-plans';
  readonly iterations: number;
  readonly events: number;
  /** JSON path below the service, e.g. ['stages', 2, 'bake', 'intervalSeconds']. */
  readonly setting: ReadonlyArray<string | number>;
  /** What the loop is, for a message: "a polling bake of 1440 minutes every 30 s". */
  readonly what: string;
  /** What to change, given how many events the term may take at most. */
  readonly fix: (maxEvents: number) => string;
}

export interface HistoryWorstCase {
  readonly total: number;
  readonly fixed: number;
  readonly terms: readonly BudgetTerm[];
}

const fmt = (n: number) => n.toLocaleString('en-US');
/** "about 26,000": to two significant figures at most, never rounded down to zero. */
export function about(n: number): string {
  if (n < 100) return fmt(n);
  const step = 10 ** Math.max(2, Math.floor(Math.log10(n)) - 1);
  return fmt(Math.round(n / step) * step);
}

/** How long another release can hold this stage's lease, in minutes, and what makes it that long (largest first). */
export function stageHoldMinutes(st: StageConfig, scanWaitMinutes: number): { minutes: number; parts: Array<{ setting: ReadonlyArray<string | number>; minutes: number }> } {
  const parts: Array<{ setting: ReadonlyArray<string | number>; minutes: number }> = [];
  const w = st.windows;
  if (w && w.outside === 'wait') {
    const blackoutMinutes = w.blackouts.reduce((n, b) => n + Math.max(0, (Date.parse(`${b.to}Z`) - Date.parse(`${b.from}Z`)) / 60_000), 0);
    // The longest wait for an opening: a week between weekly windows, plus every blackout, at most the lookahead.
    const gap = Math.min(WINDOW_LOOKAHEAD_MINUTES, (w.allow.length > 0 ? 7 * 24 * 60 : 0) + blackoutMinutes);
    if (gap > 0) parts.push({ setting: ['windows'], minutes: gap * WINDOW_CHECKPOINTS_PER_STAGE });
  }
  parts.push({ setting: ['imagePolicy', 'scanWaitMinutes'], minutes: scanWaitMinutes });
  if (st.approval) parts.push({ setting: ['approval', 'timeoutMinutes'], minutes: st.approval.timeoutMinutes });
  // The deploy, and the rollback deploy after a failed bake, each up to the driver's timeout plus start-up.
  parts.push({ setting: ['deploy', 'timeoutMinutes'], minutes: 2 * (st.deploy.timeoutMinutes + DEPLOY_STARTUP_MINUTES) });
  parts.push({ setting: ['bakeMinutes'], minutes: st.bake.mode === 'poll' ? st.bakeMinutes : st.bakeMinutes + BAKE_SAFETY_MINUTES });
  parts.push({ setting: ['recoveryMinutes'], minutes: st.recoveryMinutes });
  parts.push(...terraformPlanHold(st));
  return { minutes: parts.reduce((n, p) => n + p.minutes, 0), parts: parts.sort((a, b) => b.minutes - a.minutes) };
}

function stageTerms(st: StageConfig, i: number, scanWaitMinutes: number, lease: LeaseWaitModel): BudgetTerm[] {
  const terms: BudgetTerm[] = [];
  const base = { stage: st.name, stageIndex: i };

  // Another release's hold of the stage, re-checked every recheckSeconds (capped by a TTL, where there is one).
  const hold = stageHoldMinutes(st, scanWaitMinutes);
  const waitMinutes = lease.capMinutes === null ? hold.minutes : Math.min(hold.minutes, lease.capMinutes);
  const leaseIterations = Math.ceil((waitMinutes * 60) / lease.recheckSeconds);
  const top = hold.parts[0];
  terms.push({
    ...base,
    loop: lease.loop,
    iterations: leaseIterations,
    events: leaseIterations * LOOP_EVENTS[lease.loop],
    setting: ['stages', i, ...(top?.setting ?? [])],
    what: `waiting for stage ${st.name}'s lease (another release can hold it for ${fmt(waitMinutes)} minutes${lease.capMinutes !== null && hold.minutes >= lease.capMinutes ? ', the lease TTL' : ''}; re-checked every ${lease.recheckSeconds} s)`,
    fix: (maxEvents) => {
      const minutes = Math.floor((Math.floor(maxEvents / LOOP_EVENTS[lease.loop]) * lease.recheckSeconds) / 60);
      const parts = hold.parts.map((p) => `${p.setting.join('.')} ${fmt(p.minutes)}`).join(', ');
      return `hold the stage for less (minutes by setting: ${parts}; ${fmt(hold.minutes)} in all; keep it to at most ${fmt(minutes)})`;
    },
  });

  // The window gate: a wait until the next opening; a re-check can miss a short opening or meet a blackout edge.
  if (st.windows && st.windows.outside === 'wait') {
    const n = WINDOW_CHECKPOINTS_PER_STAGE * (1 + st.windows.allow.length + st.windows.blackouts.length);
    terms.push({
      ...base,
      loop: 'WaitForReleaseWindow',
      iterations: n,
      events: n * LOOP_EVENTS.WaitForReleaseWindow,
      setting: ['stages', i, 'windows'],
      what: `the window waits of stage ${st.name} (${n} at most)`,
      fix: () => 'use fewer allow windows and blackouts',
    });
  }

  // A polling bake: one poll every intervalSeconds (the last wait cut to what is left) until bakeMinutes.
  if (st.bake.mode === 'poll') {
    const n = Math.ceil((st.bakeMinutes * 60) / st.bake.intervalSeconds);
    terms.push({
      ...base,
      loop: 'WaitBakePollInterval',
      iterations: n,
      events: n * LOOP_EVENTS.WaitBakePollInterval,
      setting: ['stages', i, 'bake', 'intervalSeconds'],
      what: `a polling bake of ${st.bakeMinutes} minutes every ${st.bake.intervalSeconds} s in stage ${st.name}`,
      fix: (maxEvents) => {
        const polls = Math.floor(maxEvents / LOOP_EVENTS.WaitBakePollInterval);
        const least = polls > 0 ? Math.ceil((st.bakeMinutes * 60) / polls) : Number.POSITIVE_INFINITY;
        return least <= 3600 ? `poll less often (at least ${least} s) or use the event-driven bake` : 'use the event-driven bake (bake.mode "event")';
      },
    });
  }

  // The Kubernetes driver watches the rollout every pollSeconds until timeoutMinutes: for the deploy, and again
  // for a rollback after a failed deploy or bake (WaitForRollbackRollout, the same settings).
  if (st.deploy.driver === 'kubernetes') {
    const d = st.deploy;
    const n = Math.ceil((d.timeoutMinutes * 60) / d.pollSeconds) + 1;
    const perRead = LOOP_EVENTS.WaitForRollout + LOOP_EVENTS.WaitForRollbackRollout;
    terms.push({
      ...base,
      loop: 'WaitForRollout',
      iterations: 2 * n,
      events: n * perRead,
      setting: ['stages', i, 'deploy', 'pollSeconds'],
      what: `a rollout watch of up to ${d.timeoutMinutes} minutes every ${d.pollSeconds} s in stage ${st.name} (for the deploy, and again for a rollback)`,
      fix: (maxEvents) => {
        const reads = Math.floor(maxEvents / perRead) - 1;
        const least = reads > 0 ? Math.ceil((d.timeoutMinutes * 60) / reads) : Number.POSITIVE_INFINITY;
        return least <= 300 ? `poll less often (at least ${least} s) or shorten deploy.timeoutMinutes` : 'shorten deploy.timeoutMinutes';
      },
    });
  }
  return terms;
}

// ---------------------------------------------------------------- waves of clusters (decision 044)

/**
 * One wave of the wave loop, every Retry used up: BeginWave (Task) → DeployWave (Map, its own events) → FinishWave
 * (Task) → WaveVerdict (Choice) → BakeWave (callback Task) → AdvanceWave (Pass) (derived from the ASL in the test).
 */
export const WAVE_LOOP_EVENTS = 72;
/**
 * The wave path's states outside the loop, every Retry used up: RecordWavesDeployStarted, InitialiseWaveCursor,
 * RecordWavesDeployed, CarryWaveFailure, and the rollback's RollbackClusters (Map), RecordClusterRollbacks,
 * DidEveryClusterRollBack, CarryClusterRollbackFailure (derived from the ASL in the test).
 */
export const WAVE_FIXED_EVENTS = 75;
/** The longest path through one cluster's deploy iteration (DeployWave's processor), every Retry used up, each loop's body once (derived). */
export const CLUSTER_DEPLOY_EVENTS = 180;
/** The longest path through one cluster's rollback iteration (RollbackClusters' processor), every Retry used up, each loop's body once (derived). */
export const CLUSTER_ROLLBACK_EVENTS = 159;

/**
 * A wave stage's share beyond STAGE_FIXED_EVENTS (which counts the single-cluster path a wave stage never takes, so
 * this over-counts a little, on the safe side): every wave once through the wave loop, the path's fixed states, and
 * per cluster one deploy iteration and one rollback iteration (a rollback rolls back at most every cluster); for the
 * Kubernetes driver, each cluster's rollout watches and update-conflict passes as the single-cluster terms count them.
 */
export function waveTerms(st: StageConfig, i: number): BudgetTerm[] {
  if (st.waves === undefined) return [];
  const waves = st.waves.length;
  const clusters = st.waves.reduce((n, w) => n + w.length, 0);
  let events = WAVE_FIXED_EVENTS + waves * WAVE_LOOP_EVENTS + clusters * (CLUSTER_DEPLOY_EVENTS + CLUSTER_ROLLBACK_EVENTS + 2 * MAP_ITERATION_EVENTS);
  if (st.deploy.driver === 'kubernetes') {
    const d = st.deploy;
    const reads = Math.ceil((d.timeoutMinutes * 60) / d.pollSeconds) + 1;
    const perCluster =
      reads * (LOOP_EVENTS.WaitForRollout + LOOP_EVENTS.WaitForRollbackRollout) + KUBERNETES_WRITES_PER_STAGE * KUBERNETES_CONFLICT_RETRIES * KUBERNETES_CONFLICT_LOOP_EVENTS;
    events += clusters * perCluster;
  }
  return [
    {
      stage: st.name,
      stageIndex: i,
      loop: 'waves',
      iterations: waves,
      events,
      setting: ['stages', i, 'waves'],
      what: `${waves} wave(s) of ${clusters} cluster(s) in stage ${st.name} (each cluster's deploy and rollback runs in the release's history)`,
      fix: () => 'deploy to fewer clusters in this stage (split the clusters over more stages)',
    },
  ];
}

/**
 * The scan wait, at every stage (a scan that an earlier stage saw complete is not assumed to stay complete): one
 * event-driven wait (WaitForImageScanEvent, decision 040), then, should the scan's event wake it while the scan is
 * still unfinished, a poll every SCAN_POLL_SECONDS until scanWaitMinutes after the stage's first wait. The worst
 * case counts the whole wait as polled, plus the one event-driven iteration.
 */
function scanTerm(service: ServiceConfig): BudgetTerm {
  const minutes = service.imagePolicy.scanWaitMinutes;
  const perStage = Math.ceil((minutes * 60) / SCAN_POLL_SECONDS) + 1;
  const stages = service.stages.length;
  return {
    stage: service.stages.map((st) => st.name).join(', '),
    stageIndex: -1,
    loop: 'WaitForImageScan',
    iterations: (perStage + 1) * stages,
    events: stages * (LOOP_EVENTS.WaitForImageScanEvent + perStage * LOOP_EVENTS.WaitForImageScan),
    setting: ['imagePolicy', 'scanWaitMinutes'],
    what: `a scan wait of up to ${minutes} minutes (woken by the scan's event, polled every ${SCAN_POLL_SECONDS} s should the event come early), at each of ${stages} stage(s),`,
    fix: (maxEvents) =>
      `wait for scans less (at most ${Math.max(0, Math.floor(((Math.floor((maxEvents / stages - LOOP_EVENTS.WaitForImageScanEvent) / LOOP_EVENTS.WaitForImageScan) - 1) * SCAN_POLL_SECONDS) / 60))} minutes)`,
  };
}

/** The worst-case history of one release execution of `service`: the fixed parts and every loop's share. */
export function worstCaseHistory(service: ServiceConfig, lease: LeaseWaitModel = LEASE_WAIT): HistoryWorstCase {
  const scanWait = service.imagePolicy.scanWaitMinutes;
  const terms = [
    ...service.stages.flatMap((st, i) => [...stageTerms(st, i, scanWait, lease), ...canaryTerms(st, i), ...waveTerms(st, i), ...terraformPlanTerms(st, i)]),
    scanTerm(service),
  ];
  const fixed = EXECUTION_FIXED_EVENTS + service.stages.length * STAGE_FIXED_EVENTS;
  return { total: fixed + terms.reduce((n, t) => n + t.events, 0), fixed, terms };
}

/** One refusal: where (below `services.<name>`), and the message. */
export interface BudgetProblem {
  readonly path: ReadonlyArray<string | number>;
  readonly message: string;
}

/**
 * The problems of a service whose worst case passes `budget`: the largest loops, biggest first, until
 * shrinking them could bring the total under the budget; each says what to change and by how much (its
 * share of the excess, in proportion to its size). Empty when the service fits.
 */
export function historyBudgetProblems(service: ServiceConfig, lease: LeaseWaitModel = LEASE_WAIT, budget = HISTORY_BUDGET): BudgetProblem[] {
  const wc = worstCaseHistory(service, lease);
  if (wc.total <= budget) return [];
  const excess = wc.total - budget;
  const blamed: BudgetTerm[] = [];
  let covered = 0;
  // Largest first; between equals, a loop's own setting before a lease wait (which other stages' settings drive).
  const leaseLast = (t: BudgetTerm) => (t.loop === lease.loop ? 1 : 0);
  for (const t of [...wc.terms].sort((a, b) => b.events - a.events || leaseLast(a) - leaseLast(b))) {
    if (covered >= excess || t.events === 0) break;
    blamed.push(t);
    covered += t.events;
  }
  return blamed
    .sort((a, b) => a.stageIndex - b.stageIndex)
    .map((t) => {
      const maxEvents = Math.max(0, Math.floor(t.events - (excess * t.events) / covered));
      return {
        path: t.setting,
        message: `${t.what} can take about ${about(t.events)} history events (the release's worst case is about ${about(wc.total)}, limit ${fmt(budget)}); ${t.fix(maxEvents)}`,
      };
    });
}

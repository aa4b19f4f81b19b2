/**
 * The release workflow's bookkeeping steps: each writes its decision to the ledger (idempotent by
 * step key), moves the stage pointer where it must, and announces lifecycle events.
 */
import * as z from 'zod';
import { type DriverEvidence, extractDriverEvidence, isBuildId } from './domain/driver-evidence';
import {
  driverEnvironment,
  bakeTimeoutSeconds,
  clusterRunsOutcome,
  deployTimeoutSeconds,
  driverFailureMessage,
  outcomeLine,
  phaseBakeTimeoutSeconds,
  releaseOutcome,
  rollbackFrom,
  rollbackReason,
  waveOf,
  waveTargets,
} from './domain/release';
import { hasWaves, stageClusters, stageWaves } from './domain/config';
import { parseWith } from './domain/validation';
import type { Deps } from './ports';
import { closeTimedOutBake } from './shared/bake';
import { closeStagesLeftOpen } from './shared/close-stages';
import { emitReleaseMetrics } from './shared/metrics-emit';
import { lambdaHandler, logger } from './shared/middleware';
import { type LedgerEvent, projectRelease } from './domain/ledger';
import { windowAtAction } from './domain/point-of-action';
import { checkLease, freeLease, heldFence, recordPreempted, wakeLeaseWaiters } from './shared/lease';
import { ReleaseNotFoundError, announce, record, stageConfigOf } from './shared/recorder';
import { RELEASE_STEP, stageStep } from './domain/step-keys';
import { abortWords, canaryReplicas, replicasShare } from './domain/canary';
import { approvalGateStep } from './domain/plan-approval';
import { TERRAFORM_PLAN_ACTIONS, terraformApplyFailed, terraformApplyStarted, terraformPlanPrepare, terraformPlanRecorded } from './shared/terraform-plan-steps';

/**
 * A canary step would raise the traffic, or the canary would be promoted, while the release window is closed, a
 * blackout runs or the freeze is on: the canary is taken back instead (a return to the stable, decision 043).
 */
export class CanaryWindowClosedError extends Error {
  override readonly name = 'CanaryWindowClosedError';
}

/** A canary action for a stage whose config has no such canary step (a config redeployed mid-release). */
export class CanaryConfigError extends Error {
  override readonly name = 'CanaryConfigError';
}

/** The stage's lease was taken by an operator rollback before this step could act; the stage is ended. */
export class StagePreemptedError extends Error {
  override readonly name = 'StagePreempted';
}

const errorSchema = z.object({ Error: z.string().optional(), Cause: z.string().optional() }).passthrough();
const base = { releaseId: z.string().min(1) };
const staged = { ...base, stage: z.string().min(1) };
const clustered = { ...staged, cluster: z.string().min(1), wave: z.number().int().min(1) };
const eventSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('begin-stage'), ...base, stageIndex: z.number().int().min(0) }),
  z.object({ action: z.literal('deploy-started'), ...staged }),
  // `result`: the driver state's result as the workflow keeps it ($.deploy: buildId, status and the CodeBuild
  // Build object). Untrusted: its evidence is validated in extractDriverEvidence.
  z.object({ action: z.literal('deployed'), ...staged, buildId: z.string().optional(), result: z.unknown().optional() }),
  z.object({ action: z.literal('deploy-failed'), ...staged, error: errorSchema.optional() }),
  z.object({ action: z.literal('plan-rollback'), ...staged, failure: errorSchema.optional() }),
  z.object({ action: z.literal('rollback-deployed'), ...staged, buildId: z.string().optional(), result: z.unknown().optional() }),
  // Waves of clusters (decision 044): a wave's targets, each cluster's run, the wave's outcome, the stage deployed.
  z.object({ action: z.literal('begin-wave'), ...staged, wave: z.number().int().min(1) }),
  z.object({ action: z.literal('cluster-deploy-started'), ...clustered }),
  z.object({ action: z.literal('cluster-deployed'), ...clustered, buildId: z.string().optional(), result: z.unknown().optional() }),
  z.object({ action: z.literal('cluster-deploy-failed'), ...clustered, error: errorSchema.optional() }),
  z.object({ action: z.literal('finish-wave'), ...staged, wave: z.number().int().min(1) }),
  z.object({ action: z.literal('waves-deployed'), ...staged }),
  z.object({
    action: z.literal('cluster-rollback-finished'),
    ...clustered,
    result: z.enum(['SUCCEEDED', 'FAILED']),
    buildId: z.string().optional(),
    // The driver state's result ($.rollbackDeploy), untrusted like `deployed`'s.
    run: z.unknown().optional(),
    error: errorSchema.optional(),
  }),
  z.object({ action: z.literal('cluster-rollbacks-finished'), ...staged }),
  z.object({
    action: z.literal('rollback-finished'),
    ...staged,
    result: z.enum(['SUCCEEDED', 'FAILED']),
    // null: a wave stage's rollback (decision 044) ran one build per cluster, recorded per cluster.
    buildId: z.string().nullable().optional(),
    error: errorSchema.optional(),
    // recovered null: the alarms could not be read after the rollback (recovery unknown).
    recovery: z.object({ recovered: z.boolean().nullable(), reason: z.string() }).optional(),
  }),
  z.object({ action: z.literal('block-stage'), ...staged }),
  z.object({ action: z.literal('preempted'), ...staged }),
  z.object({ action: z.literal('approval-timeout'), ...staged }),
  z.object({ action: z.literal('reject-stage'), ...staged, error: errorSchema.optional() }),
  z.object({ action: z.literal('promote'), ...staged }),
  z.object({ action: z.literal('finish'), ...base }),
  // Canary steps (docs/decisions/043-canary-steps.md): a step begins (its replicas from the stable's count) or passes.
  z.object({
    action: z.literal('canary-step'),
    ...staged,
    index: z.number().int().min(0).max(99),
    status: z.enum(['started', 'passed']),
    stableReplicas: z.number().int().min(0).max(10_000).optional(),
  }),
  // The canary was aborted and its traffic and replicas taken back (cleanupError: that failed): the stage closes.
  z.object({
    action: z.literal('canary-aborted'),
    ...staged,
    // The step as the workflow held it ($.kube.canaryStep): its index at least; number and weight are taken from the config.
    step: z
      .object({ index: z.number().int().min(0).max(99) })
      .passthrough()
      .optional(),
    error: errorSchema.optional(),
    cleanupError: errorSchema.optional(),
  }),
  z.object({ action: z.literal('internal-error'), ...base, error: errorSchema.optional() }),
  // A Terraform stage that plans before its approval (decision 049): lambdas/shared/terraform-plan-steps.ts.
  ...TERRAFORM_PLAN_ACTIONS,
]);
type StepEvent = z.output<typeof eventSchema>;

/**
 * The validated evidence of a driver run for the ledger (driver from the stage's config, values from the
 * build's exported variables). Anything dropped is logged as a warning and named in `evidence.dropped`.
 */
function driverEvidence(deps: Deps, service: string, releaseId: string, stage: string, kind: 'deploy' | 'rollback', result: unknown, buildId?: string): DriverEvidence {
  // Recording what ran must not fail on a config redeployed mid-release: a stage no longer configured names no driver.
  const driver = deps.config.services[service]?.stages.find((s) => s.name === stage)?.deploy.driver ?? 'unknown';
  const { evidence, warnings } = extractDriverEvidence({ driver, releaseId, stage, kind }, result, buildId);
  for (const warning of warnings) logger.warn('driver evidence', { releaseId, stage, kind, driver, warning });
  return evidence;
}

/** What every action works from: the deps, the release's events as read once, and its projection. */
interface StepContext {
  readonly deps: Deps;
  readonly events: readonly LedgerEvent[];
  readonly release: NonNullable<ReturnType<typeof projectRelease>>;
  /** The driver run is over: clear it from the lease (ours, by our token) and wake whoever waits to take the stage. */
  readonly deployEnded: (stage: string) => Promise<void>;
  /** The workflow's clock, as an ISO string. */
  readonly now: () => string;
}
type StepAction = StepEvent['action'];
type Step<A extends StepAction> = Extract<StepEvent, { action: A }>;
type ActionHandler<A extends StepAction> = (e: Step<A>, c: StepContext) => Promise<Record<string, unknown>>;

export async function run(event: unknown, deps: Deps): Promise<Record<string, unknown>> {
  const e: StepEvent = parseWith(eventSchema, event, 'task input');
  const events = await deps.ledger.events(e.releaseId);
  const release = projectRelease(events);
  if (!release) throw new ReleaseNotFoundError(`release ${e.releaseId} has no record`);
  const deployEnded = async (stage: string) => {
    const fence = heldFence(events, stage);
    if (fence !== undefined && (await deps.ledger.endDeploy(release.service, stage, e.releaseId, fence))) await wakeLeaseWaiters(deps, release.service, stage);
  };
  const handle = ACTIONS[e.action] as ActionHandler<typeof e.action>;
  return handle(e, { deps, events, release, deployEnded, now: () => deps.now().toISOString() });
}

async function beginStage(e: Step<'begin-stage'>, c: StepContext): Promise<Record<string, unknown>> {
  const { deps, release } = c;
  const name = release.stages[e.stageIndex]?.name;
  if (!name) throw new RangeError(`stage index ${e.stageIndex} out of range for ${e.releaseId}`);
  const { st } = stageConfigOf(deps, release.service, name);
  const pointer = await deps.ledger.getPointer(release.service, name);
  await record(deps, e.releaseId, stageStep.started(name), 'stage.started', { previousDigest: pointer?.running ?? null, lastKnownGood: pointer?.lastKnownGood ?? null }, name);
  const env = release.digest
    ? driverEnvironment({
        config: deps.config,
        service: release.service,
        stage: st,
        digest: release.digest,
        releaseId: e.releaseId,
        kind: 'deploy',
        registry: deps.runtime.ecrRegistry,
      })
    : [];
  return {
    name,
    index: e.stageIndex,
    driver: st.deploy.driver,
    deployEnv: env,
    deployTimeoutSeconds: deployTimeoutSeconds(deps.config, st),
    bakeTimeoutSeconds: bakeTimeoutSeconds(st),
    bakeMode: st.bake.mode,
    approvalRequired: st.approval !== undefined,
    approvalTimeoutSeconds: (st.approval?.timeoutMinutes ?? 0) * 60,
    recoverySeconds: st.alarms.length ? st.recoveryMinutes * 60 : 0,
    // A stage with waves (decision 044) takes the wave loop (DeployCheckVerdict); other stages carry no such field.
    ...(hasWaves(st) ? { waveCount: stageWaves(st).length } : {}),
  };
}

async function deployStarted(e: Step<'deploy-started'>, c: StepContext): Promise<Record<string, unknown>> {
  const { deps, release } = c;
  const driver = deps.config.services[release.service]?.stages.find((s) => s.name === e.stage)?.deploy.driver ?? null;
  await record(deps, e.releaseId, stageStep.deployStarted(e.stage), 'deploy.started', { kind: 'deploy', digest: release.digest, driver }, e.stage);
  return {};
}

async function deployed(e: Step<'deployed'>, c: StepContext): Promise<Record<string, unknown>> {
  const { deps, events, release, deployEnded } = c;
  const evidence = driverEvidence(deps, release.service, e.releaseId, e.stage, 'deploy', e.result, e.buildId);
  const r = await record(
    deps,
    e.releaseId,
    stageStep.deployFinished(e.stage),
    'deploy.finished',
    { kind: 'deploy', digest: release.digest, result: 'SUCCEEDED', buildId: evidence.buildId ?? null, evidence },
    e.stage,
  );
  // Also on a duplicate: a retry after a crash between the append and this write must still make it
  // (idempotent, and the stage's lease is still ours).
  if (release.digest) await deps.ledger.setRunning(release.service, e.stage, release.digest, r.at, heldFence(events, e.stage));
  await deployEnded(e.stage);
  await announce(deps, r.duplicate, 'Stage Deployed', release, { stage: e.stage, status: 'DEPLOYED', at: r.at, buildId: e.buildId });
  return {};
}

async function deployFailed(e: Step<'deploy-failed'>, c: StepContext): Promise<Record<string, unknown>> {
  const { deps, release, deployEnded } = c;
  const message = driverFailureMessage(e.error);
  // A failed build's result is the Catch's Cause: its evidence (a refused Terraform plan, the Helm status after --atomic) is kept too.
  const evidence = driverEvidence(deps, release.service, e.releaseId, e.stage, 'deploy', e.error);
  await record(
    deps,
    e.releaseId,
    stageStep.deployFinished(e.stage),
    'deploy.finished',
    { kind: 'deploy', digest: release.digest, result: 'FAILED', message, error: e.error?.Error ?? null, ...(evidence.buildId ? { buildId: evidence.buildId } : {}), evidence },
    e.stage,
  );
  await deployEnded(e.stage);
  return { Error: 'DeployFailed', Cause: message };
}

async function planRollback(e: Step<'plan-rollback'>, c: StepContext): Promise<Record<string, unknown>> {
  const { deps, events, release, now } = c;
  const { st } = stageConfigOf(deps, release.service, e.stage);
  // An operator rollback took this stage from the release (it waited or baked): it deploys nothing more here.
  const lease = await checkLease(deps, e.releaseId, release.service, e.stage, events);
  if (!lease.held) return { hasTarget: false, reason: await recordPreempted(deps, release, e.stage, events) };
  const pointer = await deps.ledger.getPointer(release.service, e.stage);
  const stageSummary = release.stages.find((s) => s.name === e.stage);
  const deployMessage = e.failure?.Error === 'DeployFailed' ? e.failure.Cause : undefined;
  const failure = release.kind === 'rollback' ? { Error: 'OperatorRollback', Cause: `operator rollback${release.requestReason ? `: ${release.requestReason}` : ''}` } : e.failure;
  const { reason, detectedAt } = rollbackReason(failure, deployMessage, now(), { bake: stageSummary?.bake });
  // The bake's safety timeout: nobody ended the bake. Close it (token, timer, FAIL) before rolling back.
  if (failure?.Error === 'States.Timeout') await closeTimedOutBake(deps, e.releaseId, e.stage, reason, detectedAt);
  const target = release.rollbackTarget ?? pointer?.lastKnownGood;
  // A stage with waves (decision 044): the clusters to roll back. A release rolls back the clusters it touched
  // (waves 1..k, a failed cluster included); an operator rollback every cluster of the stage.
  const clusters = hasWaves(st) ? (release.kind === 'rollback' ? [...stageClusters(st)] : touchedClusters(events, e.stage)) : undefined;
  if (target && clusters?.length === 0) {
    const r = await record(
      deps,
      e.releaseId,
      stageStep.finished(e.stage),
      'stage.finished',
      { status: 'FAILED', reason: `${reason}; no cluster was deployed to (nothing to roll back)` },
      e.stage,
    );
    return { hasTarget: false, reason: r.data.reason };
  }
  // A wave stage stopped between waves or in its bake before every wave deployed: its deploy as a whole ends here.
  if (clusters && release.kind !== 'rollback' && !events.some((ev) => ev.stepKey === stageStep.deployFinished(e.stage))) {
    const done = events.filter((ev) => ev.stage === e.stage && ev.type === 'wave.finished').length;
    await record(
      deps,
      e.releaseId,
      stageStep.deployFinished(e.stage),
      'deploy.finished',
      { kind: 'deploy', digest: release.digest, result: 'FAILED', message: `stopped after wave ${done} of ${stageWaves(st).length}: ${reason}`, error: failure?.Error ?? null },
      e.stage,
    );
  }
  if (!target) {
    const r = await record(
      deps,
      e.releaseId,
      stageStep.finished(e.stage),
      'stage.finished',
      { status: 'FAILED', reason: `${reason}; nothing to roll back to (no last known good digest)` },
      e.stage,
    );
    return { hasTarget: false, reason: r.data.reason };
  }
  const r = await record(
    deps,
    e.releaseId,
    stageStep.rollbackStarted(e.stage),
    'rollback.started',
    {
      reason,
      detectedAt,
      toDigest: target,
      ...rollbackFrom(release, stageSummary, pointer?.running),
      ...(clusters && release.kind !== 'rollback' ? wavesFrom(release.digest, stageSummary) : {}),
    },
    e.stage,
  );
  // The controls that change with time, as they stand now: a rollback is never blocked by them; its record says what it overrode.
  const w = windowAtAction(st.windows, deps.now(), { kind: 'rollback', freeze: await deps.ledger.getFreeze() });
  await record(
    deps,
    e.releaseId,
    stageStep.atRollbackGate(e.stage, 'window'),
    'gate.evaluated',
    { gate: 'window', result: w.result, reason: w.reason, checkpoint: 'rollback', evidence: { windows: st.windows ?? null, bypassed: w.bypassed } },
    e.stage,
  );
  if (lease.held && !(await deps.ledger.beginDeploy(release.service, e.stage, e.releaseId, lease.fence, { kind: 'rollback', digest: target, at: now() }))) {
    return { hasTarget: false, reason: await recordPreempted(deps, release, e.stage, events) };
  }
  await record(
    deps,
    e.releaseId,
    stageStep.rollbackDeployStarted(e.stage),
    'deploy.started',
    { kind: 'rollback', digest: target, driver: st.deploy.driver, ...(clusters ? { clusters } : {}) },
    e.stage,
  );
  await announce(deps, r.duplicate, 'Rollback Started', release, {
    stage: e.stage,
    status: 'ROLLING_BACK',
    at: r.at,
    toDigest: target,
    reason,
    detectedAt,
    ...(clusters ? { clusters } : {}),
  });
  if (clusters) {
    const targets = [];
    for (const cluster of clusters) {
      const wave = waveOf(st, cluster) ?? 0;
      await record(
        deps,
        e.releaseId,
        stageStep.cluster(e.stage, cluster, 'rollback.deploy.started'),
        'deploy.started',
        { kind: 'rollback', digest: target, driver: st.deploy.driver, cluster, wave },
        e.stage,
      );
      const env = driverEnvironment({
        config: deps.config,
        service: release.service,
        stage: st,
        digest: target,
        releaseId: e.releaseId,
        kind: 'rollback',
        registry: deps.runtime.ecrRegistry,
        cluster,
      });
      targets.push({ cluster, wave, deployEnv: env });
    }
    return { hasTarget: true, toDigest: target, reason, targets };
  }
  const deployEnv = driverEnvironment({
    config: deps.config,
    service: release.service,
    stage: st,
    digest: target,
    releaseId: e.releaseId,
    kind: 'rollback',
    registry: deps.runtime.ecrRegistry,
  });
  return { hasTarget: true, toDigest: target, reason, deployEnv };
}

async function rollbackDeployed(e: Step<'rollback-deployed'>, c: StepContext): Promise<Record<string, unknown>> {
  const { deps, events, release } = c;
  const started = (await deps.ledger.events(e.releaseId)).find((ev) => ev.stepKey === stageStep.rollbackStarted(e.stage));
  const toDigest = started?.data.toDigest as string | undefined;
  const evidence = driverEvidence(deps, release.service, e.releaseId, e.stage, 'rollback', e.result, e.buildId);
  const r = await record(
    deps,
    e.releaseId,
    stageStep.rollbackDeployFinished(e.stage),
    'deploy.finished',
    { kind: 'rollback', digest: toDigest, result: 'SUCCEEDED', message: null, buildId: evidence.buildId ?? null, evidence },
    e.stage,
  );
  // Also on a duplicate (a retry after a crash between the append and these writes): both are idempotent.
  if (toDigest) {
    await deps.ledger.setRunning(release.service, e.stage, toDigest, r.at, heldFence(events, e.stage));
    // An operator chose this earlier digest over the one running: it is the stage's known good digest
    // now, so a later failed release rolls back to it, not to the digest the operator removed.
    if (release.kind === 'rollback') await deps.ledger.markGood(release.service, e.stage, toDigest, r.at, { history: false, fence: heldFence(events, e.stage) });
  }
  return {};
}

async function rollbackFinished(e: Step<'rollback-finished'>, c: StepContext): Promise<Record<string, unknown>> {
  const { deps, events, release, deployEnded } = c;
  await deployEnded(e.stage);
  const started = events.find((ev) => ev.stepKey === stageStep.rollbackStarted(e.stage));
  const toDigest = started?.data.toDigest as string | undefined;
  const message = e.result === 'FAILED' ? driverFailureMessage(e.error) : undefined;
  // After a successful rollback deploy this step key is already written (rollback-deployed); a failed one records its evidence here.
  const evidence = e.result === 'FAILED' ? driverEvidence(deps, release.service, e.releaseId, e.stage, 'rollback', e.error, e.buildId ?? undefined) : undefined;
  const deployed = await record(
    deps,
    e.releaseId,
    stageStep.rollbackDeployFinished(e.stage),
    'deploy.finished',
    {
      kind: 'rollback',
      digest: toDigest,
      result: e.result,
      message: message ?? null,
      buildId: evidence?.buildId ?? (typeof e.buildId === 'string' && isBuildId(e.buildId) ? e.buildId : null),
      ...(evidence ? { evidence } : {}),
    },
    e.stage,
  );
  await record(
    deps,
    e.releaseId,
    stageStep.rollbackFinished(e.stage),
    'rollback.finished',
    // The rollback ended when its deploy ended; the recovery window after it is evidence, not recovery time.
    { result: e.result, toDigest, message: message ?? null, recovery: e.recovery ?? null, deployEndedAt: deployed.at },
    e.stage,
  );
  const reason = started?.data.reason as string | undefined;
  await record(
    deps,
    e.releaseId,
    stageStep.finished(e.stage),
    'stage.finished',
    e.result === 'SUCCEEDED'
      ? { status: 'ROLLED_BACK', reason: `${reason ?? 'rolled back'}; rolled back to ${toDigest}${e.recovery && !e.recovery.recovered ? `; ${e.recovery.reason}` : ''}` }
      : { status: 'ROLLBACK_FAILED', reason: `${reason ?? 'rollback'}; rollback to ${toDigest} failed: ${message}` },
    e.stage,
  );
  return { result: e.result };
}

// ---------------------------------------------------------------- waves of clusters (decision 044)

/** The clusters of a wave stage this release started a deploy on, in the order it did. */
function touchedClusters(events: readonly LedgerEvent[], stage: string): string[] {
  const out: string[] = [];
  for (const ev of events) {
    if (ev.stage === stage && ev.type === 'deploy.started' && ev.data.kind === 'deploy' && typeof ev.data.cluster === 'string' && !out.includes(ev.data.cluster))
      out.push(ev.data.cluster);
  }
  return out;
}

/** A wave stage's from-side: the release's digest, deployed when at least one cluster's deploy succeeded (decision 044). */
function wavesFrom(digest: string | undefined, stage: { clusters?: Array<{ deploy?: { result: string } }> } | undefined): { fromDigest: string | null; fromDeployed: boolean } {
  return { fromDigest: digest ?? null, fromDeployed: (stage?.clusters ?? []).some((x) => x.deploy?.result === 'SUCCEEDED') };
}

/** A cluster the workflow names must be one of the stage's, in the wave it says. */
function checkCluster(st: Parameters<typeof waveOf>[0], stage: string, cluster: string, wave: number): void {
  if (waveOf(st, cluster) !== wave) throw new TypeError(`cluster ${cluster} is not in wave ${wave} of stage ${stage}`);
}

async function beginWave(e: Step<'begin-wave'>, c: StepContext): Promise<Record<string, unknown>> {
  const { deps, release } = c;
  const { st } = stageConfigOf(deps, release.service, e.stage);
  if (!release.digest) throw new TypeError(`release ${e.releaseId} has no digest to deploy`);
  const waves = stageWaves(st);
  const targets = waveTargets({
    config: deps.config,
    service: release.service,
    stage: st,
    digest: release.digest,
    releaseId: e.releaseId,
    kind: 'deploy',
    registry: deps.runtime.ecrRegistry,
    wave: e.wave,
  });
  return { wave: e.wave, of: waves.length, targets };
}

async function clusterDeployStarted(e: Step<'cluster-deploy-started'>, c: StepContext): Promise<Record<string, unknown>> {
  const { deps, release } = c;
  const { st } = stageConfigOf(deps, release.service, e.stage);
  checkCluster(st, e.stage, e.cluster, e.wave);
  await record(
    deps,
    e.releaseId,
    stageStep.cluster(e.stage, e.cluster, 'deploy.started'),
    'deploy.started',
    { kind: 'deploy', digest: release.digest, driver: st.deploy.driver, cluster: e.cluster, wave: e.wave },
    e.stage,
  );
  return {};
}

async function clusterDeployed(e: Step<'cluster-deployed'>, c: StepContext): Promise<Record<string, unknown>> {
  const { deps, release } = c;
  checkCluster(stageConfigOf(deps, release.service, e.stage).st, e.stage, e.cluster, e.wave);
  const evidence = driverEvidence(deps, release.service, e.releaseId, e.stage, 'deploy', e.result, e.buildId);
  await record(
    deps,
    e.releaseId,
    stageStep.cluster(e.stage, e.cluster, 'deploy.finished'),
    'deploy.finished',
    { kind: 'deploy', digest: release.digest, result: 'SUCCEEDED', buildId: evidence.buildId ?? null, evidence, cluster: e.cluster, wave: e.wave },
    e.stage,
  );
  return {};
}

async function clusterDeployFailed(e: Step<'cluster-deploy-failed'>, c: StepContext): Promise<Record<string, unknown>> {
  const { deps, release } = c;
  checkCluster(stageConfigOf(deps, release.service, e.stage).st, e.stage, e.cluster, e.wave);
  const message = driverFailureMessage(e.error);
  const evidence = driverEvidence(deps, release.service, e.releaseId, e.stage, 'deploy', e.error);
  await record(
    deps,
    e.releaseId,
    stageStep.cluster(e.stage, e.cluster, 'deploy.finished'),
    'deploy.finished',
    {
      kind: 'deploy',
      digest: release.digest,
      result: 'FAILED',
      message,
      error: e.error?.Error ?? null,
      ...(evidence.buildId ? { buildId: evidence.buildId } : {}),
      evidence,
      cluster: e.cluster,
      wave: e.wave,
    },
    e.stage,
  );
  return { message };
}

/** Per-cluster results of `kind` runs in a stage, from the ledger (a cluster with no finished run has failed: nothing says it succeeded). */
async function clusterResults(deps: Deps, releaseId: string, stage: string, clusters: readonly string[], kind: 'deploy' | 'rollback') {
  const events = await deps.ledger.events(releaseId);
  return clusters.map((cluster) => {
    const done = events.find((ev) => ev.stepKey === stageStep.cluster(stage, cluster, kind === 'deploy' ? 'deploy.finished' : 'rollback.deploy.finished'));
    const result = done?.data.result === 'SUCCEEDED' ? ('SUCCEEDED' as const) : ('FAILED' as const);
    const message = done ? (typeof done.data.message === 'string' ? done.data.message : null) : 'no result recorded (the run ended unexpectedly)';
    return { cluster, result, message };
  });
}

async function finishWave(e: Step<'finish-wave'>, c: StepContext): Promise<Record<string, unknown>> {
  const { deps, release, deployEnded } = c;
  const { st } = stageConfigOf(deps, release.service, e.stage);
  const waves = stageWaves(st);
  const clusters = waves[e.wave - 1];
  if (!clusters) throw new RangeError(`stage ${e.stage} has no wave ${e.wave}`);
  const runs = await clusterResults(deps, e.releaseId, e.stage, clusters, 'deploy');
  const out = clusterRunsOutcome(runs);
  const last = e.wave === waves.length;
  await record(
    deps,
    e.releaseId,
    stageStep.wave(e.stage, e.wave, 'finished'),
    'wave.finished',
    { wave: e.wave, of: waves.length, result: out.result, clusters: [...clusters], failed: out.failed, message: out.message },
    e.stage,
  );
  if (out.result === 'FAILED') {
    const message = `wave ${e.wave} of ${waves.length} failed: ${out.message}`;
    await record(
      deps,
      e.releaseId,
      stageStep.deployFinished(e.stage),
      'deploy.finished',
      { kind: 'deploy', digest: release.digest, result: 'FAILED', message, error: 'DeployFailed', wave: e.wave },
      e.stage,
    );
    await deployEnded(e.stage);
    return { result: 'FAILED', last, message };
  }
  const minutes = st.waveBakeMinutes ?? 0;
  return { result: 'SUCCEEDED', last, bakeMinutes: last ? 0 : minutes, bakeTimeoutSeconds: phaseBakeTimeoutSeconds(minutes), phase: { id: `wave-${e.wave}`, minutes } };
}

async function wavesDeployed(e: Step<'waves-deployed'>, c: StepContext): Promise<Record<string, unknown>> {
  const { deps, events, release, deployEnded } = c;
  const { st } = stageConfigOf(deps, release.service, e.stage);
  const clusters = [...stageClusters(st)];
  const r = await record(
    deps,
    e.releaseId,
    stageStep.deployFinished(e.stage),
    'deploy.finished',
    { kind: 'deploy', digest: release.digest, result: 'SUCCEEDED', buildId: null, clusters, waves: stageWaves(st).length },
    e.stage,
  );
  if (release.digest) await deps.ledger.setRunning(release.service, e.stage, release.digest, r.at, heldFence(events, e.stage));
  await deployEnded(e.stage);
  await announce(deps, r.duplicate, 'Stage Deployed', release, { stage: e.stage, status: 'DEPLOYED', at: r.at, clusters });
  return {};
}

async function clusterRollbackFinished(e: Step<'cluster-rollback-finished'>, c: StepContext): Promise<Record<string, unknown>> {
  const { deps, events, release } = c;
  checkCluster(stageConfigOf(deps, release.service, e.stage).st, e.stage, e.cluster, e.wave);
  const started = events.find((ev) => ev.stepKey === stageStep.rollbackStarted(e.stage));
  const toDigest = started?.data.toDigest as string | undefined;
  const message = e.result === 'FAILED' ? driverFailureMessage(e.error) : null;
  const evidence = driverEvidence(deps, release.service, e.releaseId, e.stage, 'rollback', e.result === 'FAILED' ? e.error : e.run, e.buildId);
  await record(
    deps,
    e.releaseId,
    stageStep.cluster(e.stage, e.cluster, 'rollback.deploy.finished'),
    'deploy.finished',
    { kind: 'rollback', digest: toDigest, result: e.result, message, buildId: evidence.buildId ?? null, evidence, cluster: e.cluster, wave: e.wave },
    e.stage,
  );
  return {};
}

async function clusterRollbacksFinished(e: Step<'cluster-rollbacks-finished'>, c: StepContext): Promise<Record<string, unknown>> {
  const { deps, events } = c;
  const started = events.find((ev) => ev.stepKey === stageStep.rollbackDeployStarted(e.stage));
  const clusters = (started?.data.clusters as string[] | undefined) ?? [];
  const runs = await clusterResults(deps, e.releaseId, e.stage, clusters, 'rollback');
  const out = clusterRunsOutcome(runs);
  if (out.result === 'FAILED') return { result: 'FAILED', buildId: null, error: 'ClusterRollbackFailed', cause: out.message ?? 'rollback failed', failed: out.failed };
  // Every touched cluster runs the rollback target again: the stage does (pointer), as after a single-cluster rollback.
  await rollbackDeployed({ action: 'rollback-deployed', releaseId: e.releaseId, stage: e.stage }, c);
  return { result: 'SUCCEEDED', buildId: null, clusters };
}

async function blockStage(e: Step<'block-stage'>, c: StepContext): Promise<Record<string, unknown>> {
  const { deps, release } = c;
  const stageSummary = release.stages.find((s) => s.name === e.stage);
  const failed = (stageSummary?.gates ?? []).filter((g) => g.result === 'FAIL');
  const reason = failed.length ? failed.map((g) => `${g.gate}: ${g.reason}`).join('; ') : 'a gate refused';
  await record(deps, e.releaseId, stageStep.finished(e.stage), 'stage.finished', { status: 'BLOCKED', reason }, e.stage);
  return { reason };
}

async function approvalTimeout(e: Step<'approval-timeout'>, c: StepContext): Promise<Record<string, unknown>> {
  const { deps, release } = c;
  // The approval's task timed out: nobody decided within timeoutMinutes. Close the token and record it.
  await deps.ledger.takeToken('APPROVAL', e.releaseId, e.stage);
  const { st } = stageConfigOf(deps, release.service, e.stage);
  const reason = `no decision within ${st.approval?.timeoutMinutes ?? 0} minutes`;
  const r = await record(deps, e.releaseId, approvalGateStep(c.events, e.stage), 'gate.evaluated', { gate: 'approval', result: 'FAIL', reason, decision: 'TIMED_OUT' }, e.stage);
  await announce(deps, r.duplicate, 'Approval Decided', release, { stage: e.stage, status: 'REJECTED', at: r.at, decision: 'TIMED_OUT', reason });
  return { reason };
}

async function rejectStage(e: Step<'reject-stage'>, c: StepContext): Promise<Record<string, unknown>> {
  const { deps, release } = c;
  const stageSummary = release.stages.find((s) => s.name === e.stage);
  const approval = [...(stageSummary?.gates ?? [])].reverse().find((g) => g.gate === 'approval');
  const reason = approval ? `approval: ${approval.reason}` : `approval rejected${e.error?.Cause ? `: ${e.error.Cause}` : ''}`;
  await record(deps, e.releaseId, stageStep.finished(e.stage), 'stage.finished', { status: 'REJECTED', reason }, e.stage);
  return { reason };
}

async function preempted(e: Step<'preempted'>, c: StepContext): Promise<Record<string, unknown>> {
  const { deps, events, release } = c;
  return { reason: await recordPreempted(deps, release, e.stage, events) };
}

async function promote(e: Step<'promote'>, c: StepContext): Promise<Record<string, unknown>> {
  const { deps, events, release } = c;
  if (!release.digest) throw new Error(`release ${e.releaseId} has no digest to promote`);
  // Only the lease holder marks a digest good: a stage an operator rollback took during the bake is not promoted.
  if (!release.stages.some((s) => s.name === e.stage && s.status === 'PROMOTED')) {
    const lease = await checkLease(deps, e.releaseId, release.service, e.stage, events);
    if (!lease.held) throw new StagePreemptedError(await recordPreempted(deps, release, e.stage, events));
  }
  const r = await record(deps, e.releaseId, stageStep.promoted(e.stage), 'stage.promoted', { digest: release.digest }, e.stage);
  // Also on a duplicate (a retry after a crash right after the append): markGood is idempotent.
  await deps.ledger.markGood(release.service, e.stage, release.digest, r.at, { fence: heldFence(events, e.stage) });
  await record(deps, e.releaseId, stageStep.finished(e.stage), 'stage.finished', { status: 'PROMOTED', reason: `${release.digest} is the last known good digest` }, e.stage);
  await announce(deps, r.duplicate, 'Stage Promoted', release, { stage: e.stage, status: 'PROMOTED', at: r.at });
  return {};
}

async function finish(e: Step<'finish'>, c: StepContext): Promise<Record<string, unknown>> {
  const { deps, release } = c;
  const { status, reason } = releaseOutcome(release);
  const r = await record(deps, e.releaseId, RELEASE_STEP.finished, 'release.finished', { status, reason });
  if (!r.duplicate) emitReleaseMetrics(await deps.ledger.events(e.releaseId), deps.runtime);
  const final = r.duplicate ? { status: r.data.status as string, reason: r.data.reason as string } : { status, reason };
  await announce(deps, r.duplicate, 'Release Finished', release, { status: final.status, at: r.at, reason: final.reason, ...(release.change ? { change: release.change } : {}) });
  return { status: final.status, summary: outcomeLine(release, final.status as typeof status, final.reason) };
}

/** The stage's canary steps from the config (the workflow passes only an index). */
function canaryStepsOf(c: StepContext, stage: string): Array<{ weight: number; bakeMinutes?: number | undefined }> {
  const { st } = stageConfigOf(c.deps, c.release.service, stage);
  const steps = st.deploy.driver === 'kubernetes' ? st.deploy.rollout?.steps : undefined;
  if (!steps) throw new CanaryConfigError(`stage ${c.release.service}/${stage} has no deploy.rollout`);
  return steps;
}

async function canaryStep(e: Step<'canary-step'>, c: StepContext): Promise<Record<string, unknown>> {
  const { deps, release } = c;
  const steps = canaryStepsOf(c, e.stage);
  const s = steps[e.index];
  if (!s) throw new CanaryConfigError(`stage ${release.service}/${e.stage} has no canary step ${e.index + 1} (it has ${steps.length})`);
  const { st } = stageConfigOf(deps, release.service, e.stage);
  const traffic = st.deploy.driver === 'kubernetes' ? st.deploy.rollout?.traffic : undefined;
  const number = e.index + 1;
  const last = e.index === steps.length - 1;
  const bakeMinutes = s.bakeMinutes ?? 0;
  // Every raise of the canary's traffic after the first step, and the promotion, is a change of its own: the window,
  // blackouts and the freeze are checked again at that moment, as ConfirmDeploy checked them before step 1.
  if ((e.status === 'started' && e.index > 0) || (e.status === 'passed' && last)) {
    await canaryWindowAtAction(c, e.stage, e.status === 'started' ? number : 'promotion', e.status === 'started' ? `step ${number} (${s.weight} %)` : 'the promotion');
  }
  if (e.status === 'started') {
    const stable = e.stableReplicas ?? 1;
    const replicas = canaryReplicas(stable, s.weight);
    const share = traffic === 'replicas' ? { replicasShare: replicasShare(stable, replicas) } : {};
    await record(
      deps,
      e.releaseId,
      stageStep.canaryStep(e.stage, number, 'started'),
      'canary.step',
      { step: number, weight: s.weight, status: 'started', traffic, replicas, stableReplicas: stable, bakeMinutes, ...share },
      e.stage,
    );
    const canaryAlarms = st.deploy.driver === 'kubernetes' ? (st.deploy.rollout?.canaryAlarms ?? []) : [];
    return {
      index: e.index,
      number,
      weight: s.weight,
      bakeMinutes,
      last,
      replicas,
      conflicts: { count: 0 },
      // The step's bake: the lead's phased bake (BakeRegister `phase`), on the stage's alarms plus the canary's.
      phase: { id: `canary-${number}`, minutes: bakeMinutes, alarms: [...canaryAlarms] },
      bakeTimeoutSeconds: phaseBakeTimeoutSeconds(bakeMinutes),
    };
  }
  await record(deps, e.releaseId, stageStep.canaryStep(e.stage, number, 'passed'), 'canary.step', { step: number, weight: s.weight, status: 'passed' }, e.stage);
  return { index: e.index + 1, number, weight: s.weight, last };
}

/** Gate `window` at a canary's point of action; throws CanaryWindowClosedError (the workflow aborts the canary) unless it passes. */
async function canaryWindowAtAction(c: StepContext, stage: string, at: number | 'promotion', what: string): Promise<void> {
  const { deps, release } = c;
  const { st } = stageConfigOf(deps, release.service, stage);
  const freeze = await deps.ledger.getFreeze();
  const w = windowAtAction(st.windows, deps.now(), { kind: 'deploy', breakGlass: release.breakGlass ?? null, freeze });
  // Outside the window (even with outside: "wait"), in a blackout or the freeze: no step waits half-rolled-out.
  const result = w.verdict === 'OPEN' ? w.result : 'FAIL';
  const reason = result === 'FAIL' ? `before ${what}: ${w.reason}; the canary is taken back to the stable` : `before ${what}: ${w.reason}`;
  await record(
    deps,
    release.releaseId,
    stageStep.canaryWindow(stage, at),
    'gate.evaluated',
    {
      gate: 'window',
      result,
      reason,
      checkpoint: at === 'promotion' ? 'canary-promotion' : `canary-${at}`,
      evidence: { windows: st.windows ?? null, breakGlass: release.breakGlass ?? null, freeze, bypassed: w.bypassed },
    },
    stage,
  );
  if (result === 'FAIL') throw new CanaryWindowClosedError(reason);
}

const BAKE_ERRORS = new Set(['AlarmBreached', 'BakeFailed', 'States.Timeout', 'OperatorRollback']);

async function canaryAborted(e: Step<'canary-aborted'>, c: StepContext): Promise<Record<string, unknown>> {
  const { deps, release, deployEnded, now } = c;
  const pointer = await deps.ledger.getPointer(release.service, e.stage);
  const stable = pointer?.running ?? null;
  const why = BAKE_ERRORS.has(e.error?.Error ?? '')
    ? rollbackReason(e.error, undefined, now())
    : e.error?.Error === 'CanaryAnalysisFailed'
      ? { reason: `canary.analysis FAIL: ${e.error.Cause ?? ''}`, detectedAt: now() }
      : { reason: `${e.error?.Error ?? 'failed'}: ${driverFailureMessage(e.error)}`, detectedAt: now() };
  const steps = canaryStepsOf(c, e.stage);
  const at = e.step ? steps[Math.min(e.step.index, steps.length - 1)] : undefined;
  const stepNo = e.step && at ? { number: Math.min(e.step.index, steps.length - 1) + 1, weight: at.weight } : undefined;
  const words = abortWords(stepNo);
  const reason = `${words}: ${why.reason}`;
  const cleanup = e.cleanupError?.Error ? driverFailureMessage(e.cleanupError) : undefined;
  // The step's bake passed its safety timeout: nobody ended it. Close it (token, timer, FAIL) as the stage's would be.
  if (e.error?.Error === 'States.Timeout' && stepNo) await closeTimedOutBake(deps, e.releaseId, e.stage, why.reason, why.detectedAt, `canary-${stepNo.number}`);
  const step = stepNo ? { step: stepNo.number, weight: stepNo.weight } : {};
  await record(
    deps,
    e.releaseId,
    stageStep.canaryStep(e.stage, stepNo?.number ?? 0, 'aborted'),
    'canary.step',
    { ...step, status: 'aborted', reason: why.reason, ...(cleanup ? { cleanupError: cleanup } : {}) },
    e.stage,
  );
  // The stable Deployment was never changed: the canary's own run ends FAILED, the stage is back on what it ran.
  await record(
    deps,
    e.releaseId,
    stageStep.deployFinished(e.stage),
    'deploy.finished',
    { kind: 'deploy', digest: release.digest, result: 'FAILED', message: reason, error: e.error?.Error ?? null, canary: true },
    e.stage,
  );
  const r = await record(
    deps,
    e.releaseId,
    stageStep.rollbackStarted(e.stage),
    'rollback.started',
    { reason, detectedAt: why.detectedAt, toDigest: stable, fromDigest: release.digest ?? null, fromDeployed: false, canary: { ...step, traffic: 'to stable' } },
    e.stage,
  );
  const result = cleanup ? 'FAILED' : 'SUCCEEDED';
  await record(
    deps,
    e.releaseId,
    stageStep.rollbackFinished(e.stage),
    'rollback.finished',
    { result, toDigest: stable, message: cleanup ? `taking the canary back failed: ${cleanup}` : null, recovery: null, deployEndedAt: now() },
    e.stage,
  );
  await record(
    deps,
    e.releaseId,
    stageStep.finished(e.stage),
    'stage.finished',
    cleanup
      ? { status: 'ROLLBACK_FAILED', reason: `${reason}; taking the canary's traffic and replicas back failed: ${cleanup}` }
      : { status: 'ROLLED_BACK', reason: `${reason}; traffic back on the stable Deployment${stable ? ` (${stable})` : ''}, canary scaled to 0` },
    e.stage,
  );
  await deployEnded(e.stage);
  // Rollback Started names the digest the stage is back on (its contract requires one): none known, no event.
  if (stable)
    await announce(deps, r.duplicate, 'Rollback Started', release, { stage: e.stage, status: 'ROLLING_BACK', at: r.at, toDigest: stable, reason, detectedAt: why.detectedAt });
  return { result, reason };
}

async function internalError(e: Step<'internal-error'>, c: StepContext): Promise<Record<string, unknown>> {
  const { deps, release } = c;
  const reason = `internal error: ${e.error?.Error ?? 'unknown'}${e.error?.Cause ? ` — ${e.error.Cause.slice(0, 500)}` : ''}`;
  // A stage whose rollback deploy finished is closed by that result (ROLLED_BACK / ROLLBACK_FAILED), not FAILED.
  const outcome = await closeStagesLeftOpen(deps, e.releaseId, reason);
  for (const lease of await deps.ledger.leasesOf(e.releaseId)) await freeLease(deps, e.releaseId, lease.service, lease.stage, 'internal-error');
  const r = await record(deps, e.releaseId, RELEASE_STEP.finished, 'release.finished', { status: outcome.status, reason: outcome.reason });
  if (!r.duplicate) emitReleaseMetrics(await deps.ledger.events(e.releaseId), deps.runtime);
  await announce(deps, r.duplicate, 'Release Finished', release, {
    status: r.data.status as string,
    at: r.at,
    reason: r.data.reason,
    ...(release.change ? { change: release.change } : {}),
  });
  return { status: r.data.status, summary: outcomeLine(release, r.data.status as typeof outcome.status, r.data.reason as string) };
}

/** One handler per action of the event schema (the type makes a missing or extra one a compile error). */
const ACTIONS: { readonly [A in StepAction]: ActionHandler<A> } = {
  'begin-stage': beginStage,
  'deploy-started': deployStarted,
  deployed,
  'deploy-failed': deployFailed,
  'plan-rollback': planRollback,
  'rollback-deployed': rollbackDeployed,
  'begin-wave': beginWave,
  'cluster-deploy-started': clusterDeployStarted,
  'cluster-deployed': clusterDeployed,
  'cluster-deploy-failed': clusterDeployFailed,
  'finish-wave': finishWave,
  'waves-deployed': wavesDeployed,
  'cluster-rollback-finished': clusterRollbackFinished,
  'cluster-rollbacks-finished': clusterRollbacksFinished,
  'rollback-finished': rollbackFinished,
  'block-stage': blockStage,
  'approval-timeout': approvalTimeout,
  'reject-stage': rejectStage,
  preempted,
  promote,
  finish,
  'internal-error': internalError,
  'canary-step': canaryStep,
  'canary-aborted': canaryAborted,
  'terraform-plan-prepare': terraformPlanPrepare,
  'terraform-plan-recorded': terraformPlanRecorded,
  'terraform-apply-started': terraformApplyStarted,
  'terraform-apply-failed': terraformApplyFailed,
};

export const handler = lambdaHandler(run);

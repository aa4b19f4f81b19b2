/**
 * Release policy that is not a gate: execution names, what a driver is given, how a release ends.
 */
import { createHash } from 'node:crypto';
import type { DeployConfig, GantryConfig, StageConfig } from './config';
import { DIGEST_PATTERN, stageClusters, stageWaves } from './config';
import { type DriverName, driverOf } from '../../drivers';
import type { LedgerEvent, LedgerEventType, ReleaseSummary, StageSummary } from './ledger';
import type { ReleaseStatus } from './types';
import { stageStep } from './step-keys';

/** Step Functions execution names: 1–80 of [A-Za-z0-9-_]. */
function safeName(s: string, max: number): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, max);
}

/** A pushed release whose pusher is not known yet (no CloudTrail PutImage record seen). */
export const UNATTRIBUTED_PUSH = 'unattributed (no CloudTrail PutImage record yet: a push is attributed when it arrives)';
/**
 * A release or rollback started without a start record (from the Step Functions console, or the API directly):
 * intake attributes it when CloudTrail's StartExecution record arrives (decision 027).
 */
export const UNATTRIBUTED_START = "unattributed (no start record yet: a start from the console is attributed when CloudTrail's StartExecution record arrives)";

/** The CloudTrail record an unattributed release is waiting for, or undefined when its initiator is known (or never will be). */
export function awaitedAttribution(initiator: string | undefined | null): 'StartExecution' | 'PutImage' | undefined {
  if (initiator === UNATTRIBUTED_PUSH) return 'PutImage';
  // Also the text recorded before decision 027 ("unattributed (no start record)"): intake attributes those too.
  if (typeof initiator === 'string' && initiator.startsWith('unattributed (no start record')) return 'StartExecution';
  return undefined;
}

/** Step Functions' limit on the length of an execution name. */
export const EXECUTION_NAME_MAX = 80;

/** How many names intake tries for one push before it gives up (pushExecutionCandidate 0 … n-1). */
export const PUSH_NAME_ATTEMPTS = 10;

/**
 * One release per (service, digest) from pushes: the execution name is derived from both, so a
 * duplicated or replayed push finds ExecutionAlreadyExists. This is the first name intake tries
 * (`pushExecutionCandidate(…, 0)`): 16 hex characters of the digest, the release ids people know.
 */
export function pushExecutionName(service: string, digest: string): string {
  if (!DIGEST_PATTERN.test(digest)) throw new TypeError(`not a sha256 digest: ${digest}`);
  return `${safeName(service, 40)}-${digest.slice(7, 23)}`;
}

/** Whether `name` is one of the names intake gives a push of `digest` to `service` (pushExecutionCandidate 0 … PUSH_NAME_ATTEMPTS-1). */
export function isPushExecutionName(name: string, service: string, digest: string): boolean {
  if (!DIGEST_PATTERN.test(digest)) return false;
  for (let n = 0; n < PUSH_NAME_ATTEMPTS; n++) if (pushExecutionCandidate(service, digest, n) === name) return true;
  return false;
}

/**
 * The names intake tries for a push, in order (decision 024). Attempt 0 is `pushExecutionName`. When that
 * name is taken by another digest sharing its first 16 hex characters, or by an execution of this push that
 * ended without leaving a record, intake moves to the next: attempt 1 is `<service>-<as much of the digest
 * as fits in 80 characters>` (all 64 hex characters for a service name of up to 12 characters; at least 36,
 * 144 bits, for the longest), attempt n ≥ 2 the same with `-<n>`. Deterministic, so every copy of a
 * delivered push arrives at the same name.
 */
export function pushExecutionCandidate(service: string, digest: string, attempt: number): string {
  if (attempt === 0) return pushExecutionName(service, digest);
  if (!DIGEST_PATTERN.test(digest)) throw new TypeError(`not a sha256 digest: ${digest}`);
  if (!Number.isInteger(attempt) || attempt < 0 || attempt > 99) throw new RangeError(`attempt must be a whole number from 0 to 99, got ${attempt}`);
  const svc = safeName(service, 40);
  // Room for the longest suffix ("-99") whatever the attempt, so one push's names share one digest prefix.
  const hex = digest.slice(7, 7 + Math.min(64, EXECUTION_NAME_MAX - svc.length - 1 - 3));
  return `${svc}-${hex}${attempt >= 2 ? `-${attempt}` : ''}`;
}

/** Operator starts get a name of their own (a re-run after a fix is a new release). */
export function operatorExecutionName(service: string, at: Date, nonce: string): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const h = createHash('sha256').update(`${service}|${at.toISOString()}|${nonce}`).digest('hex').slice(0, 6);
  return `${safeName(service, 40)}-${stamp}-${h}`;
}

export interface EnvVar {
  readonly Name: string;
  readonly Value: string;
  readonly Type: 'PLAINTEXT';
}

/**
 * The environment a driver run receives: validated values only, never a shell string.
 * Every value here came through the config schema or the digest pattern.
 */
export function driverEnvironment(args: {
  config: GantryConfig;
  service: string;
  stage: StageConfig;
  digest: string;
  releaseId: string;
  kind: 'deploy' | 'rollback';
  registry: string;
  /** The cluster key of a wave stage's run (decision 044): one of the stage's clusters. Default: the stage's cluster. */
  cluster?: string;
}): EnvVar[] {
  const { config, service, stage, digest, releaseId, kind, registry } = args;
  if (!DIGEST_PATTERN.test(digest)) throw new TypeError(`refusing to pass an unvalidated digest to a driver: ${digest}`);
  const svc = config.services[service];
  const key = args.cluster ?? stage.cluster;
  if (!stageClusters(stage).includes(key)) throw new TypeError(`cluster ${key} is not a cluster of stage ${service}/${stage.name}`);
  const cluster = Object.hasOwn(config.clusters, key) ? config.clusters[key] : undefined;
  if (!svc || !cluster) throw new TypeError(`unknown service or cluster for ${service}/${stage.name}`);
  const env: Record<string, string> = {
    GANTRY_RELEASE_ID: releaseId,
    GANTRY_KIND: kind,
    GANTRY_SERVICE: service,
    GANTRY_STAGE: stage.name,
    GANTRY_DIGEST: digest,
    GANTRY_IMAGE_REPOSITORY: `${registry}/${svc.repository}`,
    GANTRY_CLUSTER_NAME: cluster.name,
    GANTRY_CLUSTER_REGION: cluster.region,
    GANTRY_NAMESPACE: stage.namespace,
    GANTRY_DRIVER: stage.deploy.driver,
    // A cluster in another account: the role the build assumes to reach it (issue 18, decision 045).
    ...(cluster.roleArn !== undefined ? { GANTRY_CLUSTER_ROLE_ARN: cluster.roleArn } : {}),
  };
  // The driver's own inputs (drivers/<name>/index.ts `deployEnv`), each validated again by its script.
  Object.assign(env, driverOf(stage.deploy.driver).deployEnv(stage.deploy));
  return Object.entries(env).map(([Name, Value]) => ({ Name, Value, Type: 'PLAINTEXT' as const }));
}

// ---------------------------------------------------------------- waves of clusters (decision 044)

/** One cluster's run in a wave stage, as the workflow's Map iterates it: the cluster key, its wave (1-based), its driver environment. */
export interface WaveTarget {
  readonly cluster: string;
  readonly wave: number;
  readonly deployEnv: EnvVar[];
}

/** The targets of wave `wave` (1-based) of a stage, each with its own driver environment. */
export function waveTargets(args: Omit<Parameters<typeof driverEnvironment>[0], 'cluster'> & { wave: number }): WaveTarget[] {
  const clusters = stageWaves(args.stage)[args.wave - 1];
  if (!clusters) throw new RangeError(`stage ${args.service}/${args.stage.name} has no wave ${args.wave}`);
  return clusters.map((cluster) => ({ cluster, wave: args.wave, deployEnv: driverEnvironment({ ...args, cluster }) }));
}

/** The wave (1-based) a cluster of the stage belongs to, or undefined. */
export function waveOf(stage: StageConfig, cluster: string): number | undefined {
  const k = stageWaves(stage).findIndex((w) => w.includes(cluster));
  return k === -1 ? undefined : k + 1;
}

/** The per-cluster results of one wave, as the workflow's Map returns them. */
export interface ClusterRunResult {
  readonly cluster: string;
  readonly result: 'SUCCEEDED' | 'FAILED';
  readonly message?: string | null;
}

/**
 * What a wave's (or a rollback's) per-cluster runs add up to: SUCCEEDED when every cluster succeeded; otherwise
 * FAILED with a message naming each failed cluster (decision 044: one failed cluster fails the wave).
 */
export function clusterRunsOutcome(runs: readonly ClusterRunResult[]): { result: 'SUCCEEDED' | 'FAILED'; failed: string[]; message: string | null } {
  const failed = runs.filter((r) => r.result !== 'SUCCEEDED');
  if (runs.length > 0 && failed.length === 0) return { result: 'SUCCEEDED', failed: [], message: null };
  if (runs.length === 0) return { result: 'FAILED', failed: [], message: 'no cluster ran' };
  return { result: 'FAILED', failed: failed.map((f) => f.cluster), message: failed.map((f) => `cluster ${f.cluster}: ${f.message ?? 'failed'}`).join('; ') };
}

// ---------------------------------------------------------------- deploy timeouts (docs/drivers.md#timeouts)

/**
 * Minutes a driver build needs besides the tool's own run: CodeBuild provisioning, the install phase (Helm or
 * Terraform downloaded and checked), `aws eks update-kubeconfig`, the registry login, and the evidence after.
 */
export const DRIVER_START_UP_MINUTES = 10;
/** Minutes a driver build may wait in CodeBuild's queue before CodeBuild drops it (the projects' queuedTimeout). */
export const DRIVER_QUEUED_MINUTES = 30;
/** Minutes between CodeBuild ending a build by its own timeout and the workflow's task giving up on it. */
export const TASK_MARGIN_MINUTES = 5;
/** The `-lock-timeout` of each state-locking Terraform command (plan, apply): the Terraform driver's (drivers/terraform). */
export { TERRAFORM_LOCK_TIMEOUT_MINUTES } from '../../drivers/terraform';

/** A driver that runs as a CodeBuild project (drivers/index.ts: one with `codeBuild`, e.g. helm, terraform). */
export type BuildDriver = DriverName;

/**
 * The longest the deploy tool itself may run for a stage, in minutes: the stage's driver says
 * (`toolMinutes` in drivers/<name>/index.ts):
 * - Helm: `helm upgrade --install --atomic --wait --timeout <timeoutMinutes>m` may use its timeout on the
 *   upgrade and, when that fails, the same timeout again on the rollback `--atomic` starts (Helm passes the
 *   upgrade's timeout to it): 2 × timeoutMinutes. A build killed during that rollback leaves the release
 *   `pending-rollback` and refuses the workflow's own rollback.
 * - Terraform: timeoutMinutes for init, plan and apply, plus the state-lock wait of plan and of apply.
 * - Kubernetes: the rollout deadline, timeoutMinutes (no build: the workflow watches the rollout itself).
 */
export function deployToolMinutes(deploy: DeployConfig): number {
  return driverOf(deploy.driver).toolMinutes(deploy);
}

export interface DriverTimeouts {
  readonly driver: BuildDriver;
  /** The CodeBuild project's build timeout: the longest tool run of the driver's stages + DRIVER_START_UP_MINUTES. */
  readonly buildMinutes: number;
  /** The CodeBuild project's queued timeout (DRIVER_QUEUED_MINUTES). */
  readonly queuedMinutes: number;
  /** TimeoutSeconds of the workflow task that runs a build of the project: queued + build + TASK_MARGIN_MINUTES. */
  readonly taskSeconds: number;
}

/**
 * Every timeout of a CodeBuild driver, from one formula (docs/drivers.md#timeouts):
 *
 *     tool(stage) = deployToolMinutes(stage.deploy)          (Helm: 2 × timeoutMinutes)
 *     build       = max over the driver's stages of tool + DRIVER_START_UP_MINUTES
 *     task        = DRIVER_QUEUED_MINUTES + build + TASK_MARGIN_MINUTES
 *
 * One project serves every stage of a driver, so its build timeout covers the slowest stage, and every
 * stage's task waits at least that long: CodeBuild ends a build (deploy and Helm's own rollback included)
 * before the workflow gives up on it, so the workflow never rolls a stage back while its build still runs.
 */
export function driverTimeouts(config: GantryConfig, driver: BuildDriver): DriverTimeouts {
  const tools = Object.values(config.services).flatMap((svc) => svc.stages.filter((st) => st.deploy.driver === driver).map((st) => deployToolMinutes(st.deploy)));
  const buildMinutes = Math.max(0, ...tools) + DRIVER_START_UP_MINUTES;
  return { driver, buildMinutes, queuedMinutes: DRIVER_QUEUED_MINUTES, taskSeconds: (DRIVER_QUEUED_MINUTES + buildMinutes + TASK_MARGIN_MINUTES) * 60 };
}

/**
 * TimeoutSeconds of the stage's deploy task (`$.stage.deployTimeoutSeconds`): `driverTimeouts(...).taskSeconds`
 * for Helm and Terraform; for Kubernetes, which runs no build, its rollout deadline + TASK_MARGIN_MINUTES.
 */
export function deployTimeoutSeconds(config: GantryConfig, stage: StageConfig): number {
  if (!driverOf(stage.deploy.driver).codeBuild) return (deployToolMinutes(stage.deploy) + TASK_MARGIN_MINUTES) * 60;
  return driverTimeouts(config, stage.deploy.driver as BuildDriver).taskSeconds;
}

/** Bake safety net: the bake ends by its timer; this only catches a lost timer. */
export function bakeTimeoutSeconds(stage: StageConfig): number {
  return phaseBakeTimeoutSeconds(stage.bakeMinutes);
}

/** The safety net of any bake of `minutes` (a stage's, or a phase's inside it: decision 047). */
export function phaseBakeTimeoutSeconds(minutes: number): number {
  return minutes * 60 + 900;
}

/** How a release ended, derived from its stages (the ledger is the truth). */
export function releaseOutcome(summary: ReleaseSummary): { status: ReleaseStatus; reason: string } {
  const stages = summary.stages;
  const find = (status: string) => stages.find((s) => s.status === status);
  for (const status of ['ROLLBACK_FAILED', 'ROLLED_BACK', 'FAILED', 'REJECTED', 'BLOCKED', 'ABORTED'] as const) {
    const s = find(status);
    if (s) return { status, reason: `${s.name}: ${s.reason ?? status}` };
  }
  // A release whose remaining stages were superseded by a newer digest ends BLOCKED with that reason (docs/contracts.md §3).
  const superseded = find('SUPERSEDED');
  if (superseded) return { status: 'BLOCKED', reason: `${superseded.name}: ${superseded.reason ?? 'SUPERSEDED'}` };
  if (stages.length > 0 && stages.every((s) => s.status === 'PROMOTED')) {
    return { status: 'SUCCEEDED', reason: `promoted through ${stages.map((s) => s.name).join(', ')}` };
  }
  const unfinished = stages.filter((s) => s.status !== 'PROMOTED').map((s) => s.name);
  return { status: 'FAILED', reason: `release ended with stages not promoted: ${unfinished.join(', ')}` };
}

/**
 * The message of a failed driver run, from the Step Functions error of a `codebuild:startBuild.sync`
 * task (Cause is the Build as JSON, PascalCase) or of the local driver, or any other error.
 */
export function driverFailureMessage(error: { Error?: string; Cause?: string } | undefined): string {
  if (!error) return 'driver failed';
  if (error.Error === 'States.Timeout') return 'driver timed out';
  const cause = error.Cause ?? '';
  try {
    const parsed = JSON.parse(cause) as Record<string, unknown>;
    // eks:call: the Kubernetes API's Status object is the ResponseBody, with the HTTP status beside it.
    if (typeof parsed.StatusCode === 'number' && parsed.ResponseBody !== undefined) {
      const body = parsed.ResponseBody as Record<string, unknown> | string;
      const msg = typeof body === 'object' && body && typeof body.message === 'string' ? body.message : typeof body === 'string' ? body : '';
      return `Kubernetes API ${parsed.StatusCode}${parsed.StatusText ? ` ${String(parsed.StatusText)}` : ''}${msg ? `: ${msg}` : ''}`.slice(0, 500);
    }
    const build = (parsed.Build ?? parsed.build ?? parsed) as Record<string, unknown>;
    const phases = (build.Phases ?? build.phases ?? []) as Array<Record<string, unknown>>;
    for (const p of phases) {
      if ((p.PhaseStatus ?? p.phaseStatus) !== 'SUCCEEDED' && (p.PhaseStatus ?? p.phaseStatus)) {
        const ctx = ((p.Contexts ?? p.contexts ?? []) as Array<Record<string, unknown>>).find((c) => c.Message || c.message);
        const msg = ctx ? String(ctx.Message ?? ctx.message) : '';
        if (msg) return msg;
      }
    }
    const status = build.BuildStatus ?? build.buildStatus;
    if (status) return `build ${String(status)}`;
  } catch {
    // not JSON: fall through to the plain text
  }
  return cause || error.Error || 'driver failed';
}

/** A failure that triggers a rollback, as the workflow hands it over (Catch output). */
export interface StageFailure {
  readonly Error?: string;
  readonly Cause?: string;
}

export interface AlarmBreach {
  readonly alarm: string;
  readonly reason?: string;
  readonly detectedAt?: string;
  readonly bakeMinute?: number;
}

/** What the ledger says about a stage's bake when its safety timeout fired. */
export interface BakeRecord {
  readonly result?: string;
  readonly reason?: string;
  readonly endedAt?: string;
}

/**
 * Why a bake's safety timeout fired. With no verdict recorded, nobody ended the bake (a lost timer). With
 * one, the verdict was written but never reached the workflow (SendTaskSuccess/SendTaskFailure failed):
 * the stage is rolled back all the same, and the record says which verdict was lost.
 */
export function bakeTimeoutReason(bake: BakeRecord | undefined): string {
  const base = 'bake did not end within its safety timeout';
  if (!bake?.result || bake.result === 'RUNNING') return `${base}: nothing ended the bake (no final check ran)`;
  return `${base}: its verdict (${bake.result}${bake.endedAt ? ` at ${bake.endedAt}` : ''}) was recorded but never reached the workflow`;
}

/** Why a stage is being rolled back, and when the problem was detected (DORA's recovery time starts there). */
export function rollbackReason(
  failure: StageFailure | undefined,
  deployMessage: string | undefined,
  now: string,
  context: { readonly bake?: BakeRecord } = {},
): { reason: string; detectedAt: string } {
  if (failure?.Error === 'AlarmBreached') {
    try {
      const b = JSON.parse(failure.Cause ?? '{}') as AlarmBreach;
      const minute = b.bakeMinute !== undefined ? ` at bake minute ${b.bakeMinute}` : '';
      return { reason: `alarm ${b.alarm} in ALARM${minute}`, detectedAt: b.detectedAt ?? now };
    } catch {
      return { reason: `alarm breached: ${failure.Cause ?? ''}`, detectedAt: now };
    }
  }
  if (failure?.Error === 'BakeFailed') return { reason: failure.Cause ?? 'bake failed', detectedAt: now };
  if (failure?.Error === 'States.Timeout') return { reason: bakeTimeoutReason(context.bake), detectedAt: now };
  if (failure?.Error === 'OperatorRollback') return { reason: failure.Cause ?? 'operator rollback', detectedAt: now };
  if (failure?.Error === 'InternalErrorAfterDeploy') return { reason: `rolled back to be safe: ${internalErrorWords(failure.Cause)} after the deploy`, detectedAt: now };
  return { reason: `deploy failed: ${deployMessage ?? driverFailureMessage(failure)}`, detectedAt: now };
}

/** `{ Error, Cause }` of a caught error, as the workflow passes it (JSON), in a few words. */
function internalErrorWords(cause: string | undefined): string {
  try {
    const e = JSON.parse(cause ?? '{}') as { Error?: string; Cause?: string };
    return `internal error ${e.Error ?? 'unknown'}${e.Cause ? ` (${String(e.Cause).slice(0, 300)})` : ''}`;
  } catch {
    return `internal error (${String(cause ?? '').slice(0, 300)})`;
  }
}

/**
 * The digest a stage is rolled back from. A release rolls back from the digest it tried to deploy there
 * (its `deploy.started` in the stage), whether or not that deploy finished: `fromDeployed` says whether
 * it did (a failed deploy deployed nothing, and the stage still runs what it ran before). An operator
 * rollback, which deployed nothing before, rolls back from the digest the stage runs.
 */
export function rollbackFrom(
  release: Pick<ReleaseSummary, 'kind' | 'digest'>,
  stage: Pick<StageSummary, 'deploy' | 'deployedDigest'> | undefined,
  running: string | undefined,
): { fromDigest: string | null; fromDeployed: boolean } {
  if (release.kind !== 'rollback' && stage?.deploy && release.digest) {
    return { fromDigest: release.digest, fromDeployed: stage.deploy.result === 'SUCCEEDED' && stage.deployedDigest === release.digest };
  }
  return { fromDigest: running ?? null, fromDeployed: running !== undefined };
}

/**
 * "from sha256:… (its deploy did not finish: nothing was deployed)": the from-side of a rollback as the
 * timeline, `gantry audit show` and the report print it. `fromDeployed` undefined: a record written
 * before it was kept (the digest is then the one the stage ran, or the one deployed).
 */
export function rollbackFromText(r: { readonly fromDigest?: string | null; readonly fromDeployed?: boolean | null }): string {
  if (!r.fromDigest) return 'from (not recorded)';
  return r.fromDeployed === false ? `from ${r.fromDigest} (its deploy did not finish: nothing was deployed)` : `from ${r.fromDigest}`;
}

/** One ledger write of `closeOpenStage`. */
export interface StageClosingWrite {
  readonly stepKey: string;
  readonly type: LedgerEventType;
  readonly data: Record<string, unknown>;
}

/**
 * How a stage that an internal error left open is closed, from its own events. A stage whose rollback
 * deploy had finished is closed by that result — ROLLED_BACK (its recovery unknown) or ROLLBACK_FAILED —
 * never FAILED with its rollback result left empty. Otherwise the stage is FAILED with `errorReason`.
 * Each write carries the step key the workflow would have used, so a step that did run is not repeated.
 */
export function closeOpenStage(stage: string, events: readonly LedgerEvent[], errorReason: string): StageClosingWrite[] {
  const own = events.filter((e) => e.stage === stage);
  const started = own.find((e) => e.stepKey === stageStep.rollbackStarted(stage));
  const deployed = own.find((e) => e.stepKey === stageStep.rollbackDeployFinished(stage));
  const finished = own.find((e) => e.stepKey === stageStep.rollbackFinished(stage));
  const toDigest = typeof started?.data.toDigest === 'string' ? started.data.toDigest : undefined;
  const why = typeof started?.data.reason === 'string' ? started.data.reason : 'rollback';
  const stageFinished = (data: Record<string, unknown>): StageClosingWrite => ({ stepKey: stageStep.finished(stage), type: 'stage.finished', data });
  const result = finished?.data.result ?? deployed?.data.result;
  if (!started || (result !== 'SUCCEEDED' && result !== 'FAILED')) {
    const during = started ? ` (during the rollback to ${toDigest ?? 'the last known good digest'}, whose result is unknown)` : '';
    return [stageFinished({ status: 'FAILED', reason: `${errorReason}${during}` })];
  }
  const writes: StageClosingWrite[] = [];
  const recoveryUnknown = `recovery unknown: ${errorReason}`;
  if (!finished) {
    const message = typeof deployed?.data.message === 'string' ? deployed.data.message : null;
    writes.push({
      stepKey: stageStep.rollbackFinished(stage),
      type: 'rollback.finished',
      data: {
        result,
        toDigest: toDigest ?? null,
        message,
        recovery: result === 'SUCCEEDED' ? { recovered: null, reason: recoveryUnknown } : null,
        deployEndedAt: deployed?.at ?? null,
        by: 'internal-error',
      },
    });
  }
  writes.push(
    stageFinished(
      result === 'SUCCEEDED'
        ? { status: 'ROLLED_BACK', reason: `${why}; rolled back to ${toDigest}; ${finished ? recoveryNote(finished.data.recovery) : recoveryUnknown}`.replace(/; $/, '') }
        : { status: 'ROLLBACK_FAILED', reason: `${why}; rollback to ${toDigest} failed${typeof deployed?.data.message === 'string' ? `: ${deployed.data.message}` : ''}` },
    ),
  );
  return writes;
}

/** The recovery check's reason when the stage did not (or not knowably) recover; '' when it recovered. */
function recoveryNote(recovery: unknown): string {
  if (!recovery || typeof recovery !== 'object') return '';
  const r = recovery as { recovered?: unknown; reason?: unknown };
  return r.recovered === true || typeof r.reason !== 'string' ? '' : r.reason;
}

/**
 * The status and reason of a release closed by an internal error, once its open stages are closed: a
 * stage that was rolled back (or whose rollback failed) decides it as in `releaseOutcome`; otherwise FAILED.
 */
export function internalErrorOutcome(summary: ReleaseSummary, errorReason: string): { status: ReleaseStatus; reason: string } {
  const o = releaseOutcome(summary);
  return o.status === 'ROLLBACK_FAILED' || o.status === 'ROLLED_BACK' ? o : { status: 'FAILED', reason: errorReason };
}

/** A one-line summary of a finished release for the Fail state's Cause and notifications. */
export function outcomeLine(summary: ReleaseSummary, status: ReleaseStatus, reason: string): string {
  return `${summary.service} ${summary.digest ?? '(unresolved)'} ${status}: ${reason}`;
}

/**
 * An older digest is never deployed over a newer one that already reached the stage. Returns the
 * reason when the digest running there was pushed after this release's digest, else undefined.
 */
export function supersededReason(stage: string, ours: { digest: string; pushedAt?: string }, running: { digest: string; pushedAt?: string }): string | undefined {
  if (ours.digest === running.digest || !ours.pushedAt || !running.pushedAt) return undefined;
  if (Date.parse(running.pushedAt) <= Date.parse(ours.pushedAt)) return undefined;
  return `superseded: ${stage} already runs ${running.digest} (pushed ${running.pushedAt}), newer than ${ours.digest} (pushed ${ours.pushedAt})`;
}

/** A release of the service as the queue rule sees it: its digest, when that digest was pushed, how far it got. */
export interface QueuedRelease {
  readonly releaseId: string;
  readonly digest: string;
  readonly pushedAt?: string;
  readonly startedAt: string;
  /** RUNNING, or a final status. */
  readonly status: string;
  /** This release's status in the stage in question; undefined when the release does not include the stage. */
  readonly stageStatus?: string;
}

const ALIVE_IN_STAGE = new Set(['NOT_STARTED', 'WAITING', 'PROMOTED']);

/**
 * Newest wins in the queue: the release that supersedes `ours` in a stage it has not deployed yet, if any.
 * A candidate supersedes when it is another digest of the service, still running, still headed for (or
 * through) the stage, and newer: pushed later, or, when either push time is unknown, started later. When it
 * started does not matter: an operator who starts an older digest after a newer one queues behind it.
 * Among several, the newest is named.
 */
export function supersedingRelease(ours: QueuedRelease, others: readonly QueuedRelease[]): QueuedRelease | undefined {
  const newer = (a: QueuedRelease, b: QueuedRelease): boolean => {
    if (a.pushedAt && b.pushedAt && a.pushedAt !== b.pushedAt) return Date.parse(a.pushedAt) > Date.parse(b.pushedAt);
    if (a.startedAt !== b.startedAt) return Date.parse(a.startedAt) > Date.parse(b.startedAt);
    return a.releaseId > b.releaseId;
  };
  return others
    .filter((o) => o.releaseId !== ours.releaseId && o.digest !== ours.digest && o.status === 'RUNNING' && o.stageStatus !== undefined && ALIVE_IN_STAGE.has(o.stageStatus))
    .filter((o) => newer(o, ours))
    .sort((a, b) => (newer(a, b) ? -1 : 1))[0];
}

/** The words of a SUPERSEDED stage. */
export function supersededByReleaseReason(stage: string, ours: QueuedRelease, by: QueuedRelease): string {
  const when = (r: QueuedRelease) => (r.pushedAt ? `pushed ${r.pushedAt}` : `started ${r.startedAt}`);
  return `superseded by ${by.releaseId}: ${by.digest} (${when(by)}) is newer than ${ours.digest} (${when(ours)}); ${stage} was not deployed`;
}

/**
 * Release policy that is not a gate: execution names, what a driver is given, how a release ends.
 */
import { createHash } from 'node:crypto';
import type { DeployConfig, GantryConfig, StageConfig } from './config';
import { DIGEST_PATTERN } from './config';
import type { ReleaseSummary } from './ledger';
import type { ReleaseStatus } from './types';

/** Step Functions execution names: 1–80 of [A-Za-z0-9-_]. */
function safeName(s: string, max: number): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, max);
}

/**
 * One release per (service, digest) from pushes: the execution name is derived from both, so a
 * duplicated or replayed push finds ExecutionAlreadyExists.
 */
export function pushExecutionName(service: string, digest: string): string {
  if (!DIGEST_PATTERN.test(digest)) throw new TypeError(`not a sha256 digest: ${digest}`);
  return `${safeName(service, 40)}-${digest.slice(7, 23)}`;
}

/** Operator starts get a name of their own (a re-run after a fix is a new release). */
export function operatorExecutionName(service: string, at: Date, nonce: string): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
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
}): EnvVar[] {
  const { config, service, stage, digest, releaseId, kind, registry } = args;
  if (!DIGEST_PATTERN.test(digest)) throw new TypeError(`refusing to pass an unvalidated digest to a driver: ${digest}`);
  const svc = config.services[service];
  const cluster = config.clusters[stage.cluster];
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
  };
  if (stage.deploy.driver === 'helm') {
    Object.assign(env, {
      GANTRY_HELM_RELEASE: stage.deploy.release,
      GANTRY_HELM_CHART: stage.deploy.chart,
      GANTRY_HELM_VERSION: stage.deploy.version,
      GANTRY_HELM_TIMEOUT: `${stage.deploy.timeoutMinutes}m`,
      GANTRY_VALUES_REPOSITORY_KEY: stage.deploy.values.repositoryKey,
      GANTRY_VALUES_DIGEST_KEY: stage.deploy.values.digestKey,
    });
  } else if (stage.deploy.driver === 'kubernetes') {
    Object.assign(env, {
      GANTRY_K8S_DEPLOYMENT: stage.deploy.deployment,
      GANTRY_K8S_CONTAINER: stage.deploy.container,
    });
  } else {
    Object.assign(env, {
      GANTRY_TF_SOURCE: stage.deploy.source,
      GANTRY_TF_WORKDIR: stage.deploy.workdir,
      GANTRY_TF_IMAGE_VARIABLE: stage.deploy.imageVariable,
      GANTRY_TF_ALLOW_DESTROY: String(stage.deploy.allowDestroy),
    });
  }
  return Object.entries(env).map(([Name, Value]) => ({ Name, Value, Type: 'PLAINTEXT' as const }));
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
/** The `-lock-timeout` of each state-locking Terraform command (plan, apply) in scripts/drivers/terraform-deploy.sh. */
export const TERRAFORM_LOCK_TIMEOUT_MINUTES = 5;

/** The drivers that run as a CodeBuild project. */
export type BuildDriver = 'helm' | 'terraform';

/**
 * The longest the deploy tool itself may run for a stage, in minutes:
 * - Helm: `helm upgrade --install --atomic --wait --timeout <timeoutMinutes>m` may use its timeout on the
 *   upgrade and, when that fails, the same timeout again on the rollback `--atomic` starts (Helm passes the
 *   upgrade's timeout to it): 2 × timeoutMinutes. A build killed during that rollback leaves the release
 *   `pending-rollback` and refuses the workflow's own rollback.
 * - Terraform: timeoutMinutes for init, plan and apply, plus the state-lock wait of plan and of apply.
 * - Kubernetes: the rollout deadline, timeoutMinutes (no build: the workflow watches the rollout itself).
 */
export function deployToolMinutes(deploy: DeployConfig): number {
  switch (deploy.driver) {
    case 'helm':
      return 2 * deploy.timeoutMinutes;
    case 'terraform':
      return deploy.timeoutMinutes + 2 * TERRAFORM_LOCK_TIMEOUT_MINUTES;
    case 'kubernetes':
      return deploy.timeoutMinutes;
  }
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
  if (stage.deploy.driver === 'kubernetes') return (deployToolMinutes(stage.deploy) + TASK_MARGIN_MINUTES) * 60;
  return driverTimeouts(config, stage.deploy.driver).taskSeconds;
}

/** Bake safety net: the bake ends by its timer; this only catches a lost timer. */
export function bakeTimeoutSeconds(stage: StageConfig): number {
  return stage.bakeMinutes * 60 + 900;
}

/** How a release ended, derived from its stages (the ledger is the truth). */
export function releaseOutcome(summary: ReleaseSummary): { status: ReleaseStatus; reason: string } {
  const stages = summary.stages;
  const find = (status: string) => stages.find((s) => s.status === status);
  for (const status of ['ROLLBACK_FAILED', 'ROLLED_BACK', 'FAILED', 'REJECTED', 'BLOCKED', 'ABORTED'] as const) {
    const s = find(status);
    if (s) return { status, reason: `${s.name}: ${s.reason ?? status}` };
  }
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

/** Why a stage is being rolled back, and when the problem was detected (DORA's recovery time starts there). */
export function rollbackReason(failure: StageFailure | undefined, deployMessage: string | undefined, now: string): { reason: string; detectedAt: string } {
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
  if (failure?.Error === 'States.Timeout') return { reason: 'bake did not end within its safety timeout', detectedAt: now };
  if (failure?.Error === 'OperatorRollback') return { reason: failure.Cause ?? 'operator rollback', detectedAt: now };
  return { reason: `deploy failed: ${deployMessage ?? driverFailureMessage(failure)}`, detectedAt: now };
}

/** A one-line summary of a finished release for the Fail state's Cause and notifications. */
export function outcomeLine(summary: ReleaseSummary, status: ReleaseStatus, reason: string): string {
  return `${summary.service} ${summary.digest ?? '(unresolved)'} ${status}: ${reason}`;
}

/**
 * An older digest is never deployed over a newer one that already reached the stage. Returns the
 * reason when the digest running there was pushed after this release's digest, else undefined.
 */
export function supersededReason(
  stage: string,
  ours: { digest: string; pushedAt?: string },
  running: { digest: string; pushedAt?: string },
): string | undefined {
  if (ours.digest === running.digest || !ours.pushedAt || !running.pushedAt) return undefined;
  if (Date.parse(running.pushedAt) <= Date.parse(ours.pushedAt)) return undefined;
  return `superseded: ${stage} already runs ${running.digest} (pushed ${running.pushedAt}), newer than ${ours.digest} (pushed ${ours.pushedAt})`;
}

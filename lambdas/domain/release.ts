/**
 * Release policy that is not a gate: execution names, what a driver is given, how a release ends.
 */
import { createHash } from 'node:crypto';
import type { GantryConfig, StageConfig } from './config';
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

/** Deploy timeout for the workflow: the driver's own timeout plus CodeBuild start-up. */
export function deployTimeoutSeconds(stage: StageConfig): number {
  return stage.deploy.timeoutMinutes * 60 + 600;
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
  // A release whose remaining stages were superseded by a newer digest ends BLOCKED with that reason (CONTRACTS §3).
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
 * through) the stage, and newer: pushed later, or, when either push time is unknown, started later.
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

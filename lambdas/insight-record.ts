/**
 * The insight check's last step (`RecordInsight`): compares each workload read with the ledger's pointer
 * (lambdas/domain/insight.ts), stores the check as one record of the insight hash chain (idempotent by
 * checkId), publishes `Service Stale` and `Drift Detected` on the Gantry bus, and emits the
 * `StaleServices` / `DriftedStages` metrics. Events and metrics only when the record is first written.
 */
import { z } from 'zod';
import { compareWorkload, type DriftFinding, type InsightCheckData, type WorkloadRead, type WorkloadResult, type WorkloadTarget } from './domain/insight';
import { parseWith } from './domain/validation';
import { optionalEnv, requireEnv } from './adapters/env';
import type { Deps, LifecycleEvent } from './ports';
import { emitInsightMetrics } from './shared/insight-metrics';
import { lambdaHandler } from './shared/middleware';

/** Detail-types of the insight events (schemas/insight/*.json). */
export const INSIGHT_DETAIL_TYPES = ['Service Stale', 'Drift Detected'] as const;

const target = z.looseObject({
  service: z.string().min(1),
  stage: z.string().min(1),
  cluster: z.string().min(1),
  clusterName: z.string().min(1),
  region: z.string(),
  namespace: z.string().min(1),
  deployment: z.string().min(1),
  container: z.string().min(1),
  repository: z.string().min(1),
  running: z.string().nullable(),
  lastKnownGood: z.string().nullable(),
  path: z.string(),
});
const read = z.union([
  z.looseObject({ target, ok: z.literal(true), containers: z.array(z.looseObject({ name: z.unknown().optional(), image: z.unknown().optional() })).default([]) }),
  z.looseObject({ target, ok: z.literal(false), error: z.string().default('States.TaskFailed'), cause: z.string().optional() }),
]);
const eventSchema = z.object({
  checkId: z.string().min(1).max(200),
  plan: z.looseObject({
    at: z.string().min(1),
    staleAfterDays: z.number(),
    driftCheck: z.boolean(),
    services: z.record(z.string(), z.looseObject({ firstSeenAt: z.string().optional(), lastPromotedAt: z.string().optional() })),
    stale: z.array(z.looseObject({ service: z.string(), stage: z.string(), reason: z.string() })),
    otherRegion: z.array(target).default([]),
  }),
  reads: z.array(read).default([]),
});

/** The simulation's registry host (the one lambdas/rollout-check.ts and the local clusters use). */
const SIMULATED_REGISTRY = '000000000000.dkr.ecr.local.amazonaws.com';

/** The registry host a pinned image names: ECR_REGISTRY in Lambda; the simulation's placeholder host elsewhere. */
function registry(): string {
  if (process.env.AWS_LAMBDA_FUNCTION_NAME !== undefined) return requireEnv('ECR_REGISTRY');
  return optionalEnv('ECR_REGISTRY', SIMULATED_REGISTRY);
}

export interface InsightRecordResult {
  readonly checkId: string;
  readonly seq: number;
  readonly duplicate: boolean;
  readonly stale: number;
  readonly drifted: number;
  readonly inSync: number;
}

export async function run(event: unknown, deps: Deps): Promise<InsightRecordResult> {
  const e = parseWith(eventSchema, event, 'task input');
  const host = registry();
  const drift: DriftFinding[] = [];
  const inSync: WorkloadResult[] = [];
  for (const r of e.reads) {
    const wr: WorkloadRead = r.ok ? { ok: true, containers: r.containers } : { ok: false, error: r.error, ...(r.cause ? { cause: r.cause } : {}) };
    const result = compareWorkload(r.target as unknown as WorkloadTarget, wr, host);
    if (result.inSync) inSync.push(result);
    else drift.push(result as DriftFinding);
  }
  const region = optionalEnv('AWS_REGION') ?? 'its own region';
  for (const t of e.plan.otherRegion) {
    const cause = `cluster ${t.clusterName} is in ${t.region}; the insight workflow runs in ${region} and Step Functions calls EKS in its own region only`;
    drift.push(compareWorkload(t as unknown as WorkloadTarget, { ok: false, error: 'OtherRegion', cause }, host) as DriftFinding);
  }
  const stale = e.plan.stale as unknown as InsightCheckData['stale'];
  const data: InsightCheckData = {
    staleAfterDays: e.plan.staleAfterDays,
    driftCheck: e.plan.driftCheck,
    services: e.plan.services as InsightCheckData['services'],
    stale,
    drift,
    inSync,
    configHash: deps.configHash,
  };
  const { record, duplicate } = await deps.ledger.putInsight({ checkId: e.checkId, at: e.plan.at, data });
  if (!duplicate) {
    const events: LifecycleEvent[] = [
      ...stale.map((s) => ({
        detailType: 'Service Stale',
        detail: { checkId: e.checkId, service: s.service, stage: s.stage, status: 'STALE', at: record.at, lastPromotedAt: s.lastPromotedAt, since: s.since, days: s.days, staleAfterDays: s.staleAfterDays, reason: s.reason },
      })),
      ...drift.map((d) => ({
        detailType: 'Drift Detected',
        detail: {
          checkId: e.checkId,
          service: d.service,
          stage: d.stage,
          status: 'DRIFTED',
          at: record.at,
          kind: d.kind,
          cluster: d.cluster,
          clusterName: d.clusterName,
          namespace: d.namespace,
          deployment: d.deployment,
          container: d.container,
          expected: d.expected,
          found: d.found,
          reason: d.reason,
        },
      })),
    ];
    if (events.length > 0) await deps.bus.publish(events);
    emitInsightMetrics(stale, drift);
  }
  return { checkId: e.checkId, seq: record.seq, duplicate, stale: stale.length, drifted: drift.length, inSync: inSync.length };
}

export const handler = lambdaHandler(run);

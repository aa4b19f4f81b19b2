/**
 * The insight check's last step (`RecordInsight`): reads the stale services and the stage pointers as of the
 * plan's instant (lambdas/shared/insight-inputs.ts), compares each workload read with the ledger's pointer
 * (lambdas/domain/insight.ts), stores the check as one record of the insight hash chain (idempotent by
 * checkId), publishes `Service Stale` and `Drift Detected` on the Gantry bus, and emits the
 * `StaleServices` / `DriftedStages` metrics. Events and metrics only when the record is first written.
 */
import * as z from 'zod';
import {
  compareWorkload,
  type DriftFinding,
  INSIGHT_RECORD_BUDGET_BYTES,
  type InsightCheckData,
  inSyncEntry,
  insightRecordBytes,
  type WorkloadRead,
  type WorkloadTarget,
} from './domain/insight';
import { parseWith } from './domain/validation';
import { INSIGHT_ANCHOR_ID, insightSignatureSubject } from './domain/audit/signature';
import { signAnchorOnce } from './shared/anchor-signing';
import type { Deps, LifecycleEvent } from './ports';
import { readInsightInputs } from './shared/insight-inputs';
import { emitInsightMetrics } from './shared/insight-metrics';
import { lambdaHandler } from './shared/middleware';

/** Detail-types of the insight events (schemas/insight/*.json). */
export const INSIGHT_DETAIL_TYPES = ['Service Stale', 'Drift Detected', 'Drill Overdue'] as const;

/** What one Map iteration found: the containers (name, and image for the workload's container only), or the error name. */
const read = z.union([
  z.strictObject({
    ok: z.literal(true),
    containers: z
      .array(z.looseObject({ name: z.unknown().optional(), image: z.unknown().optional() }))
      .max(100)
      .default([]),
  }),
  z.strictObject({ ok: z.literal(false), error: z.string().max(200).default('States.TaskFailed') }),
]);
const eventSchema = z.object({
  checkId: z.string().min(1).max(200),
  /** The plan's instant: stale services and pointers are read as of now, judged as of this. */
  at: z.string().refine((s) => !Number.isNaN(Date.parse(s)), { message: 'expected an ISO-8601 instant' }),
  /** The config the plan listed the workloads from. */
  configHash: z.string().min(1),
  /** One read per planned workload, in the plan's order (the Map keeps it). */
  reads: z.array(read).default([]),
});

/** The reads do not belong to this config's workloads (a deploy changed the config between plan and record). */
export class InsightPlanMismatchError extends Error {
  override readonly name = 'InsightPlanMismatchError';
}

/** The check's record would not fit in one DynamoDB item: nothing is written (and no events are published). */
export class InsightRecordTooLargeError extends Error {
  override readonly name = 'InsightRecordTooLargeError';
}

export interface InsightRecordResult {
  readonly checkId: string;
  readonly seq: number;
  readonly duplicate: boolean;
  /** The head's signature: signed, already-signed, or failed (its outcome recorded, decision 048). */
  readonly signature: 'signed' | 'already-signed' | 'failed' | 'skipped';
  readonly stale: number;
  readonly drifted: number;
  readonly inSync: number;
}

export async function run(event: unknown, deps: Deps): Promise<InsightRecordResult> {
  const e = parseWith(eventSchema, event, 'task input');
  if (e.configHash !== deps.configHash) {
    throw new InsightPlanMismatchError(
      `the check ${e.checkId} was planned under config ${e.configHash.slice(0, 12)}…, this is ${deps.configHash.slice(0, 12)}…: its reads cannot be matched to workloads (the next check will run under the new config)`,
    );
  }
  const inputs = await readInsightInputs(deps, e.checkId, new Date(e.at));
  if (e.reads.length !== inputs.workloads.length) {
    throw new InsightPlanMismatchError(`the check ${e.checkId} read ${e.reads.length} workload(s), the config lists ${inputs.workloads.length}`);
  }
  const host = deps.runtime.ecrRegistry;
  const drift: DriftFinding[] = [];
  // In-sync workloads are kept as `<service>/<stage>@<digest>` only; drift keeps its full detail (decision 036).
  const inSync: string[] = [];
  e.reads.forEach((r, i) => {
    const wr: WorkloadRead = r.ok ? { ok: true, containers: r.containers } : { ok: false, error: r.error };
    const result = compareWorkload(inputs.workloads[i] as WorkloadTarget, wr, host);
    if (result.inSync) inSync.push(inSyncEntry(result));
    else drift.push(result as DriftFinding);
  });
  const stale = inputs.stale;
  const data: InsightCheckData = {
    staleAfterDays: deps.config.insight.staleAfterDays,
    driftCheck: deps.config.insight.driftCheck,
    services: inputs.services,
    stale,
    drift,
    inSync,
    configHash: deps.configHash,
    ...(inputs.drillsOverdue ? { drillAfterDays: deps.config.insight.drillAfterDays, drillsOverdue: inputs.drillsOverdue } : {}),
  };
  const bytes = insightRecordBytes({ checkId: e.checkId, at: e.at, data });
  if (bytes > INSIGHT_RECORD_BUDGET_BYTES) {
    throw new InsightRecordTooLargeError(
      `the check ${e.checkId} makes a record of ${bytes} bytes (${drift.length} drifted, ${inSync.length} in sync, ${stale.length} stale), over the ${INSIGHT_RECORD_BUDGET_BYTES} bytes one DynamoDB item leaves it: nothing was recorded`,
    );
  }
  const { record, duplicate } = await deps.ledger.putInsight({ checkId: e.checkId, at: e.at, data });
  if (!duplicate) {
    const events: LifecycleEvent[] = [
      ...stale.map((s) => ({
        detailType: 'Service Stale',
        detail: {
          checkId: e.checkId,
          service: s.service,
          stage: s.stage,
          status: 'STALE',
          at: record.at,
          lastPromotedAt: s.lastPromotedAt,
          since: s.since,
          days: s.days,
          staleAfterDays: s.staleAfterDays,
          reason: s.reason,
        },
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
      // A drillable stage not rehearsed within insight.drillAfterDays (decision 052).
      ...(inputs.drillsOverdue ?? []).map((o) => ({
        detailType: 'Drill Overdue',
        detail: {
          checkId: e.checkId,
          service: o.service,
          stage: o.stage,
          status: 'DRILL_OVERDUE',
          at: record.at,
          lastDrillAt: o.lastDrillAt,
          days: o.daysSince,
          drillAfterDays: o.afterDays,
          reason: o.lastDrillAt
            ? `last successful rollback drill ${o.daysSince} day(s) ago (${o.lastDrillAt}), more than insight.drillAfterDays ${o.afterDays}`
            : `never drilled successfully (insight.drillAfterDays ${o.afterDays}): gantry drill --service ${o.service} --stage ${o.stage}`,
        },
      })),
    ];
    if (events.length > 0) await deps.bus.publish(events);
    emitInsightMetrics(stale, drift, deps.runtime);
  }
  // The chain's head, signed once per check, i.e. daily (decision 048): a rewritten insight chain no longer verifies.
  // The stack always gives this handler the key (ANCHOR_KEY_ARN); a Deps without a signer (a unit test's) skips it.
  const signed = deps.signer
    ? (await signAnchorOnce(deps, insightSignatureSubject(record.seq), { releaseId: INSIGHT_ANCHOR_ID, version: record.seq, lastHash: record.hash })).outcome
    : 'skipped';
  return { checkId: e.checkId, seq: record.seq, duplicate, stale: stale.length, drifted: drift.length, inSync: inSync.length, signature: signed };
}

export const handler = lambdaHandler(run);

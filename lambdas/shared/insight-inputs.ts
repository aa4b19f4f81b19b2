/**
 * What the insight check decides on, read from the config and the ledger as of the check's instant.
 *
 * The workflow's state carries only the workloads the Map reads and what each read found (image references),
 * never the stale findings, service history or ledger pointers: Step Functions refuses a state of more than
 * 256 KiB with States.DataLimitExceeded, which no Catch can handle (docs/decisions/020-aws-fidelity.md).
 * So `PlanInsightCheck` lists the workloads from the config alone, and `RecordInsight` reads the rest here,
 * deriving the same list in the same order (`workloadTargets` of the same config).
 */
import { findStaleServices, type InsightCheckData, serviceHistory, type ServiceHistory, type StaleFinding, workloadTargets, type WorkloadTarget } from '../domain/insight';
import type { ReleaseSummary } from '../domain/ledger';
import type { GantryConfig } from '../domain/config';
import type { Deps } from '../ports';
import { drillableStages, type DrillOverdue, overdueDrills } from '../domain/drill';

/**
 * The stage workloads the check reads (`workloads`, in the Map's order): every workload of the config, in every
 * region and account (issue 18: the plan reads each cluster's endpoint in its own region, with its role in another
 * account, decision 045). Empty when `insight.driftCheck` is false.
 */
export function splitWorkloads(config: GantryConfig, pointers: Parameters<typeof workloadTargets>[1]): { workloads: WorkloadTarget[] } {
  return { workloads: workloadTargets(config, pointers) };
}

export interface InsightInputs {
  readonly services: Record<string, ServiceHistory>;
  readonly stale: StaleFinding[];
  /** The workloads the Map read, with the ledger's pointers, in the Map's order. */
  readonly workloads: WorkloadTarget[];
  /** With `insight.drillAfterDays` (decision 052): the drillable stages whose last successful drill is older, or that were never drilled. */
  readonly drillsOverdue?: DrillOverdue[];
}

/** The drillable stages not drilled successfully within `insight.drillAfterDays` of `at` (none when it is not set). */
export function drillsOverdueOf(config: GantryConfig, summaries: readonly ReleaseSummary[], at: Date): DrillOverdue[] | undefined {
  const afterDays = (config.insight as { drillAfterDays?: number }).drillAfterDays;
  if (afterDays === undefined) return undefined;
  const last = summaries.flatMap((r) =>
    r.kind === 'drill' && r.drill?.status === 'SUCCEEDED' && (r.drill.recordedAt ?? r.endedAt) !== undefined && (r.drill.recordedAt ?? (r.endedAt as string)) <= at.toISOString()
      ? [{ service: r.service, stage: r.drill.stage, at: r.drill.recordedAt ?? (r.endedAt as string) }]
      : [],
  );
  return overdueDrills(drillableStages(config), last, afterDays, at);
}

/**
 * Every release summary of each service, the previous insight record (for `firstSeenAt`), and the stage pointers:
 * the stale services at `at` and the workloads with what the ledger says runs there. A retried step finds its own
 * record already written and takes the one before it as "previous".
 */
export async function readInsightInputs(deps: Deps, checkId: string, at: Date): Promise<InsightInputs> {
  const { config } = deps;
  const summaries: ReleaseSummary[] = [];
  for (const service of Object.keys(config.services).sort()) summaries.push(...(await deps.ledger.listReleases({ service })));
  const previous = (await deps.ledger.listInsights({ last: 2 })).filter((r) => r.checkId !== checkId).at(-1);
  const previousServices = (previous?.data as Partial<InsightCheckData> | undefined)?.services;
  const services = serviceHistory(config, summaries, previousServices, at);
  const pointers: Record<string, { running?: string; lastKnownGood?: string } | undefined> = {};
  if (config.insight.driftCheck) {
    for (const [service, svc] of Object.entries(config.services)) {
      for (const st of svc.stages) pointers[`${service}/${st.name}`] = await deps.ledger.getPointer(service, st.name);
    }
  }
  const drillsOverdue = drillsOverdueOf(config, summaries, at);
  return { services, stale: findStaleServices(config, services, at), ...splitWorkloads(config, pointers), ...(drillsOverdue ? { drillsOverdue } : {}) };
}

/**
 * The insight check's first step (`PlanInsightCheck`): reads the config and the ledger, decides which
 * services are stale, and lists the stage workloads whose running image the workflow reads next
 * (`aws-sdk:eks:describeCluster` → `eks:call` GET, one Map iteration each). Writes nothing.
 */
import { z } from 'zod';
import { findStaleServices, type InsightCheckData, serviceHistory, type StaleFinding, workloadTargets, type WorkloadTarget } from './domain/insight';
import type { ReleaseSummary } from './domain/ledger';
import { parseWith } from './domain/validation';
import { optionalEnv } from './adapters/env';
import type { Deps } from './ports';
import { lambdaHandler } from './shared/middleware';

const eventSchema = z.object({
  /** Unique per check: the execution name (the workflow passes `$$.Execution.Name`). */
  checkId: z.string().min(1).max(200),
});

export interface InsightPlan {
  readonly checkId: string;
  /** The check's time: every finding is as of this instant. */
  readonly at: string;
  readonly staleAfterDays: number;
  readonly driftCheck: boolean;
  readonly services: InsightCheckData['services'];
  readonly stale: StaleFinding[];
  readonly workloads: WorkloadTarget[];
  /**
   * Workloads on clusters of another region than the workflow's: `aws-sdk:eks:describeCluster` calls EKS in
   * the workflow's own region, so they are not read and are recorded as unreadable, saying why.
   */
  readonly otherRegion: WorkloadTarget[];
}

/** The region the workflow runs in (AWS_REGION, in Lambda only); unknown in the simulation, where nothing is set aside. */
const WORKFLOW_REGION = process.env.AWS_LAMBDA_FUNCTION_NAME !== undefined ? optionalEnv('AWS_REGION') : undefined;

export async function run(event: unknown, deps: Deps): Promise<InsightPlan> {
  const e = parseWith(eventSchema, event, 'task input');
  const now = deps.now();
  const { config } = deps;
  const summaries: ReleaseSummary[] = [];
  for (const service of Object.keys(config.services).sort()) summaries.push(...(await deps.ledger.listReleases({ service })));
  const [previous] = await deps.ledger.listInsights({ last: 1 });
  const previousServices = (previous?.data as Partial<InsightCheckData> | undefined)?.services;
  const services = serviceHistory(config, summaries, previousServices, now);
  const pointers: Record<string, { running?: string; lastKnownGood?: string } | undefined> = {};
  if (config.insight.driftCheck) {
    for (const [service, svc] of Object.entries(config.services)) {
      for (const st of svc.stages) pointers[`${service}/${st.name}`] = await deps.ledger.getPointer(service, st.name);
    }
  }
  return {
    checkId: e.checkId,
    at: now.toISOString(),
    staleAfterDays: config.insight.staleAfterDays,
    driftCheck: config.insight.driftCheck,
    services,
    stale: findStaleServices(config, services, now),
    ...splitByRegion(workloadTargets(config, pointers), WORKFLOW_REGION),
  };
}

function splitByRegion(targets: WorkloadTarget[], region: string | undefined): { workloads: WorkloadTarget[]; otherRegion: WorkloadTarget[] } {
  if (!region) return { workloads: targets, otherRegion: [] };
  return { workloads: targets.filter((t) => t.region === region), otherRegion: targets.filter((t) => t.region !== region) };
}

export const handler = lambdaHandler(run);

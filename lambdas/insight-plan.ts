/**
 * The insight check's first step (`PlanInsightCheck`): lists the stage workloads whose running image the
 * workflow reads next (`aws-sdk:eks:describeCluster` → `eks:call` GET, one Map iteration each), from the config
 * alone, and fixes the check's instant. Writes nothing, reads nothing from the ledger.
 *
 * Each workload is only what an iteration needs (cluster name, GET path, container name): the workflow's state
 * must stay under Step Functions' 256 KiB for 1,000 workloads and more. `RecordInsight` derives the same list,
 * with the ledger's pointers, from the same config (lambdas/shared/insight-inputs.ts); `configHash` lets it
 * refuse reads planned under another config.
 */
import * as z from 'zod';
import { parseWith } from './domain/validation';
import type { Deps } from './ports';
import { splitWorkloads } from './shared/insight-inputs';
import { lambdaHandler } from './shared/middleware';

const eventSchema = z.object({
  /** Unique per check: the execution name (the workflow passes `$$.Execution.Name`). */
  checkId: z.string().min(1).max(200),
});

/** One Map item: the Deployment to GET and the container whose image drift compares. */
export interface WorkloadToRead {
  readonly clusterName: string;
  readonly path: string;
  readonly container: string;
}

export interface InsightPlan {
  readonly checkId: string;
  /** The check's time: every finding is as of this instant. */
  readonly at: string;
  /** sha256 of the config the workloads were listed from. */
  readonly configHash: string;
  /** The workloads on clusters of the workflow's region, in `workloadTargets` order. */
  readonly workloads: WorkloadToRead[];
}

export async function run(event: unknown, deps: Deps): Promise<InsightPlan> {
  const e = parseWith(eventSchema, event, 'task input');
  const { workloads } = splitWorkloads(deps.config, {}, deps.runtime.region);
  return {
    checkId: e.checkId,
    at: deps.now().toISOString(),
    configHash: deps.configHash,
    workloads: workloads.map((w) => ({ clusterName: w.clusterName, path: w.path, container: w.container })),
  };
}

export const handler = lambdaHandler(run);

/**
 * The insight check's first step (`PlanInsightCheck`): lists the stage workloads whose running image the
 * workflow reads next (`eks:call` GET, one Map iteration each), from the config alone, reads the endpoint and
 * certificate authority of each cluster they run on (eks:DescribeCluster in the cluster's region, with the cluster's
 * role in another account: decision 045), and fixes the check's instant. Writes nothing, reads nothing from the ledger.
 *
 * Each workload is only what an iteration needs (the index of its cluster, GET path, container name), and each cluster
 * is listed once: the workflow's state must stay under Step Functions' 256 KiB for 1,000 workloads and more.
 * `RecordInsight` derives the same list, with the ledger's pointers, from the same config
 * (lambdas/shared/insight-inputs.ts); `configHash` lets it refuse reads planned under another config.
 */
import * as z from 'zod';
import { clusterScope, taskRoleArn } from './domain/cluster-scope';
import { parseWith } from './domain/validation';
import type { Deps } from './ports';
import { describeClusterOf } from './shared/clusters';
import { splitWorkloads } from './shared/insight-inputs';
import { lambdaHandler, logger } from './shared/middleware';

const eventSchema = z.object({
  /** Unique per check: the execution name (the workflow passes `$$.Execution.Name`). */
  checkId: z.string().min(1).max(200),
});

/** One Map item: the Deployment to GET, on which cluster (an index into `clusters`), and the container drift compares. */
export interface WorkloadToRead {
  readonly cluster: number;
  readonly path: string;
  readonly container: string;
}

/** A cluster the workloads run on: how eks:call reaches it, or why it cannot (its workloads are then unreadable). */
export type ClusterToRead =
  | { readonly clusterName: string; readonly roleArn: string; readonly endpoint: string; readonly certificateAuthority: string }
  | { readonly clusterName: string; readonly error: string };

export interface InsightPlan {
  readonly checkId: string;
  /** The check's time: every finding is as of this instant. */
  readonly at: string;
  /** sha256 of the config the workloads were listed from. */
  readonly configHash: string;
  readonly clusters: ClusterToRead[];
  /** Every stage workload, in `workloadTargets` order. */
  readonly workloads: WorkloadToRead[];
}

/** The role session name of the check's reads in other accounts. */
const SESSION = 'gantry-insight-check';

export async function run(event: unknown, deps: Deps): Promise<InsightPlan> {
  const e = parseWith(eventSchema, event, 'task input');
  const { workloads } = splitWorkloads(deps.config, {});
  const index = new Map<string, number>();
  const clusters: ClusterToRead[] = [];
  for (const w of workloads) {
    if (index.has(w.cluster)) continue;
    index.set(w.cluster, clusters.length);
    try {
      const roleArn = taskRoleArn(clusterScope(deps.config, w.cluster), deps.runtime.clusterAccessRoleArn);
      clusters.push({ clusterName: w.clusterName, roleArn, ...(await describeClusterOf(deps, w.cluster, SESSION)) });
    } catch (err) {
      // A cluster that cannot be described is a finding of each of its workloads (unreadable), not a failed check.
      const error = (err as Error).name || 'Error';
      logger.warn('insight check: cannot describe cluster', { cluster: w.cluster, error, message: (err as Error).message });
      clusters.push({ clusterName: w.clusterName, error });
    }
  }
  return {
    checkId: e.checkId,
    at: deps.now().toISOString(),
    configHash: deps.configHash,
    clusters,
    workloads: workloads.map((w) => ({ cluster: index.get(w.cluster) as number, path: w.path, container: w.container })),
  };
}

export const handler = lambdaHandler(run);

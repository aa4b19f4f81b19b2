/**
 * The one way handlers reach a cluster's account and region (issue 18, docs/decisions/045-clusters-in-other-accounts.md):
 * CloudWatch alarms and metrics, and eks:DescribeCluster. Alarms of the home scope (Gantry's own account and the
 * handler's region) go through `deps.alarms` and make exactly the requests they made before; any other scope through
 * `deps.scoped`, with the cluster role's credentials when the cluster is in another account. DescribeCluster always
 * runs as the cluster's task role (its roleArn, else the ClusterAccessRole).
 */
import { ConfigError } from '../adapters/errors';
import { ClusterAccessError, type ClusterScope, clusterScope, isHomeScope, taskRoleArn } from '../domain/cluster-scope';
import type { AlarmReader, ClusterConnection, Deps, MetricReader, ScopedReaders } from '../ports';

/** A handler's session name in the target account (`gantry-<releaseId>`, or `gantry-<what>` outside a release). */
export type SessionName = string;

function scopedOf(deps: Deps, scope: ClusterScope): ScopedReaders {
  if (!deps.scoped) {
    throw new ConfigError(
      `cluster ${scope.cluster} is in ${scope.account ? `account ${scope.account}, ` : ''}region ${scope.region}: this function has no readers outside its own account and region`,
    );
  }
  return deps.scoped;
}

/** DescribeAlarms in the scope: `deps.alarms` at home, else the scope's CloudWatch (with the assumed role for another account). */
export function alarmsIn(deps: Deps, scope: ClusterScope, sessionName: SessionName): AlarmReader {
  return isHomeScope(scope, deps.runtime.region) ? deps.alarms : scopedOf(deps, scope).alarmsIn(scope, sessionName);
}

/**
 * GetMetricData in the account and region of one cluster (for canary analysis): `deps.metrics` (the function's own
 * client) for the home scope, as the canary analysis reads today; else the scope's CloudWatch, with the cluster's role
 * in another account.
 */
export function metricsFor(deps: Deps, cluster: string, sessionName: SessionName): MetricReader {
  const scope = clusterScope(deps.config, cluster);
  if (isHomeScope(scope, deps.runtime.region) && deps.metrics) return deps.metrics;
  return scopedOf(deps, scope).metricsIn(scope, sessionName);
}

/**
 * eks:DescribeCluster of a configured cluster, in its region, as the role its eks:call runs with (STS AssumeRole):
 * the cluster's `roleArn` in another account, the stack's ClusterAccessRole in the own account (which holds
 * eks:DescribeCluster on the own-account clusters; the plan handlers' own roles do not, decision 046).
 */
export async function describeClusterOf(deps: Deps, cluster: string, sessionName: SessionName): Promise<ClusterConnection> {
  const c = deps.config.clusters[cluster] as { name: string };
  let scope: ClusterScope = clusterScope(deps.config, cluster);
  try {
    scope = { ...scope, roleArn: taskRoleArn(scope, deps.runtime.clusterAccessRoleArn) };
    return await scopedOf(deps, scope).eksIn(scope, sessionName).describeCluster(c.name);
  } catch (e) {
    if (e instanceof ClusterAccessError) throw e;
    const err = e as Error;
    const where = `${scope.account ? `account ${scope.account}, ` : ''}region ${scope.region}${scope.roleArn ? ` as ${scope.roleArn}` : ''}`;
    throw new ClusterAccessError(`cannot describe cluster ${c.name} (${where}): ${err.name}: ${err.message}`, { cause: e });
  }
}

/**
 * Where a cluster is, and how Gantry reaches it (issue 18, docs/decisions/045-clusters-in-other-accounts.md).
 * Pure: no AWS SDK, no clock.
 *
 * A cluster without `account` is in Gantry's own account: the handlers reach its CloudWatch and EKS APIs with their
 * own role, in the cluster's region. A cluster with `account` names the `roleArn` Gantry assumes there (config.ts
 * refuses one without the other). Step Functions' `eks:call` always runs with a role (the task's `Credentials`):
 * the cluster's `roleArn`, or, in the own account, the stack's ClusterAccessRole.
 */
import type { GantryConfig } from './config';
import { ROLE_ARN_PATTERN } from './config';

/** A cluster key that is not in the config, or a value that must not reach an AWS request. */
export class ClusterScopeError extends Error {
  override readonly name = 'ClusterScopeError';
}

/**
 * A cluster Gantry cannot reach: its role cannot be assumed, or eks:DescribeCluster refuses or does not know it. The
 * Kubernetes plan fails with it, and the workflow takes the deploy's failure path (not the internal-error path).
 */
export class ClusterAccessError extends Error {
  override readonly name = 'ClusterAccessError';
}

/** The account and region of one cluster, and the role assumed there (other accounts only). */
export interface ClusterScope {
  /** The config key (`clusters.<key>`). */
  readonly cluster: string;
  /** The cluster's account; absent: Gantry's own. */
  readonly account?: string;
  readonly region: string;
  /** The role the handlers assume to reach the cluster's account: set exactly when `account` is. */
  readonly roleArn?: string;
}

/** The scope of a configured cluster. @throws ClusterScopeError for a key the config does not have. */
export function clusterScope(config: GantryConfig, cluster: string): ClusterScope {
  const c = Object.hasOwn(config.clusters, cluster) ? config.clusters[cluster] : undefined;
  if (!c) throw new ClusterScopeError(`cluster ${JSON.stringify(cluster)} is not a key of "clusters" (${Object.keys(config.clusters).join(', ') || 'none defined'})`);
  return { cluster, region: c.region, ...(c.account !== undefined ? { account: c.account } : {}), ...(c.roleArn !== undefined ? { roleArn: c.roleArn } : {}) };
}

/**
 * The role a workflow's `eks:call` runs with for this cluster (the task's `Credentials.RoleArn`): the cluster's
 * `roleArn`, else the stack's ClusterAccessRole (GANTRY_CLUSTER_ACCESS_ROLE_ARN in Lambda).
 */
export function taskRoleArn(scope: ClusterScope, clusterAccessRoleArn: string | undefined): string {
  const arn = scope.roleArn ?? clusterAccessRoleArn;
  if (arn === undefined) {
    throw new ClusterScopeError(
      `no role to reach cluster ${scope.cluster}: it names no roleArn and GANTRY_CLUSTER_ACCESS_ROLE_ARN (the stack's ClusterAccessRole) is not set for this function`,
    );
  }
  if (!ROLE_ARN_PATTERN.test(arn))
    throw new ClusterScopeError(`refusing to use ${JSON.stringify(arn)} as the role of cluster ${scope.cluster} (expected ${ROLE_ARN_PATTERN.source})`);
  return arn;
}

/**
 * Whether a scope is the handler's own place: its own account, and its own region (or a region the handler does not
 * know, as in the simulation). Reads there make exactly the requests Gantry made before issue 18 (`deps.alarms`).
 */
export function isHomeScope(scope: Pick<ClusterScope, 'account' | 'region'>, homeRegion: string | undefined): boolean {
  return scope.account === undefined && (homeRegion === undefined || scope.region === homeRegion);
}

/** The distinct scopes of some clusters, in the order first named (two keys on one account/region/role read once). */
export function distinctScopes(config: GantryConfig, clusters: readonly string[]): ClusterScope[] {
  const seen = new Map<string, ClusterScope>();
  for (const key of clusters) {
    const s = clusterScope(config, key);
    const id = `${s.account ?? ''}|${s.region}|${s.roleArn ?? ''}`;
    if (!seen.has(id)) seen.set(id, s);
  }
  return [...seen.values()];
}

/**
 * The key a BAKE token is indexed under for one alarm it watches (`TokenRecord.alarms`, `tokensForAlarm`): the alarm
 * name for an alarm of the home scope (the keys tokens had before issue 18), else
 * `<account>:<region>:alarm:<name>`, with `self` for Gantry's own account in another region. An alarm named the
 * same in another account or region is another key, so its events never reach this bake.
 */
export function alarmIndexKey(scope: Pick<ClusterScope, 'account' | 'region'>, alarmName: string, homeRegion: string | undefined): string {
  if (isHomeScope(scope, homeRegion)) return alarmName;
  return `${scope.account ?? 'self'}:${scope.region}:alarm:${alarmName}`;
}

/**
 * The index key an Alarm State Change event reaches: the event's account is another account when a configured
 * cluster names it (the only accounts whose events the Gantry bus accepts, GantryTargetAccount); any other account
 * is Gantry's own.
 */
export function eventAlarmKey(config: GantryConfig, event: { account?: string; region?: string; alarmName: string }, homeRegion: string | undefined): string {
  const others = new Set(Object.values(config.clusters).flatMap((c) => (c.account !== undefined ? [c.account] : [])));
  const account = event.account !== undefined && others.has(event.account) ? event.account : undefined;
  return alarmIndexKey({ ...(account !== undefined ? { account } : {}), region: event.region ?? homeRegion ?? '' }, event.alarmName, homeRegion);
}

/** STS role session names: 2-64 of letters, digits and +=,.@- */
export const SESSION_NAME_PATTERN = /^[\w+=,.@-]{2,64}$/;

/** The role session name of a handler's AssumeRole: `gantry-<releaseId>` (CloudTrail in the target account shows it), checked. */
export function roleSessionName(releaseId: string): string {
  const name = `gantry-${releaseId}`.slice(0, 64);
  if (!SESSION_NAME_PATTERN.test(name)) throw new ClusterScopeError(`refusing ${JSON.stringify(releaseId)} in a role session name (expected ${SESSION_NAME_PATTERN.source})`);
  return name;
}

/**
 * How Gantry reaches its clusters (issue 18, decision 046): one role per stack, the **ClusterAccessRole**, for the
 * clusters in Gantry's own account, and the configured `clusters.<key>.roleArn` (a GantryTargetAccount role) for a
 * cluster in another account.
 *
 * - Every `eks:call` Task carries `Credentials: { RoleArn.$ }`, so Step Functions assumes that role for the call: the
 *   Kubernetes API sees the ClusterAccessRole (or the target role), not the workflow role, and the EKS access entry
 *   names it (lib/EksAccessEntries.ts).
 * - The plan handlers (rollout-check, insight-plan) describe the cluster themselves, in its region, with the same
 *   role's credentials (STS AssumeRole), so the role holds `eks:DescribeCluster` on the own-account clusters and the
 *   workflows hold none.
 * - The handlers that read alarms read another account's alarms with that account's target role; they read their own
 *   account's with their own role (decision 045), so they may assume the target roles only.
 *
 * Pure derivation from the config (`clusterAccess`) and the construct that makes the role and its grants.
 */
import { Stack } from 'aws-cdk-lib';
import { ArnPrincipal, CompositePrincipal, type IRole, PolicyStatement, Role } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { type GantryConfig, type StageConfig, stageClusters, stageWorkload } from '../lambdas/domain/config';

/** The handler environment variable naming the ClusterAccessRole (shapes of issue 18). */
export const CLUSTER_ACCESS_ROLE_ENV = 'GANTRY_CLUSTER_ACCESS_ROLE_ARN';

/** The handlers that plan Kubernetes calls or read a cluster: they describe it with the cluster's role (decision 045). */
export const CLUSTER_PLANNING_HANDLERS = ['rollout-check', 'insight-plan'] as const;

export class ClusterAccessError extends Error {
  override readonly name = 'ClusterAccessError';
}

/** A cluster Gantry reaches, as the stack sees it. */
export interface ReachedCluster {
  readonly key: string;
  readonly name: string;
  readonly region: string;
  /** Set for a cluster in another account (then `roleArn` is set too). */
  readonly account?: string;
  readonly roleArn?: string;
}

export interface ClusterAccess {
  /** Own-account clusters the workflows call with the ClusterAccessRole: Kubernetes stages', and the drift check's. */
  readonly ownClusters: readonly ReachedCluster[];
  /** Clusters in other accounts, each with its role (any stage's: the CodeBuild drivers assume it too). */
  readonly otherAccountClusters: readonly ReachedCluster[];
  /** Every configured cross-account role ARN, sorted, once. */
  readonly targetRoleArns: readonly string[];
  /** The accounts the clusters name, sorted, once: each may put alarm events on Gantry's default bus. */
  readonly targetAccounts: readonly string[];
}

/** Every cluster key a stage reaches (its waves', decision 044): the config's own helper. */
export const stageClusterKeys = (st: StageConfig): string[] => [...stageClusters(st)];

/** Which clusters Gantry reaches and how, from the parsed config. */
export function clusterAccess(config: GantryConfig): ClusterAccess {
  const byKey = (key: string): ReachedCluster | undefined => {
    const c = Object.hasOwn(config.clusters, key) ? config.clusters[key] : undefined;
    if (!c) return undefined;
    const { account, roleArn } = c as { account?: string; roleArn?: string };
    return { key, name: c.name, region: c.region, ...(account ? { account } : {}), ...(roleArn ? { roleArn } : {}) };
  };
  const called = new Set<string>();
  for (const svc of Object.values(config.services)) {
    for (const st of svc.stages) {
      for (const key of stageClusterKeys(st)) {
        if (st.deploy.driver === 'kubernetes') called.add(key);
        if (config.insight.driftCheck && stageWorkload(st) !== undefined) called.add(key);
      }
    }
  }
  const all = Object.keys(config.clusters)
    .sort()
    .map((k) => byKey(k) as ReachedCluster);
  const ownClusters = all.filter((c) => c.account === undefined && called.has(c.key));
  const otherAccountClusters = all.filter((c) => c.account !== undefined);
  for (const c of otherAccountClusters) {
    if (!c.roleArn) throw new ClusterAccessError(`clusters.${c.key}: account ${c.account} needs roleArn (the role Gantry assumes there)`);
  }
  return {
    ownClusters,
    otherAccountClusters,
    targetRoleArns: [...new Set(otherAccountClusters.map((c) => c.roleArn as string))].sort(),
    targetAccounts: [...new Set(otherAccountClusters.map((c) => c.account as string))].sort(),
  };
}

export interface ClusterAccessRoleProps {
  readonly config: GantryConfig;
  /**
   * Exactly the principals that may assume it: the release, rollback and insight workflow roles (their `eks:call`
   * Tasks' `Credentials`) and the roles of CLUSTER_PLANNING_HANDLERS.
   */
  readonly trustedRoles: readonly IRole[];
}

export class ClusterAccessRole extends Construct {
  public readonly role: Role;
  public readonly access: ClusterAccess;
  /** The `eks:DescribeCluster` resources (own-account clusters only), sorted. */
  public readonly describedClusterArns: readonly string[];

  constructor(scope: Construct, id: string, props: ClusterAccessRoleProps) {
    super(scope, id);
    if (!props.config?.clusters || !props.config.services) throw new ClusterAccessError('ClusterAccessRoleProps.config must be a parsed Gantry config (parseConfig(...))');
    if (!props.trustedRoles || props.trustedRoles.length === 0) throw new ClusterAccessError('ClusterAccessRoleProps.trustedRoles must name at least one role');
    const stack = Stack.of(this);
    this.access = clusterAccess(props.config);
    this.role = new Role(this, 'Role', {
      assumedBy: new CompositePrincipal(...props.trustedRoles.map((r) => new ArnPrincipal(r.roleArn))),
      description: "Gantry: the workflows' eks:call Tasks and the plan handlers reach the clusters of Gantry's own account with this role",
    });
    this.describedClusterArns = [
      ...new Set(this.access.ownClusters.map((c) => stack.formatArn({ service: 'eks', region: c.region, resource: 'cluster', resourceName: c.name }))),
    ].sort();
    if (this.describedClusterArns.length > 0) {
      this.role.addToPolicy(new PolicyStatement({ sid: 'DescribeOwnAccountClusters', actions: ['eks:DescribeCluster'], resources: [...this.describedClusterArns] }));
    }
  }

  /** `sts:AssumeRole` on the ClusterAccessRole and on every configured cross-account role (nothing wider). */
  grantAssumeAll(grantee: IRole): void {
    grantee.addToPrincipalPolicy(new PolicyStatement({ sid: 'AssumeClusterRoles', actions: ['sts:AssumeRole'], resources: [this.role.roleArn, ...this.access.targetRoleArns] }));
  }

  /** `sts:AssumeRole` on the configured cross-account roles only (alarm readers, CodeBuild drivers); nothing when there are none. */
  grantAssumeTargetRoles(grantee: IRole, roleArns: readonly string[] = this.access.targetRoleArns): void {
    if (roleArns.length === 0) return;
    grantee.addToPrincipalPolicy(new PolicyStatement({ sid: 'AssumeTargetAccountRoles', actions: ['sts:AssumeRole'], resources: [...new Set(roleArns)].sort() }));
  }
}

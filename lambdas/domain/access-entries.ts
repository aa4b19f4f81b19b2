/**
 * Which of Gantry's roles needs an EKS access entry on which cluster, with which access, in which namespaces:
 * derived from the config once, and used both by the stack (lib/EksAccessEntries.ts creates the entries of
 * clusters with `accessEntries: "create"`) and by `gantry doctor` (lambdas/domain/doctor.ts checks them).
 * Pure: no AWS SDK.
 *
 * Access policies are EKS's own (https://docs.aws.amazon.com/eks/latest/userguide/access-policy-permissions.html):
 * `AmazonEKSEditPolicy` for roles that change workloads, `AmazonEKSViewPolicy` for the insight check, which only reads.
 * Their ARNs are `arn:<partition>:eks::aws:cluster-access-policy/<name>`.
 */
import { accessEntriesMode, type GantryConfig, stageClusters, stageWorkload } from './config';

/** Gantry's roles that talk to a cluster's Kubernetes API. */
export const ACCESS_ROLES = ['helmDriver', 'terraformDriver', 'releaseWorkflow', 'rollbackWorkflow', 'insightWorkflow'] as const;
export type AccessRole = (typeof ACCESS_ROLES)[number];

/**
 * The stack output that names the principal of each role's access entry (lib/GantryStack.ts). The workflows'
 * `eks:call` Tasks run as the ClusterAccessRole (their `Credentials`, decision 046), so its entry is theirs.
 */
export const ACCESS_ROLE_OUTPUTS: Readonly<Record<AccessRole, string>> = {
  helmDriver: 'HelmDriverRoleArn',
  terraformDriver: 'TerraformDriverRoleArn',
  releaseWorkflow: 'ClusterAccessRoleArn',
  rollbackWorkflow: 'ClusterAccessRoleArn',
  insightWorkflow: 'ClusterAccessRoleArn',
};

/** Each role in words, for messages. */
export const ACCESS_ROLE_LABELS: Readonly<Record<AccessRole, string>> = {
  helmDriver: 'the Helm driver role',
  terraformDriver: 'the Terraform driver role',
  releaseWorkflow: 'the cluster access role for the release workflow (Kubernetes driver, eks:call)',
  rollbackWorkflow: 'the cluster access role for the rollback workflow (Kubernetes driver, eks:call)',
  insightWorkflow: 'the cluster access role for the insight workflow (drift check, eks:call GET)',
};

export type AccessLevel = 'edit' | 'view';

/** The access policy the stack associates for each level. */
export const ACCESS_POLICY_FOR: Readonly<Record<AccessLevel, string>> = { edit: 'AmazonEKSEditPolicy', view: 'AmazonEKSViewPolicy' };

/**
 * Access policies that grant at least a level in the namespaces they are scoped to (the view and edit policies
 * mirror Kubernetes' `view` and `edit` cluster roles; admin and cluster-admin include both).
 */
export const POLICIES_GRANTING: Readonly<Record<AccessLevel, readonly string[]>> = {
  edit: ['AmazonEKSEditPolicy', 'AmazonEKSAdminPolicy', 'AmazonEKSClusterAdminPolicy'],
  view: ['AmazonEKSViewPolicy', 'AmazonEKSAdminViewPolicy', 'AmazonEKSEditPolicy', 'AmazonEKSAdminPolicy', 'AmazonEKSClusterAdminPolicy'],
};

/** `arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy` (the partition may be a CDK token). */
export function accessPolicyArn(policyName: string, partition = 'aws'): string {
  return `arn:${partition}:eks::aws:cluster-access-policy/${policyName}`;
}

/** The access policy name of an access policy ARN, or undefined when it is not one. */
export function accessPolicyName(policyArn: string): string | undefined {
  return /^arn:[a-z-]+:eks::aws:cluster-access-policy\/([A-Za-z0-9]+)$/.exec(policyArn)?.[1];
}

export interface AccessRequirement {
  /** The key of `clusters` in the config. */
  readonly clusterKey: string;
  readonly clusterName: string;
  readonly region: string;
  /** Whether the stack creates the entry (`create`) or the deployer does (`document`). */
  readonly mode: 'create' | 'document';
  readonly role: AccessRole;
  readonly level: AccessLevel;
  /** The stage namespaces on that cluster, sorted, each once. */
  readonly namespaces: readonly string[];
  /** The stages that need it, `service/stage`. */
  readonly stages: readonly string[];
  /**
   * The Terraform driver's role talks to a cluster only when the stage's module uses the `kubernetes` or `helm`
   * provider through the driver's own credentials (docs/drivers.md): `gantry doctor` does not fail on its absence.
   */
  readonly optional: boolean;
}

/**
 * Every (cluster, role) pair that needs an access entry, in a stable order (cluster key, then ACCESS_ROLES):
 * - Helm stages: the Helm driver role, edit;
 * - Terraform stages: the Terraform driver role, edit (optional, see AccessRequirement.optional);
 * - Kubernetes stages: the release and the rollback workflow roles (eks:call reads and writes the Deployment), edit;
 * - stages with a workload, when `insight.driftCheck` is on: the insight workflow role (eks:call GET), view.
 */
export function accessRequirements(config: GantryConfig): AccessRequirement[] {
  const needs = new Map<string, { clusterKey: string; role: AccessRole; level: AccessLevel; namespaces: Set<string>; stages: string[] }>();
  const need = (clusterKey: string, role: AccessRole, level: AccessLevel, namespace: string, stage: string) => {
    const key = `${clusterKey}\u0000${role}`;
    const n = needs.get(key) ?? { clusterKey, role, level, namespaces: new Set<string>(), stages: [] };
    n.namespaces.add(namespace);
    n.stages.push(stage);
    needs.set(key, n);
  };
  for (const [service, svc] of Object.entries(config.services)) {
    // Every cluster of a stage: a stage with waves deploys to each (decision 044).
    for (const st of svc.stages) {
      const where = `${service}/${st.name}`;
      for (const key of stageClusters(st)) {
        if (st.deploy.driver === 'helm') need(key, 'helmDriver', 'edit', st.namespace, where);
        if (st.deploy.driver === 'terraform') need(key, 'terraformDriver', 'edit', st.namespace, where);
        if (st.deploy.driver === 'kubernetes') {
          need(key, 'releaseWorkflow', 'edit', st.namespace, where);
          need(key, 'rollbackWorkflow', 'edit', st.namespace, where);
        }
        if (config.insight.driftCheck && stageWorkload(st) !== undefined) need(key, 'insightWorkflow', 'view', st.namespace, where);
      }
    }
  }
  const out: AccessRequirement[] = [];
  for (const n of needs.values()) {
    const cluster = Object.hasOwn(config.clusters, n.clusterKey) ? config.clusters[n.clusterKey] : undefined;
    if (!cluster) continue; // parseConfig refuses a stage naming an unknown cluster
    out.push({
      clusterKey: n.clusterKey,
      clusterName: cluster.name,
      region: cluster.region,
      mode: accessEntriesMode(cluster),
      role: n.role,
      level: n.level,
      namespaces: [...n.namespaces].sort(),
      stages: n.stages,
      optional: n.role === 'terraformDriver',
    });
  }
  return out.sort((a, b) => a.clusterKey.localeCompare(b.clusterKey) || ACCESS_ROLES.indexOf(a.role) - ACCESS_ROLES.indexOf(b.role));
}

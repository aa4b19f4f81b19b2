/**
 * EKS access entries for Gantry's roles, on the clusters whose config says `accessEntries: "create"`: one
 * `AWS::EKS::AccessEntry` per (cluster, role) that needs one (lambdas/domain/access-entries.ts), of type STANDARD,
 * with one access policy scoped to the stage namespaces of that cluster: `AmazonEKSEditPolicy` for the drivers and
 * the release and rollback workflows, `AmazonEKSViewPolicy` for the insight workflow, which only reads.
 *
 * The clusters are not part of the stack, so this is the L1 `CfnAccessEntry`, which names its cluster by name
 * (`ClusterName`, CloudFormation User Guide "AWS::EKS::AccessEntry"): CloudFormation creates the entry in the stack's
 * own region, so a `create` cluster must be in it. A cluster with `accessEntries` absent or `"document"` gets
 * nothing here; docs/deploying.md gives the commands. See docs/decisions/026-doctor-and-access-entries.md.
 */
import { Stack, Token } from 'aws-cdk-lib';
import { CfnAccessEntry } from 'aws-cdk-lib/aws-eks';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { ACCESS_POLICY_FOR, type AccessLevel, type AccessRequirement, type AccessRole, accessPolicyArn, accessRequirements } from '../lambdas/domain/access-entries';
import type { GantryConfig } from '../lambdas/domain/config';

export interface EksAccessEntriesProps {
  /** The parsed config: its clusters with `accessEntries: "create"` get entries. */
  readonly config: GantryConfig;
  /** The role behind each of Gantry's Kubernetes callers. */
  readonly roles: Readonly<Record<AccessRole, IRole>>;
}

export class EksAccessEntriesError extends Error {
  override readonly name = 'EksAccessEntriesError';
}

export interface CreatedAccessEntry {
  readonly requirement: AccessRequirement;
  readonly entry: CfnAccessEntry;
}

export class EksAccessEntries extends Construct {
  /** The entries made, with what each is for (empty when no cluster says `create`). */
  public readonly entries: readonly CreatedAccessEntry[];

  constructor(scope: Construct, id: string, props: EksAccessEntriesProps) {
    super(scope, id);
    if (!props.config?.clusters || !props.config.services) throw new EksAccessEntriesError('EksAccessEntriesProps.config must be a parsed Gantry config (parseConfig(...))');
    const stack = Stack.of(this);
    const wanted = accessRequirements(props.config).filter((r) => r.mode === 'create');
    const missingRoles = [...new Set(wanted.map((r) => r.role))].filter((role) => !props.roles?.[role]);
    if (missingRoles.length > 0) throw new EksAccessEntriesError(`EksAccessEntriesProps.roles has no ${missingRoles.join(', ')}`);
    // CloudFormation creates an access entry in the stack's region: a cluster elsewhere cannot get one from here.
    if (!Token.isUnresolved(stack.region)) {
      const elsewhere = [...new Set(wanted.filter((r) => r.region !== stack.region).map((r) => `clusters.${r.clusterKey} (${r.clusterName} in ${r.region})`))];
      if (elsewhere.length > 0) {
        throw new EksAccessEntriesError(
          `${elsewhere.join(', ')}: accessEntries "create" needs the cluster in the stack's region ${stack.region} (CloudFormation creates access entries in its own region); use "document" and create the entries in the cluster's region`,
        );
      }
    }
    // A cluster in another account gets its entries from the GantryTargetAccount stack in that account.
    const foreign = [...new Set(wanted.filter((r) => accountOf(props.config, r.clusterKey) !== undefined).map((r) => `clusters.${r.clusterKey}`))];
    if (foreign.length > 0) {
      throw new EksAccessEntriesError(
        `${foreign.join(', ')}: accessEntries "create" applies to clusters in Gantry's own account; a cluster with account gets its access entry from the GantryTargetAccount stack deployed in that account (docs/deploying.md), so use "document" or leave accessEntries out`,
      );
    }
    // One entry per (cluster, principal): roles that share a principal (the workflows share the ClusterAccessRole)
    // get one entry with one access policy per level, each scoped to that level's namespaces.
    const groups = new Map<string, { requirements: AccessRequirement[]; role: IRole }>();
    for (const requirement of wanted) {
      const role = props.roles[requirement.role];
      const key = `${requirement.clusterKey}\u0000${role.node.path}`;
      const g = groups.get(key) ?? { requirements: [], role };
      g.requirements.push(requirement);
      groups.set(key, g);
    }
    const ids = new Set<string>();
    this.entries = [...groups.values()].flatMap(({ requirements, role }) => {
      const first = requirements[0] as AccessRequirement;
      const key = first.clusterKey.replace(/[^A-Za-z0-9]/g, '') || 'Cluster';
      const who = requirements.length === 1 ? first.role : role.node.scope?.node.id || role.node.id;
      const base = `${key.charAt(0).toUpperCase()}${key.slice(1)}${who.charAt(0).toUpperCase()}${who.slice(1)}`;
      let cid = base;
      for (let i = 2; ids.has(cid); i++) cid = `${base}${i}`;
      ids.add(cid);
      const entry = namespacedAccessEntry(this, cid, {
        clusterName: first.clusterName,
        principalArn: role.roleArn,
        grants: requirements.map((r) => ({ level: r.level, namespaces: r.namespaces })),
      });
      return requirements.map((requirement) => ({ requirement, entry }));
    });
  }
}

/** One level of access in some namespaces. */
export interface NamespacedGrant {
  readonly level: AccessLevel;
  readonly namespaces: readonly string[];
}

/**
 * One `AWS::EKS::AccessEntry` (STANDARD) for a principal on a cluster of the stack's own account and region, with one
 * access policy per level, each scoped to its namespaces (sorted, once); a namespace with edit is left out of view
 * (edit includes it). Used here and by GantryTargetAccount.
 */
export function namespacedAccessEntry(scope: Construct, id: string, props: { clusterName: string; principalArn: string; grants: readonly NamespacedGrant[] }): CfnAccessEntry {
  const edit = new Set(props.grants.filter((g) => g.level === 'edit').flatMap((g) => g.namespaces));
  const view = new Set(
    props.grants
      .filter((g) => g.level === 'view')
      .flatMap((g) => g.namespaces)
      .filter((n) => !edit.has(n)),
  );
  const policies: Array<[AccessLevel, Set<string>]> = [
    ['edit', edit],
    ['view', view],
  ];
  const partition = Stack.of(scope).partition;
  return new CfnAccessEntry(scope, id, {
    clusterName: props.clusterName,
    principalArn: props.principalArn,
    type: 'STANDARD',
    accessPolicies: policies
      .filter(([, namespaces]) => namespaces.size > 0)
      .map(([level, namespaces]) => ({
        policyArn: accessPolicyArn(ACCESS_POLICY_FOR[level], partition),
        accessScope: { type: 'namespace', namespaces: [...namespaces].sort() },
      })),
  });
}

function accountOf(config: GantryConfig, clusterKey: string): string | undefined {
  const c = Object.hasOwn(config.clusters, clusterKey) ? (config.clusters[clusterKey] as { account?: string }) : undefined;
  return c?.account;
}

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
import { ACCESS_POLICY_FOR, type AccessRequirement, type AccessRole, accessPolicyArn, accessRequirements } from '../lambdas/domain/access-entries';
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
    const ids = new Set<string>();
    this.entries = wanted.map((requirement) => {
      const key = requirement.clusterKey.replace(/[^A-Za-z0-9]/g, '') || 'Cluster';
      const base = `${key.charAt(0).toUpperCase()}${key.slice(1)}${requirement.role.charAt(0).toUpperCase()}${requirement.role.slice(1)}`;
      let cid = base;
      for (let i = 2; ids.has(cid); i++) cid = `${base}${i}`;
      ids.add(cid);
      const entry = new CfnAccessEntry(this, cid, {
        clusterName: requirement.clusterName,
        principalArn: props.roles[requirement.role].roleArn,
        type: 'STANDARD',
        accessPolicies: [
          {
            policyArn: accessPolicyArn(ACCESS_POLICY_FOR[requirement.level], stack.partition),
            accessScope: { type: 'namespace', namespaces: [...requirement.namespaces] },
          },
        ],
      });
      return { requirement, entry };
    });
  }
}

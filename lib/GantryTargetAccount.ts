/**
 * The companion stack of an account whose clusters a Gantry in another account deploys to (issue 18, decision 046).
 * Deployed with its own `cdk deploy` in the target account, in the region of its clusters (docs/deploying.md,
 * "Stages in other accounts: the companion stack"), it creates:
 *
 * - the **target role** Gantry assumes (`clusters.<key>.roleArn`), with a stable name (`gantry-target-<gantryStackName>`):
 *   trusted by the Gantry account, and only for roles whose ARN starts with `role/<gantryStackName>-` — every role of
 *   the Gantry stack has a CloudFormation-generated name that starts with its stack name. It may describe its
 *   clusters, read alarm states (DescribeAlarms) and metrics (GetMetricData), nothing else in IAM; inside each
 *   cluster it has an EKS access entry with `AmazonEKSEditPolicy` scoped to the namespaces Gantry deploys to;
 * - an EventBridge rule on the account's default bus that forwards CloudWatch alarm state changes (ALARM,
 *   INSUFFICIENT_DATA: what Gantry's alarm watch reacts to) to Gantry's default bus, through a role that may put
 *   events there only; the Gantry stack's bus policy lets this account in (lib/ReleaseControlPlane.ts).
 */
import { CfnOutput, Duration, Stack, type StackProps, Token } from 'aws-cdk-lib';
import { EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { EventBus as EventBusTarget } from 'aws-cdk-lib/aws-events-targets';
import { AccountPrincipal, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { CfnAccessEntry } from 'aws-cdk-lib/aws-eks';
import { Construct } from 'constructs';
import { alarmStateChangePattern } from '../lambdas/domain/event-patterns';
import { acknowledge, acknowledgeDeadLetterQueue, WILDCARD_REASONS } from './acknowledge';
import { namespacedAccessEntry } from './EksAccessEntries';

export interface GantryTargetCluster {
  /** The EKS cluster's name (in this stack's account and region). */
  readonly name: string;
  /** The namespaces Gantry deploys to on it: the target role gets AmazonEKSEditPolicy there. */
  readonly namespaces: string[];
  /**
   * Create the target role's EKS access entry on this cluster.
   * @default true
   */
  readonly accessEntries?: boolean;
}

export interface GantryTargetAccountProps {
  /** The account Gantry (the GantryStack) is deployed in. */
  readonly gantryAccount: string;
  /** The region Gantry is deployed in: alarm events go to its default bus there. */
  readonly gantryRegion: string;
  /** The Gantry stack's name (`Gantry` unless you changed it): only its roles may assume the target role. */
  readonly gantryStackName: string;
  /** The clusters of this account and region that Gantry deploys to. */
  readonly clusters: GantryTargetCluster[];
  /**
   * The target role's name: what `clusters.<key>.roleArn` names. Give a second companion stack of the same account
   * (another region) another name.
   * @default `gantry-target-${gantryStackName}`
   */
  readonly roleName?: string;
}

export class GantryTargetAccountError extends Error {
  override readonly name = 'GantryTargetAccountError';
}

const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;
/** A CloudFormation stack name. */
const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;
const CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;
/** A Kubernetes namespace (RFC 1123 label). */
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;

/** The default name of the target role. */
export function targetRoleName(gantryStackName: string): string {
  return `gantry-target-${gantryStackName}`;
}

/** Every problem with the props, each naming its field and what is allowed (empty when they are good). */
export function targetAccountProblems(props: GantryTargetAccountProps): string[] {
  const problems: string[] = [];
  const p = (props ?? {}) as Partial<GantryTargetAccountProps>;
  if (typeof p.gantryAccount !== 'string' || !ACCOUNT.test(p.gantryAccount))
    problems.push(`gantryAccount: expected a 12-digit AWS account id, got ${JSON.stringify(p.gantryAccount)}`);
  if (typeof p.gantryRegion !== 'string' || !REGION.test(p.gantryRegion))
    problems.push(`gantryRegion: expected an AWS region such as eu-west-2, got ${JSON.stringify(p.gantryRegion)}`);
  if (typeof p.gantryStackName !== 'string' || !STACK_NAME.test(p.gantryStackName)) {
    problems.push(`gantryStackName: expected a CloudFormation stack name (a letter, then letters, digits and -, at most 128), got ${JSON.stringify(p.gantryStackName)}`);
  }
  const roleName = p.roleName ?? (typeof p.gantryStackName === 'string' ? targetRoleName(p.gantryStackName) : undefined);
  if (roleName !== undefined && !ROLE_NAME.test(roleName)) {
    problems.push(
      `roleName: expected an IAM role name (at most 64 of letters, digits and +=,.@_-), got ${JSON.stringify(roleName)}${p.roleName === undefined ? ' (from gantryStackName: pass roleName)' : ''}`,
    );
  }
  if (!Array.isArray(p.clusters) || p.clusters.length === 0) {
    problems.push('clusters: expected at least one cluster { name, namespaces }');
    return problems;
  }
  const seen = new Set<string>();
  p.clusters.forEach((c, i) => {
    const at = `clusters[${i}]`;
    if (!c || typeof c.name !== 'string' || !CLUSTER_NAME.test(c.name)) problems.push(`${at}.name: expected an EKS cluster name, got ${JSON.stringify(c?.name)}`);
    else if (seen.has(c.name)) problems.push(`${at}.name: expected each cluster once, ${c.name} is listed twice`);
    else seen.add(c.name);
    if (!Array.isArray(c?.namespaces) || c.namespaces.length === 0) problems.push(`${at}.namespaces: expected at least one Kubernetes namespace`);
    else {
      c.namespaces.forEach((n, j) => {
        if (typeof n !== 'string' || !NAMESPACE.test(n))
          problems.push(`${at}.namespaces[${j}]: expected a Kubernetes namespace (lowercase letters, digits, -), got ${JSON.stringify(n)}`);
      });
    }
    if (c?.accessEntries !== undefined && typeof c.accessEntries !== 'boolean')
      problems.push(`${at}.accessEntries: expected true or false, got ${JSON.stringify(c.accessEntries)}`);
  });
  return problems;
}

export class GantryTargetAccount extends Construct {
  /** The role Gantry assumes: its ARN is `clusters.<key>.roleArn`. */
  public readonly role: Role;
  /** Forwards this account's alarm state changes to Gantry's default bus. */
  public readonly forwardingRule: Rule;
  /** The role EventBridge uses to put those events on Gantry's bus. */
  public readonly forwardingRole: Role;
  /** Events the forwarding target could not deliver after its retries. */
  public readonly deadLetterQueue: Queue;
  /** The access entries, by cluster name (clusters with `accessEntries: false` have none). */
  public readonly accessEntries: Readonly<Record<string, CfnAccessEntry>>;
  /** Gantry's default event bus: `arn:<partition>:events:<gantryRegion>:<gantryAccount>:event-bus/default`. */
  public readonly gantryBusArn: string;

  constructor(scope: Construct, id: string, props: GantryTargetAccountProps) {
    super(scope, id);
    const problems = targetAccountProblems(props);
    if (problems.length > 0) throw new GantryTargetAccountError(`GantryTargetAccountProps: ${problems.join('; ')}`);
    const stack = Stack.of(this);
    if (!Token.isUnresolved(stack.account) && stack.account === props.gantryAccount) {
      throw new GantryTargetAccountError(
        `GantryTargetAccountProps.gantryAccount: this stack is in ${stack.account}, Gantry's own account; a cluster there needs no companion stack (Gantry uses its ClusterAccessRole)`,
      );
    }
    const partition = stack.partition;

    // ---------------------------------------------------------------- the target role
    this.role = new Role(this, 'TargetRole', {
      roleName: props.roleName ?? targetRoleName(props.gantryStackName),
      description: `Gantry (${props.gantryStackName} in ${props.gantryAccount}) reaches this account's clusters and alarms with this role`,
      maxSessionDuration: Duration.hours(1),
      assumedBy: new AccountPrincipal(props.gantryAccount).withConditions({
        // Only the Gantry stack's own roles: CloudFormation names each `<stack name>-<logical id>-<suffix>`.
        ArnLike: { 'aws:PrincipalArn': `arn:${partition}:iam::${props.gantryAccount}:role/${props.gantryStackName}-*` },
      }),
    });
    this.role.addToPolicy(
      new PolicyStatement({
        sid: 'DescribeTargetClusters',
        actions: ['eks:DescribeCluster'],
        resources: props.clusters.map((c) => stack.formatArn({ service: 'eks', resource: 'cluster', resourceName: c.name })).sort(),
      }),
    );
    this.role.addToPolicy(new PolicyStatement({ sid: 'ReadAlarmStates', actions: ['cloudwatch:DescribeAlarms'], resources: ['*'] }));
    this.role.addToPolicy(new PolicyStatement({ sid: 'ReadCanaryMetrics', actions: ['cloudwatch:GetMetricData'], resources: ['*'] }));
    acknowledge(
      this.role,
      'AwsSolutions-IAM5[Resource::*]',
      `${WILDCARD_REASONS.describeAlarms} cloudwatch:GetMetricData (the canary analysis) supports no resource-level permissions: the Service Authorization Reference lists no resource type for it; it is read-only.`,
    );

    const entries: Record<string, CfnAccessEntry> = {};
    for (const c of props.clusters) {
      if (c.accessEntries === false) continue;
      const cid = `${c.name.replace(/[^A-Za-z0-9]/g, '')}AccessEntry`;
      entries[c.name] = namespacedAccessEntry(this, cid, {
        clusterName: c.name,
        principalArn: this.role.roleArn,
        grants: [{ level: 'edit', namespaces: [...new Set(c.namespaces)] }],
      });
    }
    this.accessEntries = entries;

    // ---------------------------------------------------------------- forwarding alarm state changes
    this.gantryBusArn = `arn:${partition}:events:${props.gantryRegion}:${props.gantryAccount}:event-bus/default`;
    this.forwardingRole = new Role(this, 'ForwardingRole', {
      assumedBy: new ServicePrincipal('events.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': stack.account } } }),
      description: "EventBridge puts this account's CloudWatch alarm state changes on Gantry's default bus",
    });
    // The EventBus target grants it events:PutEvents on Gantry's default bus (and nothing else).
    this.deadLetterQueue = new Queue(this, 'ForwardingDeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledgeDeadLetterQueue(this.deadLetterQueue, "the alarm forwarding rule's target (Gantry's default bus)");
    this.forwardingRule = new Rule(this, 'ForwardAlarmStateChanges', {
      description: `CloudWatch alarm state changes (ALARM, INSUFFICIENT_DATA) to Gantry's default bus in ${props.gantryAccount} ${props.gantryRegion}`,
      eventPattern: {
        source: [...alarmStateChangePattern.source],
        detailType: [...alarmStateChangePattern['detail-type']],
        detail: alarmStateChangePattern.detail as unknown as Record<string, unknown>,
      },
      targets: [new EventBusTarget(EventBus.fromEventBusArn(this, 'GantryBus', this.gantryBusArn), { role: this.forwardingRole, deadLetterQueue: this.deadLetterQueue })],
    });
  }
}

export interface GantryTargetAccountStackProps extends StackProps, GantryTargetAccountProps {}

/** A deployable stack holding one GantryTargetAccount, with the role ARN as an output (bin/target-account.ts). */
export class GantryTargetAccountStack extends Stack {
  public readonly target: GantryTargetAccount;

  constructor(scope: Construct, id: string, props: GantryTargetAccountStackProps) {
    super(scope, id, props);
    this.target = new GantryTargetAccount(this, 'GantryTarget', props);
    new CfnOutput(this, 'TargetRoleArn', {
      value: this.target.role.roleArn,
      description: 'Put this in clusters.<key>.roleArn of the Gantry config (with clusters.<key>.account = this account)',
    });
    new CfnOutput(this, 'ForwardingRuleArn', { value: this.target.forwardingRule.ruleArn, description: "Forwards this account's alarm state changes to Gantry's bus" });
  }
}

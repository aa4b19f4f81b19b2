/**
 * The anchor signing key (decision 048): an asymmetric KMS key (ECC_NIST_P256, SIGN_VERIFY) that signs each
 * finished release's end and the insight chain's daily head. Its key policy is written out in full instead of
 * CDK's default: `new kms.Key` gives the account root `kms:*`, which lets any IAM principal of the account with
 * an identity policy for `kms:Sign` sign. Here
 * - the account root keeps the key administration (the actions CDK's `grantAdmin` lists: create, describe,
 *   enable, list, put, update, revoke, disable, get, delete, tag, schedule/cancel deletion) — never kms:Sign;
 * - the account's principals may read the public half and verify (kms:GetPublicKey, kms:DescribeKey,
 *   kms:Verify) when their IAM policy allows it: `gantry audit verify --stack` fetches the public key;
 * - only the anchoring roles (the anchor-sign and insight-record functions) may call kms:Sign.
 * Its deletion and disabling are guarded: the longest pending window (30 days), RETAIN whatever the stack's
 * removal policy (exports signed with it must stay verifiable), and a rule on CloudTrail's
 * ScheduleKeyDeletion / DisableKey / PutKeyPolicy for this key that notifies the control-plane alarm topic (its
 * undeliverable events in the anchor-sign dead-letter queue);
 * an alarm on the `AnchorSignaturesFailed` metric notifies it too.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { type IRuleTarget, Rule, RuleTargetInput, EventField } from 'aws-cdk-lib/aws-events';
import { AccountRootPrincipal, ArnPrincipal, type IRole, PolicyDocument, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC_NAMESPACE } from '../lambdas/domain/metrics';
import { ANCHOR_SIGNATURES_FAILED_METRIC } from '../lambdas/domain/audit/signature';

/** What the account root may do with the key: administration, as CDK's `grantAdmin` lists it — no kms:Sign. */
export const ANCHOR_KEY_ADMIN_ACTIONS = [
  'kms:Create*',
  'kms:Describe*',
  'kms:Enable*',
  'kms:List*',
  'kms:Put*',
  'kms:Update*',
  'kms:Revoke*',
  'kms:Disable*',
  'kms:Get*',
  'kms:Delete*',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
] as const;
/** What the account's principals may do with it through their IAM policies: read the public half, verify. */
export const ANCHOR_KEY_READ_ACTIONS = ['kms:GetPublicKey', 'kms:DescribeKey', 'kms:Verify'] as const;
/** CloudTrail events of the key that notify the alarm topic. */
export const ANCHOR_KEY_GUARDED_EVENTS = ['ScheduleKeyDeletion', 'DisableKey', 'PutKeyPolicy'] as const;

export class AnchorSigning extends Construct {
  /** The signing key (ECC_NIST_P256, SIGN_VERIFY). */
  public readonly key: Key;
  private readonly signStatement: PolicyStatement;
  private signingAllowed = false;
  public guardRule?: Rule;
  public failedSignaturesAlarm?: Alarm;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const root = new AccountRootPrincipal();
    this.signStatement = new PolicyStatement({ sid: 'AnchoringRolesSignOnly', principals: [], actions: ['kms:Sign'], resources: ['*'] });
    const policy = new PolicyDocument({
      statements: [
        new PolicyStatement({ sid: 'AccountAdministersNoSign', principals: [root], actions: [...ANCHOR_KEY_ADMIN_ACTIONS], resources: ['*'] }),
        new PolicyStatement({ sid: 'AccountReadsPublicKey', principals: [root], actions: [...ANCHOR_KEY_READ_ACTIONS], resources: ['*'] }),
      ],
    });
    this.key = new Key(this, 'Key', {
      description: 'Gantry anchor signing key: signs the end of every release and the insight chain head (decision 048)',
      keySpec: KeySpec.ECC_NIST_P256,
      keyUsage: KeyUsage.SIGN_VERIFY,
      pendingWindow: Duration.days(30),
      // Exports signed with it must stay verifiable after the stack is gone.
      removalPolicy: RemovalPolicy.RETAIN,
      policy,
    });
  }

  /** Let these roles (and no other principal) call kms:Sign. Called once, with every anchoring role. */
  allowSigning(roles: readonly IRole[]): void {
    for (const role of roles) this.signStatement.addPrincipals(new ArnPrincipal(role.roleArn));
    if (roles.length > 0 && !this.signingAllowed) {
      this.key.addToResourcePolicy(this.signStatement);
      this.signingAllowed = true;
    }
  }

  /**
   * The guards that need the alarm topic: CloudTrail's ScheduleKeyDeletion / DisableKey / PutKeyPolicy of this key
   * (on the default bus) and an alarm on failed signatures, both to `alarmTopic`.
   */
  guard(alarmTopic: Topic, deadLetterQueue: Queue): void {
    const topicTarget: IRuleTarget = {
      bind: () => ({
        arn: alarmTopic.topicArn,
        retryPolicy: { maximumRetryAttempts: 8, maximumEventAgeInSeconds: 2 * 3600 },
        deadLetterConfig: { arn: deadLetterQueue.queueArn },
        input: RuleTargetInput.fromText(
          `Gantry anchor signing key: ${EventField.fromPath('$.detail.eventName')} by ${EventField.fromPath('$.detail.userIdentity.arn')} at ${EventField.fromPath('$.detail.eventTime')}. Anchors can no longer be signed once the key is disabled or deleted; cancel with kms:CancelKeyDeletion / kms:EnableKey (docs/security.md).`,
        ),
      }),
    };
    this.guardRule = new Rule(this, 'KeyGuardRule', {
      description: 'CloudTrail: the anchor signing key scheduled for deletion, disabled or its policy changed → the control-plane alarm topic',
      eventPattern: {
        source: ['aws.kms'],
        detailType: ['AWS API Call via CloudTrail'],
        detail: { eventSource: ['kms.amazonaws.com'], eventName: [...ANCHOR_KEY_GUARDED_EVENTS], resources: { ARN: [this.key.keyArn] } },
      },
      targets: [topicTarget],
    });
    alarmTopic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AnchorKeyGuardRulePublish',
        principals: [new ServicePrincipal('events.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [alarmTopic.topicArn],
        conditions: { ArnEquals: { 'aws:SourceArn': this.guardRule.ruleArn } },
      }),
    );
    deadLetterQueue.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AnchorKeyGuardRuleDeadLetters',
        principals: [new ServicePrincipal('events.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [deadLetterQueue.queueArn],
        conditions: { ArnEquals: { 'aws:SourceArn': this.guardRule.ruleArn } },
      }),
    );
    this.failedSignaturesAlarm = new Alarm(this, 'FailedSignaturesAlarm', {
      alarmDescription: `A finished release or insight head could not be signed (${ANCHOR_SIGNATURES_FAILED_METRIC}): its signature item names the outcome; gantry audit verify --public-key names the release`,
      metric: new Metric({ namespace: METRIC_NAMESPACE, metricName: ANCHOR_SIGNATURES_FAILED_METRIC, statistic: 'Sum', period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    // Like every control-plane alarm (lib/ReleaseDashboard.ts): the topic hears when it fires and when it recovers.
    this.failedSignaturesAlarm.addAlarmAction(new SnsAction(alarmTopic));
    this.failedSignaturesAlarm.addOkAction(new SnsAction(alarmTopic));
  }
}

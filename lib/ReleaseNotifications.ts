/**
 * Notifications for people: an SNS topic that receives the lifecycle events worth a mail or a chat
 * message (`Release Finished`, `Rollback Started`, `Approval Requested` by default) through an
 * EventBridge rule on the Gantry bus (retried, with an encrypted dead-letter queue), and an SNS topic for
 * the control plane's own alarms. Both are encrypted with the Gantry key and refuse publishes that do not
 * use TLS. Subscribe e-mail, AWS Chatbot or anything SNS delivers to; the message is the EventBridge
 * event as is (schemas/events/*.json).
 */
import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { type IEventBus, type IRuleTarget, Rule } from 'aws-cdk-lib/aws-events';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LIFECYCLE_DETAIL_TYPES, type LifecycleDetailType } from '../lambdas/domain/types';
import { acknowledgeDeadLetterQueue } from './acknowledge';

export const DEFAULT_NOTIFIED_DETAIL_TYPES: readonly LifecycleDetailType[] = ['Release Finished', 'Rollback Started', 'Approval Requested'];

export interface ReleaseNotificationsProps {
  /** The Gantry bus the lifecycle events are published on. */
  readonly eventBus: IEventBus;
  /** The Gantry customer-managed key: both topics are encrypted with it. */
  readonly key: IKey;
  /**
   * The lifecycle detail-types sent to the release topic.
   * @default Release Finished, Rollback Started, Approval Requested
   */
  readonly detailTypes?: readonly LifecycleDetailType[];
  /**
   * The lifecycle events' `source`.
   * @default 'gantry'
   */
  readonly source?: string;
  /**
   * What happens to the dead-letter queue when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

export class ReleaseNotificationsError extends Error {
  override readonly name = 'ReleaseNotificationsError';
}

export class ReleaseNotifications extends Construct {
  /** Lifecycle events for people (mail, chat). */
  public readonly releaseTopic: Topic;
  /** Control-plane alarms (ReleaseDashboard) notify here. */
  public readonly alarmTopic: Topic;
  /** The rule on the Gantry bus that feeds the release topic. */
  public readonly rule: Rule;
  /** Lifecycle events the rule could not deliver to the release topic after every retry. */
  public readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: ReleaseNotificationsProps) {
    super(scope, id);
    const detailTypes = props.detailTypes ?? DEFAULT_NOTIFIED_DETAIL_TYPES;
    if (detailTypes.length === 0) throw new ReleaseNotificationsError('ReleaseNotificationsProps.detailTypes must name at least one lifecycle detail-type');
    const unknown = detailTypes.filter((d) => !(LIFECYCLE_DETAIL_TYPES as readonly string[]).includes(d));
    if (unknown.length) throw new ReleaseNotificationsError(`ReleaseNotificationsProps.detailTypes: not lifecycle detail-types (docs/contracts.md §4): ${unknown.join(', ')}`);
    const stack = Stack.of(this);

    this.releaseTopic = new Topic(this, 'ReleaseTopic', { displayName: 'Gantry releases', masterKey: props.key, enforceSSL: true });
    this.alarmTopic = new Topic(this, 'AlarmTopic', { displayName: 'Gantry control-plane alarms', masterKey: props.key, enforceSSL: true });

    // The topic is the rule's target without CDK's SnsTopic helper: that one grants every EventBridge
    // rule (events.amazonaws.com, no condition) the topic and the key. Here only this rule may publish,
    // and only rules of this account may use the key.
    const topic = this.releaseTopic;
    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      dataKeyReuse: Duration.hours(1),
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    acknowledgeDeadLetterQueue(this.deadLetterQueue, "the lifecycle rule's SNS target (Targets[].DeadLetterConfig)");
    const dlq = this.deadLetterQueue;
    const target: IRuleTarget = {
      bind: () => ({ arn: topic.topicArn, retryPolicy: { maximumRetryAttempts: 8, maximumEventAgeInSeconds: 2 * 3600 }, deadLetterConfig: { arn: dlq.queueArn } }),
    };
    this.rule = new Rule(this, 'LifecycleRule', {
      description: `Gantry lifecycle events for people: ${detailTypes.join(', ')}`,
      eventBus: props.eventBus,
      eventPattern: { source: [props.source ?? 'gantry'], detailType: [...detailTypes] },
      targets: [target],
    });
    this.releaseTopic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'LifecycleRulePublish',
        principals: [new ServicePrincipal('events.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.releaseTopic.topicArn],
        conditions: { ArnEquals: { 'aws:SourceArn': this.rule.ruleArn } },
      }),
    );
    this.deadLetterQueue.addToResourcePolicy(
      new PolicyStatement({
        sid: 'LifecycleRuleDeadLetters',
        principals: [new ServicePrincipal('events.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [this.deadLetterQueue.queueArn],
        conditions: { ArnEquals: { 'aws:SourceArn': this.rule.ruleArn } },
      }),
    );
    props.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'EventBridgeRulesEncryptForNotifications',
        principals: [new ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'events', resource: 'rule', resourceName: '*' }) },
        },
      }),
    );

    // CloudWatch alarms of this account publish to the alarm topic; the topic policy CDK writes (for
    // enforceSSL) replaces SNS's default one, so the grant must be explicit.
    this.alarmTopic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
        },
      }),
    );
    // …and need the key to encrypt for the encrypted topic.
    props.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsEncryptForAlarmTopic',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
      }),
    );
  }
}

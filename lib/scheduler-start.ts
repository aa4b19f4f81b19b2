/**
 * What an EventBridge Scheduler schedule that starts a Gantry workflow needs beside it (the daily insight check, the
 * scheduled rollback drills): a KMS-encrypted dead-letter queue for the starts it could not deliver, and a role only
 * Scheduler of this account, on the default schedule group, may assume — with the key, since Scheduler sends
 * undeliverable starts to that queue as this role. Made in `scope` under the ids `DeadLetters` and `SchedulerRole`.
 */
import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { acknowledgeDeadLetterQueue } from './acknowledge';

export interface SchedulerStartProps {
  readonly encryptionKey: IKey;
  readonly removalPolicy: RemovalPolicy;
  /** The role's description: what the schedule starts. */
  readonly roleDescription: string;
  /** Whose dead letters the queue holds (the cdk-nag acknowledgement's reason). */
  readonly deadLettersOf: string;
}

export function schedulerStartParts(scope: Construct, props: SchedulerStartProps): { deadLetterQueue: Queue; schedulerRole: Role } {
  const stack = Stack.of(scope);
  const deadLetterQueue = new Queue(scope, 'DeadLetters', {
    encryption: QueueEncryption.KMS,
    encryptionMasterKey: props.encryptionKey,
    dataKeyReuse: Duration.hours(1),
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    removalPolicy: props.removalPolicy,
  });
  acknowledgeDeadLetterQueue(deadLetterQueue, props.deadLettersOf);
  const defaultGroupArn = stack.formatArn({ service: 'scheduler', resource: 'schedule-group', resourceName: 'default' });
  const schedulerRole = new Role(scope, 'SchedulerRole', {
    assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': stack.account }, ArnLike: { 'aws:SourceArn': defaultGroupArn } },
    }),
    description: props.roleDescription,
  });
  props.encryptionKey.grant(schedulerRole, 'kms:Decrypt', 'kms:GenerateDataKey');
  return { deadLetterQueue, schedulerRole };
}

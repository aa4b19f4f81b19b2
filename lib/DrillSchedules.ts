/**
 * The scheduled rollback drills (docs/decisions/052-rollback-drills.md): one EventBridge Scheduler schedule per
 * stage whose config says `drill: { schedule }`, each starting the drill workflow with
 * `{ service, stage, scheduled: true, reason }` (the drill's initiator is then `gantry-drill-schedule`). None when no
 * stage has a schedule. A production stage never has one (the config refuses it).
 */
import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { GantryConfig } from '../lambdas/domain/config';
import { drillableStages, scheduledDrillInput } from '../lambdas/domain/drill';
import { acknowledgeDeadLetterQueue } from './acknowledge';

export interface DrillSchedulesProps {
  readonly config: GantryConfig;
  readonly drillWorkflow: IStateMachine;
  readonly encryptionKey: IKey;
  readonly removalPolicy: RemovalPolicy;
}

export class DrillSchedules extends Construct {
  /** By `service/stage`. */
  public readonly schedules: Readonly<Record<string, Schedule>>;
  public readonly schedulerRole?: Role;
  public readonly deadLetterQueue?: Queue;

  constructor(scope: Construct, id: string, props: DrillSchedulesProps) {
    super(scope, id);
    const scheduled = drillableStages(props.config).filter((d) => d.schedule !== undefined);
    const schedules: Record<string, Schedule> = {};
    this.schedules = schedules;
    if (scheduled.length === 0) return;
    const stack = Stack.of(this);
    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: props.encryptionKey,
      dataKeyReuse: Duration.hours(1),
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: props.removalPolicy,
    });
    acknowledgeDeadLetterQueue(this.deadLetterQueue, "the drill schedules' target (Target.DeadLetterConfig)");
    const defaultGroupArn = stack.formatArn({ service: 'scheduler', resource: 'schedule-group', resourceName: 'default' });
    this.schedulerRole = new Role(this, 'SchedulerRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account }, ArnLike: { 'aws:SourceArn': defaultGroupArn } },
      }),
      description: 'EventBridge Scheduler starts the Gantry drill workflow (scheduled rollback drills)',
    });
    props.encryptionKey.grant(this.schedulerRole, 'kms:Decrypt', 'kms:GenerateDataKey');
    scheduled.forEach((d, i) => {
      const schedule = d.schedule as string;
      schedules[`${d.service}/${d.stage}`] = new Schedule(this, `Drill${i}`, {
        description: `Gantry rollback drill of ${d.service}/${d.stage}`,
        schedule: ScheduleExpression.expression(schedule),
        target: new StepFunctionsStartExecution(props.drillWorkflow, {
          role: this.schedulerRole,
          input: ScheduleTargetInput.fromObject(scheduledDrillInput(d.service, d.stage, schedule)),
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 2,
          maxEventAge: Duration.hours(1),
        }),
      });
    });
  }
}

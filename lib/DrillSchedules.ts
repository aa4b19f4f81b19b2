/**
 * The scheduled rollback drills (docs/decisions/052-rollback-drills.md): one EventBridge Scheduler schedule per
 * stage whose config says `drill: { schedule }`, each starting the drill workflow with
 * `{ service, stage, scheduled: true, reason }` (the drill's initiator is then `gantry-drill-schedule`). None when no
 * stage has a schedule. A production stage never has one (the config refuses it).
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type { Role } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { GantryConfig } from '../lambdas/domain/config';
import { drillableStages, scheduledDrillInput } from '../lambdas/domain/drill';
import { schedulerStartParts } from './scheduler-start';

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
    const parts = schedulerStartParts(this, {
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy,
      roleDescription: 'EventBridge Scheduler starts the Gantry drill workflow (scheduled rollback drills)',
      deadLettersOf: "the drill schedules' target (Target.DeadLetterConfig)",
    });
    this.deadLetterQueue = parts.deadLetterQueue;
    this.schedulerRole = parts.schedulerRole;
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

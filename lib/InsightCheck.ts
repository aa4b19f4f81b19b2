/**
 * The daily insight check (stale services, drift): the `insight` workflow read from
 * `statemachines/insight.asl.json`, and an EventBridge Scheduler schedule that starts it once a day
 * through its own role, with retries and an encrypted dead-letter queue. The workflow may invoke its two
 * handlers and call `eks:DescribeCluster` on the clusters of stages with a workload only; reading a Deployment with
 * `eks:call` is authorised inside each cluster (an EKS access entry for the workflow role, docs/auditor-guide.md).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import { PolicyStatement, type Role } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { type GantryConfig, stageClusters, stageWorkload } from '../lambdas/domain/config';
import { acknowledge, WILDCARD_REASONS } from './acknowledge';
import { schedulerStartParts } from './scheduler-start';
import { PROJECT_ROOT } from './GantryFunction';
import { PLACEHOLDER, WorkflowDefinition } from './WorkflowDefinition';
import { WorkflowLogGroup } from './WorkflowLogGroup';

/** The definition file, under `statemachines/`. */
export const INSIGHT_DEFINITION = 'insight.asl.json';
/** Its function placeholders, by the handler each names. */
export const INSIGHT_PLACEHOLDERS = { plan: 'InsightPlanFunctionArn', record: 'InsightRecordFunctionArn' } as const;

export interface InsightCheckProps {
  /** The parsed config: the clusters of its stages with a workload are the only ones the workflow may describe. */
  readonly config: GantryConfig;
  /** The `insight-plan` handler (`PlanInsightCheck`). */
  readonly planFunction: IFunction;
  /** The `insight-record` handler (`RecordInsight`). */
  readonly recordFunction: IFunction;
  /** Encrypts the workflow's log group and the schedule's dead-letter queue. */
  readonly encryptionKey: IKey;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /**
   * How often the check runs.
   * @default ScheduleExpression.rate(Duration.days(1))
   */
  readonly schedule?: ScheduleExpression;
}

export class InsightCheckError extends Error {
  override readonly name = 'InsightCheckError';
}

export class InsightCheck extends Construct {
  public readonly stateMachine: StateMachine;
  public readonly schedule: Schedule;
  /** The role EventBridge Scheduler assumes to start the workflow (and nothing else). */
  public readonly schedulerRole: Role;
  /** Starts the scheduler could not deliver after its retries. */
  public readonly deadLetterQueue: Queue;
  public readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: InsightCheckProps) {
    super(scope, id);
    if (!props.config?.clusters || !props.config.insight) throw new InsightCheckError('InsightCheckProps.config must be a parsed Gantry config (parseConfig(...))');
    if (!props.planFunction || !props.recordFunction) throw new InsightCheckError('InsightCheckProps.planFunction and recordFunction are required');
    const stack = Stack.of(this);

    // ---------------------------------------------------------------- the workflow
    const text = readFileSync(join(PROJECT_ROOT, 'statemachines', INSIGHT_DEFINITION), 'utf8');
    const values: Record<string, string> = {
      [INSIGHT_PLACEHOLDERS.plan]: props.planFunction.functionArn,
      [INSIGHT_PLACEHOLDERS.record]: props.recordFunction.functionArn,
    };
    const placeholders = [...new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1] as string))].sort();
    const missing = placeholders.filter((p) => values[p] === undefined);
    if (missing.length) throw new InsightCheckError(`${INSIGHT_DEFINITION}: no value for placeholder(s) ${missing.join(', ')}`);
    this.logGroup = new WorkflowLogGroup(this, 'Logs', { retention: props.logRetention, encryptionKey: props.encryptionKey, removalPolicy: props.removalPolicy });
    this.stateMachine = new StateMachine(this, 'Workflow', {
      definitionBody: DefinitionBody.fromString(text),
      definitionSubstitutions: Object.fromEntries(placeholders.map((p) => [p, values[p] as string])),
      stateMachineType: StateMachineType.STANDARD,
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: LogLevel.ALL, includeExecutionData: false },
    });
    this.stateMachine.addToRolePolicy(
      new PolicyStatement({ sid: 'InvokeInsightFunctions', actions: ['lambda:InvokeFunction'], resources: [props.planFunction.functionArn, props.recordFunction.functionArn] }),
    );
    // Only the clusters the check reads: those of stages with a workload (every cluster of a stage with waves, decision
    // 044), and none when insight.driftCheck is off; and only while the definition describes them in a Task (decision
    // 046: insight-plan describes them with the ClusterAccessRole), never a cluster of another account (described with
    // its roleArn).
    const describes = new WorkflowDefinition(INSIGHT_DEFINITION, text).describesClusters;
    const read =
      props.config.insight.driftCheck && describes
        ? Object.values(props.config.services).flatMap((svc) =>
            svc.stages
              .filter((st) => stageWorkload(st) !== undefined)
              .flatMap((st) => stageClusters(st).map((key) => props.config.clusters[key]))
              .filter((c) => (c as { account?: string } | undefined)?.account === undefined),
          )
        : [];
    const clusterArns = [...new Set(read.flatMap((c) => (c ? [stack.formatArn({ service: 'eks', region: c.region, resource: 'cluster', resourceName: c.name })] : [])))].sort();
    if (clusterArns.length > 0) {
      this.stateMachine.addToRolePolicy(new PolicyStatement({ sid: 'DescribeConfiguredClusters', actions: ['eks:DescribeCluster'], resources: clusterArns }));
    }
    acknowledge(this.stateMachine.role, 'AwsSolutions-IAM5[Resource::*]', `${WILDCARD_REASONS.logDelivery} ${WILDCARD_REASONS.xray}`);

    // ---------------------------------------------------------------- the daily schedule
    const parts = schedulerStartParts(this, {
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy,
      roleDescription: 'EventBridge Scheduler starts the Gantry insight check',
      deadLettersOf: "the insight schedule's target (Target.DeadLetterConfig)",
    });
    this.deadLetterQueue = parts.deadLetterQueue;
    this.schedulerRole = parts.schedulerRole;
    this.schedule = new Schedule(this, 'Daily', {
      description: 'Gantry insight check: stale services and drift',
      schedule: props.schedule ?? ScheduleExpression.rate(Duration.days(1)),
      target: new StepFunctionsStartExecution(this.stateMachine, {
        role: this.schedulerRole,
        input: ScheduleTargetInput.fromObject({ trigger: 'schedule' }),
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 8,
        maxEventAge: Duration.hours(2),
      }),
    });
  }
}

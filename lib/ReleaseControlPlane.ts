/**
 * Gantry's whole control plane as one construct: the ledger, the Gantry bus, the handlers, the Helm
 * and Terraform drivers with the evidence bucket, the `release` and `rollback` workflows (read from
 * `statemachines/*.asl.json`), the rules that start and watch them, and the bake timers' schedule group. Least privilege throughout: CDK grants
 * nothing for a definition read from a file, so every grant below is explicit and derived from what
 * the definitions and handlers actually use.
 */
import { join } from 'node:path';
import { Annotations, ArnFormat, type CfnElement, Duration, Names, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { EventBus, type EventPattern, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, Grant, type IGrantable, Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import { ScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  LEDGER_GSI_BY_SERVICE,
  LEDGER_GSI_PARTITION_KEY,
  LEDGER_GSI_SORT_KEY,
  LEDGER_PARTITION_KEY,
  LEDGER_SORT_KEY,
  LEDGER_TTL_ATTRIBUTE,
} from '../lambdas/adapters/ledger-table';
import type { GantryConfig } from '../lambdas/domain/config';
import { alarmStateChangePattern, cloudTrailPutImagePattern, cloudTrailStartExecutionPattern, ecrPushPattern, executionStatusChangePattern } from '../lambdas/domain/event-patterns';
import { isKmsKeyRef } from '../lambdas/domain/image/signature';
import { acknowledge, acknowledgeDeadLetterQueue, WILDCARD_REASONS } from './acknowledge';
import { handlerGrants, ledgerPolicy, writes } from './ledger-access';
import { ApprovalApi } from './ApprovalApi';
import { EksAccessEntries } from './EksAccessEntries';
import { GantryFunction, PROJECT_ROOT } from './GantryFunction';
import { HelmDriver } from './HelmDriver';
import { InsightCheck } from './InsightCheck';
import { ReleaseDashboard } from './ReleaseDashboard';
import { ReleaseNotifications } from './ReleaseNotifications';
import { TerraformDriver } from './TerraformDriver';
import { WorkflowLogGroup } from './WorkflowLogGroup';
import { CODEBUILD_SYNC_RULE, DRIVER_PROJECTS, WorkflowDefinition } from './WorkflowDefinition';

/** The Gantry EventBridge bus (docs/contracts.md §4). */
export const EVENT_BUS_NAME = 'gantry';
/** What a role that reads the ledger needs of the Gantry key (the table is encrypted with it), as CDK's table grants ask. */
const LEDGER_KEY_READ_ACTIONS = ['kms:Decrypt', 'kms:DescribeKey'];
/** ... and a role that writes it. */
const LEDGER_KEY_WRITE_ACTIONS = [...LEDGER_KEY_READ_ACTIONS, 'kms:Encrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*'];

/** The EventBridge Scheduler group every bake timer is created in. */
export const SCHEDULE_GROUP_NAME = 'gantry-bakes';

/** Every handler under `lambdas/`, with what it is for. */
export const HANDLERS = {
  'prepare-release': 'Validates a release input, resolves the tag to its digest once, records Release Started',
  'stage-lease': 'Takes, waits for (task token, woken when freed) and frees the one-release-per-(service, stage) lease; an operator rollback takes it from a waiting or baking release',
  'deploy-check': 'The point of action: lease, newest digest, window and alarms checked again right before a deploy, which is then claimed on the lease',
  'window-gate': 'Gate window: release windows, blackouts and the global freeze (break-glass bypasses them only)',
  'image-gates': 'Runs the image.* gates (scan, signature, labels, age, immutable tags) on the release digest',
  'alarm-gate': 'Reads the stage alarms for a polling bake and for the recovery check after a rollback',
  'record-step': 'The workflow bookkeeping steps: ledger events, stage pointer, lifecycle events',
  'bake-register': 'Starts a bake: stores the task token against the stage alarms and schedules its end',
  'bake-timer': 'Ends a bake when its time is up, after a final alarm check (invoked by EventBridge Scheduler)',
  'alarm-watch': 'Fails every bake watching an alarm that went into ALARM (CloudWatch Alarm State Change)',
  intake: 'Starts one release per (service, digest) from ECR pushes; records skipped pushes; attributes console starts',
  reconciler: 'Closes the record of a release execution that FAILED, was ABORTED or TIMED_OUT; frees its leases',
  'rollback-prepare': 'Validates an operator rollback request and picks its target digest',
  'approval-request': 'Asks for a stage approval: stores the task token, records the wait and publishes Approval Requested',
  'approval-decide': 'The approval API: checks the approvers and segregation of duties, records the decision and resumes the release',
  'insight-plan': 'Insight check: lists, from the config, the stage workloads whose running image is read for drift',
  'insight-record': 'Insight check: finds stale services, compares running images with the ledger, records the findings, publishes Service Stale and Drift Detected',
  'rollout-check': 'Kubernetes driver: the validated rollout target, the Deployment update (PUT body) and the rollout decision (DONE, PROGRESSING, FAILED)',
  'operator-api': 'The operator API: starts releases and rollbacks (writing the start record that names the caller) and sets the global freeze',
} as const;
export type HandlerName = keyof typeof HANDLERS;

/** `prepare-release` → `PrepareRelease` (the construct id, and `${PrepareReleaseFunctionArn}` in the ASL). */
export function pascalCase(name: string): string {
  return name.replace(/(^|-)([a-z0-9])/g, (_m, _d, c: string) => c.toUpperCase());
}

/** Handlers that publish lifecycle events on the Gantry bus. */
const PUBLISHERS: readonly HandlerName[] = ['prepare-release', 'image-gates', 'window-gate', 'deploy-check', 'record-step', 'rollback-prepare', 'bake-timer', 'alarm-watch', 'reconciler', 'approval-request', 'approval-decide', 'insight-record'];
/** Handlers that read image metadata and scan findings of the configured repositories. */
const ECR_READERS: readonly HandlerName[] = ['prepare-release', 'stage-lease', 'deploy-check', 'image-gates'];
/** Handlers that read alarm states. */
const ALARM_READERS: readonly HandlerName[] = ['alarm-gate', 'deploy-check', 'bake-register', 'bake-timer', 'alarm-watch'];
/**
 * Handlers that send a stored task token's result (SendTaskSuccess/SendTaskFailure): they end bakes, wake
 * releases waiting for a stage's lease (whoever frees a lease or ends a driver run), or stop what a release
 * preempted by an operator rollback waits on (its bake, its approval).
 */
const TASK_TOKEN_SENDERS: readonly HandlerName[] = ['bake-register', 'bake-timer', 'alarm-watch', 'stage-lease', 'record-step', 'reconciler', 'approval-request'];
/** Handlers that delete a bake timer (a bake that ends early, a dead execution's bake, a bake an operator rollback stops). */
const TIMER_CANCELLERS: readonly HandlerName[] = ['bake-register', 'bake-timer', 'alarm-watch', 'reconciler', 'stage-lease'];

export interface ReleaseControlPlaneProps {
  /** The deployment config, already parsed and validated (`parseConfig`). It is compiled into every handler. */
  readonly config: GantryConfig;
  /**
   * What happens to the stateful resources (KMS key, ledger table, log groups, dead-letter queues, evidence buckets) when
   * they leave the stack. The ledger also has deletion protection on, whatever this says.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Retention of every log group (handlers, workflows, drivers).
   * @default RetentionDays.ONE_YEAR
   */
  readonly logRetention?: RetentionDays;
}

export class ReleaseControlPlaneError extends Error {
  override readonly name = 'ReleaseControlPlaneError';
}

export class ReleaseControlPlane extends Construct {
  /** Customer-managed key (rotation on) for the ledger, the bus, every log group, the driver and the queues. */
  public readonly key: Key;
  /** The ledger: event-sourced release records, stage pointers, leases and task tokens. */
  public readonly table: Table;
  /** The Gantry bus: lifecycle events (`source: gantry`). */
  public readonly eventBus: EventBus;
  public readonly functions: Readonly<Record<HandlerName, GantryFunction>>;
  public readonly helmDriver: HelmDriver;
  public readonly terraformDriver: TerraformDriver;
  /** Driver evidence (the Terraform plans): versioned, encrypted with the key, never public, nothing expires. */
  public readonly evidenceBucket: Bucket;
  public readonly releaseStateMachine: StateMachine;
  public readonly rollbackStateMachine: StateMachine;
  public readonly scheduleGroup: ScheduleGroup;
  /** The role EventBridge Scheduler assumes to invoke the bake timer (and nothing else). */
  public readonly schedulerRole: Role;
  /** Dead letters per event flow: EventBridge delivery failures and failed asynchronous invocations. */
  public readonly deadLetterQueues: Readonly<Record<'intake' | 'alarmWatch' | 'reconciler' | 'bakeTimer', Queue>>;
  /** The EventBridge rules on the default bus. */
  public readonly rules: Readonly<Record<'ecrPush' | 'cloudTrailPutImage' | 'cloudTrailStartExecution' | 'alarmStateChange' | 'executionStatusChange', Rule>>;
  /** The approval API (REST, AWS_IAM): POST /releases/{releaseId}/stages/{stage}/decision → approval-decide. */
  public readonly approvalApi: ApprovalApi;
  /** SNS topics for people: lifecycle events (Release Finished, Rollback Started, Approval Requested) and control-plane alarms. */
  public readonly notifications: ReleaseNotifications;
  /** The CloudWatch dashboard (DORA per service, releases by outcome, control-plane health) and the control-plane alarms. */
  public readonly dashboard: ReleaseDashboard;
  /** The daily insight check (stale services, drift): its workflow, schedule and dead-letter queue. */
  public readonly insightCheck: InsightCheck;
  /** EKS access entries of Gantry's roles on the clusters whose config says `accessEntries: "create"` (lib/EksAccessEntries.ts). */
  public readonly accessEntries: EksAccessEntries;

  constructor(scope: Construct, id: string, props: ReleaseControlPlaneProps) {
    super(scope, id);
    const { config } = props;
    if (!config || typeof config !== 'object' || !config.services || !config.clusters) {
      throw new ReleaseControlPlaneError('ReleaseControlPlaneProps.config must be a parsed Gantry config (parseConfig(...))');
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const logRetention = props.logRetention ?? RetentionDays.ONE_YEAR;
    const stack = Stack.of(this);
    this.warnAboutUndeployableStages(config);

    // ---------------------------------------------------------------- encryption
    this.key = new Key(this, 'Key', {
      description: 'Gantry release control plane: ledger, bus, logs, queues, driver',
      enableKeyRotation: true,
      removalPolicy,
    });
    // CloudWatch Logs encrypts the log groups of this account and region with the key.
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchLogsEncryptGantryLogGroups',
        principals: [new ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:DescribeKey'],
        resources: ['*'],
        conditions: {
          ArnLike: { 'kms:EncryptionContext:aws:logs:arn': stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
        },
      }),
    );
    // EventBridge delivers failed events to the (encrypted) dead-letter queues of this account's rules.
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'EventBridgeDeadLetterDelivery',
        principals: [new ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'events', resource: 'rule', resourceName: '*' }) },
        },
      }),
    );

    // ---------------------------------------------------------------- ledger
    // `Table`, not `TableV2`: TableV2 cannot render a customer-managed key in a region-agnostic stack.
    this.table = new Table(this, 'Ledger', {
      partitionKey: { name: LEDGER_PARTITION_KEY, type: AttributeType.STRING },
      sortKey: { name: LEDGER_SORT_KEY, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      // Only leases, tokens and other short-lived items carry it; evidence never does.
      timeToLiveAttribute: LEDGER_TTL_ATTRIBUTE,
      removalPolicy,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: LEDGER_GSI_BY_SERVICE,
      partitionKey: { name: LEDGER_GSI_PARTITION_KEY, type: AttributeType.STRING },
      sortKey: { name: LEDGER_GSI_SORT_KEY, type: AttributeType.STRING },
    });

    // ---------------------------------------------------------------- bus, timers, dead letters
    this.eventBus = new EventBus(this, 'Bus', { eventBusName: EVENT_BUS_NAME, kmsKey: this.key, description: 'Gantry lifecycle events (source: gantry)' });
    this.scheduleGroup = new ScheduleGroup(this, 'BakeTimers', { scheduleGroupName: SCHEDULE_GROUP_NAME, removalPolicy: RemovalPolicy.DESTROY });
    const scheduleGroupArn = stack.formatArn({ service: 'scheduler', resource: 'schedule-group', resourceName: SCHEDULE_GROUP_NAME });
    const bakeScheduleArns = stack.formatArn({ service: 'scheduler', resource: 'schedule', resourceName: `${SCHEDULE_GROUP_NAME}/*` });
    this.schedulerRole = new Role(this, 'BakeSchedulerRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account }, ArnLike: { 'aws:SourceArn': scheduleGroupArn } },
      }),
      description: 'EventBridge Scheduler invokes the Gantry bake timer',
    });

    const deadLetters = (qid: string) =>
      new Queue(this, qid, {
        encryption: QueueEncryption.KMS,
        encryptionMasterKey: this.key,
        dataKeyReuse: Duration.hours(1),
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
        removalPolicy,
      });
    this.deadLetterQueues = {
      intake: deadLetters('IntakeDeadLetters'),
      alarmWatch: deadLetters('AlarmWatchDeadLetters'),
      reconciler: deadLetters('ReconcilerDeadLetters'),
      bakeTimer: deadLetters('BakeTimerDeadLetters'),
    };
    const asyncDeadLetters: Partial<Record<HandlerName, Queue>> = {
      intake: this.deadLetterQueues.intake,
      'alarm-watch': this.deadLetterQueues.alarmWatch,
      reconciler: this.deadLetterQueues.reconciler,
      'bake-timer': this.deadLetterQueues.bakeTimer,
    };

    // ---------------------------------------------------------------- handlers
    // The bake timer's ARN is formatted from a name fixed at synth: every handler that cancels a timer
    // needs it (BAKE_TIMER_FUNCTION_ARN), the bake timer included, and a function cannot reference its
    // own ARN in its environment.
    const bakeTimerName = `${Names.uniqueResourceName(this, { maxLength: 52, separator: '-' })}-bake-timer`;
    const bakeTimerArn = stack.formatArn({ service: 'lambda', resource: 'function', resourceName: bakeTimerName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const ecrRegistry = `${stack.account}.dkr.ecr.${stack.region}.${stack.urlSuffix}`;
    const common = {
      TABLE_NAME: this.table.tableName,
      EVENT_BUS_NAME: this.eventBus.eventBusName,
      SCHEDULE_GROUP: SCHEDULE_GROUP_NAME,
      SCHEDULER_ROLE_ARN: this.schedulerRole.roleArn,
    };
    const functions = {} as Record<HandlerName, GantryFunction>;
    for (const name of Object.keys(HANDLERS) as HandlerName[]) {
      const environment: Record<string, string> = { ...common };
      if (TIMER_CANCELLERS.includes(name)) {
        environment.BAKE_TIMER_FUNCTION_ARN = bakeTimerArn;
        // A bake timer Scheduler could not deliver lands beside the bake timer's own failures.
        environment.BAKE_TIMER_DLQ_ARN = this.deadLetterQueues.bakeTimer.queueArn;
      }
      if (name === 'record-step' || name === 'insight-record' || name === 'rollout-check') environment.ECR_REGISTRY = ecrRegistry;
      functions[name] = new GantryFunction(this, pascalCase(name), {
        handlerName: name,
        description: `Gantry: ${HANDLERS[name]}`,
        config,
        environment,
        encryptionKey: this.key,
        logRetention,
        removalPolicy,
        deadLetterQueue: asyncDeadLetters[name],
        functionName: name === 'bake-timer' ? bakeTimerName : undefined,
        // API Gateway gives up on an integration after 29 seconds.
        timeout: name === 'approval-decide' || name === 'operator-api' ? Duration.seconds(25) : undefined,
      });
    }
    this.functions = functions;

    // ---------------------------------------------------------------- drivers
    this.helmDriver = new HelmDriver(this, 'HelmDriver', { config, encryptionKey: this.key, logRetention, removalPolicy });
    this.terraformDriver = new TerraformDriver(this, 'TerraformDriver', { config, encryptionKey: this.key, logRetention, removalPolicy });
    this.evidenceBucket = this.terraformDriver.evidenceBucket;

    // ---------------------------------------------------------------- workflows
    const substitutionValues: Record<string, string> = {
      [DRIVER_PROJECTS.helm]: this.helmDriver.project.projectName,
      [DRIVER_PROJECTS.terraform]: this.terraformDriver.project.projectName,
    };
    const functionsByPlaceholder = new Map<string, GantryFunction>();
    for (const [name, fn] of Object.entries(functions)) {
      substitutionValues[`${pascalCase(name)}FunctionArn`] = fn.function.functionArn;
      functionsByPlaceholder.set(`${pascalCase(name)}FunctionArn`, fn);
    }
    const projectArns: Record<string, string> = {
      [DRIVER_PROJECTS.helm]: this.helmDriver.project.projectArn,
      [DRIVER_PROJECTS.terraform]: this.terraformDriver.project.projectArn,
    };
    const codeBuildSyncRuleArn = stack.formatArn({ service: 'events', resource: 'rule', resourceName: CODEBUILD_SYNC_RULE });
    // The clusters of Kubernetes stages: the only ones the workflows may describe (eks:call needs no IAM; see docs/drivers.md).
    const kubernetesClusterArns = [
      ...new Set(
        Object.values(config.services)
          .flatMap((svc) => svc.stages.filter((st) => st.deploy.driver === 'kubernetes'))
          .map((st) => config.clusters[st.cluster])
          .filter((c) => c !== undefined)
          .map((c) => stack.formatArn({ service: 'eks', region: c.region, resource: 'cluster', resourceName: c.name })),
      ),
    ];
    const workflow = (wid: string, file: string) => {
      const definition = WorkflowDefinition.fromFile(join(PROJECT_ROOT, 'statemachines', file));
      const logGroup = new WorkflowLogGroup(this, `${wid}Logs`, { retention: logRetention, encryptionKey: this.key, removalPolicy });
      const sm = new StateMachine(this, wid, {
        definitionBody: DefinitionBody.fromString(definition.text),
        definitionSubstitutions: definition.substitutions(substitutionValues),
        stateMachineType: StateMachineType.STANDARD,
        tracingEnabled: true,
        // Execution data (inputs, outputs, task tokens) stays out of the logs.
        logs: { destination: logGroup, level: LogLevel.ALL, includeExecutionData: false },
      });
      const invoked = definition.functionPlaceholders.map((p) => functionsByPlaceholder.get(p));
      if (invoked.some((f) => f === undefined)) {
        throw new ReleaseControlPlaneError(`${file} invokes a function placeholder with no handler: ${definition.functionPlaceholders.join(', ')}`);
      }
      if (invoked.length > 0) {
        sm.addToRolePolicy(
          new PolicyStatement({ sid: 'InvokeWorkflowFunctions', actions: ['lambda:InvokeFunction'], resources: invoked.map((f) => (f as GantryFunction).function.functionArn) }),
        );
      }
      // The driver projects the definition starts (both, when it chooses by the stage's driver), in one
      // statement; `.sync` also waits on a rule Step Functions manages on the account's default bus.
      for (const grant of [...definition.codeBuildGrants(projectArns, codeBuildSyncRuleArn), ...definition.eksGrants(kubernetesClusterArns)]) {
        sm.addToRolePolicy(new PolicyStatement({ sid: grant.sid, actions: [...grant.actions], resources: [...grant.resources] }));
      }
      acknowledge(sm.role, 'AwsSolutions-IAM5[Resource::*]', `${WILDCARD_REASONS.logDelivery} ${WILDCARD_REASONS.xray}`);
      return sm;
    };
    this.releaseStateMachine = workflow('ReleaseWorkflow', 'release.asl.json');
    this.rollbackStateMachine = workflow('RollbackWorkflow', 'rollback.asl.json');
    const workflows = [this.releaseStateMachine, this.rollbackStateMachine];
    this.insightCheck = new InsightCheck(this, 'InsightCheck', {
      config,
      planFunction: functions['insight-plan'].function,
      recordFunction: functions['insight-record'].function,
      encryptionKey: this.key,
      logRetention,
      removalPolicy,
    });
    functions.intake.function.addEnvironment('RELEASE_STATE_MACHINE_ARN', this.releaseStateMachine.stateMachineArn);
    this.accessEntries = new EksAccessEntries(this, 'EksAccessEntries', {
      config,
      roles: {
        helmDriver: this.helmDriver.role,
        terraformDriver: this.terraformDriver.role,
        releaseWorkflow: this.releaseStateMachine.role,
        rollbackWorkflow: this.rollbackStateMachine.role,
        insightWorkflow: this.insightCheck.stateMachine.role,
      },
    });
    functions['operator-api'].function.addEnvironment('RELEASE_STATE_MACHINE_ARN', this.releaseStateMachine.stateMachineArn);
    functions['operator-api'].function.addEnvironment('ROLLBACK_STATE_MACHINE_ARN', this.rollbackStateMachine.stateMachineArn);
    this.approvalApi = new ApprovalApi(this, 'ApprovalApi', {
      handler: functions['approval-decide'].function,
      operatorHandler: functions['operator-api'].function,
      encryptionKey: this.key,
      logRetention,
      removalPolicy,
    });

    // ---------------------------------------------------------------- grants per handler
    const repositoryArns = [...new Set(Object.values(config.services).map((s) => s.repository))]
      .sort()
      .map((repository) => stack.formatArn({ service: 'ecr', resource: 'repository', resourceName: repository }));
    const ledgerArns = { table: this.table.tableArn, index: `${this.table.tableArn}/index/${LEDGER_GSI_BY_SERVICE}` };
    for (const [name, fn] of Object.entries(functions) as Array<[HandlerName, GantryFunction]>) {
      const wildcardReasons: string[] = [WILDCARD_REASONS.xray];
      // The ledger: only the item kinds this handler's code touches, each action held to them by
      // dynamodb:LeadingKeys (lib/ledger-access.ts); read-only handlers get no write action at all.
      for (const statement of ledgerPolicy(name, ledgerArns)) fn.role.addToPolicy(PolicyStatement.fromJson(statement));
      const ledgerWriter = writes(handlerGrants(name));
      this.key.grant(fn.role, ...(ledgerWriter ? LEDGER_KEY_WRITE_ACTIONS : LEDGER_KEY_READ_ACTIONS));
      if (PUBLISHERS.includes(name)) this.eventBus.grantPutEventsTo(fn.role);
      if (ECR_READERS.includes(name) && repositoryArns.length > 0) {
        fn.role.addToPolicy(
          new PolicyStatement({
            sid: 'ReadConfiguredRepositories',
            actions: ['ecr:DescribeImages', 'ecr:DescribeRepositories', 'ecr:DescribeImageScanFindings'],
            resources: repositoryArns,
          }),
        );
      }
      if (name === 'image-gates' && repositoryArns.length > 0) {
        // image.labels / image.signature read manifests, config blobs and cosign payloads; ListImageReferrers is authorised by BatchGetImage.
        fn.role.addToPolicy(
          new PolicyStatement({ sid: 'ReadImageContent', actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:DescribeImageSigningStatus'], resources: repositoryArns }),
        );
        // With Amazon Inspector enhanced scanning, DescribeImageScanFindings reads the findings from Inspector
        // as the caller: it needs inspector2:ListFindings and inspector2:ListCoverage, which take no resource.
        fn.role.addToPolicy(new PolicyStatement({ sid: 'ReadEnhancedScanFindings', actions: ['inspector2:ListFindings', 'inspector2:ListCoverage'], resources: ['*'] }));
        wildcardReasons.push(WILDCARD_REASONS.inspectorFindings);
        const kmsSigningKeys = [...new Set(Object.values(config.signing.keys).filter(isKmsKeyRef))].sort();
        if (kmsSigningKeys.length > 0) fn.role.addToPolicy(new PolicyStatement({ sid: 'ReadSigningPublicKeys', actions: ['kms:GetPublicKey'], resources: kmsSigningKeys }));
      }
      if (ALARM_READERS.includes(name)) {
        fn.role.addToPolicy(new PolicyStatement({ sid: 'ReadAlarmStates', actions: ['cloudwatch:DescribeAlarms'], resources: ['*'] }));
        wildcardReasons.push(WILDCARD_REASONS.describeAlarms);
      }
      if (TIMER_CANCELLERS.includes(name)) {
        const actions = name === 'bake-register' ? ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule'] : ['scheduler:DeleteSchedule'];
        fn.role.addToPolicy(new PolicyStatement({ sid: 'ManageBakeTimers', actions, resources: [bakeScheduleArns] }));
        acknowledge(
          fn.role,
          `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/${SCHEDULE_GROUP_NAME}/*]`,
          `Bake timers are one-time schedules named per release and stage at run time; the grant is limited to the ${SCHEDULE_GROUP_NAME} group.`,
        );
      }
      if (name === 'bake-register') {
        fn.role.addToPolicy(
          new PolicyStatement({
            sid: 'PassBakeSchedulerRole',
            actions: ['iam:PassRole'],
            resources: [this.schedulerRole.roleArn],
            conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
          }),
        );
      }
      if (TASK_TOKEN_SENDERS.includes(name)) {
        // Kept out of the role's default policy: bake-register is in the release definition, so a
        // reference to the workflow from the policy its function depends on would be a cycle.
        fn.role.attachInlinePolicy(
          new Policy(fn, 'SendTaskResults', {
            statements: [
              new PolicyStatement({ sid: 'SendTaskResults', actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'], resources: workflows.map((w) => w.stateMachineArn) }),
            ],
          }),
        );
      }
      if (name === 'approval-decide') {
        // Ends approvals of the release workflow and of forced operator rollbacks (the rollback workflow asks when a gate was overridden).
        fn.role.attachInlinePolicy(
          new Policy(fn, 'DecideApprovals', {
            statements: [new PolicyStatement({ sid: 'DecideApprovals', actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'], resources: workflows.map((w) => w.stateMachineArn) })],
          }),
        );
      }
      if (name === 'intake') {
        this.releaseStateMachine.grantStartExecution(fn.role);
        // A push's name already taken: by this push's release (running or on record), by one that died
        // unrecorded (start again), or by another digest (decision 024). Read-only.
        this.releaseStateMachine.grantExecution(fn.role, 'states:DescribeExecution');
        const releaseWorkflowId = stack.getLogicalId(this.releaseStateMachine.node.defaultChild as CfnElement);
        acknowledge(
          fn.role,
          `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${releaseWorkflowId}"}]}]}:*]`,
          'states:DescribeExecution on the executions of the release workflow only (execution:<release state machine name>:*): an execution ARN ends in the execution name, which intake derives from each push, so the executions of one state machine can be named only with a wildcard after its name; the action is read-only.',
        );
      }
      if (name === 'operator-api') {
        // Starts releases and operator rollbacks for the caller; no task token, no stop.
        this.releaseStateMachine.grantStartExecution(fn.role);
        this.rollbackStateMachine.grantStartExecution(fn.role);
      }
      const dlq = asyncDeadLetters[name];
      if (dlq) dlq.grantSendMessages(fn.role);
      acknowledge(fn.role, 'AwsSolutions-IAM5[Resource::*]', wildcardReasons.join(' '));
      if (ledgerWriter || dlq) {
        acknowledge(fn.role, 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', WILDCARD_REASONS.kmsGrantActions);
        acknowledge(fn.role, 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', WILDCARD_REASONS.kmsGrantActions);
      }
    }

    // The scheduler invokes the bake timer and nothing else (no `:*` qualifier either).
    this.schedulerRole.addToPolicy(new PolicyStatement({ sid: 'InvokeBakeTimer', effect: Effect.ALLOW, actions: ['lambda:InvokeFunction'], resources: [bakeTimerArn] }));
    // ...and puts an undeliverable timer on the bake timer's dead-letter queue (KMS-encrypted with the Gantry key).
    // Exactly what an SQS sender to a KMS-encrypted queue needs: no wildcard action (grantSendMessages would add kms:ReEncrypt*).
    this.schedulerRole.addToPolicy(new PolicyStatement({ sid: 'DeadLetterUndeliveredTimers', effect: Effect.ALLOW, actions: ['sqs:SendMessage'], resources: [this.deadLetterQueues.bakeTimer.queueArn] }));
    this.schedulerRole.addToPolicy(new PolicyStatement({ sid: 'EncryptDeadLetters', effect: Effect.ALLOW, actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [this.key.keyArn] }));

    // ---------------------------------------------------------------- rules on the default bus
    const target = (fn: GantryFunction, dlq: Queue) =>
      new LambdaFunction(fn.function, { deadLetterQueue: dlq, retryAttempts: 8, maxEventAge: Duration.hours(2) });
    const ruleTargets = new Map<Queue, string[]>();
    const rule = (rid: string, description: string, pattern: EventPattern, fn: GantryFunction, dlq: Queue) => {
      ruleTargets.set(dlq, [...(ruleTargets.get(dlq) ?? []), rid]);
      return new Rule(this, rid, { description, eventPattern: pattern, targets: [target(fn, dlq)] });
    };
    this.rules = {
      ecrPush: rule('EcrPushRule', 'ECR image pushed: start a release', eventPatternOf(ecrPushPattern), functions.intake, this.deadLetterQueues.intake),
      cloudTrailPutImage: rule(
        'CloudTrailPutImageRule',
        'ECR PutImage via CloudTrail: the pusher identity of a release',
        eventPatternOf(cloudTrailPutImagePattern),
        functions.intake,
        this.deadLetterQueues.intake,
      ),
      // Who started a release or rollback without the operator API (the Step Functions console): decision 027.
      cloudTrailStartExecution: rule(
        'CloudTrailStartExecutionRule',
        'Step Functions StartExecution via CloudTrail: the initiator of a release or rollback started from the console',
        eventPatternOf(cloudTrailStartExecutionPattern([this.releaseStateMachine.stateMachineArn, this.rollbackStateMachine.stateMachineArn])),
        functions.intake,
        this.deadLetterQueues.intake,
      ),
      alarmStateChange: rule('AlarmStateChangeRule', 'Alarm state change: fail the bakes watching it', eventPatternOf(alarmStateChangePattern), functions['alarm-watch'], this.deadLetterQueues.alarmWatch),
      executionStatusChange: rule(
        'ExecutionStatusChangeRule',
        'A Gantry workflow execution failed, was aborted or timed out: close its record',
        eventPatternOf(executionStatusChangePattern(workflows.map((w) => w.stateMachineArn))),
        functions.reconciler,
        this.deadLetterQueues.reconciler,
      ),
    };
    // Each event flow's queue keeps the function's failed asynchronous invocations and its rule targets' undelivered events.
    for (const [name, dlq] of Object.entries(asyncDeadLetters) as Array<[HandlerName, Queue]>) {
      const rules = ruleTargets.get(dlq) ?? [];
      acknowledgeDeadLetterQueue(dlq, `the ${name} function (its on-failure destination)${rules.length > 0 ? ` and of its target in ${rules.join(', ')}` : ''}`);
    }

    // ---------------------------------------------------------------- insight: notifications, dashboard, alarms
    this.notifications = new ReleaseNotifications(this, 'Notifications', { eventBus: this.eventBus, key: this.key, removalPolicy });
    this.dashboard = new ReleaseDashboard(this, 'Dashboard', {
      services: Object.fromEntries(Object.entries(config.services).map(([name, svc]) => [name, svc.stages.map((st) => st.name)])),
      stateMachines: { release: this.releaseStateMachine, rollback: this.rollbackStateMachine },
      functions: Object.fromEntries(Object.entries(functions).map(([name, fn]) => [name, fn.function])),
      deadLetterQueues: { ...this.deadLetterQueues, notifications: this.notifications.deadLetterQueue, insightSchedule: this.insightCheck.deadLetterQueue },
      alarmAction: new SnsAction(this.notifications.alarmTopic),
    });
  }

  /**
   * What an operator needs, and nothing that writes the ledger: `execute-api:Invoke` on the operator routes
   * (start a release, start a rollback, set the freeze: the API records the caller), read access to the
   * ledger (`gantry status`, `releases`, `freeze status`, `audit`), and `DescribeExecution` / `StopExecution`
   * on the workflows' executions. No `states:StartExecution`: a start that bypasses the API has no start
   * record, and its release stays "unattributed" (nobody may approve it) until CloudTrail's StartExecution
   * record reaches intake (decision 027).
   */
  public grantOperate(grantee: IGrantable): Grant {
    const routes = Object.values(this.approvalApi.operatorArns);
    return Grant.addToPrincipal({ grantee, actions: ['execute-api:Invoke'], resourceArns: routes })
      .combine(this.table.grantReadData(grantee))
      .combine(this.releaseStateMachine.grantExecution(grantee, 'states:DescribeExecution', 'states:StopExecution'))
      .combine(this.rollbackStateMachine.grantExecution(grantee, 'states:DescribeExecution', 'states:StopExecution'));
  }

  /** What an approver needs: `execute-api:Invoke` on the decision route. Who may approve which stage is the config's `approval.approvers`. */
  public grantApprove(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({ grantee, actions: ['execute-api:Invoke'], resourceArns: [this.approvalApi.decisionArn] });
  }

  /** What an auditor needs: read access to the ledger (and `kms:Decrypt` through it). Nothing that writes. */
  public grantAudit(grantee: IGrantable): Grant {
    return this.table.grantReadData(grantee);
  }

  /**
   * Stages this version cannot deploy are reported at synth (a warning, not an error): a stage whose
   * driver the release workflow never runs (`statemachines/release.asl.json` has no
   * `${HelmProjectName}` / `${TerraformProjectName}` for it, or no `eks:call` write for `kubernetes`).
   */
  private warnAboutUndeployableStages(config: GantryConfig): void {
    const release = WorkflowDefinition.fromFile(join(PROJECT_ROOT, 'statemachines', 'release.asl.json'));
    const started: readonly string[] = release.drivers;
    for (const [service, svc] of Object.entries(config.services)) {
      for (const st of svc.stages) {
        if (!started.includes(st.deploy.driver)) {
          Annotations.of(this).addWarningV2(
            'gantry:driverNotDeployed',
            `services.${service} stage ${st.name} uses the ${st.deploy.driver} driver, which ${release.source} never runs (it runs the ${started.join(' and ') || 'no'} driver), so a release reaching that stage fails at its deploy step`,
          );
        }
        // The Kubernetes driver describes its cluster in the workflow's own region (aws-sdk:eks:describeCluster).
        const region = Stack.of(this).region;
        const cluster = config.clusters[st.cluster];
        if (st.deploy.driver === 'kubernetes' && cluster && !Token.isUnresolved(region) && cluster.region !== region) {
          Annotations.of(this).addWarningV2(
            'gantry:kubernetesClusterRegion',
            `services.${service} stage ${st.name} deploys with the kubernetes driver to cluster ${cluster.name} in ${cluster.region}, but the workflows run in ${region} and can describe only clusters of their own region, so its deploys fail`,
          );
        }
      }
    }
  }

}

/** An EventBridge pattern object (as the local bus uses it) in the shape CDK's `Rule` takes. */
function eventPatternOf(p: { readonly source: readonly string[]; readonly 'detail-type': readonly string[]; readonly detail: object }): EventPattern {
  return { source: [...p.source], detailType: [...p['detail-type']], detail: p.detail as Record<string, unknown> };
}

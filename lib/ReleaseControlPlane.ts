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
import { CfnEventBusPolicy, EventBus, type EventPattern, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, Grant, type IGrantable, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
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
import { type GantryConfig, stageClusters } from '../lambdas/domain/config';
import {
  alarmStateChangePattern,
  ecrImageScanPattern,
  inspectorImageScanPattern,
  cloudTrailPutImagePattern,
  cloudTrailStartExecutionPattern,
  ecrPushPattern,
  executionStatusChangePattern,
  RECORD_FINISHED_DETAIL_TYPES,
} from '../lambdas/domain/event-patterns';
import { isKmsKeyRef } from '../lambdas/domain/image/signature';
import {
  type ExtraEnvironment,
  HANDLER_NAMES,
  HANDLER_REGISTRY,
  type HandlerName,
  handlerEntry,
  type Invocation,
  pascalCase,
  type RuleName,
  theHandler,
} from '../lambdas/registry';
import { acknowledge, acknowledgeDeadLetterQueue, WILDCARD_REASONS } from './acknowledge';
import { AnchorSigning } from './AnchorSigning';
import { grantCapabilities } from './handler-grants';
import { handlerGrants, ledgerPolicy, writes } from './ledger-access';
import { ApprovalApi } from './ApprovalApi';
import { CLUSTER_ACCESS_ROLE_ENV, CLUSTER_PLANNING_HANDLERS, ClusterAccessRole, stageClusterKeys } from './ClusterAccessRole';
import { EksAccessEntries } from './EksAccessEntries';
import { GantryFunction, PROJECT_ROOT } from './GantryFunction';
import { DRIVERS } from '../drivers';
import type { HelmDriver } from '../drivers/helm/cdk';
import type { TerraformDriver } from '../drivers/terraform/cdk';
import { createDrivers, type DriverResources } from './drivers';
import { InsightCheck } from './InsightCheck';
import { ReleaseDashboard } from './ReleaseDashboard';
import { ReleaseNotifications } from './ReleaseNotifications';
import { WorkflowLogGroup } from './WorkflowLogGroup';
import { CODEBUILD_SYNC_RULE, STATES_SYNC_RULE, WorkflowDefinition } from './WorkflowDefinition';
import { DrillSchedules } from './DrillSchedules';

/** The Gantry EventBridge bus (docs/contracts.md §4). */
export const EVENT_BUS_NAME = 'gantry';
/** What a role that reads the ledger needs of the Gantry key (the table is encrypted with it), as CDK's table grants ask. */
const LEDGER_KEY_READ_ACTIONS = ['kms:Decrypt', 'kms:DescribeKey'];
/** ... and a role that writes it. */
const LEDGER_KEY_WRITE_ACTIONS = [...LEDGER_KEY_READ_ACTIONS, 'kms:Encrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*'];

/** The EventBridge Scheduler group every bake timer is created in. */
export const SCHEDULE_GROUP_NAME = 'gantry-bakes';

/** Every handler under `lambdas/`, with what it is for (from the registry, lambdas/registry.ts). */
export const HANDLERS = Object.fromEntries(HANDLER_NAMES.map((n) => [n, HANDLER_REGISTRY[n].description])) as {
  readonly [K in HandlerName]: (typeof HANDLER_REGISTRY)[K]['description'];
};
export { type HandlerName, pascalCase };

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
  /** Every registered driver's resources, by driver name (drivers/index.ts, lib/drivers.ts). */
  public readonly drivers: Readonly<Record<string, DriverResources>>;
  /** The Helm driver's construct (`drivers.helm`): its role and project back the stack outputs and access entries. */
  public readonly helmDriver: HelmDriver;
  /** The Terraform driver's construct (`drivers.terraform`), which also holds the evidence bucket. */
  public readonly terraformDriver: TerraformDriver;
  /** Driver evidence (the Terraform plans): versioned, encrypted with the key, never public, nothing expires. */
  public readonly evidenceBucket: Bucket;
  public readonly releaseStateMachine: StateMachine;
  public readonly rollbackStateMachine: StateMachine;
  /** The drill workflow (decision 052): the rollback workflow twice, nested, and the drill's figures. */
  public readonly drillStateMachine: StateMachine;
  /** The scheduled drills of the stages whose config has `drill.schedule`. */
  public readonly drillSchedules: DrillSchedules;
  public readonly scheduleGroup: ScheduleGroup;
  /** The role EventBridge Scheduler assumes to invoke the bake timer (and nothing else). */
  public readonly schedulerRole: Role;
  /** Dead letters per event flow: EventBridge delivery failures and failed asynchronous invocations. */
  public readonly deadLetterQueues: Readonly<Record<'intake' | 'alarmWatch' | 'reconciler' | 'bakeTimer' | 'scanWatch' | 'anchorSign', Queue>>;
  /** The EventBridge rules on the default bus (and `releaseFinished`, on the Gantry bus). */
  public readonly rules: Readonly<
    Record<
      'ecrPush' | 'cloudTrailPutImage' | 'cloudTrailStartExecution' | 'alarmStateChange' | 'executionStatusChange' | 'ecrImageScan' | 'inspectorImageScan' | 'releaseFinished',
      Rule
    >
  >;
  /** The anchor signing key and its guards (decision 048): signs each finished release's end and the insight head. */
  public readonly anchorSigning: AnchorSigning;
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
  /**
   * The role the workflows' `eks:call` Tasks (`Credentials`) and the plan handlers assume for clusters in Gantry's own
   * account (lib/ClusterAccessRole.ts, decision 046). Clusters in other accounts are reached with their `roleArn`.
   */
  public readonly clusterAccess: ClusterAccessRole;
  /** One statement on the account's default bus per account named by `clusters.*.account`: its alarm events may come in. */
  public readonly busPolicies: readonly CfnEventBusPolicy[];

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
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
          },
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
      scanWatch: deadLetters('ScanWatchDeadLetters'),
      anchorSign: deadLetters('AnchorSignDeadLetters'),
    };
    const asyncDeadLetters: Partial<Record<HandlerName, Queue>> = {};
    for (const name of HANDLER_NAMES) {
      const dlq = handlerEntry(name).deadLetterQueue;
      if (dlq) asyncDeadLetters[name] = this.deadLetterQueues[dlq];
    }

    // ---------------------------------------------------------------- handlers
    // The bake timer's ARN is formatted from a name fixed at synth: every handler that cancels a timer
    // needs it (BAKE_TIMER_FUNCTION_ARN), the bake timer included, and a function cannot reference its
    // own ARN in its environment.
    const bakeTimer = theHandler('EventBridge Scheduler', (inv) => inv.kind === 'schedule');
    const bakeTimerName = `${Names.uniqueResourceName(this, { maxLength: 52, separator: '-' })}-${bakeTimer}`;
    const bakeTimerArn = stack.formatArn({ service: 'lambda', resource: 'function', resourceName: bakeTimerName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const common = {
      TABLE_NAME: this.table.tableName,
      EVENT_BUS_NAME: this.eventBus.eventBusName,
      SCHEDULE_GROUP: SCHEDULE_GROUP_NAME,
      SCHEDULER_ROLE_ARN: this.schedulerRole.roleArn,
    };
    // Extra environment known now; the workflows' ARNs are added once the workflows exist (below).
    // The anchor signing key (decision 048): its ARN goes to the signers' environment, its policy names their roles (below).
    this.anchorSigning = new AnchorSigning(this, 'AnchorSigning');
    const earlyEnvironment: Partial<Record<ExtraEnvironment, string>> = {
      ANCHOR_KEY_ARN: this.anchorSigning.key.keyArn,
      BAKE_TIMER_FUNCTION_ARN: bakeTimerArn,
      // A bake timer Scheduler could not deliver lands beside the bake timer's own failures.
      BAKE_TIMER_DLQ_ARN: this.deadLetterQueues.bakeTimer.queueArn,
      ECR_REGISTRY: `${stack.account}.dkr.ecr.${stack.region}.${stack.urlSuffix}`,
    };
    const functions = {} as Record<HandlerName, GantryFunction>;
    for (const name of HANDLER_NAMES) {
      const entry = handlerEntry(name);
      const environment: Record<string, string> = { ...common };
      for (const variable of entry.environment ?? []) {
        const value = earlyEnvironment[variable];
        if (value !== undefined) environment[variable] = value;
      }
      functions[name] = new GantryFunction(this, pascalCase(name), {
        handlerName: name,
        description: `Gantry: ${entry.description}`,
        config,
        environment,
        encryptionKey: this.key,
        logRetention,
        removalPolicy,
        deadLetterQueue: asyncDeadLetters[name],
        functionName: name === bakeTimer ? bakeTimerName : undefined,
        timeout: entry.timeoutSeconds === undefined ? undefined : Duration.seconds(entry.timeoutSeconds),
      });
    }
    this.functions = functions;
    // Only the anchoring roles may call kms:Sign with the anchor key (its key policy).
    this.anchorSigning.allowSigning(HANDLER_NAMES.filter((n) => handlerEntry(n).capabilities.includes('signAnchors')).map((n) => functions[n].role));

    // ---------------------------------------------------------------- drivers
    // Every registered driver (drivers/index.ts) adds its own resources (drivers/<name>/cdk.ts, lib/drivers.ts).
    this.drivers = createDrivers(this, { config, encryptionKey: this.key, logRetention, removalPolicy });
    this.helmDriver = this.drivers.helm?.construct as HelmDriver;
    this.terraformDriver = this.drivers.terraform?.construct as TerraformDriver;
    this.evidenceBucket = this.terraformDriver.evidenceBucket;

    // ---------------------------------------------------------------- workflows
    // Each CodeBuild driver's project replaces its placeholder, and is what the workflows may start.
    const substitutionValues: Record<string, string> = {};
    const projectArns: Record<string, string> = {};
    for (const d of DRIVERS) {
      const project = this.drivers[d.name]?.project;
      if (!d.codeBuild || !project) continue;
      substitutionValues[d.codeBuild.projectPlaceholder] = project.projectName;
      projectArns[d.codeBuild.projectPlaceholder] = project.projectArn;
    }
    const functionsByPlaceholder = new Map<string, GantryFunction>();
    for (const [name, fn] of Object.entries(functions)) {
      substitutionValues[`${pascalCase(name)}FunctionArn`] = fn.function.functionArn;
      functionsByPlaceholder.set(`${pascalCase(name)}FunctionArn`, fn);
    }
    const codeBuildSyncRuleArn = stack.formatArn({ service: 'events', resource: 'rule', resourceName: CODEBUILD_SYNC_RULE });
    const statesSyncRuleArn = stack.formatArn({ service: 'events', resource: 'rule', resourceName: STATES_SYNC_RULE });
    // The workflows another workflow runs nested (`states:startExecution.sync:2`), by placeholder: filled as they are made.
    const nestedStateMachines: Record<string, { arn: string; executions: string }> = {};
    // The workflows no longer describe clusters (the plan handler does, with the cluster's role: decision 046); a
    // definition that still has an `aws-sdk:eks:describeCluster` Task gets it on the own-account clusters only (a
    // cluster in another account is described with its roleArn, never with the workflow role).
    const ownClusterArns = new Set(
      Object.values(config.clusters)
        .filter((c) => (c as { account?: string }).account === undefined)
        .map((c) => stack.formatArn({ service: 'eks', region: c.region, resource: 'cluster', resourceName: c.name })),
    );
    const kubernetesClusterArns = [...new Set(Object.values(this.drivers).flatMap((r) => r.describedClusterArns ?? []))].filter((arn) => ownClusterArns.has(arn));
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
      for (const grant of [
        ...definition.codeBuildGrants(projectArns, codeBuildSyncRuleArn),
        ...definition.eksGrants(kubernetesClusterArns),
        ...definition.startExecutionGrants(nestedStateMachines, statesSyncRuleArn),
      ]) {
        sm.addToRolePolicy(new PolicyStatement({ sid: grant.sid, actions: [...grant.actions], resources: [...grant.resources] }));
      }
      acknowledge(sm.role, 'AwsSolutions-IAM5[Resource::*]', `${WILDCARD_REASONS.logDelivery} ${WILDCARD_REASONS.xray}`);
      return sm;
    };
    this.releaseStateMachine = workflow('ReleaseWorkflow', 'release.asl.json');
    this.rollbackStateMachine = workflow('RollbackWorkflow', 'rollback.asl.json');
    substitutionValues.RollbackStateMachineArn = this.rollbackStateMachine.stateMachineArn;
    nestedStateMachines.RollbackStateMachineArn = {
      arn: this.rollbackStateMachine.stateMachineArn,
      executions: stack.formatArn({
        service: 'states',
        resource: 'execution',
        resourceName: `${this.rollbackStateMachine.stateMachineName}:*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    };
    this.drillStateMachine = workflow('DrillWorkflow', 'drill.asl.json');
    const rollbackWorkflowId = stack.getLogicalId(this.rollbackStateMachine.node.defaultChild as CfnElement);
    acknowledge(
      this.drillStateMachine.role,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<${rollbackWorkflowId}.Name>:*]`,
      "states:DescribeExecution/StopExecution on the rollback workflow's executions only (execution:<rollback state machine name>:*): what startExecution.sync:2 needs to watch the drill's two legs, whose names are made per drill (decision 052).",
    );
    this.drillSchedules = new DrillSchedules(this, 'DrillSchedules', { config, drillWorkflow: this.drillStateMachine, encryptionKey: this.key, removalPolicy });
    const workflows = [this.releaseStateMachine, this.rollbackStateMachine];
    this.insightCheck = new InsightCheck(this, 'InsightCheck', {
      config,
      planFunction: functions['insight-plan'].function,
      recordFunction: functions['insight-record'].function,
      encryptionKey: this.key,
      logRetention,
      removalPolicy,
    });
    const lateEnvironment: Partial<Record<ExtraEnvironment, string>> = {
      RELEASE_STATE_MACHINE_ARN: this.releaseStateMachine.stateMachineArn,
      ROLLBACK_STATE_MACHINE_ARN: this.rollbackStateMachine.stateMachineArn,
      DRILL_STATE_MACHINE_ARN: this.drillStateMachine.stateMachineArn,
    };
    for (const name of HANDLER_NAMES) {
      for (const variable of handlerEntry(name).environment ?? []) {
        const value = lateEnvironment[variable];
        if (value !== undefined) functions[name].function.addEnvironment(variable, value);
      }
    }
    // ---------------------------------------------------------------- reaching the clusters (decision 046)
    const workflowRoles = [this.releaseStateMachine.role, this.rollbackStateMachine.role, this.insightCheck.stateMachine.role];
    const planningRoles = CLUSTER_PLANNING_HANDLERS.map((n) => functions[n].role);
    this.clusterAccess = new ClusterAccessRole(this, 'ClusterAccess', { config, trustedRoles: [...workflowRoles, ...planningRoles] });
    for (const role of [...workflowRoles, ...planningRoles]) this.clusterAccess.grantAssumeAll(role);
    for (const name of CLUSTER_PLANNING_HANDLERS) functions[name].function.addEnvironment(CLUSTER_ACCESS_ROLE_ENV, this.clusterAccess.role.roleArn);
    // Alarms and canary metrics of a cluster in another account are read there, with its role (own-account ones with the handler's own role).
    for (const name of HANDLER_NAMES) {
      const caps = handlerEntry(name).capabilities;
      if (caps.includes('readAlarms') || caps.includes('readMetrics')) this.clusterAccess.grantAssumeTargetRoles(functions[name].role);
    }
    // The CodeBuild drivers assume the role of a stage's cluster in another account (deploy.sh, decision 045): the roles of their stages only.
    for (const d of DRIVERS) {
      const role = this.drivers[d.name]?.role;
      if (!d.codeBuild || !role) continue;
      const roleArns = Object.values(config.services).flatMap((svc) =>
        svc.stages
          .filter((st) => st.deploy.driver === d.name)
          .flatMap((st) => stageClusterKeys(st).flatMap((key) => (config.clusters[key] as { roleArn?: string } | undefined)?.roleArn ?? [])),
      );
      this.clusterAccess.grantAssumeTargetRoles(role, roleArns);
    }
    this.accessEntries = new EksAccessEntries(this, 'EksAccessEntries', {
      config,
      roles: {
        helmDriver: this.helmDriver.role,
        terraformDriver: this.terraformDriver.role,
        // The workflows' eks:call Tasks run as the ClusterAccessRole (their Credentials): one entry for the three.
        releaseWorkflow: this.clusterAccess.role,
        rollbackWorkflow: this.clusterAccess.role,
        insightWorkflow: this.clusterAccess.role,
      },
    });
    this.approvalApi = new ApprovalApi(this, 'ApprovalApi', {
      handler: functions[theHandler('the approval decision API', (inv) => inv.kind === 'api' && inv.api === 'decision')].function,
      operatorHandler: functions[theHandler('the operator API', (inv) => inv.kind === 'api' && inv.api === 'operator')].function,
      encryptionKey: this.key,
      logRetention,
      removalPolicy,
    });

    // ---------------------------------------------------------------- grants per handler
    const repositoryArns = [...new Set(Object.values(config.services).map((s) => s.repository))]
      .sort()
      .map((repository) => stack.formatArn({ service: 'ecr', resource: 'repository', resourceName: repository }));
    const ledgerArns = { table: this.table.tableArn, index: `${this.table.tableArn}/index/${LEDGER_GSI_BY_SERVICE}` };
    const capabilityResources = {
      grantPutEvents: (role: Role) => this.eventBus.grantPutEventsTo(role),
      repositoryArns,
      kmsSigningKeys: [...new Set(Object.values(config.signing.keys).filter(isKmsKeyRef))].sort(),
      bakeScheduleArns,
      scheduleGroupName: SCHEDULE_GROUP_NAME,
      schedulerRoleArn: this.schedulerRole.roleArn,
      taskWorkflows: workflows,
      releaseWorkflow: this.releaseStateMachine,
      rollbackWorkflow: this.rollbackStateMachine,
      anchorKeyArn: this.anchorSigning.key.keyArn,
      drillWorkflow: this.drillStateMachine,
    };
    for (const [name, fn] of Object.entries(functions) as Array<[HandlerName, GantryFunction]>) {
      const wildcardReasons: string[] = [WILDCARD_REASONS.xray];
      // The ledger: only the item kinds this handler's code touches, each action held to them by
      // dynamodb:LeadingKeys (lib/ledger-access.ts); read-only handlers get no write action at all.
      for (const statement of ledgerPolicy(name, ledgerArns)) fn.role.addToPolicy(PolicyStatement.fromJson(statement));
      const ledgerWriter = writes(handlerGrants(name));
      this.key.grant(fn.role, ...(ledgerWriter ? LEDGER_KEY_WRITE_ACTIONS : LEDGER_KEY_READ_ACTIONS));
      wildcardReasons.push(...grantCapabilities(fn, fn.role, handlerEntry(name).capabilities, capabilityResources));
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
    this.schedulerRole.addToPolicy(
      new PolicyStatement({ sid: 'DeadLetterUndeliveredTimers', effect: Effect.ALLOW, actions: ['sqs:SendMessage'], resources: [this.deadLetterQueues.bakeTimer.queueArn] }),
    );
    this.schedulerRole.addToPolicy(
      new PolicyStatement({ sid: 'EncryptDeadLetters', effect: Effect.ALLOW, actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [this.key.keyArn] }),
    );

    // ---------------------------------------------------------------- rules on the default bus
    const target = (fn: GantryFunction, dlq: Queue) => new LambdaFunction(fn.function, { deadLetterQueue: dlq, retryAttempts: 8, maxEventAge: Duration.hours(2) });
    const ruleTargets = new Map<Queue, string[]>();
    // Each rule targets the one handler the registry says it invokes, with that handler's dead-letter queue.
    const rule = (key: RuleName, rid: string, description: string, pattern: EventPattern, eventBus?: EventBus) => {
      const name = theHandler(`the ${key} rule`, (inv: Invocation) => inv.kind === 'event' && inv.rules.includes(key));
      const dlq = asyncDeadLetters[name];
      if (!dlq) throw new ReleaseControlPlaneError(`lambdas/registry.ts: ${name} is the target of the ${key} rule but has no deadLetterQueue`);
      ruleTargets.set(dlq, [...(ruleTargets.get(dlq) ?? []), rid]);
      return new Rule(this, rid, { description, eventPattern: pattern, targets: [target(functions[name], dlq)], ...(eventBus ? { eventBus } : {}) });
    };
    this.rules = {
      ecrPush: rule('ecrPush', 'EcrPushRule', 'ECR image pushed: start a release', eventPatternOf(ecrPushPattern)),
      cloudTrailPutImage: rule(
        'cloudTrailPutImage',
        'CloudTrailPutImageRule',
        'ECR PutImage via CloudTrail: the pusher identity of a release',
        eventPatternOf(cloudTrailPutImagePattern),
      ),
      // Who started a release or rollback without the operator API (the Step Functions console): decision 027.
      cloudTrailStartExecution: rule(
        'cloudTrailStartExecution',
        'CloudTrailStartExecutionRule',
        'Step Functions StartExecution via CloudTrail: the initiator of a release or rollback started from the console',
        eventPatternOf(cloudTrailStartExecutionPattern([this.releaseStateMachine.stateMachineArn, this.rollbackStateMachine.stateMachineArn])),
      ),
      alarmStateChange: rule('alarmStateChange', 'AlarmStateChangeRule', 'Alarm state change: fail the bakes watching it', eventPatternOf(alarmStateChangePattern)),
      // The event-driven scan wait (decision 040): a scan that ended wakes the releases waiting for it.
      ecrImageScan: rule('ecrImageScan', 'EcrImageScanRule', 'ECR basic scan ended: wake the releases waiting for it', eventPatternOf(ecrImageScanPattern)),
      inspectorImageScan: rule(
        'inspectorImageScan',
        'InspectorImageScanRule',
        "Inspector's first scan of an ECR image ended: wake the releases waiting for it",
        eventPatternOf(inspectorImageScanPattern),
      ),
      executionStatusChange: rule(
        'executionStatusChange',
        'ExecutionStatusChangeRule',
        'A Gantry workflow execution failed, was aborted or timed out: close its record',
        // The drill workflow too: a drill that fails internally leaves its own record to close (decision 052).
        eventPatternOf(executionStatusChangePattern([...workflows, this.drillStateMachine].map((w) => w.stateMachineArn))),
      ),
      // On the Gantry bus: every writer of release.finished announces it (decision 048): Release Finished, or
      // Rollback Drilled for a drill's own record (decision 052).
      releaseFinished: rule(
        'releaseFinished',
        'ReleaseFinishedSignRule',
        "Release Finished / Rollback Drilled: sign the record's end with the anchor key",
        { source: ['gantry'], detailType: [...RECORD_FINISHED_DETAIL_TYPES] },
        this.eventBus,
      ),
    };
    // Alarm state changes of clusters in other accounts arrive on the default bus through each account's
    // GantryTargetAccount rule (lib/GantryTargetAccount.ts); the alarm-watch rule's pattern pins no `account`, so
    // it matches them as well as this account's. One statement per account, CloudWatch alarm events only.
    this.busPolicies = this.clusterAccess.access.targetAccounts.map(
      (account) =>
        new CfnEventBusPolicy(this, `AlarmEventsFrom${account}`, {
          eventBusName: 'default',
          statementId: busStatementId(stack.stackName, account),
          statement: {
            Sid: busStatementId(stack.stackName, account),
            Effect: 'Allow',
            Principal: { AWS: `arn:${stack.partition}:iam::${account}:root` },
            Action: 'events:PutEvents',
            Resource: stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' }),
            Condition: { StringEquals: { 'events:source': [...alarmStateChangePattern.source], 'events:detail-type': [...alarmStateChangePattern['detail-type']] } },
          },
        }),
    );
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
    this.anchorSigning.guard(this.notifications.alarmTopic, this.deadLetterQueues.anchorSign);
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
      .combine(this.rollbackStateMachine.grantExecution(grantee, 'states:DescribeExecution', 'states:StopExecution'))
      .combine(this.drillStateMachine.grantExecution(grantee, 'states:DescribeExecution', 'states:StopExecution'));
  }

  /** What an approver needs: `execute-api:Invoke` on the decision route. Who may approve which stage is the config's `approval.approvers`. */
  public grantApprove(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({ grantee, actions: ['execute-api:Invoke'], resourceArns: [this.approvalApi.decisionArn] });
  }

  /**
   * What an auditor needs: read access to the ledger (and `kms:Decrypt` through it), and the anchor key's public half
   * (`kms:GetPublicKey`, `kms:DescribeKey`: `gantry audit verify --stack`). Nothing that writes or signs.
   */
  public grantAudit(grantee: IGrantable): Grant {
    return this.table
      .grantReadData(grantee)
      .combine(Grant.addToPrincipal({ grantee, actions: ['kms:GetPublicKey', 'kms:DescribeKey'], resourceArns: [this.anchorSigning.key.keyArn] }));
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
        // A definition that still describes its cluster in a Task (aws-sdk:eks:describeCluster) can do so only in the
        // workflow's own region; the plan handler's DescribeCluster (decision 046) reaches any region.
        const region = Stack.of(this).region;
        // Each cluster of a stage with waves (decision 044); the first one in another region is warned about.
        const cluster = stageClusters(st)
          .map((key) => config.clusters[key])
          .find((c) => c && c.region !== region);
        if (release.describesClusters && st.deploy.driver === 'kubernetes' && cluster && !Token.isUnresolved(region) && cluster.region !== region) {
          Annotations.of(this).addWarningV2(
            'gantry:kubernetesClusterRegion',
            `services.${service} stage ${st.name} deploys with the kubernetes driver to cluster ${cluster.name} in ${cluster.region}, but the workflows run in ${region} and can describe only clusters of their own region, so its deploys fail`,
          );
        }
      }
    }
  }
}

/**
 * The statement id of the default bus's statement for one account: unique per Gantry stack and account (the default
 * bus's policy is shared by every stack of the account), at most 64 of `[A-Za-z0-9_-]`.
 */
export function busStatementId(stackName: string, account: string): string {
  const prefix = `${stackName.replace(/[^A-Za-z0-9_-]/g, '')}-alarms-from-`;
  return `${prefix.slice(0, 64 - account.length)}${account}`;
}

/** An EventBridge pattern object (as the local bus uses it) in the shape CDK's `Rule` takes. */
function eventPatternOf(p: { readonly source: readonly string[]; readonly 'detail-type': readonly string[]; readonly detail: object }): EventPattern {
  return { source: [...p.source], detailType: [...p['detail-type']], detail: p.detail as Record<string, unknown> };
}

/**
 * A handler's capabilities (lambdas/registry.ts) as IAM statements on its role: one function for every
 * handler, the same capability giving every handler the same statement. `CAPABILITY_ACTIONS` is the table
 * the statements are made of, so a test can check each role against the registry
 * (test/infra/handler-registry.test.ts). The ledger statements are lib/ledger-access.ts's.
 */
import { type CfnElement, Stack } from 'aws-cdk-lib';
import { Policy, PolicyStatement, type Role } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Capability } from '../lambdas/registry';
import { acknowledge, WILDCARD_REASONS } from './acknowledge';

/** The IAM actions each capability grants (those CDK's own grant methods add included). */
export const CAPABILITY_ACTIONS = {
  publishEvents: ['events:PutEvents'],
  readRepositories: ['ecr:DescribeImages', 'ecr:DescribeRepositories', 'ecr:DescribeImageScanFindings'],
  readImageContent: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:DescribeImageSigningStatus'],
  readInspectorFindings: ['inspector2:ListFindings', 'inspector2:ListCoverage'],
  readSigningPublicKeys: ['kms:GetPublicKey'],
  readAlarms: ['cloudwatch:DescribeAlarms'],
  readMetrics: ['cloudwatch:GetMetricData'],
  createBakeTimers: ['scheduler:CreateSchedule'],
  cancelBakeTimers: ['scheduler:DeleteSchedule'],
  passSchedulerRole: ['iam:PassRole'],
  sendTaskResults: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
  decideApprovals: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
  startReleases: ['states:StartExecution'],
  describeReleaseExecutions: ['states:DescribeExecution'],
  startRollbacks: ['states:StartExecution'],
  signAnchors: ['kms:Sign'],
  startDrills: ['states:StartExecution'],
  stopExecutions: ['states:StopExecution', 'states:DescribeExecution'],
} as const satisfies Record<Capability, readonly string[]>;

/** What the statements point at, built by the stack. */
export interface CapabilityResources {
  /** The Gantry bus. */
  readonly grantPutEvents: (role: Role) => void;
  /** The configured ECR repositories (none: no ECR statement at all). */
  readonly repositoryArns: readonly string[];
  /** The KMS signing keys of the config (none: no GetPublicKey statement). */
  readonly kmsSigningKeys: readonly string[];
  /** The bake timers' schedules (`schedule/<group>/*`) and their group's name. */
  readonly bakeScheduleArns: string;
  readonly scheduleGroupName: string;
  readonly schedulerRoleArn: string;
  /** The workflows whose task tokens handlers send results to (release, rollback). */
  readonly taskWorkflows: readonly StateMachine[];
  readonly releaseWorkflow: StateMachine;
  readonly rollbackWorkflow: StateMachine;
  /** The anchor signing key's ARN (decision 048): kms:Sign on it, and its key policy names the same roles. */
  readonly anchorKeyArn?: string;
  readonly drillWorkflow: StateMachine;
}

/**
 * Give a handler's role its capabilities. Statements are added in one fixed order (that of this function),
 * whatever the order in the registry. Returns the cdk-nag `Resource::*` reasons they need.
 */
export function grantCapabilities(scope: Construct, role: Role, capabilities: readonly Capability[], r: CapabilityResources): string[] {
  const has = (c: Capability) => capabilities.includes(c);
  const wildcardReasons: string[] = [];
  const repos = [...r.repositoryArns];
  if (has('publishEvents')) r.grantPutEvents(role);
  // The ECR and signing statements name the configured repositories: with none, no image can be read.
  if (repos.length > 0) {
    if (has('readRepositories')) role.addToPolicy(new PolicyStatement({ sid: 'ReadConfiguredRepositories', actions: [...CAPABILITY_ACTIONS.readRepositories], resources: repos }));
    // image.labels / image.signature read manifests, config blobs and cosign payloads; ListImageReferrers is authorised by BatchGetImage.
    if (has('readImageContent')) role.addToPolicy(new PolicyStatement({ sid: 'ReadImageContent', actions: [...CAPABILITY_ACTIONS.readImageContent], resources: repos }));
    if (has('readInspectorFindings')) {
      // With Amazon Inspector enhanced scanning, DescribeImageScanFindings reads the findings from Inspector
      // as the caller: it needs inspector2:ListFindings and inspector2:ListCoverage, which take no resource.
      role.addToPolicy(new PolicyStatement({ sid: 'ReadEnhancedScanFindings', actions: [...CAPABILITY_ACTIONS.readInspectorFindings], resources: ['*'] }));
      wildcardReasons.push(WILDCARD_REASONS.inspectorFindings);
    }
    if (has('readSigningPublicKeys') && r.kmsSigningKeys.length > 0) {
      role.addToPolicy(new PolicyStatement({ sid: 'ReadSigningPublicKeys', actions: [...CAPABILITY_ACTIONS.readSigningPublicKeys], resources: [...r.kmsSigningKeys] }));
    }
  }
  if (has('readAlarms')) {
    role.addToPolicy(new PolicyStatement({ sid: 'ReadAlarmStates', actions: [...CAPABILITY_ACTIONS.readAlarms], resources: ['*'] }));
    wildcardReasons.push(WILDCARD_REASONS.describeAlarms);
  }
  if (has('readMetrics')) {
    role.addToPolicy(new PolicyStatement({ sid: 'ReadMetricData', actions: [...CAPABILITY_ACTIONS.readMetrics], resources: ['*'] }));
    wildcardReasons.push(WILDCARD_REASONS.getMetricData);
  }
  if (has('createBakeTimers') || has('cancelBakeTimers')) {
    const actions = [...(has('createBakeTimers') ? CAPABILITY_ACTIONS.createBakeTimers : []), ...(has('cancelBakeTimers') ? CAPABILITY_ACTIONS.cancelBakeTimers : [])];
    role.addToPolicy(new PolicyStatement({ sid: 'ManageBakeTimers', actions, resources: [r.bakeScheduleArns] }));
    acknowledge(
      role,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/${r.scheduleGroupName}/*]`,
      `Bake timers are one-time schedules named per release and stage at run time; the grant is limited to the ${r.scheduleGroupName} group.`,
    );
  }
  if (has('passSchedulerRole')) {
    role.addToPolicy(
      new PolicyStatement({
        sid: 'PassBakeSchedulerRole',
        actions: [...CAPABILITY_ACTIONS.passSchedulerRole],
        resources: [r.schedulerRoleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      }),
    );
  }
  const workflowArns = r.taskWorkflows.map((w) => w.stateMachineArn);
  if (has('sendTaskResults')) {
    // Kept out of the role's default policy: bake-register is in the release definition, so a
    // reference to the workflow from the policy its function depends on would be a cycle.
    role.attachInlinePolicy(
      new Policy(scope, 'SendTaskResults', {
        statements: [new PolicyStatement({ sid: 'SendTaskResults', actions: [...CAPABILITY_ACTIONS.sendTaskResults], resources: workflowArns })],
      }),
    );
  }
  if (has('decideApprovals')) {
    // Ends approvals of the release workflow and of forced operator rollbacks (the rollback workflow asks when a gate was overridden).
    role.attachInlinePolicy(
      new Policy(scope, 'DecideApprovals', {
        statements: [new PolicyStatement({ sid: 'DecideApprovals', actions: [...CAPABILITY_ACTIONS.decideApprovals], resources: workflowArns })],
      }),
    );
  }
  if (has('startReleases')) r.releaseWorkflow.grantStartExecution(role);
  if (has('describeReleaseExecutions')) {
    // A push's name already taken: by this push's release (running or on record), by one that died
    // unrecorded (start again), or by another digest (decision 024). Read-only.
    r.releaseWorkflow.grantExecution(role, ...CAPABILITY_ACTIONS.describeReleaseExecutions);
    const releaseWorkflowId = Stack.of(role).getLogicalId(r.releaseWorkflow.node.defaultChild as CfnElement);
    acknowledge(
      role,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${releaseWorkflowId}"}]}]}:*]`,
      'states:DescribeExecution on the executions of the release workflow only (execution:<release state machine name>:*): an execution ARN ends in the execution name, which intake derives from each push, so the executions of one state machine can be named only with a wildcard after its name; the action is read-only.',
    );
  }
  if (has('startRollbacks')) r.rollbackWorkflow.grantStartExecution(role);
  if (has('signAnchors') && r.anchorKeyArn) {
    role.addToPolicy(new PolicyStatement({ sid: 'SignAnchors', actions: [...CAPABILITY_ACTIONS.signAnchors], resources: [r.anchorKeyArn] }));
  }
  if (has('startDrills')) r.drillWorkflow.grantStartExecution(role);
  if (has('stopExecutions')) {
    // gantry abort (decision 053): StopExecution, then DescribeExecution to tell a stop that took from an execution that
    // had ended meanwhile; on the executions of the three workflows an operator starts, and no other state machine's.
    for (const w of [r.releaseWorkflow, r.rollbackWorkflow, r.drillWorkflow]) {
      w.grantExecution(role, ...CAPABILITY_ACTIONS.stopExecutions);
      const id = Stack.of(role).getLogicalId(w.node.defaultChild as CfnElement);
      acknowledge(
        role,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${id}"}]}]}:*]`,
        'states:StopExecution and states:DescribeExecution on the executions of this workflow only (execution:<state machine name>:*): the release id an operator aborts is an execution name made at run time, so the executions of one state machine can be named only with a wildcard after its name (decision 053).',
      );
    }
  }
  return wildcardReasons;
}

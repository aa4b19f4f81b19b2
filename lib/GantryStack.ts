/** The deployable stack: one ReleaseControlPlane and the outputs an operator needs. */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { GantryConfig } from '../lambdas/domain/config';
import { ReleaseControlPlane } from './ReleaseControlPlane';

export interface GantryStackProps extends StackProps {
  /** The deployment config, already parsed and validated (`parseConfig`). */
  readonly config: GantryConfig;
}

export class GantryStack extends Stack {
  public readonly controlPlane: ReleaseControlPlane;

  constructor(scope: Construct, id: string, props: GantryStackProps) {
    super(scope, id, props);
    this.controlPlane = new ReleaseControlPlane(this, 'ReleaseControlPlane', { config: props.config });
    const cp = this.controlPlane;
    new CfnOutput(this, 'ReleaseStateMachineArn', { value: cp.releaseStateMachine.stateMachineArn, description: 'The release workflow (Step Functions console: Start execution)' });
    new CfnOutput(this, 'RollbackStateMachineArn', { value: cp.rollbackStateMachine.stateMachineArn, description: 'The operator rollback workflow' });
    new CfnOutput(this, 'LedgerTableName', { value: cp.table.tableName, description: 'The ledger (DynamoDB)' });
    new CfnOutput(this, 'EventBusName', { value: cp.eventBus.eventBusName, description: 'The Gantry bus for lifecycle events' });
    new CfnOutput(this, 'AnchorKeyArn', {
      value: cp.anchorSigning.key.keyArn,
      description: 'The anchor signing key (decision 048): gantry audit verify --key-arn, or aws kms get-public-key for --public-key',
    });
    new CfnOutput(this, 'ClusterAccessRoleArn', {
      value: cp.clusterAccess.role.roleArn,
      description:
        "The role the workflows' eks:call Tasks run as on clusters of this account: give it an EKS access entry (edit in the namespaces of kubernetes stages, view where drift is checked)",
    });
    new CfnOutput(this, 'ReleaseWorkflowRoleArn', {
      value: cp.releaseStateMachine.role.roleArn,
      description: 'The release workflow role: it assumes ClusterAccessRoleArn (or a cluster roleArn) for eks:call, so it needs no EKS access entry itself',
    });
    new CfnOutput(this, 'RollbackWorkflowRoleArn', {
      value: cp.rollbackStateMachine.role.roleArn,
      description: 'The rollback workflow role: it assumes ClusterAccessRoleArn (or a cluster roleArn) for eks:call, so it needs no EKS access entry itself',
    });
    new CfnOutput(this, 'InsightWorkflowRoleArn', {
      value: cp.insightCheck.stateMachine.role.roleArn,
      description: 'The insight workflow role: it assumes ClusterAccessRoleArn (or a cluster roleArn) for its eks:call GET, so it needs no EKS access entry itself',
    });
    new CfnOutput(this, 'TerraformDriverRoleArn', {
      value: cp.terraformDriver.role.roleArn,
      description: 'Give this role an EKS access entry on every cluster a Terraform stage deploys to',
    });
    new CfnOutput(this, 'HelmDriverRoleArn', { value: cp.helmDriver.role.roleArn, description: 'Give this role an EKS access entry on every cluster a Helm stage deploys to' });
    // Replaying pushes intake could not handle (docs/operator-guide.md, "Replay pushes intake could not handle").
    new CfnOutput(this, 'IntakeFunctionName', {
      value: cp.functions.intake.function.functionName,
      description: 'The intake function: replay a dead-lettered push by invoking it with the message body',
    });
    new CfnOutput(this, 'IntakeDeadLetterQueueUrl', { value: cp.deadLetterQueues.intake.queueUrl, description: 'Pushes intake could not handle after every retry (14 days)' });
  }
}

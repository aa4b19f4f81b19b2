/**
 * cdk-nag 3 acknowledgements, in one shape: a full finding id (`AwsSolutions-IAM5[Resource::*]`) and a
 * reason a reviewer can check. cdk-nag 3 is a CDK validation plugin; an acknowledgement is construct
 * metadata read by it (and by the validation report), so it is put on the narrowest construct that
 * holds the finding.
 */
import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

export class AcknowledgementError extends Error {
  override readonly name = 'AcknowledgementError';
}

/** Acknowledge one cdk-nag finding on `scope` (and everything below it). The reason must say why. */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  if (!/^[A-Za-z]+-[A-Za-z0-9]+(\[.+\])?$/.test(id)) {
    throw new AcknowledgementError(`acknowledgement id ${JSON.stringify(id)} at ${scope.node.path} is not a full cdk-nag finding id such as AwsSolutions-IAM5[Resource::*]`);
  }
  if (reason.trim().length < 20) {
    throw new AcknowledgementError(`acknowledgement ${id} at ${scope.node.path} needs a reason that says why (got ${JSON.stringify(reason)})`);
  }
  Validations.of(scope).acknowledge({ id, reason });
}

/** Why a `*` resource is unavoidable, one sentence per kind of statement CDK or Gantry adds. */
export const WILDCARD_REASONS = {
  xray: 'X-Ray PutTraceSegments/PutTelemetryRecords (added by tracing: ACTIVE / tracingEnabled) support no resource-level permissions; AWS documents Resource "*".',
  describeAlarms:
    'cloudwatch:DescribeAlarms returns composite alarms only when the permission is scoped to "*" (API reference), and a stage health alarm is often composite; the call is read-only.',
  getMetricData: 'cloudwatch:GetMetricData supports no resource-level permissions (Service Authorization Reference: no resource type); the canary analysis only reads.',
  logDelivery:
    'The CloudWatch Logs vended-delivery actions Step Functions needs for execution logging (logs:CreateLogDelivery, GetLogDelivery, ListLogDeliveries, PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups ...) support no resource-level permissions.',
  inspectorFindings:
    'inspector2:ListFindings and inspector2:ListCoverage, which ECR DescribeImageScanFindings needs under Amazon Inspector enhanced scanning (ECR User Guide, IAM permissions required for enhanced scanning), define no resource type in the Service Authorization Reference; both are read-only.',
  ecrAuthorizationToken:
    'ecr:GetAuthorizationToken (for helm registry login to an OCI chart in ECR) supports no resource-level permissions; pulls are limited to the chart repositories.',
  kmsGrantActions:
    'CDK key grants (table read/write, queue send, CodeBuild encryption key) use kms:GenerateDataKey* and kms:ReEncrypt* on the one Gantry customer-managed key; the wildcards only span GenerateDataKey/GenerateDataKeyWithoutPlaintext and ReEncryptFrom/ReEncryptTo.',
  codeBuildDefaultLogGroup:
    "CDK's CodeBuild Project always grants stream writes to its default log group /aws/codebuild/<project>; builds log to the encrypted Gantry log group instead, so this grant is unused and limited to that one group.",
} as const;

/**
 * Why a function has no `DeadLetterConfig` (cdk-nag `Serverless-LambdaDLQ`): a DLQ only ever receives
 * failed *asynchronous* invocations. GantryFunction acknowledges one of the two on every function;
 * `test/infra/cdk-nag.test.ts` checks in the template that the one it chose is true.
 */
export const FAILURE_PATH_REASONS = {
  synchronousOnly:
    "Invoked only synchronously (RequestResponse): by Task states of the Gantry workflows (statemachines/*.asl.json, none sets InvocationType Event) or by API Gateway's Lambda proxy integration; no rule, schedule or event source invokes it. A dead-letter queue applies to asynchronous invocations only: the caller gets the error. Every such Task has a Retry for transient errors and a Catch to its workflow's failure path (release and rollback record the outcome; the insight check fails its execution), except the last-resort HandleInternalError, whose failure fails the execution, which the reconciler then closes; API Gateway returns the error to the SigV4 caller.",
  onFailureDestination:
    "Invoked asynchronously (an EventBridge rule target or EventBridge Scheduler): after Lambda's retries the invocation record (the event, the error, the condition) goes to the function's on-failure destination (EventInvokeConfig DestinationConfig.OnFailure), the encrypted dead-letter queue of its event flow. That destination is the asynchronous failure path; a DeadLetterConfig as well would be a second, older path to the same queue.",
} as const;

/**
 * Acknowledge, on a queue that is itself a dead-letter queue, the findings that ask it for a dead-letter
 * queue of its own: `Serverless-SQSRedrivePolicy` always, `AwsSolutions-SQS3` too because cdk-nag
 * recognizes dead-letter use only in SQS redrive policies and Lambda DeadLetterConfig (not in
 * EventBridge or Scheduler target DeadLetterConfig, nor in a Lambda on-failure destination).
 * `deadLettersOf` says whose dead letters it keeps, e.g. "the ECR push rules' intake target".
 */
export function acknowledgeDeadLetterQueue(queue: IConstruct, deadLettersOf: string): void {
  acknowledge(
    queue,
    'AwsSolutions-SQS3',
    `This queue is the dead-letter queue of ${deadLettersOf}; cdk-nag recognizes only SQS redrive policies and Lambda DeadLetterConfig as dead-letter use, not target DeadLetterConfig or a Lambda on-failure destination.`,
  );
  acknowledge(
    queue,
    'Serverless-SQSRedrivePolicy',
    `This queue is itself a dead-letter queue (of ${deadLettersOf}): nothing consumes it, operators inspect and redrive its messages, kept 14 days. A redrive policy would move a message received too often to yet another queue, a dead-letter queue of the dead-letter queue, where nobody would look.`,
  );
}

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
  logDelivery:
    'The CloudWatch Logs vended-delivery actions Step Functions needs for execution logging (logs:CreateLogDelivery, GetLogDelivery, ListLogDeliveries, PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups ...) support no resource-level permissions.',
  ecrAuthorizationToken: 'ecr:GetAuthorizationToken (for helm registry login to an OCI chart in ECR) supports no resource-level permissions; pulls are limited to the chart repositories.',
  kmsGrantActions:
    'CDK key grants (table read/write, queue send, CodeBuild encryption key) use kms:GenerateDataKey* and kms:ReEncrypt* on the one Gantry customer-managed key; the wildcards only span GenerateDataKey/GenerateDataKeyWithoutPlaintext and ReEncryptFrom/ReEncryptTo.',
  ledgerIndexes: 'grantReadWriteData includes the ledger table\'s indexes (<table ARN>/index/*) so handlers can Query the byService index; the table has no other index.',
  codeBuildDefaultLogGroup:
    'CDK\'s CodeBuild Project always grants stream writes to its default log group /aws/codebuild/<project>; builds log to the encrypted Gantry log group instead, so this grant is unused and limited to that one group.',
} as const;

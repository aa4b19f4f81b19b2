/**
 * EventBridge event patterns Gantry's rules use. The CDK rules are built from these objects and the
 * local runtime's bus matches scenario events against the very same objects.
 */

/** ECR Image Action PUSH (successful) and the CloudTrail PutImage call (carries the pusher's identity). */
export const ecrPushPattern = {
  source: ['aws.ecr'],
  'detail-type': ['ECR Image Action'],
  detail: { 'action-type': ['PUSH'], result: ['SUCCESS'] },
} as const;

export const cloudTrailPutImagePattern = {
  source: ['aws.ecr'],
  'detail-type': ['AWS API Call via CloudTrail'],
  detail: { eventSource: ['ecr.amazonaws.com'], eventName: ['PutImage'], errorCode: [{ exists: false }] },
} as const;

/**
 * Successful StartExecution calls of Gantry's own release and rollback workflows, as CloudTrail records them (a
 * management event, delivered on the default bus with source `aws.states`): who started an execution from the
 * console or the API directly, bypassing the operator API's start record (decision 027).
 */
export function cloudTrailStartExecutionPattern(stateMachineArns: readonly string[]) {
  return {
    source: ['aws.states'],
    'detail-type': ['AWS API Call via CloudTrail'],
    detail: {
      eventSource: ['states.amazonaws.com'],
      eventName: ['StartExecution'],
      errorCode: [{ exists: false }],
      requestParameters: { stateMachineArn: [...stateMachineArns] },
    },
  };
}

/** Alarm state changes the watcher reacts to (transitions into ALARM or INSUFFICIENT_DATA). */
export const alarmStateChangePattern = {
  source: ['aws.cloudwatch'],
  'detail-type': ['CloudWatch Alarm State Change'],
  detail: { state: { value: ['ALARM', 'INSUFFICIENT_DATA'] } },
} as const;

/** Executions of Gantry's own state machines that ended without closing their record themselves. */
export function executionStatusChangePattern(stateMachineArns: readonly string[]) {
  return {
    source: ['aws.states'],
    'detail-type': ['Step Functions Execution Status Change'],
    detail: { status: ['FAILED', 'ABORTED', 'TIMED_OUT'], stateMachineArn: [...stateMachineArns] },
  };
}

/**
 * A basic (ECR) image scan that ended, COMPLETE or FAILED: wakes the releases waiting for that image's
 * scan (lambdas/scan-watch.ts, decision 040). The final DescribeImageScanFindings decides the gate.
 */
export const ecrImageScanPattern = {
  source: ['aws.ecr'],
  'detail-type': ['ECR Image Scan'],
  detail: { 'scan-status': ['COMPLETE', 'FAILED'] },
} as const;

/**
 * Amazon Inspector's first scan of an ECR image (enhanced scanning) is done: wakes the releases waiting for
 * it. `detail.repository-name` holds the repository ARN (test/fixtures/aws-samples/SOURCES.md).
 */
export const inspectorImageScanPattern = {
  source: ['aws.inspector2'],
  'detail-type': ['Inspector2 Scan'],
  detail: { 'scan-status': ['INITIAL_SCAN_COMPLETE'] },
} as const;

/**
 * The Gantry-bus events that end a ledger record, the anchor signer's trigger (decision 048): `Release Finished` from
 * every writer of a release's or rollback's release.finished, `Rollback Drilled` from the drill step, which ends a
 * drill's own record (decision 052).
 */
export const RECORD_FINISHED_DETAIL_TYPES = ['Release Finished', 'Rollback Drilled'] as const;

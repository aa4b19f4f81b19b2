/**
 * The AWS operations a scenario `fault` line can make fail, per service: exactly those the local cloud
 * (local/cloud.ts, `gantry doctor --local`'s reads included), the local engine (local/engine.ts: CodeBuild, EKS) and the simulation's ledger client
 * (DynamoDB, at the wire: local/chaos.ts) check for a fault. A fault naming anything else would never
 * fire, so the scenario loader refuses it with this list (test/unit/fault-operations.test.ts keeps the
 * list and the code in step).
 */
export const FAULT_OPERATIONS = {
  ecr: [
    'DescribeImages',
    'DescribeRepositories',
    'DescribeImageScanFindings',
    'BatchGetImage',
    'GetDownloadUrlForLayer',
    'DescribeImageSigningStatus',
    'ListImageReferrers',
    'GetRegistryScanningConfiguration',
  ],
  cloudwatch: ['DescribeAlarms', 'GetMetricData'],
  codebuild: ['StartBuild'],
  dynamodb: ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query', 'Scan'],
  scheduler: ['CreateSchedule', 'DeleteSchedule'],
  eventbridge: ['PutEvents'],
  sfn: ['StartExecution', 'DescribeExecution', 'SendTaskSuccess', 'SendTaskFailure', 'StopExecution'],
  eks: ['DescribeCluster', 'Call', 'ListAccessEntries'],
  /** The handlers' AssumeRole of a cluster role in another account (issue 18). */
  sts: ['AssumeRole'],
  /** `gantry doctor --local`'s reads. */
  cloudtrail: ['DescribeTrails'],
  /** `gantry doctor --local`'s DescribeKey; the anchor signer's Sign (decision 048). */
  kms: ['DescribeKey', 'Sign'],
} as const satisfies Record<string, readonly string[]>;

export type FaultService = keyof typeof FAULT_OPERATIONS;

export const FAULT_SERVICES = Object.keys(FAULT_OPERATIONS) as FaultService[];

/** Whether the local cloud checks `operation` of `service` for a fault. */
export function isFaultOperation(service: string, operation: string): boolean {
  return Object.hasOwn(FAULT_OPERATIONS, service) && (FAULT_OPERATIONS[service as FaultService] as readonly string[]).includes(operation);
}

/**
 * The HTTP status an AWS service answers an error code with, for faults injected at the wire (DynamoDB):
 * a 5xx for server-side faults (retried by the SDK as transient), 400 for the rest (throttling is
 * recognised by its name).
 */
export function faultHttpStatus(code: string): number {
  if (/^ServiceUnavailable/.test(code)) return 503;
  return /Internal|ServerError|ServerException|ServiceFault|ServiceException/.test(code) ? 500 : 400;
}

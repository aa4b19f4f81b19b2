/** Links to the AWS console: pure, used by the approval request (its notification) and the CLI (`gantry start`, `status`). */

/** Console domains per partition; a partition not listed gets no link. */
const CONSOLE_DOMAINS: Readonly<Record<string, string>> = {
  aws: 'console.aws.amazon.com',
  'aws-cn': 'console.amazonaws.cn',
  'aws-us-gov': 'console.amazonaws-us-gov.com',
};

/**
 * The Step Functions console page of an execution:
 * https://<region>.console.aws.amazon.com/states/home?region=<region>#/v2/executions/details/<executionArn>.
 * Undefined for an ARN that is not an execution ARN or a partition without a known console.
 */
export function executionConsoleUrl(executionArn: string | undefined): string | undefined {
  if (!executionArn) return undefined;
  const parts = executionArn.split(':');
  const [arn, partition = '', service, region = ''] = parts;
  if (arn !== 'arn' || service !== 'states' || parts[5] !== 'execution' || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) return undefined;
  const domain = CONSOLE_DOMAINS[partition];
  if (!domain) return undefined;
  return `https://${region}.${domain}/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}

/**
 * The log group of a Step Functions workflow, named under `/aws/vendedlogs/states/`.
 *
 * Step Functions adds every log group it delivers to into the account's CloudWatch Logs resource policy,
 * which is limited to 5,120 characters; log groups under `/aws/vendedlogs/` are covered without growing
 * it (AWS Step Functions Developer Guide, "Avoiding Amazon CloudWatch Logs resource policy size
 * restrictions"). A name CloudFormation generated would add one entry per workflow per stack until
 * creating a state machine with logging fails. docs/decisions/020-aws-fidelity.md.
 */
import { Names } from 'aws-cdk-lib';
import { LogGroup, type LogGroupProps } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/** The prefix of every Gantry workflow log group. */
export const VENDED_LOGS_PREFIX = '/aws/vendedlogs/states/';

export type WorkflowLogGroupProps = Omit<LogGroupProps, 'logGroupName'>;

export class WorkflowLogGroup extends LogGroup {
  /** `/aws/vendedlogs/states/<stack>-<construct path>-<id>`: unique per stack and construct, at most 512 characters. */
  static nameFor(scope: Construct, id: string): string {
    return `${VENDED_LOGS_PREFIX}${Names.uniqueResourceName(scope, { maxLength: 200, separator: '-' })}-${id}`;
  }

  constructor(scope: Construct, id: string, props: WorkflowLogGroupProps) {
    super(scope, id, { ...props, logGroupName: WorkflowLogGroup.nameFor(scope, id) });
  }
}

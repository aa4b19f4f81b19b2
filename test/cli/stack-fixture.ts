/**
 * A deployed Gantry for CLI tests: a stack whose ledger table (the in-memory DynamoDB of the local runtime) holds
 * the given events, opened through the real AWS backend (`openAwsBackend`) as `--stack` opens it. `opened` records
 * the options of each open (the stack, region and profile the command passed).
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoLedger } from '../../lambdas/adapters/dynamo-ledger';
import type { LedgerEvent } from '../../lambdas/domain/ledger';
import { openAwsBackend } from '../../cli/backends/aws-backend';
import type { BackendOptions } from '../../cli/commands/common';
import { startMemoryDynamo } from '../../local/memory-dynamo';

/** The outputs of a deployed Gantry stack (DescribeStacks), as the CLI tests that talk to "AWS" at its boundary give them. */
export const STACK_OUTPUTS = {
  ReleaseStateMachineArn: 'arn:aws:states:eu-west-2:111122223333:stateMachine:Gantry-Release',
  RollbackStateMachineArn: 'arn:aws:states:eu-west-2:111122223333:stateMachine:Gantry-Rollback',
  LedgerTableName: 'Gantry-Ledger',
  ApprovalApiUrl: 'https://abc123.execute-api.eu-west-2.amazonaws.com/v1/',
  EventBusName: 'gantry',
} as const;

export async function stackHolding(events: readonly LedgerEvent[]) {
  const dynamo = await startMemoryDynamo();
  const ledger = new DynamoLedger({ client: dynamo.doc, tableName: dynamo.tableName });
  for (const e of events) {
    const { seq: _seq, prevHash: _prev, hash: _hash, ...input } = e;
    await ledger.append(input);
  }
  const outputs = {
    ReleaseStateMachineArn: 'arn:aws:states:eu-west-2:111122223333:stateMachine:R',
    RollbackStateMachineArn: 'arn:aws:states:eu-west-2:111122223333:stateMachine:B',
    LedgerTableName: dynamo.tableName,
  };
  const opened: BackendOptions[] = [];
  const openBackend = (opts: BackendOptions) => {
    opened.push(opts);
    return openAwsBackend(opts, { describeStack: async () => outputs, dynamo: dynamo.client, sfn: new SFNClient({ region: 'eu-west-2' }) });
  };
  return { openBackend, opened, close: () => dynamo.close() };
}

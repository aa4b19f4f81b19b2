/**
 * A DynamoDB request the ledger adapter sent (lib-dynamodb command and input), as IAM sees it: the
 * action, the resource (the table, or its index) and `dynamodb:LeadingKeys` (the partition key value the
 * request names; absent for a Scan).
 */
import type { LedgerRequest } from '../../local/simulate';
import type { IamRequest } from './iam-policy';

/** Stand-in ARNs: the statements are rendered for them, and the requests are aimed at them. */
export const LEDGER_ARNS = {
  table: 'arn:aws:dynamodb:eu-west-2:111122223333:table/gantry-ledger',
  index: 'arn:aws:dynamodb:eu-west-2:111122223333:table/gantry-ledger/index/byService',
} as const;

const ACTIONS: Record<string, string> = {
  GetCommand: 'GetItem',
  PutCommand: 'PutItem',
  UpdateCommand: 'UpdateItem',
  DeleteCommand: 'DeleteItem',
  QueryCommand: 'Query',
  ScanCommand: 'Scan',
};

export class UnknownLedgerRequestError extends Error {
  override readonly name = 'UnknownLedgerRequestError';
}

/** The partition key value a Query names: the attribute the key condition's first `=` compares. */
function queriedPartition(input: Readonly<Record<string, unknown>>): string | undefined {
  const expr = String(input.KeyConditionExpression ?? '');
  const m = /^\s*(#?[A-Za-z0-9_]+)\s*=\s*(:[A-Za-z0-9_]+)/.exec(expr);
  if (!m) return undefined;
  const values = (input.ExpressionAttributeValues ?? {}) as Record<string, unknown>;
  const v = values[m[2] as string];
  return typeof v === 'string' ? v : undefined;
}

export interface LedgerIamRequest extends IamRequest {
  /** `GetItem`, `PutItem`, … */
  readonly operation: string;
  readonly partitionKey?: string;
  readonly index?: string;
}

export function iamRequestOf(r: LedgerRequest): LedgerIamRequest {
  const operation = ACTIONS[r.command];
  if (!operation)
    throw new UnknownLedgerRequestError(`the ledger sent ${r.command}, which this check does not know: add it to test/helpers/ledger-requests.ts and lib/ledger-access.ts`);
  const index = typeof r.input.IndexName === 'string' ? r.input.IndexName : undefined;
  const key = (r.input.Key ?? r.input.Item) as Record<string, unknown> | undefined;
  const partitionKey = operation === 'Query' ? queriedPartition(r.input) : operation === 'Scan' ? undefined : typeof key?.pk === 'string' ? key.pk : undefined;
  return {
    operation,
    action: `dynamodb:${operation}`,
    resource: index ? `${LEDGER_ARNS.table}/index/${index}` : LEDGER_ARNS.table,
    context: partitionKey !== undefined ? { 'dynamodb:LeadingKeys': [partitionKey] } : {},
    ...(partitionKey !== undefined ? { partitionKey } : {}),
    ...(index ? { index } : {}),
  };
}

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

/** The transaction's parts, as IAM checks them: each a PutItem, UpdateItem, DeleteItem or ConditionCheckItem of its own. */
const TRANSACT_PARTS: Record<string, string> = { Put: 'PutCommand', Update: 'UpdateCommand', Delete: 'DeleteCommand', ConditionCheck: 'ConditionCheckCommand' };

/**
 * The IAM requests one ledger request makes: one, or for a TransactWriteItems one per action in it
 * (IAM governs each by the underlying PutItem/UpdateItem/DeleteItem permission, and ConditionCheck by
 * dynamodb:ConditionCheckItem — the DynamoDB developer guide, "Using IAM with DynamoDB transactions").
 */
export function iamRequestsOf(r: LedgerRequest): LedgerIamRequest[] {
  if (r.command !== 'TransactWriteCommand') return [iamRequestOf(r)];
  const items = (r.input.TransactItems ?? []) as Array<Record<string, Record<string, unknown>>>;
  return items.map((item) => {
    const [part, input] = Object.entries(item)[0] ?? [];
    const command = part ? TRANSACT_PARTS[part] : undefined;
    if (!command || !input) throw new UnknownLedgerRequestError(`the ledger sent a transaction action ${JSON.stringify(part)}, which this check does not know`);
    if (command === 'ConditionCheckCommand') return { ...iamRequestOf({ command: 'GetCommand', input }), operation: 'ConditionCheckItem', action: 'dynamodb:ConditionCheckItem' };
    return iamRequestOf({ command, input });
  });
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

/**
 * The ledger table's shape, in one place: the CDK construct and the local runtime (the in-memory DynamoDB, DynamoDB
 * Local) both build the table from these constants, and the adapter builds every key through `ledgerKeys`.
 * See docs/decisions/002-ledger-keys.md.
 */
import { type CreateTableCommandInput, CreateTableCommand, DescribeTableCommand, type DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';

/** Partition key of every item (string). */
export const LEDGER_PARTITION_KEY = 'pk';
/** Sort key of every item (string). */
export const LEDGER_SORT_KEY = 'sk';
/** The one global secondary index: releases by service and start time (and, overloaded, leases by owner). */
export const LEDGER_GSI_BY_SERVICE = 'byService';
/** GSI partition key: `SERVICE#<service>` on release summaries, `OWNER#<owner>` on leases. */
export const LEDGER_GSI_PARTITION_KEY = 'gsi1pk';
/** GSI sort key: `<startedAt>#<releaseId>` on release summaries, `LEASE#<service>#<stage>` on leases. */
export const LEDGER_GSI_SORT_KEY = 'gsi1sk';
/**
 * TTL attribute, epoch seconds. Set only on token, alarm-index, initiator, start-pusher and throttle items (leases have none: a live holder never loses its lease to a timer) — never on
 * evidence (release events, summaries, pointers, skips, refusals).
 */
export const LEDGER_TTL_ATTRIBUTE = 'expiresAt';

/** The key attributes with their DynamoDB scalar types, for CDK (`AttributeType.STRING` is `'S'`). */
export const LEDGER_KEY_SCHEMA = {
  partitionKey: { name: LEDGER_PARTITION_KEY, type: 'S' },
  sortKey: { name: LEDGER_SORT_KEY, type: 'S' },
  globalSecondaryIndexes: [
    {
      indexName: LEDGER_GSI_BY_SERVICE,
      partitionKey: { name: LEDGER_GSI_PARTITION_KEY, type: 'S' },
      sortKey: { name: LEDGER_GSI_SORT_KEY, type: 'S' },
      projection: 'ALL',
    },
  ],
  timeToLiveAttribute: LEDGER_TTL_ATTRIBUTE,
} as const;

/** Width of the zero-padded sequence number in event sort keys (`EVENT#000042`). */
export const EVENT_SEQ_WIDTH = 6;
export const MAX_EVENT_SEQ = 10 ** EVENT_SEQ_WIDTH - 1;

/** Every key the ledger writes. Adapter, CLI export and tests build keys here and nowhere else. */
export const ledgerKeys = {
  releaseMeta: (releaseId: string) => ({ pk: `RELEASE#${releaseId}`, sk: 'META' }),
  releaseEvent: (releaseId: string, seq: number) => ({ pk: `RELEASE#${releaseId}`, sk: `EVENT#${String(seq).padStart(EVENT_SEQ_WIDTH, '0')}` }),
  releasePartition: (releaseId: string) => `RELEASE#${releaseId}`,
  eventSortKeyPrefix: 'EVENT#',
  releaseGsi: (service: string, startedAt: string, releaseId: string) => ({ gsi1pk: `SERVICE#${service}`, gsi1sk: `${startedAt}#${releaseId}` }),
  servicePartition: (service: string) => `SERVICE#${service}`,
  stagePointer: (service: string, stage: string) => ({ pk: `STAGE#${service}#${stage}`, sk: 'POINTER' }),
  stageLease: (service: string, stage: string) => ({ pk: `STAGE#${service}#${stage}`, sk: 'LEASE' }),
  /** Releases waiting for the stage's lease (task tokens woken when it is freed), beside the lease item. */
  leaseWaiter: (service: string, stage: string, releaseId: string) => ({ pk: `STAGE#${service}#${stage}`, sk: `WAITER#${releaseId}` }),
  leaseWaiterPrefix: 'WAITER#',
  leaseGsi: (owner: string, service: string, stage: string) => ({ gsi1pk: `OWNER#${owner}`, gsi1sk: `LEASE#${service}#${stage}` }),
  ownerPartition: (owner: string) => `OWNER#${owner}`,
  token: (kind: string, releaseId: string, stage: string) => ({ pk: `TOKEN#${kind}#${releaseId}#${stage}`, sk: 'TOKEN' }),
  alarmIndex: (alarmName: string, kind: string, releaseId: string, stage: string) => ({ pk: `ALARM#${alarmName}`, sk: `${kind}#${releaseId}#${stage}` }),
  alarmPartition: (alarmName: string) => `ALARM#${alarmName}`,
  skip: (eventId: string) => ({ pk: `SKIP#${eventId}`, sk: 'SKIP' }),
  skipListing: (at: string, eventId: string) => ({ pk: 'SKIPS', sk: `${at}#${eventId}` }),
  skipsPartition: 'SKIPS',
  initiator: (executionName: string) => ({ pk: `INITIATOR#${executionName}`, sk: 'INITIATOR' }),
  /** intake started this pushed release with its pusher in the input (spares a retry; never read as the initiator). */
  startPusher: (executionName: string) => ({ pk: `PUSHER#${executionName}`, sk: 'PUSHER' }),
  /**
   * Refused approval attempts of a release: their own partition, outside the release's hash chain and
   * summary, so no number of them can grow an item past DynamoDB's 400 KB. One item per attempt
   * (`ATTEMPT#<stage>#<at>#<requestId>`, time-ordered) and one counter per stage (`STATS#<stage>`).
   */
  refusal: (releaseId: string, stage: string, at: string, requestId: string) => ({ pk: `REFUSAL#${releaseId}`, sk: `ATTEMPT#${stage}#${at}#${requestId}` }),
  refusalStats: (releaseId: string, stage: string) => ({ pk: `REFUSAL#${releaseId}`, sk: `STATS#${stage}` }),
  refusalPartition: (releaseId: string) => `REFUSAL#${releaseId}`,
  refusalAttemptPrefix: (stage?: string) => (stage === undefined ? 'ATTEMPT#' : `ATTEMPT#${stage}#`),
  refusalStatsPrefix: 'STATS#',
  /** A per-caller throttle counter for one minute (`bucketId`: a hash of the bucket key); TTL one hour. */
  throttle: (bucketId: string, window: string) => ({ pk: `THROTTLE#${bucketId}`, sk: window }),
  /** The insight checks' hash chain: one partition, one item per check (evidence: no TTL). */
  insightRecord: (seq: number) => ({ pk: 'INSIGHT', sk: `CHECK#${String(seq).padStart(EVENT_SEQ_WIDTH, '0')}` }),
  insightPartition: 'INSIGHT',
  insightSortKeyPrefix: 'CHECK#',
  /** Gantry's signature of a release's end or an insight chain head (decision 048): its own partition, so only the signer writes it. */
  signature: (subject: string) => ({ pk: `SIGNATURE#${subject}`, sk: 'SIGNATURE' }),
} as const;

/** CreateTable input for the ledger (on-demand). PITR, KMS, deletion protection and TTL are set by CDK. */
export function ledgerTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: LEDGER_PARTITION_KEY, AttributeType: 'S' },
      { AttributeName: LEDGER_SORT_KEY, AttributeType: 'S' },
      { AttributeName: LEDGER_GSI_PARTITION_KEY, AttributeType: 'S' },
      { AttributeName: LEDGER_GSI_SORT_KEY, AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: LEDGER_PARTITION_KEY, KeyType: 'HASH' },
      { AttributeName: LEDGER_SORT_KEY, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: LEDGER_GSI_BY_SERVICE,
        KeySchema: [
          { AttributeName: LEDGER_GSI_PARTITION_KEY, KeyType: 'HASH' },
          { AttributeName: LEDGER_GSI_SORT_KEY, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
  };
}

export class LedgerTableError extends Error {
  override readonly name = 'LedgerTableError';
}

/**
 * Create the ledger table (an existing table of that name is accepted) and wait until the table and
 * its index are ACTIVE. Used by the local runtime and the storage tests; in AWS the table comes from CDK.
 * TTL is not enabled here: the local stores expire nothing anyway.
 */
export async function createLedgerTable(client: DynamoDBClient, tableName: string, opts: { timeoutMs?: number; pollMs?: number } = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const pollMs = opts.pollMs ?? 50;
  try {
    await client.send(new CreateTableCommand(ledgerTableDefinition(tableName)));
  } catch (e) {
    if (!(e instanceof ResourceInUseException)) throw e;
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE');
    if (Table?.TableStatus === 'ACTIVE' && indexesActive) return;
    if (Date.now() > deadline) {
      throw new LedgerTableError(`ledger table ${tableName} is not ACTIVE after ${timeoutMs} ms (status ${Table?.TableStatus ?? 'unknown'})`);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

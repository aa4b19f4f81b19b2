import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { createLedgerTable, LEDGER_GSI_BY_SERVICE, ledgerTableDefinition } from '../../lambdas/adapters/ledger-table';
import type { LocalDynamo } from '../../local/dynamo';
import { startMemoryDynamo } from '../../local/memory-dynamo';

describe('the ledger table', () => {
  let local: LocalDynamo;
  beforeAll(async () => {
    local = await startMemoryDynamo({ tableName: 'ledger-table-test' });
  });
  afterAll(async () => {
    await local?.close();
  });

  it('is created on demand with the byService index projecting every attribute', async () => {
    const { Table } = await local.client.send(new DescribeTableCommand({ TableName: local.tableName }));

    assert.equal(Table?.TableStatus, 'ACTIVE');
    assert.equal(Table?.BillingModeSummary?.BillingMode, 'PAY_PER_REQUEST');
    assert.deepEqual(Table?.KeySchema, ledgerTableDefinition(local.tableName).KeySchema);
    const index = Table?.GlobalSecondaryIndexes?.find((i) => i.IndexName === LEDGER_GSI_BY_SERVICE);
    assert.equal(index?.IndexStatus, 'ACTIVE');
    assert.deepEqual(index?.KeySchema, [
      { AttributeName: 'gsi1pk', KeyType: 'HASH' },
      { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
    ]);
    assert.equal(index?.Projection?.ProjectionType, 'ALL');
  });

  it('accepts being created again when the table already exists', async () => {
    await assert.doesNotReject(createLedgerTable(local.client, local.tableName));
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { JAVA_REQUIRED, startDynamoDbLocal } from '../helpers/dynamo-local';
import { ledgerContract } from './ledger-contract';

ledgerContract('DynamoDB Local', () => startDynamoDbLocal());

describe('starting DynamoDB Local', () => {
  it('refuses without Java on PATH and says how to install it', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await assert.rejects(startDynamoDbLocal(), (e: unknown) => e instanceof Error && e.message === JAVA_REQUIRED && /Java 17 is required/.test(e.message));
    } finally {
      process.env.PATH = path;
    }
  });
});

/**
 * The insight chain in the ledger table (the in-memory DynamoDB, through the real DynamoDB adapter): append, idempotency
 * by checkId, listing; and `gantry audit drift --table` on it, untouched and after a record was edited in
 * the table.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, it } from 'vitest';
import { promisify } from 'node:util';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoLedger } from '../../lambdas/adapters/dynamo-ledger';
import { createLedgerTable, ledgerKeys } from '../../lambdas/adapters/ledger-table';
import { GENESIS_HASH } from '../../lambdas/domain/ledger';
import { verifyInsightChain } from '../../lambdas/domain/insight';
import type { LocalDynamo } from '../../local/dynamo';
import { startMemoryDynamo } from '../../local/memory-dynamo';

const ROOT = join(__dirname, '..', '..');
const run = promisify(execFile);
const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

let dynamo: LocalDynamo;
let ledger: DynamoLedger;
let table = '';
let n = 0;

beforeAll(async () => {
  dynamo = await startMemoryDynamo({ listen: true });
});
afterAll(async () => {
  await dynamo.close();
});
beforeEach(async () => {
  n += 1;
  table = `insight-${n}`;
  await createLedgerTable(dynamo.client, table);
  ledger = new DynamoLedger({ client: dynamo.doc, tableName: table });
});

const drift = {
  service: 'payments',
  stage: 'prod',
  cluster: 'prod',
  clusterName: 'prod-eks',
  namespace: 'payments',
  deployment: 'payments',
  container: 'api',
  expected: `111122223333.dkr.ecr.eu-west-2.amazonaws.com/payments-api@${D2}`,
  found: `111122223333.dkr.ecr.eu-west-2.amazonaws.com/payments-api@${D1}`,
  inSync: false,
  kind: 'other-digest',
  reason: 'container api runs sha256:111111111111…, the ledger says sha256:222222222222…: changed outside Gantry',
};
const data = (d: unknown[]) => ({ staleAfterDays: 14, driftCheck: true, services: {}, stale: [], drift: d, inSync: [] });

describe('the insight chain in the ledger table', () => {
  it('numbers and chains records from the genesis hash, and lists them oldest first', async () => {
    await ledger.putInsight({ checkId: 'c1', at: '2026-12-01T06:00:00.000Z', data: data([]) });
    await ledger.putInsight({ checkId: 'c2', at: '2026-12-02T06:00:00.000Z', data: data([drift]) });
    const all = await ledger.listInsights();
    assert.deepEqual(
      all.map((r) => [r.seq, r.checkId, r.kind]),
      [
        [1, 'c1', 'insight'],
        [2, 'c2', 'insight'],
      ],
    );
    assert.equal(all[0]?.prevHash, GENESIS_HASH);
    assert.equal(all[1]?.prevHash, all[0]?.hash);
    assert.equal(verifyInsightChain(all).ok, true);
    assert.deepEqual(
      (await ledger.listInsights({ last: 1 })).map((r) => r.checkId),
      ['c2'],
    );
    assert.deepEqual(
      (await ledger.listInsights({ from: '2026-12-02' })).map((r) => r.checkId),
      ['c2'],
    );
    assert.deepEqual(
      (await ledger.listInsights({ to: '2026-12-01' })).map((r) => r.checkId),
      ['c1'],
    );
  });

  it('writes a retried check once and returns the stored record', async () => {
    const first = await ledger.putInsight({ checkId: 'c1', at: '2026-12-01T06:00:00.000Z', data: data([drift]) });
    const again = await ledger.putInsight({ checkId: 'c1', at: '2026-12-01T06:00:05.000Z', data: data([]) });
    assert.deepEqual([first.duplicate, again.duplicate], [false, true]);
    assert.deepEqual(again.record, first.record);
    assert.equal((await ledger.listInsights()).length, 1);
  });

  it('keeps concurrent checks on one unbroken chain', async () => {
    await Promise.all(['a', 'b', 'c', 'd'].map((id, i) => ledger.putInsight({ checkId: id, at: `2026-12-0${i + 1}T06:00:00.000Z`, data: data([]) })));
    const all = await ledger.listInsights();
    assert.deepEqual(
      all.map((r) => r.seq),
      [1, 2, 3, 4],
    );
    assert.equal(verifyInsightChain(all).ok, true);
  });
});

describe('gantry audit drift --table', () => {
  const cli = (...args: string[]) =>
    run(process.execPath, [join(ROOT, 'bin', 'gantry.js'), 'audit', 'drift', '--table', table, '--region', 'eu-west-2', '--endpoint', dynamo.endpoint, ...args], {
      cwd: ROOT,
      env: { ...process.env, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_REGION: 'eu-west-2', AWS_EC2_METADATA_DISABLED: 'true' },
    }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  it('shows the latest check (exit 0), then names a record edited in the table (exit 1)', async () => {
    await ledger.putInsight({ checkId: 'c1', at: '2026-12-01T06:00:00.000Z', data: data([]) });
    await ledger.putInsight({ checkId: 'c2', at: '2026-12-02T06:00:00.000Z', data: data([drift]) });
    const ok = await cli();
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /insight chain intact/);
    assert.match(ok.stdout, /Check c2 at 2026-12-02T06:00:00\.000Z \(record #2\): 1 drifted, 0 in sync, 0 stale/);
    assert.doesNotMatch(ok.stdout, /Check c1/);

    // Someone hides the drift by emptying the finding list of record #2.
    await dynamo.doc.send(
      new UpdateCommand({
        TableName: table,
        Key: ledgerKeys.insightRecord(2),
        UpdateExpression: 'SET #d.#f = :none',
        ExpressionAttributeNames: { '#d': 'data', '#f': 'drift' },
        ExpressionAttributeValues: { ':none': [] },
      }),
    );
    const bad = await cli('--all');
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /insight record #2 \(c2\): hash does not match its content \(edited\?\)/);
  });
});

/** An operator rollback moves the stage's last known good digest, without rewriting the promotion history. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { DynamoLedger } from '../../lambdas/adapters/dynamo-ledger';
import { parseConfig } from '../../lambdas/domain/config';
import { run as recordStep } from '../../lambdas/record-step';
import { run as rollbackPrepare } from '../../lambdas/rollback-prepare';
import type { LocalDynamo } from '../../local/dynamo';
import { startMemoryDynamo } from '../../local/memory-dynamo';
import { ledgerOnlyDeps } from '../helpers/ledger-deps';

const config = parseConfig(JSON.parse(readFileSync(join(__dirname, '../../examples/gantry.config.json'), 'utf8')));
const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startMemoryDynamo();
});
afterAll(async () => {
  await dynamo?.close();
});

describe('operator rollback and the stage pointer', () => {
  it('makes the target last known good and keeps promoted in promotion order', async () => {
    const ledger = new DynamoLedger({ client: dynamo.doc, tableName: dynamo.tableName });
    const deps = ledgerOnlyDeps(config, ledger);
    await ledger.markGood('payments', 'prod', D1, '2026-11-20T10:00:00Z');
    await ledger.markGood('payments', 'prod', D2, '2026-11-23T10:00:00Z');
    await ledger.setRunning('payments', 'prod', D2, '2026-11-23T10:00:00Z');
    const releaseId = 'payments-rollback-1';

    await rollbackPrepare({ input: { service: 'payments', stage: 'prod', reason: 'INC-1' }, executionArn: `arn:x:${releaseId}`, executionName: releaseId }, deps);
    await recordStep({ action: 'begin-stage', releaseId, stageIndex: 0 }, deps);
    // The rollback holds the stage's lease, as the workflow's AcquireStageLease gives it.
    const lease = await ledger.acquireLease('payments', 'prod', releaseId, '2026-11-24T10:00:00Z');
    await ledger.append({
      releaseId,
      stepKey: 'stage:prod:lease.acquired',
      type: 'lease.acquired',
      at: '2026-11-24T10:00:00Z',
      data: { fence: lease.fence ?? null },
      stage: 'prod',
    });
    await recordStep({ action: 'plan-rollback', releaseId, stage: 'prod' }, deps);
    await recordStep({ action: 'rollback-deployed', releaseId, stage: 'prod', buildId: 'b-1' }, deps);

    const p = await ledger.getPointer('payments', 'prod');
    assert.equal(p?.running, D1);
    assert.equal(p?.lastKnownGood, D1);
    assert.deepEqual(p?.promoted, [D1, D2]);
  });
});

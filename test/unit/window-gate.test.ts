/**
 * The `window` gate handler against a real ledger (the in-memory DynamoDB): what it records when break-glass goes past a
 * blackout or the freeze — a WARN whose reason names what was bypassed, and `bypassed` in its evidence.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { DynamoLedger } from '../../lambdas/adapters/dynamo-ledger';
import { parseConfig } from '../../lambdas/domain/config';
import { run as windowGate } from '../../lambdas/window-gate';
import type { LocalDynamo } from '../../local/dynamo';
import { startMemoryDynamo } from '../../local/memory-dynamo';
import { ledgerOnlyDeps } from '../helpers/ledger-deps';

const raw = JSON.parse(readFileSync(join(__dirname, '../../examples/gantry.config.json'), 'utf8'));
raw.services.payments.stages[2].windows = {
  timezone: 'Europe/London',
  allow: [{ days: ['Mon', 'Tue', 'Wed', 'Thu'], from: '09:00', to: '16:00' }],
  outside: 'wait',
  blackouts: [{ from: '2026-12-20T00:00', to: '2027-01-04T00:00', reason: 'holiday freeze' }],
};
const config = parseConfig(raw);
const DIGEST = `sha256:${'2'.repeat(64)}`;
const DANA = 'arn:aws:sts::111122223333:assumed-role/ChangeBoard/dana';

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startMemoryDynamo();
});
afterAll(async () => {
  await dynamo?.close();
});

async function release(releaseId: string, now: string, breakGlass?: { reason: string }) {
  const ledger = new DynamoLedger({ client: dynamo.doc, tableName: dynamo.tableName });
  await ledger.append({
    releaseId,
    stepKey: 'release.started',
    type: 'release.started',
    at: now,
    data: {
      kind: 'release',
      service: 'payments',
      digest: DIGEST,
      stages: ['dev', 'staging', 'prod'],
      executionArn: `arn:aws:states:eu-west-2:111122223333:execution:gantry-release:${releaseId}`,
      ...(breakGlass ? { breakGlass } : {}),
    },
  });
  const gate = async () => (await ledger.events(releaseId)).find((e) => e.type === 'gate.evaluated' && e.data.gate === 'window')?.data;
  return { ledger, deps: ledgerOnlyDeps(config, ledger, now), gate };
}

describe('the window gate handler', () => {
  it('records break-glass in a blackout inside the allow window as WARN naming the blackout, with bypassed in the evidence', async () => {
    const { deps, gate } = await release('payments-wg-blackout', '2026-12-22T10:32:00.000Z', { reason: 'INC-7 card payments failing' });

    const out = await windowGate({ releaseId: 'payments-wg-blackout', stage: 'prod' }, deps);

    assert.equal(out.verdict, 'PASS');
    const g = await gate();
    assert.equal(g?.result, 'WARN');
    assert.equal(g?.reason, 'break-glass: INC-7 card payments failing; blackout "holiday freeze" from 2026-12-20T00:00 to 2027-01-04T00:00 (Europe/London) bypassed');
    assert.deepEqual((g?.evidence as { bypassed: unknown }).bypassed, [
      { kind: 'blackout', from: '2026-12-20T00:00', to: '2027-01-04T00:00', reason: 'holiday freeze', timezone: 'Europe/London' },
    ]);
  });

  it('records break-glass through a freeze as WARN naming who declared it, when, and why', async () => {
    const { ledger, deps, gate } = await release('payments-wg-freeze', '2026-11-24T10:00:00.000Z', { reason: 'INC-8' });
    await ledger.setFreeze({ on: true, reason: 'quarter-end close', principal: DANA, at: '2026-11-24T08:00:00.000Z' });
    try {
      await windowGate({ releaseId: 'payments-wg-freeze', stage: 'dev' }, deps);

      const g = await gate();
      assert.equal(g?.result, 'WARN');
      assert.equal(g?.reason, `break-glass: INC-8; global freeze bypassed (declared by ${DANA} at 2026-11-24T08:00:00.000Z: quarter-end close)`);
      assert.deepEqual((g?.evidence as { bypassed: unknown }).bypassed, [{ kind: 'freeze', principal: DANA, at: '2026-11-24T08:00:00.000Z', reason: 'quarter-end close' }]);
    } finally {
      await ledger.setFreeze({ on: false, reason: 'done', principal: DANA, at: '2026-11-24T11:00:00.000Z' });
    }
  });

  it('records no bypassed list when nothing was bypassed', async () => {
    const { deps, gate } = await release('payments-wg-pass', '2026-11-24T10:00:00.000Z');

    await windowGate({ releaseId: 'payments-wg-pass', stage: 'prod' }, deps);

    const g = await gate();
    assert.equal(g?.result, 'PASS');
    assert.equal('bypassed' in (g?.evidence as object), false);
  });
});

/** The operator rollback workflow (rollback.asl.json) through the `rollback` trigger of docs/scenarios.md. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { D1, D2, ROOT, runInline } from './helpers';

const demo = () => JSON.parse(readFileSync(join(ROOT, 'examples', 'scenarios', 'demo.json'), 'utf8'));
const carol = 'arn:aws:sts::111122223333:assumed-role/Operators/carol';

describe('operator rollback', () => {
  it('returns prod to the digest promoted before the one running, records who asked and why, and moves the pointer', async () => {
    const s = demo();
    s.triggers.push({ type: 'rollback', principal: carol, input: { service: 'payments', stage: 'prod', reason: 'INC-5120' }, at: 'PT3H' });
    const out = await runInline(s);
    assert.deepEqual(out.warnings, []);
    const rb = out.releases.find((r) => r.kind === 'rollback');
    assert.equal(rb?.status, 'ROLLED_BACK');
    assert.equal(rb?.initiator, carol);
    assert.equal(rb?.digest, D1);
    assert.match(String(rb?.stages[0]?.rollback?.reason), /operator rollback: INC-5120/);
    assert.deepEqual(out.stages['payments/prod'], { running: D1, lastKnownGood: D1 });
    assert.deepEqual(out.stages['payments/staging'], { running: D2, lastKnownGood: D2 }, 'other stages untouched');
    assert.deepEqual(
      out.deployments.filter((d) => d.stage === 'prod').map((d) => `${d.kind}:${d.digest === D1 ? 'D1' : 'D2'}`),
      ['deploy:D2', 'rollback:D1'],
    );
  });

  it('refuses a digest never promoted in that stage, with the reason, and deploys nothing', async () => {
    const s = demo();
    s.triggers = [{ type: 'rollback', principal: carol, input: { service: 'payments', stage: 'prod', digest: `sha256:${'9'.repeat(64)}`, reason: 'typo' } }];
    const out = await runInline(s);
    const rb = out.releases[0];
    assert.equal(rb?.status, 'BLOCKED');
    assert.match(rb?.reason ?? '', /was never promoted in this stage/);
    assert.deepEqual(out.deployments, []);
    assert.equal(out.executions[0]?.status, 'FAILED');
  });

  it('refuses to roll back a stage with nothing promoted before the running digest', async () => {
    const s = demo();
    s.triggers = [{ type: 'rollback', principal: carol, input: { service: 'payments', stage: 'dev', reason: 'nothing before' } }];
    const out = await runInline(s);
    assert.equal(out.releases[0]?.status, 'BLOCKED');
    assert.match(out.releases[0]?.reason ?? '', /nothing to roll back to/);
    assert.deepEqual(out.deployments, []);
  });
});

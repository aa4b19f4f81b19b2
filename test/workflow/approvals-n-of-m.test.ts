/**
 * N-of-M approvals (decision 050) through the real release workflow in `gantry simulate`: the example scenario
 * approvals-two-of-three (2 of 3, the initiator and the author refused, a second approval by the same person
 * refused) and a rejection after one approval.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import type { SimulationOutput } from '../../local/simulate';
import { ROOT, runExample, runInline } from './helpers';

const bob = 'arn:aws:sts::111122223333:assumed-role/ReleaseApprovers/bob';
const carol = 'arn:aws:iam::111122223333:user/carol';
const prodOf = (out: SimulationOutput) => out.releases[0]?.stages.find((s) => s.name === 'prod');

describe('N-of-M approvals through the workflow', () => {
  it('deploys prod only after 2 distinct persons approved; the initiator, the author and a second approval by bob are refused', async () => {
    const out = await runExample('approvals-two-of-three');
    assert.deepEqual(out.warnings, []);
    assert.equal(out.releases[0]?.status, 'SUCCEEDED');
    const prod = prodOf(out);
    assert.deepEqual(
      prod?.approvals?.map((a) => [a.principal, a.person, a.decision, a.comment]),
      [
        [bob, 'bob', 'APPROVED', 'reviewed CHG-3100'],
        [carol, 'carol', 'APPROVED', 'second pair of eyes: ok'],
      ],
    );
    assert.equal(prod?.approval?.principal, carol, 'the approval that completed the count');
    const refused = out.timeline.filter((t) => t.event === 'Approval Refused').map((t) => t.reason ?? '');
    assert.equal(refused.length, 3);
    assert.match(refused[0] ?? '', /ReleaseApprovers\/alice: HTTP 403 .*started this release/);
    assert.match(refused[1] ?? '', /user\/dana: HTTP 403 .*is an author of the image/);
    assert.match(refused[2] ?? '', /ReleaseApprovers\/bob: HTTP 403 .*already approved this stage/);
    // Nothing was deployed to prod before the second approval.
    const deploy = out.deployments.find((d) => d.stage === 'prod');
    assert.ok(deploy && deploy.startedAt >= (prod?.approval?.at ?? ''), 'prod deployed after the count was complete');
    assert.ok((prod?.approvals?.[0]?.at ?? '') < (prod?.approval?.at ?? ''), 'the first approval came before the completing one');
    const decided = out.lifecycle.filter((e) => e.detailType === 'Approval Decided').map((e) => [e.detail.status, e.detail.count, e.detail.required]);
    assert.deepEqual(decided, [
      ['WAITING', 1, 2],
      ['APPROVED', 2, 2],
    ]);
    assert.equal(out.lifecycle.find((e) => e.detailType === 'Approval Requested')?.detail.required, 2);
    assert.equal(out.releases[0]?.audit.verified, true);
  });

  it('ends the release on a rejection after one approval: REJECTED, nothing deployed to prod', async () => {
    const s = JSON.parse(readFileSync(join(ROOT, 'examples', 'scenarios', 'approvals-two-of-three.json'), 'utf8'));
    s.script = [
      { when: { service: 'payments', stage: 'prod', phase: 'approval', after: 'PT5M' }, approve: { principal: bob, comment: 'fine by me' } },
      { when: { service: 'payments', stage: 'prod', phase: 'approval', after: 'PT10M' }, reject: { principal: carol, comment: 'not during the audit' } },
      { when: { service: 'payments', stage: 'prod', phase: 'approval', after: 'PT15M' }, approve: { principal: 'arn:aws:sts::111122223333:assumed-role/ReleaseApprovers/frank' } },
    ];
    const out = await runInline(s);
    assert.equal(out.releases[0]?.status, 'REJECTED');
    const prod = prodOf(out);
    assert.equal(prod?.status, 'REJECTED');
    assert.equal(prod?.approval?.decision, 'REJECTED');
    assert.deepEqual(
      prod?.approvals?.map((a) => [a.principal, a.decision]),
      [
        [bob, 'APPROVED'],
        [carol, 'REJECTED'],
      ],
    );
    assert.equal(out.deployments.filter((d) => d.stage === 'prod').length, 0);
    assert.equal(prod?.gates.find((g) => g.gate === 'approval')?.result, 'FAIL');
  });
});

/** Approvals with segregation of duties, through the workflow and the approval API's Lambda logic. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import type { SimulationOutput } from '../../local/simulate';
import { ROOT, runInline } from './helpers';

const alice = 'arn:aws:sts::111122223333:assumed-role/Deployers/alice';
const aliceAsApprover = 'arn:aws:sts::111122223333:assumed-role/ReleaseApprovers/alice';
const bob = 'arn:aws:sts::111122223333:assumed-role/ReleaseApprovers/bob';
const mallory = 'arn:aws:sts::111122223333:assumed-role/Developers/mallory';

function scenario(script: unknown[]) {
  const s = JSON.parse(readFileSync(join(ROOT, 'examples', 'scenarios', 'demo.json'), 'utf8'));
  const cfg = JSON.parse(readFileSync(join(ROOT, 'examples', 'gantry.config.json'), 'utf8'));
  cfg.services.payments.stages[2].approval = { approvers: ['arn:aws:iam::111122223333:role/ReleaseApprovers'], timeoutMinutes: 60 };
  s.config = cfg;
  s.ecr['payments-api'].images[1].scan = { status: 'COMPLETE', findings: [] };
  s.triggers = [{ type: 'start', principal: alice, input: { service: 'payments', image: { tag: 'v1.4.2' }, reason: 'CHG-2211' } }];
  s.script = script;
  return s;
}
const prodOf = (out: SimulationOutput) => out.releases[0]?.stages.find((s) => s.name === 'prod');
const approvalLine = (after: string, kind: 'approve' | 'reject', principal: string, comment?: string) => ({
  when: { service: 'payments', stage: 'prod', phase: 'approval', after },
  [kind]: { principal, ...(comment ? { comment } : {}) },
});

describe('approvals', () => {
  it('deploys prod after an allowed approver approves, recording who and when, after the gates ran', async () => {
    const out = await runInline(scenario([approvalLine('PT30M', 'approve', bob, 'ok for CHG-2211')]));
    assert.deepEqual(out.warnings, []);
    assert.equal(out.releases[0]?.status, 'SUCCEEDED');
    const prod = prodOf(out);
    assert.equal(prod?.approval?.decision, 'APPROVED');
    assert.equal(prod?.approval?.principal, bob);
    const gates = prod?.gates.map((g) => g.gate) ?? [];
    assert.ok(gates.indexOf('image.scan') < gates.indexOf('approval'), 'image gates ran before anyone was asked');
    const requested = out.lifecycle.find((e) => e.detailType === 'Approval Requested');
    assert.ok(requested, 'Approval Requested was published');
    assert.doesNotMatch(JSON.stringify(requested), /AQB[0-9a-f]{20,}|taskToken/i);
    const prodDeploy = out.deployments.find((d) => d.stage === 'prod');
    assert.ok(prodDeploy && prodDeploy.startedAt >= (prod?.approval?.at ?? ''), 'prod deployed only after the approval');
  });

  it('refuses the initiator approving under another role, records the refusal, and rejects when nobody else decides in time', async () => {
    const out = await runInline(scenario([approvalLine('PT5M', 'approve', aliceAsApprover)]));
    assert.deepEqual(out.warnings, []);
    assert.equal(out.releases[0]?.status, 'REJECTED');
    const prod = prodOf(out);
    assert.equal(prod?.status, 'REJECTED');
    assert.equal(prod?.approval?.decision, 'TIMED_OUT');
    assert.ok(out.timeline.some((t) => t.event === 'Approval Refused' && /alice/.test(t.reason ?? '')));
    assert.equal(out.deployments.filter((d) => d.stage === 'prod').length, 0);
  });

  it('refuses a caller who is not an approver, then accepts a rejection from an approver', async () => {
    const out = await runInline(scenario([approvalLine('PT5M', 'approve', mallory), approvalLine('PT10M', 'reject', bob, 'not today')]));
    assert.deepEqual(out.warnings, []);
    assert.equal(out.releases[0]?.status, 'REJECTED');
    assert.equal(prodOf(out)?.approval?.decision, 'REJECTED');
    assert.equal(prodOf(out)?.approval?.principal, bob);
    assert.ok(out.timeline.some((t) => t.event === 'Approval Refused' && /mallory/.test(t.reason ?? '')));
    assert.equal(out.deployments.filter((d) => d.stage === 'prod').length, 0);
  });

  it('rejects as TIMED_OUT after timeoutMinutes with no decision, and frees the prod lease', async () => {
    const out = await runInline(scenario([]));
    assert.deepEqual(out.warnings, []);
    assert.deepEqual(out.leasesHeld, []);
    assert.equal(out.releases[0]?.status, 'REJECTED');
    assert.equal(prodOf(out)?.approval?.decision, 'TIMED_OUT');
    // dev: deploy 10:00–10:01, bake to 10:11; staging: deploy to 10:12, bake to 10:27; then 60 minutes of waiting.
    assert.equal(out.releases[0]?.endedAt, '2026-11-24T11:27:00.000Z');
  });
});

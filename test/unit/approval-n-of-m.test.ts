/**
 * N-of-M approvals with separation from authorship (decision 050) through the approval API's Lambda
 * (approval-decide) on the real DynamoDB ledger adapter over the in-memory DynamoDB: the count, one
 * decision per person, authors refused, a rejection that ends it, and decisions that race.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { parseConfig } from '../../lambdas/domain/config';
import type { LocalDynamo } from '../../local/dynamo';
import { startMemoryDynamo } from '../../local/memory-dynamo';
import {
  ACCOUNT,
  ALICE_APPROVER,
  APPROVERS_ROLE,
  approve,
  BOB,
  CAROL,
  call,
  DIGEST,
  EXECUTION_ARN,
  harness,
  type Harness,
  prodOf,
  RELEASE,
  reject,
  session,
  T0,
  TOKEN,
  waitForProdApproval,
  waitingRelease,
} from '../helpers/approval-harness';

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startMemoryDynamo();
});
afterAll(async () => {
  await dynamo?.close();
});

const AUTHORS = 'org.opencontainers.image.authors';
const DANA = `arn:aws:iam::${ACCOUNT}:user/dana`;
const ERIN = session('ReleaseApprovers', 'erin@example.com');
const FRANK = session('ReleaseApprovers', 'frank');

/** The example config, prod approved by `required` distinct persons of ReleaseApprovers, carol or dana; authors excluded unless told. */
function quorumConfig(approval: Record<string, unknown> = {}, persons: Record<string, string[]> = { 'dana@example.com': [DANA] }) {
  const raw = JSON.parse(readFileSync(join(__dirname, '../../examples/gantry.config.json'), 'utf8'));
  raw.services.payments.imagePolicy.requiredLabels = ['org.opencontainers.image.revision', AUTHORS];
  const prod = raw.services.payments.stages.find((s: { name: string }) => s.name === 'prod');
  prod.approval = { approvers: [APPROVERS_ROLE, CAROL, DANA], timeoutMinutes: 60, required: 2, excludeAuthors: true, ...approval };
  return parseConfig({ ...raw, identity: { persons } }, 'test config');
}

/** Prod waiting for approvals, the image's labels recorded with `authors` (none: no labels gate with labels). */
async function waiting(approval: Record<string, unknown> = {}, authors: string | null = 'Dana Developer <dana@example.com>, erin@example.com'): Promise<Harness> {
  const h = await waitingRelease(dynamo, { config: quorumConfig(approval) });
  if (authors !== null) {
    await h.ledger.append({
      releaseId: RELEASE,
      stepKey: 'stage:prod:gate:image.labels',
      type: 'gate.evaluated',
      at: T0.toISOString(),
      stage: 'prod',
      data: {
        gate: 'image.labels',
        result: 'PASS',
        reason: '2 required label(s) present',
        evidence: { platforms: [{ manifestDigest: 'sha256:x', configDigest: 'sha256:y', labels: { [AUTHORS]: authors, 'org.opencontainers.image.revision': 'c0ffee1' } }] },
      },
    });
  }
  return h;
}

const codeOf = (r: { body: Record<string, unknown> }) => r.body.code;

describe('N-of-M approvals (decision 050)', () => {
  it('records a first approval of two without touching the task token, and says the stage waits for one more', async () => {
    const h = await waiting();

    const r = await call(h, approve(BOB, 'reviewed'));

    assert.equal(r.status, 200);
    assert.deepEqual(
      { outcome: r.body.outcome, count: r.body.count, required: r.body.required, decision: r.body.decision },
      { outcome: 'WAITING', count: 1, required: 2, decision: 'APPROVED' },
    );
    assert.equal(h.tasks.sent, 0, 'nothing was sent to Step Functions');
    const token = await h.ledger.takeToken('APPROVAL', RELEASE, 'prod');
    assert.equal(token?.token, TOKEN, 'the token is still there for the approval that completes the count');
    const events = await h.ledger.events(RELEASE);
    const recorded = events.filter((e) => e.type === 'approval.recorded');
    assert.equal(recorded.length, 1);
    assert.equal(recorded[0]?.stepKey, 'stage:prod:approval:1');
    assert.deepEqual(
      { ...recorded[0]?.data, requestId: undefined },
      {
        principal: BOB,
        person: 'bob',
        decision: 'APPROVED',
        comment: 'reviewed',
        count: 1,
        required: 2,
        approver: APPROVERS_ROLE,
        requestId: undefined,
        sourceIp: '192.0.2.10',
      },
    );
    const prod = await prodOf(h);
    assert.equal(prod?.approval, undefined, 'the stage is not decided');
    assert.deepEqual(
      prod?.approvals?.map((a) => [a.principal, a.person, a.decision]),
      [[BOB, 'bob', 'APPROVED']],
    );
    const decided = h.bus.published.filter((e) => e.detailType === 'Approval Decided');
    assert.deepEqual(
      decided.map((e) => [e.detail.status, e.detail.decision, e.detail.count, e.detail.required]),
      [['WAITING', 'APPROVED', 1, 2]],
    );
  });

  it('completes with a second person: the gate PASSes with both approvals in its evidence and the workflow resumes once', async () => {
    const h = await waiting();
    await call(h, approve(BOB, 'reviewed'));

    const r = await call(h, approve(CAROL, 'ok'));

    assert.equal(r.status, 200);
    assert.deepEqual([r.body.outcome, r.body.count, r.body.required], ['APPROVED', 2, 2]);
    assert.deepEqual(h.tasks.successes, [{ token: TOKEN, output: { decision: 'APPROVED', principal: CAROL } }]);
    const prod = await prodOf(h);
    const gate = prod?.gates.find((g) => g.gate === 'approval');
    assert.equal(gate?.result, 'PASS');
    const ev = gate?.evidence as { required: number; approvals: Array<{ principal: string; person?: string; comment?: string }> };
    assert.equal(ev.required, 2);
    assert.deepEqual(
      ev.approvals.map((a) => [a.principal, a.person, a.comment]),
      [
        [BOB, 'bob', 'reviewed'],
        [CAROL, 'carol', 'ok'],
      ],
    );
    assert.deepEqual(
      prod?.approvals?.map((a) => [a.principal, a.decision]),
      [
        [BOB, 'APPROVED'],
        [CAROL, 'APPROVED'],
      ],
    );
    assert.equal(prod?.approval?.decision, 'APPROVED');
  });

  it('refuses the same person approving twice (same-person), records the refusal, and leaves the count at one', async () => {
    const h = await waiting();
    await call(h, approve(BOB));

    const again = await call(h, approve(BOB, 'again'));
    // bob under another role of the same account is still bob.
    const otherRole = await call(h, approve(session('Deployers', 'bob')));

    assert.equal(again.status, 403);
    assert.equal(codeOf(again), 'same-person');
    assert.match(String(again.body.message), /already approved this stage.*1 of 2 approvals \(bob\)/);
    assert.equal(otherRole.status, 403, 'not an approver under Deployers: refused before the count is read');
    const refusals = await h.ledger.listRefusals(RELEASE);
    assert.deepEqual(
      refusals.map((x) => x.code),
      ['same-person', 'not-an-approver'],
    );
    assert.equal((await h.ledger.events(RELEASE)).filter((e) => e.type === 'approval.recorded').length, 1);
    assert.equal(h.tasks.sent, 0);
  });

  it('answers the same request again as it was (a retry once its approval was recorded), without a refusal or a second count', async () => {
    const h = await waiting();
    const first = await call(h, approve(BOB, 'reviewed', 'req-retried'));

    const retry = await call(h, approve(BOB, 'reviewed', 'req-retried'));

    assert.equal(retry.status, 200);
    assert.deepEqual([retry.body.outcome, retry.body.count, retry.body.at], ['WAITING', 1, first.body.at]);
    assert.deepEqual(await h.ledger.listRefusals(RELEASE), []);
    assert.equal((await h.ledger.events(RELEASE)).filter((e) => e.type === 'approval.recorded').length, 1);
  });

  it('refuses the same person under another principal through identity.persons', async () => {
    const h = await waitingRelease(dynamo, { config: quorumConfig({ excludeAuthors: false }, { bob: [BOB, `arn:aws:iam::${ACCOUNT}:user/carol`] }) });
    await call(h, approve(BOB));

    const r = await call(h, approve(CAROL));

    assert.equal(r.status, 403);
    assert.equal(codeOf(r), 'same-person');
  });

  it('refuses an author of the image: by the person key, by a session named after the email, never by a display name', async () => {
    const h = await waiting();

    const dana = await call(h, approve(DANA));
    const erin = await call(h, approve(ERIN));
    const frank = await call(h, approve(FRANK));

    assert.equal(dana.status, 403);
    assert.equal(codeOf(dana), 'author');
    assert.match(String(dana.body.message), /Dana Developer <dana@example.com>, matched as dana@example.com/);
    assert.equal(erin.status, 403);
    assert.equal(codeOf(erin), 'author');
    assert.equal(frank.status, 200, 'frank wrote nothing');
    assert.equal(frank.body.outcome, 'WAITING');
  });

  it('refuses an author who would reject too, and the initiator as before', async () => {
    const h = await waiting();

    const dana = await call(h, reject(DANA, 'no'));
    const alice = await call(h, approve(ALICE_APPROVER));

    assert.equal(codeOf(dana), 'author');
    assert.equal(codeOf(alice), 'self-approval');
    assert.equal(h.tasks.sent, 0);
  });

  it('fails closed when the authors cannot be read: nobody may decide (author-unknown)', async () => {
    const h = await waiting({}, null);

    const r = await call(h, approve(BOB));

    assert.equal(r.status, 403);
    assert.equal(codeOf(r), 'author-unknown');
    assert.match(String(r.body.message), /org\.opencontainers\.image\.authors/);
  });

  it('does not check authors for an operator rollback (no labels needed), but still counts distinct persons', async () => {
    const h = await harness(dynamo, quorumConfig());
    await h.ledger.append({
      releaseId: RELEASE,
      stepKey: 'release.started',
      type: 'release.started',
      at: new Date(T0.getTime() - 30 * 60_000).toISOString(),
      data: {
        kind: 'rollback',
        service: 'payments',
        digest: DIGEST,
        rollbackTarget: DIGEST,
        initiator: session('Operators', 'oscar'),
        stages: ['prod'],
        executionArn: EXECUTION_ARN,
      },
    });
    await waitForProdApproval(h);

    const dana = await call(h, approve(DANA));
    const again = await call(h, approve(DANA));
    const bob = await call(h, approve(BOB));

    assert.deepEqual([dana.status, dana.body.outcome], [200, 'WAITING'], 'no author-unknown although the labels gate recorded no labels');
    assert.equal(codeOf(again), 'same-person');
    assert.deepEqual([bob.status, bob.body.outcome], [200, 'APPROVED']);
  });

  it('ends the stage on a rejection after one approval: gate FAIL, ApprovalRejected, both decisions listed', async () => {
    const h = await waiting();
    await call(h, approve(BOB));

    const r = await call(h, reject(CAROL, 'not this week'));

    assert.equal(r.status, 200);
    assert.deepEqual([r.body.outcome, r.body.count, r.body.required], ['REJECTED', 1, 2]);
    assert.equal(h.tasks.failures.length, 1);
    assert.equal(h.tasks.failures[0]?.error, 'ApprovalRejected');
    const prod = await prodOf(h);
    assert.equal(prod?.gates.find((g) => g.gate === 'approval')?.result, 'FAIL');
    assert.deepEqual(
      prod?.approvals?.map((a) => [a.principal, a.decision]),
      [
        [BOB, 'APPROVED'],
        [CAROL, 'REJECTED'],
      ],
    );
    // Nobody can approve after that.
    const late = await call(h, approve(FRANK));
    assert.equal(late.status, 409);
  });

  it('lets exactly one of two concurrent completing approvals claim the token; the other is told it was decided', async () => {
    const h = await waiting();
    await call(h, approve(BOB));

    const [a, b] = await Promise.all([call(h, approve(CAROL)), call(h, approve(FRANK))]);

    assert.deepEqual([a.status, b.status].sort(), [200, 409]);
    assert.equal(h.tasks.sent, 1, 'one delivery');
    const prod = await prodOf(h);
    const gates = prod?.gates.filter((g) => g.gate === 'approval') ?? [];
    assert.equal(gates.length, 1);
    const winner = a.status === 200 ? CAROL : FRANK;
    assert.deepEqual(
      (gates[0]?.evidence as { approvals: Array<{ principal: string }> }).approvals.map((x) => x.principal),
      [BOB, winner],
    );
  });

  it('loses no count when two persons race for the same place: both are counted, and the third completes', async () => {
    const h = await waiting({ required: 3 });

    const [a, b] = await Promise.all([call(h, approve(BOB)), call(h, approve(CAROL))]);

    assert.deepEqual([a.status, b.status], [200, 200]);
    assert.deepEqual([a.body.count, b.body.count].sort(), [1, 2]);
    assert.deepEqual([a.body.outcome, b.body.outcome], ['WAITING', 'WAITING']);
    const recorded = (await h.ledger.events(RELEASE)).filter((e) => e.type === 'approval.recorded');
    assert.deepEqual(recorded.map((e) => e.stepKey).sort(), ['stage:prod:approval:1', 'stage:prod:approval:2']);
    assert.equal(h.tasks.sent, 0);

    const third = await call(h, approve(FRANK));
    assert.deepEqual([third.status, third.body.outcome, third.body.count], [200, 'APPROVED', 3]);
    assert.equal(h.tasks.successes.length, 1);
  });

  it('counts both of two persons approving at once when neither had approved: one completes, the other is answered 200 too', async () => {
    for (let i = 0; i < 5; i++) {
      const h = await waiting();

      const [a, b] = await Promise.all([call(h, approve(BOB)), call(h, approve(CAROL))]);

      assert.deepEqual([a.status, b.status], [200, 200], JSON.stringify([a.body, b.body]));
      assert.deepEqual([a.body.count, b.body.count].sort(), [1, 2]);
      assert.ok([a.body.outcome, b.body.outcome].includes('APPROVED'));
      assert.equal(h.tasks.successes.length, 1);
      const gate = (await prodOf(h))?.gates.find((g) => g.gate === 'approval');
      assert.deepEqual((gate?.evidence as { approvals: Array<{ principal: string }> }).approvals.map((x) => x.principal).sort(), [BOB, CAROL].sort());
    }
  });

  it('answers a counted approval 200 when the count was completed by another person between its write and its re-read', async () => {
    const h = await waiting();
    const append = h.ledger.append.bind(h.ledger);
    let carol: Awaited<ReturnType<typeof call>> | undefined;
    h.ledger.append = async (input) => {
      const r = await append(input);
      // Right after bob's place is written, carol completes the count before bob's request reads the chain again.
      if (input.type === 'approval.recorded' && input.data.principal === BOB && !carol) carol = await call(h, approve(CAROL));
      return r;
    };

    const bob = await call(h, approve(BOB));

    assert.deepEqual([carol?.status, carol?.body.outcome, carol?.body.count], [200, 'APPROVED', 2]);
    assert.deepEqual([bob.status, bob.body.outcome, bob.body.count], [200, 'APPROVED', 1], JSON.stringify(bob.body));
    assert.match(String(bob.body.message), /then APPROVED by .*user\/carol/);
  });

  it('with required 1 decides at the first approval as before, and lists it', async () => {
    const h = await waiting({ required: 1, excludeAuthors: false });

    const r = await call(h, approve(BOB));

    assert.deepEqual([r.status, r.body.outcome, r.body.count, r.body.required], [200, 'APPROVED', 1, 1]);
    assert.equal((await h.ledger.events(RELEASE)).filter((e) => e.type === 'approval.recorded').length, 0);
    const prod = await prodOf(h);
    assert.match(prod?.gates.find((g) => g.gate === 'approval')?.reason ?? '', /^approved by arn:aws:sts::111122223333:assumed-role\/ReleaseApprovers\/bob \(approver /);
    assert.deepEqual(
      prod?.approvals?.map((a) => a.principal),
      [BOB],
    );
  });

  it('asks for the count in Approval Requested and in the waiting record', async () => {
    const h = await waiting();
    const requested = h.bus.published.find((e) => e.detailType === 'Approval Requested');
    assert.equal(requested?.detail.required, 2);
    assert.equal(requested?.detail.excludeAuthors, true);
    const wait = (await h.ledger.events(RELEASE)).find((e) => e.type === 'stage.waiting' && e.stage === 'prod');
    assert.equal(wait?.data.required, 2);
    assert.match(String(wait?.data.reason), /^2 approvals by distinct persons among /);
  });
});

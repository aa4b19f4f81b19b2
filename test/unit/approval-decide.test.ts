/**
 * The approval pieces as handlers: approval-request (the `.waitForTaskToken` target) and approval-decide
 * (the API Lambda) with API Gateway's IAM-auth proxy event, the real DynamoDB ledger adapter on the in-memory DynamoDB,
 * and fakes for Step Functions and the bus (test/helpers/approval-harness.ts). The attacks on approvals
 * (forged records, forged initiators, persons, floods) are in approval-trust.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { CLOSING_MARGIN_MS, DELIVERY_ATTEMPTS } from '../../lambdas/approval-decide';
import { decisionEvent } from '../../local/api-events';
import { ApprovalNotConfiguredError, run as requestApproval } from '../../lambdas/approval-request';
import { executionConsoleUrl } from '../../lambdas/domain/console-url';
import { logger } from '../../lambdas/shared/middleware';
import type { LocalDynamo } from '../../local/dynamo';
import { startMemoryDynamo } from '../../local/memory-dynamo';
import {
  ACCOUNT,
  ALICE_APPROVER,
  ALICE_DEPLOYER,
  API_SAMPLE,
  APPROVERS_ROLE,
  approve,
  BOB,
  CAROL,
  call,
  DIGEST,
  EXECUTION_ARN,
  prodOf,
  RELEASE,
  reject,
  sampleEvent,
  T0,
  TOKEN,
  waitingRelease as waiting,
} from '../helpers/approval-harness';

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startMemoryDynamo();
});
afterAll(async () => {
  await dynamo?.close();
});

const waitingRelease = (options: { request?: boolean; initiator?: string } = {}) => waiting(dynamo, options);

// ---------------------------------------------------------------- approval-request

describe('approval-request', () => {
  it('stores the task token as the stage APPROVAL token, expiring with the task', async () => {
    const h = await waitingRelease();

    const token = await h.ledger.takeToken('APPROVAL', RELEASE, 'prod');

    assert.equal(token?.token, TOKEN);
    assert.equal(token?.expiresAt, '2026-11-24T11:00:00.000Z');
  });

  it('records that prod waits for an approval by the configured approvers', async () => {
    const h = await waitingRelease();

    const waiting = (await h.ledger.events(RELEASE)).find((e) => e.type === 'stage.waiting');

    assert.equal(waiting?.stepKey, 'stage:prod:waiting:approval');
    assert.deepEqual(waiting?.data.approvers, [APPROVERS_ROLE, CAROL]);
    assert.equal(waiting?.data.waitingFor, 'approval');
    assert.equal((await prodOf(h))?.status, 'WAITING');
  });

  it('publishes Approval Requested with the gates so far, digest, tag, commit, initiator and a console link', async () => {
    const h = await waitingRelease();

    const [requested] = h.bus.published;

    assert.equal(requested?.detailType, 'Approval Requested');
    assert.deepEqual(
      { ...requested?.detail, at: undefined },
      {
        releaseId: RELEASE,
        service: 'payments',
        digest: DIGEST,
        stage: 'prod',
        status: 'WAITING',
        at: undefined,
        tag: 'v1.4.2',
        commit: 'c0ffee1234',
        initiator: ALICE_DEPLOYER,
        approvers: [APPROVERS_ROLE, CAROL],
        expiresAt: '2026-11-24T11:00:00.000Z',
        gates: [
          { gate: 'window', result: 'PASS', reason: 'inside Mon-Thu 09:00-16:00 Europe/London' },
          { gate: 'alarms.pre-deploy', result: 'PASS', reason: '2 alarms OK' },
        ],
        executionArn: EXECUTION_ARN,
        executionUrl: `https://eu-west-2.console.aws.amazon.com/states/home?region=eu-west-2#/v2/executions/details/${EXECUTION_ARN}`,
        required: 1,
      },
    );
  });

  it('refuses a stage that has no approval in the config', async () => {
    const h = await waitingRelease({ request: false });

    await assert.rejects(requestApproval({ taskToken: TOKEN, releaseId: RELEASE, stage: 'staging' }, h.deps), ApprovalNotConfiguredError);
  });

  it('links executions in other partitions to their console, and gives no link for a non-execution ARN', () => {
    assert.match(
      executionConsoleUrl('arn:aws-cn:states:cn-north-1:111122223333:execution:m:e') ?? '',
      /^https:\/\/cn-north-1\.console\.amazonaws\.cn\/states\/home\?region=cn-north-1#/,
    );
    assert.equal(executionConsoleUrl('arn:aws:states:eu-west-2:111122223333:stateMachine:m'), undefined);
    assert.equal(executionConsoleUrl(undefined), undefined);
  });
});

// ---------------------------------------------------------------- approval-decide

describe('approval-decide with the API Gateway IAM-auth event', () => {
  it('refuses the sample caller, who is no approver, records who and why beside the chain, and keeps the release waiting', async () => {
    const h = await waitingRelease();
    const chain = (await h.ledger.events(RELEASE)).length;

    const r = await call(h, sampleEvent({ decision: 'approve' }));

    assert.equal(r.status, 403);
    assert.equal(r.body.code, 'not-an-approver');
    assert.match(String(r.body.message), /assumed-role\/ReleaseOperator\/release-operator-session is not an approver of this stage/);
    const refused = await h.ledger.listRefusals(RELEASE);
    assert.equal(refused.length, 1);
    assert.equal(refused[0]?.principal, `arn:aws:sts::123456789012:assumed-role/ReleaseOperator/release-operator-session`);
    assert.deepEqual([refused[0]?.requestId, refused[0]?.stage, refused[0]?.code, refused[0]?.decision], ['id=', 'prod', 'not-an-approver', 'approve']);
    assert.equal((await h.ledger.events(RELEASE)).length, chain, 'a refusal is not a release event');
    assert.equal((await prodOf(h))?.status, 'WAITING');
    assert.deepEqual([h.tasks.successes.length, h.tasks.failures.length], [0, 0]);
  });

  it('accepts an approver from the sample shape: records the gate, publishes Approval Decided and resumes the workflow', async () => {
    const h = await waitingRelease();

    const r = await call(h, sampleEvent({ decision: 'approve', comment: 'CHG-2211 reviewed' }, BOB));

    assert.equal(r.status, 200);
    assert.deepEqual(
      { ...r.body, at: undefined },
      { releaseId: RELEASE, stage: 'prod', decision: 'APPROVED', principal: BOB, comment: 'CHG-2211 reviewed', at: undefined, count: 1, required: 1, outcome: 'APPROVED' },
    );
    assert.deepEqual(h.tasks.successes, [{ token: TOKEN, output: { decision: 'APPROVED', principal: BOB } }]);
    const prod = await prodOf(h);
    assert.deepEqual({ ...prod?.approval, at: undefined }, { decision: 'APPROVED', principal: BOB, comment: 'CHG-2211 reviewed', at: undefined });
    const gate = prod?.gates.find((g) => g.gate === 'approval');
    assert.equal(gate?.result, 'PASS');
    assert.match(gate?.reason ?? '', /^approved by arn:aws:sts::111122223333:assumed-role\/ReleaseApprovers\/bob \(approver arn:aws:iam::111122223333:role\/ReleaseApprovers\)/);
    const decided = h.bus.published.find((e) => e.detailType === 'Approval Decided');
    assert.equal(decided?.detail.status, 'APPROVED');
    assert.equal(decided?.detail.principal, BOB);
    assert.equal(await h.ledger.takeToken('APPROVAL', RELEASE, 'prod'), undefined, 'the token was claimed');
  });

  it('refuses alice approving under ReleaseApprovers the release she pushed as Deployers, and keeps the token', async () => {
    const h = await waitingRelease();

    const r = await call(h, approve(ALICE_APPROVER));
    const later = await call(h, approve(BOB));

    assert.equal(r.status, 403);
    assert.equal(r.body.code, 'self-approval');
    const prod = (await h.ledger.getRelease(RELEASE))?.stages.find((s) => s.name === 'prod');
    assert.deepEqual(
      prod?.refusals?.map((x) => x.principal),
      [ALICE_APPROVER],
    );
    assert.equal(prod?.refusalCount, 1);
    assert.match(prod?.refusals?.[0]?.reason ?? '', /segregation of duties/);
    assert.equal(later.status, 200, 'the token survived the refusal');
    assert.equal(h.tasks.successes.length, 1);
  });

  it('records every refused attempt separately, one per request', async () => {
    const h = await waitingRelease();

    await call(h, approve(ALICE_APPROVER, undefined, 'req-1'));
    await call(h, approve(ALICE_APPROVER, undefined, 'req-2'));

    assert.deepEqual(
      (await h.ledger.listRefusals(RELEASE)).map((r) => r.requestId),
      ['req-1', 'req-2'],
    );
    assert.equal((await h.ledger.getRelease(RELEASE))?.stages.find((s) => s.name === 'prod')?.refusalCount, 2);
  });

  it('claims the token exactly once when two approvers race', async () => {
    const h = await waitingRelease();

    const [a, b] = await Promise.all([call(h, approve(BOB)), call(h, approve(CAROL))]);

    assert.deepEqual([a.status, b.status].sort(), [200, 409]);
    assert.equal(h.tasks.successes.length + h.tasks.failures.length, 1);
    const loser = a.status === 409 ? a : b;
    assert.match(String(loser.body.message), new RegExp(`^no approval is waiting for prod of ${RELEASE}`));
    assert.equal((await h.ledger.events(RELEASE)).filter((e) => e.type === 'gate.evaluated' && e.data.gate === 'approval').length, 1);
  });

  it('sends ApprovalRejected on a rejection, with the reason and comment, and records the gate as FAIL', async () => {
    const h = await waitingRelease();

    const r = await call(h, reject(CAROL, 'error budget exhausted'));

    assert.equal(r.status, 200);
    assert.equal(r.body.decision, 'REJECTED');
    assert.equal(h.tasks.successes.length, 0);
    assert.deepEqual(h.tasks.failures, [{ token: TOKEN, error: 'ApprovalRejected', cause: `rejected by ${CAROL}: error budget exhausted` }]);
    const prod = await prodOf(h);
    assert.equal(prod?.approval?.decision, 'REJECTED');
    assert.equal(prod?.gates.find((g) => g.gate === 'approval')?.result, 'FAIL');
    assert.equal(h.bus.published.find((e) => e.detailType === 'Approval Decided')?.detail.status, 'REJECTED');
  });

  it('never puts the task token in a response, a lifecycle event or a ledger record', async () => {
    const h = await waitingRelease();
    h.tasks.failNext = 1;

    await call(h, approve(ALICE_APPROVER));
    await call(h, sampleEvent({ decision: 'approve' }));
    await call(h, approve(BOB)); // fails to send: 500, token given back
    await call(h, approve(BOB));
    await call(h, reject(CAROL));

    const everything = JSON.stringify({ responses: h.responses, events: h.bus.published, ledger: await h.ledger.events(RELEASE), refusals: await h.ledger.listRefusals(RELEASE) });
    assert.ok(h.responses.length === 5 && everything.length > 1000);
    assert.equal(everything.includes(TOKEN), false);
    assert.equal(everything.includes('SECRET-TASK-TOKEN'), false);
  });

  it('logs a failed send without the task token', async () => {
    const h = await waitingRelease();
    h.tasks.failNext = DELIVERY_ATTEMPTS;
    const captured: string[] = [];
    const writes = { out: process.stdout.write, err: process.stderr.write };
    const capture = (chunk: unknown) => {
      captured.push(String(chunk));
      return true;
    };
    const level = logger.getLevelName();
    logger.setLogLevel('INFO');
    process.stdout.write = capture as typeof process.stdout.write;
    process.stderr.write = capture as typeof process.stderr.write;
    try {
      await call(h, approve(BOB));
    } finally {
      process.stdout.write = writes.out;
      process.stderr.write = writes.err;
      logger.setLogLevel(level);
    }

    const logs = captured.join('');
    assert.match(logs, /approval decision failed/);
    assert.match(logs, /ServiceUnavailable while sending \[task token\]/);
    assert.equal(logs.includes(TOKEN), false);
  });

  it('tries a failed send again itself, and answers 200 once Step Functions has it', async () => {
    const h = await waitingRelease();
    h.tasks.failNext = DELIVERY_ATTEMPTS - 1;

    const r = await call(h, approve(BOB));

    assert.equal(r.status, 200);
    assert.deepEqual(h.tasks.successes, [{ token: TOKEN, output: { decision: 'APPROVED', principal: BOB } }]);
    assert.equal(await h.ledger.takeToken('APPROVAL', RELEASE, 'prod'), undefined);
  });

  it('gives the token back when Step Functions cannot be told, and the approver\u2019s retry delivers the recorded decision once', async () => {
    const h = await waitingRelease();
    h.tasks.failNext = DELIVERY_ATTEMPTS;

    const first = await call(h, approve(BOB));
    const retry = await call(h, approve(BOB));

    assert.equal(first.status, 500);
    assert.match(String(first.body.message), /not applied; retrying is safe/);
    assert.equal(retry.status, 200);
    assert.deepEqual(h.tasks.successes, [{ token: TOKEN, output: { decision: 'APPROVED', principal: BOB } }]);
    assert.equal((await h.ledger.events(RELEASE)).filter((e) => e.type === 'gate.evaluated' && e.data.gate === 'approval').length, 1);
  });

  it('never delivers a recorded approval for another approver: after a failed send, carol gets 409 and nothing is sent', async () => {
    const h = await waitingRelease();
    h.tasks.failNext = DELIVERY_ATTEMPTS;
    await call(h, approve(BOB));

    const r = await call(h, reject(CAROL));
    const carolApproves = await call(h, approve(CAROL));

    assert.deepEqual([r.status, carolApproves.status], [409, 409]);
    assert.match(String(r.body.message), /already APPROVED by arn:aws:sts::111122223333:assumed-role\/ReleaseApprovers\/bob/);
    assert.equal(h.tasks.sent, 0, 'no task token was sent on behalf of a later caller');
    assert.equal((await h.ledger.takeToken('APPROVAL', RELEASE, 'prod'))?.token, TOKEN, 'the token waits for bob\u2019s retry or the workflow timeout');
  });

  it('does not let the recorded approver finish a delivery with a different decision', async () => {
    const h = await waitingRelease();
    h.tasks.failNext = DELIVERY_ATTEMPTS;
    await call(h, approve(BOB));

    const r = await call(h, reject(BOB));

    assert.equal(r.status, 409);
    assert.equal(h.tasks.sent, 0);
  });

  it('answers 409 once the approval is decided', async () => {
    const h = await waitingRelease();
    await call(h, approve(BOB));

    const r = await call(h, reject(CAROL));

    assert.equal(r.status, 409);
    assert.match(String(r.body.message), new RegExp(`^no approval is waiting for prod of ${RELEASE}: already APPROVED by`));
    assert.equal(h.tasks.failures.length, 0);
  });

  it('answers 409 when the stage has not asked for an approval', async () => {
    const h = await waitingRelease({ request: false });

    const r = await call(h, approve(BOB));

    assert.equal(r.status, 409);
    assert.equal(r.body.message, `no approval is waiting for prod of ${RELEASE}: the stage has not asked for one`);
  });

  it('answers 409 for a stage whose config needs no approval', async () => {
    const h = await waitingRelease();

    const r = await call(h, decisionEvent(BOB, { releaseId: RELEASE, stage: 'staging', decision: 'approve' }));

    assert.equal(r.status, 409);
    assert.match(String(r.body.message), /no approval is waiting for staging of .*: stage staging of payments needs no approval/);
  });

  it('answers 409 after the workflow timed the approval out, and tells Step Functions nothing', async () => {
    const h = await waitingRelease();
    await h.ledger.takeToken('APPROVAL', RELEASE, 'prod');
    await h.ledger.append({
      releaseId: RELEASE,
      stepKey: 'stage:prod:gate:approval',
      type: 'gate.evaluated',
      at: T0.toISOString(),
      stage: 'prod',
      data: { gate: 'approval', result: 'FAIL', reason: 'no decision within 60 minutes', decision: 'TIMED_OUT' },
    });

    const r = await call(h, approve(BOB));

    assert.equal(r.status, 409);
    assert.match(String(r.body.message), /already TIMED_OUT/);
    assert.deepEqual([h.tasks.successes.length, h.tasks.failures.length], [0, 0]);
  });

  it('closes the approval shortly before its expiry, leaving the token to the workflow timeout', async () => {
    const h = await waitingRelease();
    h.now = new Date(Date.parse('2026-11-24T11:00:00.000Z') - CLOSING_MARGIN_MS + 1);

    const r = await call(h, approve(BOB));

    assert.equal(r.status, 409);
    assert.match(String(r.body.message), /timed out at 2026-11-24T11:00:00.000Z/);
    assert.equal((await h.ledger.takeToken('APPROVAL', RELEASE, 'prod'))?.token, TOKEN);
  });

  it('answers 404 for a release that does not exist', async () => {
    const h = await waitingRelease();

    const r = await call(h, decisionEvent(BOB, { releaseId: 'payments-ffffffffffffffff', stage: 'prod', decision: 'approve' }));

    assert.equal(r.status, 404);
    assert.equal(r.body.message, 'release payments-ffffffffffffffff not found');
  });

  it('answers 400 naming each invalid field of the body', async () => {
    const h = await waitingRelease();

    const r = await call(h, sampleEvent({ decision: 'yes', approver: 'me' }, BOB));

    assert.equal(r.status, 400);
    assert.deepEqual(r.body.problems, ['body.decision: expected one of "approve"|"reject", got "yes"', 'body.approver: unknown field (not allowed here)']);
  });

  it('answers 400 for a body that is not JSON, a missing body and a malformed release id', async () => {
    const h = await waitingRelease();
    const badPath = sampleEvent({ decision: 'approve' }, BOB);
    badPath.pathParameters = { releaseId: 'no spaces allowed', stage: 'prod' };

    const notJson = await call(h, sampleEvent('approve please', BOB));
    const empty = await call(h, { ...sampleEvent({}, BOB), body: null });
    const path = await call(h, badPath);

    assert.deepEqual([notJson.status, empty.status, path.status], [400, 400, 400]);
    assert.deepEqual(notJson.body.problems, ['body: expected a JSON object, got text that is not JSON']);
    assert.match(JSON.stringify(empty.body.problems), /body\.decision: expected one of/);
    assert.match(JSON.stringify(path.body.problems), /path\.releaseId: expected a release id/);
  });

  it('reads a base64-encoded body', async () => {
    const h = await waitingRelease();
    const e = sampleEvent({ decision: 'approve' }, BOB);
    Object.assign(e, { body: Buffer.from(JSON.stringify({ decision: 'approve' })).toString('base64'), isBase64Encoded: true });

    const r = await call(h, e);

    assert.equal(r.status, 200);
  });

  it('refuses a request with no IAM caller, and records nothing', async () => {
    const h = await waitingRelease();
    const before = (await h.ledger.events(RELEASE)).length;
    const e = sampleEvent({ decision: 'approve' });
    (e.requestContext as { identity: Record<string, unknown> }).identity.userArn = null;

    const r = await call(h, e);

    assert.equal(r.status, 403);
    assert.match(String(r.body.message), /no IAM caller/);
    assert.equal((await h.ledger.events(RELEASE)).length, before);
  });

  it('answers 405 to anything but POST', async () => {
    const h = await waitingRelease();

    const r = await call(h, { ...sampleEvent({ decision: 'approve' }, BOB), httpMethod: 'GET' });

    assert.equal(r.status, 405);
  });

  it('refuses every approval of a release whose initiator is not attributed yet, saying it waits for CloudTrail’s StartExecution record', async () => {
    const h = await waitingRelease({ initiator: 'unattributed (no start record yet)' });

    const r = await call(h, approve(BOB));

    assert.equal(r.status, 403);
    assert.equal(r.body.code, 'initiator-pending');
    assert.match(String(r.body.message), /^initiator not known yet: waiting for CloudTrail's StartExecution record/);
  });
});

describe('decisionEvent (local/api-events.ts)', () => {
  it('builds the API Gateway IAM-auth proxy event shape of the sample, signed by the given principal', () => {
    const sample = JSON.parse(readFileSync(API_SAMPLE, 'utf8'));

    const e = decisionEvent(BOB, { releaseId: RELEASE, stage: 'prod', decision: 'reject', comment: 'no' }, { at: T0, requestId: 'r-1' });

    for (const k of Object.keys(sample)) assert.ok(k in e, k);
    for (const k of Object.keys(sample.requestContext)) assert.ok(k in e.requestContext, `requestContext.${k}`);
    for (const k of Object.keys(sample.requestContext.identity)) assert.ok(k in e.requestContext.identity, `identity.${k}`);
    assert.equal(e.requestContext.identity.userArn, BOB);
    assert.match(String(e.requestContext.identity.caller), /^AROA[A-Z2-7]{17}:bob$/);
    assert.equal(e.requestContext.identity.accountId, ACCOUNT);
    assert.equal(e.requestContext.requestId, 'r-1');
    assert.equal(e.requestContext.requestTime, '24/Nov/2026:10:00:00 +0000');
    assert.equal(e.path, `/releases/${RELEASE}/stages/prod/decision`);
    assert.deepEqual(JSON.parse(e.body ?? ''), { decision: 'reject', comment: 'no' });
  });
});

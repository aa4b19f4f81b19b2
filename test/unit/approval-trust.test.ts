/**
 * Approvals an attacker cannot forge or wedge (issue 14), against the real handlers on the in-memory DynamoDB:
 * a correctly chained decision written into the table, an initiator pre-written for a pushed release,
 * persons behind principals, and a flood of refusals.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { BatchWriteCommand, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { refusalItem } from '../../lambdas/adapters/dynamo-ledger';
import { ledgerKeys } from '../../lambdas/adapters/ledger-table';
import { DELIVERY_ATTEMPTS } from '../../lambdas/approval-decide';
import { REFUSALS_PER_PRINCIPAL_PER_MINUTE, REFUSALS_PER_ROLE_PER_MINUTE } from '../../lambdas/domain/approvers';
import { REFUSALS_KEPT, verifyChain } from '../../lambdas/domain/ledger';
import { pushExecutionName } from '../../lambdas/domain/release';
import { ValidationError } from '../../lambdas/domain/validation';
import { AttributionPendingError, run as intake } from '../../lambdas/intake';
import { run as prepareRelease, ReleaseRecordConflictError } from '../../lambdas/prepare-release';
import type { ApprovalRefusal } from '../../lambdas/ports';
import type { LocalDynamo } from '../../local/dynamo';
import { startMemoryDynamo } from '../../local/memory-dynamo';
import {
  ACCOUNT,
  ALICE_APPROVER,
  ALICE_DEPLOYER,
  approvalConfig,
  APPROVERS_ROLE,
  approve,
  BOB,
  CAROL,
  call,
  forgeEvent,
  type Harness,
  harness,
  MALLORY,
  OTHER_ACCOUNT,
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

const FIXTURES = join(__dirname, '../fixtures/aws-samples');
const fixture = (name: string) => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as Record<string, unknown> & { detail: Record<string, unknown> };

/** A forged `APPROVED by bob`, exactly what approval-decide would have recorded for him. */
function forgedApproval(by = BOB) {
  return {
    stepKey: 'stage:prod:gate:approval',
    type: 'gate.evaluated' as const,
    stage: 'prod',
    at: T0.toISOString(),
    data: {
      gate: 'approval',
      result: 'PASS',
      reason: `approved by ${by} (approver arn:aws:iam::${ACCOUNT}:role/ReleaseApprovers)`,
      decision: 'APPROVED',
      principal: by,
      evidence: { requestId: 'forged' },
    },
  };
}

/** The token is still stored for the workflow (read without claiming it). */
async function tokenStored(h: Harness): Promise<boolean> {
  const { Item } = await h.dynamo.doc.send(new GetCommand({ TableName: h.tableName, Key: ledgerKeys.token('APPROVAL', RELEASE, 'prod'), ConsistentRead: true }));
  return Item?.token === TOKEN;
}

// ---------------------------------------------------------------- 1. forged decisions

describe('a correctly chained APPROVED by bob written into the table', () => {
  it('is a valid chain: the hash chain alone cannot tell the forgery apart', async () => {
    const h = await waitingRelease(dynamo);

    await forgeEvent(h, forgedApproval());

    const events = await h.ledger.events(RELEASE);
    assert.equal(verifyChain(events).ok, true);
    assert.equal(events.at(-1)?.data.principal, BOB);
  });

  for (const [who, principal, code] of [
    ['the initiator (alice, under the approver role)', ALICE_APPROVER, 'self-approval'],
    ['a caller who is no approver (mallory)', MALLORY, 'not-an-approver'],
  ] as const) {
    it(`lets ${who} deliver nothing: 403, recorded as refused, no task token sent, the stage still waiting`, async () => {
      const h = await waitingRelease(dynamo);
      await forgeEvent(h, forgedApproval());

      const r = await call(h, approve(principal));

      assert.equal(r.status, 403);
      assert.equal(r.body.code, code);
      assert.deepEqual(
        (await h.ledger.listRefusals(RELEASE)).map((x) => [x.principal, x.code]),
        [[principal, code]],
      );
      assert.equal(h.tasks.sent, 0, 'no SendTaskSuccess or SendTaskFailure');
      assert.equal((await prodOf(h))?.status, 'WAITING');
      assert.equal(await tokenStored(h), true, 'the approval token is still there for the workflow');
      assert.equal(
        h.bus.published.some((e) => e.detailType === 'Approval Decided'),
        false,
      );
    });
  }

  it('is not delivered for another approver either: carol gets 409 and no token is sent', async () => {
    const h = await waitingRelease(dynamo);
    await forgeEvent(h, forgedApproval());

    const approves = await call(h, approve(CAROL));
    const rejects = await call(h, reject(CAROL));

    assert.deepEqual([approves.status, rejects.status], [409, 409]);
    assert.match(String(approves.body.message), /already APPROVED by .*\/bob/);
    assert.equal(h.tasks.sent, 0);
    assert.equal(await tokenStored(h), true);
  });

  it('is delivered only when the approver it names makes that very decision himself', async () => {
    const h = await waitingRelease(dynamo);
    await forgeEvent(h, forgedApproval());

    const bobRejects = await call(h, reject(BOB));
    const bobApproves = await call(h, approve(BOB));

    assert.equal(bobRejects.status, 409, 'a different decision is not his to make over the record');
    assert.equal(bobApproves.status, 200);
    assert.deepEqual(h.tasks.successes, [{ token: TOKEN, output: { decision: 'APPROVED', principal: BOB } }]);
  });

  it('naming the initiator, is delivered by nobody: the initiator is refused first', async () => {
    const h = await waitingRelease(dynamo);
    await forgeEvent(h, forgedApproval(ALICE_APPROVER));

    const r = await call(h, approve(ALICE_APPROVER));

    assert.equal(r.status, 403);
    assert.equal(r.body.code, 'self-approval');
    assert.equal(h.tasks.sent, 0);
  });
});

describe('a decision recorded by a request whose delivery failed', () => {
  it('is finished by the same approver repeating it, never by an unauthorised caller', async () => {
    const h = await waitingRelease(dynamo);
    h.tasks.failNext = DELIVERY_ATTEMPTS;
    const first = await call(h, approve(BOB));

    const byInitiator = await call(h, approve(ALICE_APPROVER));
    const byMallory = await call(h, approve(MALLORY));
    const sentBeforeRetry = h.tasks.sent;
    const retry = await call(h, approve(BOB));

    assert.deepEqual([first.status, byInitiator.status, byMallory.status, retry.status], [500, 403, 403, 200]);
    assert.equal(sentBeforeRetry, 0);
    assert.deepEqual(h.tasks.successes, [{ token: TOKEN, output: { decision: 'APPROVED', principal: BOB } }]);
  });
});

// ---------------------------------------------------------------- 2. forged initiators

const ALICE_PUSHER = ALICE_DEPLOYER;
const BOB_DEPLOYER = session('Deployers', 'bob');
const PUSHED = `sha256:${'5a'.repeat(32)}`;
const PUSHED_NAME = pushExecutionName('payments', PUSHED);

function cloudTrailPush(pusher: string, eventId = 'ct-alice-1'): Record<string, unknown> {
  const trail = fixture('ecr-cloudtrail-putimage-record.json') as Record<string, unknown>;
  return {
    version: '0',
    id: `eb-${eventId}`,
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.ecr',
    account: ACCOUNT,
    time: '2026-11-24T09:00:00Z',
    region: 'eu-west-2',
    resources: [],
    detail: {
      ...trail,
      eventID: eventId,
      userIdentity: { type: 'AssumedRole', arn: pusher, accountId: ACCOUNT },
      requestParameters: { repositoryName: 'payments-api', imageTag: 'v2.0.0', registryId: ACCOUNT },
      responseElements: { image: { repositoryName: 'payments-api', registryId: ACCOUNT, imageId: { imageDigest: PUSHED, imageTag: 'v2.0.0' } } },
    },
  };
}

function imageActionPush(): Record<string, unknown> {
  const e = fixture('ecr-image-action-push-success-tagged.json');
  Object.assign(e, { account: ACCOUNT, region: 'eu-west-2' });
  Object.assign(e.detail, { 'repository-name': 'payments-api', 'image-tag': 'v2.0.0', 'image-digest': PUSHED });
  return e;
}

/** Run the release workflow's first state on what intake started. */
async function prepare(h: Harness, index = 0) {
  const started = h.started[index];
  assert.ok(started, 'intake started an execution');
  return prepareRelease(
    { input: started.input, executionArn: `arn:aws:states:eu-west-2:${ACCOUNT}:execution:gantry-release:${started.name}`, executionName: started.name },
    h.deps,
  );
}

async function pushHarness(): Promise<Harness> {
  const h = await harness(dynamo);
  h.registry.images.push({ repository: 'payments-api', digest: PUSHED, tags: ['v2.0.0'], pushedAt: T0.toISOString() });
  return h;
}

const approveOf = (name: string) => (principal: string) => approve(principal, undefined, undefined, name);

describe('an initiator pre-written for a pushed release', () => {
  it('is ignored and recorded as a refused attribution; the pusher (from CloudTrail) is the initiator, and her own approval is refused', async () => {
    const h = await pushHarness();
    // alice, holding PutItem on the table, names bob as the initiator of the release her push will start.
    await h.ledger.putInitiator(PUSHED_NAME, BOB_DEPLOYER, T0.toISOString());

    const started = await intake(cloudTrailPush(ALICE_PUSHER), h.deps);
    await prepare(h);
    await waitForProdApproval(h, PUSHED_NAME);
    const own = await call(h, approveOf(PUSHED_NAME)(ALICE_APPROVER));
    const bobs = await call(h, approveOf(PUSHED_NAME)(BOB));

    assert.equal(started.outcome, 'started');
    const first = (await h.ledger.events(PUSHED_NAME))[0];
    assert.equal(first?.data.initiator, ALICE_PUSHER);
    assert.deepEqual(
      (first?.data.refusedAttributions as Array<{ principal: string; source: string }>).map((r) => [r.principal, r.source]),
      [[BOB_DEPLOYER, 'start record']],
    );
    assert.equal(own.status, 403);
    assert.equal(own.body.code, 'self-approval');
    assert.equal(bobs.status, 200, 'bob, who did not push it, may approve');
  });

  it('is ignored when the Image Action starts the release first: unattributed until CloudTrail names alice, then her approval is refused', async () => {
    const h = await pushHarness();
    await h.ledger.putInitiator(PUSHED_NAME, BOB_DEPLOYER, T0.toISOString());

    await intake(imageActionPush(), h.deps);
    await prepare(h);
    await waitForProdApproval(h, PUSHED_NAME);
    const beforeAttribution = await call(h, approveOf(PUSHED_NAME)(BOB));
    const attributed = await intake(cloudTrailPush(ALICE_PUSHER), h.deps);
    const own = await call(h, approveOf(PUSHED_NAME)(ALICE_APPROVER));
    const bobs = await call(h, approveOf(PUSHED_NAME)(BOB));

    assert.deepEqual((h.started[0]?.input as { intake: unknown }).intake, { source: 'ECR Image Action event', eventId: (imageActionPush() as { id: string }).id, pusher: null });
    assert.equal(beforeAttribution.status, 403);
    assert.equal(beforeAttribution.body.code, 'initiator-pending', 'refused until CloudTrail names the pusher (decision 027)');
    assert.match(String(beforeAttribution.body.message), /waiting for CloudTrail's PutImage record/);
    assert.equal(attributed.outcome, 'duplicate');
    assert.equal(own.status, 403);
    assert.equal(own.body.code, 'self-approval');
    assert.equal(bobs.status, 200);
  });

  it('does not make a release.started written ahead of the workflow the release: prepare-release refuses to run on it', async () => {
    const h = await pushHarness();
    await forgeEvent(h, {
      releaseId: PUSHED_NAME,
      stepKey: 'release.started',
      type: 'release.started',
      at: T0.toISOString(),
      data: {
        kind: 'release',
        service: 'payments',
        digest: PUSHED,
        initiator: BOB_DEPLOYER,
        stages: ['dev', 'staging', 'prod'],
        executionArn: `arn:aws:states:eu-west-2:${ACCOUNT}:execution:gantry-release:${PUSHED_NAME}`,
      },
    });
    await intake(cloudTrailPush(ALICE_PUSHER), h.deps);

    await assert.rejects(
      prepare(h),
      (e: unknown) => e instanceof ReleaseRecordConflictError && /initiator: recorded ".*Deployers\/bob", established ".*Deployers\/alice"/.test(e.message),
    );
  });
});

describe('intake attributing a pusher', () => {
  it('asks to be retried when CloudTrail names the pusher before the release is on record, and attributes it on the retry', async () => {
    const h = await pushHarness();
    await intake(imageActionPush(), h.deps);

    await assert.rejects(intake(cloudTrailPush(ALICE_PUSHER), h.deps), AttributionPendingError);
    await prepare(h);
    const retried = await intake(cloudTrailPush(ALICE_PUSHER), h.deps);

    assert.equal(retried.outcome, 'duplicate');
    const events = await h.ledger.events(PUSHED_NAME);
    assert.deepEqual(
      events.filter((e) => e.type === 'release.attributed').map((e) => e.data.initiator),
      [ALICE_PUSHER],
    );
  });

  it('takes a repeated CloudTrail record of the push that started the release as a duplicate, not an error', async () => {
    const h = await pushHarness();

    const first = await intake(cloudTrailPush(ALICE_PUSHER), h.deps);
    const again = await intake(cloudTrailPush(ALICE_PUSHER), h.deps);

    assert.deepEqual([first.outcome, again.outcome], ['started', 'duplicate']);
    assert.equal((h.started[0]?.input as { intake: { pusher: string } }).intake.pusher, ALICE_PUSHER);
  });

  it('writes no start record for a push', async () => {
    const h = await pushHarness();

    await intake(cloudTrailPush(ALICE_PUSHER), h.deps);

    assert.equal(await h.ledger.getInitiator(PUSHED_NAME), undefined);
  });
});

describe('prepare-release and the intake field', () => {
  it('refuses intake facts in the input of an execution that is not a pushed release, naming the field', async () => {
    const h = await pushHarness();
    const input = { service: 'payments', image: { digest: PUSHED }, intake: { source: 'CloudTrail PutImage event', eventId: 'x', pusher: BOB_DEPLOYER } };

    await assert.rejects(
      prepareRelease(
        { input, executionArn: `arn:aws:states:eu-west-2:${ACCOUNT}:execution:gantry-release:payments-20261124T100000Z-abcdef`, executionName: 'payments-20261124T100000Z-abcdef' },
        h.deps,
      ),
      (e: unknown) => e instanceof ValidationError && e.problems.length === 1 && /^intake: only intake's own start of a pushed release/.test(e.problems[0] ?? ''),
    );
    assert.deepEqual(await h.ledger.events('payments-20261124T100000Z-abcdef'), []);
  });

  it('refuses a pusher that is not a principal ARN, naming intake.pusher', async () => {
    const h = await pushHarness();
    const input = { service: 'payments', image: { digest: PUSHED }, intake: { source: 'CloudTrail PutImage event', eventId: 'x', pusher: 'bob' } };

    await assert.rejects(
      prepareRelease({ input, executionArn: `arn:x:${PUSHED_NAME}`, executionName: PUSHED_NAME }, h.deps),
      (e: unknown) => e instanceof ValidationError && e.problems.some((p) => p.startsWith('pusher: expected the pusher as an IAM or STS principal ARN')),
    );
  });

  it('still takes an operator start’s initiator from its start record', async () => {
    const h = await pushHarness();
    const name = 'payments-20261124T100000Z-abcdef';
    await h.ledger.putInitiator(name, BOB_DEPLOYER, T0.toISOString());

    await prepareRelease({ input: { service: 'payments', image: { tag: 'v2.0.0' } }, executionArn: `arn:x:${name}`, executionName: name }, h.deps);

    const first = (await h.ledger.events(name))[0];
    assert.equal(first?.data.initiator, BOB_DEPLOYER);
    assert.equal(first?.data.refusedAttributions, undefined);
  });
});

// ---------------------------------------------------------------- 3. persons

describe('persons from identity.persons', () => {
  const ALICE_USER = `arn:aws:iam::${ACCOUNT}:user/alice`;
  const ALICE_SSO = session('AWSReservedSSO_Dev_0123abcd', 'alice@example.com', OTHER_ACCOUNT);
  const ALICE_AS_APPROVER = session('ReleaseApprovers', 'a.smith');
  const identity = (requirePersons: boolean) => ({
    identity: {
      persons: {
        alice: [ALICE_USER, `arn:aws:sts::${OTHER_ACCOUNT}:assumed-role/AWSReservedSSO_Dev_*/alice@example.com`, ALICE_AS_APPROVER],
        bob: [BOB],
      },
      requirePersons,
    },
  });

  for (const [what, initiator] of [
    ['as her IAM user', ALICE_USER],
    ['through IAM Identity Center in another account', ALICE_SSO],
  ] as const) {
    it(`refuses alice approving, under a session name of her choosing, a release she started ${what}`, async () => {
      const withNames = await waitingRelease(dynamo, { initiator });
      const withPersons = await waitingRelease(dynamo, { initiator, config: approvalConfig(identity(false)) });

      const byName = await call(withNames, approve(ALICE_AS_APPROVER));
      const byPerson = await call(withPersons, approve(ALICE_AS_APPROVER));

      assert.equal(byName.status, 200, 'names alone cannot tell a.smith is alice');
      assert.equal(byPerson.status, 403);
      assert.equal(byPerson.body.code, 'self-approval');
      assert.match(String(byPerson.body.message), /\(person alice\) is the person who started this release/);
    });
  }

  it('names the initiator as a person in Approval Requested, and records both persons with an accepted decision', async () => {
    const h = await waitingRelease(dynamo, { initiator: ALICE_USER, config: approvalConfig(identity(true)) });

    const r = await call(h, approve(BOB));

    assert.equal(r.status, 200);
    const gate = (await prodOf(h))?.gates.find((g) => g.gate === 'approval');
    assert.deepEqual([(gate?.evidence as Record<string, unknown>).person, (gate?.evidence as Record<string, unknown>).initiatorPerson], ['bob', 'alice']);
    assert.equal(h.bus.published.find((e) => e.detailType === 'Approval Requested')?.detail.initiatorPerson, 'alice', 'approvers are told whose release it is');
  });

  it('with requirePersons, refuses an approver listed under no person, saying so', async () => {
    const h = await waitingRelease(dynamo, { initiator: ALICE_USER, config: approvalConfig(identity(true)) });

    const r = await call(h, approve(CAROL));

    assert.equal(r.status, 403);
    assert.equal(r.body.code, 'person-unknown');
    assert.match(
      String(r.body.message),
      /the person behind the caller arn:aws:iam::111122223333:user\/carol cannot be established: no identity\.persons entry matches it, and identity\.requirePersons is on/,
    );
  });

  it('with requirePersons, refuses every approval of a release whose initiator is listed under no person', async () => {
    const h = await waitingRelease(dynamo, { initiator: session('Deployers', 'dave'), config: approvalConfig(identity(true)) });

    const r = await call(h, approve(BOB));

    assert.equal(r.status, 403);
    assert.equal(r.body.code, 'person-unknown');
    assert.match(String(r.body.message), /the person behind the release's initiator .*Deployers\/dave cannot be established/);
  });

  it('without requirePersons, falls back to names for principals listed under nobody', async () => {
    const h = await waitingRelease(dynamo, { initiator: session('Deployers', 'dave'), config: approvalConfig(identity(false)) });

    const carol = await call(h, approve(CAROL));

    assert.equal(carol.status, 200);
  });
});

// ---------------------------------------------------------------- 4. bounded records

/** A refusal as the approval API records it, the n-th of a flood from many contractors. */
function floodRefusal(n: number, total: number): ApprovalRefusal {
  const principal = session('Contractors', `c${n % 97}`);
  return {
    releaseId: RELEASE,
    stage: 'prod',
    principal,
    code: 'not-an-approver',
    reason: `${principal} is not an approver of this stage (approvers: ${APPROVERS_ROLE}, ${CAROL})`,
    decision: 'approve',
    requestId: `flood-${n}`,
    at: new Date(T0.getTime() - (total - n) * 1000).toISOString(),
  };
}

/**
 * Load refusals in bulk: each one's item exactly as recordRefusal writes it (refusalItem), 25 to a
 * BatchWriteItem, then the stage's counter moved by as many (recordRefusal's ADD, once per refusal).
 */
async function loadRefusals(h: Harness, refusals: readonly ApprovalRefusal[]): Promise<void> {
  const batches: ApprovalRefusal[][] = [];
  for (let i = 0; i < refusals.length; i += 25) batches.push(refusals.slice(i, i + 25));
  for (let i = 0; i < batches.length; i += 8) {
    await Promise.all(
      batches.slice(i, i + 8).map(async (batch) => {
        let pending: Record<string, Array<{ PutRequest: { Item: Record<string, unknown> } }>> | undefined = {
          [h.tableName]: batch.map((r) => ({ PutRequest: { Item: refusalItem(r) } })),
        };
        while (pending && Object.keys(pending).length > 0) {
          const out = await h.dynamo.doc.send(new BatchWriteCommand({ RequestItems: pending }));
          pending = out.UnprocessedItems as typeof pending;
        }
      }),
    );
  }
  await h.dynamo.doc.send(
    new UpdateCommand({
      TableName: h.tableName,
      Key: ledgerKeys.refusalStats(RELEASE, 'prod'),
      UpdateExpression: 'ADD #count :n SET #entity = :entity, #releaseId = :releaseId, #stage = :stage',
      ExpressionAttributeNames: { '#count': 'count', '#entity': 'entity', '#releaseId': 'releaseId', '#stage': 'stage' },
      ExpressionAttributeValues: { ':n': refusals.length, ':entity': 'REFUSAL_STATS', ':releaseId': RELEASE, ':stage': 'prod' },
    }),
  );
}

describe('a flood of refusals', () => {
  it('loads in bulk exactly what recordRefusal writes, one by one', async () => {
    const one = await waitingRelease(dynamo);
    const bulk = await waitingRelease(dynamo);
    const refusals = [0, 1, 2].map((n) => floodRefusal(n, 3));
    const raw = async (h: Harness) =>
      (
        await h.dynamo.doc.send(
          new QueryCommand({ TableName: h.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': ledgerKeys.refusalPartition(RELEASE) } }),
        )
      ).Items?.map(({ lastAt, ...rest }) => rest);

    for (const r of refusals) await one.ledger.recordRefusal(r);
    await loadRefusals(bulk, refusals);

    assert.deepEqual(await raw(bulk), await raw(one));
    assert.deepEqual(await bulk.ledger.refusalStats(RELEASE), await one.ledger.refusalStats(RELEASE));
  });

  it('leaves the summary item small and the release approvable after 10,000 refusals', async () => {
    const h = await waitingRelease(dynamo);
    const meta = async () => (await h.dynamo.doc.send(new GetCommand({ TableName: h.tableName, Key: ledgerKeys.releaseMeta(RELEASE), ConsistentRead: true }))).Item ?? {};
    const metaBefore = await meta();
    const eventsBefore = (await h.ledger.events(RELEASE)).length;
    const total = 10_000;
    const viaHandler = REFUSALS_PER_PRINCIPAL_PER_MINUTE;

    // The bulk as many callers over many minutes would leave it; the last ones through the handler,
    // then one more than the caller's budget, then the real approver.
    await loadRefusals(
      h,
      Array.from({ length: total - viaHandler }, (_, n) => floodRefusal(n, total)),
    );
    const last = [];
    for (let i = 0; i < viaHandler; i++) last.push(await call(h, approve(MALLORY)));
    const overBudget = await call(h, approve(MALLORY));
    const bob = await call(h, approve(BOB));

    assert.deepEqual(new Set(last.map((r) => r.status)), new Set([403]));
    assert.equal(overBudget.status, 429);
    const metaAfter = await meta();
    const size = Buffer.byteLength(JSON.stringify(metaAfter));
    assert.ok(size < 8 * 1024, `the summary item stays small: ${size} bytes`);
    assert.ok(size - Buffer.byteLength(JSON.stringify(metaBefore)) < 2048, 'refusals do not grow it (only the approval does)');
    const prod = (await h.ledger.getRelease(RELEASE))?.stages.find((s) => s.name === 'prod');
    assert.equal(prod?.refusalCount, total, 'every refusal counted, the one over budget not');
    assert.equal(prod?.refusals?.length, REFUSALS_KEPT);
    assert.equal(prod?.refusals?.at(-1)?.principal, MALLORY, 'the newest refusals are kept');
    assert.equal((await h.ledger.listRefusals(RELEASE)).length, total);
    assert.equal((await h.ledger.events(RELEASE)).length, eventsBefore + 1, 'the chain grew by the approval only');
    assert.equal(bob.status, 200, 'the real approver can still approve');
    assert.equal(h.tasks.successes.length, 1);
  });
});

describe('the per-caller throttle', () => {
  it(`answers 429 past ${REFUSALS_PER_PRINCIPAL_PER_MINUTE} refusals a minute, records nothing more, and does not throttle an approver`, async () => {
    const h = await waitingRelease(dynamo);

    const refused = [];
    for (let i = 0; i < REFUSALS_PER_PRINCIPAL_PER_MINUTE; i++) refused.push((await call(h, approve(MALLORY))).status);
    h.now = new Date(T0.getTime() + 30_000);
    const throttled = await call(h, approve(MALLORY));
    const recorded = (await h.ledger.listRefusals(RELEASE)).length;
    const bob = await call(h, approve(BOB));

    assert.deepEqual(refused, Array(REFUSALS_PER_PRINCIPAL_PER_MINUTE).fill(403));
    assert.equal(throttled.status, 429);
    assert.equal(throttled.headers['Retry-After'], '30');
    assert.equal(throttled.body.retryAfterSeconds, 30);
    assert.match(String(throttled.body.message), /too many refused decisions from .*mallory \(at most 10 a minute\)/);
    assert.equal(recorded, REFUSALS_PER_PRINCIPAL_PER_MINUTE);
    assert.equal(bob.status, 200);
  });

  it('gives the caller a new budget the next minute', async () => {
    const h = await waitingRelease(dynamo);
    for (let i = 0; i <= REFUSALS_PER_PRINCIPAL_PER_MINUTE; i++) await call(h, approve(MALLORY));

    h.now = new Date(T0.getTime() + 60_000);
    const r = await call(h, approve(MALLORY));

    assert.equal(r.status, 403);
    assert.equal((await h.ledger.listRefusals(RELEASE)).length, REFUSALS_PER_PRINCIPAL_PER_MINUTE + 1);
  });

  it(`bounds a role's sessions together: new session names past ${REFUSALS_PER_ROLE_PER_MINUTE} a minute are answered 429`, async () => {
    const h = await waitingRelease(dynamo);

    const statuses = [];
    for (let i = 0; i <= REFUSALS_PER_ROLE_PER_MINUTE; i++) statuses.push((await call(h, approve(session('Contractors', `mallory-${i}`)))).status);

    assert.deepEqual(statuses.slice(0, REFUSALS_PER_ROLE_PER_MINUTE), Array(REFUSALS_PER_ROLE_PER_MINUTE).fill(403));
    assert.equal(statuses.at(-1), 429);
    assert.match(String(h.responses.at(-1)?.body), /the sessions of role contractors/);
    assert.equal((await h.ledger.listRefusals(RELEASE)).length, REFUSALS_PER_ROLE_PER_MINUTE);
  });
});

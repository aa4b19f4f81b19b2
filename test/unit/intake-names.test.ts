/**
 * Intake's execution names (decision 024): release ids that cannot collide, a push whose earlier execution
 * ended without a record started again when delivered again, and pushes to another account's or region's
 * ECR recorded as skipped. The real intake handler with in-memory Step Functions and ledger fakes; the
 * same through `gantry simulate` is in test/workflow/intake-redelivery.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import fc from 'fast-check';
import { configHash, parseConfig } from '../../lambdas/domain/config';
import type { LedgerEvent } from '../../lambdas/domain/ledger';
import { EXECUTION_NAME_MAX, isPushExecutionName, PUSH_NAME_ATTEMPTS, pushExecutionCandidate, pushExecutionName } from '../../lambdas/domain/release';
import { IntakeError, run as intake } from '../../lambdas/intake';
import type { Deps, ExecutionDescription, Executions, SkipRecord } from '../../lambdas/ports';
import { sample } from '../helpers/aws-samples';

const ROOT = join(__dirname, '..', '..');
const config = parseConfig(JSON.parse(readFileSync(join(ROOT, 'examples', 'gantry.config.json'), 'utf8')));
const HOME = { account: '111122223333', region: 'eu-west-2' };
/** Two digests whose first 16 hex characters are the same. */
const A = `sha256:0123456789abcdef${'a'.repeat(48)}`;
const B = `sha256:0123456789abcdef${'b'.repeat(48)}`;
/** Step Functions' rule for execution names. */
const NAME_RULE = /^[A-Za-z0-9_-]{1,80}$/;

class FakeStepFunctions implements Executions {
  readonly home: { account: string; region: string } | undefined;
  readonly executions = new Map<string, { status: ExecutionDescription['status']; input: unknown }>();
  readonly starts: Array<{ name: string; input: unknown }> = [];
  constructor(home: { account: string; region: string } | null = HOME, canDescribe = true) {
    this.home = home ?? undefined;
    if (!canDescribe) (this as { describe?: unknown }).describe = undefined;
  }
  async start(name: string, input: unknown) {
    this.starts.push({ name, input });
    const alreadyExists = this.executions.has(name);
    if (!alreadyExists) this.executions.set(name, { status: 'RUNNING', input });
    return { executionArn: `arn:aws:states:eu-west-2:111122223333:execution:gantry-release:${name}`, alreadyExists };
  }
  async describe(name: string): Promise<ExecutionDescription | undefined> {
    const e = this.executions.get(name);
    return e ? { status: e.status, input: structuredClone(e.input) } : undefined;
  }
  end(name: string, status: ExecutionDescription['status']): void {
    const e = this.executions.get(name);
    assert.ok(e, `no execution ${name}`);
    e.status = status;
  }
}

function harness(sfn = new FakeStepFunctions()) {
  const events = new Map<string, LedgerEvent[]>();
  const skips: SkipRecord[] = [];
  const initiators = new Map<string, string>();
  const deps = {
    config,
    configHash: configHash(config),
    now: () => new Date('2026-11-24T10:00:00Z'),
    executions: sfn,
    ledger: {
      events: async (id: string) => events.get(id) ?? [],
      recordSkip: async (s: SkipRecord) => void skips.push(s),
      putStartPusher: async (name: string, principal: string) => void (initiators.has(name) || initiators.set(name, principal)),
      getStartPusher: async (name: string) => initiators.get(name),
      append: async () => assert.fail('nothing to append in these tests'),
    },
  } as unknown as Deps;
  /** The release is on record: its first ledger write (release.started) happened. */
  const onRecord = (releaseId: string, digest: string) =>
    events.set(releaseId, [
      { releaseId, stepKey: 'release.started', type: 'release.started', at: '2026-11-24T10:00:01Z', data: { digest, initiator: 'unattributed' }, seq: 1, prevHash: '0', hash: '1' },
    ]);
  return { deps, sfn, skips, initiators, onRecord };
}

/** The real ECR Image Action sample (test/fixtures/aws-samples), made a push of payments-api to `registry`. */
function push(digest: string, tag = 'v1.4.2', registry = HOME): Record<string, unknown> {
  const e = sample('ecr-image-action-push-success-tagged.json');
  Object.assign(e, { account: registry.account, region: registry.region });
  Object.assign(e.detail, { 'repository-name': 'payments-api', 'image-tag': tag, 'image-digest': digest });
  return e;
}

describe('push execution names', () => {
  it('keep the 16-hex release id as the first name', () => {
    assert.equal(pushExecutionCandidate('payments', A, 0), 'payments-0123456789abcdef');
    assert.equal(pushExecutionCandidate('payments', A, 0), pushExecutionName('payments', A));
  });

  it('give later names the whole digest where it fits, and a suffix from the second on', () => {
    assert.equal(pushExecutionCandidate('payments', A, 1), `payments-${A.slice(7)}`);
    assert.equal(pushExecutionCandidate('payments', A, 2), `payments-${A.slice(7)}-2`);
    assert.notEqual(pushExecutionCandidate('payments', A, 1), pushExecutionCandidate('payments', B, 1));
  });

  it("stay within Step Functions' 80 characters and its alphabet, distinct per attempt, for any service name (property)", () => {
    const service = fc.stringMatching(/^[a-z][a-z0-9-]{0,39}$/);
    const hex = fc.stringMatching(/^[a-f0-9]{64}$/);
    fc.assert(
      fc.property(service, hex, (svc, h) => {
        const names = Array.from({ length: PUSH_NAME_ATTEMPTS }, (_, n) => pushExecutionCandidate(svc, `sha256:${h}`, n));
        for (const n of names) assert.match(n, NAME_RULE);
        assert.ok(names.every((n) => n.length <= EXECUTION_NAME_MAX));
        assert.equal(new Set(names).size, names.length);
        assert.equal(pushExecutionCandidate(svc, `sha256:${h}`, 99).length <= EXECUTION_NAME_MAX, true);
      }),
      { numRuns: 300 },
    );
  });

  it("are recognised as a push's names (prepare-release takes the initiator of such a release only from intake), and no other name is", () => {
    for (let n = 0; n < PUSH_NAME_ATTEMPTS; n++) assert.equal(isPushExecutionName(pushExecutionCandidate('payments', A, n), 'payments', A), true, `attempt ${n}`);
    assert.equal(isPushExecutionName(pushExecutionCandidate('payments', A, 1), 'payments', B), false, 'another digest');
    assert.equal(isPushExecutionName(pushExecutionCandidate('payments', A, 1), 'ledger', A), false, 'another service');
    assert.equal(isPushExecutionName(`${pushExecutionCandidate('payments', A, 1)}-${PUSH_NAME_ATTEMPTS}`, 'payments', A), false, 'past the last attempt');
    assert.equal(isPushExecutionName('payments-20261124T100000Z-a1b2c3', 'payments', A), false, 'an operator start');
  });

  it('carry at least 36 hex characters (144 bits) of the digest after the first name, for the longest service name', () => {
    const svc = `s${'x'.repeat(39)}`;
    const name = pushExecutionCandidate(svc, A, 1);
    assert.equal(name.slice(svc.length + 1).length, 36);
    assert.notEqual(name, pushExecutionCandidate(svc, B, 1));
  });
});

describe('intake: two digests sharing their first 16 hex characters', () => {
  it('starts the second under its collision-free name, says why, and counts a later copy of it as a duplicate', async () => {
    const h = harness();
    const first = await intake(push(A, 'v1.4.2'), h.deps);

    const second = await intake(push(B, 'v1.4.3'), h.deps);

    assert.deepEqual(first, {
      outcome: 'started',
      releaseId: 'payments-0123456789abcdef',
      executionArn: 'arn:aws:states:eu-west-2:111122223333:execution:gantry-release:payments-0123456789abcdef',
    });
    const long = `payments-${B.slice(7)}`;
    assert.equal(second.outcome, 'started');
    assert.equal('releaseId' in second && second.releaseId, long);
    assert.deepEqual('passedOver' in second && second.passedOver, [{ releaseId: 'payments-0123456789abcdef', why: 'other-digest', detail: A }]);
    assert.deepEqual(h.sfn.starts.at(-1)?.input, {
      service: 'payments',
      image: { digest: B },
      reason: `ECR push payments-api:v1.4.3 (payments-0123456789abcdef is taken by ${A})`,
      intake: { source: 'ECR Image Action event', eventId: '13cde686-328b-6117-af20-0e5566167482', pusher: null },
    });
    assert.deepEqual((h.sfn.executions.get('payments-0123456789abcdef')?.input as { image: unknown }).image, { digest: A }, 'the first release is untouched');

    const again = await intake(push(B, 'v1.4.3'), h.deps);

    assert.equal(again.outcome, 'duplicate');
    assert.equal('releaseId' in again && again.releaseId, long);
    assert.equal(h.sfn.executions.size, 2);
  });

  it('the second digest alone (no collision) keeps the 16-hex name: the control', async () => {
    const h = harness();

    const r = await intake(push(B, 'v1.4.3'), h.deps);

    assert.equal('releaseId' in r && r.releaseId, 'payments-0123456789abcdef');
  });
});

describe('intake: a push delivered again', () => {
  it('starts again, under the next name, when its execution ended FAILED before its first ledger record', async () => {
    const h = harness();
    await intake(push(A), h.deps);
    h.sfn.end('payments-0123456789abcdef', 'FAILED');

    const again = await intake(push(A), h.deps);

    assert.equal(again.outcome, 'started');
    assert.equal('releaseId' in again && again.releaseId, `payments-${A.slice(7)}`);
    assert.deepEqual('passedOver' in again && again.passedOver, [{ releaseId: 'payments-0123456789abcdef', why: 'ended-unrecorded', detail: 'FAILED' }]);
    assert.match(String((h.sfn.starts.at(-1)?.input as { reason: string }).reason), /\(delivered again: payments-0123456789abcdef ended FAILED without a record\)$/);
    assert.equal(h.sfn.executions.size, 2);
  });

  it("starts again with its pusher when the copy delivered again is CloudTrail's PutImage record", async () => {
    const h = harness();
    await intake(push(A), h.deps);
    h.sfn.end('payments-0123456789abcdef', 'FAILED');
    const record = sample('ecr-cloudtrail-putimage-record.json');
    const trail = {
      version: '0',
      id: 'ct-2',
      'detail-type': 'AWS API Call via CloudTrail',
      source: 'aws.ecr',
      account: HOME.account,
      time: '2026-11-24T10:05:00Z',
      region: HOME.region,
      resources: [],
      detail: {
        ...record,
        requestParameters: { repositoryName: 'payments-api', imageTag: 'v1.4.2' },
        responseElements: { image: { repositoryName: 'payments-api', imageId: { imageDigest: A, imageTag: 'v1.4.2' } } },
      },
    };

    const again = await intake(trail, h.deps);

    const next = `payments-${A.slice(7)}`;
    assert.equal('releaseId' in again && again.releaseId, next);
    const input = h.sfn.starts.at(-1)?.input as { intake: { pusher: string } };
    assert.equal(input.intake.pusher, record.userIdentity.arn, "the pusher goes in the new execution's input");
    assert.equal(h.initiators.get(next), record.userIdentity.arn);
  });

  it('starts again after TIMED_OUT too, and twice over when the second one also dies unrecorded', async () => {
    const h = harness();
    await intake(push(A), h.deps);
    h.sfn.end('payments-0123456789abcdef', 'TIMED_OUT');
    await intake(push(A), h.deps);
    h.sfn.end(`payments-${A.slice(7)}`, 'FAILED');

    const third = await intake(push(A), h.deps);

    assert.equal('releaseId' in third && third.releaseId, `payments-${A.slice(7)}-2`);
    assert.equal(h.sfn.executions.size, 3);
  });

  for (const [status, why] of [
    ['FAILED', 'on record'],
    ['SUCCEEDED', 'on record'],
  ] as const) {
    it(`starts nothing when the release is on record, although its execution ended ${status} (${why})`, async () => {
      const h = harness();
      await intake(push(A), h.deps);
      h.onRecord('payments-0123456789abcdef', A);
      h.sfn.end('payments-0123456789abcdef', status);

      const again = await intake(push(A), h.deps);

      assert.equal(again.outcome, 'duplicate');
      assert.equal(h.sfn.executions.size, 1);
    });
  }

  it('starts nothing while the first execution still runs, record or not (its first write may be on its way)', async () => {
    const h = harness();
    await intake(push(A), h.deps);

    const again = await intake(push(A), h.deps);

    assert.equal(again.outcome, 'duplicate');
    assert.equal(h.sfn.executions.size, 1);
  });

  it('starts nothing when the first execution was stopped from outside (ABORTED) before its first write', async () => {
    const h = harness();
    await intake(push(A), h.deps);
    h.sfn.end('payments-0123456789abcdef', 'ABORTED');

    const again = await intake(push(A), h.deps);

    assert.equal(again.outcome, 'duplicate');
    assert.equal(h.sfn.executions.size, 1);
  });

  it('counts a repeat as a duplicate, as before, when the port cannot describe executions', async () => {
    const h = harness(new FakeStepFunctions(HOME, false));
    await intake(push(A), h.deps);
    h.sfn.end('payments-0123456789abcdef', 'FAILED');

    const again = await intake(push(A), h.deps);

    assert.equal(again.outcome, 'duplicate');
    assert.equal(h.sfn.executions.size, 1);
  });

  it('gives up with an IntakeError (to the dead-letter queue) when every name is taken by a dead execution', async () => {
    const h = harness();
    for (let n = 0; n < PUSH_NAME_ATTEMPTS; n++) {
      const name = pushExecutionCandidate('payments', A, n);
      h.sfn.executions.set(name, { status: 'FAILED', input: { service: 'payments', image: { digest: A } } });
    }

    await assert.rejects(intake(push(A), h.deps), (e: unknown) => e instanceof IntakeError && /all 10 of its execution names are taken/.test(e.message));
    assert.equal(h.sfn.starts.length, PUSH_NAME_ATTEMPTS, 'each name was tried once');
    assert.equal(h.sfn.executions.size, PUSH_NAME_ATTEMPTS, 'and none was started');
  });
});

describe('intake: the registry pushed to', () => {
  it("records a push to another account's ECR as skipped and starts nothing", async () => {
    const h = harness();

    const r = await intake(push(A, 'v1.4.2', { account: '999988887777', region: 'eu-west-2' }), h.deps);

    const reason =
      "push to ECR in account 999988887777, region eu-west-2: only pushes to the control plane's own registry (account 111122223333, region eu-west-2), the one the image gates read, start releases";
    assert.deepEqual(r, { outcome: 'skipped', reason });
    assert.deepEqual(
      h.skips.map((s) => s.reason),
      [reason],
    );
    assert.deepEqual(h.sfn.starts, []);
  });

  it("records a push to another region's ECR as skipped and starts nothing", async () => {
    const h = harness();

    const r = await intake(push(A, 'v1.4.2', { account: HOME.account, region: 'us-east-1' }), h.deps);

    assert.equal(r.outcome, 'skipped');
    assert.match('reason' in r ? r.reason : '', /region us-east-1/);
    assert.deepEqual(h.sfn.starts, []);
  });

  it("judges a CloudTrail PutImage by the registry it names, not the caller's account", async () => {
    const h = harness();
    const e = sample('ecr-cloudtrail-putimage-record.json');
    const event = {
      version: '0',
      id: 'ct-1',
      'detail-type': 'AWS API Call via CloudTrail',
      source: 'aws.ecr',
      account: HOME.account,
      time: '2026-11-24T10:05:00Z',
      region: HOME.region,
      resources: [],
      detail: {
        ...e,
        requestParameters: { repositoryName: 'payments-api', imageTag: 'v1.4.2', registryId: '999988887777' },
        responseElements: { image: { repositoryName: 'payments-api', registryId: '999988887777', imageId: { imageDigest: A, imageTag: 'v1.4.2' } } },
      },
    };

    const r = await intake(event, h.deps);

    assert.equal(r.outcome, 'skipped');
    assert.match('reason' in r ? r.reason : '', /account 999988887777/);
    assert.deepEqual(h.sfn.starts, []);
    assert.equal(h.initiators.size, 0, 'no start pusher either');
  });

  it('starts nothing, and fails for the dead-letter queue, when it cannot tell its own registry', async () => {
    const h = harness(new FakeStepFunctions(null));

    await assert.rejects(intake(push(A), h.deps), (e: unknown) => e instanceof IntakeError && /no account and region/.test(e.message));
    assert.deepEqual(h.sfn.starts, []);
  });
});

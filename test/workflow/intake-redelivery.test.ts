/**
 * Nothing lost at intake, through `gantry simulate` (decision 024): a release that dies on a long ECR
 * outage before its first ledger write leaves no record; the same push delivered again starts it again,
 * under the push's next execution name, and the new release says why.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { pushExecutionCandidate } from '../../lambdas/domain/release';
import { D2, runInline } from './helpers';

const PUSHER = 'arn:aws:sts::111122223333:assumed-role/ci-pusher/build-42';
const push = (at: string) => ({ type: 'ecr-push', repository: 'payments-api', tag: 'v1.4.2', digest: D2, principal: PUSHER, at });

/** DescribeImages answers ServerException `count` times from the start; the second delivery of the push comes an hour later. */
function scenario(count: number) {
  return {
    name: 'a push lost to an ECR outage, delivered again',
    config: '../gantry.config.json',
    clock: '2026-11-24T10:00:00Z',
    ecr: { 'payments-api': { images: [{ digest: D2, tags: ['v1.4.2'], pushedAt: '2026-11-24T09:58:00Z', labels: { 'org.opencontainers.image.revision': '9f2c1e7' } }] } },
    triggers: [push('PT0S'), push('PT1H')],
    script: [{ when: { at: 'PT0S' }, fault: { service: 'ecr', operation: 'DescribeImages', error: 'ServerException', count } }],
  };
}

const FIRST = pushExecutionCandidate('payments', D2, 0);
const NEXT = pushExecutionCandidate('payments', D2, 1);

describe('a push whose release died before its first ledger write', () => {
  it('starts again when the push is delivered again, and the new release records why', async () => {
    // 15 = 3 SDK attempts x 5 runs of ValidateAndStartRelease (its Retry): the first execution fails unrecorded.
    const out = await runInline(scenario(15));

    assert.deepEqual(
      out.executions.map((e) => [e.name, e.status, e.error ?? '']),
      [
        [FIRST, 'FAILED', 'ReleaseStartFailed'],
        [NEXT, 'SUCCEEDED', ''],
      ],
    );
    assert.deepEqual(
      out.releases.map((r) => [r.releaseId, r.status, r.initiator]),
      [[NEXT, 'SUCCEEDED', PUSHER]],
      'the first execution left no record; the second is the release',
    );
    const started = out.lifecycle.find((e) => e.detailType === 'Release Started');
    assert.equal(started?.detail.releaseId, NEXT);
    assert.deepEqual(out.leasesHeld, []);
  });

  it("records the link: the new release's reason names the execution that ended without a record", async () => {
    const { simulate } = await import('../../local/simulate');
    const { loadScenario } = await import('../../local/scenario');
    const { join } = await import('node:path');
    const { ledgerEvents } = await simulate(loadScenario(scenario(15), join(__dirname, '..', '..', 'examples', 'scenarios')));

    const started = ledgerEvents.find((e) => e.releaseId === NEXT && e.type === 'release.started');
    assert.equal(started?.data.reason, `ECR push payments-api:v1.4.2 (delivered again: ${FIRST} ended FAILED without a record)`);
    assert.equal(ledgerEvents.filter((e) => e.releaseId === FIRST).length, 0);
  });

  it('starts nothing new when the first release survived the outage (the retries absorbed it): the repeat is a duplicate', async () => {
    const out = await runInline(scenario(2));

    assert.deepEqual(
      out.executions.map((e) => [e.name, e.status]),
      [[FIRST, 'SUCCEEDED']],
    );
    assert.deepEqual(
      out.releases.map((r) => [r.releaseId, r.status]),
      [[FIRST, 'SUCCEEDED']],
    );
  });
});

describe('two pushed digests sharing their first 16 hex characters, through gantry simulate', () => {
  const A = `sha256:0123456789abcdef${'a'.repeat(48)}`;
  const B = `sha256:0123456789abcdef${'b'.repeat(48)}`;

  it('releases both: the second under its collision-free name, which says why', async () => {
    const out = await runInline({
      name: 'colliding release ids',
      config: '../gantry.config.json',
      clock: '2026-11-24T10:00:00Z',
      ecr: {
        'payments-api': {
          images: [
            { digest: A, tags: ['v1.4.2'], pushedAt: '2026-11-24T09:58:00Z', labels: { 'org.opencontainers.image.revision': '9f2c1e7' } },
            { digest: B, tags: ['v1.4.3'], pushedAt: '2026-11-24T09:59:00Z', labels: { 'org.opencontainers.image.revision': '9f2c1e8' } },
          ],
        },
      },
      triggers: [
        { type: 'ecr-push', repository: 'payments-api', tag: 'v1.4.2', digest: A, principal: PUSHER },
        { type: 'ecr-push', repository: 'payments-api', tag: 'v1.4.3', digest: B, principal: PUSHER, at: 'PT5H' },
      ],
    });

    assert.deepEqual(
      out.releases.map((r) => [r.releaseId, r.digest, r.status]),
      [
        [pushExecutionCandidate('payments', A, 0), A, 'SUCCEEDED'],
        [pushExecutionCandidate('payments', B, 1), B, 'SUCCEEDED'],
      ],
    );
    assert.equal(pushExecutionCandidate('payments', A, 0), pushExecutionCandidate('payments', B, 0), 'the two digests do share the 16-hex name');
  });
});

describe("a push to another account's ECR, through gantry simulate", () => {
  it('is recorded as skipped, with the reason, and starts nothing', async () => {
    const out = await runInline({
      name: 'a push from elsewhere',
      config: '../gantry.config.json',
      clock: '2026-11-24T10:00:00Z',
      triggers: [
        {
          type: 'event',
          event: {
            version: '0',
            id: 'foreign-push',
            'detail-type': 'ECR Image Action',
            source: 'aws.ecr',
            account: '999988887777',
            time: '2026-11-24T10:00:00Z',
            region: 'eu-west-2',
            resources: [],
            detail: { result: 'SUCCESS', 'repository-name': 'payments-api', 'image-digest': D2, 'action-type': 'PUSH', 'image-tag': 'v1.4.2' },
          },
        },
      ],
    });

    assert.deepEqual(out.executions, []);
    assert.deepEqual(
      out.skipped.map((s) => s.reason),
      [
        "push to ECR in account 999988887777, region eu-west-2: only pushes to the control plane's own registry (account 111122223333, region eu-west-2), the one the image gates read, start releases",
      ],
    );
  });
});

/**
 * A promotion (decision 054): gate promotion.previous-stage's rule (lambdas/domain/promotion.ts) on hand-built
 * pointers and release summaries (the input's `startAt`: test/unit/release-input.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import type { ReleaseSummary, StageSummary } from '../../lambdas/domain/ledger';
import { previousStageAtAction } from '../../lambdas/domain/point-of-action';
import { previousStageOf, previousStageVerdict, type PromotionFacts } from '../../lambdas/domain/promotion';

const D = `sha256:${'d'.repeat(64)}`;
const E = `sha256:${'e'.repeat(64)}`;
const C = `sha256:${'c'.repeat(64)}`;

const stage = (name: string, s: Partial<StageSummary>): StageSummary => ({ name, status: 'NOT_STARTED', gates: [], ...s });
const release = (id: string, s: Partial<ReleaseSummary>): ReleaseSummary =>
  ({
    releaseId: id,
    kind: 'release',
    service: 'payments',
    status: 'SUCCEEDED',
    startedAt: '2026-11-24T10:00:00.000Z',
    stages: [],
    version: 1,
    lastHash: 'x',
    ...s,
  }) as ReleaseSummary;
const promotedIn = (id: string, digest: string, at: string) =>
  release(id, { digest, stages: [stage('dev', { status: 'PROMOTED', endedAt: at }), stage('staging', { status: 'PROMOTED', endedAt: at })] });
const rolledBack = (id: string, from: string, at: string, extra: Partial<ReleaseSummary> = {}) =>
  release(id, {
    kind: 'rollback',
    status: 'SUCCEEDED',
    rollbackTarget: C,
    stages: [stage('staging', { status: 'ROLLED_BACK', rollback: { reason: 'operator rollback: INC-9 5xx', fromDigest: from, toDigest: C, startedAt: at } })],
    ...extra,
  });
const facts = (f: Partial<PromotionFacts>): PromotionFacts => ({
  service: 'payments',
  stage: 'prod',
  previousStage: 'staging',
  digest: D,
  pointer: { running: D, lastKnownGood: D, promoted: [C, D] },
  releases: [promotedIn('r1', D, '2026-11-24T10:30:00.000Z')],
  ...f,
});

describe('gate promotion.previous-stage', () => {
  it('passes a digest promoted in the previous stage, naming the release and when', () => {
    const v = previousStageVerdict(facts({}));
    assert.equal(v.result, 'PASS');
    assert.match(v.reason, /promoted in payments\/staging by r1 at 2026-11-24T10:30:00.000Z and not rolled back there since/);
    assert.deepEqual(v.evidence.promotedBy, { releaseId: 'r1', at: '2026-11-24T10:30:00.000Z' });
  });

  it('fails a digest not in the previous stage pointer, listing what it did promote, newest first', () => {
    const v = previousStageVerdict(facts({ digest: E }));
    assert.equal(v.result, 'FAIL');
    assert.match(v.reason, new RegExp(`${E} was never promoted in payments/staging: it promoted ${D}, ${C} \\(newest first\\)`));
    const none = previousStageVerdict(facts({ digest: E, pointer: undefined, releases: [] }));
    assert.match(none.reason, /it has promoted no digest/);
  });

  it('fails a digest the previous stage was rolled back away from since its promotion', () => {
    const v = previousStageVerdict(
      facts({
        pointer: { running: C, lastKnownGood: C, promoted: [C, D] },
        releases: [promotedIn('r1', D, '2026-11-24T10:30:00.000Z'), rolledBack('rb1', D, '2026-11-24T11:00:00.000Z')],
      }),
    );
    assert.equal(v.result, 'FAIL');
    assert.match(v.reason, /rolled back away from payments\/staging by rb1 at 2026-11-24T11:00:00.000Z \(operator rollback: INC-9 5xx\), after r1 promoted it there/);
    assert.equal(v.evidence.rolledBackBy.length, 1);
  });

  it("counts a release's own rollback from the digest in the previous stage (a bake alarm) after an earlier promotion", () => {
    const alarm = release('r2', {
      digest: D,
      status: 'ROLLED_BACK',
      stages: [
        stage('staging', {
          status: 'ROLLED_BACK',
          rollback: { reason: 'bake: payments-staging-5xx in ALARM', fromDigest: D, fromDeployed: true, toDigest: C, startedAt: '2026-11-24T12:00:00.000Z' },
        }),
      ],
    });
    assert.equal(previousStageVerdict(facts({ releases: [promotedIn('r1', D, '2026-11-24T10:30:00.000Z'), alarm] })).result, 'FAIL');
  });

  it('passes again once the digest is promoted there after the rollback, and ignores rollbacks from other digests and drill legs', () => {
    const releases = [promotedIn('r1', D, '2026-11-24T10:30:00.000Z'), rolledBack('rb1', D, '2026-11-24T11:00:00.000Z'), promotedIn('r3', D, '2026-11-24T12:00:00.000Z')];
    const v = previousStageVerdict(facts({ releases }));
    assert.equal(v.result, 'PASS');
    assert.equal(v.evidence.promotedBy?.releaseId, 'r3');
    const others = [
      promotedIn('r1', D, '2026-11-24T10:30:00.000Z'),
      rolledBack('rb2', E, '2026-11-24T11:00:00.000Z'),
      rolledBack('drill-back', D, '2026-11-24T11:30:00.000Z', { input: { drill: { drillId: 'd1', leg: 'back' } } }),
    ];
    assert.equal(previousStageVerdict(facts({ releases: others })).result, 'PASS');
  });

  it('with no promotion of the digest in the ledger (a seeded pointer), every rollback from it counts', () => {
    assert.equal(previousStageVerdict(facts({ releases: [] })).result, 'PASS');
    assert.match(previousStageVerdict(facts({ releases: [] })).reason, /promoted before any release in the ledger/);
    assert.equal(previousStageVerdict(facts({ releases: [rolledBack('rb1', D, '2026-11-01T00:00:00.000Z')] })).result, 'FAIL');
  });

  it('at the point of action: the same rule, the reason saying when', () => {
    const v = previousStageAtAction(facts({ releases: [promotedIn('r1', D, '2026-11-24T10:30:00.000Z'), rolledBack('rb1', D, '2026-11-24T11:00:00.000Z')] }));
    assert.equal(v.result, 'FAIL');
    assert.match(v.reason, /^at deploy time: /);
  });

  it('names the stage before, none for the first or an unknown stage', () => {
    assert.equal(previousStageOf(['dev', 'staging', 'prod'], 'prod'), 'staging');
    assert.equal(previousStageOf(['dev', 'staging', 'prod'], 'dev'), undefined);
    assert.equal(previousStageOf(['dev', 'staging', 'prod'], 'qa'), undefined);
  });
});

/** DORA metrics on hand-built ledgers with known answers. */
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import type { LedgerEvent } from '../../lambdas/domain/ledger';
import { doraMetrics, durationStats, productionStageOf, releaseFacts } from '../../lambdas/domain/metrics';
import { buildRelease, promotedRelease } from '../helpers/ledger-builder';

const devProd = (extra: { dev?: object; prod?: object } = {}) => [
  { name: 'dev', deploy: { result: 'SUCCEEDED' as const }, bake: { result: 'PASS' as const, minutes: 10 }, promote: true, ...extra.dev },
  { name: 'prod', deploy: { result: 'SUCCEEDED' as const }, bake: { result: 'PASS' as const, minutes: 30 }, promote: true, ...extra.prod },
];

/**
 * One week of payments releases:
 * R1 promoted (prod promoted 42 min after its start); R2 promoted, image created 14 h before its start;
 * R3 rolled back in prod (bake failed after 7 min, rollback done 6 min after detection);
 * R4 blocked by a gate in dev (never deployed); R5 failed its dev deploy with nothing to roll back to;
 * R6 rejected at the prod approval after deploying to dev; R7 an operator rollback of prod (4 min).
 * And one ledger release that never deployed anything.
 */
function week(): LedgerEvent[] {
  return [
    ...buildRelease({ id: 'R1', at: '2026-11-01T10:00:00.000Z', status: 'SUCCEEDED', stages: devProd() }),
    ...buildRelease({ id: 'R2', at: '2026-11-02T10:00:00.000Z', status: 'SUCCEEDED', labels: { 'org.opencontainers.image.created': '2026-11-01T20:00:00Z' }, stages: devProd() }),
    ...buildRelease({
      id: 'R3',
      at: '2026-11-03T10:00:00.000Z',
      status: 'ROLLED_BACK',
      stages: devProd({ prod: { bake: { result: 'FAIL', minutes: 7 }, promote: false, rollback: { result: 'SUCCEEDED', minutes: 6 } } }),
    }),
    ...buildRelease({
      id: 'R4',
      at: '2026-11-04T10:00:00.000Z',
      status: 'BLOCKED',
      stages: [{ name: 'dev', gates: [{ gate: 'image.scan', result: 'FAIL', reason: '1 CRITICAL' }], status: 'BLOCKED' }, { name: 'prod' }],
    }),
    ...buildRelease({ id: 'R5', at: '2026-11-05T10:00:00.000Z', status: 'FAILED', stages: [{ name: 'dev', deploy: { result: 'FAILED' }, status: 'FAILED' }, { name: 'prod' }] }),
    ...buildRelease({
      id: 'R6',
      at: '2026-11-06T10:00:00.000Z',
      status: 'REJECTED',
      stages: [devProd()[0] as never, { name: 'prod', approval: { decision: 'REJECTED', principal: 'arn:aws:iam::111122223333:user/bob' }, status: 'REJECTED' }],
    }),
    ...buildRelease({
      id: 'R7',
      kind: 'rollback',
      at: '2026-11-07T10:00:00.000Z',
      status: 'ROLLED_BACK',
      stages: [{ name: 'prod', rollback: { result: 'SUCCEEDED', minutes: 4 } }],
    }),
    ...buildRelease({
      id: 'L1',
      service: 'ledger',
      at: '2026-11-03T09:00:00.000Z',
      status: 'BLOCKED',
      stages: [{ name: 'dev', gates: [{ gate: 'window', result: 'FAIL', reason: 'outside window' }], status: 'BLOCKED' }],
    }),
  ];
}

const WINDOW = { since: '2026-11-01T00:00:00.000Z', until: '2026-11-07T23:59:59.999Z' };

describe('DORA metrics for a service', () => {
  const report = doraMetrics(week(), WINDOW);
  const payments = report.services.find((s) => s.service === 'payments');

  it("counts deployments to the production stage over the window's days", () => {
    assert.ok(payments);
    assert.equal(payments.productionStage, 'prod');
    assert.equal(payments.deploymentFrequency.deployments, 3);
    assert.ok(Math.abs(report.window.days - 7) < 0.001);
    assert.ok(Math.abs(payments.deploymentFrequency.perDay - 3 / 7) < 0.001);
  });

  it('measures lead time from the image created label when recorded, else from the release start, to prod promotion', () => {
    // R1: 1 + 10 + 1 + 30 = 42 min; R2: 14 h before the start + 42 min.
    assert.equal(payments?.leadTime.count, 2);
    assert.equal(payments?.leadTime.minSeconds, 42 * 60);
    assert.equal(payments?.leadTime.maxSeconds, 14 * 3600 + 42 * 60);
    assert.equal(payments?.leadTime.medianSeconds, (42 * 60 + 14 * 3600 + 42 * 60) / 2);
    assert.deepEqual(payments?.leadTime.sources, { 'release.started': 1, 'image.created': 1 });
  });

  it('divides releases that failed after deploying by releases that deployed, leaving out those that never deployed', () => {
    // deployed: R1, R2, R3, R5, R6; failed after deploying: R3 (ROLLED_BACK), R5 (FAILED). R4 never deployed; R7 is not a change.
    assert.deepEqual(payments?.changeFailureRate, { failed: 2, deployed: 5, rate: 0.4 });
  });

  it('measures recovery from detection to a finished rollback, operator rollbacks included', () => {
    assert.equal(payments?.recoveryTime.count, 2);
    assert.equal(payments?.recoveryTime.medianSeconds, (6 * 60 + 4 * 60) / 2);
    assert.equal(payments?.recoveryTime.unrecovered, 0);
  });

  it('counts releases by outcome and operator rollbacks apart', () => {
    assert.deepEqual(payments?.outcomes, { SUCCEEDED: 2, ROLLED_BACK: 1, BLOCKED: 1, FAILED: 1, REJECTED: 1 });
    assert.equal(payments?.releases, 6);
    assert.equal(payments?.operatorRollbacks, 1);
  });

  it('gives the same figures per stage', () => {
    const dev = payments?.stages.find((s) => s.stage === 'dev');
    const prod = payments?.stages.find((s) => s.stage === 'prod');
    assert.equal(dev?.deploymentFrequency.deployments, 4); // R1 R2 R3 R6 (R5's deploy failed)
    assert.deepEqual(dev?.changeFailureRate, { failed: 1, deployed: 5, rate: 0.2 });
    assert.equal(dev?.leadTime.count, 4);
    assert.equal(dev?.leadTime.minSeconds, 11 * 60);
    assert.deepEqual(prod?.changeFailureRate, { failed: 1, deployed: 3, rate: 1 / 3 });
    assert.equal(prod?.recoveryTime.count, 2);
  });

  it('has no change failure rate for a service that never deployed (rather than 0%)', () => {
    const ledger = report.services.find((s) => s.service === 'ledger');
    assert.deepEqual(ledger?.changeFailureRate, { failed: 0, deployed: 0, rate: null });
    assert.equal(ledger?.deploymentFrequency.deployments, 0);
    assert.equal(ledger?.leadTime.medianSeconds, null);
  });
});

describe('DORA metrics filters', () => {
  it('keeps only the service asked for', () => {
    const r = doraMetrics(week(), { service: 'ledger' });
    assert.deepEqual(
      r.services.map((s) => s.service),
      ['ledger'],
    );
  });

  it('keeps only releases started inside the window, and sizes the window from it', () => {
    const r = doraMetrics(week(), { since: '2026-11-03T00:00:00.000Z', until: '2026-11-04T23:59:59.999Z', service: 'payments' });
    assert.equal(r.releases, 2); // R3, R4
    assert.deepEqual(r.services[0]?.changeFailureRate, { failed: 1, deployed: 1, rate: 1 });
    assert.ok(Math.abs(r.window.days - 2) < 0.001);
  });

  it('without bounds spans the first release start to the last event, counting at least one day for rates', () => {
    const r = doraMetrics(promotedRelease('R1', '2026-11-01T10:00:00.000Z'));
    assert.equal(r.window.since, '2026-11-01T10:00:00.000Z');
    assert.equal(r.window.until, '2026-11-01T10:42:00.000Z');
    assert.equal(r.services[0]?.deploymentFrequency.perDay, 1);
  });
});

describe('release facts', () => {
  it('do not count a release blocked before any deploy as deployed', () => {
    const f = releaseFacts(
      buildRelease({
        id: 'B',
        at: '2026-11-01T10:00:00.000Z',
        status: 'BLOCKED',
        stages: [{ name: 'dev', gates: [{ gate: 'image.scan', result: 'FAIL', reason: 'x' }], status: 'BLOCKED' }],
      }),
    );
    assert.equal(f?.deployed, false);
    assert.equal(f?.failedAfterDeploy, false);
  });

  it("split a stage's time into gates, approval, deploy and bake", () => {
    const f = releaseFacts(
      buildRelease({
        id: 'P',
        at: '2026-11-01T10:00:00.000Z',
        status: 'SUCCEEDED',
        stages: [
          {
            name: 'prod',
            gateMinutes: 2,
            approval: { decision: 'APPROVED', principal: 'arn:aws:iam::111122223333:user/bob', waitMinutes: 30 },
            deploy: { result: 'SUCCEEDED', minutes: 3 },
            bake: { result: 'PASS', minutes: 20 },
            promote: true,
          },
        ],
      }),
    );
    assert.deepEqual(f?.stages[0]?.phases, { approval: 1800, gates: 120, deploy: 180, bake: 1200 });
  });

  it('ignore events that do not start with release.started', () => {
    assert.equal(releaseFacts(promotedRelease('X', '2026-11-01T10:00:00.000Z').slice(1)), undefined);
  });
});

describe('helpers', () => {
  it('take the stage named prod as production, else the last stage', () => {
    assert.equal(productionStageOf(['dev', 'prod', 'dr']), 'prod');
    assert.equal(productionStageOf(['dev', 'live']), 'live');
    assert.equal(productionStageOf([]), undefined);
  });

  it('take the median of an even count as the mean of the middle two', () => {
    assert.deepEqual(durationStats([4, 1, 3, 2]), { count: 4, medianSeconds: 2.5, meanSeconds: 2.5, minSeconds: 1, maxSeconds: 4 });
    assert.equal(durationStats([5]).medianSeconds, 5);
    assert.equal(durationStats([]).medianSeconds, null);
  });
});

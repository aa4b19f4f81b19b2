/** The drill domain (lambdas/domain/drill.ts) and its config fields (decision 052). */
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { parseConfig } from '../../lambdas/domain/config';
import { drillLeg, drillOutcome, drillPlan, drillScheduleProblem, drillableStages, isProductionStage, overdueDrills, parseDrillInput } from '../../lambdas/domain/drill';
import { chainEvent, type LedgerEvent, type LedgerEventInput } from '../../lambdas/domain/ledger';
import { ValidationError } from '../../lambdas/domain/validation';

const stage = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  cluster: 'dev',
  namespace: 'payments',
  deploy: { driver: 'helm', release: 'payments', chart: 'oci://x/y', version: '1.0.0' },
  ...extra,
});
const raw = (stages: unknown[], insight?: unknown) => ({
  services: { payments: { repository: 'payments-api', stages } },
  clusters: { dev: { name: 'dev-eks', region: 'eu-west-2' } },
  ...(insight ? { insight } : {}),
});
const problemsOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e.problems;
    throw e;
  }
  return [];
};
const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

describe('drill config', () => {
  it('refuses a drill on a production stage, naming the field and how to allow it', () => {
    assert.deepEqual(
      problemsOf(() => parseConfig(raw([stage('dev'), stage('prod', { drill: { schedule: 'rate(7 days)' } })]))),
      [
        `services.payments.stages[1].drill: expected no drill on a production stage (prod is production: the service's last stage; set "production": false to drill it), got {"schedule":"rate(7 days)"}`,
      ],
    );
    assert.match(problemsOf(() => parseConfig(raw([stage('dev', { production: true, drill: {} }), stage('prod')])))[0] ?? '', /stages\[0\]\.drill: .*"production": true/);
    // production: false on the last stage makes it drillable
    const c = parseConfig(raw([stage('dev'), stage('prod', { production: false, drill: { schedule: 'rate(1 day)' } })]));
    assert.deepEqual(drillableStages(c), [
      { service: 'payments', stage: 'dev' },
      { service: 'payments', stage: 'prod', schedule: 'rate(1 day)' },
    ]);
  });

  it('refuses a schedule Scheduler would not take, or one more often than hourly', () => {
    for (const [expr, why] of [
      ['every week', /expected a schedule expression/],
      ['rate(30 minutes)', /at most hourly/],
      ['rate(1 days)', /"1 day" but "2 days"/],
      ['cron(0 4 * * MON *)', /one of day-of-month and day-of-week must be \?/],
      ['cron(0 4 * *)', /4 fields, expected 6/],
      ['cron(*/5 * ? * * *)', /fixed minutes/],
    ] as const) {
      const p = problemsOf(() => parseConfig(raw([stage('dev', { drill: { schedule: expr } }), stage('prod')])));
      assert.equal(p.length, 1, expr);
      assert.match(p[0] as string, /^services\.payments\.stages\[0\]\.drill\.schedule: /, expr);
      assert.match(p[0] as string, why, expr);
    }
    for (const ok of ['rate(7 days)', 'rate(1 hour)', 'rate(120 minutes)', 'cron(0 4 ? * MON *)', 'cron(30 2 1 * ? *)']) assert.equal(drillScheduleProblem(ok), undefined, ok);
  });

  it('takes insight.drillAfterDays as a whole number of days, absent by default (the config hash of older configs stays)', () => {
    assert.equal(parseConfig(raw([stage('dev'), stage('prod')])).insight.drillAfterDays, undefined);
    assert.equal(parseConfig(raw([stage('dev'), stage('prod')], { drillAfterDays: 30 })).insight.drillAfterDays, 30);
    assert.deepEqual(
      problemsOf(() => parseConfig(raw([stage('dev'), stage('prod')], { drillAfterDays: 0 }))),
      ['insight.drillAfterDays: expected a whole number from 1 to 3650, got 0'],
    );
    assert.match(problemsOf(() => parseConfig(raw([stage('dev', { production: 'yes' }), stage('prod')])))[0] ?? '', /stages\[0\]\.production: expected true or false/);
  });
});

describe('drill input and plan', () => {
  const config = parseConfig(raw([stage('dev'), stage('staging'), stage('prod')]));
  it('refuses a production stage and unknown names, naming the field', () => {
    assert.match(
      problemsOf(() => parseDrillInput({ service: 'payments', stage: 'prod' }, config))[0] ?? '',
      /^stage: prod is a production stage of payments and is never drilled \(drillable: dev, staging;/,
    );
    assert.match(
      problemsOf(() => parseDrillInput({ service: 'payments', stage: 'qa' }, config))[0] ?? '',
      /^stage: expected one of the stages of payments \(dev, staging, prod\), got "qa"/,
    );
    assert.match(problemsOf(() => parseDrillInput({ service: 'nope', stage: 'dev' }, config))[0] ?? '', /^service: expected one of the services/);
    assert.match(problemsOf(() => parseDrillInput({ service: 'payments', stage: 'dev', digest: D1 }, config))[0] ?? '', /digest/);
    assert.deepEqual(parseDrillInput({ service: 'payments', stage: 'staging', reason: 'q4' }, config), { service: 'payments', stage: 'staging', reason: 'q4' });
    assert.equal(isProductionStage(config.services.payments as never, 2), true);
  });

  it('refuses a held lease, a stage with nothing running, and no previous last known good', () => {
    const pointer = { running: D2, lastKnownGood: D2, promoted: [D1, D2] };
    assert.deepEqual(drillPlan(pointer, undefined, { digest: D1 }), { fromDigest: D2, toDigest: D1 });
    assert.match((drillPlan(pointer, { owner: 'payments-1' }, { digest: D1 }) as { refused: string }).refused, /in flight in this stage \(payments-1 holds its lease\)/);
    assert.match((drillPlan(undefined, undefined, { refused: 'x' }) as { refused: string }).refused, /nothing runs in this stage/);
    assert.match(
      (drillPlan({ running: D2, promoted: [D2] }, undefined, { refused: 'nothing to roll back to' }) as { refused: string }).refused,
      /^no previous last known good: nothing to roll back to/,
    );
  });
});

describe('drill figures', () => {
  const chain = (releaseId: string, list: Array<Omit<LedgerEventInput, 'releaseId' | 'stepKey'>>): LedgerEvent[] => {
    const out: LedgerEvent[] = [];
    list.forEach((e, i) => out.push(chainEvent(out.at(-1), { releaseId, stepKey: `k${i}`, ...e })));
    return out;
  };
  const leg = (id: string, to: string, from: string, result: 'SUCCEEDED' | 'FAILED', recovered: boolean | null, t0: number) =>
    chain(id, [
      { type: 'release.started', at: new Date(t0).toISOString(), data: { kind: 'rollback', digest: to, rollbackTarget: to, stages: ['dev'] } },
      { type: 'rollback.started', at: new Date(t0).toISOString(), stage: 'dev', data: { fromDigest: from, toDigest: to } },
      {
        type: 'rollback.finished',
        at: new Date(t0 + 360_000).toISOString(),
        stage: 'dev',
        data: { result, recovery: recovered === null ? null : { recovered, reason: 'r' }, deployEndedAt: new Date(t0 + 60_000).toISOString() },
      },
      { type: 'stage.finished', at: new Date(t0 + 360_000).toISOString(), stage: 'dev', data: { status: result === 'SUCCEEDED' ? 'ROLLED_BACK' : 'ROLLBACK_FAILED' } },
      { type: 'release.finished', at: new Date(t0 + 360_000).toISOString(), data: { status: result === 'SUCCEEDED' ? 'ROLLED_BACK' : 'ROLLBACK_FAILED', reason: 'x' } },
    ]);
  const T = Date.parse('2026-11-24T10:00:00Z');

  it('measures a leg from its start to the stage recorded healthy, and not at all when it was not healthy', () => {
    const ok = drillLeg('back', 'b', leg('b', D1, D2, 'SUCCEEDED', true, T));
    assert.equal(ok.seconds, 360);
    assert.equal(ok.deployEndedAt, new Date(T + 60_000).toISOString());
    assert.equal(ok.fromDigest, D2);
    const alarming = drillLeg('back', 'b', leg('b', D1, D2, 'SUCCEEDED', false, T));
    assert.equal(alarming.seconds, undefined);
    assert.equal(alarming.recovered, false);
    assert.deepEqual(drillLeg('forward', 'f', []), { leg: 'forward', releaseId: 'f', status: 'NOT_STARTED' });
  });

  it('decides the outcome from the legs', () => {
    const back = drillLeg('back', 'b', leg('b', D1, D2, 'SUCCEEDED', true, T));
    const fwd = drillLeg('forward', 'f', leg('f', D2, D1, 'SUCCEEDED', true, T + 360_000));
    assert.equal(drillOutcome(back, fwd).status, 'SUCCEEDED');
    assert.equal(drillOutcome(drillLeg('back', 'b', leg('b', D1, D2, 'FAILED', null, T)), drillLeg('forward', 'f', [])).status, 'ROLLBACK_FAILED');
    assert.match(drillOutcome(drillLeg('back', 'b', leg('b', D1, D2, 'SUCCEEDED', false, T)), fwd).reason, /not recorded healthy/);
    assert.match(drillOutcome(back, drillLeg('forward', 'f', [])).reason, /the roll-forward f ended NOT_STARTED/);
  });

  it('reports a drillable stage never drilled, or drilled longer ago than afterDays', () => {
    const now = new Date('2026-12-10T00:00:00Z');
    const stages = [
      { service: 'payments', stage: 'dev' },
      { service: 'payments', stage: 'staging' },
    ];
    const last = [
      { service: 'payments', stage: 'dev', at: '2026-12-05T00:00:00Z' },
      { service: 'payments', stage: 'staging', at: '2026-11-01T00:00:00Z' },
    ];
    assert.deepEqual(overdueDrills(stages, last, 7, now), [{ service: 'payments', stage: 'staging', lastDrillAt: '2026-11-01T00:00:00Z', daysSince: 39, afterDays: 7 }]);
    assert.deepEqual(
      overdueDrills(stages, [], 7, now).map((o) => [o.stage, o.lastDrillAt]),
      [
        ['dev', null],
        ['staging', null],
      ],
    );
  });
});

/**
 * Rollback drills (decision 052): a drill through the real workflows (the drill workflow runs the rollback workflow
 * twice as nested executions), its figures in the ledger, Rollback Drilled and `gantry metrics`; the refusals (a
 * production stage, no previous last known good, a release in flight); a drill whose roll-back fails; the insight
 * check's Drill Overdue; a scheduled drill.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { beforeAll, describe, it } from 'vitest';
import { drillRecords } from '../../lambdas/domain/drill';
import { doraMetrics } from '../../lambdas/domain/metrics';
import { projectRelease } from '../../lambdas/domain/ledger';
import { verifyExport, formatExport, parseExport } from '../../lambdas/domain/audit';
import { auditRelease } from '../../lambdas/domain/audit/report-model';
import { loadScenario } from '../../local/scenario';
import { type SimulationResult, simulate } from '../../local/simulate';
import { eventEnvelope as envelope, ROOT } from './helpers';

const SCENARIOS = join(ROOT, 'examples', 'scenarios');
const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const ALICE = 'arn:aws:sts::111122223333:assumed-role/ReleaseOperators/alice';
type Raw = Record<string, unknown> & { triggers: Array<Record<string, unknown>>; script?: unknown[]; stages: Record<string, unknown>; config: Record<string, unknown> };
const base = (): Raw => JSON.parse(readFileSync(join(SCENARIOS, 'drill-staging.json'), 'utf8')) as Raw;
const run = (raw: unknown) => simulate(loadScenario(raw, SCENARIOS));
const ajv = new Ajv({ allErrors: true, strict: true });
const schemaOf = (dir: string, name: string) => ajv.compile(JSON.parse(readFileSync(join(ROOT, 'schemas', dir, `${name}.json`), 'utf8')));
const drillsOf = (r: SimulationResult) => r.output.releases.filter((x) => x.releaseId.includes('-drill-') && !/-(back|fwd)$/.test(x.releaseId));

describe('a drill of staging through the real workflows (examples/scenarios/drill-staging.json)', () => {
  let r: SimulationResult;
  beforeAll(async () => {
    r = await run(base());
  });

  it('rolls staging back to the previous last known good, then forward, each through the rollback workflow', () => {
    const legs = r.output.deployments.filter((d) => d.stage === 'staging');
    assert.deepEqual(
      legs.map((d) => [d.kind, d.digest, d.result]),
      [
        ['rollback', D1, 'SUCCEEDED'],
        ['rollback', D2, 'SUCCEEDED'],
      ],
    );
    assert.ok(legs[0]?.releaseId.endsWith('-back') && legs[1]?.releaseId.endsWith('-fwd'));
    const machines = r.output.executions.map((e) => [e.machine, e.status]);
    assert.deepEqual(
      machines.filter(([m]) => m === 'drill'),
      [['drill', 'SUCCEEDED']],
    );
    assert.equal(machines.filter(([m]) => m === 'rollback').length, 2);
    // The stage is left as it was: the digest that ran runs again and is the last known good.
    assert.equal(r.output.stages['payments/staging']?.running, D2);
    assert.equal(r.output.stages['payments/staging']?.lastKnownGood, D2);
  });

  it('records drill.recorded with both legs measured from start to the stage healthy on the target', () => {
    const [d] = drillRecords(r.ledgerEvents);
    assert.ok(d);
    assert.equal(d.status, 'SUCCEEDED');
    assert.equal(d.stage, 'staging');
    assert.equal(d.fromDigest, D2);
    assert.equal(d.toDigest, D1);
    assert.equal(d.initiator, ALICE);
    assert.equal(d.trigger, 'operator');
    // Each leg: a 1-minute deploy, then the stage's 5-minute recovery window before it is recorded healthy.
    assert.equal(d.timeToRestoreSeconds, 360);
    assert.equal(d.rollForwardSeconds, 360);
    const [back, forward] = d.legs;
    assert.equal(back?.seconds, (Date.parse(back?.healthyAt ?? '') - Date.parse(back?.startedAt ?? '')) / 1000);
    assert.equal(forward?.status, 'ROLLED_BACK');
    // Every chain of the run verifies, the drill's and its legs'.
    assert.equal(verifyExport(parseExport(formatExport(r.ledgerEvents))).ok, true);
  });

  it('publishes one Rollback Drilled that matches schemas/events/rollback-drilled.json, and no real recovery metric', () => {
    const ev = r.output.lifecycle.filter((e) => e.detailType === 'Rollback Drilled');
    assert.equal(ev.length, 1);
    const v = schemaOf('events', 'rollback-drilled');
    assert.equal(v(envelope(ev[0] as never)), true, JSON.stringify(v.errors));
    assert.equal(ev[0]?.detail.timeToRestoreSeconds, 360);
  });

  it('shows the drill beside the real rollbacks in gantry metrics, and keeps the legs out of the real figures', () => {
    const m = doraMetrics(r.ledgerEvents);
    const svc = m.services.find((s) => s.service === 'payments');
    assert.ok(svc);
    assert.equal(svc.drills.drills, 1);
    assert.equal(svc.drills.timeToRestore.medianSeconds, 360);
    assert.equal(svc.operatorRollbacks, 0, 'the legs are not operator rollbacks');
    assert.equal(svc.recoveryTime.count, 0, 'the legs are not recoveries');
    assert.equal(svc.stages.find((s) => s.stage === 'staging')?.drills.rollForward.medianSeconds, 360);
  });

  it('refuses a drill of prod (the last stage) at the API: Input Rejected, nothing started', () => {
    const refused = r.output.timeline.filter((t) => t.event === 'Input Rejected');
    assert.equal(refused.length, 1);
    assert.match(String(refused[0]?.reason), /stage: prod is a production stage of payments and is never drilled/);
    assert.equal(r.output.deployments.filter((d) => d.stage === 'prod').length, 0);
    assert.equal(drillsOf(r).length, 1);
  });

  it('audit show has the drill as a record of its own, and each leg names its drill', () => {
    const drillId = drillsOf(r)[0]?.releaseId as string;
    const a = auditRelease(r.ledgerEvents.filter((e) => e.releaseId === drillId));
    assert.equal(a?.kind, 'drill');
    assert.equal(a?.drill?.timeToRestoreSeconds, 360);
    const leg = auditRelease(r.ledgerEvents.filter((e) => e.releaseId === `${drillId}-back`));
    assert.deepEqual(leg?.drillLeg, { drillId, leg: 'back' });
    assert.equal(projectRelease(r.ledgerEvents.filter((e) => e.releaseId === drillId))?.drill?.status, 'SUCCEEDED');
  });

  it('the insight check reports staging once its last drill is older than drillAfterDays (Drill Overdue)', () => {
    const overdue = r.output.lifecycle.filter((e) => e.detailType === 'Drill Overdue');
    assert.equal(overdue.length, 1, 'day 1: drilled yesterday; day 9: 9 days > 7');
    assert.equal(overdue[0]?.detail.stage, 'staging');
    assert.equal(overdue[0]?.detail.days, 8);
    const v = schemaOf('insight', 'drill-overdue');
    assert.equal(v(envelope(overdue[0] as never)), true, JSON.stringify(v.errors));
    assert.ok(!overdue.some((e) => e.detail.stage === 'prod'), 'prod is not drillable');
  });
});

describe('drills refused or failed', () => {
  it('refuses a stage with no previous last known good: BLOCKED, nothing deployed, the reason says so', async () => {
    const raw = base();
    raw.stages['payments/staging'] = { running: D2, lastKnownGood: D2 };
    raw.triggers = [raw.triggers[0] as Record<string, unknown>];
    const r = await run(raw);
    const [d] = drillsOf(r);
    assert.equal(d?.status, 'BLOCKED');
    assert.match(String(d?.reason), /no previous last known good: nothing to roll back to/);
    assert.equal(r.output.deployments.length, 0);
    assert.deepEqual(
      r.output.executions.map((e) => [e.machine, e.error]),
      [['drill', 'DrillRefused']],
    );
    const ev = r.output.lifecycle.find((e) => e.detailType === 'Rollback Drilled');
    assert.equal(ev?.detail.status, 'BLOCKED');
  });

  it('refuses a stage whose lease a release holds (a release in flight): BLOCKED, nothing deployed by the drill', async () => {
    const raw = base();
    raw.ecr = {
      'payments-api': {
        tagMutability: 'IMMUTABLE',
        images: [
          { digest: D1, tags: ['v1.4.1'], pushedAt: '2026-11-20T09:00:00Z' },
          { digest: D2, tags: ['v1.4.2'], pushedAt: '2026-11-23T09:00:00Z' },
          { digest: `sha256:${'3'.repeat(64)}`, tags: ['v1.4.3'], pushedAt: '2026-11-24T09:59:00Z' },
        ],
      },
    };
    raw.triggers = [
      { type: 'start', principal: ALICE, input: { service: 'payments', image: { tag: 'v1.4.3' }, stages: ['staging'] } },
      { type: 'drill', principal: ALICE, input: { service: 'payments', stage: 'staging' }, at: 'PT3M' },
    ];
    const r = await run(raw);
    const [d] = drillsOf(r);
    assert.equal(d?.status, 'BLOCKED');
    assert.match(String(d?.reason), /a release or rollback is in flight in this stage \(payments-.* holds its lease\)/);
    assert.ok(
      r.output.deployments.every((x) => x.kind === 'deploy'),
      'only the release deployed',
    );
  });

  it('a drill whose roll-back deploy fails ends ROLLBACK_FAILED, leaves the stage as the rollback workflow left it and rolls nothing forward', async () => {
    const raw = base();
    raw.triggers = [raw.triggers[0] as Record<string, unknown>];
    raw.script = [{ when: { service: 'payments', stage: 'staging', phase: 'rollback' }, deploy: { result: 'FAILED', message: 'UPGRADE FAILED: timed out' } }];
    const r = await run(raw);
    const [d] = drillsOf(r);
    assert.equal(d?.status, 'ROLLBACK_FAILED');
    assert.match(String(d?.reason), /the roll-back .*-back ended ROLLBACK_FAILED.*nothing was rolled forward/);
    assert.equal(r.output.deployments.length, 1);
    assert.equal(r.output.executions.find((e) => e.machine === 'drill')?.error, 'DrillNotSucceeded');
    assert.equal(r.output.executions.filter((e) => e.machine === 'rollback').length, 1);
    const [rec] = drillRecords(r.ledgerEvents);
    assert.equal(rec?.timeToRestoreSeconds, undefined);
    assert.equal(rec?.legs[1]?.status, 'NOT_STARTED');
    assert.equal(doraMetrics(r.ledgerEvents).services[0]?.drills.failed, 1);
  });

  it('a scheduled drill starts as the stack schedule starts it, attributed to the schedule', async () => {
    const raw = base();
    raw.triggers = [{ type: 'drill', schedule: 'rate(7 days)', input: { service: 'payments', stage: 'staging' } }];
    const r = await run(raw);
    const [d] = drillRecords(r.ledgerEvents);
    assert.equal(d?.status, 'SUCCEEDED');
    assert.equal(d?.trigger, 'schedule');
    assert.equal(d?.initiator, 'gantry-drill-schedule');
  });
});

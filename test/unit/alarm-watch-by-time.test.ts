/**
 * The alarm watcher judges an ALARM event by the time of the state change it reports (decision 024): a
 * change from before the bake began is recorded on the release (`bake.event-ignored`) and ignored; a
 * change inside the bake fails it. The real CloudWatch sample (test/fixtures/aws-samples), whose change
 * is stamped 2019-10-02T17:04:40.989+0000.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { durationText, run as alarmWatch } from '../../lambdas/alarm-watch';
import type { LedgerEventInput } from '../../lambdas/domain/ledger';
import type { Deps, TokenRecord } from '../../lambdas/ports';
import { sample } from '../helpers/aws-samples';

const BAKE_STARTED = '2026-11-24T10:00:00.000Z';
const ALARM = 'ServerCpuTooHigh';

/** One open bake of payments/prod watching the sample's alarm; the ledger keeps appends by step key. */
function bakeWatching(token: Partial<TokenRecord> = {}) {
  const appended: LedgerEventInput[] = [];
  const failures: Array<{ token: string; error: string; cause: string }> = [];
  const claimed: string[] = [];
  let open = true;
  const bake: TokenRecord = {
    kind: 'BAKE',
    releaseId: 'payments-0123456789abcdef',
    service: 'payments',
    stage: 'prod',
    token: 'task-token-1',
    alarms: [ALARM],
    createdAt: BAKE_STARTED,
    expiresAt: '2026-11-26T00:00:00.000Z',
    attrs: { bakeStartedAt: BAKE_STARTED },
    ...token,
  };
  const append = (input: LedgerEventInput) => {
    const dup = appended.find((e) => e.stepKey === input.stepKey);
    if (!dup) appended.push(input);
    return { event: { ...(dup ?? input), seq: appended.length, prevHash: '', hash: '' }, duplicate: Boolean(dup) };
  };
  const deps = {
    now: () => new Date('2026-11-24T10:20:00.000Z'),
    // No cluster in another account, region unknown: every alarm event is of the home scope (issue 18).
    config: { clusters: {} },
    runtime: { inLambda: false },
    ledger: {
      tokensForAlarm: async (name: string) => (open && name === ALARM ? [bake] : []),
      takeToken: async (_kind: string, releaseId: string) => {
        if (!open) return undefined;
        open = false;
        claimed.push(releaseId);
        return bake;
      },
      putToken: async () => undefined,
      append: async (input: LedgerEventInput) => append(input),
      appendAll: async (inputs: LedgerEventInput[]) => inputs.map(append),
    },
    tasks: {
      sendFailure: async (t: string, error: string, cause: string) => void failures.push({ token: t, error, cause }),
      sendSuccess: async () => assert.fail('an ALARM event never passes a bake'),
    },
    timers: { cancel: async () => undefined },
  } as unknown as Deps;
  return { deps, appended, failures, claimed };
}

/** The sample as delivered, or with its state change moved to `at` (ISO, +0000 as CloudWatch writes it). */
function alarmEvent(at?: string): Record<string, unknown> {
  const e = sample('cloudwatch-alarm-state-change-metric-alarm-to-alarm.json');
  if (at) e.detail.state.timestamp = at.replace('Z', '+0000');
  return e;
}

describe('an ALARM event judged by the time of its state change', () => {
  it('records and ignores the real sample, a change seven years before the bake began', async () => {
    const h = bakeWatching();

    const result = await alarmWatch(alarmEvent(), h.deps);

    assert.deepEqual(result, { failedBakes: 0, ignoredBakes: 1 });
    assert.deepEqual(h.failures, [], 'the bake goes on');
    assert.deepEqual(h.claimed, [], 'its token is left for the bake timer');
    assert.equal(h.appended.length, 1);
    const e = h.appended[0];
    assert.equal(e?.type, 'bake.event-ignored');
    assert.equal(e?.stage, 'prod');
    assert.equal(e?.releaseId, 'payments-0123456789abcdef');
    assert.deepEqual(e?.data, {
      alarm: ALARM,
      state: 'ALARM',
      previous: 'OK',
      changedAt: '2019-10-02T17:04:40.989Z',
      bakeStartedAt: BAKE_STARTED,
      eventId: 'c4c1c1c9-6542-e61b-6ef0-8c4d36933a92',
      reason: `alarm ${ALARM} went to ALARM at 2019-10-02T17:04:40.989Z, 2609 days before this bake began (${BAKE_STARTED}): an earlier state change delivered late is not a failure of this bake; the alarm's state now is read when the bake ends`,
    });
  });

  it('ignores a change three hours before the bake, saying how long before', async () => {
    const h = bakeWatching();

    await alarmWatch(alarmEvent('2026-11-24T06:58:00.000Z'), h.deps);

    assert.match(String(h.appended[0]?.data.reason), /, 3 h 2 min before this bake began/);
    assert.deepEqual(h.failures, []);
  });

  it('records a late event delivered twice once (its step key is the alarm and the change)', async () => {
    const h = bakeWatching();

    await alarmWatch(alarmEvent('2026-11-24T09:00:00.000Z'), h.deps);
    await alarmWatch(alarmEvent('2026-11-24T09:00:00.000Z'), h.deps);

    assert.deepEqual(
      h.appended.map((e) => e.stepKey),
      [`stage:prod:bake.event-ignored:${ALARM}:2026-11-24T09:00:00.000Z`],
    );
  });

  it('fails the bake on a change inside it: the same sample, its change moved to minute 7 of the bake (the control)', async () => {
    const h = bakeWatching();

    const result = await alarmWatch(alarmEvent('2026-11-24T10:07:00.000Z'), h.deps);

    assert.deepEqual(result, { failedBakes: 1 });
    assert.deepEqual(
      h.failures.map((f) => f.error),
      ['AlarmBreached'],
    );
    assert.equal(JSON.parse(h.failures[0]?.cause ?? '{}').bakeMinute, 7);
    assert.deepEqual(
      h.appended.map((e) => e.type),
      ['gate.evaluated', 'bake.finished'],
    );
  });

  it('counts a change at the very instant the bake began as inside it', async () => {
    const h = bakeWatching();

    const result = await alarmWatch(alarmEvent(BAKE_STARTED), h.deps);

    assert.equal(result.failedBakes, 1);
  });

  it("takes the token's creation as the bake's start when it carries no bakeStartedAt", async () => {
    const h = bakeWatching({ attrs: undefined, createdAt: '2026-11-24T09:30:00.000Z' });

    const late = await alarmWatch(alarmEvent('2026-11-24T09:29:59.000Z'), h.deps);
    assert.deepEqual(late, { failedBakes: 0, ignoredBakes: 1 });

    const inside = await alarmWatch(alarmEvent('2026-11-24T09:30:01.000Z'), h.deps);
    assert.deepEqual(inside, { failedBakes: 1 });
  });
});

describe('durationText', () => {
  it('says seconds, minutes, hours and days as a reader would', () => {
    assert.deepEqual([45_000, 90_000, 3 * 3600_000, 3 * 3600_000 + 120_000, 50 * 3600_000].map(durationText), ['45 s', '1 min', '3 h', '3 h 2 min', '2 days']);
  });
});

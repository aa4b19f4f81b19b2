import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { DateTime } from 'luxon';
import { describeWindowAt, evaluateWindow, inAllowWindow, nextOpening, type WindowSpec } from '../../lambdas/domain/windows';

const london: WindowSpec = {
  timezone: 'Europe/London',
  allow: [{ days: ['Mon', 'Tue', 'Wed', 'Thu'], from: '09:00', to: '16:00' }],
  outside: 'wait',
  blackouts: [{ from: '2026-12-20T00:00', to: '2027-01-04T00:00', reason: 'holiday freeze' }],
};

describe('evaluateWindow', () => {
  it('opens inside an allow window in the stage time zone', () => {
    const v = evaluateWindow(london, new Date('2026-11-24T10:00:00Z'));
    assert.equal(v.verdict, 'OPEN');
  });

  it('treats the end of a window as exclusive', () => {
    const v = evaluateWindow(london, new Date('2026-11-24T16:00:00Z'));
    assert.equal(v.verdict, 'WAIT');
    assert.equal(v.verdict === 'WAIT' && v.until, '2026-11-25T09:00:00.000Z');
  });

  it('waits from a Saturday push until Monday 09:00 local time', () => {
    const v = evaluateWindow(london, new Date('2026-11-28T12:00:00Z'));
    assert.equal(v.verdict === 'WAIT' && v.until, '2026-11-30T09:00:00.000Z');
    assert.match(v.reason, /waiting until Mon 30 Nov 2026 09:00/);
  });

  it('follows British Summer Time: 09:00 London is 08:00 UTC in summer', () => {
    const v = evaluateWindow(london, new Date('2026-06-06T12:00:00Z')); // Saturday
    assert.equal(v.verdict === 'WAIT' && v.until, '2026-06-08T08:00:00.000Z');
  });

  it('finds the Monday after the spring-forward Sunday at the right UTC instant', () => {
    // Clocks go forward on Sunday 29 March 2026; Monday 09:00 BST is 08:00 UTC.
    const v = evaluateWindow(london, new Date('2026-03-28T12:00:00Z'));
    assert.equal(v.verdict === 'WAIT' && v.until, '2026-03-30T08:00:00.000Z');
  });

  it('finds the Monday after the fall-back Sunday at the right UTC instant', () => {
    // Clocks go back on Sunday 25 October 2026; Monday 09:00 GMT is 09:00 UTC.
    const v = evaluateWindow(london, new Date('2026-10-24T12:00:00Z'));
    assert.equal(v.verdict === 'WAIT' && v.until, '2026-10-26T09:00:00.000Z');
  });

  it('lets a blackout beat an allow window, and waits until the first window after it', () => {
    const v = evaluateWindow(london, new Date('2026-12-22T10:00:00Z')); // a Tuesday inside the freeze
    assert.equal(v.verdict, 'WAIT');
    assert.match(v.reason, /holiday freeze/);
    assert.equal(v.verdict === 'WAIT' && v.until, '2027-01-04T09:00:00.000Z');
  });

  it('blocks outside the window when the policy says block, naming the blackout', () => {
    const v = evaluateWindow({ ...london, outside: 'block' }, new Date('2026-12-22T10:00:00Z'));
    assert.equal(v.verdict, 'BLOCK');
    assert.match(v.reason, /blackout "holiday freeze"/);
  });

  it('handles a window across midnight expressed as two windows', () => {
    const night: WindowSpec = {
      timezone: 'America/New_York',
      allow: [
        { days: ['Fri'], from: '22:00', to: '24:00' },
        { days: ['Sat'], from: '00:00', to: '02:00' },
      ],
      outside: 'wait',
      blackouts: [],
    };
    assert.equal(evaluateWindow(night, new Date('2026-11-28T06:30:00Z')).verdict, 'OPEN'); // Sat 01:30 EST
    assert.equal(evaluateWindow(night, new Date('2026-11-28T03:30:00Z')).verdict, 'OPEN'); // Fri 22:30 EST
    const v = evaluateWindow(night, new Date('2026-11-28T07:00:00Z')); // Sat 02:00: closed
    assert.equal(v.verdict === 'WAIT' && v.until, '2026-12-05T03:00:00.000Z');
  });

  it('is open with no window configured', () => {
    assert.equal(evaluateWindow(undefined, new Date('2026-12-25T03:00:00Z')).verdict, 'OPEN');
  });
});

const at = (iso: string) => new Date(iso);
const open = (spec: WindowSpec, iso: string) => inAllowWindow(spec, DateTime.fromISO(iso, { zone: 'utc' }));
const until = (spec: WindowSpec, iso: string) => {
  const v = evaluateWindow(spec, at(iso));
  return v.verdict === 'WAIT' ? v.until : v.verdict;
};
function overnight(timezone: string, days: WindowSpec['allow'][number]['days'], from: string, to: string, blackouts: WindowSpec['blackouts'] = []): WindowSpec {
  return { timezone, allow: [{ days, from, to }], outside: 'wait', blackouts };
}

describe('a window across midnight (from later than to)', () => {
  const mon = overnight('Europe/London', ['Mon'], '22:00', '02:00');

  it('opens at from on the listed day and stays open until to on the next day', () => {
    // 30 Nov 2026 is a Monday; London is on GMT (UTC+0).
    assert.equal(open(mon, '2026-11-30T21:59:00Z'), false, 'Mon 21:59: not yet');
    assert.equal(open(mon, '2026-11-30T22:00:00Z'), true, 'Mon 22:00: opens');
    assert.equal(open(mon, '2026-11-30T23:59:00Z'), true, 'Mon 23:59');
    assert.equal(open(mon, '2026-12-01T00:00:00Z'), true, 'Tue 00:00: still open, the day after the listed day');
    assert.equal(open(mon, '2026-12-01T01:59:00Z'), true, 'Tue 01:59');
    assert.equal(open(mon, '2026-12-01T02:00:00Z'), false, 'Tue 02:00: to is exclusive');
  });

  it('does not open on the night of a day that is not listed, nor in the early hours of a listed day', () => {
    assert.equal(open(mon, '2026-12-01T22:30:00Z'), false, 'Tue 22:30: Tuesday is not listed');
    assert.equal(open(mon, '2026-11-30T01:00:00Z'), false, 'Mon 01:00: belongs to a Sunday-night window, which is not listed');
  });

  it('is open for a stage evaluated inside it, and a stage outside it waits for the next Monday 22:00', () => {
    assert.equal(evaluateWindow(mon, at('2026-12-01T01:30:00Z')).verdict, 'OPEN');
    assert.equal(until(mon, '2026-12-01T02:00:00Z'), '2026-12-07T22:00:00.000Z');
    assert.equal(until(mon, '2026-11-30T12:00:00Z'), '2026-11-30T22:00:00.000Z');
  });

  it('treats to "00:00" after a later from as the next midnight', () => {
    const evening = overnight('Europe/London', ['Mon'], '22:00', '00:00');
    assert.equal(open(evening, '2026-11-30T23:30:00Z'), true);
    assert.equal(open(evening, '2026-12-01T00:00:00Z'), false);
  });

  it('opens after a blackout that ends inside the early-morning part', () => {
    const spec = overnight('Europe/London', ['Mon'], '22:00', '02:00', [{ from: '2026-11-30T20:00', to: '2026-12-01T01:00', reason: 'db migration' }]);
    assert.equal(until(spec, '2026-11-30T22:30:00Z'), '2026-12-01T01:00:00.000Z');
  });

  it('lists a Sunday-night window as open in the early hours of Monday, in New York', () => {
    const sun = overnight('America/New_York', ['Sun'], '23:00', '03:00');
    assert.equal(open(sun, '2026-11-30T06:30:00Z'), true, 'Mon 01:30 EST');
    assert.equal(open(sun, '2026-11-30T08:00:00Z'), false, 'Mon 03:00 EST');
  });
});

describe('a window across midnight on the nights the clocks change', () => {
  it('is an hour shorter on the spring-forward night in London (clocks jump from 01:00 GMT to 02:00 BST)', () => {
    const sat = overnight('Europe/London', ['Sat'], '22:00', '02:00');
    assert.equal(open(sat, '2026-03-28T22:00:00Z'), true, 'Sat 22:00 GMT');
    assert.equal(open(sat, '2026-03-29T00:59:00Z'), true, 'Sun 00:59 GMT');
    assert.equal(open(sat, '2026-03-29T01:00:00Z'), false, 'Sun 02:00 BST: the clock reads 02:00, closed');
    assert.equal(until(sat, '2026-03-29T01:00:00Z'), '2026-04-04T21:00:00.000Z', 'next Saturday 22:00 BST');
  });

  it('is an hour longer on the fall-back night in London (clocks go back from 02:00 BST to 01:00 GMT)', () => {
    const sat = overnight('Europe/London', ['Sat'], '22:00', '02:00');
    assert.equal(open(sat, '2026-10-24T20:59:00Z'), false, 'Sat 21:59 BST');
    assert.equal(open(sat, '2026-10-24T21:00:00Z'), true, 'Sat 22:00 BST');
    assert.equal(open(sat, '2026-10-25T00:30:00Z'), true, 'Sun 01:30 BST, the first time');
    assert.equal(open(sat, '2026-10-25T01:30:00Z'), true, 'Sun 01:30 GMT, the second time');
    assert.equal(open(sat, '2026-10-25T02:00:00Z'), false, 'Sun 02:00 GMT');
  });

  it('closes at the jump when to falls in the spring-forward gap, in New York', () => {
    // 8 Mar 2026: 02:00 EST becomes 03:00 EDT (07:00Z); 02:30 never happens.
    const sat = overnight('America/New_York', ['Sat'], '23:00', '02:30');
    assert.equal(open(sat, '2026-03-08T04:00:00Z'), true, 'Sat 23:00 EST');
    assert.equal(open(sat, '2026-03-08T06:59:00Z'), true, 'Sun 01:59 EST');
    assert.equal(open(sat, '2026-03-08T07:00:00Z'), false, 'Sun 03:00 EDT');
  });

  it('reopens for the repeated hour when to falls in the fall-back overlap, in New York, and the wait finds it', () => {
    // 1 Nov 2026: 02:00 EDT becomes 01:00 EST (06:00Z); 01:00-02:00 happens twice.
    const sat = overnight('America/New_York', ['Sat'], '22:00', '01:30');
    assert.equal(open(sat, '2026-11-01T05:15:00Z'), true, 'Sun 01:15 EDT');
    assert.equal(open(sat, '2026-11-01T05:30:00Z'), false, 'Sun 01:30 EDT: the clock reads 01:30');
    assert.equal(open(sat, '2026-11-01T06:10:00Z'), true, 'Sun 01:10 EST: the clock reads 01:10 again');
    assert.equal(until(sat, '2026-11-01T05:45:00Z'), '2026-11-01T06:00:00.000Z', 'the clocks going back reopen it');
    assert.equal(open(sat, '2026-11-01T06:30:00Z'), false, 'Sun 01:30 EST');
  });

  it('opens at the jump when from falls in the spring-forward gap (London, Sun 01:30)', () => {
    const spec: WindowSpec = { timezone: 'Europe/London', allow: [{ days: ['Sun'], from: '01:30', to: '03:00' }], outside: 'wait', blackouts: [] };
    assert.equal(until(spec, '2026-03-28T12:00:00Z'), '2026-03-29T01:00:00.000Z', '02:00 BST, the first instant the clock reads 01:30 or later');
  });

  it('opens at the first of the two 01:30s when from falls in the fall-back overlap (London)', () => {
    const spec: WindowSpec = { timezone: 'Europe/London', allow: [{ days: ['Sun'], from: '01:30', to: '03:00' }], outside: 'wait', blackouts: [] };
    assert.equal(until(spec, '2026-10-24T12:00:00Z'), '2026-10-25T00:30:00.000Z', '01:30 BST');
  });

  it('finds every opening at the instant the window says, in three zones, through both clock changes', () => {
    for (const [zone, start] of ['Europe/London', 'America/New_York', 'Australia/Sydney'].flatMap(
      (z) =>
        [
          [z, '2026-02-20T00:00:00Z'],
          [z, '2026-09-20T00:00:00Z'],
        ] as const,
    )) {
      const spec = overnight(zone, ['Fri', 'Sat'], '21:30', '01:15');
      let t: DateTime = DateTime.fromISO(start, { zone: 'utc' });
      for (let i = 0; i < 22; i++) {
        const next = nextOpening(spec, t);
        assert.ok(next, `${zone}: an opening after ${t.toISO()}`);
        const local = next.setZone(zone);
        assert.ok(['Fri', 'Sat'].includes(local.toFormat('ccc')) && local.toFormat('HH:mm') === '21:30', `${zone}: opens ${local.toISO()}`);
        assert.equal(open(spec, next.toUTC().toISO() as string), true);
        assert.equal(open(spec, next.minus({ minutes: 1 }).toUTC().toISO() as string), false);
        t = next.plus({ hours: 5 });
      }
    }
  });
});

describe('break-glass names what it bypassed', () => {
  const glass = { reason: 'INC-5120 payments down' };

  it('names the blackout (and only the blackout) on a Tuesday morning inside the allow window', () => {
    const v = evaluateWindow(london, at('2026-12-22T10:32:00Z'), glass);
    assert.equal(v.verdict, 'OPEN');
    assert.equal(v.reason, 'break-glass: INC-5120 payments down; blackout "holiday freeze" from 2026-12-20T00:00 to 2027-01-04T00:00 (Europe/London) bypassed');
    assert.deepEqual(v.verdict === 'OPEN' && v.bypassed, [
      { kind: 'blackout', from: '2026-12-20T00:00', to: '2027-01-04T00:00', reason: 'holiday freeze', timezone: 'Europe/London' },
    ]);
    assert.doesNotMatch(v.reason, /outside/);
  });

  it('names the allow windows and the next opening on a Saturday outside any blackout', () => {
    const v = evaluateWindow(london, at('2026-11-28T12:00:00Z'), glass);
    assert.equal(v.reason, 'break-glass: INC-5120 payments down; outside the allow windows bypassed (Sat 28 Nov 2026 12:00 GMT; next opening Mon 30 Nov 2026 09:00 GMT)');
    assert.deepEqual(v.verdict === 'OPEN' && v.bypassed, [
      { kind: 'outside-window', at: '2026-11-28T12:00:00.000Z', timezone: 'Europe/London', nextOpening: '2026-11-30T09:00:00.000Z' },
    ]);
  });

  it('names both on a Saturday inside the blackout', () => {
    const v = evaluateWindow(london, at('2026-12-26T12:00:00Z'), glass);
    assert.deepEqual(v.verdict === 'OPEN' && v.bypassed.map((b) => b.kind), ['blackout', 'outside-window']);
    assert.match(v.reason, /blackout "holiday freeze" .* bypassed; outside the allow windows bypassed \(Sat 26 Dec 2026 12:00 GMT; next opening Mon 4 Jan 2027 09:00 GMT\)$/);
  });

  it('says it bypassed nothing inside the window', () => {
    const v = evaluateWindow(london, at('2026-11-24T10:00:00Z'), glass);
    assert.equal(v.reason, 'break-glass: INC-5120 payments down (inside the release window (Tue 24 Nov 2026 10:00 GMT); nothing bypassed)');
    assert.deepEqual(v.verdict === 'OPEN' && v.bypassed, []);
  });
});

describe('describeWindowAt (the gate decision, to be taken again before a deploy)', () => {
  const freeze = { on: true, reason: 'quarter-end close', principal: 'arn:aws:sts::111122223333:assumed-role/ChangeBoard/dana', at: '2026-11-24T08:00:00.000Z' };

  it('blocks during a freeze, naming who declared it, when and why', () => {
    const d = describeWindowAt(london, at('2026-11-24T10:00:00Z'), null, freeze);
    assert.deepEqual(d, { verdict: 'BLOCK', result: 'FAIL', reason: `global freeze since 2026-11-24T08:00:00.000Z by ${freeze.principal}: quarter-end close`, bypassed: [] });
  });

  it('warns when break-glass goes past a freeze and a blackout, naming both', () => {
    const d = describeWindowAt(london, at('2026-12-22T10:32:00Z'), { reason: 'INC-7' }, freeze);
    assert.equal(d.verdict, 'OPEN');
    assert.equal(d.result, 'WARN');
    assert.deepEqual(
      d.bypassed.map((b) => b.kind),
      ['freeze', 'blackout'],
    );
    assert.equal(
      d.reason,
      `break-glass: INC-7; global freeze bypassed (declared by ${freeze.principal} at 2026-11-24T08:00:00.000Z: quarter-end close); blackout "holiday freeze" from 2026-12-20T00:00 to 2027-01-04T00:00 (Europe/London) bypassed`,
    );
  });

  it('warns for break-glass even with nothing to bypass, and passes without it', () => {
    assert.equal(describeWindowAt(london, at('2026-11-24T10:00:00Z'), { reason: 'INC-7' }, { on: false }).result, 'WARN');
    assert.equal(describeWindowAt(london, at('2026-11-24T10:00:00Z'), null, { on: false }).result, 'PASS');
    assert.equal(describeWindowAt(undefined, at('2026-11-24T10:00:00Z'), null, null).result, 'PASS');
  });

  it('notes a rollback during a freeze as WARN, and passes a rollback with nothing to bypass', () => {
    const during = describeWindowAt(undefined, at('2026-11-24T10:00:00Z'), { kind: 'rollback', reason: 'INC-9' }, freeze);
    assert.equal(during.result, 'WARN');
    assert.match(during.reason, /^rollback: INC-9; global freeze bypassed \(declared by .*ChangeBoard\/dana at 2026-11-24T08:00:00.000Z: quarter-end close\)$/);
    assert.equal(describeWindowAt(london, at('2026-11-24T10:00:00Z'), { kind: 'rollback', reason: 'INC-9' }, { on: false }).result, 'PASS');
  });

  it('waits outside the window like evaluateWindow', () => {
    const d = describeWindowAt(london, at('2026-11-28T12:00:00Z'), null, { on: false });
    assert.deepEqual([d.verdict, d.verdict === 'WAIT' && d.until], ['WAIT', '2026-11-30T09:00:00.000Z']);
  });
});

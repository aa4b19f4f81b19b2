import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluateWindow, type WindowSpec } from '../../lambdas/domain/windows';

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
    const night: WindowSpec = { timezone: 'America/New_York', allow: [{ days: ['Fri'], from: '22:00', to: '24:00' }, { days: ['Sat'], from: '00:00', to: '02:00' }], outside: 'wait', blackouts: [] };
    assert.equal(evaluateWindow(night, new Date('2026-11-28T06:30:00Z')).verdict, 'OPEN'); // Sat 01:30 EST
    assert.equal(evaluateWindow(night, new Date('2026-11-28T03:30:00Z')).verdict, 'OPEN'); // Fri 22:30 EST
    const v = evaluateWindow(night, new Date('2026-11-28T07:00:00Z')); // Sat 02:00: closed
    assert.equal(v.verdict === 'WAIT' && v.until, '2026-12-05T03:00:00.000Z');
  });

  it('lets break-glass bypass a blackout, saying so', () => {
    const v = evaluateWindow(london, new Date('2026-12-22T10:00:00Z'), { reason: 'INC-5120 payments down' });
    assert.equal(v.verdict, 'OPEN');
    assert.match(v.reason, /break-glass: INC-5120 payments down \(outside the release window; bypassed\)/);
  });

  it('is open with no window configured', () => {
    assert.equal(evaluateWindow(undefined, new Date('2026-12-25T03:00:00Z')).verdict, 'OPEN');
  });
});

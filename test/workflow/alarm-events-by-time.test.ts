/**
 * A late CloudWatch "Alarm State Change" event, through `gantry simulate` (decision 024): delivered during
 * the prod bake but reporting a change from hours before it, it is recorded on the release and ignored,
 * and prod is promoted; the same event reporting a change inside the bake rolls prod back. The event is
 * the real CloudWatch sample (test/fixtures/aws-samples), made an event of payments-prod-5xx.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { loadScenario, loadScenarioFile } from '../../local/scenario';
import { simulate } from '../../local/simulate';
import { sample } from '../helpers/aws-samples';
import { ROOT } from './helpers';

const NAME = 'payments-prod-5xx';

/** The sample as an event of payments-prod-5xx whose change happened at `changedAt` (ISO, UTC). */
function lateAlarm(changedAt: string): Record<string, unknown> {
  const e = sample('cloudwatch-alarm-state-change-metric-alarm-to-alarm.json');
  e.detail.alarmName = NAME;
  e.resources = [`arn:aws:cloudwatch:eu-west-2:111122223333:alarm:${NAME}`];
  e.account = '111122223333';
  e.region = 'eu-west-2';
  e.detail.state.timestamp = changedAt.replace('Z', '+0000');
  return e;
}

/** The demo (prod bakes 30 minutes from 10:31), with the event delivered at minute 5 of the prod bake. */
async function demoWith(event: Record<string, unknown>) {
  const raw = structuredClone(loadScenarioFile(join(ROOT, 'examples', 'scenarios', 'demo.json')).scenario) as Record<string, unknown>;
  raw.config = '../gantry.config.json';
  raw.script = [{ when: { service: 'payments', stage: 'prod', phase: 'bake', after: 'PT5M' }, event }];
  return simulate(loadScenario(raw, join(ROOT, 'examples', 'scenarios')));
}

describe('an ALARM event delivered during the prod bake', () => {
  it('is recorded and ignored when its state change is three hours older than the bake; prod is promoted', async () => {
    const { output, ledgerEvents } = await demoWith(lateAlarm('2026-11-24T07:31:00.000Z'));

    const release = output.releases[0];
    assert.equal(release?.status, 'SUCCEEDED');
    assert.equal(release?.stages.find((s) => s.name === 'prod')?.status, 'PROMOTED');
    const ignored = ledgerEvents.filter((e) => e.type === 'bake.event-ignored');
    assert.equal(ignored.length, 1);
    assert.equal(ignored[0]?.stage, 'prod');
    assert.equal(ignored[0]?.data.changedAt, '2026-11-24T07:31:00.000Z');
    assert.match(String(ignored[0]?.data.reason), /^alarm payments-prod-5xx went to ALARM at 2026-11-24T07:31:00.000Z, 3 h before this bake began \(2026-11-24T10:31:00.000Z\)/);
    assert.ok(output.timeline.some((t) => t.event === 'Alarm Event Ignored' && t.stage === 'prod'));
    assert.equal(release?.audit.verified, true);
  });

  it('fails the bake when its state change is inside the bake (the control): prod is rolled back', async () => {
    const { output, ledgerEvents } = await demoWith(lateAlarm('2026-11-24T10:35:00.000Z'));

    const prod = output.releases[0]?.stages.find((s) => s.name === 'prod');
    assert.equal(output.releases[0]?.status, 'ROLLED_BACK');
    assert.equal(prod?.status, 'ROLLED_BACK');
    assert.match(String(prod?.rollback?.reason), /payments-prod-5xx in ALARM at bake minute 4/);
    assert.equal(ledgerEvents.filter((e) => e.type === 'bake.event-ignored').length, 0);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { alarmStateChangePattern } from '../../lambdas/domain/event-patterns';
import { parseAlarmStateChange } from '../../lambdas/domain/events';
import { matchesPattern } from '../../lambdas/domain/pattern-match';
import { VirtualClock } from '../../local/clock';
import { LocalAwsError, LocalCloud } from '../../local/cloud';
import { scenarioSchema } from '../../local/scenario';

const START = '2026-11-24T10:00:00Z';
const MINUTE = 60_000;
const DIGEST = `sha256:${'5e'.repeat(32)}`;
const SCANNING = `sha256:${'6f'.repeat(32)}`;

function makeCloud(): { cloud: LocalCloud; clock: VirtualClock } {
  const scenario = scenarioSchema.parse({
    name: 'local cloud unit test',
    config: 'gantry.config.json',
    clock: START,
    ecr: {
      'payments-api': {
        images: [
          { digest: DIGEST, tags: ['v1.4.2'], scan: { status: 'COMPLETE', findings: [] } },
          { digest: SCANNING, tags: ['v1.4.3'], scan: { status: 'IN_PROGRESS', completesAfter: 'PT3M', findings: [{ id: 'CVE-2026-0001', severity: 'HIGH', package: 'zlib' }] } },
        ],
      },
    },
    alarms: { 'payments-prod-5xx': 'OK', 'payments-prod-latency-p99': 'MISSING', 'payments-staging-5xx': 'ALARM' },
  });
  const clock = new VirtualClock(new Date(START));
  return { cloud: new LocalCloud(scenario, clock), clock };
}

/** Move virtual time forward by `ms` (nothing else is scheduled in these tests). */
async function advance(clock: VirtualClock, ms: number): Promise<void> {
  const woke = clock.sleep(ms);
  await clock.run();
  await woke;
}

describe('LocalCloud faults', () => {
  it('fails the named operation exactly `count` times with the error code as its name, then succeeds', async () => {
    const { cloud } = makeCloud();
    cloud.addFault('ecr', 'DescribeImages', 'ThrottlingException', 2);
    const outcomes: string[] = [];

    for (let i = 0; i < 3; i++) {
      try {
        const image = await cloud.describeImage('payments-api', { tag: 'v1.4.2' });
        outcomes.push(`ok ${image?.digest === DIGEST ? 'image found' : 'image missing'}`);
      } catch (e) {
        assert.ok(e instanceof LocalAwsError, `expected a LocalAwsError, got ${String(e)}`);
        outcomes.push(`${e.name} from ${e.service} ${e.operation}`);
      }
    }

    assert.deepEqual(outcomes, ['ThrottlingException from ecr DescribeImages', 'ThrottlingException from ecr DescribeImages', 'ok image found']);
  });

  it('leaves other operations alone while a fault is armed', async () => {
    const { cloud } = makeCloud();
    cloud.addFault('ecr', 'DescribeImages', 'ThrottlingException', 1);

    const scan = await cloud.scanFindings('payments-api', DIGEST);

    assert.equal(scan.status, 'COMPLETE');
  });
});

describe('LocalCloud ECR scans', () => {
  it('reads an IN_PROGRESS scan as IN_PROGRESS until completesAfter has passed', async () => {
    const { cloud, clock } = makeCloud();

    const atStart = await cloud.scanFindings('payments-api', SCANNING);
    await advance(clock, 3 * MINUTE - 1);
    const justBefore = await cloud.scanFindings('payments-api', SCANNING);

    assert.deepEqual(atStart, { status: 'IN_PROGRESS', description: undefined, findings: [] });
    assert.equal(justBefore.status, 'IN_PROGRESS');
  });

  it('reads an IN_PROGRESS scan as COMPLETE, with its findings, once completesAfter has passed', async () => {
    const { cloud, clock } = makeCloud();

    await advance(clock, 3 * MINUTE);
    const scan = await cloud.scanFindings('payments-api', SCANNING);
    const image = await cloud.describeImage('payments-api', { digest: SCANNING });

    assert.equal(scan.status, 'COMPLETE');
    assert.deepEqual(
      scan.findings.map((f) => `${f.severity} ${f.id}`),
      ['HIGH CVE-2026-0001'],
    );
    assert.equal(image?.scanStatus, 'COMPLETE');
  });
});

describe('LocalCloud CloudWatch alarms', () => {
  it('leaves MISSING alarms out of describeAlarms and reports the others with their state', async () => {
    const { cloud } = makeCloud();

    const states = await cloud.describeAlarms(['payments-prod-5xx', 'payments-prod-latency-p99', 'payments-staging-5xx', 'never-mentioned']);

    assert.deepEqual(
      states.map((s) => `${s.name} ${s.state}`),
      ['payments-prod-5xx OK', 'payments-staging-5xx ALARM', 'never-mentioned OK'],
    );
  });

  it('emits, when an alarm goes to ALARM, an Alarm State Change event the parser accepts and the watcher rule matches', () => {
    const { cloud } = makeCloud();

    const event = cloud.setAlarm('payments-prod-5xx', 'ALARM', 'Threshold Crossed: 5xx > 1%');

    assert.ok(event, 'setAlarm returned an event');
    const parsed = parseAlarmStateChange(event);
    assert.equal(parsed.alarmName, 'payments-prod-5xx');
    assert.equal(parsed.state.value, 'ALARM');
    assert.equal(parsed.state.reason, 'Threshold Crossed: 5xx > 1%');
    assert.equal(parsed.state.timestamp, '2026-11-24T10:00:00.000Z');
    assert.equal(parsed.previousState.value, 'OK');
    assert.ok(matchesPattern(alarmStateChangePattern, event), 'the alarm watcher rule matches the event');
  });

  it('emits, when an alarm goes back to OK, an event the watcher rule does not match', () => {
    const { cloud } = makeCloud();

    const event = cloud.setAlarm('payments-staging-5xx', 'OK');

    assert.ok(event, 'setAlarm returned an event');
    assert.equal(parseAlarmStateChange(event).previousState.value, 'ALARM');
    assert.equal(matchesPattern(alarmStateChangePattern, event), false);
  });

  it('emits nothing when the alarm is already in that state', () => {
    const { cloud } = makeCloud();

    assert.equal(cloud.setAlarm('payments-staging-5xx', 'ALARM'), undefined);
  });

  it('reports the new state through describeAlarms after setAlarm', async () => {
    const { cloud } = makeCloud();

    cloud.setAlarm('payments-prod-5xx', 'ALARM');
    const [state] = await cloud.describeAlarms(['payments-prod-5xx']);

    assert.equal(state?.state, 'ALARM');
  });
});

describe('LocalCloud timers', () => {
  it('fires a schedule once even when it is created twice under one name', async () => {
    const { cloud, clock } = makeCloud();
    const fired: unknown[] = [];
    cloud.timerHandler = async (payload) => {
      fired.push({ at: clock.now().toISOString(), payload });
    };
    const at = new Date(Date.parse(START) + 10 * MINUTE).toISOString();

    await cloud.schedule('bake-r1-prod', at, { attempt: 1 });
    await cloud.schedule('bake-r1-prod', at, { attempt: 2 });
    await clock.run();

    assert.deepEqual(fired, [{ at: '2026-11-24T10:10:00.000Z', payload: { attempt: 1 } }]);
  });

  it('does not fire a cancelled schedule', async () => {
    const { cloud, clock } = makeCloud();
    const fired: unknown[] = [];
    cloud.timerHandler = async (payload) => {
      fired.push(payload);
    };
    await cloud.schedule('bake-r2-prod', new Date(Date.parse(START) + 10 * MINUTE).toISOString(), { releaseId: 'r2' });

    await cloud.cancel('bake-r2-prod');
    await clock.run();

    assert.deepEqual(fired, []);
  });
});

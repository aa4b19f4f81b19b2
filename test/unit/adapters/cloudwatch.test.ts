import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, it } from 'vitest';
import { CloudWatchClient, CloudWatchServiceException, DescribeAlarmsCommand, type DescribeAlarmsCommandOutput } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { CloudWatchAlarms } from '../../../lambdas/adapters/cloudwatch';
import { TransientAwsError } from '../../../lambdas/adapters/errors';

const SAMPLES = path.join(__dirname, '../../fixtures/aws-samples');
/** The CLI renders timestamps as ISO strings; the SDK gives Date. */
const DATE_KEYS = new Set(['StateUpdatedTimestamp', 'AlarmConfigurationUpdatedTimestamp', 'StateTransitionedTimestamp']);
function sample(file: string): DescribeAlarmsCommandOutput {
  return JSON.parse(readFileSync(path.join(SAMPLES, file), 'utf8'), (key, value) =>
    DATE_KEYS.has(key) && typeof value === 'string' ? new Date(value) : value,
  ) as DescribeAlarmsCommandOutput;
}

const metricOk = () => sample('cloudwatch-describe-alarms-metric-alarm-ok.json');
const composite = () => sample('cloudwatch-describe-alarms-composite.constructed.json');

describe('CloudWatchAlarms.describeAlarms', () => {
  const client = new CloudWatchClient({ region: 'eu-west-2' });
  const cw = mockClient(client);
  const alarms = new CloudWatchAlarms(client);
  beforeEach(() => cw.reset());

  it('asks for metric and composite alarms by name', async () => {
    cw.on(DescribeAlarmsCommand).resolves(metricOk());

    await alarms.describeAlarms(['myalarm', 'ServiceAggregatedAlarm']);

    const calls = cw.commandCalls(DescribeAlarmsCommand);
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0]?.args[0].input, {
      AlarmNames: ['myalarm', 'ServiceAggregatedAlarm'],
      AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
      MaxRecords: 100,
    });
  });

  it('maps a metric alarm from the CLI sample', async () => {
    cw.on(DescribeAlarmsCommand).resolves(metricOk());

    const states = await alarms.describeAlarms(['myalarm']);

    assert.deepEqual(states, [
      {
        name: 'myalarm',
        type: 'MetricAlarm',
        state: 'OK',
        reason: 'Threshold Crossed: 2 datapoints were not greater than the threshold (70.0). The most recent datapoints: [38.958, 40.292].',
        updatedAt: '2014-04-09T18:59:06.442Z',
      },
    ]);
  });

  it('maps a composite alarm in ALARM', async () => {
    cw.on(DescribeAlarmsCommand).resolves(composite());

    const [state] = await alarms.describeAlarms(['ServiceAggregatedAlarm']);

    assert.deepEqual(state, {
      name: 'ServiceAggregatedAlarm',
      type: 'CompositeAlarm',
      state: 'ALARM',
      reason: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:SuppressionDemo.EventBridge.FirstChild transitioned to ALARM at Friday 22 July, 2022 15:57:45 UTC',
      updatedAt: '2022-07-22T15:57:45.394Z',
    });
  });

  it('leaves out names that match no alarm and answers in the order asked', async () => {
    cw.on(DescribeAlarmsCommand).resolves({ MetricAlarms: metricOk().MetricAlarms, CompositeAlarms: composite().CompositeAlarms });

    const states = await alarms.describeAlarms(['ServiceAggregatedAlarm', 'deleted-alarm', 'myalarm']);

    assert.deepEqual(
      states.map((s) => s.name),
      ['ServiceAggregatedAlarm', 'myalarm'],
    );
  });

  it('asks in chunks of 100 names', async () => {
    cw.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
    const names = Array.from({ length: 250 }, (_, i) => `alarm-${i}`);

    await alarms.describeAlarms(names);

    const sent = cw.commandCalls(DescribeAlarmsCommand).map((c) => c.args[0].input.AlarmNames ?? []);
    assert.deepEqual(
      sent.map((n) => n.length),
      [100, 100, 50],
    );
    assert.deepEqual(sent.flat(), names);
  });

  it('asks once per distinct name', async () => {
    cw.on(DescribeAlarmsCommand).resolves(metricOk());

    const states = await alarms.describeAlarms(['myalarm', 'myalarm']);

    assert.deepEqual(cw.commandCalls(DescribeAlarmsCommand)[0]?.args[0].input.AlarmNames, ['myalarm']);
    assert.equal(states.length, 1);
  });

  it('follows NextToken until the last page', async () => {
    cw.on(DescribeAlarmsCommand)
      .resolvesOnce({ ...metricOk(), NextToken: 'next-1' })
      .resolvesOnce(composite());

    const states = await alarms.describeAlarms(['myalarm', 'ServiceAggregatedAlarm']);

    const calls = cw.commandCalls(DescribeAlarmsCommand);
    assert.equal(calls.length, 2);
    assert.equal(calls[1]?.args[0].input.NextToken, 'next-1');
    assert.deepEqual(calls[1]?.args[0].input.AlarmNames, ['myalarm', 'ServiceAggregatedAlarm']);
    assert.deepEqual(
      states.map((s) => `${s.name}=${s.state}`),
      ['myalarm=OK', 'ServiceAggregatedAlarm=ALARM'],
    );
  });

  it('makes no call for no names', async () => {
    assert.deepEqual(await alarms.describeAlarms([]), []);
    assert.equal(cw.commandCalls(DescribeAlarmsCommand).length, 0);
  });

  it('refuses an alarm whose state it does not know rather than report it healthy', async () => {
    const out = metricOk();
    cw.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ ...out.MetricAlarms?.[0], StateValue: undefined }] });

    await assert.rejects(alarms.describeAlarms(['myalarm']), /myalarm/);
  });

  it('rethrows throttling as an error named Throttling after the AWS error', async () => {
    // CloudWatch's query protocol names its throttling error "Throttling".
    cw.on(DescribeAlarmsCommand).rejects(new CloudWatchServiceException({ name: 'Throttling', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded' }));

    await assert.rejects(alarms.describeAlarms(['myalarm']), (e: unknown) => e instanceof TransientAwsError && e.name === 'Throttling');
  });

  it('rethrows a 5xx as a transient error', async () => {
    cw.on(DescribeAlarmsCommand).rejects(new CloudWatchServiceException({ name: 'InternalServiceFault', $fault: 'server', $metadata: { httpStatusCode: 500 }, message: 'boom' }));

    await assert.rejects(alarms.describeAlarms(['myalarm']), (e: unknown) => e instanceof TransientAwsError && e.name === 'InternalServiceFault');
  });
});

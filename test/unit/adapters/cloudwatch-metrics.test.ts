/** CloudWatchMetrics (lambdas/adapters/cloudwatch-metrics.ts): GetMetricData for the canary analysis (decision 043). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, it } from 'vitest';
import { CloudWatchClient, CloudWatchServiceException, GetMetricDataCommand, type GetMetricDataCommandOutput } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { CloudWatchMetrics } from '../../../lambdas/adapters/cloudwatch-metrics';

const SAMPLES = path.join(__dirname, '../../fixtures/aws-samples');
/** The sample's ISO timestamps as the SDK gives them (Date). */
const sample = (): GetMetricDataCommandOutput =>
  JSON.parse(readFileSync(path.join(SAMPLES, 'cloudwatch-get-metric-data.constructed.json'), 'utf8'), (k, v) =>
    k === 'Timestamps' && Array.isArray(v) ? v.map((t: string) => new Date(t)) : v,
  ) as GetMetricDataCommandOutput;
const q = (id: string, value: string) => ({ id, namespace: 'Payments', name: '5xxRate', stat: 'Average', periodSeconds: 60, dimensions: { Deployment: value } });

describe('CloudWatchMetrics.getMetricData', () => {
  const client = new CloudWatchClient({ region: 'eu-west-2' });
  const cw = mockClient(client);
  const metrics = new CloudWatchMetrics(client);
  beforeEach(() => cw.reset());

  it('asks for each query as a MetricStat over the window, and gives each series oldest first', async () => {
    cw.on(GetMetricDataCommand).resolves(sample());
    const out = await metrics.getMetricData([q('stable', 'payments-api'), q('canary', 'payments-api-canary')], '2026-11-24T10:12:00.000Z', '2026-11-24T10:22:00.000Z');
    assert.deepEqual(out, { stable: [1.0, 1.5], canary: [2.0, 2.5] });
    const input = cw.commandCalls(GetMetricDataCommand)[0]?.args[0].input;
    assert.deepEqual(input?.StartTime, new Date('2026-11-24T10:12:00.000Z'));
    assert.deepEqual(input?.EndTime, new Date('2026-11-24T10:22:00.000Z'));
    assert.deepEqual(input?.MetricDataQueries?.[1], {
      Id: 'canary',
      ReturnData: true,
      MetricStat: { Metric: { Namespace: 'Payments', MetricName: '5xxRate', Dimensions: [{ Name: 'Deployment', Value: 'payments-api-canary' }] }, Period: 60, Stat: 'Average' },
    });
  });

  it('follows NextToken and gives a query with no datapoints an empty series', async () => {
    const first = sample();
    cw.on(GetMetricDataCommand)
      .resolvesOnce({ MetricDataResults: [first.MetricDataResults![1]!], NextToken: 'page-2' })
      .resolvesOnce({ MetricDataResults: [{ Id: 'stable', Timestamps: [new Date('2026-11-24T10:14:00Z')], Values: [3], StatusCode: 'Complete' }] });
    const out = await metrics.getMetricData([q('stable', 'payments-api'), q('canary', 'payments-api-canary')], '2026-11-24T10:12:00Z', '2026-11-24T10:22:00Z');
    assert.deepEqual(out, { stable: [1.0, 1.5, 3], canary: [] });
    assert.equal(cw.commandCalls(GetMetricDataCommand)[1]?.args[0].input.NextToken, 'page-2');
  });

  it('lets an AWS error through for the handler to record as an unreadable metric', async () => {
    cw.on(GetMetricDataCommand).rejects(
      new CloudWatchServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: {}, message: 'not authorized to perform: cloudwatch:GetMetricData' }),
    );
    await assert.rejects(metrics.getMetricData([q('stable', 'a')], '2026-11-24T10:12:00Z', '2026-11-24T10:22:00Z'), /GetMetricData/);
  });
});

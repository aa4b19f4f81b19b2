/** MetricReader over Amazon CloudWatch GetMetricData (AWS SDK v3): the canary analysis (docs/decisions/043-canary-steps.md). */
import { type CloudWatchClient, GetMetricDataCommand, type GetMetricDataCommandOutput } from '@aws-sdk/client-cloudwatch';
import type { MetricQuery, MetricReader } from '../ports';
import { rethrow } from './errors';

/** Pages of one GetMetricData call followed at most (a step's bake of 1,440 one-minute points fits in one). */
const MAX_PAGES = 20;

export class CloudWatchMetrics implements MetricReader {
  constructor(private readonly client: CloudWatchClient) {}

  /** Every datapoint of each query in [start, end), oldest first, by query id. */
  async getMetricData(queries: readonly MetricQuery[], start: string, end: string): Promise<Record<string, number[]>> {
    const points = new Map<string, Array<{ at: number; value: number }>>(queries.map((q) => [q.id, []]));
    let nextToken: string | undefined;
    let pages = 0;
    do {
      let out: GetMetricDataCommandOutput;
      try {
        out = await this.client.send(
          new GetMetricDataCommand({
            StartTime: new Date(start),
            EndTime: new Date(end),
            ScanBy: 'TimestampAscending',
            MetricDataQueries: queries.map((q) => ({
              Id: q.id,
              ReturnData: true,
              MetricStat: {
                Metric: { Namespace: q.namespace, MetricName: q.name, Dimensions: Object.entries(q.dimensions).map(([Name, Value]) => ({ Name, Value })) },
                Period: q.periodSeconds,
                Stat: q.stat,
              },
            })),
            ...(nextToken ? { NextToken: nextToken } : {}),
          }),
        );
      } catch (e) {
        return rethrow(e);
      }
      for (const r of out.MetricDataResults ?? []) {
        const list = r.Id ? points.get(r.Id) : undefined;
        if (!list) continue;
        (r.Timestamps ?? []).forEach((t, i) => {
          const v = r.Values?.[i];
          if (typeof v === 'number' && Number.isFinite(v)) list.push({ at: new Date(t).getTime(), value: v });
        });
      }
      nextToken = out.NextToken;
      pages += 1;
    } while (nextToken && pages < MAX_PAGES);
    return Object.fromEntries([...points].map(([id, list]) => [id, list.sort((a, b) => a.at - b.at).map((p) => p.value)]));
  }
}

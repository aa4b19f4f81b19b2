/** AlarmReader over Amazon CloudWatch DescribeAlarms (AWS SDK v3). */
import { type CloudWatchClient, type CompositeAlarm, DescribeAlarmsCommand, type DescribeAlarmsCommandOutput, type MetricAlarm } from '@aws-sdk/client-cloudwatch';
import type { AlarmReader, AlarmState } from '../ports';
import { rethrow } from './errors';

/** DescribeAlarms accepts at most 100 alarm names per call. */
export const ALARM_NAMES_PER_CALL = 100;
const MAX_PAGES = 1000;
const STATES = new Set<AlarmState['state']>(['OK', 'ALARM', 'INSUFFICIENT_DATA']);

export class CloudWatchAlarms implements AlarmReader {
  constructor(private readonly client: CloudWatchClient) {}

  /** Metric and composite alarms with these names; names that match no alarm are absent. */
  async describeAlarms(names: readonly string[]): Promise<AlarmState[]> {
    const unique = [...new Set(names)];
    const found = new Map<string, AlarmState>();
    for (let i = 0; i < unique.length; i += ALARM_NAMES_PER_CALL) {
      const chunk = unique.slice(i, i + ALARM_NAMES_PER_CALL);
      let nextToken: string | undefined;
      let pages = 0;
      do {
        let out: DescribeAlarmsCommandOutput;
        try {
          out = await this.client.send(
            new DescribeAlarmsCommand({
              AlarmNames: chunk,
              AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
              MaxRecords: ALARM_NAMES_PER_CALL,
              ...(nextToken ? { NextToken: nextToken } : {}),
            }),
          );
        } catch (e) {
          return rethrow(e);
        }
        for (const a of out.MetricAlarms ?? []) add(found, toState(a, 'MetricAlarm'));
        for (const a of out.CompositeAlarms ?? []) add(found, toState(a, 'CompositeAlarm'));
        nextToken = out.NextToken;
        pages += 1;
      } while (nextToken && pages < MAX_PAGES);
      if (nextToken) throw new Error(`DescribeAlarms returned more than ${MAX_PAGES} pages`);
    }
    // In the order asked for, so a gate's evidence reads like its config.
    return unique.flatMap((n) => {
      const s = found.get(n);
      return s ? [s] : [];
    });
  }
}

function add(found: Map<string, AlarmState>, state: AlarmState | undefined): void {
  if (state) found.set(state.name, state);
}

function toState(a: MetricAlarm | CompositeAlarm, type: AlarmState['type']): AlarmState | undefined {
  if (!a.AlarmName) return undefined;
  const value = a.StateValue as AlarmState['state'] | undefined;
  if (!value || !STATES.has(value)) {
    // An unknown or missing state is never reported as healthy.
    throw new Error(`alarm ${a.AlarmName} has an unexpected StateValue ${JSON.stringify(a.StateValue)}`);
  }
  return {
    name: a.AlarmName,
    type,
    state: value,
    ...(a.StateReason ? { reason: a.StateReason } : {}),
    ...(a.StateUpdatedTimestamp ? { updatedAt: a.StateUpdatedTimestamp.toISOString() } : {}),
  };
}

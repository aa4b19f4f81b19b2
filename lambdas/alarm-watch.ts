/**
 * CloudWatch Alarm State Change → fail every bake watching that alarm, at once. Configuration
 * changes, other transitions and alarms no bake watches do nothing.
 */
import { minutesBetween } from './domain/gates';
import { parseGantryEvent } from './domain/events';
import type { Deps } from './ports';
import { endBake } from './shared/bake';
import { lambdaHandler, logger } from './shared/middleware';

export async function run(event: unknown, deps: Deps): Promise<{ failedBakes: number }> {
  const parsed = parseGantryEvent(event);
  if (parsed.kind !== 'alarm-state' || parsed.state.value !== 'ALARM') return { failedBakes: 0 };
  const alarm = { alarmName: parsed.alarmName, reason: parsed.state.reason, timestamp: parsed.state.timestamp, previousState: parsed.previousState.value };
  let failed = 0;
  for (const token of await deps.ledger.tokensForAlarm(alarm.alarmName)) {
    if (token.kind !== 'BAKE' || !token.alarms.includes(alarm.alarmName)) continue;
    const startedAt = String(token.attrs?.bakeStartedAt ?? token.createdAt);
    const detectedAt = alarm.timestamp ?? deps.now().toISOString();
    const bakeMinute = minutesBetween(startedAt, detectedAt);
    const reason = `alarm ${alarm.alarmName} in ALARM at bake minute ${bakeMinute}${alarm.reason ? `: ${alarm.reason}` : ''}`;
    const ended = await endBake(deps, token.releaseId, token.stage, {
      kind: 'fail',
      error: 'AlarmBreached',
      cause: { alarm: alarm.alarmName, reason: alarm.reason, detectedAt, bakeMinute },
      gate: { gate: 'bake', result: 'FAIL', reason, evidence: { alarm: alarm.alarmName, state: 'ALARM', previous: alarm.previousState, reason: alarm.reason, timestamp: detectedAt } },
      detectedAt,
    });
    if (ended) {
      failed++;
      logger.info('bake failed by alarm', { releaseId: token.releaseId, stage: token.stage, alarm: alarm.alarmName });
    }
  }
  return { failedBakes: failed };
}

export const handler = lambdaHandler(run);

/**
 * CloudWatch Alarm State Change → fail every bake watching that alarm, at once. Configuration
 * changes, other transitions and alarms no bake watches do nothing.
 *
 * Events are judged by their time (decision 024): EventBridge delivers at least once and not in order,
 * and an archive can replay, so an ALARM event can arrive hours after the change it reports. A change
 * (`detail.state.timestamp`) from before the bake began (the BAKE token's `bakeStartedAt`, which is after
 * the deploy) is not a failure of this bake: it is recorded on the release as `bake.event-ignored` with
 * the reason, and ignored. The bake still sees an alarm that is in ALARM: the registration read the
 * alarms' state when the bake began, and the bake timer reads it again when it ends.
 */
import { minutesBetween } from './domain/gates';
import { eventAlarmKey } from './domain/cluster-scope';
import { parseGantryEvent } from './domain/events';
import type { Deps, TokenRecord } from './ports';
import { endBake } from './shared/bake';
import { lambdaHandler, logger } from './shared/middleware';
import { record } from './shared/recorder';
import { stageStep } from './domain/step-keys';

export async function run(event: unknown, deps: Deps): Promise<{ failedBakes: number; ignoredBakes?: number }> {
  const parsed = parseGantryEvent(event);
  if (parsed.kind !== 'alarm-state' || parsed.state.value !== 'ALARM') return { failedBakes: 0 };
  const alarm = { alarmName: parsed.alarmName, reason: parsed.state.reason, timestamp: parsed.state.timestamp, previousState: parsed.previousState.value };
  // The alarm's place (issue 18): a bake watches an alarm in its cluster's account and region, and is indexed so
  // (the plain name at home); an alarm named the same elsewhere is another key, and fails no bake here.
  const key = eventAlarmKey(deps.config, { account: parsed.account, region: parsed.region, alarmName: alarm.alarmName }, deps.runtime.region);
  const placeOf = key === alarm.alarmName ? {} : { account: parsed.account, region: parsed.region };
  let failed = 0;
  let ignored = 0;
  for (const token of await deps.ledger.tokensForAlarm(key)) {
    if (token.kind !== 'BAKE' || !token.alarms.includes(key)) continue;
    const startedAt = String(token.attrs?.bakeStartedAt ?? token.createdAt);
    const detectedAt = alarm.timestamp ?? deps.now().toISOString();
    if (Date.parse(detectedAt) < Date.parse(startedAt)) {
      await ignoreEarlierChange(deps, token, { alarm: alarm.alarmName, changedAt: detectedAt, bakeStartedAt: startedAt, eventId: parsed.id, previous: alarm.previousState });
      ignored++;
      continue;
    }
    const bakeMinute = minutesBetween(startedAt, detectedAt);
    const reason = `alarm ${alarm.alarmName} in ALARM at bake minute ${bakeMinute}${alarm.reason ? `: ${alarm.reason}` : ''}`;
    const ended = await endBake(
      deps,
      token.releaseId,
      token.stage,
      {
        kind: 'fail',
        error: 'AlarmBreached',
        cause: { alarm: alarm.alarmName, reason: alarm.reason, detectedAt, bakeMinute },
        gate: {
          gate: 'bake',
          result: 'FAIL',
          reason,
          evidence: { alarm: alarm.alarmName, state: 'ALARM', previous: alarm.previousState, reason: alarm.reason, timestamp: detectedAt, ...placeOf },
        },
        detectedAt,
      },
      { phase: token.phase ?? null },
    );
    if (ended) {
      failed++;
      logger.info('bake failed by alarm', { releaseId: token.releaseId, stage: token.stage, alarm: alarm.alarmName });
    }
  }
  return ignored > 0 ? { failedBakes: failed, ignoredBakes: ignored } : { failedBakes: failed };
}

/** How long before the bake a change happened, in words: "3 h 12 min", "45 s". */
export function durationText(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h${min % 60 ? ` ${min % 60} min` : ''}`;
  return `${Math.floor(h / 24)} days`;
}

/**
 * Record on the release that an ALARM event reported a change from before the bake began, and why it
 * does not fail the bake. One event per (stage, alarm, change): a redelivery of the same event writes nothing.
 */
async function ignoreEarlierChange(
  deps: Deps,
  token: TokenRecord,
  e: { alarm: string; changedAt: string; bakeStartedAt: string; eventId: string; previous: string },
): Promise<void> {
  const before = durationText(Date.parse(e.bakeStartedAt) - Date.parse(e.changedAt));
  const reason = `alarm ${e.alarm} went to ALARM at ${e.changedAt}, ${before} before this bake began (${e.bakeStartedAt}): an earlier state change delivered late is not a failure of this bake; the alarm's state now is read when the bake ends`;
  await record(
    deps,
    token.releaseId,
    stageStep.bakeEventIgnored(token.stage, e.alarm, e.changedAt),
    'bake.event-ignored',
    { alarm: e.alarm, state: 'ALARM', previous: e.previous, changedAt: e.changedAt, bakeStartedAt: e.bakeStartedAt, eventId: e.eventId, reason },
    token.stage,
  );
  logger.info('alarm event from before the bake ignored', { releaseId: token.releaseId, stage: token.stage, alarm: e.alarm, changedAt: e.changedAt });
}

export const handler = lambdaHandler(run);

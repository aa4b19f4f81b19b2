/**
 * Start of a stage's bake (a `.waitForTaskToken` task): store the task token against the stage's
 * alarms, schedule the end of the bake, and check once that no alarm already fires (an alarm event
 * sent during the deploy found no token to fail).
 */
import { z } from 'zod';
import { alarmProblems, evaluateBakeEnd } from './domain/gates';
import { parseWith } from './domain/validation';
import type { Deps } from './ports';
import { bakeTimerName, endBake } from './shared/bake';
import { checkLease } from './shared/lease';
import { lambdaHandler } from './shared/middleware';
import { loadRelease, record, stageConfigOf } from './shared/recorder';

const eventSchema = z.object({ taskToken: z.string().min(1), releaseId: z.string().min(1), stage: z.string().min(1) });

export async function run(event: unknown, deps: Deps): Promise<{ registered: boolean }> {
  const e = parseWith(eventSchema, event, 'task input');
  const release = await loadRelease(deps, e.releaseId);
  const { st } = stageConfigOf(deps, release.service, e.stage);
  const now = deps.now();
  const until = new Date(now.getTime() + st.bakeMinutes * 60_000).toISOString();
  await record(deps, e.releaseId, `stage:${e.stage}:bake.started`, 'bake.started', { alarms: st.alarms, bakeMinutes: st.bakeMinutes, until, insufficientData: st.insufficientData }, e.stage);
  await deps.ledger.putToken({
    kind: 'BAKE',
    releaseId: e.releaseId,
    service: release.service,
    stage: e.stage,
    token: e.taskToken,
    alarms: st.alarms,
    createdAt: now.toISOString(),
    expiresAt: new Date(Date.parse(until) + 24 * 3600_000).toISOString(),
    attrs: { bakeStartedAt: now.toISOString() },
  });
  // An operator rollback may have taken the stage between the deploy and this registration (it found no token to fail).
  const lease = await checkLease(deps, e.releaseId, release.service, e.stage, await deps.ledger.events(e.releaseId));
  if (!lease.held) {
    const lost = (await deps.ledger.events(e.releaseId)).filter((x) => x.type === 'lease.lost' && x.stage === e.stage).at(-1);
    const cause = String(lost?.data.reason ?? `the stage's lease was taken by ${lease.holder ?? 'another release'}`);
    await endBake(deps, e.releaseId, e.stage, { kind: 'fail', error: 'OperatorRollback', cause, gate: { gate: 'bake', result: 'FAIL', reason: `bake stopped: ${cause}` }, detectedAt: now.toISOString() });
    return { registered: false };
  }
  const states = st.alarms.length ? await deps.alarms.describeAlarms(st.alarms) : [];
  const firing = states.filter((s) => s.state === 'ALARM');
  const missing = alarmProblems(st, states).failures.filter((f) => f.endsWith('does not exist'));
  if (firing.length || missing.length) {
    const first = firing[0];
    const gate = evaluateBakeEnd({ ...st, bakeMinutes: 0 }, states);
    await endBake(deps, e.releaseId, e.stage, {
      kind: 'fail',
      error: first ? 'AlarmBreached' : 'BakeFailed',
      cause: first ? { alarm: first.name, reason: first.reason, detectedAt: first.updatedAt ?? now.toISOString(), bakeMinute: 0 } : gate.reason,
      gate: { ...gate, reason: `at bake start: ${gate.reason}` },
      detectedAt: first?.updatedAt ?? now.toISOString(),
    });
    return { registered: false };
  }
  await deps.timers.schedule(bakeTimerName(e.releaseId, e.stage), until, { releaseId: e.releaseId, stage: e.stage });
  return { registered: true };
}

export const handler = lambdaHandler(run);

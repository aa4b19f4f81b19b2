/**
 * Start of a stage's bake (a `.waitForTaskToken` task): store the task token against the stage's
 * alarms, schedule the end of the bake, and check once that no alarm already fires (an alarm event
 * sent during the deploy found no token to fail). Alarms that cannot be read, and an end of bake that
 * cannot be scheduled, fail the bake at once (decision 018): the stage is rolled back now rather than
 * left to the bake's safety timeout.
 */
import { stageClusters } from './domain/config';
import * as z from 'zod';
import { alarmProblems, awsErrorText, evaluateAlarmReadFailure, evaluateBakeEnd } from './domain/gates';
import { parseWith } from './domain/validation';
import type { Deps } from './ports';
import { awsErrorOf, bakeAlarmKeys, readStageAlarms } from './shared/alarms';
import { bakePhaseSchema, bakeTimerName, endBake } from './shared/bake';
import { checkLease } from './shared/lease';
import { lambdaHandler } from './shared/middleware';
import { loadRelease, record, stageConfigOf } from './shared/recorder';
import { stageStep } from './domain/step-keys';

const eventSchema = z.object({ taskToken: z.string().min(1), releaseId: z.string().min(1), stage: z.string().min(1), phase: bakePhaseSchema.optional() });

/** The earliest a bake timer is scheduled, after now. */
export const BAKE_TIMER_MIN_LEAD_MS = 60_000;

export async function run(event: unknown, deps: Deps): Promise<{ registered: boolean }> {
  const e = parseWith(eventSchema, event, 'task input');
  const events = await deps.ledger.events(e.releaseId);
  const release = await loadRelease(deps, e.releaseId, events);
  const { st: stage } = stageConfigOf(deps, release.service, e.stage);
  // A phase bakes on the stage's alarms and its own, for its own minutes; everything else as the stage's bake.
  const st = e.phase ? { ...stage, alarms: [...new Set([...stage.alarms, ...(e.phase.alarms ?? [])])], bakeMinutes: e.phase.minutes } : stage;
  const phase = e.phase?.id;
  const only = { phase: phase ?? null };
  const now = deps.now();
  const until = new Date(now.getTime() + st.bakeMinutes * 60_000).toISOString();
  await record(
    deps,
    e.releaseId,
    stageStep.bakeStarted(e.stage, phase),
    'bake.started',
    { alarms: st.alarms, bakeMinutes: st.bakeMinutes, until, insufficientData: st.insufficientData, ...(phase ? { phase } : {}) },
    e.stage,
  );
  await deps.ledger.putToken({
    kind: 'BAKE',
    releaseId: e.releaseId,
    service: release.service,
    stage: e.stage,
    token: e.taskToken,
    // Indexed by the alarms' names at home (as before issue 18), by account/region/name elsewhere (decision 045), in every
    // account and region where the stage has a cluster (its waves, decision 044).
    alarms: bakeAlarmKeys(deps, stageClusters(st), st.alarms),
    createdAt: now.toISOString(),
    expiresAt: new Date(Date.parse(until) + 24 * 3600_000).toISOString(),
    attrs: { bakeStartedAt: now.toISOString() },
    ...(phase ? { phase } : {}),
  });
  // An operator rollback may have taken the stage between the deploy and this registration (it found no token to fail):
  // the lease, read now, says so; the events read above give only this release's own fence, which nobody else changes.
  const lease = await checkLease(deps, e.releaseId, release.service, e.stage, events);
  if (!lease.held) {
    const lost = (await deps.ledger.events(e.releaseId)).filter((x) => x.type === 'lease.lost' && x.stage === e.stage).at(-1);
    const cause = String(lost?.data.reason ?? `the stage's lease was taken by ${lease.holder ?? 'another release'}`);
    await endBake(
      deps,
      e.releaseId,
      e.stage,
      {
        kind: 'fail',
        error: 'OperatorRollback',
        cause,
        gate: { gate: 'bake', result: 'FAIL', reason: `bake stopped: ${cause}` },
        detectedAt: now.toISOString(),
      },
      only,
    );
    return { registered: false };
  }
  const read = await readStageAlarms(deps, st.alarms, { releaseId: e.releaseId, stage: e.stage, check: 'bake-start', clusters: stageClusters(st) });
  if (!read.ok) {
    const gate = evaluateAlarmReadFailure('bake', st.alarms, read.error, 'at bake start');
    await endBake(deps, e.releaseId, e.stage, { kind: 'fail', error: 'BakeFailed', cause: gate.reason, gate, detectedAt: now.toISOString() }, only);
    return { registered: false };
  }
  const states = read.states;
  const firing = states.filter((s) => s.state === 'ALARM');
  const missing = alarmProblems(st, states).failures.filter((f) => f.endsWith('does not exist'));
  if (firing.length || missing.length) {
    const first = firing[0];
    const gate = evaluateBakeEnd({ ...st, bakeMinutes: 0 }, states);
    await endBake(
      deps,
      e.releaseId,
      e.stage,
      {
        kind: 'fail',
        error: first ? 'AlarmBreached' : 'BakeFailed',
        cause: first ? { alarm: first.name, reason: first.reason, detectedAt: first.updatedAt ?? now.toISOString(), bakeMinute: 0 } : gate.reason,
        gate: { ...gate, reason: `at bake start: ${gate.reason}` },
        detectedAt: first?.updatedAt ?? now.toISOString(),
      },
      only,
    );
    return { registered: false };
  }
  // A zero-minute bake is the alarm check just made: no schedule (a one-time schedule for a moment already past
  // would fire late or not at all); it ends here.
  if (st.bakeMinutes === 0) {
    await endBake(deps, e.releaseId, e.stage, { kind: 'pass', gate: evaluateBakeEnd(st, states) }, only);
    return { registered: false };
  }
  // Never schedule sooner than a minute from now (EventBridge Scheduler's at() needs a moment still to come).
  const at = new Date(Math.max(Date.parse(until), now.getTime() + BAKE_TIMER_MIN_LEAD_MS)).toISOString();
  try {
    await deps.timers.schedule(bakeTimerName(e.releaseId, e.stage, phase), at, { releaseId: e.releaseId, stage: e.stage, ...(e.phase ? { phase: e.phase } : {}) });
  } catch (err) {
    // No end of bake: fail closed now instead of waiting for the safety timeout.
    const error = awsErrorOf(err);
    const reason = `at bake start: could not schedule the end of the bake: ${awsErrorText(error)}`;
    await endBake(
      deps,
      e.releaseId,
      e.stage,
      {
        kind: 'fail',
        error: 'BakeFailed',
        cause: reason,
        gate: { gate: 'bake', result: 'FAIL', reason, evidence: { schedule: bakeTimerName(e.releaseId, e.stage, phase), until, error } },
        detectedAt: now.toISOString(),
      },
      only,
    );
    return { registered: false };
  }
  return { registered: true };
}

export const handler = lambdaHandler(run);

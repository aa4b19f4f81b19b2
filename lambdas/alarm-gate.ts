/**
 * The stage's alarms, read with DescribeAlarms, at two moments (gate alarms.pre-deploy is taken at the
 * point of action, lambdas/deploy-check.ts):
 * - `bake-poll`: one poll of a polling bake (stages with `bake.mode: "poll"`);
 * - `recovery`: after a rollback deploy, whether the stage's alarms recovered.
 *
 * Alarms that cannot be read (AccessDenied, or throttling and 5xx left after the SDK's retries) are never
 * healthy: the bake poll FAILs at once, naming the alarms and the error; the
 * recovery check records "recovery unknown: …" (the rollback itself already succeeded). Decision 018.
 */
import { stageClusters } from './domain/config';
import * as z from 'zod';
import { alarmProblems, alarmReadFailureReason, evaluateAlarmReadFailure, evaluateBakeEnd, minutesBetween } from './domain/gates';
import { parseWith } from './domain/validation';
import type { Deps } from './ports';
import { readStageAlarms } from './shared/alarms';
import { lambdaHandler } from './shared/middleware';
import { checkLease } from './shared/lease';
import { loadRelease, record, stageConfigOf } from './shared/recorder';
import { stageStep } from './domain/step-keys';

const eventSchema = z.object({
  action: z.enum(['bake-poll', 'recovery']),
  releaseId: z.string().min(1),
  stage: z.string().min(1),
});

export type AlarmGateResult =
  | { verdict: 'PASS'; reason: string }
  | { verdict: 'CONTINUE'; waitSeconds: number }
  | { verdict: 'FAIL'; reason: string; error: 'AlarmBreached' | 'BakeFailed' | 'OperatorRollback'; cause: string }
  /** `recovered: null`: the alarms could not be read after the rollback (recovery unknown). */
  | { recovered: boolean | null; reason: string };

export async function run(event: unknown, deps: Deps): Promise<AlarmGateResult> {
  const e = parseWith(eventSchema, event, 'task input');
  const events = await deps.ledger.events(e.releaseId);
  const release = await loadRelease(deps, e.releaseId, events);
  const { st } = stageConfigOf(deps, release.service, e.stage);
  const read = await readStageAlarms(deps, st.alarms, { releaseId: e.releaseId, stage: e.stage, check: e.action, clusters: stageClusters(st) });
  const states = read.ok ? read.states : [];
  const now = deps.now();

  if (e.action === 'recovery') {
    if (!read.ok) return { recovered: null, reason: `recovery unknown: ${alarmReadFailureReason(st.alarms, read.error)}` };
    const { failures, warnings } = alarmProblems(st, states);
    const recovered = failures.length === 0;
    const reason = recovered
      ? `${st.alarms.length} alarm(s) healthy ${st.recoveryMinutes} minutes after the rollback${warnings.length ? ` (${warnings.join('; ')})` : ''}`
      : `not recovered ${st.recoveryMinutes} minutes after the rollback: ${failures.join('; ')}`;
    return { recovered, reason };
  }

  // bake-poll: the first poll opens the bake; each later one checks, until the bake time is up.
  // An operator rollback that took the stage ends the bake at the next poll (an event-driven bake is failed at once).
  const lease = await checkLease(deps, e.releaseId, release.service, e.stage, events);
  if (!lease.held) {
    const lost = events.filter((x) => x.type === 'lease.lost' && x.stage === e.stage).at(-1);
    const cause = String(lost?.data.reason ?? `the stage's lease was taken by ${lease.holder ?? 'another release'}`);
    return { verdict: 'FAIL', reason: `bake stopped: ${cause}`, error: 'OperatorRollback', cause };
  }
  const opened = await record(
    deps,
    e.releaseId,
    stageStep.bakeStarted(e.stage),
    'bake.started',
    {
      alarms: st.alarms,
      bakeMinutes: st.bakeMinutes,
      until: new Date(now.getTime() + st.bakeMinutes * 60_000).toISOString(),
      insufficientData: st.insufficientData,
      mode: 'poll',
      intervalSeconds: st.bake.intervalSeconds,
    },
    e.stage,
  );
  const startedAt = opened.at;
  const until = Date.parse(String(opened.data.until));
  const finish = async (result: 'PASS' | 'WARN' | 'FAIL', reason: string, detectedAt?: string, evidence: unknown = states) => {
    await record(deps, e.releaseId, stageStep.gate(e.stage, 'bake'), 'gate.evaluated', { gate: 'bake', result, reason, evidence }, e.stage);
    await record(deps, e.releaseId, stageStep.bakeFinished(e.stage), 'bake.finished', { result, reason, ...(detectedAt ? { detectedAt } : {}) }, e.stage);
  };
  if (!read.ok) {
    const gate = evaluateAlarmReadFailure('bake', st.alarms, read.error, `poll at bake minute ${minutesBetween(startedAt, now.toISOString())}`);
    await finish('FAIL', gate.reason, now.toISOString(), gate.evidence);
    return { verdict: 'FAIL', reason: gate.reason, error: 'BakeFailed', cause: gate.reason };
  }
  const firing = states.find((s) => s.state === 'ALARM');
  if (firing) {
    const detectedAt = firing.updatedAt ?? now.toISOString();
    const bakeMinute = minutesBetween(startedAt, detectedAt);
    const reason = `alarm ${firing.name} in ALARM at bake minute ${bakeMinute} (seen by a poll every ${st.bake.intervalSeconds} s)`;
    await finish('FAIL', reason, detectedAt);
    return { verdict: 'FAIL', reason, error: 'AlarmBreached', cause: JSON.stringify({ alarm: firing.name, reason: firing.reason, detectedAt, bakeMinute }) };
  }
  const missing = alarmProblems(st, states).failures.filter((f) => f.endsWith('does not exist'));
  if (missing.length || now.getTime() >= until) {
    const gate = evaluateBakeEnd(st, states);
    const reason = missing.length ? `${missing.join('; ')}` : gate.reason;
    const result = missing.length ? 'FAIL' : gate.result;
    await finish(result, reason, result === 'FAIL' ? now.toISOString() : undefined);
    if (result === 'FAIL') return { verdict: 'FAIL', reason, error: 'BakeFailed', cause: reason };
    return { verdict: 'PASS', reason };
  }
  return { verdict: 'CONTINUE', waitSeconds: Math.max(1, Math.min(st.bake.intervalSeconds, Math.ceil((until - now.getTime()) / 1000))) };
}

export const handler = lambdaHandler(run);

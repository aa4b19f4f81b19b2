/**
 * The stage's alarms, read with DescribeAlarms, at three moments:
 * - `pre-deploy` (gate alarms.pre-deploy): no deploy into a stage whose alarms fire, are missing,
 *   or (by policy) have no data;
 * - `bake-poll`: one poll of a polling bake (stages with `bake.mode: "poll"`);
 * - `recovery`: after a rollback deploy, whether the stage's alarms recovered.
 */
import { z } from 'zod';
import { alarmProblems, evaluateAlarmsPreDeploy, evaluateBakeEnd, minutesBetween } from './domain/gates';
import { parseWith } from './domain/validation';
import type { Deps } from './ports';
import { lambdaHandler } from './shared/middleware';
import { checkLease } from './shared/lease';
import { announce, loadRelease, record, stageConfigOf } from './shared/recorder';

const eventSchema = z.object({
  action: z.enum(['pre-deploy', 'bake-poll', 'recovery']).default('pre-deploy'),
  releaseId: z.string().min(1),
  stage: z.string().min(1),
});

export type AlarmGateResult =
  | { verdict: 'PASS' | 'FAIL'; reason: string }
  | { verdict: 'CONTINUE'; waitSeconds: number }
  | { verdict: 'FAIL'; reason: string; error: 'AlarmBreached' | 'BakeFailed' | 'OperatorRollback'; cause: string }
  | { recovered: boolean; reason: string };

export async function run(event: unknown, deps: Deps): Promise<AlarmGateResult> {
  const e = parseWith(eventSchema, event, 'task input');
  const release = await loadRelease(deps, e.releaseId);
  const { st } = stageConfigOf(deps, release.service, e.stage);
  const states = st.alarms.length ? await deps.alarms.describeAlarms(st.alarms) : [];
  const now = deps.now();

  if (e.action === 'pre-deploy') {
    const gate = evaluateAlarmsPreDeploy(st, states);
    const r = await record(deps, e.releaseId, `stage:${e.stage}:gate:${gate.gate}`, 'gate.evaluated', { ...gate }, e.stage);
    if (gate.result === 'FAIL') await announce(deps, r.duplicate, 'Stage Gate Failed', release, { stage: e.stage, status: 'BLOCKED', at: r.at, gate: gate.gate, reason: gate.reason });
    return { verdict: gate.result === 'FAIL' ? 'FAIL' : 'PASS', reason: gate.reason };
  }

  if (e.action === 'recovery') {
    const { failures, warnings } = alarmProblems(st, states);
    const recovered = failures.length === 0;
    const reason = recovered
      ? `${st.alarms.length} alarm(s) healthy ${st.recoveryMinutes} minutes after the rollback${warnings.length ? ` (${warnings.join('; ')})` : ''}`
      : `not recovered ${st.recoveryMinutes} minutes after the rollback: ${failures.join('; ')}`;
    return { recovered, reason };
  }

  // bake-poll: the first poll opens the bake; each later one checks, until the bake time is up.
  // An operator rollback that took the stage ends the bake at the next poll (an event-driven bake is failed at once).
  const events = await deps.ledger.events(e.releaseId);
  const lease = await checkLease(deps, e.releaseId, release.service, e.stage, events);
  if (!lease.held) {
    const lost = events.filter((x) => x.type === 'lease.lost' && x.stage === e.stage).at(-1);
    const cause = String(lost?.data.reason ?? `the stage's lease was taken by ${lease.holder ?? 'another release'}`);
    return { verdict: 'FAIL', reason: `bake stopped: ${cause}`, error: 'OperatorRollback', cause };
  }
  const opened = await record(
    deps,
    e.releaseId,
    `stage:${e.stage}:bake.started`,
    'bake.started',
    { alarms: st.alarms, bakeMinutes: st.bakeMinutes, until: new Date(now.getTime() + st.bakeMinutes * 60_000).toISOString(), insufficientData: st.insufficientData, mode: 'poll', intervalSeconds: st.bake.intervalSeconds },
    e.stage,
  );
  const startedAt = opened.at;
  const until = Date.parse(String(opened.data.until));
  const finish = async (result: 'PASS' | 'WARN' | 'FAIL', reason: string, detectedAt?: string) => {
    await record(deps, e.releaseId, `stage:${e.stage}:gate:bake`, 'gate.evaluated', { gate: 'bake', result, reason, evidence: states }, e.stage);
    await record(deps, e.releaseId, `stage:${e.stage}:bake.finished`, 'bake.finished', { result, reason, ...(detectedAt ? { detectedAt } : {}) }, e.stage);
  };
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

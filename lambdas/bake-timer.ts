/**
 * End of a bake's time (a one-time EventBridge Scheduler schedule): final alarm check, then pass or fail
 * the bake. Alarms that cannot be read fail the bake at once, naming the alarms and the error (decision 018).
 */
import { stageClusters } from './domain/config';
import * as z from 'zod';
import { evaluateAlarmReadFailure, evaluateBakeEnd } from './domain/gates';
import { parseWith } from './domain/validation';
import type { Deps } from './ports';
import { readStageAlarms } from './shared/alarms';
import { bakePhaseSchema, endBake } from './shared/bake';
import { lambdaHandler } from './shared/middleware';
import { loadRelease, stageConfigOf } from './shared/recorder';

const eventSchema = z.object({ releaseId: z.string().min(1), stage: z.string().min(1), phase: bakePhaseSchema.optional() });

export async function run(event: unknown, deps: Deps): Promise<{ ended: boolean; result?: string }> {
  const e = parseWith(eventSchema, event, 'timer payload');
  const release = await loadRelease(deps, e.releaseId);
  const { st: stage } = stageConfigOf(deps, release.service, e.stage);
  // The phase's alarms and minutes (decision 047) travel in the payload; only that phase's open bake is ended.
  const st = e.phase ? { ...stage, alarms: [...new Set([...stage.alarms, ...(e.phase.alarms ?? [])])], bakeMinutes: e.phase.minutes } : stage;
  const only = { phase: e.phase?.id ?? null };
  const read = await readStageAlarms(deps, st.alarms, { releaseId: e.releaseId, stage: e.stage, check: 'bake-end', clusters: stageClusters(st) });
  const gate = read.ok ? evaluateBakeEnd(st, read.states) : evaluateAlarmReadFailure('bake', st.alarms, read.error, `final check after ${st.bakeMinutes} minutes`);
  const now = deps.now().toISOString();
  const ended =
    gate.result === 'FAIL'
      ? await endBake(deps, e.releaseId, e.stage, { kind: 'fail', error: 'BakeFailed', cause: gate.reason, gate, detectedAt: now }, only)
      : await endBake(deps, e.releaseId, e.stage, { kind: 'pass', gate }, only);
  return { ended, result: gate.result };
}

export const handler = lambdaHandler(run);

/** alarms.pre-deploy: a stage whose alarms fire, are missing, or (by policy) have no data is not deployed to. */
import { z } from 'zod';
import { evaluateAlarmsPreDeploy } from './domain/gates';
import { parseWith } from './domain/validation';
import type { Deps } from './ports';
import { lambdaHandler } from './shared/middleware';
import { announce, loadRelease, record, stageConfigOf } from './shared/recorder';

const eventSchema = z.object({ releaseId: z.string().min(1), stage: z.string().min(1) });

export async function run(event: unknown, deps: Deps): Promise<{ verdict: 'PASS' | 'FAIL'; reason: string }> {
  const e = parseWith(eventSchema, event, 'task input');
  const release = await loadRelease(deps, e.releaseId);
  const { st } = stageConfigOf(deps, release.service, e.stage);
  const states = st.alarms.length ? await deps.alarms.describeAlarms(st.alarms) : [];
  const gate = evaluateAlarmsPreDeploy(st, states);
  const r = await record(deps, e.releaseId, `stage:${e.stage}:gate:${gate.gate}`, 'gate.evaluated', { ...gate }, e.stage);
  if (gate.result === 'FAIL') await announce(deps, r.duplicate, 'Stage Gate Failed', release, { stage: e.stage, status: 'BLOCKED', at: r.at, gate: gate.gate, reason: gate.reason });
  return { verdict: gate.result === 'FAIL' ? 'FAIL' : 'PASS', reason: gate.reason };
}

export const handler = lambdaHandler(run);

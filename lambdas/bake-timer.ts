/** End of a bake's time (a one-time EventBridge Scheduler schedule): final alarm check, then pass or fail the bake. */
import { z } from 'zod';
import { evaluateBakeEnd } from './domain/gates';
import { parseWith } from './domain/validation';
import type { Deps } from './ports';
import { endBake } from './shared/bake';
import { lambdaHandler } from './shared/middleware';
import { loadRelease, stageConfigOf } from './shared/recorder';

const eventSchema = z.object({ releaseId: z.string().min(1), stage: z.string().min(1) });

export async function run(event: unknown, deps: Deps): Promise<{ ended: boolean; result?: string }> {
  const e = parseWith(eventSchema, event, 'timer payload');
  const release = await loadRelease(deps, e.releaseId);
  const { st } = stageConfigOf(deps, release.service, e.stage);
  const states = st.alarms.length ? await deps.alarms.describeAlarms(st.alarms) : [];
  const gate = evaluateBakeEnd(st, states);
  const now = deps.now().toISOString();
  const ended =
    gate.result === 'FAIL'
      ? await endBake(deps, e.releaseId, e.stage, { kind: 'fail', error: 'BakeFailed', cause: gate.reason, gate, detectedAt: now })
      : await endBake(deps, e.releaseId, e.stage, { kind: 'pass', gate });
  return { ended, result: gate.result };
}

export const handler = lambdaHandler(run);

/**
 * Gate `window`: may this stage deploy now? The global freeze blocks every stage (break-glass
 * excepted); the stage's windows and blackouts either open, make the release wait (a Wait with the
 * computed timestamp), or block it. Break-glass bypasses windows, blackouts and the freeze only.
 */
import * as z from 'zod';
import { parseWith } from './domain/validation';
import { describeWindowAt } from './domain/windows';
import type { Deps } from './ports';
import { lambdaHandler } from './shared/middleware';
import { announce, loadRelease, record, stageConfigOf } from './shared/recorder';
import { stageStep } from './domain/step-keys';

const eventSchema = z.object({ releaseId: z.string().min(1), stage: z.string().min(1) });

export type WindowGateResult = { verdict: 'PASS' | 'BLOCK'; reason: string } | { verdict: 'WAIT'; until: string; reason: string };

export async function run(event: unknown, deps: Deps): Promise<WindowGateResult> {
  const e = parseWith(eventSchema, event, 'task input');
  const release = await loadRelease(deps, e.releaseId);
  const { st } = stageConfigOf(deps, release.service, e.stage);
  const now = deps.now();
  const breakGlass = release.breakGlass ?? null;
  const freeze = await deps.ledger.getFreeze();
  const gateKey = stageStep.gate(e.stage, 'window');

  // One pure decision (describeWindowAt), so the same answer can be taken again right before a deploy.
  const d = describeWindowAt(st.windows, now, breakGlass, freeze);
  if (d.verdict === 'WAIT') {
    await record(
      deps,
      e.releaseId,
      stageStep.waitingForWindow(e.stage, d.until),
      'stage.waiting',
      { waitingFor: 'window', until: d.until, reason: d.reason, ...(st.windows ? { timezone: st.windows.timezone } : {}) },
      e.stage,
    );
    return { verdict: 'WAIT', until: d.until, reason: d.reason };
  }
  const evidence = { windows: st.windows ?? null, breakGlass, freeze, ...(d.bypassed.length > 0 ? { bypassed: d.bypassed } : {}) };
  const r = await record(deps, e.releaseId, gateKey, 'gate.evaluated', { gate: 'window', result: d.result, reason: d.reason, evidence }, e.stage);
  if (d.verdict === 'BLOCK') {
    await announce(deps, r.duplicate, 'Stage Gate Failed', release, { stage: e.stage, status: 'BLOCKED', at: r.at, gate: 'window', reason: d.reason });
    return { verdict: 'BLOCK', reason: d.reason };
  }
  return { verdict: 'PASS', reason: d.reason };
}

export const handler = lambdaHandler(run);

/**
 * Gate `window`: may this stage deploy now? The global freeze blocks every stage (break-glass
 * excepted); the stage's windows and blackouts either open, make the release wait (a Wait with the
 * computed timestamp), or block it. Break-glass bypasses windows, blackouts and the freeze only.
 */
import { z } from 'zod';
import { parseWith } from './domain/validation';
import { evaluateWindow } from './domain/windows';
import type { Deps } from './ports';
import { lambdaHandler } from './shared/middleware';
import { announce, loadRelease, record, stageConfigOf } from './shared/recorder';

const eventSchema = z.object({ releaseId: z.string().min(1), stage: z.string().min(1) });

export type WindowGateResult = { verdict: 'PASS' | 'BLOCK'; reason: string } | { verdict: 'WAIT'; until: string; reason: string };

export async function run(event: unknown, deps: Deps): Promise<WindowGateResult> {
  const e = parseWith(eventSchema, event, 'task input');
  const release = await loadRelease(deps, e.releaseId);
  const { st } = stageConfigOf(deps, release.service, e.stage);
  const now = deps.now();
  const breakGlass = release.breakGlass ?? null;
  const freeze = await deps.ledger.getFreeze();
  const gateKey = `stage:${e.stage}:gate:window`;

  if (freeze.on && !breakGlass) {
    const reason = `global freeze since ${freeze.at} by ${freeze.principal}: ${freeze.reason}`;
    const r = await record(deps, e.releaseId, gateKey, 'gate.evaluated', { gate: 'window', result: 'FAIL', reason, evidence: { freeze } }, e.stage);
    await announce(deps, r.duplicate, 'Stage Gate Failed', release, { stage: e.stage, status: 'BLOCKED', at: r.at, gate: 'window', reason });
    return { verdict: 'BLOCK', reason };
  }
  const v = evaluateWindow(st.windows, now, breakGlass);
  if (v.verdict === 'WAIT') {
    await record(deps, e.releaseId, `stage:${e.stage}:waiting:window:${v.until}`, 'stage.waiting', { waitingFor: 'window', until: v.until, reason: v.reason, ...(st.windows ? { timezone: st.windows.timezone } : {}) }, e.stage);
    return v;
  }
  const bypassedFreeze = freeze.on && breakGlass ? `; global freeze bypassed (${freeze.reason})` : '';
  const result = v.verdict === 'BLOCK' ? 'FAIL' : breakGlass ? 'WARN' : 'PASS';
  const reason = `${v.reason}${bypassedFreeze}`;
  const r = await record(deps, e.releaseId, gateKey, 'gate.evaluated', { gate: 'window', result, reason, evidence: { windows: st.windows ?? null, breakGlass, freeze } }, e.stage);
  if (v.verdict === 'BLOCK') {
    await announce(deps, r.duplicate, 'Stage Gate Failed', release, { stage: e.stage, status: 'BLOCKED', at: r.at, gate: 'window', reason });
    return { verdict: 'BLOCK', reason };
  }
  return { verdict: 'PASS', reason };
}

export const handler = lambdaHandler(run);

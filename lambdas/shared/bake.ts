/**
 * Ending a bake exactly once. The bake timer, the alarm watcher and the registration's own check may
 * race: whoever claims the task token (a conditional delete) records the outcome and reports it to
 * Step Functions; the others find no token and do nothing.
 */
import type { GateResult } from '../domain/types';
import type { Deps, TokenRecord } from '../ports';
import { record } from './recorder';

export function bakeTimerName(releaseId: string, stage: string): string {
  return `bake-${releaseId}-${stage}`.replace(/[^0-9A-Za-z_.-]/g, '-');
}

export type BakeOutcome =
  | { kind: 'pass'; gate: GateResult }
  | { kind: 'fail'; error: 'AlarmBreached' | 'BakeFailed' | 'OperatorRollback'; cause: Record<string, unknown> | string; gate: GateResult; detectedAt: string };

/** Returns false when the bake had already ended (no token to claim). */
export async function endBake(deps: Deps, releaseId: string, stage: string, outcome: BakeOutcome): Promise<boolean> {
  const token: TokenRecord | undefined = await deps.ledger.takeToken('BAKE', releaseId, stage);
  if (!token) return false;
  try {
    await record(deps, releaseId, `stage:${stage}:gate:bake`, 'gate.evaluated', { ...outcome.gate }, stage);
    await record(
      deps,
      releaseId,
      `stage:${stage}:bake.finished`,
      'bake.finished',
      { result: outcome.gate.result, reason: outcome.gate.reason, ...(outcome.kind === 'fail' ? { detectedAt: outcome.detectedAt } : {}) },
      stage,
    );
    if (outcome.kind === 'pass') {
      await deps.tasks.sendSuccess(token.token, { result: outcome.gate.result, reason: outcome.gate.reason });
    } else {
      await deps.timers.cancel(bakeTimerName(releaseId, stage));
      await deps.tasks.sendFailure(token.token, outcome.error, typeof outcome.cause === 'string' ? outcome.cause : JSON.stringify(outcome.cause));
    }
    return true;
  } catch (err) {
    // Give the claim back so a retry (EventBridge target retry, scheduler retry) can finish the job.
    await deps.ledger.putToken(token);
    throw err;
  }
}

/**
 * Ending a bake exactly once. The bake timer, the alarm watcher and the registration's own check may
 * race: whoever claims the task token (a conditional delete) records the outcome and reports it to
 * Step Functions; the others find no token and do nothing.
 */
import type { GateResult } from '../domain/types';
import type { Deps, TokenRecord } from '../ports';
import { logger } from './middleware';
import { recordAll } from './recorder';
import { stageStep } from '../domain/step-keys';

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
    await recordAll(deps, releaseId, [
      { stepKey: stageStep.gate(stage, 'bake'), type: 'gate.evaluated', data: { ...outcome.gate }, stage },
      {
        stepKey: stageStep.bakeFinished(stage),
        type: 'bake.finished',
        data: { result: outcome.gate.result, reason: outcome.gate.reason, ...(outcome.kind === 'fail' ? { detectedAt: outcome.detectedAt } : {}) },
        stage,
      },
    ]);
    if (outcome.kind === 'pass') {
      await deps.tasks.sendSuccess(token.token, { result: outcome.gate.result, reason: outcome.gate.reason });
    } else {
      await cancelBakeTimer(deps, releaseId, stage);
      await deps.tasks.sendFailure(token.token, outcome.error, typeof outcome.cause === 'string' ? outcome.cause : JSON.stringify(outcome.cause));
    }
    return true;
  } catch (err) {
    // Give the claim back so a retry (EventBridge target retry, scheduler retry) can finish the job.
    await deps.ledger.putToken(token);
    throw err;
  }
}

/**
 * Delete the bake's end-of-bake schedule, best effort: a schedule left behind fires later, finds no token
 * to claim and does nothing, so a failed delete must not stop a bake from ending (or a rollback from starting).
 */
export async function cancelBakeTimer(deps: Deps, releaseId: string, stage: string): Promise<void> {
  try {
    await deps.timers.cancel(bakeTimerName(releaseId, stage));
  } catch (err) {
    logger.warn('could not delete the bake schedule; it will find no token when it fires', { releaseId, stage, error: (err as Error).name, message: (err as Error).message });
  }
}

/**
 * The bake's safety timeout fired (States.Timeout on the bake task): nobody ended the bake. Claim its token
 * so that the timer or the alarm watcher cannot record a verdict after the rollback has begun, delete the
 * timer, and record the bake as FAIL with `reason`. Step keys make this a no-op where a verdict was
 * already recorded (one that never reached the workflow); the rollback's reason says so.
 */
export async function closeTimedOutBake(deps: Deps, releaseId: string, stage: string, reason: string, detectedAt: string): Promise<void> {
  await deps.ledger.takeToken('BAKE', releaseId, stage);
  await cancelBakeTimer(deps, releaseId, stage);
  await recordAll(deps, releaseId, [
    { stepKey: stageStep.gate(stage, 'bake'), type: 'gate.evaluated', data: { gate: 'bake', result: 'FAIL', reason, evidence: { error: 'States.Timeout' } }, stage },
    { stepKey: stageStep.bakeFinished(stage), type: 'bake.finished', data: { result: 'FAIL', reason, detectedAt }, stage },
  ]);
}

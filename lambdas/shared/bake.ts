/**
 * Ending a bake exactly once. The bake timer, the alarm watcher and the registration's own check may
 * race: whoever claims the task token (a conditional delete) records the outcome and reports it to
 * Step Functions; the others find no token and do nothing.
 */
import * as z from 'zod';
import type { GateResult } from '../domain/types';
import type { Deps, TokenRecord } from '../ports';
import { logger } from './middleware';
import { recordAll } from './recorder';
import { stageStep } from '../domain/step-keys';

/** A phase of the stage's bake (decision 047): its id is a step-key part and a schedule-name part. */
export const bakePhaseSchema = z.object({
  id: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'expected a phase id such as canary-2 or wave-1'),
  minutes: z.number().int().min(0).max(1440),
  alarms: z.array(z.string().min(1)).optional(),
});

/**
 * One of the bakes inside a stage (decision 047): a canary step's, or the one between two waves. It bakes like the
 * stage does — on the stage's alarms and its own, event-driven, with a final check at the end — for `minutes`.
 */
export interface BakePhase {
  /** `canary-<n>`, `wave-<k>`: a step key part, so letters, digits and `-` only. */
  readonly id: string;
  readonly minutes: number;
  /** Alarms watched beside the stage's (a canary's `canaryAlarms`). */
  readonly alarms?: readonly string[];
}

/** The end-of-bake schedule's name: one per release, stage and phase, so an earlier phase's late timer is another schedule. */
export function bakeTimerName(releaseId: string, stage: string, phase?: string): string {
  return `bake-${releaseId}-${stage}${phase ? `-${phase}` : ''}`.replace(/[^0-9A-Za-z_.-]/g, '-');
}

/** The step keys and the `phase` field of a bake's records: the stage's own bake, or one phase of it. */
function bakeRecords(stage: string, phase: string | undefined, outcome: { gate: GateResult; reason: string; result: string; detectedAt?: string }) {
  return [
    {
      stepKey: phase ? stageStep.phaseBakeGate(stage, phase) : stageStep.gate(stage, 'bake'),
      type: 'gate.evaluated' as const,
      data: { ...outcome.gate, ...(phase ? { phase } : {}) },
      stage,
    },
    {
      stepKey: stageStep.bakeFinished(stage, phase),
      type: 'bake.finished' as const,
      data: { result: outcome.result, reason: outcome.reason, ...(outcome.detectedAt ? { detectedAt: outcome.detectedAt } : {}), ...(phase ? { phase } : {}) },
      stage,
    },
  ];
}

export type BakeOutcome =
  | { kind: 'pass'; gate: GateResult }
  | { kind: 'fail'; error: 'AlarmBreached' | 'BakeFailed' | 'OperatorRollback'; cause: Record<string, unknown> | string; gate: GateResult; detectedAt: string };

/**
 * Returns false when the bake had already ended (no token to claim). With `only`, the bake ends only if the open
 * bake is that phase's (`null`: the stage's own): a late end-of-bake timer of an earlier phase finds nothing to end.
 */
export async function endBake(deps: Deps, releaseId: string, stage: string, outcome: BakeOutcome, only?: { phase: string | null }): Promise<boolean> {
  const token: TokenRecord | undefined = await deps.ledger.takeToken('BAKE', releaseId, stage, only);
  if (!token) return false;
  const phase = token.phase;
  try {
    await recordAll(
      deps,
      releaseId,
      bakeRecords(stage, phase, {
        gate: outcome.gate,
        result: outcome.gate.result,
        reason: outcome.gate.reason,
        ...(outcome.kind === 'fail' ? { detectedAt: outcome.detectedAt } : {}),
      }),
    );
    if (outcome.kind === 'pass') {
      await deps.tasks.sendSuccess(token.token, { result: outcome.gate.result, reason: outcome.gate.reason, ...(phase ? { phase } : {}) });
    } else {
      await cancelBakeTimer(deps, releaseId, stage, phase);
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
export async function cancelBakeTimer(deps: Deps, releaseId: string, stage: string, phase?: string): Promise<void> {
  try {
    await deps.timers.cancel(bakeTimerName(releaseId, stage, phase));
  } catch (err) {
    logger.warn('could not delete the bake schedule; it will find no token when it fires', {
      releaseId,
      stage,
      phase,
      error: (err as Error).name,
      message: (err as Error).message,
    });
  }
}

/**
 * The bake's safety timeout fired (States.Timeout on the bake task): nobody ended the bake. Claim its token
 * so that the timer or the alarm watcher cannot record a verdict after the rollback has begun, delete the
 * timer, and record the bake as FAIL with `reason`. Step keys make this a no-op where a verdict was
 * already recorded (one that never reached the workflow); the rollback's reason says so.
 */
export async function closeTimedOutBake(deps: Deps, releaseId: string, stage: string, reason: string, detectedAt: string, phase?: string): Promise<void> {
  // The open bake's token says which phase timed out; without one (already claimed), the caller's phase.
  const token = await deps.ledger.takeToken('BAKE', releaseId, stage);
  const which = token?.phase ?? phase;
  await cancelBakeTimer(deps, releaseId, stage, which);
  await recordAll(
    deps,
    releaseId,
    bakeRecords(stage, which, { gate: { gate: 'bake', result: 'FAIL', reason, evidence: { error: 'States.Timeout' } }, result: 'FAIL', reason, detectedAt }),
  );
}

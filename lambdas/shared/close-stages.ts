/**
 * Closing the stages of a release that an internal error (or a dead execution) left open. A stage whose
 * rollback deploy finished is closed by that result (lambdas/domain/release.ts `closeOpenStage`): a release
 * whose rollback succeeded ends ROLLED_BACK with its rollback result, never FAILED with it left empty.
 */
import { closeOpenStage, internalErrorOutcome } from '../domain/release';
import type { ReleaseStatus, StageStatus } from '../domain/types';
import type { Deps } from '../ports';
import { loadRelease } from './recorder';

/**
 * Close every WAITING stage and return how the release ends: ROLLED_BACK or ROLLBACK_FAILED when a stage
 * says so, else FAILED with `errorReason`. `openStatus` replaces FAILED for a stage with no rollback
 * outcome (ABORTED for an execution stopped from outside).
 */
export async function closeStagesLeftOpen(
  deps: Deps,
  releaseId: string,
  errorReason: string,
  openStatus: Extract<StageStatus, 'FAILED' | 'ABORTED'> = 'FAILED',
): Promise<{ status: ReleaseStatus; reason: string }> {
  let events = await deps.ledger.events(releaseId);
  const release = await loadRelease(deps, releaseId, events);
  const waiting = release.stages.filter((s) => s.status === 'WAITING');
  if (waiting.length) {
    // Every closing event of every open stage in one write: the stages' events, in order.
    const closing = waiting.flatMap((s) =>
      closeOpenStage(s.name, events, errorReason).map((w) => ({
        releaseId,
        stepKey: w.stepKey,
        type: w.type,
        at: deps.now().toISOString(),
        stage: s.name,
        data: w.type === 'stage.finished' && w.data.status === 'FAILED' ? { ...w.data, status: openStatus } : w.data,
      })),
    );
    const written = await deps.ledger.appendAll(closing);
    const seen = new Set(events.map((x) => x.seq));
    events = events.concat(written.map((w) => w.event).filter((x) => !seen.has(x.seq)));
  }
  return internalErrorOutcome(await loadRelease(deps, releaseId, events), errorReason);
}

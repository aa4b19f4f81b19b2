/**
 * Step Functions Execution Status Change (FAILED, ABORTED, TIMED_OUT) → close the release's record
 * and free what the execution held (stage leases, bake tokens and timers). Idempotent: a record
 * already closed only has its leases checked. An ABORTED execution that `gantry abort` stopped (an
 * `abort.requested` on record, decision 053) ends ABORTED "aborted by <principal>: <reason>" with
 * `abortedBy` and `abortReason`; one stopped from the console says that nobody is on record for it.
 */
import { parseGantryEvent } from './domain/events';
import { projectRelease } from './domain/ledger';
import type { ReleaseStatus } from './domain/types';
import type { Deps } from './ports';
import { bakeTimerName } from './shared/bake';
import { closeStagesLeftOpen } from './shared/close-stages';
import { emitReleaseMetrics } from './shared/metrics-emit';
import { lambdaHandler } from './shared/middleware';
import { freeLease } from './shared/lease';
import { announce, record } from './shared/recorder';
import { RELEASE_STEP } from './domain/step-keys';
import { ABORTED_FROM_OUTSIDE, abortedReason } from './domain/operator-requests';

export async function run(event: unknown, deps: Deps): Promise<{ closed: boolean; leasesFreed: number }> {
  const parsed = parseGantryEvent(event);
  if (parsed.kind !== 'execution-status') return { closed: false, leasesFreed: 0 };
  const exec = parsed;
  if (!['FAILED', 'ABORTED', 'TIMED_OUT'].includes(exec.status)) return { closed: false, leasesFreed: 0 };
  const releaseId = exec.name;
  let leasesFreed = 0;
  for (const lease of await deps.ledger.leasesOf(releaseId)) {
    if (await freeLease(deps, releaseId, lease.service, lease.stage, 'reconciler')) leasesFreed++;
  }
  const summary = projectRelease(await deps.ledger.events(releaseId));
  if (!summary || summary.status !== 'RUNNING') return { closed: false, leasesFreed };

  const status: ReleaseStatus = exec.status === 'ABORTED' ? 'ABORTED' : 'FAILED';
  // `gantry abort` recorded who and why before it stopped the execution (decision 053).
  const aborted = exec.status === 'ABORTED' && summary.abort ? { abortedBy: summary.abort.by, abortReason: summary.abort.reason } : undefined;
  const reason = aborted
    ? abortedReason(aborted.abortedBy, aborted.abortReason)
    : exec.status === 'ABORTED'
      ? ABORTED_FROM_OUTSIDE
      : `execution ${exec.status}${exec.error ? `: ${exec.error}` : ''}${exec.cause ? ` — ${exec.cause.slice(0, 300)}` : ''}`;
  for (const s of summary.stages.filter((x) => x.status === 'WAITING')) {
    const token = await deps.ledger.takeToken('BAKE', releaseId, s.name);
    if (token) await deps.timers.cancel(bakeTimerName(releaseId, s.name));
    await deps.ledger.takeToken('APPROVAL', releaseId, s.name);
  }
  // A stage whose rollback deploy had finished keeps that result (ROLLED_BACK / ROLLBACK_FAILED); the others end ABORTED or FAILED.
  const closed = await closeStagesLeftOpen(deps, releaseId, reason, status === 'ABORTED' ? 'ABORTED' : 'FAILED');
  const final = closed.status === 'FAILED' ? { status, reason } : closed;
  const r = await record(deps, releaseId, RELEASE_STEP.finished, 'release.finished', { ...final, ...(aborted ?? {}), by: 'reconciler' });
  if (!r.duplicate) emitReleaseMetrics(await deps.ledger.events(releaseId), deps.runtime);
  await announce(deps, r.duplicate, 'Release Finished', summary, {
    status: r.data.status as string,
    at: r.at,
    reason: r.data.reason,
    ...(typeof r.data.abortedBy === 'string' ? { abortedBy: r.data.abortedBy, abortReason: r.data.abortReason } : {}),
    ...(summary.change ? { change: summary.change } : {}),
  });
  return { closed: !r.duplicate, leasesFreed };
}

export const handler = lambdaHandler(run);

/**
 * The stage lease at the point of action: who holds it (owner and fencing token), waking the releases
 * that wait for it, an operator rollback taking it from a release that waits or bakes, and a release
 * giving way to a newer digest of its service. Decisions are in lambdas/domain/release.ts; this module
 * reads and writes the ledger and sends task results. docs/decisions/021-leases-with-fencing.md.
 */
import type { LedgerEvent, ReleaseSummary } from '../domain/ledger';
import { type QueuedRelease, supersededByReleaseReason, supersededReason, supersedingRelease } from '../domain/release';
import type { Deps } from '../ports';
import { bakeTimerName, endBake } from './bake';
import { logger } from './middleware';
import { record } from './recorder';
import { stageStep } from '../domain/step-keys';

/** The fencing token this release got when it took the stage's lease (its last `lease.acquired` there). */
export function heldFence(events: readonly LedgerEvent[], stage: string): number | undefined {
  const acquired = events.filter((e) => e.type === 'lease.acquired' && e.stage === stage).at(-1);
  return typeof acquired?.data.fence === 'number' ? acquired.data.fence : undefined;
}

export type LeaseCheck = { held: true; fence: number } | { held: false; holder?: string };

/** Whether `releaseId` still holds the stage's lease with the token it was given. */
export async function checkLease(deps: Deps, releaseId: string, service: string, stage: string, events: readonly LedgerEvent[]): Promise<LeaseCheck> {
  const lease = await deps.ledger.getLease(service, stage);
  const fence = heldFence(events, stage);
  if (lease?.owner === releaseId && (fence === undefined || lease.fence === fence)) return { held: true, fence: lease.fence };
  return lease?.owner ? { held: false, holder: lease.owner } : { held: false };
}

/** Wake every release waiting for the stage's lease (they try again). A lost or finished waiter is skipped. */
export async function wakeLeaseWaiters(deps: Deps, service: string, stage: string): Promise<number> {
  let woken = 0;
  for (const w of await deps.ledger.takeLeaseWaiters(service, stage)) {
    try {
      await deps.tasks.sendSuccess(w.token, { woken: true });
      woken++;
    } catch (err) {
      // TaskTimedOut / TaskDoesNotExist: that execution stopped waiting already (its wait re-checks on a timeout anyway).
      logger.warn('lease waiter not woken', { service, stage, releaseId: w.releaseId, error: (err as Error).name });
    }
  }
  return woken;
}

/** Free the lease if `releaseId` holds it, record it, and wake whoever waits. Returns whether it was held. */
export async function freeLease(deps: Deps, releaseId: string, service: string, stage: string, by?: string): Promise<boolean> {
  const held = await deps.ledger.releaseLease(service, stage, releaseId);
  if (held) await record(deps, releaseId, stageStep.leaseReleased(stage), 'lease.released', by ? { by } : {}, stage).catch(() => undefined);
  await wakeLeaseWaiters(deps, service, stage);
  return held;
}

/** Words for an operator rollback that took a stage, from the rollback's record. */
export function preemptionCause(rollback: Pick<ReleaseSummary, 'releaseId' | 'initiator' | 'requestReason' | 'rollbackTarget'>, stage: string): string {
  return `operator rollback ${rollback.releaseId} of ${stage} requested by ${rollback.initiator ?? 'an unknown principal'}${rollback.requestReason ? `: ${rollback.requestReason}` : ''}`;
}

/**
 * An operator rollback took the stage's lease from `holderId`: note it on the holder's record and stop
 * what the holder waits on there — its bake fails (OperatorRollback), its approval request fails. A holder
 * waiting in a Wait state (window, scan) finds out at its next check. The holder's own workflow then
 * ends the stage without deploying (shared/lease.ts `recordPreempted`).
 */
export async function preemptHolder(deps: Deps, rollback: ReleaseSummary, stage: string, holderId: string): Promise<void> {
  const cause = preemptionCause(rollback, stage);
  await record(deps, holderId, stageStep.leaseLost(stage), 'lease.lost', { to: rollback.releaseId, by: rollback.initiator ?? null, reason: cause }, stage);
  const now = deps.now().toISOString();
  await endBake(deps, holderId, stage, {
    kind: 'fail',
    error: 'OperatorRollback',
    cause,
    gate: { gate: 'bake', result: 'FAIL', reason: `bake stopped: ${cause}` },
    detectedAt: now,
  });
  const approval = await deps.ledger.takeToken('APPROVAL', holderId, stage);
  if (approval) await deps.tasks.sendFailure(approval.token, 'OperatorRollback', cause);
  // A polling bake has no token: its next poll finds the lease gone (alarm-gate bake-poll).
  await deps.timers.cancel(bakeTimerName(holderId, stage)).catch(() => undefined);
}

/**
 * This release lost the stage's lease to an operator rollback: end the stage without deploying. A stage
 * whose digest this release had deployed is ROLLED_BACK (the operator rollback takes it back); one it had
 * not deployed yet is BLOCKED. Returns the reason.
 */
export async function recordPreempted(deps: Deps, release: ReleaseSummary, stage: string, events: readonly LedgerEvent[]): Promise<string> {
  const lost = events.filter((e) => e.type === 'lease.lost' && e.stage === stage).at(-1);
  const lease = await deps.ledger.getLease(release.service, stage);
  const taker = (lost?.data.to as string | undefined) ?? lease?.owner;
  const cause = (lost?.data.reason as string | undefined) ?? `the stage's lease was taken by ${taker ?? 'another release'}`;
  const deployed = release.stages.find((s) => s.name === stage)?.deploy?.result === 'SUCCEEDED';
  const reason = deployed ? `preempted: ${cause}; the operator rollback returns the stage to its earlier digest` : `preempted before deploying: ${cause}`;
  const r = await record(
    deps,
    release.releaseId,
    stageStep.finished(stage),
    'stage.finished',
    { status: deployed ? 'ROLLED_BACK' : 'BLOCKED', reason, preemptedBy: taker ?? null },
    stage,
  );
  return String(r.data.reason);
}

/** How far back the queue rule looks for a running newer release (longer than any release can run: 7-day approvals, window waits). */
export const QUEUE_LOOKBACK_DAYS = 30;

/** A release's standing in the queue of its service, with its digest's push time (one DescribeImages, cached per call). */
async function queued(deps: Deps, r: ReleaseSummary, stage: string, pushed: Map<string, Promise<string | undefined>>): Promise<QueuedRelease | undefined> {
  if (!r.digest || r.kind !== 'release') return undefined;
  const repository = deps.config.services[r.service]?.repository;
  if (!pushed.has(r.digest)) pushed.set(r.digest, repository ? deps.registry.describeImage(repository, { digest: r.digest }).then((d) => d?.pushedAt) : Promise.resolve(undefined));
  const pushedAt = await pushed.get(r.digest);
  const st = r.stages.find((s) => s.name === stage);
  return { releaseId: r.releaseId, digest: r.digest, startedAt: r.startedAt, status: r.status, ...(pushedAt ? { pushedAt } : {}), ...(st ? { stageStatus: st.status } : {}) };
}

/**
 * Newest wins: is this release, which has not deployed `stage`, superseded there — by a newer digest already
 * running in the stage, or by a newer release of the service still on its way? If so, record this stage and
 * every later one SUPERSEDED (nothing deployed) and return the reason.
 */
export async function supersedeIfNewer(deps: Deps, release: ReleaseSummary, stage: string): Promise<string | undefined> {
  if (release.kind !== 'release' || !release.digest) return undefined;
  const pushed = new Map<string, Promise<string | undefined>>();
  const ours = await queued(deps, release, stage, pushed);
  if (!ours) return undefined;
  let reason: string | undefined;
  let by: string | null = null;
  const running = (await deps.ledger.getPointer(release.service, stage))?.running;
  if (running && running !== release.digest) {
    const repository = deps.config.services[release.service]?.repository;
    const theirs = repository ? await deps.registry.describeImage(repository, { digest: running }) : undefined;
    reason = supersededReason(stage, { digest: release.digest, pushedAt: ours.pushedAt }, { digest: running, pushedAt: theirs?.pushedAt });
  }
  if (!reason) {
    // Running releases of the service (summaries only), whenever they started: an operator may start an older
    // digest after a newer one. Bounded to those started within QUEUE_LOOKBACK_DAYS before this one.
    const from = new Date(Date.parse(release.startedAt) - QUEUE_LOOKBACK_DAYS * 86_400_000).toISOString();
    const others = await deps.ledger.listReleases({ service: release.service, from, status: 'RUNNING' });
    const candidates = (await Promise.all(others.filter((o) => o.status === 'RUNNING').map((o) => queued(deps, o, stage, pushed)))).filter(
      (q): q is QueuedRelease => q !== undefined,
    );
    const newer = supersedingRelease(ours, candidates);
    if (newer) {
      reason = supersededByReleaseReason(stage, ours, newer);
      by = newer.releaseId;
    }
  }
  if (!reason) return undefined;
  const from = release.stages.findIndex((s) => s.name === stage);
  for (const s of release.stages.slice(Math.max(0, from))) {
    if (s.name !== stage && s.status !== 'NOT_STARTED') continue;
    await record(
      deps,
      release.releaseId,
      stageStep.finished(s.name),
      'stage.finished',
      { status: 'SUPERSEDED', reason: s.name === stage ? reason : `${stage}: ${reason}`, supersededBy: by },
      s.name,
    );
  }
  return reason;
}

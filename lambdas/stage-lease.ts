/**
 * One release per (service, stage): take, wait for, or free the stage lease, owned by the release
 * (execution name) and fenced by a token that grows with every new holder.
 *
 * - `acquire`: take the lease, or learn who holds it. A release gives way to a newer digest of its service
 *   (SUPERSEDED). An operator rollback takes the lease from a release that waits or bakes in the stage
 *   (never from one whose driver is running). Anyone takes over a lease whose holder's record is closed.
 * - `wait` (a `.waitForTaskToken` task): park until the lease is freed; whoever frees it wakes the waiters.
 * - `release`: free the lease and wake the waiters.
 * docs/decisions/021-leases-with-fencing.md
 */
import * as z from 'zod';
import { projectRelease } from './domain/ledger';
import { parseWith } from './domain/validation';
import type { Deps, LeaseResult } from './ports';
import { freeLease, preemptHolder, supersedeIfNewer, wakeLeaseWaiters } from './shared/lease';
import { lambdaHandler } from './shared/middleware';
import { ReleaseNotFoundError, record } from './shared/recorder';
import { stageStep } from './domain/step-keys';

const base = { releaseId: z.string().min(1), stage: z.string().min(1) };
const eventSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('acquire'), ...base }),
  z.object({ action: z.literal('wait'), ...base, taskToken: z.string().min(1), timeoutSeconds: z.number().optional() }),
  z.object({ action: z.literal('release'), ...base }),
]);

export type StageLeaseResult = { acquired: boolean; fence?: number; holder?: string; superseded?: string; woken?: boolean; preempted?: string };

/** Whether the holder's record is closed (its execution ended and nobody freed the lease). */
async function holderClosed(deps: Deps, holder: string): Promise<boolean> {
  const summary = (await deps.ledger.getRelease(holder)) ?? projectRelease(await deps.ledger.events(holder));
  return summary !== undefined && summary.status !== 'RUNNING';
}

export async function run(event: unknown, deps: Deps): Promise<StageLeaseResult> {
  const e = parseWith(eventSchema, event, 'task input');
  const events = await deps.ledger.events(e.releaseId);
  const release = projectRelease(events);
  if (!release) throw new ReleaseNotFoundError(`release ${e.releaseId} has no record`);
  const at = deps.now().toISOString();

  if (e.action === 'release') {
    await freeLease(deps, e.releaseId, release.service, e.stage);
    return { acquired: false };
  }

  if (e.action === 'wait') {
    await deps.ledger.addLeaseWaiter({ service: release.service, stage: e.stage, releaseId: e.releaseId, token: e.taskToken, at });
    // Freed (or made takeable) between our acquire and this registration: nobody else will wake us.
    const lease = await deps.ledger.getLease(release.service, e.stage);
    const takeable = !lease?.owner || lease.owner === e.releaseId || (await holderClosed(deps, lease.owner)) || (release.kind === 'rollback' && !lease.deploying);
    if (takeable) await wakeLeaseWaiters(deps, release.service, e.stage);
    return { acquired: false, woken: takeable };
  }

  // acquire
  let r: LeaseResult = await deps.ledger.acquireLease(release.service, e.stage, e.releaseId, at);
  let preempted: string | undefined;
  let takenOverFrom: string | undefined;
  if (!r.acquired && r.holder && r.holderFence !== undefined && !r.holderDeploying) {
    const closed = await holderClosed(deps, r.holder);
    const holderRelease = closed ? undefined : await deps.ledger.getRelease(r.holder);
    // Rollbacks come first: an operator rollback takes the stage from a release (not from another rollback).
    const preempt = !closed && release.kind === 'rollback' && holderRelease?.kind === 'release';
    if (closed || preempt) {
      const fence = await deps.ledger.takeOverLease(release.service, e.stage, { owner: r.holder, fence: r.holderFence }, e.releaseId, at);
      if (fence !== undefined) {
        if (preempt) preempted = r.holder;
        else takenOverFrom = r.holder;
        r = { acquired: true, fence };
      }
    }
  }
  if (r.acquired) {
    await record(
      deps,
      e.releaseId,
      stageStep.leaseAcquired(e.stage),
      'lease.acquired',
      { fence: r.fence ?? null, ...(preempted ? { preempted } : {}), ...(takenOverFrom ? { takenOverFrom, why: "its holder's record is closed" } : {}) },
      e.stage,
    );
    if (preempted) await preemptHolder(deps, release, e.stage, preempted);
  }
  // Newest wins, whether we hold the lease or queue for it: an older digest never deploys over a newer one.
  const superseded = await supersedeIfNewer(deps, release, e.stage);
  if (superseded) return { acquired: r.acquired, superseded };
  if (r.acquired) return { acquired: true, ...(r.fence !== undefined ? { fence: r.fence } : {}), ...(preempted ? { preempted } : {}) };
  // The wait is recorded by the first try only; later tries write nothing.
  const stepKey = stageStep.waiting(e.stage, 'lease');
  if (!events.some((x) => x.stepKey === stepKey)) await record(deps, e.releaseId, stepKey, 'stage.waiting', { waitingFor: 'lease', holder: r.holder ?? null }, e.stage);
  return r.holder ? { acquired: false, holder: r.holder } : { acquired: false };
}

export const handler = lambdaHandler(run);

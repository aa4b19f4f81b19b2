/** One release per (service, stage): take or free the stage lease, owned by the release (execution name). */
import { z } from 'zod';
import { projectRelease } from './domain/ledger';
import { supersededReason } from './domain/release';
import { parseWith } from './domain/validation';
import type { Deps } from './ports';
import { lambdaHandler } from './shared/middleware';
import { ReleaseNotFoundError, record } from './shared/recorder';

const eventSchema = z.object({ action: z.enum(['acquire', 'release']), releaseId: z.string().min(1), stage: z.string().min(1) });

/** A lease outlives a crashed owner by at most this long; the reconciler frees it sooner. */
export const LEASE_TTL_SECONDS = 24 * 3600;

/**
 * An older digest is never deployed over a newer one that already reached the stage: the digest
 * running there was pushed after this release's digest. Returns the reason, or undefined.
 */
async function supersededBy(deps: Deps, service: string, stage: string, digest: string | undefined): Promise<string | undefined> {
  const running = (await deps.ledger.getPointer(service, stage))?.running;
  const repository = deps.config.services[service]?.repository;
  if (!digest || !running || running === digest || !repository) return undefined;
  const [ours, theirs] = await Promise.all([deps.registry.describeImage(repository, { digest }), deps.registry.describeImage(repository, { digest: running })]);
  return supersededReason(stage, { digest, pushedAt: ours?.pushedAt }, { digest: running, pushedAt: theirs?.pushedAt });
}

export async function run(event: unknown, deps: Deps): Promise<{ acquired: boolean; holder?: string; superseded?: string }> {
  const e = parseWith(eventSchema, event, 'task input');
  const events = await deps.ledger.events(e.releaseId);
  const release = projectRelease(events);
  if (!release) throw new ReleaseNotFoundError(`release ${e.releaseId} has no record`);
  const at = deps.now().toISOString();
  if (e.action === 'acquire') {
    const r = await deps.ledger.acquireLease(release.service, e.stage, e.releaseId, at, LEASE_TTL_SECONDS);
    if (r.acquired) {
      await record(deps, e.releaseId, `stage:${e.stage}:lease.acquired`, 'lease.acquired', {}, e.stage);
      const superseded = release.kind === 'release' ? await supersededBy(deps, release.service, e.stage, release.digest) : undefined;
      if (superseded) {
        await record(deps, e.releaseId, `stage:${e.stage}:finished`, 'stage.finished', { status: 'BLOCKED', reason: superseded }, e.stage);
        return { acquired: true, superseded };
      }
    }
    else {
      // Tried again every 60 s while another release holds the lease: the wait is recorded by the first
      // try only; later tries write nothing (an append would find a duplicate, after reading the chain).
      const stepKey = `stage:${e.stage}:waiting:lease`;
      if (!events.some((x) => x.stepKey === stepKey)) await record(deps, e.releaseId, stepKey, 'stage.waiting', { waitingFor: 'lease', holder: r.holder }, e.stage);
    }
    return r.holder ? { acquired: r.acquired, holder: r.holder } : { acquired: r.acquired };
  }
  const held = await deps.ledger.releaseLease(release.service, e.stage, e.releaseId);
  if (held) await record(deps, e.releaseId, `stage:${e.stage}:lease.released`, 'lease.released', {}, e.stage);
  return { acquired: false };
}

export const handler = lambdaHandler(run);

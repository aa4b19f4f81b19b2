/**
 * The digests `gantry rollback --digest` may name for a service's stage, for the hint a refused rollback
 * prints. Read from the ledger's events as the stage pointer is written (lambdas/record-step.ts):
 * `stage.promoted` adds a digest to the pointer's promoted history (markGood), and a successful
 * `deploy.finished` (a deploy, or a rollback's redeploy) sets the digest running (setRunning).
 * lambdas/rollback-prepare.ts rollbackTarget allows a promoted digest other than the one running.
 */
import type { LedgerEvent } from '../../lambdas/domain/ledger';
import type { GantryBackend } from '../backends/backend';

export interface RollbackCandidate {
  readonly digest: string;
  /** The tags the releases that promoted it were started with (none when started by digest). */
  readonly tags: string[];
  /** When it was last promoted in the stage (absent: no release in the ledger promoted it). */
  readonly promotedAt?: string;
}

export interface RollbackCandidates {
  /** The digest running in the stage, as the ledger last set it. */
  readonly running?: string;
  /** The promoted digests other than the running one, newest promotion first. */
  readonly candidates: RollbackCandidate[];
}

/**
 * Pure: the candidates from the events of the service's releases (any order). With the stage pointer (the
 * authority rollback-prepare reads), its promoted history and running digest decide which digests are
 * candidates, and the events only say when and under which tags they were promoted; a digest in the
 * history that no release in the ledger promoted (a stage seeded before Gantry ran it) has no tags or time.
 */
export function rollbackCandidatesOf(events: readonly LedgerEvent[], stage: string, pointer?: { running?: string; promoted: readonly string[] }): RollbackCandidates {
  const sorted = [...events].sort((a, b) => a.at.localeCompare(b.at) || (a.releaseId === b.releaseId ? a.seq - b.seq : 0));
  const tagOf = new Map<string, string>();
  for (const e of sorted) if (e.type === 'release.started' && typeof e.data.tag === 'string') tagOf.set(e.releaseId, e.data.tag);
  let running: string | undefined;
  const byDigest = new Map<string, { tags: Set<string>; promotedAt?: string }>();
  for (const e of sorted) {
    if (e.stage !== stage) continue;
    const digest = typeof e.data.digest === 'string' ? e.data.digest : undefined;
    if (!digest) continue;
    if (e.type === 'deploy.finished' && e.data.result === 'SUCCEEDED' && e.data.cluster === undefined) running = digest;
    if (e.type === 'stage.promoted') {
      const c = byDigest.get(digest) ?? { tags: new Set<string>() };
      c.promotedAt = e.at;
      const tag = tagOf.get(e.releaseId);
      if (tag) c.tags.add(tag);
      byDigest.set(digest, c);
    }
  }
  if (pointer) running = pointer.running;
  // The pointer's history is oldest first: its order breaks ties and places digests with no promotion event.
  const order = pointer ? [...new Set(pointer.promoted)] : [...byDigest.keys()];
  const candidates = order
    .filter((digest) => digest !== running)
    .map((digest, i) => ({ digest, i, c: byDigest.get(digest) }))
    .sort((a, b) => (b.c?.promotedAt ?? '').localeCompare(a.c?.promotedAt ?? '') || b.i - a.i)
    .map(({ digest, c }) => ({ digest, tags: [...(c?.tags ?? [])].sort(), ...(c?.promotedAt ? { promotedAt: c.promotedAt } : {}) }));
  return { ...(running ? { running } : {}), candidates };
}

/** The candidates for a service's stage, read through the backend (its stage pointer where it has one). */
export async function rollbackCandidates(b: GantryBackend, service: string, stage: string): Promise<RollbackCandidates> {
  const pointer = b.stagePointer ? ((await b.stagePointer(service, stage)) ?? { promoted: [] }) : undefined;
  const releases = await b.listReleases({ service });
  const events: LedgerEvent[] = [];
  for (const r of releases) {
    // With the pointer only the promotions are read; without it, every run in the stage (to know what runs).
    if (!r.stages.some((s) => s.name === stage && (!pointer || (r.kind === 'release' && s.status === 'PROMOTED')))) continue;
    events.push(...(await b.getReleaseEvents(r.releaseId)));
  }
  return rollbackCandidatesOf(events, stage, pointer);
}

/**
 * Writing a release's decisions: one ledger event per step (idempotent by step key) and the
 * lifecycle events on the Gantry bus. Task tokens never pass through here.
 */
import type { LedgerEvent, LedgerEventInput, LedgerEventType, ReleaseSummary } from '../domain/ledger';
import { projectRelease } from '../domain/ledger';
import type { LifecycleDetailType } from '../domain/types';
import type { Deps } from '../ports';

export class ReleaseNotFoundError extends Error {
  override readonly name = 'ReleaseNotFoundError';
}

export async function record(
  deps: Deps,
  releaseId: string,
  stepKey: string,
  type: LedgerEventType,
  data: Record<string, unknown>,
  stage?: string,
): Promise<{ duplicate: boolean; at: string; data: Record<string, unknown> }> {
  const input: LedgerEventInput = { releaseId, stepKey, type, at: deps.now().toISOString(), data, ...(stage ? { stage } : {}) };
  const { event, duplicate } = await deps.ledger.append(input);
  return { duplicate, at: event.at, data: event.data };
}

/** Several steps recorded at once, in order, in one ledger write (each idempotent by its step key as with `record`). */
export async function recordAll(
  deps: Deps,
  releaseId: string,
  steps: ReadonlyArray<{ stepKey: string; type: LedgerEventType; data: Record<string, unknown>; stage?: string }>,
): Promise<Array<{ duplicate: boolean; at: string; data: Record<string, unknown> }>> {
  const at = deps.now().toISOString();
  const written = await deps.ledger.appendAll(steps.map((s) => ({ releaseId, stepKey: s.stepKey, type: s.type, at, data: s.data, ...(s.stage ? { stage: s.stage } : {}) })));
  return written.map(({ event, duplicate }) => ({ duplicate, at: event.at, data: event.data }));
}

/** The release's summary, projected from its chain: read now, or the `events` the caller has just read (no second request). */
export async function loadRelease(deps: Deps, releaseId: string, events?: readonly LedgerEvent[]): Promise<ReleaseSummary> {
  const summary = projectRelease(events ?? (await deps.ledger.events(releaseId)));
  if (!summary) throw new ReleaseNotFoundError(`release ${releaseId} has no record`);
  return summary;
}

/** Publish a lifecycle event (docs/contracts.md §4) unless the step that causes it was a duplicate. */
export async function announce(
  deps: Deps,
  duplicate: boolean,
  detailType: LifecycleDetailType,
  release: Pick<ReleaseSummary, 'releaseId' | 'service' | 'digest'>,
  detail: { stage?: string; status: string; at: string } & Record<string, unknown>,
): Promise<void> {
  if (duplicate) return;
  await deps.bus.publish([{ detailType, detail: { releaseId: release.releaseId, service: release.service, digest: release.digest ?? null, ...detail } }]);
}

export function stageConfigOf(deps: Deps, service: string, stage: string) {
  const svc = deps.config.services[service];
  const st = svc?.stages.find((s) => s.name === stage);
  if (!svc || !st) throw new ReleaseNotFoundError(`stage ${service}/${stage} is not in the config`);
  return { svc, st };
}

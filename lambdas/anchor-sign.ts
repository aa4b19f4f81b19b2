/**
 * Signs a finished release's end (decision 048). Target of the `Release Finished` / `Rollback Drilled` rule on the Gantry bus
 * (asynchronous: retries, then the anchor-sign dead-letter queue). Reads the release's chain from the table,
 * checks it (every hash recomputed, one release.finished), and signs
 * `{ releaseId, version, lastHash }` of its release.finished with the anchor key, writing the signature item
 * once. Gantry's writers of release.finished all announce the end: record-step, rollback-prepare and the reconciler
 * `Release Finished`, the drill step (a drill's own record) `Rollback Drilled`; so every terminal record reaches this
 * handler.
 *
 * A chain that does not verify is never signed (outcome `chain-broken`): signing would bless the tampering.
 */
import * as z from 'zod';
import type { ExportEventLine } from './domain/audit/export';
import { verifyRelease } from './domain/audit/verify';
import { RECORD_FINISHED_DETAIL_TYPES } from './domain/event-patterns';
import { parseWith } from './domain/validation';
import type { Deps } from './ports';
import { recordSignFailure, type SignOutcome, signAnchorOnce } from './shared/anchor-signing';
import { lambdaHandler } from './shared/middleware';

const eventSchema = z.object({
  'detail-type': z.enum(RECORD_FINISHED_DETAIL_TYPES),
  detail: z.object({ releaseId: z.string().min(1).max(200) }),
});

export type AnchorSignResult = { readonly releaseId: string } & (SignOutcome | { readonly outcome: 'not-finished' });

export async function run(event: unknown, deps: Deps): Promise<AnchorSignResult> {
  const e = parseWith(eventSchema, event, 'Release Finished event');
  const releaseId = e.detail.releaseId;
  const events = await deps.ledger.events(releaseId, { whole: true });
  const finished = events.filter((x) => x.type === 'release.finished').at(-1);
  if (!finished) return { releaseId, outcome: 'not-finished' };
  const anchor = { releaseId, version: finished.seq, lastHash: finished.hash };
  // The chain up to the signed event, checked as an auditor would check it (no anchor: its end is what is being signed).
  const upTo = events.filter((x) => x.seq <= finished.seq);
  const lines: ExportEventLine[] = upTo.map((ev, i) => ({ line: i + 1, event: ev as unknown as Record<string, unknown> }));
  const check = verifyRelease(releaseId, lines, [{ line: lines.length + 1, anchor: { kind: 'anchor', releaseId, version: finished.seq, lastHash: finished.hash } }]);
  if (!check.ok) {
    const first = check.problems[0]?.message ?? 'the chain does not verify';
    return { releaseId, ...(await recordSignFailure(deps, releaseId, anchor, 'chain-broken', `not signed: ${check.problems.length} problem(s), first: ${first}`)) };
  }
  return { releaseId, ...(await signAnchorOnce(deps, releaseId, anchor)) };
}

export const handler = lambdaHandler(run);

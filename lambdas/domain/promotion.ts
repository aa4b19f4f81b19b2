/**
 * Gate `promotion.previous-stage` (docs/decisions/054-promote.md): a release that starts at a later stage
 * (`startAt`, a promotion) may take digest D there only if D was promoted in the stage before it and has not
 * been rolled back away from there since. The rule, strict:
 * 1. D is in the previous stage pointer's `promoted` history (the authority `markGood` writes);
 * 2. no rollback in the previous stage FROM D (a release's bake or canary that went bad, an operator
 *    rollback, a failed deploy of D, a rollback that failed) started at or after D's newest promotion there; a rollback drill's leg is not
 *    for cause and does not count. Without any promotion of D in the ledger (a pointer seeded before Gantry
 *    ran the stage), every rollback from D in the ledger counts.
 * Evidence: which release promoted D there and when (the newest), or what the stage did promote.
 * Pure: no AWS SDK, no clock (the caller passes the summaries it read).
 */
import type { ReleaseSummary } from './ledger';
import type { GateResult } from './types';

export const PREVIOUS_STAGE_GATE = 'promotion.previous-stage' as const;

export interface PreviousStagePointer {
  readonly running?: string;
  readonly lastKnownGood?: string;
  readonly promoted: readonly string[];
}

export interface PromotionFacts {
  readonly service: string;
  /** The stage the release starts at. */
  readonly stage: string;
  /** The stage before it, in the service's order. */
  readonly previousStage: string;
  readonly digest: string;
  /** The previous stage's pointer (undefined: never written). */
  readonly pointer: PreviousStagePointer | undefined;
  /** The service's releases, rollbacks and drills (any order), as the ledger summarises them. */
  readonly releases: readonly ReleaseSummary[];
}

export interface PromotionEvidence {
  readonly previousStage: string;
  readonly digest: string;
  /** The newest release that promoted the digest in the previous stage, and when (null: none in the ledger). */
  readonly promotedBy: { readonly releaseId: string; readonly at: string } | null;
  /** The rollbacks away from the digest in the previous stage that count (newest last). */
  readonly rolledBackBy: ReadonlyArray<{ readonly releaseId: string; readonly at: string; readonly toDigest: string | null; readonly reason: string }>;
  /** The previous stage's promoted history (oldest first), its running and last known good digests. */
  readonly promoted: readonly string[];
  readonly running: string | null;
  readonly lastKnownGood: string | null;
}

export interface PromotionVerdict extends GateResult {
  readonly gate: typeof PREVIOUS_STAGE_GATE;
  readonly result: 'PASS' | 'FAIL';
  readonly evidence: PromotionEvidence;
}

const promotedAt = (r: ReleaseSummary, stage: string): string | undefined => {
  const s = r.stages.find((x) => x.name === stage);
  return s?.status === 'PROMOTED' ? (s.endedAt ?? r.endedAt ?? r.startedAt) : undefined;
};

const isDrillLeg = (r: ReleaseSummary): boolean => typeof r.input === 'object' && r.input !== null && (r.input as Record<string, unknown>).drill !== undefined;

/** The verdict of gate promotion.previous-stage for a digest about to start (or deploy) at `stage`. */
export function previousStageVerdict(f: PromotionFacts): PromotionVerdict {
  const promoted = f.pointer?.promoted ?? [];
  let promotedBy: PromotionEvidence['promotedBy'] = null;
  for (const r of f.releases) {
    if (r.kind !== 'release' || r.digest !== f.digest) continue;
    const at = promotedAt(r, f.previousStage);
    if (at && (!promotedBy || at > promotedBy.at)) promotedBy = { releaseId: r.releaseId, at };
  }
  const rolledBackBy = f.releases
    .filter((r) => !isDrillLeg(r) && r.kind !== 'drill')
    .flatMap((r) => {
      const s = r.stages.find((x) => x.name === f.previousStage);
      const rb = s?.rollback;
      if (!rb || rb.fromDigest !== f.digest) return [];
      const at = rb.startedAt ?? rb.detectedAt ?? r.startedAt;
      if (promotedBy && at < promotedBy.at) return [];
      return [{ releaseId: r.releaseId, at, toDigest: rb.toDigest ?? null, reason: rb.reason }];
    })
    .sort((a, b) => a.at.localeCompare(b.at));
  const evidence: PromotionEvidence = {
    previousStage: f.previousStage,
    digest: f.digest,
    promotedBy,
    rolledBackBy,
    promoted: [...promoted],
    running: f.pointer?.running ?? null,
    lastKnownGood: f.pointer?.lastKnownGood ?? null,
  };
  const where = `${f.service}/${f.previousStage}`;
  const verdict = (result: 'PASS' | 'FAIL', reason: string): PromotionVerdict => ({ gate: PREVIOUS_STAGE_GATE, result, reason, evidence });
  if (!promoted.includes(f.digest)) {
    const what = promoted.length ? `it promoted ${[...promoted].reverse().join(', ')} (newest first)` : 'it has promoted no digest';
    return verdict('FAIL', `${f.digest} was never promoted in ${where}: ${what}; promote it there first (a release through ${f.previousStage})`);
  }
  const last = rolledBackBy.at(-1);
  if (last) {
    return verdict(
      'FAIL',
      `${f.digest} was rolled back away from ${where} by ${last.releaseId} at ${last.at} (${last.reason})${promotedBy ? `, after ${promotedBy.releaseId} promoted it there at ${promotedBy.at}` : ''}; it may not go on to ${f.stage}`,
    );
  }
  return verdict(
    'PASS',
    promotedBy
      ? `${f.digest} was promoted in ${where} by ${promotedBy.releaseId} at ${promotedBy.at} and not rolled back there since`
      : `${f.digest} is in the promoted history of ${where} (promoted before any release in the ledger) and was not rolled back there`,
  );
}

/** The stage before `stage` in the service's order; undefined for the first stage or an unknown one. */
export function previousStageOf(stageNames: readonly string[], stage: string): string | undefined {
  const i = stageNames.indexOf(stage);
  return i > 0 ? stageNames[i - 1] : undefined;
}

/** Evidence completeness: every promoted stage of a release shows its gates, its deploy with driver evidence, its bake and, when required, an approval. */
import { evidenceShortfall } from '../driver-evidence';
import type { LedgerEvent } from '../ledger';

export type EvidenceKind = 'gates' | 'deploy' | 'bake' | 'approval' | 'change';

export interface EvidenceGap {
  readonly releaseId: string;
  readonly stage: string;
  readonly missing: EvidenceKind;
  readonly message: string;
}

export interface EvidenceReport {
  readonly releaseId: string;
  /** Stages with a stage.promoted event: the ones whose evidence is checked. */
  readonly promotedStages: string[];
  readonly gaps: EvidenceGap[];
  readonly notes: string[];
}

/** Gates that run before the deploy (everything but the bake verdict and the approval). */
const PRE_DEPLOY_GATES = (gate: unknown) => gate !== 'bake' && gate !== 'approval';

/**
 * Which stages of `release.started` require an approval. The config is not in an export: the release
 * records it as `approvalRequired: ["prod", …]` in its release.started data. `undefined` when the
 * release does not say (older records): the approval check is then skipped and a note says so.
 */
export function approvalPolicyOf(events: readonly LedgerEvent[]): readonly string[] | undefined {
  const started = events.find((e) => e.type === 'release.started');
  const v = started?.data.approvalRequired;
  if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
  return undefined;
}

/** Every promoted stage must show its gate results, its deploy with driver evidence, its bake result and, when required, an approval. */
export function evidenceCompleteness(events: readonly LedgerEvent[]): EvidenceReport {
  const sorted = [...events].sort((a, b) => a.seq - b.seq);
  const releaseId = sorted[0]?.releaseId ?? '';
  const started = sorted.find((e) => e.type === 'release.started');
  const notes: string[] = [];
  if (started?.data.kind === 'rollback') {
    return { releaseId, promotedStages: [], gaps: [], notes: ['an operator rollback promotes nothing: no stage evidence to check'] };
  }
  const promoted = [...new Set(sorted.filter((e) => e.type === 'stage.promoted' && e.stage).map((e) => e.stage as string))];
  const recorded = approvalPolicyOf(sorted);
  // A stage that asked for an approval had a policy requiring one, whatever else the record says.
  const requested = sorted.filter((e) => e.type === 'stage.waiting' && e.data.waitingFor === 'approval' && e.stage).map((e) => e.stage as string);
  const approvals = [...new Set([...(recorded ?? []), ...requested])];
  if (promoted.length && recorded === undefined) {
    notes.push(
      'the release does not record which stages required an approval (release.started has no approvalRequired): only stages that asked for one were checked for an approval',
    );
  }
  const gaps: EvidenceGap[] = [];
  const gap = (stage: string, missing: EvidenceKind, message: string) => gaps.push({ releaseId, stage, missing, message });
  for (const stage of promoted) {
    const of = sorted.filter((e) => e.stage === stage);
    const gates = of.filter((e) => e.type === 'gate.evaluated' && PRE_DEPLOY_GATES(e.data.gate));
    if (gates.length === 0) gap(stage, 'gates', 'promoted without any gate result (no gate.evaluated before its deploy)');
    for (const g of gates) {
      if (typeof g.data.reason !== 'string' || g.data.reason === '') gap(stage, 'gates', `gate ${String(g.data.gate)} has no reason`);
      if (g.data.result === 'FAIL') gap(stage, 'gates', `promoted although gate ${String(g.data.gate)} FAILED: ${String(g.data.reason)}`);
    }
    const deploys = of.filter((e) => e.type === 'deploy.finished' && e.data.kind !== 'rollback' && e.data.result === 'SUCCEEDED');
    if (deploys.length === 0) gap(stage, 'deploy', 'promoted without a successful deploy.finished');
    else {
      // The driver the deploy ran (recorded on deploy.started and in the evidence): its own evidence must be there.
      const startedDriver = of.find((e) => e.type === 'deploy.started' && e.data.kind !== 'rollback' && typeof e.data.driver === 'string')?.data.driver as string | undefined;
      const shortfalls = deploys.map((d) => {
        const ev = d.data.evidence as Record<string, unknown> | undefined;
        const driver = startedDriver ?? (typeof ev?.driver === 'string' ? ev.driver : undefined);
        // A record that names no driver at all predates driver evidence: its build id is what it can show.
        if (driver === undefined) return typeof d.data.buildId === 'string' && d.data.buildId !== '' ? undefined : 'its deploy.finished carries no driver evidence (no buildId)';
        return evidenceShortfall(driver, ev);
      });
      if (!shortfalls.some((x) => x === undefined)) gap(stage, 'deploy', shortfalls[shortfalls.length - 1] as string);
    }
    // The stage's own bake: a phase's (decision 047) does not stand for it.
    const bake = of.filter((e) => e.type === 'bake.finished' && e.data.phase === undefined);
    const bakeGate = of.filter((e) => e.type === 'gate.evaluated' && e.data.gate === 'bake' && e.data.phase === undefined);
    if (bake.length === 0 && bakeGate.length === 0) gap(stage, 'bake', 'promoted without a bake result');
    else if (![...bake, ...bakeGate].some((b) => b.data.result === 'PASS' || b.data.result === 'WARN')) gap(stage, 'bake', 'promoted although its bake did not pass');
    // Decision 051: a release whose service asked for a change record shows change.record PASS (or an override) in every promoted stage.
    if (started?.data.changeRecordPolicy && !of.some((e) => e.type === 'gate.evaluated' && e.data.gate === 'change.record' && e.data.result !== 'FAIL')) {
      gap(stage, 'change', 'its policy requires a change record (release.started changeRecordPolicy) and the record has no change.record gate that passed');
    }
    if (approvals.includes(stage)) {
      const approved = of.some((e) => e.type === 'gate.evaluated' && e.data.gate === 'approval' && e.data.decision === 'APPROVED' && typeof e.data.principal === 'string');
      if (!approved) gap(stage, 'approval', 'its policy requires an approval and the record has no APPROVED decision with the approver');
    }
  }
  return { releaseId, promotedStages: promoted, gaps, notes };
}

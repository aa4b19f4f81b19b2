/**
 * A release's change record, commit and per-stage commit ranges as `gantry audit show` and the HTML report present
 * them (decision 051), from the `change.record` gates in its events alone. Pure.
 */
import type { LedgerEvent } from '../ledger';

export interface ChangeStageAudit {
  readonly stage: string;
  readonly result: string;
  readonly reason: string;
  /** The stage's last known good when it started, with the commit a release of that digest recorded. */
  readonly from?: { readonly digest: string; readonly commit?: string };
  readonly to?: { readonly digest: string; readonly commit?: string };
  readonly compareUrl?: string;
}

export interface ChangeAudit {
  /** The change id, when a change.record gate found and matched it. */
  readonly id?: string;
  /** What was found when it did not match. */
  readonly given?: string;
  /** Where the id was read: "input" or "label:<name>"; absent when the service asks for no change record. */
  readonly from?: string;
  readonly pattern?: string;
  readonly required?: boolean;
  readonly commit?: string;
  readonly commitLabel?: string;
  readonly commitProblem?: string;
  /** One entry per stage whose change.record gate ran, in order. */
  readonly stages: ChangeStageAudit[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function ref(v: unknown): { digest: string; commit?: string } | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const r = v as Record<string, unknown>;
  const digest = str(r.digest);
  if (!digest) return undefined;
  const commit = str(r.commit);
  return { digest, ...(commit ? { commit } : {}) };
}

/** The release's change audit, or undefined when no change.record gate ran (the service has neither changeRecord nor source). */
export function changeAudit(events: readonly LedgerEvent[]): ChangeAudit | undefined {
  const gates = [...events].sort((a, b) => a.seq - b.seq).filter((e) => e.type === 'gate.evaluated' && e.data.gate === 'change.record');
  if (gates.length === 0) return undefined;
  const out: { -readonly [K in keyof ChangeAudit]: ChangeAudit[K] } = { stages: [] };
  for (const e of gates) {
    const ev = (e.data.evidence && typeof e.data.evidence === 'object' ? e.data.evidence : {}) as Record<string, unknown>;
    for (const k of ['id', 'given', 'from', 'pattern', 'commit', 'commitLabel', 'commitProblem'] as const) {
      const v = str(ev[k]);
      if (v !== undefined) out[k] ??= v;
    }
    if (typeof ev.required === 'boolean') out.required ??= ev.required;
    const range = (ev.range && typeof ev.range === 'object' ? ev.range : {}) as Record<string, unknown>;
    const from = ref(range.from);
    const to = ref(range.to);
    const compareUrl = str(range.compareUrl);
    out.stages.push({
      stage: e.stage ?? '?',
      result: String(e.data.result),
      reason: String(e.data.reason ?? ''),
      ...(from ? { from } : {}),
      ...(to ? { to } : {}),
      ...(compareUrl ? { compareUrl } : {}),
    });
  }
  return out;
}

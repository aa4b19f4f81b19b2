/**
 * The native Kubernetes driver's evidence (eks:call: generation, image, rollout condition): the rollout
 * check's own evidence (lambdas/domain/rollout.ts), handed over as `$.deploy.evidence`; the record keeps
 * whatever bounded object of plain values it is.
 */
import { type DriverEvidencePart, isRecord } from '../evidence-kit';

export type KubernetesEvidence = Readonly<Record<string, unknown>>;

export const kubernetesEvidence: DriverEvidencePart = {
  extract({ result, drop }): KubernetesEvidence | undefined {
    const given = isRecord(result) ? result.evidence : undefined;
    const kept = given === undefined ? undefined : boundedJson(given, 3);
    if (isRecord(kept)) return kept;
    if (given !== undefined) drop('evidence', 'not an object of plain values');
    return undefined;
  },
  shortfall: (member) => (isRecord(member) ? undefined : "the kubernetes driver's evidence"),
};

/** A JSON value kept only within bounds (strings ≤ 1,024 characters, ≤ 40 keys or items, `depth` levels); else undefined. */
function boundedJson(v: unknown, depth: number): unknown {
  if (v === null || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string') return v.length <= 1024 ? v : undefined;
  if (depth <= 0) return undefined;
  if (Array.isArray(v)) {
    if (v.length > 40) return undefined;
    const items = v.map((x) => boundedJson(x, depth - 1));
    return items.every((x) => x !== undefined) ? items : undefined;
  }
  if (!isRecord(v)) return undefined;
  const entries = Object.entries(v);
  if (entries.length > 40) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, x] of entries) {
    if (x === undefined) continue;
    const kept = boundedJson(x, depth - 1);
    if (kept === undefined) return undefined;
    out[k] = kept;
  }
  return out;
}

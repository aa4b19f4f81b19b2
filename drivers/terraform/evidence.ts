/** The Terraform driver's evidence: the plan its build wrote and exported (drivers/terraform/buildspec.yml), validated before it reaches the ledger. */
import { type DriverEvidencePart, isRecord, SHA256 } from '../evidence-kit';

export interface TerraformEvidence {
  /** sha256 of `terraform show -json tfplan`, the plan that was (or would have been) applied. */
  readonly planSha256: string;
  /** Evidence bucket key of that plan JSON: `evidence/<release>/<stage>/<deploy|rollback>/plan.json`. */
  readonly planKey: string;
  /** Terraform's own "Plan: N to add, N to change, N to destroy" (a replacement counts in add and destroy). */
  readonly add: number;
  readonly change: number;
  readonly destroy: number;
  /** Decision 049: the apply of an approved saved plan — that binary plan's sha256, checked against the approved one before the apply. */
  readonly savedPlanSha256?: string;
}

const PLAN_SUMMARY = /^\{"add":(\d{1,7}),"change":(\d{1,7}),"destroy":(\d{1,7})\}$/;

export const terraformEvidence: DriverEvidencePart = {
  extract({ value, drop, warn, evidenceKey, hasBuild, releaseId, stage, kind }): TerraformEvidence | undefined {
    const sha = value('TF_PLAN_SHA256');
    const key = value('TF_PLAN_KEY');
    const summary = value('TF_PLAN_SUMMARY');
    const shaOk = sha !== undefined && SHA256.test(sha);
    const keyOk = key !== undefined && evidenceKey('plan.json').test(key);
    const counts = summary !== undefined ? PLAN_SUMMARY.exec(summary) : null;
    if (sha !== undefined && !shaOk) drop('TF_PLAN_SHA256', 'not a sha256');
    if (key !== undefined && !keyOk) drop('TF_PLAN_KEY', `not the plan key of this run (evidence/${releaseId}/${stage}/${kind}/plan.json)`);
    if (summary !== undefined && !counts) drop('TF_PLAN_SUMMARY', 'not {"add":N,"change":N,"destroy":N}');
    const saved = value('TF_SAVED_PLAN_SHA256');
    const savedOk = saved !== undefined && SHA256.test(saved);
    if (saved !== undefined && !savedOk) drop('TF_SAVED_PLAN_SHA256', 'not a sha256');
    if (shaOk && keyOk && counts) {
      return {
        planSha256: sha as string,
        planKey: key as string,
        add: Number(counts[1]),
        change: Number(counts[2]),
        destroy: Number(counts[3]),
        ...(savedOk ? { savedPlanSha256: saved as string } : {}),
      };
    }
    if (hasBuild)
      warn(`no Terraform evidence: ${[!shaOk && 'TF_PLAN_SHA256', !keyOk && 'TF_PLAN_KEY', !counts && 'TF_PLAN_SUMMARY'].filter(Boolean).join(', ')} missing or dropped`);
    return undefined;
  },
  shortfall(member) {
    const t = isRecord(member) ? member : {};
    return typeof t.planSha256 === 'string' && SHA256.test(t.planSha256) && typeof t.planKey === 'string' && typeof t.destroy === 'number'
      ? undefined
      : 'the plan sha256, key and counts';
  },
};

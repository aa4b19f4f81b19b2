/** The Helm driver's evidence: what its build exports (drivers/helm/buildspec.yml), validated before it reaches the ledger. */
import { type DriverEvidencePart, isRecord, SHA256 } from '../evidence-kit';

/** Helm release statuses (helm.sh/helm/v3/pkg/release.Status). */
export const HELM_STATUSES = ['unknown', 'deployed', 'uninstalled', 'superseded', 'failed', 'uninstalling', 'pending-install', 'pending-upgrade', 'pending-rollback'] as const;
export type HelmStatus = (typeof HELM_STATUSES)[number];

export interface HelmEvidence {
  /** The Helm release revision `helm status` reported after the run. */
  readonly revision: number;
  readonly status: HelmStatus;
  /** sha256 of the `helm status -o json` document (which itself stays out of the log: it holds Secrets). */
  readonly statusSha256: string;
  /** Evidence bucket key of that document, when the driver uploads it. */
  readonly statusKey?: string;
}

const REVISION = /^[1-9][0-9]{0,8}$/;

export const helmEvidence: DriverEvidencePart = {
  extract({ value, drop, warn, evidenceKey, hasBuild, releaseId, stage, kind }): HelmEvidence | undefined {
    const rev = value('HELM_REVISION');
    const status = value('HELM_STATUS');
    const sha = value('HELM_STATUS_SHA256');
    const key = value('HELM_STATUS_KEY');
    const revOk = rev !== undefined && REVISION.test(rev);
    const statusOk = status !== undefined && (HELM_STATUSES as readonly string[]).includes(status);
    const shaOk = sha !== undefined && SHA256.test(sha);
    const keyOk = key !== undefined && evidenceKey('helm-status.json').test(key);
    if (rev !== undefined && !revOk) drop('HELM_REVISION', 'not a revision number');
    if (status !== undefined && !statusOk) drop('HELM_STATUS', `not a Helm release status (${HELM_STATUSES.join(', ')})`);
    if (sha !== undefined && !shaOk) drop('HELM_STATUS_SHA256', 'not a sha256');
    if (key !== undefined && !keyOk) drop('HELM_STATUS_KEY', `not an evidence key of this run (evidence/${releaseId}/${stage}/${kind}/helm-status.json)`);
    if (revOk && statusOk && shaOk) {
      return { revision: Number(rev), status: status as HelmStatus, statusSha256: sha as string, ...(keyOk ? { statusKey: key as string } : {}) };
    }
    if (hasBuild)
      warn(`no Helm evidence: ${[!revOk && 'HELM_REVISION', !statusOk && 'HELM_STATUS', !shaOk && 'HELM_STATUS_SHA256'].filter(Boolean).join(', ')} missing or dropped`);
    return undefined;
  },
  shortfall(member) {
    const h = isRecord(member) ? member : {};
    return typeof h.revision === 'number' && typeof h.status === 'string' && typeof h.statusSha256 === 'string' && SHA256.test(h.statusSha256)
      ? undefined
      : 'the Helm revision, status and status sha256';
  },
};

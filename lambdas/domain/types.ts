/** Names of docs/contracts.md §3 and §4, spelled exactly as written there. */

export const RELEASE_STATUSES = ['RUNNING', 'SUCCEEDED', 'ROLLED_BACK', 'BLOCKED', 'REJECTED', 'FAILED', 'ROLLBACK_FAILED', 'ABORTED', 'SKIPPED'] as const;
export type ReleaseStatus = (typeof RELEASE_STATUSES)[number];

export const STAGE_STATUSES = ['NOT_STARTED', 'WAITING', 'PROMOTED', 'BLOCKED', 'REJECTED', 'ROLLED_BACK', 'FAILED', 'ROLLBACK_FAILED', 'ABORTED', 'SUPERSEDED'] as const;
export type StageStatus = (typeof STAGE_STATUSES)[number];

export const GATE_NAMES = [
  'window',
  'image.exists',
  'image.immutable-tag',
  'image.scan',
  'image.signature',
  'image.labels',
  'image.age',
  'alarms.pre-deploy',
  'approval',
  'bake',
  /** A canary step's analysis (decision 043): canary vs stable over the step's bake. */
  'canary.analysis',
  /** The release's change record (decision 051): present and matching the service's pattern, from an image label or the input. */
  'change.record',
  /** A Terraform stage's saved plan (decision 049): planned, or refused (destroys without allowDestroy, a failed plan, too many stale plans). */
  'terraform.plan',
  /** A promotion (decision 054): the digest was promoted in the stage before the one the release starts at, and not rolled back there since. */
  'promotion.previous-stage',
] as const;
export type GateName = (typeof GATE_NAMES)[number];
export type GateResultValue = 'PASS' | 'FAIL' | 'WARN';

export interface GateResult {
  readonly gate: GateName;
  readonly result: GateResultValue;
  readonly reason: string;
  /** Raw evidence the decision was made on (API responses, trimmed). */
  readonly evidence?: unknown;
}

export const LIFECYCLE_DETAIL_TYPES = [
  'Release Started',
  'Stage Gate Failed',
  'Approval Requested',
  'Approval Decided',
  'Stage Deployed',
  'Stage Promoted',
  'Rollback Started',
  'Release Finished',
  /** A rollback drill ended (decision 052): its figures, digests, trigger and outcome. */
  'Rollback Drilled',
] as const;
export type LifecycleDetailType = (typeof LIFECYCLE_DETAIL_TYPES)[number];

/** Terminal release statuses: a release in one of these is finished and never changes again. */
export const TERMINAL_RELEASE_STATUSES: ReadonlySet<ReleaseStatus> = new Set(RELEASE_STATUSES.filter((s) => s !== 'RUNNING'));

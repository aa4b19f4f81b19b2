/**
 * What a driver's evidence part (drivers/<name>/evidence.ts) is given, and the checks they share.
 * Pure: the record step's bundle reaches it through lambdas/domain/driver-evidence.ts.
 */

export const SHA256 = /^[a-f0-9]{64}$/;

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One driver run's result as a driver's evidence part reads it. */
export interface EvidenceInput {
  readonly releaseId: string;
  readonly stage: string;
  readonly kind: 'deploy' | 'rollback';
  /** Whether the result carried a CodeBuild build at all. */
  readonly hasBuild: boolean;
  /** The task result or the Catch's error (a native driver hands its evidence over in it). */
  readonly result: unknown;
  /** An exported variable of the build; undefined when absent or empty (CodeBuild exports an unset declared variable as ""). */
  value(name: string): string | undefined;
  /** Drops a malformed value, naming the field and why (never the value). */
  drop(name: string, why: string): void;
  warn(message: string): void;
  /** `^evidence/<release>/<stage>/<kind>/<file>$`: an evidence bucket key of this run. */
  evidenceKey(file: string): RegExp;
}

/** What `evidence` in a driver's descriptor does. */
export interface DriverEvidencePart {
  /** The driver's validated member of the recorded evidence (`evidence.<driver>`), or undefined when there is none. */
  extract(input: EvidenceInput): unknown;
  /** What a successful deploy's member lacks (e.g. "the Helm revision, status and status sha256"), or undefined when complete. */
  shortfall(member: unknown): string | undefined;
}

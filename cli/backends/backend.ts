/**
 * One interface every operator command uses, whether Gantry is deployed (cli/backends/aws-backend.ts: the
 * stack's state machines and ledger table, found through CloudFormation outputs) or local
 * (cli/backends/local-backend.ts: a directory holding a scenario, the operator's actions and the result of
 * re-running the deterministic simulation). See docs/decisions/011-cli-backends.md.
 */
import type { ParsedExport } from '../../lambdas/domain/audit';
import type { GantryConfig } from '../../lambdas/domain/config';
import type { LedgerEvent, ReleaseSummary } from '../../lambdas/domain/ledger';
import type { FreezeState, ReleaseQuery } from '../../lambdas/ports';

/** Exit codes of every `gantry` operator command (README "CLI"). */
export const EXIT = {
  ok: 0,
  /** The release (or rollback) failed, was blocked, rejected, rolled back or aborted; a refusal. */
  releaseFailed: 1,
  badInput: 2,
  notFound: 3,
  awsError: 4,
  /** `gantry status --watch --timeout D`: D passed and the release had not finished (it goes on; watch it again). */
  watchTimeout: 5,
} as const;

/** A release or rollback execution as Step Functions reports it. */
export interface ExecutionDescription {
  readonly releaseId: string;
  readonly executionArn: string;
  /** RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED | PENDING_REDRIVE */
  readonly status: string;
  readonly error?: string;
  readonly cause?: string;
  readonly startedAt?: string;
  readonly stoppedAt?: string;
}

export interface StartResult {
  /** The release id: the execution name. */
  readonly releaseId: string;
  readonly executionArn: string;
  /** The Step Functions console page of the execution (undefined for a local Gantry). */
  readonly consoleUrl?: string;
  /** An execution of that name existed already (a repeat, not a second release). */
  readonly alreadyExists: boolean;
}

export interface Decision {
  readonly decision: 'approve' | 'reject';
  readonly releaseId: string;
  readonly stage: string;
  readonly comment?: string;
  /** Decision 049: the sha256 of the saved Terraform plan being decided on (`gantry approve --plan`). */
  readonly planSha256?: string;
}

export interface DecisionResult {
  /** 0 applied, 1 refused or nothing waiting, 2 bad input (approve.ts's codes). */
  readonly code: number;
  readonly lines: ReadonlyArray<{ readonly stream: 'out' | 'err'; readonly text: string }>;
}

/** What `abortRelease` answers (decision 053). */
export interface AbortResult {
  readonly releaseId: string;
  /** `ABORTING` (AWS: the reconciler closes the record), or the release's status after a local Gantry's re-run. */
  readonly status: string;
  /** One line for a person: what happened and what to look at next. */
  readonly message: string;
  /** Who asked (the caller the API verified, or the local Gantry's `--as`). */
  readonly principal?: string;
  /** The reason the record closed with (a local Gantry), e.g. "aborted by <principal>: <reason>". */
  readonly reason?: string;
}

/** A stage's pointer as the CLI reads it (`gantry rollback --digest`, `gantry stages`: decision 055). */
export interface StagePointerView {
  readonly running?: string;
  readonly promoted: readonly string[];
  /** The last digest that passed its bake in the stage (absent: none yet). */
  readonly lastKnownGood?: string;
  /** When the pointer was last written (AWS: the item's updatedAt; absent when the backend does not know). */
  readonly updatedAt?: string;
}

export interface GantryBackend {
  readonly kind: 'aws' | 'local';
  /** Where the answers come from, for messages: `stack Gantry (eu-west-2)`, `local Gantry ./demo (simulation)`. */
  readonly label: string;
  /** The deployment config, when the backend knows it (local: always; AWS: `--config`). */
  config(): GantryConfig | undefined;
  startRelease(input: unknown): Promise<StartResult>;
  startRollback(input: unknown): Promise<StartResult>;
  /** Start a rollback drill (`{ service, stage, reason? }`, decision 052): the drill workflow through the Gantry API. */
  startDrill(input: unknown): Promise<StartResult>;
  listReleases(query?: ReleaseQuery): Promise<ReleaseSummary[]>;
  /** A release's ledger events in order; [] when the release is unknown. */
  getReleaseEvents(releaseId: string): Promise<LedgerEvent[]>;
  /**
   * A release as an audit export (its events and its anchor: the ledger's release summary for AWS, the
   * local ledger.jsonl's anchor line locally), for `gantry report` and `gantry audit show`; no event
   * lines when the release is unknown.
   */
  exportRelease(releaseId: string): Promise<ParsedExport>;
  /** The execution behind a release; undefined when there is none. */
  describeExecution(releaseId: string): Promise<ExecutionDescription | undefined>;
  /**
   * `gantry abort` (decision 053): stop a running release, rollback or drill through the operator API (POST /aborts).
   * AWS: status `ABORTING` (the reconciler closes the record within seconds); a local Gantry: the final status after the
   * re-run. Bad input → ValidationError; no such release → NotFoundError; a release that has ended → RefusedError.
   */
  abortRelease(releaseId: string, reason: string): Promise<AbortResult>;
  getFreeze(): Promise<FreezeState>;
  setFreeze(on: boolean, reason: string): Promise<FreezeState>;
  /** An approval decision (the local path; the AWS path signs a request to the approval API). */
  decide(decision: Decision): Promise<DecisionResult>;
  /** Current states of CloudWatch alarms by name (absent: unknown). Optional evidence for `status`. */
  alarmStates?(names: readonly string[]): Promise<Record<string, string>>;
  /** The stage pointer (running digest, promoted history: what `rollback --digest` may name); optional. */
  stagePointer?(service: string, stage: string): Promise<StagePointerView | undefined>;
  /** The backend's clock: real time for AWS, the local Gantry's virtual "now" for a local one. */
  now(): Date;
  close(): void;
}

/** An AWS call failed (credentials, permissions, throttling, a missing stack): exit code 4. */
export class GantryAwsError extends Error {
  override readonly name = 'GantryAwsError';
}

/** The release, stack or local Gantry asked for does not exist: exit code 3. */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

/** The command was refused (a rollback refused, nothing waiting for approval): exit code 1. */
export class RefusedError extends Error {
  override readonly name = 'RefusedError';
}

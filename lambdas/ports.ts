/**
 * The small interfaces the handlers need from the outside world. AWS adapters (lambdas/adapters/)
 * implement them over the AWS SDK v3; the local runtime (local/) implements them over a scenario's
 * local cloud. The ledger has one implementation only — the real DynamoDB adapter — which the
 * local runtime points at its in-memory DynamoDB (local/memory-dynamo.ts).
 */
import type { ClusterScope } from './domain/cluster-scope';
import type { GantryConfig } from './domain/config';
import type { LedgerEvent, LedgerEventInput, RefusalStats, ReleaseSummary } from './domain/ledger';
import type { InsightRecord, InsightRecordInput } from './domain/insight';
import type { AnchorSignature, SignedAnchor } from './domain/audit/signature';
import type { ReleaseStatus } from './domain/types';

// ---------------------------------------------------------------- ledger

export interface StagePointer {
  readonly service: string;
  readonly stage: string;
  /** The digest now running in the stage (after a deploy or a rollback). */
  readonly running?: string;
  /** The last digest that passed its bake in this stage. */
  readonly lastKnownGood?: string;
  /** Digests promoted in this stage, oldest first (for the operator rollback's default target). */
  readonly promoted: readonly string[];
  readonly updatedAt?: string;
}

export interface LeaseResult {
  readonly acquired: boolean;
  /** The fencing token of the lease when acquired: grows with every new holder of the (service, stage). */
  readonly fence?: number;
  /** The owner holding the lease when it was not acquired, its fencing token, and the driver run it has under way. */
  readonly holder?: string;
  readonly holderFence?: number;
  readonly holderDeploying?: LeaseState['deploying'];
}

/** The (service, stage) lease item. `owner` is absent when the lease is free. */
export interface LeaseState {
  readonly service: string;
  readonly stage: string;
  readonly owner?: string;
  readonly fence: number;
  readonly acquiredAt?: string;
  /** Set from the start of a driver run to its end: a lease is never taken over while its holder deploys. */
  readonly deploying?: { readonly kind: 'deploy' | 'rollback'; readonly digest: string; readonly at: string };
}

/** A release waiting for a stage's lease, woken through its task token when the lease is freed. */
export interface LeaseWaiter {
  readonly service: string;
  readonly stage: string;
  readonly releaseId: string;
  readonly token: string;
  readonly at: string;
}

export interface TokenRecord {
  /** BAKE: an event-driven bake; APPROVAL: a stage approval; SCAN: a release waiting for its image's scan (decision 040). */
  readonly kind: 'BAKE' | 'APPROVAL' | 'SCAN';
  readonly releaseId: string;
  readonly service: string;
  readonly stage: string;
  readonly token: string;
  /**
   * The keys the token is indexed under: for bakes, the alarm names that fail it; for scan waits, the
   * image keys whose scan event completes it (`scanIndexKey(repository, digest)`, the release digest and each
   * platform digest of a multi-arch image); empty for approvals.
   */
  readonly alarms: readonly string[];
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly attrs?: Record<string, unknown>;
  /**
   * For a BAKE token, the phase of the stage it bakes (`canary-2`, `wave-1`: decision 047); absent for the stage's
   * own bake. A stage bakes once at a time, so the key stays (release, stage); the phase tells a late end-of-bake
   * timer of an earlier phase that the bake now open is not its own.
   */
  readonly phase?: string;
}

/**
 * The index key of a scan-wait token for one image: stored in the token's `alarms` and indexed like an
 * alarm name (the `SCAN#` kind in the index keeps it apart from bakes). Not an alarm name a bake can watch:
 * tokensForAlarm reads only `BAKE#` entries.
 */
export function scanIndexKey(repository: string, digest: string): string {
  return `ecr-scan:${repository}@${digest}`;
}

export interface SkipRecord {
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
  readonly reason: string;
  readonly at: string;
  readonly eventId: string;
}

/** The global change freeze (`gantry freeze on|off`): blocks every stage deploy except break-glass. */
export interface FreezeState {
  readonly on: boolean;
  readonly reason?: string;
  readonly principal?: string;
  readonly at?: string;
}

/**
 * A refused approval attempt (not an approver, self-approval, person unknown, ...). Its own ledger item,
 * beside the release's hash chain: refusals are many and repeatable, and never change an outcome.
 */
export interface ApprovalRefusal {
  readonly releaseId: string;
  readonly stage: string;
  /** The caller's ARN, as API Gateway verified it. */
  readonly principal: string;
  /** The refusal code (lambdas/domain/approvers.ts RefusalCode). */
  readonly code: string;
  readonly reason: string;
  /** What the caller asked for: approve or reject. */
  readonly decision: string;
  /** API Gateway's request id: one refusal per request. */
  readonly requestId: string;
  readonly at: string;
  readonly sourceIp?: string;
}

export interface ReleaseQuery {
  readonly service?: string;
  readonly from?: string;
  readonly to?: string;
  /** Only releases in this status (with a service: filtered by DynamoDB, so the others are not sent back). */
  readonly status?: ReleaseStatus;
}

export interface Ledger {
  /**
   * Append one event to a release's hash chain. Idempotent by `stepKey`: a second append with a
   * step key already in the chain returns the stored event with `duplicate: true` and writes
   * nothing. Updates the release summary projection after the append.
   */
  append(input: LedgerEventInput): Promise<{ event: LedgerEvent; duplicate: boolean }>;
  /**
   * Append several events of ONE release, in order, as one write (each idempotent by `stepKey` as with
   * `append`): a handler that records several results at once (the image gates) pays one request.
   */
  appendAll(inputs: readonly LedgerEventInput[]): Promise<Array<{ event: LedgerEvent; duplicate: boolean }>>;
  /**
   * The release's chain, read consistently. A ledger that already holds the chain may read only its tail
   * (checked against the last event it knows); `{ whole: true }` reads every event from the table — what an
   * audit must do, so that an event rewritten in the table is seen.
   */
  events(releaseId: string, options?: { whole?: boolean }): Promise<LedgerEvent[]>;
  /** The release summary, with each stage's refusal count and newest refusals folded in (withRefusals). */
  getRelease(releaseId: string): Promise<ReleaseSummary | undefined>;
  listReleases(query?: ReleaseQuery): Promise<ReleaseSummary[]>;

  getPointer(service: string, stage: string): Promise<StagePointer | undefined>;
  /**
   * Record that `digest` now runs in the stage (deploy or rollback). With `fence` (the writer's lease
   * token) the write is refused with FencedOffError when a newer lease holder already wrote the pointer.
   */
  setRunning(service: string, stage: string, digest: string, at: string, fence?: number): Promise<void>;
  /**
   * Record that `digest` passed its bake: it becomes last known good and joins `promoted`. With
   * `history: false` (an operator rollback returned the stage to an earlier digest) it only becomes
   * last known good: `promoted` keeps the order in which digests were promoted.
   */
  markGood(service: string, stage: string, digest: string, at: string, options?: { history?: boolean; fence?: number }): Promise<void>;

  /**
   * Take the (service, stage) lease for `owner` unless another owner holds it; a new holder gets the next
   * fencing token. Re-entrant for the same owner (same token). Leases do not expire.
   */
  acquireLease(service: string, stage: string, owner: string, at: string): Promise<LeaseResult>;
  getLease(service: string, stage: string): Promise<LeaseState | undefined>;
  /**
   * Take the lease from `from` (its owner and token, as read) for `owner`, unless it changed hands or its
   * holder has a driver run under way. Returns the new fencing token, or undefined.
   */
  takeOverLease(service: string, stage: string, from: { owner: string; fence: number }, owner: string, at: string): Promise<number | undefined>;
  /** Mark a driver run under way, only while `owner` holds the lease with `fence`. Returns false otherwise. */
  beginDeploy(service: string, stage: string, owner: string, fence: number, deploying: { kind: 'deploy' | 'rollback'; digest: string; at: string }): Promise<boolean>;
  /** The driver run ended (idempotent). Returns false when `owner`/`fence` no longer hold the lease. */
  endDeploy(service: string, stage: string, owner: string, fence: number): Promise<boolean>;
  /** Free the lease if `owner` holds it. Returns whether it was held by `owner`. */
  releaseLease(service: string, stage: string, owner: string): Promise<boolean>;
  addLeaseWaiter(waiter: LeaseWaiter): Promise<void>;
  /** Claim every waiter of the stage, each exactly once; the caller wakes them. */
  takeLeaseWaiters(service: string, stage: string): Promise<LeaseWaiter[]>;
  /** Every lease held by `owner` (the reconciler frees them when an execution dies). */
  leasesOf(owner: string): Promise<Array<{ service: string; stage: string }>>;

  putToken(record: TokenRecord): Promise<void>;
  /**
   * Claim a token exactly once: deletes it and returns it, or undefined when already claimed. With `phase`, only a
   * token of that bake phase is claimed (`null`: only the stage's own bake); another phase's token is left as it is.
   */
  takeToken(kind: TokenRecord['kind'], releaseId: string, stage: string, only?: { phase: string | null }): Promise<TokenRecord | undefined>;
  /** Open bake tokens watching an alarm. */
  tokensForAlarm(alarmName: string): Promise<TokenRecord[]>;
  /** Open scan-wait tokens (kind SCAN) waiting for the scan of this image (repository, digest). */
  tokensForImageScan(repository: string, digest: string): Promise<TokenRecord[]>;

  /** Idempotent by eventId. */
  recordSkip(skip: SkipRecord): Promise<void>;
  listSkips(): Promise<SkipRecord[]>;

  getFreeze(): Promise<FreezeState>;
  /** Turn the global freeze on or off; every change is kept in the item's history (never expires). */
  setFreeze(state: FreezeState & { reason: string; principal: string; at: string }): Promise<void>;

  /**
   * Record a refused approval attempt as its own item and count it in the stage's refusal counter.
   * Idempotent by (stage, at, requestId). Never touches the release's events or summary item.
   */
  recordRefusal(refusal: ApprovalRefusal): Promise<{ duplicate: boolean }>;
  /** Per stage: how many approval attempts were refused, and the newest few (oldest first). */
  refusalStats(releaseId: string): Promise<RefusalStats[]>;
  /** Refused attempts, oldest first; `stage` keeps one stage's; `newest` only the newest N. */
  listRefusals(releaseId: string, query?: { stage?: string; newest?: number }): Promise<ApprovalRefusal[]>;

  /**
   * A fixed-window counter (the approval API's per-caller throttle): count one more in `bucket` for
   * `window` unless it already reached `limit`. Returns false, counting nothing, when it had. The
   * counter expires (TTL) at `expiresAt`.
   */
  takeThrottleSlot(bucket: string, window: string, limit: number, expiresAt: string): Promise<boolean>;
  /** How many a bucket has counted in a window (0 when none). */
  throttleUsed(bucket: string, window: string): Promise<number>;

  /**
   * intake started this pushed release with `principal` (the pusher CloudTrail saw) in its execution
   * input. Only spares intake a retry when the same push's CloudTrail record comes again before the
   * release is recorded; it is never read as the initiator (prepare-release takes that from the input).
   */
  putStartPusher(executionName: string, principal: string, at: string): Promise<void>;
  getStartPusher(executionName: string): Promise<string | undefined>;

  /**
   * The principal that started an execution, written by whoever started it (the CLI, an API). For
   * operator starts only: a pushed release ignores it (its pusher comes from intake, prepare-release).
   */
  putInitiator(executionName: string, principal: string, at: string): Promise<void>;
  getInitiator(executionName: string): Promise<string | undefined>;

  /**
   * Insight checks (stale services, drift): append one dated record to the insight hash chain
   * (`INSIGHT` / `CHECK#<seq>`, lambdas/domain/insight.ts). Idempotent by `checkId`: a retried step
   * gets the stored record back with `duplicate: true`.
   */
  putInsight(input: InsightRecordInput): Promise<{ record: InsightRecord; duplicate: boolean }>;
  /** Insight records, oldest first; `from`/`to` bound `at` (inclusive); `last` keeps only the newest N. */
  listInsights(query?: { from?: string; to?: string; last?: number }): Promise<InsightRecord[]>;

  /**
   * Gantry's signature of a release's end, or of an insight chain head (`SIGNATURE#<subject>`, decision 048), or the
   * named outcome of a failed signing. Written once: a SIGNED record is never replaced (false: one was there
   * already); a FAILED one is replaced by the next attempt.
   */
  putSignature(record: SignatureRecord): Promise<boolean>;
  getSignature(subject: string): Promise<SignatureRecord | undefined>;
}

/** The signature item of a release (`subject` = its id) or of an insight chain head (`insight#<seq>`). */
export interface SignatureRecord {
  readonly subject: string;
  readonly status: 'SIGNED' | 'FAILED';
  readonly at: string;
  /** When SIGNED. */
  readonly signature?: AnchorSignature;
  /** What was (or was to be) signed. */
  readonly anchor: SignedAnchor;
  /** When FAILED: the named outcome (e.g. `kms:DisabledException`) and the message. */
  readonly outcome?: string;
  readonly message?: string;
}

/** kms:Sign of an anchor: the signing key's id and the DER signature (base64). */
export interface AnchorSigner {
  /** The key's id as signatures name it (its ARN in AWS; `local:<fingerprint>` locally). */
  readonly keyId: string;
  /** @throws AnchorSigningError (permanent: the key cannot sign) or a transient AWS error */
  sign(message: Uint8Array): Promise<string>;
}

// ---------------------------------------------------------------- ECR

export interface ImageDetail {
  readonly repository: string;
  readonly digest: string;
  readonly tags: readonly string[];
  readonly pushedAt?: string;
  readonly manifestMediaType?: string;
  readonly scanStatus?: string;
}

export interface ScanFinding {
  readonly id: string;
  readonly severity: string;
  readonly package?: string;
  readonly exploitAvailable?: boolean;
  readonly fixAvailable?: boolean;
}

export interface ScanResult {
  /** COMPLETE | IN_PROGRESS | FAILED | NONE (no scan exists) | other ECR statuses verbatim. */
  readonly status: string;
  readonly description?: string;
  readonly completedAt?: string;
  readonly findings: readonly ScanFinding[];
}

/** One manifest as BatchGetImage returns it: the raw text, as stored, and its media type. */
export interface ImageManifestRecord {
  readonly repository: string;
  readonly digest: string;
  /** ECR's `imageManifestMediaType`, when it reports one. */
  readonly mediaType?: string;
  readonly manifest: string;
}

/** DescribeRepositories: the tag mutability setting and its exclusion filters. */
export interface RepositoryTagSettings {
  /** IMMUTABLE | MUTABLE | IMMUTABLE_WITH_EXCLUSION | MUTABLE_WITH_EXCLUSION, verbatim. */
  readonly mutability: string;
  readonly exclusionFilters: ReadonlyArray<{ readonly filterType: string; readonly filter: string }>;
}

/** DescribeImageSigningStatus: one entry per AWS Signer profile of ECR managed signing. */
export interface ImageSigningStatusRecord {
  readonly signingProfileArn?: string;
  /** IN_PROGRESS | COMPLETE | FAILED */
  readonly status: string;
  readonly failureCode?: string;
  readonly failureReason?: string;
}

/** ListImageReferrers: an artifact (signature, SBOM, attestation) whose subject is an image. */
export interface ImageReferrerRecord {
  readonly digest: string;
  readonly mediaType?: string;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ImageRegistry {
  /** DescribeImages by tag or digest; undefined when the image does not exist. */
  describeImage(repository: string, ref: { tag?: string; digest?: string }): Promise<ImageDetail | undefined>;
  /** DescribeRepositories: the tag mutability setting. */
  tagMutability(repository: string): Promise<string>;
  /** DescribeImageScanFindings (all pages), basic and enhanced findings alike. */
  scanFindings(repository: string, digest: string): Promise<ScanResult>;

  // The methods below are what image.immutable-tag (exclusions), image.signature and image.labels
  // read. They are optional only so that small test fakes of the three above stay valid; the ECR
  // adapter and the local cloud implement every one. image-gates throws RegistryCapabilityError when
  // a gate needs imageManifest, blob or signingPublicKey and the adapter lacks it; without
  // repositoryTagSettings it falls back to tagMutability (no exclusions); signingStatuses and
  // referrers only add evidence.

  /** DescribeRepositories with the exclusion filters of an *_WITH_EXCLUSION setting. */
  repositoryTagSettings?(repository: string): Promise<RepositoryTagSettings>;
  /** BatchGetImage of one manifest or index, by digest or tag, never converted; undefined when absent. */
  imageManifest?(repository: string, ref: { tag?: string; digest?: string }): Promise<ImageManifestRecord | undefined>;
  /**
   * A blob of the repository (an image config, a signature payload) by digest: GetDownloadUrlForLayer
   * and a download, checked against the digest. At most `maxBytes`.
   * @throws NotFoundError when the repository holds no such blob
   */
  blob?(repository: string, digest: string, maxBytes: number): Promise<Uint8Array>;
  /** DescribeImageSigningStatus (ECR managed signing); [] when the image has none. */
  signingStatuses?(repository: string, digest: string): Promise<ImageSigningStatusRecord[]>;
  /** ListImageReferrers of one artifact type (all pages). */
  referrers?(repository: string, digest: string, artifactType: string): Promise<ImageReferrerRecord[]>;
  /**
   * The PEM (SPKI) public half of an asymmetric `arn:aws:kms:` signing key (KMS GetPublicKey).
   * @throws SigningKeyError when the key cannot be used to verify signatures
   */
  signingPublicKey?(keyArn: string): Promise<string>;
}

// ---------------------------------------------------------------- CloudWatch

export interface AlarmState {
  readonly name: string;
  readonly type: 'MetricAlarm' | 'CompositeAlarm';
  readonly state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
  readonly reason?: string;
  readonly updatedAt?: string;
  /** Where the alarm was read, for an alarm outside the home scope (issue 18): absent for the own account and region. */
  readonly account?: string;
  readonly region?: string;
}

export interface AlarmReader {
  /** DescribeAlarms for the names; alarms that do not exist are absent from the result. */
  describeAlarms(names: readonly string[]): Promise<AlarmState[]>;
}

// ---------------------------------------------------------------- clusters in other accounts and regions (issue 18, decision 045)

/** A cluster's API endpoint and certificate authority (eks:DescribeCluster), what `eks:call` connects with. */
export interface ClusterConnection {
  readonly endpoint: string;
  readonly certificateAuthority: string;
}

export interface ClusterDescriber {
  /** eks:DescribeCluster of one cluster (by its EKS name) in the reader's account and region. */
  describeCluster(name: string): Promise<ClusterConnection>;
}

/** One series of a GetMetricData request (a MetricStat query). */
export interface MetricQuery {
  /** The query id: lower-case letter first (GetMetricData's Id). */
  readonly id: string;
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly stat: string;
  readonly periodSeconds: number;
}

export interface MetricReader {
  /** CloudWatch GetMetricData over [start, end): the datapoints of each query by its id (oldest first; absent periods have none). */
  getMetricData(queries: readonly MetricQuery[], start: string, end: string): Promise<Record<string, number[]>>;
}

/** Where a read goes: a cluster's account and region, and the role assumed there (lambdas/domain/cluster-scope.ts). */
export type ReadScope = ClusterScope;

/**
 * Readers in a cluster's account and region. A scope with a `roleArn` is read with that role's credentials (STS
 * AssumeRole, session `sessionName`); a scope without one with the handler's own. The home scope (own account,
 * own region) is never asked for: handlers read it through `Deps.alarms`, as before issue 18.
 */
export interface ScopedReaders {
  alarmsIn(scope: ReadScope, sessionName: string): AlarmReader;
  metricsIn(scope: ReadScope, sessionName: string): MetricReader;
  eksIn(scope: ReadScope, sessionName: string): ClusterDescriber;
}

// ---------------------------------------------------------------- Step Functions

export interface TaskTokens {
  sendSuccess(token: string, output: unknown): Promise<void>;
  sendFailure(token: string, error: string, cause: string): Promise<void>;
}

/** An execution of the release workflow, as DescribeExecution reports it. */
export interface ExecutionDescription {
  readonly status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';
  /** The execution's input (parsed JSON), as it was started. */
  readonly input: unknown;
}

export interface Executions {
  /**
   * StartExecution with a deterministic name. `alreadyExists` when an execution of that name exists
   * (running or finished): intake then looks at it (`describe`) before calling the push a duplicate.
   */
  start(name: string, input: unknown): Promise<{ executionArn: string; alreadyExists: boolean }>;
  /**
   * DescribeExecution of the release workflow by name; undefined when there is none of that name.
   * Optional only so that small test fakes of `start` stay valid: the Step Functions adapter and the local
   * runtime implement it. Without it intake cannot tell a dead execution from a running one, and counts a
   * repeated push whose release is not on record as a duplicate.
   */
  describe?(name: string): Promise<ExecutionDescription | undefined>;
  /**
   * The account and region the release workflow runs in (the stack's own): intake starts releases only
   * for pushes to ECR there, the registry the image gates read. Undefined when not known: intake then
   * starts nothing (decision 024).
   */
  readonly home?: { readonly account: string; readonly region: string };
  /**
   * StopExecution of the execution named `name` with `error` and `cause` (decision 053), then how it stands:
   * `stopped` when it is ABORTED now; otherwise `status` is how it had ended before the stop (SUCCEEDED,
   * FAILED, TIMED_OUT), or undefined when there is no execution of that name (ExecutionDoesNotExist).
   * Optional only so that small test fakes of `start` stay valid: the operator API answers 500 without it.
   */
  stop?(name: string, error: string, cause: string): Promise<ExecutionStop>;
}

/** What a StopExecution found (`Executions.stop`). */
export interface ExecutionStop {
  readonly executionArn: string;
  readonly stopped: boolean;
  readonly status?: ExecutionDescription['status'];
}

// ---------------------------------------------------------------- timers (EventBridge Scheduler)

export interface Timers {
  /** A one-time schedule that invokes the bake timer with `payload` at `at`. Idempotent by name. */
  schedule(name: string, at: string, payload: Record<string, unknown>): Promise<void>;
  cancel(name: string): Promise<void>;
}

// ---------------------------------------------------------------- EventBridge

export interface LifecycleEvent {
  readonly detailType: string;
  readonly detail: Record<string, unknown>;
}

export interface EventPublisher {
  publish(events: readonly LifecycleEvent[]): Promise<void>;
}

// ---------------------------------------------------------------- where the handler runs

/**
 * Facts of the place a handler runs in, set once by whoever builds the Deps: lambdas/adapters/aws-deps.ts in
 * Lambda (from the environment), the local runtime (local/simulate.ts) and the tests otherwise. Handlers read
 * them here, never from `process.env`.
 */
export interface RuntimeFacts {
  /** In a Lambda function: EMF metrics are printed (they mean something only in a function's log). */
  readonly inLambda: boolean;
  /** The registry host images are pinned to (`<account>.dkr.ecr.<region>.<suffix>`; ECR_REGISTRY in Lambda). */
  readonly ecrRegistry: string;
  /** The region the workflows run in (AWS_REGION in Lambda); unknown in the simulation, where no cluster is set aside as in another region. */
  readonly region?: string;
  /**
   * The stack's ClusterAccessRole (GANTRY_CLUSTER_ACCESS_ROLE_ARN in Lambda): the role `eks:call` runs with on a
   * cluster of Gantry's own account (decision 045). Read when used.
   */
  readonly clusterAccessRoleArn?: string;
}

/** The simulation's registry host (the local clusters' images name it). */
export const SIMULATED_REGISTRY = '000000000000.dkr.ecr.local.amazonaws.com';

/** The simulation's ClusterAccessRole (the local cloud's IAM knows it; local/cloud.ts). */
export const SIMULATED_CLUSTER_ACCESS_ROLE_ARN = 'arn:aws:iam::111122223333:role/gantry-local-cluster-access';

/** The runtime facts outside Lambda: the simulation and the tests. */
export const LOCAL_RUNTIME: RuntimeFacts = Object.freeze({ inLambda: false, ecrRegistry: SIMULATED_REGISTRY, clusterAccessRoleArn: SIMULATED_CLUSTER_ACCESS_ROLE_ARN });

// ---------------------------------------------------------------- everything a handler may use

export interface Deps {
  readonly config: GantryConfig;
  readonly configHash: string;
  readonly ledger: Ledger;
  readonly registry: ImageRegistry;
  readonly alarms: AlarmReader;
  /** CloudWatch GetMetricData (the canary analysis, docs/decisions/043-canary-steps.md); absent: an analysis FAILs as unreadable. */
  readonly metrics?: MetricReader;
  readonly tasks: TaskTokens;
  readonly executions: Executions;
  readonly timers: Timers;
  readonly bus: EventPublisher;
  /** The workflow's clock: real time in AWS, virtual time in the simulation. */
  readonly now: () => Date;
  /** Where the handler runs (in Lambda or not, the registry host, the region). */
  readonly runtime: RuntimeFacts;
  /**
   * CloudWatch and EKS in a cluster's account and region (issue 18). Optional only so that small test fakes stay
   * valid: a handler that needs a scope other than its home throws ConfigError without it.
   */
  readonly scoped?: ScopedReaders;
  /** kms:Sign with the anchor signing key (decision 048); absent where no handler signs (a FAILED outcome `no-signer`). */
  readonly signer?: AnchorSigner;
}

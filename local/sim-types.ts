/** What `simulate()` (local/simulate.ts) takes and returns; local/simulate.ts re-exports every type here. */
import type { AnchorSignature } from '../lambdas/domain/audit/signature';
import type { ClusterSummary, LedgerEvent, ReleaseChange, StageApproval } from '../lambdas/domain/ledger';
import type { DriftFinding, InsightRecord, StaleFinding } from '../lambdas/domain/insight';
import type { ChaosOptions, ChaosStats } from './chaos';
import type { LocalCloud } from './cloud';
import type { ScriptLine } from './scenario';

export interface SimGate {
  gate: string;
  result: string;
  reason: string;
}

export interface SimStage {
  name: string;
  status: string;
  reason?: string;
  gates: SimGate[];
  approval?: { decision: string; principal?: string; at: string; comment?: string };
  /** Every decision on the stage's approval, oldest first (decision 050: N-of-M). */
  approvals?: StageApproval[];
  deployedDigest?: string;
  rollback?: Record<string, unknown>;
  startedAt?: string;
  endedAt?: string;
  /** A wave stage (decision 044): each cluster's wave, deploy and rollback deploy — which cluster runs what. */
  clusters?: ClusterSummary[];
  /** A wave stage's waves that ended. */
  waves?: Array<{ wave: number; result: string; clusters: string[]; endedAt: string }>;
}

export interface SimRelease {
  releaseId: string;
  kind: string;
  service: string;
  digest: string | null;
  tag: string | null;
  initiator: string | null;
  status: string;
  reason?: string;
  startedAt: string;
  endedAt?: string;
  stages: SimStage[];
  audit: { events: number; verified: boolean; problems?: string[] };
  /** The change record, commit and per-stage commit ranges (decision 051), when the service has a changeRecord or source. */
  change?: ReleaseChange;
}

export interface TimelineEntry {
  at: string;
  release?: string;
  stage?: string;
  event: string;
  result?: string;
  reason?: string;
  [k: string]: unknown;
}

export interface SimulationOutput {
  scenario: string;
  simulated: true;
  releases: SimRelease[];
  stages: Record<string, { running?: string; lastKnownGood?: string; promoted?: string[] }>;
  deployments: Array<{
    service: string;
    stage: string;
    digest: string;
    kind: string;
    startedAt: string;
    endedAt?: string;
    result?: string;
    releaseId: string;
    /** The cluster key of the run (a wave stage runs once per cluster, decision 044). */
    cluster?: string;
    /** Where a Kubernetes driver run went (issue 18): the cluster's account and region and the role its eks:call ran with. */
    target?: { cluster: string; account: string; region: string; roleArn: string };
  }>;
  skipped: Array<{ repository: string; tag?: string; digest?: string; reason: string; at: string }>;
  unused: Array<{ index: number; line: ScriptLine; reason: string }>;
  timeline: TimelineEntry[];
  executions: Array<{ name: string; machine: string; status: string; error?: string; transitions: number; largestState?: { name: string; bytes: number } }>;
  /** Every lifecycle event put on the Gantry bus (docs/contracts.md §4), in order: source gantry, detail-type, detail. */
  lifecycle: Array<{ at: string; source: 'gantry'; detailType: string; detail: Record<string, unknown> }>;
  /** Stage leases still held when the simulation ended (always empty unless something leaked). */
  leasesHeld: Array<{ owner: string; service: string; stage: string }>;
  /** The clusters' Deployments when the simulation ended (cluster = the config's cluster key): what each container runs. */
  workloads: Array<{ cluster: string; namespace: string; name: string; generation: number; containers: Record<string, string>; annotations: Record<string, string> }>;
  /** Canary stages only (docs/decisions/043-canary-steps.md): each HTTPRoute's weights by Service, every change, and every replica change. */
  traffic?: {
    routes: Array<{ cluster: string; namespace: string; name: string; weights: Record<string, number> }>;
    changes: Array<{ at: string; cluster: string; namespace: string; name: string; weights: Record<string, number> }>;
    scales: Array<{ at: string; cluster: string; namespace: string; name: string; replicas: number }>;
  };
  /** The insight checks the scenario ran (`insight-check` triggers), oldest first: stale services and drift as each found them. */
  insight: { checks: Array<{ at: string; checkId: string; stale: StaleFinding[]; drift: DriftFinding[]; inSync: number }> };
  /** With chaos mode: the faults injected and the retries that absorbed them (local/chaos.ts). */
  chaos?: ChaosStats;
  warnings: string[];
  clock: { start: string; end: string };
}

export interface SimulationResult {
  output: SimulationOutput;
  ledgerEvents: LedgerEvent[];
  /** The insight chain the run wrote (one record per insight check), oldest first. */
  insightRecords: InsightRecord[];
  /** Gantry's signatures of finished releases' ends (decision 048), by release id; the insight heads' by `insight#<seq>`. */
  signatures?: ReadonlyMap<string, AnchorSignature>;
}

/** One DynamoDB request a handler's ledger sent (the command and its input, as lib-dynamodb has them). */
export interface LedgerRequest {
  /** `GetCommand`, `PutCommand`, `UpdateCommand`, `DeleteCommand`, `QueryCommand`, `ScanCommand`. */
  readonly command: string;
  readonly input: Readonly<Record<string, unknown>>;
}

export interface SimulateOptions {
  /**
   * Called while the clock runs, each time everything due by `nowMs` has happened (before time moves on, and
   * at the end): `timeline()` reads the timeline so far, whose entries up to `nowMs` are final (the streamed
   * output of `gantry simulate`, issue 20). It reads through a ledger of its own: no fault is taken from Gantry's calls.
   */
  readonly onClock?: (step: { readonly nowMs: number; readonly timeline: () => Promise<TimelineEntry[]> }) => void | Promise<void>;
  /**
   * Stop at this virtual instant (ms since the epoch) instead of running until nothing is left to
   * happen: executions still running then are left as they are in the ledger (a local Gantry's "now",
   * cli/backends/local-backend.ts), and `clock.end` is this instant.
   */
  readonly until?: number;
  /**
   * Faults (local/chaos.ts): every AWS call fails its first `transientFailures` attempts, or every
   * handler crashes once right after its first ledger append. The output gains `chaos` (what was
   * injected and retried).
   */
  readonly chaos?: ChaosOptions;
  /**
   * For tests: called once the scenario's stages are in the ledger and the clusters, before the first trigger
   * (to give the local Deployments full container specs, for instance).
   */
  readonly prepareCloud?: (cloud: LocalCloud) => void;
  /**
   * Called with every DynamoDB request a handler's ledger sends, and which handler sent it (each handler
   * then gets a ledger of its own over the same table). test/workflow/ledger-access.test.ts checks each
   * against the IAM statements of that handler's role.
   */
  readonly observeLedger?: (handler: string, request: LedgerRequest) => void;
}

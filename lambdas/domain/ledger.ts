/**
 * The ledger's pure half: the event model, the hash chain and the release summary projection.
 * Event items are the truth; the summary is `projectRelease(events)`.
 */
import { canonicalJson, sha256Hex } from './canonical';
import type { ChangeRecordEvidence, StageChange } from './change-record';
import type { GateResult, ReleaseStatus, StageStatus } from './types';

export const GENESIS_HASH = '0'.repeat(64);

export const LEDGER_EVENT_TYPES = [
  'release.started',
  'release.attributed',
  'stage.started',
  'stage.waiting',
  'lease.acquired',
  'lease.released',
  'lease.lost',
  'gate.evaluated',
  /** A refused approval attempt (not an approver, self-approval): who and why; the stage keeps waiting. */
  'approval.refused',
  'deploy.started',
  'deploy.finished',
  'bake.started',
  /** An alarm event that did not count against the bake (its state change predates the bake): what, and why. */
  'bake.event-ignored',
  'bake.finished',
  'stage.promoted',
  /** A canary step (docs/decisions/043-canary-steps.md): started, passed or aborted, with its step and weight. */
  'canary.step',
  /** A wave of a wave stage ended (decision 044): its clusters' results, and whether the next wave may start. */
  'wave.finished',
  'rollback.started',
  'rollback.finished',
  'stage.finished',
  'release.finished',
  /** One accepted approval of a stage that requires several that did not complete the count (decision 050): who, and the count. */
  'approval.recorded',
  /** A Terraform stage's saved plan n (decision 049): its sha256, artifact key, adds/changes/destroys; approvers approve that hash. */
  'plan.recorded',
  /** The apply of an approved saved plan found it stale (the state moved since the plan): nothing applied; the stage plans again. */
  'plan.stale',
  /** A rollback drill's figures (decision 052): its two legs (operator rollbacks), time to restore, the digests, who started it, the outcome. */
  'drill.recorded',
  /** `gantry abort` (decision 053): who asked the operator API to stop the execution, and why; the reconciler closes the record. */
  'abort.requested',
] as const;
export type LedgerEventType = (typeof LEDGER_EVENT_TYPES)[number];

export interface LedgerEventInput {
  readonly releaseId: string;
  /** Unique per release and step: a retried step appends nothing twice. */
  readonly stepKey: string;
  readonly type: LedgerEventType;
  readonly at: string;
  readonly stage?: string;
  readonly data: Record<string, unknown>;
}

export interface LedgerEvent extends LedgerEventInput {
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
}

/** The hashed body: everything but the hash itself. */
export function hashEvent(prevHash: string, body: Omit<LedgerEvent, 'hash'>): string {
  return sha256Hex(prevHash + canonicalJson(body));
}

export function chainEvent(prev: LedgerEvent | undefined, input: LedgerEventInput): LedgerEvent {
  const seq = prev ? prev.seq + 1 : 1;
  const prevHash = prev ? prev.hash : GENESIS_HASH;
  const body = { ...input, seq, prevHash };
  return { ...body, hash: hashEvent(prevHash, body) };
}

export interface ChainVerification {
  readonly ok: boolean;
  readonly events: number;
  readonly problems: string[];
}

/** Recompute a release's chain: sequence without gaps, each prevHash the previous hash, each hash recomputed. */
export function verifyChain(events: readonly LedgerEvent[]): ChainVerification {
  const problems: string[] = [];
  let prevHash = GENESIS_HASH;
  const sorted = [...events].sort((a, b) => a.seq - b.seq);
  sorted.forEach((e, i) => {
    if (e.seq !== i + 1) problems.push(`event ${e.seq}: expected sequence number ${i + 1}`);
    if (e.prevHash !== prevHash) problems.push(`event ${e.seq}: prevHash does not match the hash of event ${e.seq - 1}`);
    const { hash, ...body } = e;
    const recomputed = hashEvent(e.prevHash, body);
    if (recomputed !== hash) problems.push(`event ${e.seq}: hash does not match its content (edited?)`);
    prevHash = hash;
  });
  return { ok: problems.length === 0, events: sorted.length, problems };
}

// ---------------------------------------------------------------- projection

export interface RollbackSummary {
  readonly reason: string;
  readonly toDigest?: string;
  /** The digest rolled back from: the one this release tried to deploy in the stage, or (operator rollback) the one running. */
  readonly fromDigest?: string;
  /** Whether `fromDigest` was actually deployed (false: its deploy failed, nothing was deployed). Absent in older records. */
  readonly fromDeployed?: boolean;
  readonly result?: 'SUCCEEDED' | 'FAILED';
  readonly detectedAt?: string;
  readonly startedAt?: string;
  readonly endedAt?: string;
  readonly message?: string;
  /** Whether the stage's alarms were healthy after the recovery window that follows a rollback (null: they could not be read). */
  readonly recovery?: { recovered: boolean | null; reason: string };
}

/** How many refused approval attempts a stage's summary keeps (the newest); `refusalCount` counts them all. */
export const REFUSALS_KEPT = 5;

/** One refused approval attempt, as the summary shows it. */
export interface RefusalNote {
  readonly principal: string;
  readonly reason: string;
  readonly at: string;
  readonly code?: string;
}

/** A stage's refused approval attempts as stored beside the chain: how many, and the newest few, oldest first. */
export interface RefusalStats {
  readonly stage: string;
  readonly count: number;
  readonly last: readonly RefusalNote[];
}

export interface StageSummary {
  readonly name: string;
  readonly status: StageStatus;
  readonly reason?: string;
  readonly gates: GateResult[];
  readonly approval?: { decision: string; principal?: string; at: string; comment?: string };
  /**
   * Every decision on the stage's approval (decision 050), oldest first: each accepted approval
   * (`approval.recorded`, then the one that completed the count) and a rejection. Extra fields a decision
   * carried (a Terraform plan's `planSha256`) are kept.
   */
  readonly approvals?: StageApproval[];
  /**
   * The newest refused approval attempts (at most REFUSALS_KEPT), oldest first: who tried and why. Every
   * refusal is its own ledger item (`REFUSAL#<release>`, lambdas/adapters/dynamo-ledger.ts), never an
   * ever-growing attribute of the summary; `refusalCount` counts them all.
   */
  readonly refusals?: RefusalNote[];
  /** How many approval attempts were refused at this stage. */
  readonly refusalCount?: number;
  readonly deployedDigest?: string;
  readonly previousDigest?: string;
  readonly startedAt?: string;
  readonly endedAt?: string;
  readonly deploy?: { result: string; message?: string; startedAt?: string; endedAt?: string; buildId?: string };
  readonly bake?: { result: string; reason?: string; startedAt?: string; endedAt?: string };
  readonly rollback?: RollbackSummary;
  /** A wave stage's clusters (decision 044), in the order their runs started: which cluster runs what. */
  readonly clusters?: ClusterSummary[];
  /** A wave stage's waves that ended, in order. */
  readonly waves?: Array<{ wave: number; result: string; clusters: string[]; endedAt: string }>;
  /** A Terraform stage with an approval (decision 049): its latest saved plan, the one its approvers approve and its apply applies. */
  readonly plan?: PlanSummary;
  /** The approved saved plans whose apply found them stale (decision 049), oldest first. */
  readonly stalePlans?: Array<{ sha256: string; attempt: number; at: string; message?: string }>;
}

/** A saved Terraform plan as `plan.recorded` holds it (decision 049). */
export interface PlanSummary {
  /** sha256 of the binary saved plan (`terraform plan -out`), the hash an approver approves. */
  readonly sha256: string;
  /** Its key in the artifacts bucket. */
  readonly key: string;
  readonly adds: number;
  readonly changes: number;
  readonly destroys: number;
  /** 1 for the stage's first plan, one more after each stale apply. */
  readonly attempt: number;
  readonly at: string;
}

/** One decision on a stage's approval, as the summary lists it. */
export interface StageApproval {
  readonly principal: string;
  readonly person?: string;
  readonly decision: string;
  readonly at: string;
  readonly comment?: string;
  readonly planSha256?: string;
  readonly [extra: string]: unknown;
}

/** One cluster of a wave stage in a release: its wave, its deploy and its rollback deploy. */
export interface ClusterSummary {
  readonly cluster: string;
  readonly wave?: number;
  readonly deploy?: { result: string; digest?: string; message?: string; startedAt?: string; endedAt?: string; buildId?: string };
  readonly rollback?: { result: string; digest?: string; message?: string; startedAt?: string; endedAt?: string; buildId?: string };
}

export interface ReleaseSummary {
  readonly releaseId: string;
  /** `release` (the release workflow), `rollback` (the operator rollback workflow) or `drill` (a rollback drill: decision 052). */
  readonly kind: 'release' | 'rollback' | 'drill';
  readonly service: string;
  readonly digest?: string;
  /** Operator rollbacks: the digest the stage returns to. */
  readonly rollbackTarget?: string;
  /** The `reason` given in the input (a change ticket, an incident). */
  readonly requestReason?: string;
  /** A promotion (decision 054): the stage the release started at (its input's `startAt`); absent for a release from the first stage. */
  readonly startAt?: string;
  readonly tag?: string;
  readonly initiator?: string;
  readonly status: ReleaseStatus;
  readonly reason?: string;
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly configHash?: string;
  readonly executionArn?: string;
  readonly input?: unknown;
  readonly breakGlass?: { reason: string };
  /** Operator rollbacks: the image gates the target fails are overridden, with this reason (`gantry rollback --force`). */
  readonly force?: { reason: string };
  /** A rollback drill (kind `drill`): its figures as `drill.recorded` has them (decision 052). */
  readonly drill?: DrillSummary;
  /** `gantry abort` (decision 053): who asked to stop the execution, why and when (the first request on record). */
  readonly abort?: { readonly by: string; readonly reason: string; readonly at: string };
  readonly stages: StageSummary[];
  /**
   * Traceability (decision 051), folded from the `change.record` gates: the change id (when it was found and
   * matched), the commit, and per stage what changed since the stage's last known good.
   */
  readonly change?: ReleaseChange;
  /** seq of the last event projected. */
  readonly version: number;
  readonly lastHash: string;
}

/** A drill's figures in its summary: the two legs' release ids and how long each took to restore a healthy stage. */
export interface DrillSummary {
  readonly stage: string;
  readonly status?: string;
  readonly fromDigest?: string;
  readonly toDigest?: string;
  readonly trigger?: 'operator' | 'schedule';
  readonly timeToRestoreSeconds?: number;
  readonly rollForwardSeconds?: number;
  readonly legs?: ReadonlyArray<{ leg: string; releaseId: string; status: string; seconds?: number; startedAt?: string; healthyAt?: string }>;
  readonly recordedAt?: string;
}

/** A release's change record, commit and per-stage commit ranges (decision 051). */
export interface ReleaseChange {
  readonly id?: string;
  readonly commit?: string;
  readonly stages: Readonly<Record<string, StageChange>>;
}

/** Fold one `change.record` gate into the release's `change`. */
function foldChange(prior: ReleaseChange | undefined, stage: string, evidence: unknown): ReleaseChange | undefined {
  if (evidence === null || typeof evidence !== 'object') return prior;
  const ev = evidence as Partial<ChangeRecordEvidence>;
  const id = str(ev.id) ?? prior?.id;
  const commit = str(ev.commit) ?? prior?.commit;
  const range = ev.range && typeof ev.range === 'object' ? { [stage]: ev.range } : {};
  return { ...(id !== undefined ? { id } : {}), ...(commit !== undefined ? { commit } : {}), stages: { ...(prior?.stages ?? {}), ...range } };
}

type MutableStage = { -readonly [K in keyof StageSummary]: StageSummary[K] };
type MutableRelease = { -readonly [K in keyof ReleaseSummary]: ReleaseSummary[K] };

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** A wave stage's cluster run (deploy.started / deploy.finished with `cluster`) folded into the stage's `clusters`. */
function clusterRun(st: MutableStage, data: Record<string, unknown>, at: string, phase: 'started' | 'finished'): void {
  const name = String(data.cluster);
  const list = (st.clusters ??= []);
  let c = list.find((x) => x.cluster === name);
  if (!c) {
    c = { cluster: name, ...(typeof data.wave === 'number' ? { wave: data.wave } : {}) };
    list.push(c);
  }
  const key = data.kind === 'rollback' ? 'rollback' : 'deploy';
  const run =
    phase === 'started'
      ? { result: 'RUNNING', digest: str(data.digest), startedAt: at }
      : {
          ...(c[key] ?? { result: 'RUNNING' }),
          result: String(data.result),
          digest: str(data.digest) ?? c[key]?.digest,
          message: str(data.message),
          endedAt: at,
          buildId: str(data.buildId),
        };
  list[list.indexOf(c)] = { ...c, [key]: run };
}

/** Fold a release's events into its summary. Pure and total: unknown fields are ignored. */
export function projectRelease(events: readonly LedgerEvent[]): ReleaseSummary | undefined {
  const sorted = [...events].sort((a, b) => a.seq - b.seq);
  const first = sorted[0];
  if (!first || first.type !== 'release.started') return undefined;
  const d = first.data;
  const release: MutableRelease = {
    releaseId: first.releaseId,
    kind: d.kind === 'rollback' ? 'rollback' : d.kind === 'drill' ? 'drill' : 'release',
    service: str(d.service) ?? '',
    rollbackTarget: str(d.rollbackTarget),
    requestReason: str(d.reason),
    ...(str(d.startAt) ? { startAt: str(d.startAt) } : {}),
    digest: str(d.digest),
    tag: str(d.tag),
    initiator: str(d.initiator),
    status: 'RUNNING',
    startedAt: first.at,
    configHash: str(d.configHash),
    executionArn: str(d.executionArn),
    input: d.input,
    breakGlass: (d.breakGlass ?? undefined) as ReleaseSummary['breakGlass'],
    force: (d.force ?? undefined) as ReleaseSummary['force'],
    stages: ((d.stages as string[] | undefined) ?? []).map((name) => ({ name, status: 'NOT_STARTED', gates: [] })),
    version: 0,
    lastHash: GENESIS_HASH,
  };
  const stageOf = (name: string | undefined): MutableStage | undefined => {
    if (!name) return undefined;
    let s = release.stages.find((x) => x.name === name) as MutableStage | undefined;
    if (!s) {
      s = { name, status: 'NOT_STARTED', gates: [] };
      release.stages.push(s);
    }
    return s;
  };
  for (const e of sorted) {
    release.version = e.seq;
    release.lastHash = e.hash;
    const st = stageOf(e.stage);
    const data = e.data;
    switch (e.type) {
      case 'release.started':
        break;
      case 'release.attributed':
        // The pusher's identity arrived (CloudTrail PutImage) after the release had started.
        release.initiator = str(data.initiator) ?? release.initiator;
        break;
      case 'stage.started':
        if (st) {
          st.startedAt ??= e.at;
          if (st.status === 'NOT_STARTED') st.status = 'WAITING';
          st.previousDigest = str(data.previousDigest) ?? st.previousDigest;
        }
        break;
      case 'approval.refused':
        // Records written before refusals became their own items: counted, and only the newest few kept.
        if (st) {
          st.refusalCount = (st.refusalCount ?? 0) + 1;
          st.refusals = [...(st.refusals ?? []), { principal: str(data.principal) ?? '', reason: str(data.reason) ?? '', at: e.at }].slice(-REFUSALS_KEPT);
        }
        break;
      case 'stage.waiting':
        if (st) st.status = 'WAITING';
        break;
      case 'gate.evaluated':
        if (st) {
          const gate = data as unknown as GateResult;
          st.gates.push({ gate: gate.gate, result: gate.result, reason: gate.reason, evidence: gate.evidence });
          if (gate.gate === 'approval' && data.decision) {
            st.approval = { decision: String(data.decision), principal: str(data.principal), at: e.at, comment: str(data.comment) };
            // The deciding approval or rejection joins the list (a timeout names nobody).
            if (typeof data.principal === 'string' && (data.decision === 'APPROVED' || data.decision === 'REJECTED')) {
              const ev = (data.evidence ?? {}) as Record<string, unknown>;
              const own = Array.isArray(ev.approvals) ? (ev.approvals as Array<Record<string, unknown>>).findLast((a) => a?.principal === data.principal) : undefined;
              const person = str(own?.person) ?? str(ev.person);
              st.approvals = [
                ...(st.approvals ?? []),
                {
                  principal: data.principal,
                  ...(person ? { person } : {}),
                  decision: data.decision,
                  at: e.at,
                  ...(str(data.comment) ? { comment: str(data.comment) } : {}),
                  ...(str(data.planSha256) ? { planSha256: str(data.planSha256) } : {}),
                },
              ];
            }
          }
          if (gate.gate === 'change.record') release.change = foldChange(release.change, st.name, gate.evidence);
        }
        break;
      case 'deploy.started':
        // One cluster's run of a wave stage (decision 044): its own entry; the stage's deploy is the stage-level event.
        if (st && typeof data.cluster === 'string') clusterRun(st, data, e.at, 'started');
        else if (st && data.kind !== 'rollback') st.deploy = { result: 'RUNNING', startedAt: e.at, buildId: str(data.buildId) };
        break;
      case 'deploy.finished':
        if (st && typeof data.cluster === 'string') clusterRun(st, data, e.at, 'finished');
        else if (st && data.kind !== 'rollback') {
          st.deploy = { ...(st.deploy ?? {}), result: String(data.result), message: str(data.message), endedAt: e.at, buildId: str(data.buildId) ?? st.deploy?.buildId };
          if (data.result === 'SUCCEEDED') st.deployedDigest = str(data.digest);
        }
        break;
      // A phase's bake (a canary step, between waves: decision 047) is not the stage's bake.
      case 'bake.started':
        if (st && data.phase === undefined) st.bake = { result: 'RUNNING', startedAt: e.at };
        break;
      case 'bake.finished':
        if (st && data.phase === undefined) st.bake = { ...(st.bake ?? {}), result: String(data.result), reason: str(data.reason), endedAt: e.at };
        break;
      case 'stage.promoted':
        if (st) st.status = 'PROMOTED';
        break;
      case 'approval.recorded':
        // One approval of several (decision 050); one recorded after the stage's approval was decided does not count.
        if (st && !st.approval) {
          const { principal, person, decision, comment, count: _c, required: _r, requestId: _q, sourceIp: _s, approver: _a, ...extra } = data;
          st.approvals = [
            ...(st.approvals ?? []),
            {
              ...extra,
              principal: String(principal ?? ''),
              ...(str(person) ? { person: str(person) } : {}),
              decision: str(decision) ?? 'APPROVED',
              at: e.at,
              ...(str(comment) ? { comment: str(comment) } : {}),
            },
          ];
        }
        break;
      case 'wave.finished':
        if (st) st.waves = [...(st.waves ?? []), { wave: Number(data.wave), result: String(data.result), clusters: (data.clusters as string[] | undefined) ?? [], endedAt: e.at }];
        break;
      case 'rollback.started':
        if (st)
          st.rollback = {
            reason: str(data.reason) ?? '',
            toDigest: str(data.toDigest),
            fromDigest: str(data.fromDigest),
            ...(typeof data.fromDeployed === 'boolean' ? { fromDeployed: data.fromDeployed } : {}),
            detectedAt: str(data.detectedAt),
            startedAt: e.at,
          };
        break;
      case 'rollback.finished':
        if (st)
          st.rollback = {
            ...(st.rollback ?? { reason: '' }),
            result: data.result as 'SUCCEEDED' | 'FAILED',
            endedAt: str(data.deployEndedAt) ?? e.at,
            message: str(data.message),
            ...(data.recovery ? { recovery: data.recovery as RollbackSummary['recovery'] } : {}),
          };
        break;
      case 'stage.finished':
        if (st) {
          st.status = data.status as StageStatus;
          st.reason = str(data.reason) ?? st.reason;
          st.endedAt = e.at;
        }
        break;
      case 'plan.recorded':
        if (st && typeof data.sha256 === 'string') {
          // A new plan has no approval yet: the one given to a plan that went stale stays in the gates.
          if (st.approval && Number(data.attempt ?? 1) > 1) st.approval = undefined;
          st.plan = {
            sha256: data.sha256,
            key: str(data.key) ?? '',
            adds: Number(data.adds ?? 0),
            changes: Number(data.changes ?? 0),
            destroys: Number(data.destroys ?? 0),
            attempt: Number(data.attempt ?? 1),
            at: e.at,
          };
        }
        break;
      case 'plan.stale':
        if (st) {
          st.stalePlans = [...(st.stalePlans ?? []), { sha256: str(data.sha256) ?? '', attempt: Number(data.attempt ?? 0), at: e.at, message: str(data.message) }];
          st.deploy = { ...(st.deploy ?? {}), result: 'STALE', message: str(data.message), endedAt: e.at };
        }
        break;
      case 'release.finished':
        release.status = data.status as ReleaseStatus;
        release.reason = str(data.reason);
        release.endedAt = e.at;
        for (const s of release.stages as MutableStage[]) {
          if (s.status === 'WAITING' && release.status === 'ABORTED') s.status = 'ABORTED';
        }
        break;
      case 'abort.requested':
        release.abort ??= { by: str(data.by) ?? '', reason: str(data.reason) ?? '', at: e.at };
        break;
      case 'drill.recorded':
        release.drill = {
          stage: str(data.stage) ?? e.stage ?? '',
          status: str(data.status),
          fromDigest: str(data.fromDigest),
          toDigest: str(data.toDigest),
          trigger: data.trigger === 'schedule' ? 'schedule' : 'operator',
          ...(typeof data.timeToRestoreSeconds === 'number' ? { timeToRestoreSeconds: data.timeToRestoreSeconds } : {}),
          ...(typeof data.rollForwardSeconds === 'number' ? { rollForwardSeconds: data.rollForwardSeconds } : {}),
          legs: Array.isArray(data.legs) ? (data.legs as DrillSummary['legs']) : [],
          recordedAt: e.at,
        };
        break;
      default:
        break;
    }
  }
  return release;
}

/**
 * A summary with the refusals stored beside the chain folded in: each stage's count grows by the stored
 * count and keeps the newest REFUSALS_KEPT notes. Pure; stats for a stage the release does not have are ignored.
 */
export function withRefusals(summary: ReleaseSummary, stats: readonly RefusalStats[]): ReleaseSummary {
  if (stats.length === 0) return summary;
  const stages = summary.stages.map((st) => {
    const mine = stats.filter((x) => x.stage === st.name && x.count > 0);
    if (mine.length === 0) return st;
    const notes = [...(st.refusals ?? []), ...mine.flatMap((x) => x.last)].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    return { ...st, refusalCount: (st.refusalCount ?? 0) + mine.reduce((n, x) => n + x.count, 0), refusals: notes.slice(-REFUSALS_KEPT) };
  });
  return { ...summary, stages };
}

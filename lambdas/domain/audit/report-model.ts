/** A release's audit record from its events alone (what `gantry audit show` and `gantry report` present). */
import { type DrillRecord, drillRecords } from '../drill';
import { CODEBUILD_DRIVERS, type DriverEvidence } from '../driver-evidence';
import type { LedgerEvent, StageApproval } from '../ledger';
import { type ChangeAudit, changeAudit } from './change';
import { type EvidenceReport, evidenceCompleteness } from './evidence';
import type { ExportAnchorLine, ExportEventLine } from './export';
import { type ReleaseVerification, type SignatureOptions, verifyRelease } from './verify';

export interface GateRecord {
  readonly at: string;
  readonly gate: string;
  readonly result: string;
  readonly reason: string;
  readonly evidence?: unknown;
}

export interface DeployRecord {
  readonly kind: 'deploy' | 'rollback';
  readonly digest?: string;
  readonly startedAt?: string;
  readonly endedAt?: string;
  readonly result?: string;
  readonly message?: string;
  readonly buildId?: string;
  /**
   * CodeBuild build ARN and log link: as the build reported them (`evidence.buildArn`, `evidence.logUrl`: a
   * CloudWatch Logs link), else derived from a CodeBuild driver's buildId and the execution's account and region.
   */
  readonly buildArn?: string;
  readonly logLink?: string;
  /** The driver the deploy ran (helm, terraform, kubernetes), when recorded. */
  readonly driver?: string;
  /** A wave stage's run on one cluster (decision 044): its cluster key and wave. */
  readonly cluster?: string;
  readonly wave?: number;
  /** The driver's evidence as recorded (lambdas/domain/driver-evidence.ts): build, log link, Helm status, Terraform plan. */
  readonly evidence?: DriverEvidence;
  /** Every other field the driver recorded. */
  readonly driverEvidence?: Record<string, unknown>;
}

/** One decision on a stage's approval, as the audit lists it: the release summary's own shape. */
export type ApprovalRecord = StageApproval;

/** The fields of an approval.recorded event that are about the request or the count, not the approval. */
const APPROVAL_BOOKKEEPING = new Set(['principal', 'person', 'decision', 'comment', 'count', 'required', 'requestId', 'sourceIp', 'approver']);

export interface StageAudit {
  readonly name: string;
  readonly status: string;
  readonly reason?: string;
  readonly startedAt?: string;
  readonly endedAt?: string;
  readonly previousDigest?: string;
  readonly waits: Array<{ at: string; waitingFor?: string; reason?: string }>;
  readonly gates: GateRecord[];
  readonly approval?: { decision: string; principal?: string; comment?: string; at: string };
  /**
   * Every decision on the stage's approval (decision 050), oldest first: each accepted approval and a
   * rejection, with who (principal, person), when and the comment; extra fields a decision carried (a
   * Terraform plan's `planSha256`) are kept. A timeout names nobody and is not listed.
   */
  readonly approvals?: ApprovalRecord[];
  /** How many distinct persons the stage's approval required (as its request recorded it; 1 before decision 050). */
  readonly approvalsRequired?: number;
  readonly deploys: DeployRecord[];
  readonly bake?: { startedAt?: string; endedAt?: string; minutes?: number; alarms?: string[]; result?: string; reason?: string };
  readonly promotedAt?: string;
  /** A canary stage's steps (`canary.step`, decision 043), in order: started, passed or aborted, with the weight. */
  readonly canarySteps?: Array<{ at: string; step: number; weight: number; status: string; replicas?: number; reason?: string }>;
  /**
   * A Terraform stage that planned before its approval (`plan.recorded`, decision 049), in order: each saved plan's
   * sha256, key and counts, the decisions given on it (each naming the plan hash it approved) and, when its apply
   * found it stale, when and why.
   */
  readonly plans?: PlanAudit[];
  readonly rollback?: {
    reason?: string;
    detectedAt?: string;
    startedAt: string;
    endedAt?: string;
    fromDigest?: string;
    /** false: the from-digest's deploy did not finish, nothing was deployed (absent in older records). */
    fromDeployed?: boolean;
    toDigest?: string;
    result?: string;
    message?: string;
    recovery?: unknown;
    /** rollback.started − detectedAt. */
    reactionSeconds?: number;
    /** rollback.finished − detectedAt: the failed deployment's recovery time. */
    recoverySeconds?: number;
  };
}

/** One saved Terraform plan of a stage (decision 049), as the audit shows it. */
export interface PlanAudit {
  readonly at: string;
  readonly attempt: number;
  readonly sha256: string;
  readonly key: string;
  readonly adds: number;
  readonly changes: number;
  readonly destroys: number;
  /** The approval decisions given while this was the stage's plan, each with the plan hash it named. */
  readonly decisions: Array<{ at: string; decision: string; principal?: string; planSha256?: string }>;
  /** The apply of this plan that found it stale: nothing applied. */
  readonly stale?: { at: string; message?: string };
  /** The sha256 of the saved plan the deploy applied (the apply's own check), when this plan was applied. */
  readonly appliedSha256?: string;
}

export interface ReleaseAudit {
  readonly releaseId: string;
  readonly kind: 'release' | 'rollback' | 'drill';
  /** A rollback drill's figures (kind `drill`, decision 052). */
  readonly drill?: DrillRecord;
  /** A rollback that is a leg of a drill: the drill and which leg. */
  readonly drillLeg?: { readonly drillId: string; readonly leg: string };
  readonly service?: string;
  readonly repository?: string;
  readonly digest?: string;
  readonly tag?: string;
  readonly commit?: { value: string; source: string };
  readonly imageCreated?: { value: string; source: string };
  readonly imagePushedAt?: string;
  /** The source repository the image was built from (org.opencontainers.image.source). */
  readonly sourceRepository?: string;
  readonly initiator?: string;
  readonly attributedAt?: string;
  /** Which CloudTrail record named the initiator late: `CloudTrail PutImage` (a push) or `CloudTrail StartExecution` (a console start). */
  readonly attributedFrom?: string;
  readonly requestReason?: string;
  /** A promotion (decision 054): the stage the release started at. */
  readonly startAt?: string;
  readonly rollbackTarget?: string;
  readonly breakGlass?: unknown;
  readonly configHash?: string;
  readonly executionArn?: string;
  readonly input?: unknown;
  readonly status: string;
  readonly reason?: string;
  readonly startedAt?: string;
  readonly endedAt?: string;
  readonly stages: StageAudit[];
  /** The change record, commit and per-stage commit ranges (decision 051), when a change.record gate ran. */
  readonly change?: ChangeAudit;
  readonly events: number;
  readonly integrity: ReleaseVerification;
  readonly evidence: EvidenceReport;
}

const s = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const drillOf = (events: readonly LedgerEvent[]): DrillRecord | undefined => drillRecords(events)[0];
function drillLegOf(input: unknown): { drillId: string; leg: string } | undefined {
  const d = typeof input === 'object' && input !== null ? (input as { drill?: { drillId?: unknown; leg?: unknown } }).drill : undefined;
  return d && typeof d.drillId === 'string' && typeof d.leg === 'string' ? { drillId: d.drillId, leg: d.leg } : undefined;
}
const secondsBetween = (from?: string, to?: string): number | undefined => {
  if (!from || !to) return undefined;
  const a = Date.parse(from);
  const b = Date.parse(to);
  return Number.isNaN(a) || Number.isNaN(b) ? undefined : Math.round((b - a) / 1000);
};

const REVISION_LABELS = ['org.opencontainers.image.revision', 'org.label-schema.vcs-ref'];
const CREATED_LABELS = ['org.opencontainers.image.created', 'org.label-schema.build-date'];

export interface ImageFacts {
  commit?: { value: string; source: string };
  created?: { value: string; source: string };
  /** The source repository (org.opencontainers.image.source). */
  repository?: string;
  pushedAt?: string;
}

/**
 * Image facts recorded anywhere in a release's evidence: the image.labels gate's provenance (revision,
 * created, source) and labels, and the image.exists gate's pushedAt.
 */
export function imageFacts(events: readonly LedgerEvent[]): ImageFacts {
  const out: ImageFacts = {};
  const started = events.find((e) => e.type === 'release.started');
  if (s(started?.data.commit)) out.commit = { value: started?.data.commit as string, source: 'release.started commit' };
  for (const e of [...events].sort((a, b) => a.seq - b.seq)) {
    if (e.type !== 'gate.evaluated') continue;
    const ev = e.data.evidence as Record<string, unknown> | undefined;
    if (!ev || typeof ev !== 'object' || Array.isArray(ev)) continue;
    const gate = String(e.data.gate);
    const prov = (ev.provenance && typeof ev.provenance === 'object' ? ev.provenance : {}) as Record<string, unknown>;
    if (!out.commit && s(prov.revision)) out.commit = { value: prov.revision as string, source: `label ${REVISION_LABELS[0]} (${gate} gate)` };
    if (!out.created && s(prov.created)) {
      out.created = { value: prov.created as string, source: prov.createdFrom === 'config' ? `image config created (${gate} gate)` : `label ${CREATED_LABELS[0]} (${gate} gate)` };
    }
    if (!out.repository && s(prov.source)) out.repository = prov.source as string;
    const platforms = Array.isArray(ev.platforms) ? (ev.platforms as Array<Record<string, unknown>>) : [];
    const labelSets = [ev.labels, ...platforms.map((p) => p?.labels)].filter((l): l is Record<string, unknown> => !!l && typeof l === 'object');
    for (const labels of labelSets) {
      for (const k of REVISION_LABELS) if (!out.commit && s(labels[k])) out.commit = { value: labels[k] as string, source: `label ${k} (${gate} gate)` };
      for (const k of CREATED_LABELS) if (!out.created && s(labels[k])) out.created = { value: labels[k] as string, source: `label ${k} (${gate} gate)` };
    }
    if (!out.pushedAt && s(ev.pushedAt)) out.pushedAt = ev.pushedAt as string;
  }
  return out;
}

/** `arn:aws:states:eu-west-2:111122223333:execution:…` → partition, region and account. */
function arnParts(arn: string | undefined): { partition: string; region: string; account: string } | undefined {
  const m = /^arn:([^:]+):[^:]+:([^:]*):(\d{12}):/.exec(arn ?? '');
  return m ? { partition: m[1] as string, region: m[2] as string, account: m[3] as string } : undefined;
}

function buildLinks(buildId: string | undefined, executionArn: string | undefined): { buildArn?: string; logLink?: string } {
  const p = arnParts(executionArn);
  if (!buildId || !p || !p.region) return {};
  const project = buildId.split(':')[0] ?? buildId;
  const consoleHost = p.partition === 'aws' ? `${p.region}.console.aws.amazon.com` : `console.${p.partition === 'aws-cn' ? 'amazonaws.cn' : 'amazonaws-us-gov.com'}`;
  return {
    buildArn: `arn:${p.partition}:codebuild:${p.region}:${p.account}:build/${buildId}`,
    logLink: `https://${consoleHost}/codesuite/codebuild/${p.account}/projects/${encodeURIComponent(project)}/build/${encodeURIComponent(buildId)}/log?region=${p.region}`,
  };
}

const DEPLOY_FIELDS = new Set(['kind', 'digest', 'result', 'message', 'buildId', 'error', 'driver', 'evidence', 'cluster', 'wave']);

/** Everything an auditor asks about one release, from its events alone (chain check and evidence check included). */
export function auditRelease(
  lines: readonly ExportEventLine[] | readonly LedgerEvent[],
  anchors: readonly ExportAnchorLine[] = [],
  /** The anchor key's public half: the signature is then verified (decision 048), not only read. */
  keys: SignatureOptions = {},
): ReleaseAudit | undefined {
  const asLines: ExportEventLine[] = (lines as ReadonlyArray<ExportEventLine | LedgerEvent>).map((l, i) =>
    'event' in l && 'line' in l ? (l as ExportEventLine) : { line: i + 1, event: l as unknown as Record<string, unknown> },
  );
  const events = asLines.map((l) => l.event as unknown as LedgerEvent).sort((a, b) => a.seq - b.seq);
  const first = events[0];
  if (!first) return undefined;
  const releaseId = first.releaseId;
  const integrity = verifyRelease(releaseId, asLines, anchors, keys);
  const started = events.find((e) => e.type === 'release.started');
  const d = started?.data ?? {};
  const facts = imageFacts(events);
  const executionArn = s(d.executionArn);

  const stageNames: string[] = Array.isArray(d.stages) ? (d.stages as unknown[]).filter((x): x is string => typeof x === 'string') : [];
  for (const e of events) if (e.stage && !stageNames.includes(e.stage)) stageNames.push(e.stage);
  const stages: StageAudit[] = stageNames.map((name) => {
    const of = events.filter((e) => e.stage === name);
    const st = {
      name,
      status: 'NOT_STARTED',
      waits: [] as StageAudit['waits'],
      gates: [] as GateRecord[],
      deploys: [] as DeployRecord[],
    } as { -readonly [K in keyof StageAudit]: StageAudit[K] };
    const openDeploys: Record<string, DeployRecord & { startedAt?: string }> = {};
    for (const e of of) {
      const x = e.data;
      switch (e.type) {
        case 'stage.started':
          st.startedAt ??= e.at;
          st.status = 'WAITING';
          if (s(x.previousDigest)) st.previousDigest = x.previousDigest as string;
          break;
        case 'canary.step':
          (st.canarySteps ??= []).push({
            at: e.at,
            step: Number(x.step ?? 0),
            weight: Number(x.weight ?? 0),
            status: String(x.status),
            ...(typeof x.replicas === 'number' ? { replicas: x.replicas } : {}),
            ...(s(x.reason) ? { reason: x.reason as string } : {}),
          });
          break;
        case 'plan.recorded':
          (st.plans ??= []).push({
            at: e.at,
            attempt: Number(x.attempt ?? 1),
            sha256: String(x.sha256 ?? ''),
            key: String(x.key ?? ''),
            adds: Number(x.adds ?? 0),
            changes: Number(x.changes ?? 0),
            destroys: Number(x.destroys ?? 0),
            decisions: [],
          });
          break;
        case 'plan.stale': {
          const plans = st.plans;
          const plan = plans?.at(-1);
          if (plans && plan) plans[plans.length - 1] = { ...plan, stale: { at: e.at, ...(s(x.message) ? { message: x.message as string } : {}) } };
          break;
        }
        case 'stage.waiting':
          st.waits.push({ at: e.at, ...(s(x.waitingFor) ? { waitingFor: x.waitingFor as string } : {}), ...(s(x.reason) ? { reason: x.reason as string } : {}) });
          if (x.waitingFor === 'approval') st.approvalsRequired = typeof x.required === 'number' ? x.required : 1;
          break;
        case 'approval.recorded':
          // One of several approvals (decision 050); one recorded after the decision does not count.
          if (!st.approval) {
            const extra = Object.fromEntries(Object.entries(x).filter(([k, v]) => !APPROVAL_BOOKKEEPING.has(k) && v !== undefined && v !== null));
            (st.approvals ??= []).push({
              ...extra,
              principal: String(x.principal ?? ''),
              ...(s(x.person) ? { person: x.person as string } : {}),
              decision: s(x.decision) ?? 'APPROVED',
              at: e.at,
              ...(s(x.comment) ? { comment: x.comment as string } : {}),
            });
          }
          break;
        case 'gate.evaluated':
          st.gates.push({
            at: e.at,
            gate: String(x.gate),
            result: String(x.result),
            reason: String(x.reason ?? ''),
            ...(x.evidence !== undefined ? { evidence: x.evidence } : {}),
          });
          // Decision 049: each decision on a saved plan names the hash it approved (a TIMED_OUT names none).
          if (x.gate === 'approval' && x.decision && x.checkpoint === undefined && st.plans?.length) {
            st.plans.at(-1)?.decisions.push({
              at: e.at,
              decision: String(x.decision),
              ...(s(x.principal) ? { principal: x.principal as string } : {}),
              ...(s(x.planSha256) ? { planSha256: x.planSha256 as string } : {}),
            });
          }
          if (x.gate === 'approval' && x.decision) {
            st.approval = {
              decision: String(x.decision),
              ...(s(x.principal) ? { principal: x.principal as string } : {}),
              ...(s(x.comment) ? { comment: x.comment as string } : {}),
              at: e.at,
            };
            if (s(x.principal) && (x.decision === 'APPROVED' || x.decision === 'REJECTED')) {
              const ev = (x.evidence ?? {}) as Record<string, unknown>;
              const own = Array.isArray(ev.approvals) ? (ev.approvals as Array<Record<string, unknown>>).findLast((a) => a?.principal === x.principal) : undefined;
              const extra = Object.fromEntries(Object.entries(own ?? {}).filter(([k, v]) => !APPROVAL_BOOKKEEPING.has(k) && k !== 'at' && v !== undefined && v !== null));
              const person = s(own?.person) ?? s(ev.person);
              (st.approvals ??= []).push({
                ...extra,
                principal: x.principal as string,
                ...(person ? { person } : {}),
                decision: x.decision,
                at: e.at,
                ...(s(x.comment) ? { comment: x.comment as string } : {}),
                ...(s(x.planSha256) ? { planSha256: x.planSha256 as string } : {}),
              });
            }
          }
          break;
        case 'deploy.started': {
          const kind = x.kind === 'rollback' ? 'rollback' : 'deploy';
          // A wave stage's runs (decision 044) are open at once, one per cluster.
          openDeploys[`${kind}:${s(x.cluster) ?? ''}`] = {
            kind,
            ...(s(x.cluster) ? { cluster: x.cluster as string } : {}),
            ...(typeof x.wave === 'number' ? { wave: x.wave } : {}),
            ...(s(x.digest) ? { digest: x.digest as string } : {}),
            startedAt: e.at,
            ...(s(x.buildId) ? { buildId: x.buildId as string } : {}),
            ...(s(x.driver) ? { driver: x.driver as string } : {}),
          };
          break;
        }
        case 'deploy.finished': {
          const kind = x.kind === 'rollback' ? 'rollback' : 'deploy';
          const open = openDeploys[`${kind}:${s(x.cluster) ?? ''}`];
          delete openDeploys[`${kind}:${s(x.cluster) ?? ''}`];
          const extra = Object.fromEntries(Object.entries(x).filter(([k, v]) => !DEPLOY_FIELDS.has(k) && v !== null && v !== undefined));
          const evidence = x.evidence && typeof x.evidence === 'object' && !Array.isArray(x.evidence) ? (x.evidence as DriverEvidence) : undefined;
          const buildId = s(x.buildId) ?? s(evidence?.buildId) ?? open?.buildId;
          const driver = open?.driver ?? s(evidence?.driver);
          // Only a CodeBuild driver's id names a build (the Kubernetes driver's names a Deployment generation).
          const derived = buildId && (!driver || CODEBUILD_DRIVERS.includes(driver)) ? buildLinks(buildId, executionArn) : {};
          st.deploys.push({
            kind,
            ...(s(x.cluster) ? { cluster: x.cluster as string } : {}),
            ...(typeof x.wave === 'number' ? { wave: x.wave } : {}),
            ...(s(x.digest) ? { digest: x.digest as string } : open?.digest ? { digest: open.digest } : {}),
            ...(open?.startedAt ? { startedAt: open.startedAt } : {}),
            endedAt: e.at,
            result: String(x.result),
            ...(s(x.message) ? { message: x.message as string } : {}),
            ...(buildId ? { buildId } : {}),
            // What the build itself reported wins over what can be derived from its id.
            ...((s(evidence?.buildArn) ?? derived.buildArn) ? { buildArn: s(evidence?.buildArn) ?? derived.buildArn } : {}),
            ...((s(evidence?.logUrl) ?? derived.logLink) ? { logLink: s(evidence?.logUrl) ?? derived.logLink } : {}),
            ...(driver ? { driver } : {}),
            ...(evidence ? { evidence } : {}),
            ...(Object.keys(extra).length ? { driverEvidence: extra } : {}),
          });
          // The saved plan the apply applied (decision 049): its own sha256 check, beside the plan it belongs to.
          {
            const applied = (evidence?.terraform as { savedPlanSha256?: string } | undefined)?.savedPlanSha256;
            const plan = kind === 'deploy' && applied ? st.plans?.find((p) => p.sha256 === applied) : undefined;
            if (plan && st.plans) st.plans[st.plans.indexOf(plan)] = { ...plan, appliedSha256: applied as string };
          }
          break;
        }
        case 'bake.started':
          if (x.phase !== undefined) break; // a phase's bake inside the stage (decision 047)
          st.bake = {
            startedAt: e.at,
            ...(typeof x.bakeMinutes === 'number' ? { minutes: x.bakeMinutes } : {}),
            ...(Array.isArray(x.alarms) ? { alarms: x.alarms as string[] } : {}),
          };
          break;
        case 'bake.finished':
          if (x.phase !== undefined) break;
          st.bake = { ...(st.bake ?? {}), endedAt: e.at, result: String(x.result), ...(s(x.reason) ? { reason: x.reason as string } : {}) };
          break;
        case 'stage.promoted':
          st.promotedAt = e.at;
          st.status = 'PROMOTED';
          break;
        case 'rollback.started':
          st.rollback = {
            startedAt: e.at,
            ...(s(x.reason) ? { reason: x.reason as string } : {}),
            ...(s(x.detectedAt) ? { detectedAt: x.detectedAt as string } : {}),
            ...(s(x.fromDigest) ? { fromDigest: x.fromDigest as string } : {}),
            ...(typeof x.fromDeployed === 'boolean' ? { fromDeployed: x.fromDeployed } : {}),
            ...(s(x.toDigest) ? { toDigest: x.toDigest as string } : {}),
          };
          break;
        case 'rollback.finished': {
          const rb = st.rollback ?? { startedAt: e.at };
          const detected = rb.detectedAt ?? rb.startedAt;
          st.rollback = {
            ...rb,
            endedAt: e.at,
            result: String(x.result),
            ...(s(x.toDigest) && !rb.toDigest ? { toDigest: x.toDigest as string } : {}),
            ...(s(x.message) ? { message: x.message as string } : {}),
            ...(x.recovery !== undefined && x.recovery !== null ? { recovery: x.recovery } : {}),
            ...(secondsBetween(detected, rb.startedAt) !== undefined ? { reactionSeconds: secondsBetween(detected, rb.startedAt) } : {}),
            ...(secondsBetween(detected, e.at) !== undefined ? { recoverySeconds: secondsBetween(detected, e.at) } : {}),
          };
          break;
        }
        case 'stage.finished':
          st.status = String(x.status);
          if (s(x.reason)) st.reason = x.reason as string;
          st.endedAt = e.at;
          break;
        default:
          break;
      }
    }
    for (const open of Object.values(openDeploys)) st.deploys.push({ ...open, result: 'RUNNING' });
    return st;
  });

  const finished = events.find((e) => e.type === 'release.finished');
  const attributed = events.filter((e) => e.type === 'release.attributed').at(-1);
  if (finished?.data.status === 'ABORTED') for (const st of stages) if (st.status === 'WAITING') (st as { status: string }).status = 'ABORTED';
  return {
    releaseId,
    kind: d.kind === 'rollback' ? 'rollback' : d.kind === 'drill' ? 'drill' : 'release',
    ...(drillOf(events) ? { drill: drillOf(events) } : {}),
    ...(drillLegOf(d.input) ? { drillLeg: drillLegOf(d.input) } : {}),
    ...(s(d.service) ? { service: d.service as string } : {}),
    ...(s(d.repository) ? { repository: d.repository as string } : {}),
    ...(s(d.digest) ? { digest: d.digest as string } : {}),
    ...(s(d.tag) ? { tag: d.tag as string } : {}),
    ...(facts.commit ? { commit: facts.commit } : {}),
    ...(facts.created ? { imageCreated: facts.created } : {}),
    ...(facts.pushedAt ? { imagePushedAt: facts.pushedAt } : {}),
    ...(facts.repository ? { sourceRepository: facts.repository } : {}),
    ...(s(attributed?.data.initiator)
      ? {
          initiator: attributed?.data.initiator as string,
          attributedAt: attributed?.at,
          attributedFrom: s(attributed?.data.source) ? (attributed?.data.source as string) : 'CloudTrail PutImage',
        }
      : s(d.initiator)
        ? { initiator: d.initiator as string }
        : {}),
    ...(s(d.reason) ? { requestReason: d.reason as string } : {}),
    ...(s(d.startAt) ? { startAt: d.startAt as string } : {}),
    ...(s(d.rollbackTarget) ? { rollbackTarget: d.rollbackTarget as string } : {}),
    ...(d.breakGlass ? { breakGlass: d.breakGlass } : {}),
    ...(s(d.configHash) ? { configHash: d.configHash as string } : {}),
    ...(executionArn ? { executionArn } : {}),
    ...(d.input !== undefined ? { input: d.input } : {}),
    status: s(finished?.data.status) ?? 'RUNNING',
    ...(s(finished?.data.reason) ? { reason: finished?.data.reason as string } : {}),
    ...(started ? { startedAt: started.at } : {}),
    ...(finished ? { endedAt: finished.at } : {}),
    stages,
    ...(changeAudit(events) ? { change: changeAudit(events) } : {}),
    events: events.length,
    integrity,
    evidence: evidenceCompleteness(events),
  };
}

/**
 * Hand-built release ledgers with known answers (audit and DORA tests): a compact description of what
 * happened in each stage becomes the hash-chained events the handlers would have written.
 */
import { chainEvent, type LedgerEvent, type LedgerEventInput } from '../../lambdas/domain/ledger';

export const OLD = `sha256:${'1'.repeat(64)}`;
export const NEW = `sha256:${'2'.repeat(64)}`;
export const ALICE = 'arn:aws:sts::111122223333:assumed-role/Deployers/alice';
export const BOB = 'arn:aws:sts::111122223333:assumed-role/ReleaseApprovers/bob';
export const CONFIG_HASH = 'c'.repeat(64);

export interface StageSpec {
  readonly name: string;
  /** Minutes spent in the gates before the deploy starts. @default 0 */
  readonly gateMinutes?: number;
  readonly gates?: ReadonlyArray<{ gate: string; result: 'PASS' | 'FAIL' | 'WARN'; reason: string; evidence?: unknown }>;
  readonly approval?: { decision: 'APPROVED' | 'REJECTED'; principal?: string; comment?: string; waitMinutes?: number };
  readonly deploy?: { result: 'SUCCEEDED' | 'FAILED'; minutes?: number; buildId?: string | null; extra?: Record<string, unknown> };
  readonly bake?: { result: 'PASS' | 'WARN' | 'FAIL'; minutes: number };
  readonly promote?: boolean;
  /** After a failed deploy or bake: minutes from detection to the rollback's end. */
  readonly rollback?: { result: 'SUCCEEDED' | 'FAILED'; minutes: number; reason?: string };
  /** The stage's final status when neither promoted nor rolled back (BLOCKED, FAILED, REJECTED). */
  readonly status?: string;
}

export interface ReleaseSpec {
  readonly id: string;
  readonly service?: string;
  readonly at: string;
  readonly kind?: 'release' | 'rollback';
  readonly stages: readonly StageSpec[];
  /** The release's final status; omit for a release still running. */
  readonly status?: string;
  readonly approvalRequired?: readonly string[];
  /** Image labels recorded by the image.labels gate of the first stage. */
  readonly labels?: Readonly<Record<string, string>>;
  readonly attributedTo?: string;
}

/** The events of one release, chained, in seq order. */
export function buildRelease(spec: ReleaseSpec): LedgerEvent[] {
  const events: LedgerEvent[] = [];
  let t = Date.parse(spec.at);
  const service = spec.service ?? 'payments';
  const at = () => new Date(t).toISOString();
  const later = (minutes = 0) => {
    t += minutes * 60_000;
  };
  const add = (stepKey: string, type: LedgerEventInput['type'], data: Record<string, unknown>, stage?: string) => {
    events.push(chainEvent(events.at(-1), { releaseId: spec.id, stepKey, type, at: at(), data, ...(stage ? { stage } : {}) }));
  };
  add('release.started', 'release.started', {
    kind: spec.kind ?? 'release',
    service,
    repository: `${service}-api`,
    digest: NEW,
    tag: 'v1.4.2',
    initiator: spec.attributedTo ? 'unattributed (no start record yet)' : ALICE,
    input: { service, image: { tag: 'v1.4.2' } },
    reason: 'CHG-1',
    breakGlass: null,
    stages: spec.stages.map((s) => s.name),
    configHash: CONFIG_HASH,
    executionArn: `arn:aws:states:eu-west-2:111122223333:execution:gantry-release:${spec.id}`,
    ...(spec.approvalRequired ? { approvalRequired: [...spec.approvalRequired] } : {}),
    ...(spec.kind === 'rollback' ? { rollbackTarget: OLD } : {}),
  });
  if (spec.attributedTo) add('release.attributed', 'release.attributed', { initiator: spec.attributedTo });
  spec.stages.forEach((st, i) => {
    const n = st.name;
    add(`stage:${n}:started`, 'stage.started', { previousDigest: OLD, lastKnownGood: OLD }, n);
    add(`stage:${n}:lease.acquired`, 'lease.acquired', {}, n);
    const gates = st.gates ?? [
      { gate: 'image.exists', result: 'PASS' as const, reason: `payments-api@${NEW} exists`, evidence: { digest: NEW, pushedAt: spec.at } },
      ...(i === 0 && spec.labels ? [{ gate: 'image.labels', result: 'PASS' as const, reason: 'labels present', evidence: { labels: spec.labels } }] : []),
    ];
    later(st.gateMinutes ?? 0);
    for (const g of gates) add(`stage:${n}:gate:${g.gate}`, 'gate.evaluated', { ...g }, n);
    if (st.approval) {
      add(`stage:${n}:waiting:approval`, 'stage.waiting', { waitingFor: 'approval' }, n);
      later(st.approval.waitMinutes ?? 0);
      add(
        `stage:${n}:gate:approval`,
        'gate.evaluated',
        {
          gate: 'approval',
          result: st.approval.decision === 'APPROVED' ? 'PASS' : 'FAIL',
          reason: `${st.approval.decision} by ${st.approval.principal ?? 'nobody'}`,
          decision: st.approval.decision,
          ...(st.approval.principal ? { principal: st.approval.principal } : {}),
          ...(st.approval.comment ? { comment: st.approval.comment } : {}),
        },
        n,
      );
    }
    if (st.deploy) {
      add(`stage:${n}:deploy.started`, 'deploy.started', { kind: 'deploy', digest: NEW }, n);
      later(st.deploy.minutes ?? 1);
      add(
        `stage:${n}:deploy.finished`,
        'deploy.finished',
        {
          kind: 'deploy',
          digest: NEW,
          result: st.deploy.result,
          ...(st.deploy.result === 'FAILED' ? { message: 'UPGRADE FAILED' } : {}),
          buildId: st.deploy.buildId === undefined ? `gantry-helm:${spec.id}-${n}` : st.deploy.buildId,
          ...(st.deploy.extra ?? {}),
        },
        n,
      );
    }
    if (st.bake) {
      add(`stage:${n}:bake.started`, 'bake.started', { alarms: [`${service}-${n}-5xx`], bakeMinutes: st.bake.minutes }, n);
      later(st.bake.minutes);
      add(`stage:${n}:gate:bake`, 'gate.evaluated', { gate: 'bake', result: st.bake.result, reason: `bake ${st.bake.result}` }, n);
      add(`stage:${n}:bake.finished`, 'bake.finished', { result: st.bake.result, reason: `bake ${st.bake.result}` }, n);
    }
    if (st.promote) {
      add(`stage:${n}:promoted`, 'stage.promoted', { digest: NEW }, n);
      add(`stage:${n}:finished`, 'stage.finished', { status: 'PROMOTED', reason: `${NEW} is the last known good digest` }, n);
    } else if (st.rollback) {
      const detectedAt = at();
      add(`stage:${n}:rollback.started`, 'rollback.started', { reason: st.rollback.reason ?? 'alarm in ALARM', detectedAt, toDigest: OLD, fromDigest: NEW }, n);
      add(`stage:${n}:rollback.deploy.started`, 'deploy.started', { kind: 'rollback', digest: OLD }, n);
      later(st.rollback.minutes);
      add(
        `stage:${n}:rollback.deploy.finished`,
        'deploy.finished',
        { kind: 'rollback', digest: OLD, result: st.rollback.result, message: null, buildId: `gantry-helm:${spec.id}-${n}-rb` },
        n,
      );
      add(`stage:${n}:rollback.finished`, 'rollback.finished', { result: st.rollback.result, toDigest: OLD, message: null }, n);
      add(`stage:${n}:finished`, 'stage.finished', { status: st.rollback.result === 'SUCCEEDED' ? 'ROLLED_BACK' : 'ROLLBACK_FAILED', reason: 'rolled back' }, n);
    } else if (st.status) {
      add(`stage:${n}:finished`, 'stage.finished', { status: st.status, reason: `stage ${st.status}` }, n);
    }
    add(`stage:${n}:lease.released`, 'lease.released', {}, n);
  });
  if (spec.status) add('release.finished', 'release.finished', { status: spec.status, reason: `release ${spec.status}` });
  return events;
}

/** A release promoted through dev and prod with complete evidence. */
export function promotedRelease(id: string, at: string, service = 'payments'): LedgerEvent[] {
  return buildRelease({
    id,
    at,
    service,
    status: 'SUCCEEDED',
    stages: [
      { name: 'dev', deploy: { result: 'SUCCEEDED' }, bake: { result: 'PASS', minutes: 10 }, promote: true },
      { name: 'prod', deploy: { result: 'SUCCEEDED' }, bake: { result: 'PASS', minutes: 30 }, promote: true },
    ],
  });
}

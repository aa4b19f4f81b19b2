/**
 * What `gantry dashboard` serves as JSON (docs/decisions/056-dashboard.md): the overview the page polls — the stage
 * matrix, the releases in flight with their phase and progress, the approvals waiting, the recent history — and one
 * release's status view. Built from the same GantryBackend and the same views as `gantry status` (statusOf:
 * cli/render/status-view.ts releaseStatus), so the page and the CLI never disagree.
 */
import { z } from 'zod';
import type { ReleaseSummary } from '../../lambdas/domain/ledger';
import { RELEASE_STATUSES } from '../../lambdas/domain/types';
import type { GantryBackend } from '../backends/backend';
import { statusOf } from '../commands/status';
import { type ReleaseStatusView, stageMatrixSchema } from '../render/schemas';
import { matrixOf } from './matrix';

/** How many finished releases the history shows. */
export const HISTORY_SIZE = 20;

export interface InFlightRelease {
  readonly releaseId: string;
  readonly kind: ReleaseStatusView['kind'];
  readonly service: string;
  readonly digest: string | null;
  readonly tag: string | null;
  readonly initiator: string | null;
  readonly status: string;
  readonly startedAt: string;
  /** The stage at work (the first one not done), its phase and activity in words (as `gantry status` prints them). */
  readonly current: { readonly stage: string; readonly status: string; readonly phase: string; readonly activity: string } | null;
  /** Stages done of the stages the release goes through. */
  readonly progress: { readonly done: number; readonly total: number };
  readonly stages: ReadonlyArray<{ readonly name: string; readonly status: string; readonly phase: string; readonly activity: string }>;
}

export interface ApprovalWaiting {
  readonly releaseId: string;
  readonly service: string;
  readonly stage: string;
  readonly waitingSince: string;
  readonly approvers: readonly string[];
  /** How many distinct persons must approve (decision 050), and how many have. */
  readonly required: number;
  readonly done: number;
  readonly message: string;
  /** A Terraform stage that planned first (decision 049): the saved plan's sha256 the approvers approve. */
  readonly planSha256?: string;
  readonly plan?: { readonly adds: number; readonly changes: number; readonly destroys: number };
}

export interface HistoryEntry {
  readonly releaseId: string;
  readonly service: string;
  readonly kind: ReleaseSummary['kind'];
  readonly status: string;
  readonly digest: string | null;
  readonly tag: string | null;
  readonly startedAt: string;
  readonly endedAt: string | null;
}

export interface Overview {
  readonly source: string;
  readonly simulated: boolean;
  /** The backend's clock (virtual for a local Gantry). */
  readonly now: string;
  readonly allowActions: boolean;
  /** Actions are allowed, so the page shows an Abort button on each release in flight (`gantry abort`, decision 053). */
  readonly canAbort: boolean;
  /** The stage matrix (cli/stage-matrix.ts), as `gantry stages --json` gives it. */
  readonly matrix: Awaited<ReturnType<typeof matrixOf>>;
  readonly inFlight: readonly InFlightRelease[];
  readonly approvals: readonly ApprovalWaiting[];
  readonly history: readonly HistoryEntry[];
}

/** A release in flight as the page shows it: its stages, the one at work, and how many are done. */
export function inFlightOf(v: ReleaseStatusView): InFlightRelease {
  const stages = v.stages.map((s) => ({ name: s.name, status: s.status, phase: s.phase, activity: s.activity }));
  const done = v.stages.filter((s) => s.phase === 'done').length;
  const at = v.stages.find((s) => s.phase !== 'done');
  return {
    releaseId: v.releaseId,
    kind: v.kind,
    service: v.service,
    digest: v.digest,
    tag: v.tag,
    initiator: v.initiator,
    status: v.status,
    startedAt: v.startedAt,
    current: at ? { stage: at.name, status: at.status, phase: at.phase, activity: at.activity } : null,
    progress: { done, total: v.stages.length },
    stages,
  };
}

/** The stages of a release that wait for an approval now. */
export function approvalsOf(v: ReleaseStatusView): ApprovalWaiting[] {
  if (v.status !== 'RUNNING') return [];
  return v.stages
    .filter((s) => s.phase === 'approval' && s.waiting?.for === 'approval')
    .map((s) => {
      const w = s.waiting as NonNullable<typeof s.waiting>;
      return {
        releaseId: v.releaseId,
        service: v.service,
        stage: s.name,
        waitingSince: w.since,
        approvers: w.approvers ?? [],
        required: w.required ?? s.approvalsRequired ?? 1,
        done: w.approvedBy?.length ?? 0,
        message: w.message,
        ...(s.plan ? { planSha256: s.plan.sha256, plan: { adds: s.plan.adds, changes: s.plan.changes, destroys: s.plan.destroys } } : {}),
      };
    });
}

export const historyOf = (all: readonly ReleaseSummary[], size = HISTORY_SIZE): HistoryEntry[] =>
  all
    .filter((r) => r.status !== 'RUNNING')
    .slice(0, size)
    .map((r) => ({
      releaseId: r.releaseId,
      service: r.service,
      kind: r.kind,
      status: r.status,
      digest: r.digest ?? null,
      tag: r.tag ?? null,
      startedAt: r.startedAt,
      endedAt: r.endedAt ?? null,
    }));

/** The whole overview, read from the backend now. */
export async function overviewOf(b: GantryBackend, allowActions: boolean): Promise<Overview> {
  const all = await b.listReleases({});
  const running = all.filter((r) => r.status === 'RUNNING').reverse(); // oldest first
  const views: ReleaseStatusView[] = [];
  for (const r of running) {
    const v = await statusOf(b, r.releaseId);
    if (v) views.push(v);
  }
  return {
    source: b.label,
    simulated: b.kind === 'local',
    now: b.now().toISOString(),
    allowActions,
    canAbort: allowActions,
    matrix: await matrixOf(b),
    inFlight: views.map(inFlightOf),
    approvals: views.flatMap(approvalsOf),
    history: historyOf(all),
  };
}

const iso = z.string().refine((x) => !Number.isNaN(Date.parse(x)), { message: 'expected an ISO-8601 instant' });
const kind = z.enum(['release', 'rollback', 'drill']);

/** `GET /api/overview`'s shape (the page relies on every field; fields are only ever added). */
export const overviewSchema = z.object({
  source: z.string(),
  simulated: z.boolean(),
  now: iso,
  allowActions: z.boolean(),
  canAbort: z.boolean(),
  matrix: stageMatrixSchema,
  inFlight: z.array(
    z.object({
      releaseId: z.string().min(1),
      kind,
      service: z.string(),
      digest: z.string().nullable(),
      tag: z.string().nullable(),
      initiator: z.string().nullable(),
      status: z.enum(RELEASE_STATUSES),
      startedAt: iso,
      current: z.object({ stage: z.string(), status: z.string(), phase: z.string(), activity: z.string() }).nullable(),
      progress: z.object({ done: z.number().int().min(0), total: z.number().int().min(0) }),
      stages: z.array(z.object({ name: z.string(), status: z.string(), phase: z.string(), activity: z.string() })),
    }),
  ),
  approvals: z.array(
    z.object({
      releaseId: z.string().min(1),
      service: z.string(),
      stage: z.string(),
      waitingSince: iso,
      approvers: z.array(z.string()),
      required: z.number().int().min(1),
      done: z.number().int().min(0),
      message: z.string(),
      planSha256: z.string().optional(),
      plan: z.object({ adds: z.number().int(), changes: z.number().int(), destroys: z.number().int() }).optional(),
    }),
  ),
  history: z.array(
    z.object({
      releaseId: z.string().min(1),
      service: z.string(),
      kind,
      status: z.enum(RELEASE_STATUSES),
      digest: z.string().nullable(),
      tag: z.string().nullable(),
      startedAt: iso,
      endedAt: iso.nullable(),
    }),
  ),
});

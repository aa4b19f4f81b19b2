/**
 * Rehearsed rollbacks (`gantry drill`, docs/decisions/052-rollback-drills.md): which stages may be drilled, the
 * drill input, whether a stage can be drilled now, and the figures of a drill from the ledger events of its two
 * legs (each an operator rollback run by the rollback workflow). Pure: no AWS SDK, no clock.
 */
import * as z from 'zod';
import type { GantryConfig, ServiceConfig, StageConfig } from './config';
import type { LedgerEvent } from './ledger';
import { ValidationError, formatIssues } from './validation';

/** How EventBridge Scheduler spells a recurring schedule: `rate(7 days)` or `cron(0 4 ? * MON *)` (six fields). */
export const DRILL_SCHEDULE_HELP =
  'expected a schedule expression: rate(<n> hours|days) of at least 1 hour, or cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)';

/** A drill's schedule expression, or the reason it is refused. A drill deploys twice: never more often than hourly. */
export function drillScheduleProblem(expression: string): string | undefined {
  const rate = /^rate\((\d{1,5}) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (rate) {
    const n = Number(rate[1]);
    const unit = rate[2] as string;
    if (n < 1) return `${DRILL_SCHEDULE_HELP}; got ${JSON.stringify(expression)}`;
    if (unit.startsWith('minute') && n < 60) return `${DRILL_SCHEDULE_HELP}; got ${JSON.stringify(expression)} (a drill deploys twice: at most hourly)`;
    if ((n === 1) !== !unit.endsWith('s')) return `${DRILL_SCHEDULE_HELP}; got ${JSON.stringify(expression)} (EventBridge Scheduler wants "1 day" but "2 days")`;
    return undefined;
  }
  const cron = /^cron\(([^()]+)\)$/.exec(expression);
  if (cron) {
    const fields = (cron[1] as string).trim().split(/\s+/);
    if (fields.length !== 6) return `${DRILL_SCHEDULE_HELP}; got ${JSON.stringify(expression)} (${fields.length} fields, expected 6)`;
    if (!fields.every((f) => /^[0-9A-Za-z*?,/#L-]+$/.test(f))) return `${DRILL_SCHEDULE_HELP}; got ${JSON.stringify(expression)}`;
    if (fields[2] !== '?' && fields[4] !== '?') return `${DRILL_SCHEDULE_HELP}; got ${JSON.stringify(expression)} (one of day-of-month and day-of-week must be ?)`;
    if (/[*/]/.test(fields[0] as string))
      return `${DRILL_SCHEDULE_HELP}; got ${JSON.stringify(expression)} (the minutes field must name fixed minutes: a drill deploys twice, at most hourly)`;
    return undefined;
  }
  return `${DRILL_SCHEDULE_HELP}; got ${JSON.stringify(expression)}`;
}

/**
 * Whether a stage is production: its `production` field, else true for the service's last stage only. A production
 * stage is never drilled (a drill takes the stage back to an older digest on purpose).
 */
export function isProductionStage(service: Pick<ServiceConfig, 'stages'>, stageIndex: number): boolean {
  const st = service.stages[stageIndex] as (StageConfig & { production?: boolean }) | undefined;
  if (!st) return false;
  return st.production ?? stageIndex === service.stages.length - 1;
}

/** The stages a drill may run in (not production), with their schedule if any: the insight check's and the stack's list. */
export function drillableStages(config: GantryConfig): Array<{ service: string; stage: string; schedule?: string }> {
  const out: Array<{ service: string; stage: string; schedule?: string }> = [];
  for (const [service, svc] of Object.entries(config.services)) {
    svc.stages.forEach((st, i) => {
      if (isProductionStage(svc, i)) return;
      const schedule = (st as { drill?: { schedule?: string } }).drill?.schedule;
      out.push({ service, stage: st.name, ...(schedule ? { schedule } : {}) });
    });
  }
  return out;
}

/** The input a scheduled drill starts with (lib/DrillSchedules.ts; validated by the drill workflow as any drill input). */
export function scheduledDrillInput(service: string, stage: string, schedule: string): Record<string, unknown> {
  return { service, stage, scheduled: true, reason: `scheduled drill (drill.schedule ${schedule})` };
}

export interface DrillInput {
  readonly service: string;
  readonly stage: string;
  readonly reason?: string;
  /** Set by the stack's schedule (EventBridge Scheduler): the drill was started by it, not by a person. */
  readonly scheduled?: boolean;
}

const drillInputSchema = z.strictObject({
  service: z.string({ error: 'expected a service name' }).min(1, 'expected a service name'),
  stage: z.string({ error: 'expected a stage name' }).min(1, 'expected a stage name'),
  reason: z.string().min(1).max(500, 'expected at most 500 characters').optional(),
  scheduled: z.boolean().optional(),
});

/**
 * Validate a drill input `{ service, stage, reason?, scheduled? }` against the config: the service and stage exist
 * and the stage is not production. Whether the stage has a previous last known good, and whether a release or
 * rollback holds its lease, are the workflow's checks (they change with time).
 * @throws ValidationError with one line per problem
 */
export function parseDrillInput(raw: unknown, config: GantryConfig, source = 'drill input'): DrillInput {
  const r = drillInputSchema.safeParse(raw);
  if (!r.success) throw new ValidationError(source, formatIssues(r.error.issues, raw));
  const v = r.data;
  const svc = Object.hasOwn(config.services, v.service) ? config.services[v.service] : undefined;
  if (!svc)
    throw new ValidationError(source, [`service: expected one of the services of the config (${Object.keys(config.services).join(', ')}), got ${JSON.stringify(v.service)}`]);
  const index = svc.stages.findIndex((s) => s.name === v.stage);
  if (index < 0)
    throw new ValidationError(source, [`stage: expected one of the stages of ${v.service} (${svc.stages.map((s) => s.name).join(', ')}), got ${JSON.stringify(v.stage)}`]);
  if (isProductionStage(svc, index)) {
    const allowed = drillableStages(config)
      .filter((d) => d.service === v.service)
      .map((d) => d.stage);
    throw new ValidationError(source, [
      `stage: ${v.stage} is a production stage of ${v.service} and is never drilled (drillable: ${allowed.join(', ') || 'none'}; a stage is production when it says "production": true, or is the service's last stage and does not say "production": false)`,
    ]);
  }
  return { service: v.service, stage: v.stage, ...(v.reason !== undefined ? { reason: v.reason } : {}), ...(v.scheduled ? { scheduled: true } : {}) };
}

/** Why a stage cannot be drilled now, or the two digests of the drill. */
export function drillPlan(
  pointer: { running?: string; lastKnownGood?: string; promoted: readonly string[] } | undefined,
  lease: { owner?: string } | undefined,
  rollbackTarget: { digest: string } | { refused: string },
): { fromDigest: string; toDigest: string } | { refused: string } {
  if (lease?.owner) return { refused: `a release or rollback is in flight in this stage (${lease.owner} holds its lease): drill when it has finished` };
  const running = pointer?.running;
  if (!running) return { refused: 'nothing runs in this stage: no digest to return to after the rollback' };
  if (pointer?.lastKnownGood !== undefined && pointer.lastKnownGood !== running && !pointer.promoted.includes(running)) {
    return { refused: `the digest running (${running}) is not a known good digest of this stage: a drill would not return to it` };
  }
  if ('refused' in rollbackTarget) return { refused: `no previous last known good: ${rollbackTarget.refused}` };
  return { fromDigest: running, toDigest: rollbackTarget.digest };
}

/** One leg of a drill: the operator rollback that takes the stage back, or the one that takes it forward again. */
export interface DrillLeg {
  readonly leg: 'back' | 'forward';
  readonly releaseId: string;
  /** The rollback workflow's final status (ROLLED_BACK when it worked), or RUNNING/NOT_STARTED. */
  readonly status: string;
  readonly fromDigest?: string;
  readonly toDigest?: string;
  readonly startedAt?: string;
  /** When the stage's deploy of `toDigest` ended. */
  readonly deployEndedAt?: string;
  /** When the stage was recorded healthy on `toDigest` (its alarms after the recovery window); absent when it was not. */
  readonly healthyAt?: string;
  /** The recovery check: true healthy, false alarming, null unreadable. */
  readonly recovered?: boolean | null;
  /** Start of the leg → the stage healthy on its target (absent when it was not). */
  readonly seconds?: number;
  readonly reason?: string;
}

const secondsBetween = (from: string | undefined, to: string | undefined): number | undefined => {
  if (!from || !to) return undefined;
  const s = (Date.parse(to) - Date.parse(from)) / 1000;
  return Number.isFinite(s) ? s : undefined;
};

/** A leg's figures from the events of its rollback release (undefined events: it never started). */
export function drillLeg(leg: 'back' | 'forward', releaseId: string, events: readonly LedgerEvent[]): DrillLeg {
  const sorted = [...events].sort((a, b) => a.seq - b.seq);
  const started = sorted.find((e) => e.type === 'release.started');
  if (!started) return { leg, releaseId, status: 'NOT_STARTED' };
  const finished = sorted.find((e) => e.type === 'release.finished');
  const rb = sorted.find((e) => e.type === 'rollback.finished');
  const rbStarted = sorted.find((e) => e.type === 'rollback.started');
  const stageFinished = sorted.find((e) => e.type === 'stage.finished');
  const recovery = rb?.data.recovery as { recovered?: boolean | null } | null | undefined;
  // No alarms: nothing to watch, the stage is healthy when its deploy ended (recovery null with no reason to doubt it).
  const recovered = recovery ? (recovery.recovered ?? null) : rb?.data.result === 'SUCCEEDED' ? true : undefined;
  const healthyAt = rb?.data.result === 'SUCCEEDED' && recovered === true ? (stageFinished?.at ?? rb.at) : undefined;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    leg,
    releaseId,
    status: str(finished?.data.status) ?? 'RUNNING',
    fromDigest: str(rbStarted?.data.fromDigest),
    toDigest: str(started.data.rollbackTarget) ?? str(rbStarted?.data.toDigest),
    startedAt: started.at,
    ...(rb && typeof rb.data.deployEndedAt === 'string' ? { deployEndedAt: rb.data.deployEndedAt } : {}),
    ...(healthyAt ? { healthyAt } : {}),
    ...(recovered !== undefined ? { recovered } : {}),
    ...(healthyAt ? { seconds: secondsBetween(started.at, healthyAt) } : {}),
    ...(str(finished?.data.reason) ? { reason: str(finished?.data.reason) } : {}),
  };
}

export type DrillStatus = 'SUCCEEDED' | 'FAILED' | 'ROLLBACK_FAILED';

/** The drill's outcome from its legs: both healthy → SUCCEEDED; the roll-back's deploy failed → ROLLBACK_FAILED; else FAILED. */
export function drillOutcome(back: DrillLeg, forward: DrillLeg): { status: DrillStatus; reason: string } {
  const leg = (l: DrillLeg) => `${l.releaseId} ended ${l.status}${l.reason ? ` (${l.reason})` : ''}`;
  if (back.status === 'ROLLBACK_FAILED') {
    return { status: 'ROLLBACK_FAILED', reason: `drill failed: the roll-back ${leg(back)}; the stage is as the rollback workflow left it; nothing was rolled forward` };
  }
  if (back.status !== 'ROLLED_BACK') return { status: 'FAILED', reason: `drill failed: the roll-back ${leg(back)}; nothing was rolled forward` };
  if (back.healthyAt === undefined)
    return { status: 'FAILED', reason: `drill failed: the stage was rolled back but not recorded healthy on ${back.toDigest ?? '?'} (${back.reason ?? 'recovery check'})` };
  if (forward.status !== 'ROLLED_BACK') return { status: 'FAILED', reason: `drill failed: rolled back in ${back.seconds ?? '?'} s, but the roll-forward ${leg(forward)}` };
  if (forward.healthyAt === undefined) return { status: 'FAILED', reason: `drill failed: rolled forward but not recorded healthy on ${forward.toDigest ?? '?'}` };
  return { status: 'SUCCEEDED', reason: `restored ${back.toDigest ?? '?'} in ${back.seconds ?? '?'} s, back to ${forward.toDigest ?? '?'} in ${forward.seconds ?? '?'} s` };
}

/** A drill as the ledger records it (`drill.recorded`): what metrics, the insight check and the report read. */
export interface DrillRecord {
  readonly drillId: string;
  readonly service: string;
  readonly stage: string;
  readonly status: string;
  readonly reason?: string;
  readonly at: string;
  readonly startedAt?: string;
  readonly fromDigest?: string;
  readonly toDigest?: string;
  readonly initiator?: string;
  readonly trigger?: 'operator' | 'schedule';
  /** The roll-back: start → the stage healthy on the older digest. */
  readonly timeToRestoreSeconds?: number;
  /** The roll-forward: start → the stage healthy on the digest that was running. */
  readonly rollForwardSeconds?: number;
  readonly legs: readonly DrillLeg[];
}

/** Every drill recorded in these events (`drill.recorded`), oldest first. */
export function drillRecords(events: readonly LedgerEvent[]): DrillRecord[] {
  const starts = new Map<string, LedgerEvent>();
  for (const e of events) if (e.type === 'release.started' && e.data.kind === 'drill') starts.set(e.releaseId, e);
  const out: DrillRecord[] = [];
  for (const e of events) {
    if (e.type !== 'drill.recorded') continue;
    const d = e.data;
    const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    out.push({
      drillId: e.releaseId,
      service: str(d.service) ?? '',
      stage: str(d.stage) ?? e.stage ?? '',
      status: str(d.status) ?? '',
      reason: str(d.reason),
      at: e.at,
      startedAt: starts.get(e.releaseId)?.at,
      fromDigest: str(d.fromDigest),
      toDigest: str(d.toDigest),
      initiator: str(d.initiator),
      trigger: d.trigger === 'schedule' ? 'schedule' : 'operator',
      timeToRestoreSeconds: num(d.timeToRestoreSeconds),
      rollForwardSeconds: num(d.rollForwardSeconds),
      legs: Array.isArray(d.legs) ? (d.legs as DrillLeg[]) : [],
    });
  }
  return out.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}

/** A drillable stage whose last successful drill is older than `afterDays` (or that was never drilled), as of `now`. */
export interface DrillOverdue {
  readonly service: string;
  readonly stage: string;
  readonly lastDrillAt: string | null;
  readonly daysSince: number | null;
  readonly afterDays: number;
}

/** Pure: the drillable stages whose last SUCCEEDED drill is older than `afterDays` at `now` (given, never read). */
export function overdueDrills(
  stages: ReadonlyArray<{ service: string; stage: string }>,
  lastDrills: ReadonlyArray<{ service: string; stage: string; at: string }>,
  afterDays: number,
  now: Date,
): DrillOverdue[] {
  const out: DrillOverdue[] = [];
  for (const s of stages) {
    const last = lastDrills
      .filter((d) => d.service === s.service && d.stage === s.stage)
      .map((d) => d.at)
      .sort()
      .at(-1);
    const days = last ? (now.getTime() - Date.parse(last)) / 86_400_000 : null;
    if (days === null || days > afterDays)
      out.push({ service: s.service, stage: s.stage, lastDrillAt: last ?? null, daysSince: days === null ? null : Math.floor(days), afterDays });
  }
  return out;
}

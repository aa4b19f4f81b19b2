/**
 * `gantry status`: a release now, derived from its ledger events only (plus, when the backend can
 * tell, the current states of the bake's alarms and the execution's status). Each unfinished stage
 * says what it is doing or *why it waits*, in words. Pure: the clock is an argument.
 */
import { shortDigests } from './text';
import { DateTime } from 'luxon';
import type { GantryConfig } from '../../lambdas/domain/config';
import { type LedgerEvent, projectRelease, type ReleaseSummary } from '../../lambdas/domain/ledger';
import type { ExecutionDescription } from '../backends/backend';
import { EXIT } from '../backends/backend';
import type { ReleaseStatusView, StageStatusView, Waiting } from './schemas';

/** Minutes between two instants, floored. */
const minutes = (fromIso: string, to: Date) => Math.max(0, Math.floor((to.getTime() - Date.parse(fromIso)) / 60_000));

/** `12 min ago`, `2 h 5 min ago`, `just now`. */
export function ago(fromIso: string, now: Date): string {
  const m = minutes(fromIso, now);
  if (m < 1) return 'just now';
  if (m < 60) return `${m} min ago`;
  if (m < 48 * 60) return `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ''} ago`;
  return `${Math.floor(m / 1440)} days ago`;
}

/** `Mon 30 Nov 09:00 Europe/London` (in the stage's time zone, else UTC). */
export function wallClock(iso: string, zone: string | undefined): string {
  const t = DateTime.fromISO(iso, { zone: zone ?? 'UTC' });
  if (!t.isValid) return iso;
  return `${t.toFormat('ccc d LLL HH:mm', { locale: 'en-GB' })} ${zone ?? 'UTC'}`;
}

/** `arn:aws:iam::1:role/ReleaseApprovers` → `ReleaseApprovers`; other principals as given. */
export function approverName(arn: string): string {
  const role = /:role\/(?:.*\/)?([^/]+)$/.exec(arn);
  if (role) return role[1] as string;
  const user = /:user\/(?:.*\/)?([^/]+)$/.exec(arn);
  return user ? (user[1] as string) : arn;
}

/** `awaiting approval by ReleaseApprovers, …` or, with several required (decision 050), `awaiting approvals: 1 of 2 approvals (alice); 1 more by …`. */
function approvalWaitMessage(
  approvers: readonly string[],
  required: number,
  by: readonly string[],
  since: string,
  expires: string | undefined,
  zone: string | undefined,
  now: Date,
): string {
  const who = approvers.map(approverName).join(' or ') || 'an approver';
  const times = `requested ${ago(since, now)}${expires ? `; times out ${wallClock(expires, zone)}` : ''}`;
  if (required <= 1) return `awaiting approval by ${who}, ${times}`;
  const done = `${by.length} of ${required} approvals${by.length ? ` (${by.join(', ')})` : ''}`;
  return `awaiting approvals: ${done}; ${required - by.length} more by distinct persons of ${who}, ${times}`;
}

const short = (digest: unknown) => (typeof digest === 'string' ? shortDigests(digest) : String(digest ?? '?'));

/**
 * Exit code of a release status: 0 succeeded or still running, 1 anything else that finished. An
 * operator rollback that did its job ends ROLLED_BACK: that is its success.
 */
export function exitCodeOf(status: string, kind: 'release' | 'rollback' | 'drill' = 'release'): number {
  if (status === 'SUCCEEDED' || status === 'RUNNING') return EXIT.ok;
  return kind === 'rollback' && status === 'ROLLED_BACK' ? EXIT.ok : EXIT.releaseFailed;
}

function alarmWords(names: readonly string[], states: Record<string, string> | undefined): string {
  if (names.length === 0) return 'no alarms';
  if (!states) return `watching ${names.length} alarm${names.length === 1 ? '' : 's'}`;
  const counts = new Map<string, number>();
  for (const n of names) {
    const s = states[n] ?? 'UNKNOWN';
    counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  const order = ['OK', 'ALARM', 'INSUFFICIENT_DATA', 'MISSING', 'UNKNOWN'];
  return [...counts.entries()]
    .sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0]))
    .map(([s, c]) => `${c} alarm${c === 1 ? '' : 's'} ${s}`)
    .join(', ');
}

/** What an unfinished stage is doing, from its own events (oldest first). */
function stageActivity(
  stage: string,
  events: readonly LedgerEvent[],
  ctx: { now: Date; config?: GantryConfig; service: string; alarmStates?: Record<string, string> },
): { phase: StageStatusView['phase']; waiting: Waiting | null; activity: string } {
  const zone = ctx.config?.services[ctx.service]?.stages.find((s) => s.name === stage)?.windows?.timezone;
  let phase: StageStatusView['phase'] = 'starting';
  let waiting: Waiting | null = null;
  let activity = 'starting';
  for (const e of events) {
    const d = e.data;
    switch (e.type) {
      case 'stage.started':
      case 'lease.acquired':
        phase = 'gates';
        waiting = null;
        activity = 'checking gates';
        break;
      case 'stage.waiting': {
        const what = String(d.waitingFor ?? 'something');
        if (what === 'window') {
          const until = typeof d.until === 'string' ? d.until : undefined;
          phase = 'window';
          // The stage's time zone as the window gate recorded it (older records: the config's).
          const tz = typeof d.timezone === 'string' ? d.timezone : zone;
          waiting = {
            for: 'window',
            since: e.at,
            until: until ?? null,
            message: until ? `waiting for window: opens ${wallClock(until, tz)}` : `waiting for window: ${String(d.reason ?? 'closed')}`,
          };
        } else if (what === 'approval') {
          const approvers = Array.isArray(d.approvers) ? (d.approvers as string[]) : [];
          const expires = typeof d.expiresAt === 'string' ? d.expiresAt : undefined;
          const required = typeof d.required === 'number' ? d.required : 1;
          phase = 'approval';
          waiting = {
            for: 'approval',
            since: e.at,
            until: expires ?? null,
            approvers,
            message: approvalWaitMessage(approvers, required, [], e.at, expires, zone, ctx.now),
            ...(required > 1 ? { required, approvedBy: [] } : {}),
          };
        } else if (what === 'lease') {
          const holder = typeof d.holder === 'string' ? d.holder : undefined;
          phase = 'lease';
          waiting = { for: 'lease', since: e.at, until: null, holder: holder ?? null, message: `waiting for the ${stage} lease held by release ${holder ?? '(unknown)'}` };
        } else if (what === 'scan') {
          phase = 'scan';
          const gives = typeof d.until === 'string' ? d.until : undefined;
          waiting = {
            for: 'scan',
            since: e.at,
            until: gives ?? null,
            message: `waiting for the image scan: ${String(d.reason ?? 'scan not complete')} (since ${ago(e.at, ctx.now)}${gives ? `; blocks if not done by ${wallClock(gives, undefined)}` : ''})`,
          };
        } else {
          phase = 'gates';
          waiting = { for: 'other', since: e.at, until: null, message: `waiting for ${what}${d.reason ? `: ${String(d.reason)}` : ''}` };
        }
        activity = waiting.message;
        break;
      }
      case 'approval.recorded':
        // One of several approvals (decision 050): "1 of 2 approvals (alice)".
        if (waiting?.for === 'approval') {
          const w: Waiting = waiting;
          const by: string[] = [...(w.approvedBy ?? []), String(d.person ?? d.principal ?? '?')];
          const required: number = w.required ?? (typeof d.required === 'number' ? d.required : 1);
          waiting = {
            ...w,
            required,
            approvedBy: by,
            message: approvalWaitMessage(w.approvers ?? [], required, by, w.since, w.until ?? undefined, zone, ctx.now),
          };
          activity = waiting.message;
        }
        break;
      case 'approval.refused':
        if (waiting?.for === 'approval') activity = `${waiting.message}; refused an attempt by ${String(d.principal ?? '?')}: ${String(d.reason ?? '')}`;
        break;
      case 'gate.evaluated':
        // A gate result after a wait ends that wait (the window opened, the scan finished, someone decided).
        if (waiting && !(waiting.for === 'approval' && d.gate !== 'approval')) waiting = null;
        if (!waiting) {
          phase = 'gates';
          activity = `checking gates (last: ${String(d.gate)} ${String(d.result)})`;
        }
        break;
      case 'deploy.started':
        waiting = null;
        if (d.kind === 'rollback') {
          phase = 'rollback';
          activity = `rolling back: deploying ${short(d.digest)} (started ${ago(e.at, ctx.now)})`;
        } else {
          phase = 'deploy';
          activity = `deploying ${short(d.digest)} (started ${ago(e.at, ctx.now)})`;
        }
        break;
      case 'deploy.finished':
        activity = `deploy ${String(d.result)}${d.message ? `: ${String(d.message)}` : ''}`;
        break;
      case 'bake.started': {
        const alarms = Array.isArray(d.alarms) ? (d.alarms as string[]) : [];
        const total = typeof d.bakeMinutes === 'number' ? d.bakeMinutes : undefined;
        const elapsed = Math.min(minutes(e.at, ctx.now), total ?? Number.POSITIVE_INFINITY);
        phase = 'bake';
        waiting = {
          for: 'bake',
          since: e.at,
          until: typeof d.until === 'string' ? d.until : null,
          alarms,
          message: `baking: ${elapsed} of ${total ?? '?'} min, ${alarmWords(alarms, ctx.alarmStates)}`,
        };
        activity = waiting.message;
        break;
      }
      case 'bake.finished':
        waiting = null;
        activity = `bake ${String(d.result)}: ${String(d.reason ?? '')}`;
        break;
      case 'rollback.started':
        waiting = null;
        phase = 'rollback';
        activity = `rolling back to ${short(d.toDigest)}: ${String(d.reason ?? '')}`;
        break;
      case 'rollback.finished':
        activity = `rollback ${String(d.result)}${d.message ? `: ${String(d.message)}` : ''}`;
        break;
      case 'stage.promoted':
        activity = 'promoted';
        break;
      case 'canary.step':
        phase = 'deploy';
        activity = `canary step ${String(d.step)} (${String(d.weight)} %) ${String(d.status)}${d.reason ? `: ${String(d.reason)}` : ''}`;
        break;
      default:
        break;
    }
  }
  return { phase, waiting, activity };
}

export interface StatusContext {
  readonly now: Date;
  readonly config?: GantryConfig;
  readonly alarmStates?: Record<string, string>;
  readonly execution?: ExecutionDescription;
  readonly consoleUrl?: string;
}

/** How many approvals the stage's approval request asked for (1 for requests recorded before decision 050); undefined when none was asked. */
function approvalsRequired(own: readonly LedgerEvent[]): number | undefined {
  const asked = own.find((e) => e.type === 'stage.waiting' && e.data.waitingFor === 'approval');
  if (!asked) return undefined;
  return typeof asked.data.required === 'number' ? asked.data.required : 1;
}

/** The names of the alarms the release's running bakes watch (to ask the backend for their states). */
export function bakingAlarms(events: readonly LedgerEvent[]): string[] {
  const open = new Map<string, string[]>();
  for (const e of events) {
    if (e.type === 'bake.started' && e.stage && Array.isArray(e.data.alarms)) open.set(e.stage, e.data.alarms as string[]);
    if (e.type === 'bake.finished' && e.stage) open.delete(e.stage);
  }
  return [...new Set([...open.values()].flat())];
}

/** The release now. @returns undefined when the events hold no release.started */
export function releaseStatus(events: readonly LedgerEvent[], ctx: StatusContext): ReleaseStatusView | undefined {
  const summary = projectRelease(events);
  if (!summary) return undefined;
  return statusView(summary, events, ctx);
}

/**
 * A wave stage's clusters (decision 044): each one's deploy and rollback result and the digest it runs by the ledger
 * (the rollback's when that succeeded, else the deploy's when that did; null: this release changed nothing there).
 */
export function clusterViews(clusters: NonNullable<ReleaseSummary['stages'][number]['clusters']>): NonNullable<StageStatusView['clusters']> {
  return clusters.map((c) => ({
    cluster: c.cluster,
    wave: c.wave ?? null,
    deploy: c.deploy?.result ?? null,
    rollback: c.rollback?.result ?? null,
    runs: c.rollback?.result === 'SUCCEEDED' ? (c.rollback.digest ?? null) : c.deploy?.result === 'SUCCEEDED' ? (c.deploy.digest ?? null) : null,
  }));
}

function statusView(summary: ReleaseSummary, events: readonly LedgerEvent[], ctx: StatusContext): ReleaseStatusView {
  const finished = summary.status !== 'RUNNING';
  const stages: StageStatusView[] = summary.stages.map((st) => {
    const own = events.filter((e) => e.stage === st.name).sort((a, b) => a.seq - b.seq);
    const base = {
      name: st.name,
      status: st.status,
      deployedDigest: st.deployedDigest ?? null,
      startedAt: st.startedAt ?? null,
      endedAt: st.endedAt ?? null,
      gates: st.gates.map((g) => ({ gate: g.gate, result: g.result, reason: g.reason })),
      approval: st.approval ? { decision: st.approval.decision, principal: st.approval.principal ?? null, at: st.approval.at } : null,
      ...(st.approvals?.length ? { approvals: st.approvals.map((a) => ({ principal: a.principal, person: a.person ?? null, decision: a.decision, at: a.at })) } : {}),
      ...(approvalsRequired(own) !== undefined ? { approvalsRequired: approvalsRequired(own) } : {}),
      ...(st.clusters ? { clusters: clusterViews(st.clusters) } : {}),
      ...(st.plan ? { plan: { ...st.plan } } : {}),
    };
    if (st.status !== 'WAITING' && st.status !== 'NOT_STARTED') {
      return { ...base, phase: 'done' as const, waiting: null, activity: st.reason ?? st.status };
    }
    if (st.status === 'NOT_STARTED' && own.length === 0) {
      return { ...base, phase: 'not-started' as const, waiting: null, activity: finished ? 'not run' : 'not started yet' };
    }
    if (finished) {
      return { ...base, phase: 'done' as const, waiting: null, activity: `stopped when the release ended ${summary.status}` };
    }
    const a = stageActivity(st.name, own, { now: ctx.now, config: ctx.config, service: summary.service, alarmStates: ctx.alarmStates });
    return { ...base, phase: a.phase, waiting: a.waiting, activity: a.activity };
  });
  const exec = ctx.execution;
  return {
    releaseId: summary.releaseId,
    kind: summary.kind,
    service: summary.service,
    digest: summary.digest ?? null,
    tag: summary.tag ?? null,
    initiator: summary.initiator ?? null,
    status: summary.status,
    reason: summary.reason ?? null,
    requestReason: summary.requestReason ?? null,
    startAt: summary.startAt ?? null,
    // Traceability (decision 051): the change record and the commit, when the change.record gate found them.
    change: summary.change?.id || summary.change?.commit ? { id: summary.change.id ?? null, commit: summary.change.commit ?? null } : null,
    breakGlass: summary.breakGlass ? summary.breakGlass.reason : null,
    ...(summary.abort ? { abort: summary.abort } : {}),
    startedAt: summary.startedAt,
    endedAt: summary.endedAt ?? null,
    now: ctx.now.toISOString(),
    execution: exec ? { status: exec.status, arn: exec.executionArn, error: exec.error ?? null, cause: exec.cause ?? null } : null,
    consoleUrl: ctx.consoleUrl ?? null,
    stages,
    exitCode: exitCodeOf(summary.status, summary.kind),
  };
}

/**
 * The release report: one release as a self-contained HTML page (`gantry report <releaseId> --html`).
 *
 * Pure: events (and their export anchors) in, one string out; no I/O and no clock (the caller passes
 * `generatedAt`). The page needs no network: CSS, the timeline (SVG) and a few lines of script are
 * inline, there are no fonts, images or links it loads, and a Content-Security-Policy forbids every
 * fetch and every script but its own (by hash). Every string from the ledger is escaped; none is put
 * inside the script.
 *
 * What the page shows comes from the audit record `gantry audit show` prints (`auditRelease` in
 * lambdas/domain/audit/report-model.ts); only what that record does not keep is read from the events here: when a
 * wait ended, who was asked to approve, refused approval attempts and the alarm transitions in a bake.
 */
import { createHash } from 'node:crypto';
import {
  auditRelease,
  type ExportAnchorLine,
  type ExportEventLine,
  type ReleaseAudit,
  type SignatureCheck,
  type SignatureOptions,
  type StageAudit,
} from '../../lambdas/domain/audit';
import type { LedgerEvent } from '../../lambdas/domain/ledger';
import { rollbackFromText } from '../../lambdas/domain/release';
import { duration, when } from './render';
import { changeSource } from './change';

export interface ReleaseReportOptions {
  /**
   * The export's anchor lines for this release (`{kind:"anchor",…}`): without one the record cannot be
   * shown to end where the ledger says it ends, and the report says it is not verified.
   * @default none
   */
  readonly anchors?: readonly ExportAnchorLine[];
  /** Only the events of this release are used. @default the release of the first event */
  readonly releaseId?: string;
  /** When the report was made (ISO instant), printed in the footer. @default not printed */
  readonly generatedAt?: string;
  /** Where the events were read from (an export file, a table), printed in the footer. @default not printed */
  readonly source?: string;
  /** The anchor key's public half (`--public-key`): the signature is verified, not only shown (decision 048). @default not checked */
  readonly keys?: SignatureOptions;
  /**
   * The record comes from a simulation (read from a local Gantry: `--local`, or its ledger.jsonl with `--file`): the page carries the simulation banner at
   * its top and on every printed page. It is shown too, whatever this says, when an anchor is signed with the
   * simulation's published key (`local:…`, local/anchor-key.ts), as every `gantry simulate --export` is.
   * @default false
   */
  readonly simulated?: boolean;
}

/** The key id prefix of the simulation's published anchor key (local/anchor-key.ts): it proves nothing outside a simulation. */
const SIMULATION_KEY_PREFIX = 'local:';

/** Whether a report of these anchors is a simulation's: the caller says so, or an anchor is signed with the simulation's key. */
export function isSimulatedRecord(anchors: readonly ExportAnchorLine[], simulated = false): boolean {
  const keyIdOf = (sig: unknown): string => (sig && typeof sig === 'object' && typeof (sig as { keyId?: unknown }).keyId === 'string' ? (sig as { keyId: string }).keyId : '');
  return simulated || anchors.some((x) => keyIdOf(x.anchor.signature).startsWith(SIMULATION_KEY_PREFIX));
}

/** The running header of every printed page of a simulation's report (a CSS string: no quote or backslash in it). */
export const SIMULATION_RUNNING_HEADER = 'SIMULATION: not a real release. Virtual time, local keys; the ARNs and links are not real.';

/** The banner at the top of a simulation's report (static text: nothing from the ledger). */
const SIMULATION_BANNER = [
  '<div class="sim-banner" id="simulation-banner" role="note" aria-label="Simulation">',
  '<strong>SIMULATION — this is not a record of a real release.</strong> ',
  'It was made by <code>gantry simulate</code> (or read from a local Gantry): the times are virtual, the signature uses ',
  "the simulation's published local key and proves nothing, and the account ids, ARNs, build ids and console links ",
  'are made up by the local cloud: they point at nothing real. Do not attach this page to a change record as evidence.',
  '</div>',
].join('');

/** The events given are not one readable release. */
export class ReleaseReportError extends Error {
  override readonly name = 'ReleaseReportError';
}

// ---------------------------------------------------------------- escaping

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text and attribute values: every `& < > " '` as an entity, and characters HTML does not allow as U+FFFD. */
export function escapeHtml(value: unknown): string {
  const text = value === undefined || value === null ? '' : typeof value === 'string' ? value : String(value);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is replaced
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] as string).replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g, '\uFFFD');
}
const h = escapeHtml;

/** A link only when it is an https URL; anything else (javascript:, data:, relative) is shown as text. */
function link(url: string | undefined, text?: string): string {
  if (!url) return '—';
  if (!/^https:\/\/[^\s"'<>]+$/i.test(url)) return `<code>${h(url)}</code>`;
  return `<a href="${h(url)}" rel="noreferrer noopener">${h(text ?? url)}</a>`;
}

/**
 * A digest in full, never cut off on screen or on paper: it wraps anywhere inside its cell (`code.digest`), and the
 * first 12 hex digits, the part people compare at a glance, are set in bold.
 */
const fullDigest = (d: string | undefined): string => {
  if (!d) return '—';
  const m = /^(sha256:)([0-9a-f]{12})([0-9a-f]{52})$/.exec(d);
  return m ? `<code class="digest">${m[1]}<span class="lead">${m[2]}</span>${m[3]}</code>` : `<code class="digest">${h(d)}</code>`;
};
const ms = (iso: string | undefined): number | undefined => {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
};
const secondsBetween = (a?: string, b?: string): number | undefined => {
  const x = ms(a);
  const y = ms(b);
  return x === undefined || y === undefined ? undefined : (y - x) / 1000;
};
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

// ---------------------------------------------------------------- what the audit record does not keep

interface Wait {
  readonly stage: string;
  readonly waitingFor: string;
  readonly reason?: string;
  readonly at: string;
  /** When the stage moved on: its next event that is not another wait, a refusal or a lease. */
  readonly endedAt?: string;
  /** Approvals: whom the stage asked, and until when. */
  readonly approvers?: string[];
  readonly expiresAt?: string;
}

interface AlarmEvent {
  readonly stage: string;
  readonly at: string;
  readonly alarm: string;
  readonly state: string;
  readonly previous?: string;
  readonly reason?: string;
}

interface Refusal {
  readonly stage: string;
  readonly at: string;
  readonly principal: string;
  readonly reason: string;
}

/** Events that do not end a wait: more waiting, a refused approval attempt, lease bookkeeping (except the lease a lease wait was for). */
const WAIT_CONTINUES = new Set(['stage.waiting', 'approval.refused', 'lease.acquired', 'lease.released']);

function waitsOf(events: readonly LedgerEvent[], releaseEnd: string | undefined): Wait[] {
  const out: Wait[] = [];
  events.forEach((e, i) => {
    if (e.type !== 'stage.waiting' || !e.stage) return;
    const forLease = e.data.waitingFor === 'lease';
    const next = events.slice(i + 1).find((n) => n.stage === e.stage && (!WAIT_CONTINUES.has(n.type) || (forLease && n.type === 'lease.acquired')));
    const approvers = Array.isArray(e.data.approvers) ? (e.data.approvers as unknown[]).map(String) : undefined;
    out.push({
      stage: e.stage,
      waitingFor: str(e.data.waitingFor) ?? 'something',
      ...(str(e.data.reason) ? { reason: e.data.reason as string } : {}),
      at: e.at,
      ...((next?.at ?? releaseEnd) ? { endedAt: next?.at ?? releaseEnd } : {}),
      ...(approvers ? { approvers } : {}),
      ...(str(e.data.expiresAt) ? { expiresAt: e.data.expiresAt as string } : {}),
    });
  });
  return out;
}

/** Alarms that were not OK during a bake: the transition that failed it, and any alarm state the bake verdict recorded. */
function alarmEventsOf(events: readonly LedgerEvent[]): AlarmEvent[] {
  const out: AlarmEvent[] = [];
  for (const e of events) {
    if (e.type !== 'gate.evaluated' || e.data.gate !== 'bake' || !e.stage) continue;
    const ev = e.data.evidence;
    const states = Array.isArray(ev) ? ev : ev && typeof ev === 'object' ? [ev] : [];
    for (const raw of states) {
      if (!raw || typeof raw !== 'object') continue;
      const x = raw as Record<string, unknown>;
      const state = str(x.state);
      if (!state || state === 'OK') continue;
      out.push({
        stage: e.stage,
        at: str(x.timestamp) ?? str(x.updatedAt) ?? e.at,
        alarm: str(x.alarm) ?? str(x.name) ?? '(alarm)',
        state,
        ...(str(x.previous) ? { previous: x.previous as string } : {}),
        ...(str(x.reason) ? { reason: x.reason as string } : {}),
      });
    }
  }
  return out;
}

function refusalsOf(events: readonly LedgerEvent[]): Refusal[] {
  return events
    .filter((e) => e.type === 'approval.refused' && e.stage)
    .map((e) => ({ stage: e.stage as string, at: e.at, principal: str(e.data.principal) ?? '(not recorded)', reason: str(e.data.reason) ?? '' }));
}

// ---------------------------------------------------------------- the timeline (SVG)

type Tone = 'pass' | 'fail' | 'warn' | 'neutral' | 'running';
type ItemKind = 'wait' | 'approval' | 'deploy' | 'bake' | 'rollback' | 'rollback-deploy' | 'gates' | 'alarm' | 'promoted' | 'detected';

interface Item {
  readonly kind: ItemKind;
  /** 0: marks above the bars, 1: waits, approval, deploy and bake, 2: rollback. */
  readonly row: 0 | 1 | 2;
  readonly start: number;
  readonly end?: number;
  readonly tone: Tone;
  /** Short, on the chart. */
  readonly label: string;
  /** A sentence: the tooltip and the SVG description. */
  readonly title: string;
}

const hhmm = (t: number): string => new Date(t).toISOString().slice(11, 16);
const clock = (iso: string | undefined): string => (iso ? (ms(iso) !== undefined ? `${hhmm(ms(iso) as number)}Z` : iso) : '—');
/** Seconds → `45s`, `7m`, `6m 30s`, `2h 5m`, `3d 4h` (the render.ts form, without a trailing `0s`). */
function short(seconds: number | undefined): string {
  if (seconds === undefined) return '';
  return duration(seconds)
    .replace(/^(\d+m) 0s$/, '$1')
    .replace(/^(\d+h) 0m$/, '$1')
    .replace(/^(\d+d) 0h$/, '$1');
}
const mins = (a?: string, b?: string): string => short(secondsBetween(a, b));
const toneOf = (result: string | undefined): Tone =>
  result === 'UNFINISHED'
    ? 'neutral'
    : result === 'PASS' || result === 'SUCCEEDED' || result === 'APPROVED'
      ? 'pass'
      : result === 'WARN'
        ? 'warn'
        : result === undefined || result === 'RUNNING'
          ? 'running'
          : 'fail';
const mark = (tone: Tone): string => (tone === 'pass' ? '✓' : tone === 'fail' ? '✗' : tone === 'warn' ? '!' : tone === 'running' ? '…' : '');

const WAIT_LABEL: Record<string, string> = { window: 'window wait', scan: 'scan wait', lease: 'lease wait', lock: 'lease wait' };

/** The check after a rollback: were the stage's alarms healthy again? undefined when not recorded. */
const recoveredOf = (recovery: unknown): boolean | undefined =>
  recovery && typeof recovery === 'object' && typeof (recovery as { recovered?: unknown }).recovered === 'boolean' ? (recovery as { recovered: boolean }).recovered : undefined;

/** `10m`, or `at 7m of 30m` when the bake ended before its planned length. */
function bakeLength(b: NonNullable<StageAudit['bake']>): string {
  const ran = secondsBetween(b.startedAt, b.endedAt);
  if (b.minutes === undefined || ran === undefined) return short(ran);
  return Math.round(ran) >= b.minutes * 60 ? short(b.minutes * 60) : `at ${short(ran)} of ${short(b.minutes * 60)}`;
}

function stageItems(st: StageAudit, waits: readonly Wait[], alarms: readonly AlarmEvent[], releaseEnd: number, releaseFinished: boolean): Item[] {
  const items: Item[] = [];
  /** A step with no result: still running, or cut off when the release ended (aborted, failed elsewhere). */
  const pending = releaseFinished ? 'UNFINISHED' : 'RUNNING';
  const t = (iso: string | undefined) => ms(iso);
  const endOr = (iso: string | undefined) => t(iso) ?? releaseEnd;

  for (const w of waits) {
    const start = t(w.at);
    if (start === undefined) continue;
    if (w.waitingFor === 'approval') {
      const a = st.approval;
      const tone = a ? toneOf(a.decision) : 'running';
      const decided = a ? `${a.decision} by ${a.principal ?? '(no principal recorded)'} at ${when(a.at)}` : 'no decision recorded';
      items.push({
        kind: 'approval',
        row: 1,
        start,
        end: a ? endOr(a.at) : endOr(w.endedAt),
        tone,
        label: `${mark(tone)} approval ${a ? a.decision : 'requested'} ${mins(w.at, a?.at ?? w.endedAt)}`.trim(),
        title: `${st.name}: approval requested ${when(w.at)}${w.approvers ? ` from ${w.approvers.join(', ')}` : ''}; ${decided}`,
      });
    } else {
      items.push({
        kind: 'wait',
        row: 1,
        start,
        end: endOr(w.endedAt),
        tone: 'neutral',
        label: `${WAIT_LABEL[w.waitingFor] ?? `${w.waitingFor} wait`} ${mins(w.at, w.endedAt)}`,
        title: `${st.name}: waiting for ${w.waitingFor} ${when(w.at)} → ${when(w.endedAt)}${w.reason ? `: ${w.reason}` : ''}`,
      });
    }
  }

  // Gates evaluated at one instant are one mark; the approval and bake verdicts are their own bars.
  const byInstant = new Map<string, typeof st.gates>();
  for (const g of st.gates) {
    if (g.gate === 'approval' || g.gate === 'bake') continue;
    const list = byInstant.get(g.at);
    if (list) list.push(g);
    else byInstant.set(g.at, [g]);
  }
  for (const [at, gates] of byInstant) {
    const start = t(at);
    if (start === undefined) continue;
    const failed = gates.filter((g) => g.result === 'FAIL');
    const warned = gates.filter((g) => g.result === 'WARN');
    const tone: Tone = failed.length ? 'fail' : warned.length ? 'warn' : 'pass';
    const only = gates.length === 1 ? gates[0] : undefined;
    const label = only
      ? `${mark(tone)} ${only.gate} ${only.result}`
      : failed.length
        ? `✗ ${failed.map((g) => g.gate).join(', ')} FAIL${gates.length > failed.length ? ` (+${gates.length - failed.length} other)` : ''}`
        : `${mark(tone)} ${gates.length} gates ${warned.length ? `(${warned.length} WARN)` : 'PASS'}`;
    items.push({ kind: 'gates', row: 0, start, tone, label, title: `${st.name} ${when(at)}: ${gates.map((g) => `${g.gate} ${g.result}: ${g.reason}`).join('; ')}` });
  }

  for (const d of st.deploys) {
    const start = t(d.startedAt) ?? t(d.endedAt);
    if (start === undefined) continue;
    const tone = toneOf(d.result);
    const rollback = d.kind === 'rollback';
    items.push({
      kind: rollback ? 'rollback-deploy' : 'deploy',
      row: rollback ? 2 : 1,
      start,
      end: endOr(d.endedAt),
      tone,
      label:
        `${mark(tone)} ${rollback ? 'rollback deploy' : 'deploy'}${d.cluster ? ` ${d.cluster}` : ''} ${d.result === 'RUNNING' || !d.result ? pending : d.result} ${mins(d.startedAt, d.endedAt)}`.trim(),
      // A wave stage's run on one cluster (decision 044) says which.
      title: `${st.name}${d.cluster ? ` on ${d.cluster} (wave ${d.wave ?? '?'})` : ''}: ${rollback ? 'rollback deploy' : 'deploy'} of ${d.digest ?? '(digest not recorded)'} ${when(d.startedAt)} → ${when(d.endedAt)}: ${d.result ?? 'RUNNING'}${d.message ? ` — ${d.message}` : ''}`,
    });
  }

  if (st.bake?.startedAt) {
    const b = st.bake;
    const tone = toneOf(b.result);
    items.push({
      kind: 'bake',
      row: 1,
      start: t(b.startedAt) as number,
      end: endOr(b.endedAt),
      tone,
      label: `${mark(tone)} bake ${b.result ?? pending} ${bakeLength(b)}`.trim(),
      title: `${st.name}: bake ${when(b.startedAt)} → ${when(b.endedAt)}${b.minutes !== undefined ? ` (${b.minutes} min)` : ''}${b.alarms ? ` against ${b.alarms.join(', ') || 'no alarms'}` : ''}: ${b.result ?? 'RUNNING'}${b.reason ? ` — ${b.reason}` : ''}`,
    });
  }

  for (const a of alarms) {
    const start = t(a.at);
    if (start === undefined) continue;
    items.push({
      kind: 'alarm',
      row: 0,
      start,
      tone: a.state === 'ALARM' ? 'fail' : 'warn',
      label: `▲ ${a.state} ${a.alarm}`,
      title: `${st.name} ${when(a.at)}: alarm ${a.alarm} ${a.previous ? `${a.previous} → ` : ''}${a.state}${a.reason ? `: ${a.reason}` : ''}`,
    });
  }

  if (st.promotedAt && t(st.promotedAt) !== undefined) {
    items.push({ kind: 'promoted', row: 0, start: t(st.promotedAt) as number, tone: 'pass', label: '⚑ promoted', title: `${st.name}: promoted ${when(st.promotedAt)}` });
  }

  if (st.rollback) {
    const r = st.rollback;
    const detected = t(r.detectedAt);
    const start = detected ?? t(r.startedAt);
    if (start !== undefined) {
      const tone = toneOf(r.result);
      items.push({
        kind: 'rollback',
        row: 2,
        start,
        end: endOr(r.endedAt),
        tone,
        label: `${mark(tone)} rollback ${r.result ?? 'RUNNING'} ${short(r.recoverySeconds ?? secondsBetween(r.detectedAt ?? r.startedAt, r.endedAt))}${recoveredOf(r.recovery) === false ? ', ✗ not recovered' : ''}`,
        title: `${st.name}: rollback${r.reason ? ` (${r.reason})` : ''} detected ${when(r.detectedAt)}, started ${when(r.startedAt)}, ended ${when(r.endedAt)}: ${r.result ?? 'RUNNING'}; ${rollbackFromText(r)} to ${r.toDigest ?? '(not recorded)'}`,
      });
      if (detected !== undefined) {
        items.push({ kind: 'detected', row: 2, start: detected, tone: 'fail', label: '', title: `${st.name}: failure detected ${when(r.detectedAt)}` });
      }
    }
  }
  const order: ItemKind[] = ['wait', 'approval', 'deploy', 'bake', 'rollback', 'rollback-deploy', 'detected', 'gates', 'alarm', 'promoted'];
  return items.sort((a, b) => a.start - b.start || a.row - b.row || order.indexOf(a.kind) - order.indexOf(b.kind));
}

const TICK_MINUTES = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10_080];
/** Average advance of an 11px sans-serif character, regular (labels in bars) and semi-bold (labels below). */
const CHAR_W = 6.4;
const CHAR_W_BOLD = 7;
const textWidth = (s: string, bold = false): number => [...s].length * (bold ? CHAR_W_BOLD : CHAR_W);

const W = 1100;
const GUTTER = 150;
const X0 = GUTTER + 10;
const X1 = W - 24;
const AXIS_H = 44;
const LABEL_ROW = 15;

interface Lane {
  readonly stage: StageAudit;
  readonly items: Item[];
}

function renderTimeline(a: ReleaseAudit, lanes: readonly Lane[], from: number, to: number): string {
  const span = Math.max(to - from, 60_000);
  // Clamped: an alarm state recorded before the release started is drawn at its start.
  const x = (t: number) => X0 + ((Math.min(Math.max(t, from), from + span) - from) / span) * (X1 - X0);
  const stepMin = TICK_MINUTES.find((m) => span / (m * 60_000) <= 10) ?? Math.ceil(span / 10 / 86_400_000) * 1440;
  const step = stepMin * 60_000;

  const parts: string[] = [];
  const backgrounds: string[] = [];
  const desc: string[] = [];
  let y = AXIS_H;
  lanes.forEach((lane, i) => {
    const { stage: st, items } = lane;
    const hasRollbackRow = items.some((it) => it.row === 2);
    const rowY = { 0: y + 14, 1: y + 24, 2: y + 48 } as const;
    const barH = { 1: 18, 2: 14 } as const;
    const labelsTop = y + (hasRollbackRow ? 68 : 48);
    // Labels that do not fit in their bar go in rows below the lane, first row where they do not overlap.
    const rows: Array<Array<[number, number]>> = [];
    const inner: string[] = [];
    const outer: string[] = [];
    for (const it of items) {
      if (!it.label) continue;
      const xs = x(it.start);
      const xe = it.end !== undefined ? Math.max(x(it.end), xs + 3) : xs;
      if (it.row !== 0 && xe - xs >= textWidth(it.label) + 10) {
        const cy = rowY[it.row] + barH[it.row] / 2 + 4;
        inner.push(`<text class="in" x="${(xs + 5).toFixed(1)}" y="${cy.toFixed(1)}">${h(it.label)}</text>`);
        continue;
      }
      const w = textWidth(it.label, true);
      const lx = Math.min(Math.max(xs, X0), X1 - w);
      let r = rows.findIndex((row) => row.every(([a, b]) => lx + w + 8 <= a || lx >= b + 8));
      if (r < 0) {
        rows.push([]);
        r = rows.length - 1;
      }
      (rows[r] as Array<[number, number]>).push([lx, lx + w]);
      const ly = labelsTop + r * LABEL_ROW + 11;
      const fromY = it.row === 0 ? rowY[0] + 6 : rowY[it.row] + barH[it.row];
      outer.push(`<line class="leader" x1="${xs.toFixed(1)}" y1="${fromY.toFixed(1)}" x2="${xs.toFixed(1)}" y2="${(ly - 9).toFixed(1)}"/>`);
      outer.push(`<text class="out t-${it.tone}" x="${lx.toFixed(1)}" y="${ly.toFixed(1)}">${h(it.label)}</text>`);
    }
    const laneH = labelsTop - y + rows.length * LABEL_ROW + 8;

    backgrounds.push(`<rect class="lane-bg${i % 2 ? ' odd' : ''}" x="0" y="${y}" width="${W}" height="${laneH}"/>`);
    parts.push(`<g class="lane" data-lane="${h(st.name)}">`);
    const laneName = [...st.name].length > 18 ? `${[...st.name].slice(0, 17).join('')}…` : st.name;
    parts.push(`<text class="lane-name" x="12" y="${y + 20}"><title>${h(`stage ${st.name}`)}</title>${h(laneName)}</text>`);
    parts.push(`<text class="lane-status t-${toneOfStatus(st.status)}" x="12" y="${y + 36}">${h(`${statusMark(st.status)} ${st.status}`)}</text>`);
    for (const it of items) {
      const xs = x(it.start);
      const tip = `<title>${h(it.title)}</title>`;
      const cls = `item k-${it.kind} t-${it.tone}`;
      if (it.row === 0) {
        const cy = rowY[0];
        if (it.kind === 'alarm') parts.push(`<path class="${cls}" d="M${xs.toFixed(1)} ${cy - 6} l6 11 h-12 z">${tip}</path>`);
        else if (it.kind === 'promoted') parts.push(`<path class="${cls}" d="M${xs.toFixed(1)} ${cy + 6} v-13 l9 3.5 l-9 3.5">${tip}</path>`);
        else parts.push(`<path class="${cls}" d="M${xs.toFixed(1)} ${cy - 6} l6 6 l-6 6 l-6 -6 z">${tip}</path>`);
      } else if (it.kind === 'detected') {
        parts.push(`<line class="${cls}" x1="${xs.toFixed(1)}" y1="${rowY[2] - 3}" x2="${xs.toFixed(1)}" y2="${rowY[2] + barH[2] + 3}">${tip}</line>`);
      } else {
        const xe = it.end !== undefined ? Math.max(x(it.end), xs + 3) : xs + 3;
        // A rollback deploy sits inside its rollback bar, drawn after it.
        const inset = it.kind === 'rollback-deploy' ? 3 : 0;
        parts.push(
          `<rect class="${cls}" x="${xs.toFixed(1)}" y="${rowY[it.row] + inset}" width="${(xe - xs).toFixed(1)}" height="${barH[it.row] - 2 * inset}" rx="2">${tip}</rect>`,
        );
      }
    }
    parts.push(...inner, ...outer, '</g>');
    desc.push(
      `Stage ${st.name}, ${st.status}: ${
        items
          .filter((it) => it.kind !== 'detected')
          .map((it) => it.title.replace(`${st.name}: `, '').replace(`${st.name} `, ''))
          .join('; ') || 'nothing recorded'
      }.`,
    );
    y += laneH;
  });
  const height = y + 10;

  const axis: string[] = [];
  const first = Math.ceil(from / step) * step;
  let lastDay = '';
  for (let t = first; t <= from + span; t += step) {
    const day = new Date(t).toISOString().slice(0, 10);
    const dayName = new Date(t).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' });
    const label = stepMin >= 1440 ? dayName : day !== lastDay ? `${dayName} ${hhmm(t)}` : hhmm(t);
    lastDay = day;
    const tx = x(t);
    axis.push(`<line class="grid" x1="${tx.toFixed(1)}" y1="${AXIS_H - 6}" x2="${tx.toFixed(1)}" y2="${height - 10}"/>`);
    axis.push(`<text class="tick" x="${tx.toFixed(1)}" y="${AXIS_H - 10}" text-anchor="middle">${h(label)}</text>`);
  }
  const bounds = [
    `<line class="bound" x1="${x(from).toFixed(1)}" y1="${AXIS_H - 4}" x2="${x(from).toFixed(1)}" y2="${height - 10}"/>`,
    `<line class="bound" x1="${x(from + span).toFixed(1)}" y1="${AXIS_H - 4}" x2="${x(from + span).toFixed(1)}" y2="${height - 10}"/>`,
  ];

  const title = `Timeline of release ${a.releaseId} (${a.service ?? 'unknown service'}), ${when(a.startedAt)} to ${when(a.endedAt)}, ${a.status}`;
  return [
    `<svg class="timeline" viewBox="0 0 ${W} ${height}" width="100%" role="img" aria-labelledby="tl-title tl-desc" xmlns="http://www.w3.org/2000/svg">`,
    `<title id="tl-title">${h(title)}</title>`,
    `<desc id="tl-desc">Time runs left to right in UTC, one lane per stage. ${h(desc.join(' '))}</desc>`,
    '<defs>',
    '<pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#f1f5f9"/><line x1="0" y1="0" x2="0" y2="6" stroke="#94a3b8" stroke-width="2"/></pattern>',
    '<pattern id="cross" width="7" height="7" patternUnits="userSpaceOnUse"><rect width="7" height="7" fill="#ffedd5"/><path d="M0 0 L7 7 M7 0 L0 7" stroke="#f59e0b" stroke-width="1"/></pattern>',
    '<pattern id="dots" width="5" height="5" patternUnits="userSpaceOnUse"><rect width="5" height="5" fill="#ede9fe"/><circle cx="2.5" cy="2.5" r="1" fill="#7c3aed"/></pattern>',
    '</defs>',
    `<text class="axis-title" x="12" y="${AXIS_H - 10}">UTC</text>`,
    ...backgrounds,
    ...axis,
    ...parts,
    ...bounds,
    '</svg>',
  ].join('\n');
}

const toneOfStatus = (s: string): Tone =>
  s === 'PROMOTED' || s === 'SUCCEEDED'
    ? 'pass'
    : s === 'WAITING' || s === 'RUNNING'
      ? 'running'
      : s === 'NOT_STARTED' || s === 'SKIPPED'
        ? 'neutral'
        : s === 'ROLLED_BACK'
          ? 'warn'
          : 'fail';
const statusMark = (s: string): string => {
  const t = toneOfStatus(s);
  return t === 'neutral' ? '○' : t === 'warn' ? '↶' : mark(t);
};

// ---------------------------------------------------------------- tables

/** Change record, commit and each stage's commit range with its compare link (decision 051). */
function changeSection(c: ReleaseAudit['change']): string[] {
  if (!c) return [];
  const digest = fullDigest;
  const commit = (v: string | undefined) => (v ? `commit <code style="overflow-wrap: anywhere">${h(v)}</code>` : '<span class="t-neutral">commit not recorded</span>');
  const rows = c.stages.map((st) => [
    h(st.stage),
    result(st.result),
    st.from ? `${digest(st.from.digest)}<br>${commit(st.from.commit)}` : '<span class="t-neutral">first release in the stage</span>',
    st.to ? `${digest(st.to.digest)}<br>${commit(st.to.commit)}` : '—',
    st.compareUrl ? link(st.compareUrl, 'compare') : '—',
    h(st.reason),
  ]);
  const id = c.id ? `<code>${h(c.id)}</code>` : c.from ? '<span class="res t-fail">✗ none valid</span>' : '<span class="t-neutral">none asked for</span>';
  return [
    '<h3 id="h-change">Change record</h3>',
    `<dl class="facts" id="change-record"><dt>Change</dt><dd>${id}${c.from ? ` <span class="t-neutral">(${h(changeSource(c))})</span>` : ''}${c.given ? `<br>found: <code>${h(c.given)}</code>` : ''}</dd><dt>Commit</dt><dd>${c.commit ? `<code>${h(c.commit)}</code>` : `<span class="t-neutral">not recorded${c.commitProblem ? `: ${h(c.commitProblem)}` : ''}</span>`}</dd></dl>`,
    table(
      'What changed in each stage: from its last known good to this release',
      ['Stage', 'change.record', 'From (last known good)', 'To (this release)', 'Compare', 'Reason'],
      rows,
      '',
    ),
  ];
}

function table(caption: string, head: readonly string[], rows: readonly string[][], empty: string): string {
  if (rows.length === 0) return `<p class="empty">${h(empty)}</p>`;
  return [
    '<table>',
    `<caption>${h(caption)}</caption>`,
    `<thead><tr>${head.map((c) => `<th scope="col">${h(c)}</th>`).join('')}</tr></thead>`,
    '<tbody>',
    ...rows.map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<th scope="row">${c}</th>` : `<td>${c}</td>`)).join('')}</tr>`),
    '</tbody></table>',
  ].join('\n');
}

const result = (r: string | undefined): string => {
  const value = r ?? 'RUNNING';
  const tone = toneOf(value === 'REJECTED' || value === 'TIMED_OUT' ? 'FAIL' : value);
  return `<span class="res t-${tone}">${h(`${mark(tone)} ${value}`.trim())}</span>`;
};
const statusCell = (status: string): string => `<span class="res t-${toneOfStatus(status)}">${h(`${statusMark(status)} ${status}`)}</span>`;
const time = (iso: string | undefined): string => (iso ? `<time datetime="${h(iso)}">${h(when(iso))}</time>` : '—');
const nowrap = (v: string | undefined): string => (v ? `<span class="nowrap">${h(v)}</span>` : '—');
const code = (v: string | undefined): string => (v ? `<code>${h(v)}</code>` : '—');

function evidenceDetails(evidence: unknown): string {
  if (evidence === undefined) return '';
  let json: string;
  try {
    json = JSON.stringify(evidence, null, 2) ?? String(evidence);
  } catch {
    json = String(evidence);
  }
  return `<details class="evidence"><summary>evidence</summary><pre>${h(json)}</pre></details>`;
}

/** The driver's own member of a deploy's recorded evidence (Helm's revision, status and status sha256; Terraform's plan; the rollout), as `audit show` prints it. */
function driverMember(d: { driver?: string; evidence?: object }): Record<string, unknown> {
  const ev = d.evidence as Record<string, unknown> | undefined;
  const driver = d.driver ?? (typeof ev?.driver === 'string' ? ev.driver : undefined);
  const member = driver ? ev?.[driver] : undefined;
  return member && typeof member === 'object' && !Array.isArray(member) ? (member as Record<string, unknown>) : {};
}

function driverEvidence(ev: Record<string, unknown> | undefined): string {
  const entries = Object.entries(ev ?? {});
  if (entries.length === 0) return '—';
  const value = (v: unknown): string => (typeof v === 'string' ? (/^https:\/\//i.test(v) ? link(v) : code(v)) : `<code>${h(JSON.stringify(v))}</code>`);
  return `<dl class="kv">${entries.map(([k, v]) => `<dt>${h(k)}</dt><dd>${value(v)}</dd>`).join('')}</dl>`;
}

// ---------------------------------------------------------------- the page

const SCRIPT = `(function () {
  var button = document.getElementById('toggle-evidence');
  if (!button) return;
  button.hidden = false;
  button.addEventListener('click', function () {
    var all = document.querySelectorAll('details.evidence');
    var open = button.getAttribute('aria-pressed') !== 'true';
    for (var i = 0; i < all.length; i++) all[i].open = open;
    button.setAttribute('aria-pressed', String(open));
    button.textContent = open ? 'Hide raw evidence' : 'Show all raw evidence';
  });
})();`;
const SCRIPT_HASH = createHash('sha256').update(SCRIPT).digest('base64');

const CSS = `
:root { color-scheme: light; --ink: #0f172a; --muted: #475569; --line: #cbd5e1; --pass: #15803d; --fail: #b91c1c; --warn: #b45309; --run: #1d4ed8; }
* { box-sizing: border-box; }
html { background: #fff; }
body { margin: 0 auto; max-width: 1180px; padding: 24px 28px 40px; color: var(--ink); background: #fff;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--ink); }
h3 { font-size: 15px; margin: 18px 0 6px; }
code, pre { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; overflow-wrap: anywhere; }
a { color: #1d4ed8; overflow-wrap: anywhere; }
.sub { color: var(--muted); margin: 0 0 16px; }
.verdict { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0 16px; }
.badge { border: 2px solid currentColor; border-radius: 6px; padding: 6px 12px; font-weight: 700; background: #fff; }
.badge small { display: block; font-weight: 400; color: var(--muted); }
.t-pass { color: var(--pass); } .t-fail { color: var(--fail); } .t-warn { color: var(--warn); } .t-running { color: var(--run); } .t-neutral { color: var(--muted); }
.reason { margin: 0 0 14px; padding: 8px 12px; border-left: 4px solid var(--line); background: #f8fafc; overflow-wrap: anywhere; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 0; }
dl.facts dt { font-weight: 600; color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 0 8px; margin: 0; }
dl.kv dt { color: var(--muted); } dl.kv dd { margin: 0; overflow-wrap: anywhere; }
ul.problems { margin: 6px 0 0; padding-left: 20px; }
table { width: 100%; border-collapse: collapse; margin: 6px 0 14px; font-size: 13px; }
caption { text-align: left; font-weight: 600; padding: 4px 0; color: var(--muted); }
th, td { border: 1px solid var(--line); padding: 5px 7px; text-align: left; vertical-align: top; overflow-wrap: break-word; }
thead th { background: #f1f5f9; white-space: nowrap; }
.nowrap { white-space: nowrap; }
code.digest { overflow-wrap: anywhere; word-break: break-all; } code.digest .lead { font-weight: 700; }
tbody th { font-weight: 600; white-space: nowrap; }
time { white-space: nowrap; }
.res { font-weight: 700; white-space: nowrap; }
.empty { color: var(--muted); font-style: italic; }
details.evidence summary { cursor: pointer; color: var(--muted); font-size: 12px; }
details.evidence pre { max-height: 320px; overflow: auto; background: #f8fafc; border: 1px solid var(--line); padding: 6px; margin: 4px 0 0; white-space: pre-wrap; }
figure { margin: 0; }
figcaption { color: var(--muted); font-size: 12px; margin-top: 6px; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 16px; margin: 8px 0 0; padding: 0; list-style: none; font-size: 12px; }
.legend li { display: flex; align-items: center; gap: 6px; }
.legend svg { width: 26px; height: 14px; }
button { font: inherit; padding: 4px 10px; border: 1px solid var(--line); border-radius: 4px; background: #fff; cursor: pointer; }
footer { margin-top: 28px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); padding-top: 8px; }
svg.timeline { display: block; border: 1px solid var(--line); background: #fff; }
svg .lane-bg { fill: #fff; } svg .lane-bg.odd { fill: #f8fafc; }
svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; font-size: 11px; fill: var(--ink); }
svg .lane-name { font-size: 13px; font-weight: 700; }
svg .lane-status { font-size: 11px; font-weight: 600; }
svg .tick, svg .axis-title { fill: var(--muted); }
svg .grid { stroke: #e2e8f0; stroke-width: 1; }
svg .bound { stroke: var(--ink); stroke-width: 1; stroke-dasharray: 4 3; }
svg .leader { stroke: #94a3b8; stroke-width: 1; stroke-dasharray: 2 2; }
svg text.in { paint-order: stroke; stroke: #fff; stroke-opacity: 0.85; stroke-width: 3px; stroke-linejoin: round; }
svg text.out { font-weight: 600; paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
svg text.t-pass { fill: var(--pass); } svg text.t-fail { fill: var(--fail); } svg text.t-warn { fill: var(--warn); } svg text.t-running { fill: var(--run); } svg text.t-neutral { fill: var(--muted); }
svg .item { stroke-width: 1.2; }
svg .k-wait { fill: url(#hatch); stroke: #64748b; }
svg .k-approval { fill: url(#dots); stroke: #7c3aed; }
svg .k-deploy { fill: #bfdbfe; stroke: #1d4ed8; }
svg .k-deploy.t-fail { fill: #fecaca; stroke: var(--fail); stroke-dasharray: 3 2; }
svg .k-bake { fill: #bbf7d0; stroke: var(--pass); }
svg .k-bake.t-fail { fill: #fecaca; stroke: var(--fail); stroke-dasharray: 3 2; }
svg .k-bake.t-running, svg .k-deploy.t-running { fill: #e0e7ff; stroke: var(--run); stroke-dasharray: 5 2; }
svg .k-rollback { fill: url(#cross); stroke: #b45309; }
svg .k-rollback.t-fail { stroke: var(--fail); stroke-width: 2; }
svg .k-rollback-deploy { fill: #fde68a; stroke: #92400e; }
svg .k-detected { stroke: var(--fail); stroke-width: 2.5; }
svg .k-gates { fill: #dcfce7; stroke: var(--pass); }
svg .k-gates.t-fail { fill: #fee2e2; stroke: var(--fail); }
svg .k-gates.t-warn { fill: #fef3c7; stroke: var(--warn); }
svg .k-alarm { fill: #fee2e2; stroke: var(--fail); }
svg .k-alarm.t-warn { fill: #fef3c7; stroke: var(--warn); }
svg .k-promoted { fill: #dcfce7; stroke: var(--pass); stroke-width: 1.5; }
section.page { break-before: page; }
section.keep { break-inside: avoid; }
.sim-banner { margin: 0 0 16px; padding: 10px 14px; border: 3px solid var(--fail); border-radius: 6px; background: #fef2f2; color: var(--fail); overflow-wrap: anywhere; }
.sim-banner code { color: var(--ink); }
@media print {
  @page { size: A4 landscape; margin: 12mm; }
  body { max-width: none; padding: 0; font-size: 11px; }
  h1 { font-size: 20px; }
  h2 { font-size: 15px; margin-top: 0; }
  table { font-size: 10px; }
  code, pre { font-size: 9.5px; }
  tr, figure, .badge, dl.facts { break-inside: avoid; }
  thead { display: table-header-group; }
  a { color: var(--ink); text-decoration: underline; }
  .no-print { display: none !important; }
  details.evidence:not([open]) { display: none; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
`;

const LEGEND: ReadonlyArray<[string, string]> = [
  ['<rect x="1" y="2" width="24" height="10" fill="url(#lg-hatch)" stroke="#64748b"/>', 'wait (window, scan, lease)'],
  ['<rect x="1" y="2" width="24" height="10" fill="#ede9fe" stroke="#7c3aed" stroke-dasharray="1 2"/>', 'approval: requested → decided'],
  ['<rect x="1" y="2" width="24" height="10" fill="#bfdbfe" stroke="#1d4ed8"/>', 'deploy: started → finished'],
  ['<rect x="1" y="2" width="24" height="10" fill="#bbf7d0" stroke="#15803d"/>', 'bake (red, dashed: failed)'],
  [
    '<rect x="1" y="2" width="24" height="10" fill="#ffedd5" stroke="#b45309"/><line x1="3" y1="1" x2="3" y2="13" stroke="#b91c1c" stroke-width="2.5"/>',
    'rollback: detected | → ended',
  ],
  ['<rect x="1" y="3" width="24" height="8" fill="#fde68a" stroke="#92400e"/>', 'rollback deploy'],
  ['<path d="M13 1 l6 6 l-6 6 l-6 -6 z" fill="#dcfce7" stroke="#15803d"/>', 'gates evaluated (✓ pass, ✗ fail, ! warn)'],
  ['<path d="M13 1 l6 11 h-12 z" fill="#fee2e2" stroke="#b91c1c"/>', 'alarm not OK during a bake'],
  ['<path d="M10 13 v-12 l9 3.5 l-9 3.5" fill="#dcfce7" stroke="#15803d"/>', 'stage promoted'],
];

function legend(): string {
  const defs =
    '<svg width="0" height="0" aria-hidden="true" focusable="false" style="position:absolute"><defs><pattern id="lg-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#f1f5f9"/><line x1="0" y1="0" x2="0" y2="6" stroke="#94a3b8" stroke-width="2"/></pattern></defs></svg>';
  return `${defs}<ul class="legend" aria-label="Legend">${LEGEND.map(([shape, text]) => `<li><svg viewBox="0 0 26 14" aria-hidden="true" focusable="false">${shape}</svg>${h(text)}</li>`).join('')}</ul>`;
}

function asLines(events: readonly LedgerEvent[] | readonly ExportEventLine[]): ExportEventLine[] {
  return (events as ReadonlyArray<LedgerEvent | ExportEventLine>).map((e, i) =>
    'event' in e && 'line' in e ? (e as ExportEventLine) : { line: i + 1, event: e as unknown as Record<string, unknown> },
  );
}

/** One release as a self-contained HTML page: header, timeline (SVG) and the evidence tables. */
/** The drills section (decision 052): a drill's when, stage, digests, time to restore and outcome; a leg names its drill. */
function drillSection(a: ReleaseAudit): string[] {
  if (a.drillLeg) {
    return ['<h3 id="h-drills">Drills</h3>', `<p>This rollback is the <strong>${h(a.drillLeg.leg)}</strong> leg of the rollback drill <code>${h(a.drillLeg.drillId)}</code>.</p>`];
  }
  const d = a.drill;
  if (!d) return [];
  // Whole digests (never cut off, on screen or on paper), as the rollbacks table shows them.
  const digest = fullDigest;
  const rows = [
    [
      time(d.at),
      h(d.stage),
      `<dl class="kv"><dt>back to</dt><dd>${digest(d.toDigest)}</dd><dt>forward to</dt><dd>${digest(d.fromDigest)}</dd></dl>`,
      `<dl class="kv"><dt>time to restore</dt><dd>${nowrap(short(d.timeToRestoreSeconds))}</dd><dt>roll-forward</dt><dd>${nowrap(short(d.rollForwardSeconds))}</dd></dl>`,
      h(`${d.initiator ?? '?'} (${d.trigger === 'schedule' ? 'schedule' : 'operator'})`),
      `${result(d.status)}${d.reason ? `<br>${h(d.reason)}` : ''}`,
      d.legs.map((l) => `${h(l.leg)}: <code>${h(l.releaseId)}</code> ${h(l.status)}`).join('<br>'),
    ],
  ];
  return [
    '<h3 id="h-drills">Drills</h3>',
    table(
      'The rollback drill: when, stage, digests, time to restore and outcome (decision 052)',
      ['When', 'Stage', 'Digests', 'Time to restore', 'Started by', 'Outcome', 'Legs'],
      rows,
      'No drill.',
    ),
  ];
}

export function renderReleaseReport(events: readonly LedgerEvent[] | readonly ExportEventLine[], options: ReleaseReportOptions = {}): string {
  return buildReleaseReport(events, options).html;
}

/** The verdict badge of the release's signed anchor (decision 048). */
function signatureBadge(s: SignatureCheck | undefined): string {
  const [tone, text] =
    s?.status === 'verified'
      ? ['pass', '✓ Signed: verified']
      : s?.status === 'present'
        ? ['neutral', '– Signed: not checked']
        : s?.status === 'missing'
          ? ['fail', '✗ Signed: NO']
          : s?.status === 'invalid'
            ? ['fail', '✗ Signature INVALID']
            : ['neutral', '– Not signed yet (running)'];
  return `<div class="badge t-${tone}" id="anchor-signature">${h(text)}<small>signed anchor</small></div>`;
}

/** Its own section: which key signed which event, when, and what was checked. */
function signatureSection(s: SignatureCheck | undefined): string {
  if (!s || s.status === 'unfinished') return '<p class="t-neutral">The release has not finished: Gantry signs a release when it ends.</p>';
  if (s.status === 'missing')
    return '<p class="t-fail">The release finished but its anchor carries no signature: it was removed, or Gantry could not sign it (the signature item names the outcome; the AnchorSignaturesFailed alarm).</p>';
  const rows = [
    [
      'Status',
      s.status === 'verified'
        ? 'verified with the public key given'
        : s.status === 'present'
          ? 'present, NOT checked (gantry report --public-key key.pem checks it)'
          : 'INVALID (see Record)',
    ],
    ['Key', s.keyId ?? '?'],
    ['Algorithm', 'ECDSA_SHA_256 (ECC_NIST_P256)'],
    ['Signed at', s.signedAt ?? '?'],
    [
      'Covers',
      `{ releaseId, version: ${s.version ?? '?'}, lastHash } of its release.finished${s.uncovered ? `; ${s.uncovered} later event(s) (a freed lease) are chained to it but not covered` : ''}`,
    ],
  ];
  return `<dl class="facts" id="signature">${rows.map(([k, v]) => `<dt>${h(k ?? '')}</dt><dd>${k === 'Key' ? code(v ?? '') : h(v ?? '')}</dd>`).join('')}</dl>`;
}

/** The page and the audit record it was drawn from (its `integrity` says whether the record verified). */
export function buildReleaseReport(events: readonly LedgerEvent[] | readonly ExportEventLine[], options: ReleaseReportOptions = {}): { html: string; audit: ReleaseAudit } {
  const all = asLines(events);
  const releaseId = options.releaseId ?? (all[0]?.event.releaseId as string | undefined);
  const lines = all.filter((l) => l.event.releaseId === releaseId);
  if (!releaseId || lines.length === 0)
    throw new ReleaseReportError(releaseId ? `no events of release ${releaseId}` : 'no events: a report needs the ledger events of one release');
  const anchors = (options.anchors ?? []).filter((x) => x.anchor.releaseId === releaseId);
  const a = auditRelease(lines, anchors, options.keys ?? {});
  const simulated = isSimulatedRecord(anchors, options.simulated);
  if (!a) throw new ReleaseReportError(`release ${releaseId} has no readable events`);
  const ledger = lines.map((l) => l.event as unknown as LedgerEvent).sort((x, y) => x.seq - y.seq);

  const lastAt = ledger
    .map((e) => e.at)
    .sort()
    .at(-1);
  const from = ms(a.startedAt) ?? ms(ledger[0]?.at) ?? 0;
  const to = ms(a.endedAt) ?? ms(lastAt) ?? from;
  const waits = waitsOf(ledger, a.endedAt ?? lastAt);
  const alarms = alarmEventsOf(ledger);
  const refusals = refusalsOf(ledger);
  const finished = a.endedAt !== undefined;
  const lanes: Lane[] = a.stages.map((st) => ({
    stage: st,
    items: stageItems(
      st,
      waits.filter((w) => w.stage === st.name),
      alarms.filter((x) => x.stage === st.name),
      to,
      finished,
    ),
  }));

  const i = a.integrity;
  const verified = i.ok;
  const statusTone = toneOfStatus(a.status);
  const name = `${a.service ?? 'unknown service'}${a.tag ? ` ${a.tag}` : ''}`;
  const title = `Release report: ${name} — ${a.status}`;

  const facts: Array<[string, string]> = [
    ['Release', code(a.releaseId)],
    ['Service', `${h(a.service ?? '(not recorded)')}${a.repository ? ` (ECR repository <code>${h(a.repository)}</code>)` : ''}`],
    ['Digest', code(a.digest ?? '(not resolved)')],
    ['Tag', code(a.tag ?? '(none)')],
    [
      'Commit',
      a.commit
        ? `${code(a.commit.value)} <span class="t-neutral">from ${h(a.commit.source)}</span>`
        : '<span class="t-neutral">not recorded (no revision label in the evidence)</span>',
    ],
    ...(a.sourceRepository ? ([['Source', h(a.sourceRepository)]] as Array<[string, string]>) : []),
    ...(a.imageCreated ? ([['Image created', `${time(a.imageCreated.value)} <span class="t-neutral">from ${h(a.imageCreated.source)}</span>`]] as Array<[string, string]>) : []),
    ...(a.rollbackTarget ? ([['Rolls back to', code(a.rollbackTarget)]] as Array<[string, string]>) : []),
    [
      'Initiator',
      `${code(a.initiator ?? '(not recorded)')}${a.attributedAt ? ` <span class="t-neutral">(attributed ${h(when(a.attributedAt))} from ${h(a.attributedFrom ?? 'CloudTrail PutImage')})</span>` : ''}`,
    ],
    ...(a.requestReason ? ([['Request reason', h(a.requestReason)]] as Array<[string, string]>) : []),
    ...(a.startAt ? ([['Promotion', `starts at ${code(a.startAt)} (gate promotion.previous-stage)`]] as Array<[string, string]>) : []),
    ...(a.breakGlass ? ([['Break-glass', `<strong class="t-warn">! BREAK-GLASS</strong> <code>${h(JSON.stringify(a.breakGlass))}</code>`]] as Array<[string, string]>) : []),
    ['Config sha256', code(a.configHash ?? '(not recorded)')],
    ...(a.executionArn ? ([['Execution', code(a.executionArn)]] as Array<[string, string]>) : []),
    ['Started', time(a.startedAt)],
    [
      'Finished',
      a.endedAt
        ? `${time(a.endedAt)} after ${h(duration(secondsBetween(a.startedAt, a.endedAt)))}`
        : `<span class="t-running">not finished (RUNNING; last event ${h(when(lastAt))})</span>`,
    ],
  ];

  const integrityText = verified
    ? `${a.events} ledger events; hash chain intact${i.anchor ? `; ends at its anchor (version ${h(String(i.anchor.version))}, last hash ${h(String(i.anchor.lastHash).slice(0, 16))}…)` : ''}`
    : `${i.problems.length} problem(s) — this record was altered or is incomplete:`;
  const ev = a.evidence;
  const evidenceText =
    ev.promotedStages.length === 0
      ? 'no promoted stage to check'
      : ev.gaps.length === 0
        ? `complete for every promoted stage (${ev.promotedStages.join(', ')})`
        : `${ev.gaps.length} gap(s) in promoted stages`;

  // ---- tables
  const stageRows = a.stages.map((st) => [h(st.name), statusCell(st.status), time(st.startedAt), time(st.endedAt), h(st.reason ?? '—')]);
  const gateRows = a.stages.flatMap((st) =>
    st.gates.map((g) => [h(st.name), time(g.at), `<code class="nowrap">${h(g.gate)}</code>`, result(g.result), `${h(g.reason)}${evidenceDetails(g.evidence)}`]),
  );
  const approvalRows = a.stages.flatMap((st) => {
    const asked = waits.filter((w) => w.stage === st.name && w.waitingFor === 'approval');
    const rows: string[][] = [];
    const requested = asked[0];
    if (requested || st.approval) {
      const decision = st.approval;
      rows.push([
        h(st.name),
        `${time(requested?.at)}${requested?.approvers ? `<br><span class="t-neutral">from</span> ${requested.approvers.map((x) => code(x)).join(', ')}` : ''}${requested?.expiresAt ? `<br><span class="t-neutral">expires ${h(when(requested.expiresAt))}</span>` : ''}`,
        time(decision?.at),
        nowrap(short(secondsBetween(requested?.at, decision?.at))),
        decision ? result(decision.decision) : '<span class="res t-running">… no decision</span>',
        code(decision?.principal),
        h(decision?.comment ?? '—'),
      ]);
    }
    for (const r of refusals.filter((x) => x.stage === st.name)) {
      rows.push([h(st.name), '—', time(r.at), '—', '<span class="res t-fail">✗ REFUSED attempt</span>', code(r.principal), h(r.reason)]);
    }
    return rows;
  });
  // Each decision on a stage's approval (decision 050: N-of-M): who, as which person, when, the comment, the plan approved.
  const eachApprovalRows = a.stages.flatMap((st) => {
    let approved = 0;
    return (st.approvals ?? []).map((x) => [
      h(st.name),
      x.decision === 'APPROVED' ? nowrap(`${++approved} of ${st.approvalsRequired ?? 1}`) : '—',
      result(x.decision),
      code(x.principal),
      h(x.person ?? '—'),
      time(x.at),
      h(x.comment ?? '—'),
      fullDigest(typeof x.planSha256 === 'string' ? x.planSha256 : undefined),
    ]);
  });
  const waitRows = waits
    .filter((w) => w.waitingFor !== 'approval')
    .map((w) => [h(w.stage), h(w.waitingFor), time(w.at), time(w.endedAt), nowrap(short(secondsBetween(w.at, w.endedAt))), h(w.reason ?? '—')]);
  const deployRows = a.stages.flatMap((st) =>
    st.deploys.map((d) => [
      h(st.name),
      nowrap(d.kind),
      fullDigest(d.digest),
      `${time(d.startedAt)} →<br>${time(d.endedAt)}`,
      nowrap(short(secondsBetween(d.startedAt, d.endedAt))),
      `${result(d.result === 'RUNNING' && finished ? 'UNFINISHED' : d.result)}${d.message ? `<br>${h(d.message)}` : ''}`,
      `${d.buildId ? `<dl class="kv"><dt>build id</dt><dd>${code(d.buildId)}</dd>${d.buildArn ? `<dt>build ARN</dt><dd>${code(d.buildArn)}</dd>` : ''}${d.logLink ? `<dt>log</dt><dd>${link(d.logLink, 'CodeBuild log')}</dd>` : ''}</dl>` : '—'}`,
      driverEvidence({ ...driverMember(d), ...d.driverEvidence }),
    ]),
  );
  const bakeRows = a.stages.flatMap((st) => {
    if (!st.bake) return [];
    const b = st.bake;
    const fired = alarms.filter((x) => x.stage === st.name);
    return [
      [
        h(st.name),
        `${time(b.startedAt)} →<br>${time(b.endedAt)}`,
        h(
          b.minutes !== undefined
            ? `${short(b.minutes * 60)} planned, ${short(secondsBetween(b.startedAt, b.endedAt)) || '—'} ran`
            : short(secondsBetween(b.startedAt, b.endedAt)) || '—',
        ),
        b.alarms ? b.alarms.map((x) => code(x)).join('<br>') || 'none' : '—',
        `${result(b.result ?? (finished ? 'UNFINISHED' : undefined))}${b.reason ? `<br>${h(b.reason)}` : ''}`,
        fired.length
          ? fired
              .map((x) => `${h(clock(x.at))} <code>${h(x.alarm)}</code> ${h(`${x.previous ? `${x.previous} → ` : ''}${x.state}`)}${x.reason ? `: ${h(x.reason)}` : ''}`)
              .join('<br>')
          : 'none',
      ],
    ];
  });
  const canaryRows = a.stages.flatMap((st) =>
    (st.canarySteps ?? []).map((c) => [
      h(st.name),
      h(`step ${c.step}`),
      h(`${c.weight} %`),
      time(c.at),
      result(c.status === 'passed' ? 'PASS' : c.status === 'aborted' ? 'FAIL' : c.status.toUpperCase()),
      h(`${c.replicas !== undefined ? `${c.replicas} canary replica(s)` : ''}${c.reason ? `${c.replicas !== undefined ? '; ' : ''}${c.reason}` : ''}`) || '—',
    ]),
  );
  // Decision 049: each saved Terraform plan, each decision on it with the plan hash it approved, stale or applied.
  const planRows = a.stages.flatMap((st) =>
    (st.plans ?? []).map((p) => [
      h(st.name),
      h(`plan ${p.attempt}`),
      time(p.at),
      `<code class="nowrap">${h(p.sha256)}</code><br><span class="t-neutral">${h(p.key)}</span>`,
      h(`${p.adds} to add, ${p.changes} to change, ${p.destroys} to destroy`),
      p.decisions.length
        ? p.decisions
            .map(
              (d) =>
                `${result(d.decision === 'APPROVED' ? 'PASS' : 'FAIL')} ${h(d.decision)} by <code>${h(d.principal ?? '—')}</code> ${time(d.at)}${d.planSha256 ? `<br>approved sha256 <code class="nowrap">${h(d.planSha256)}</code>` : ''}`,
            )
            .join('<br>')
        : '—',
      p.stale
        ? `${result('FAIL')} stale ${time(p.stale.at)}: nothing applied`
        : p.appliedSha256
          ? `${result('PASS')} applied; the apply checked sha256 <code class="nowrap">${h(p.appliedSha256)}</code>`
          : '—',
    ]),
  );
  const rollbackRows = a.stages.flatMap((st) => {
    if (!st.rollback) return [];
    const r = st.rollback;
    const rec = r.recovery && typeof r.recovery === 'object' ? (r.recovery as { recovered?: unknown; reason?: unknown }) : undefined;
    return [
      [
        h(st.name),
        h(r.reason ?? '—'),
        `<dl class="kv"><dt>detected</dt><dd>${time(r.detectedAt)}</dd><dt>started</dt><dd>${time(r.startedAt)}</dd><dt>ended</dt><dd>${time(r.endedAt)}</dd></dl>`,
        `<dl class="kv"><dt>reaction</dt><dd>${nowrap(short(r.reactionSeconds))}</dd><dt>recovery</dt><dd>${nowrap(short(r.recoverySeconds))}</dd></dl>`,
        `<dl class="kv"><dt>from</dt><dd>${fullDigest(r.fromDigest)}${r.fromDeployed === false ? ' <span class="t-neutral">(its deploy did not finish: nothing was deployed)</span>' : ''}</dd><dt>to</dt><dd>${fullDigest(r.toDigest)}</dd></dl>`,
        `${result(r.result ?? (finished ? 'UNFINISHED' : undefined))}${r.message ? `<br>${h(r.message)}` : ''}`,
        rec
          ? `<span class="res t-${rec.recovered === true ? 'pass' : 'fail'}">${rec.recovered === true ? '✓ recovered' : rec.recovered === false ? '✗ NOT recovered' : 'unknown'}</span>${rec.reason ? `<br>${h(String(rec.reason))}` : ''}`
          : '—',
      ],
    ];
  });

  const body = [
    simulated ? SIMULATION_BANNER : '',
    '<header>',
    `<h1>Release report: ${h(name)}</h1>`,
    `<p class="sub">${a.kind === 'rollback' ? 'Operator rollback' : a.kind === 'drill' ? 'Rollback drill' : 'Release'} <code>${h(a.releaseId)}</code>, from the Gantry ledger</p>`,
    '<div class="verdict">',
    `<div class="badge t-${statusTone}" id="final-status">${h(`${statusMark(a.status)} ${a.status}`)}<small>final status</small></div>`,
    `<div class="badge t-${verified ? 'pass' : 'fail'}" id="ledger-verified">${verified ? '✓ Ledger verified: yes' : '✗ Ledger verified: NO'}<small>hash chain and anchor</small></div>`,
    signatureBadge(i.signature),
    `<div class="badge t-${ev.gaps.length ? 'warn' : 'pass'}">${ev.gaps.length ? `! Evidence: ${ev.gaps.length} gap(s)` : '✓ Evidence complete'}<small>promoted stages</small></div>`,
    '</div>',
    a.reason ? `<p class="reason"><strong>Outcome:</strong> ${h(a.reason)}</p>` : '',
    '</header>',
    '<section class="keep" aria-labelledby="h-summary">',
    '<h2 id="h-summary">Summary</h2>',
    `<dl class="facts">${facts.map(([k, v]) => `<dt>${h(k)}</dt><dd>${v}</dd>`).join('')}`,
    `<dt>Record</dt><dd>${integrityText}${verified ? '' : `<ul class="problems">${i.problems.map((p) => `<li>${h(p.message)}</li>`).join('')}</ul>`}</dd>`,
    `<dt>Evidence</dt><dd>${h(evidenceText)}${ev.gaps.length ? `<ul class="problems">${ev.gaps.map((g) => `<li>${h(`${g.stage}: ${g.missing}: ${g.message}`)}</li>`).join('')}</ul>` : ''}${ev.notes.map((n) => `<br><span class="t-neutral">note: ${h(n)}</span>`).join('')}</dd>`,
    '</dl>',
    '<h3 id="h-signature">Signature</h3>',
    signatureSection(i.signature),
    '<h3 id="h-stages">Stages</h3>',
    table('Each stage of the release and how it ended', ['Stage', 'Status', 'Started', 'Ended', 'Outcome'], stageRows, 'The release recorded no stage.'),
    ...changeSection(a.change),
    '</section>',
    '<section class="page" aria-labelledby="h-timeline">',
    '<h2 id="h-timeline">Timeline</h2>',
    '<figure>',
    renderTimeline(a, lanes, from, to),
    `<figcaption>Time in UTC from ${h(when(a.startedAt))} to ${h(when(a.endedAt ?? lastAt))}. Hover a mark for its detail; every mark is also a row in the tables below.</figcaption>`,
    legend(),
    '</figure>',
    '</section>',
    '<section class="page" aria-labelledby="h-evidence">',
    '<h2 id="h-evidence">Evidence</h2>',
    '<p class="no-print"><button type="button" id="toggle-evidence" aria-pressed="false" hidden>Show all raw evidence</button></p>',
    '<h3 id="h-gates">Gates</h3>',
    table('Every gate evaluated, in order, with its result and reason', ['Stage', 'Time', 'Gate', 'Result', 'Reason'], gateRows, 'No gate was evaluated.'),
    '<h3 id="h-approvals">Approvals</h3>',
    table(
      'Approvals requested and decided, and refused attempts',
      ['Stage', 'Requested', 'Decided', 'Waited', 'Decision', 'Approver ARN', 'Comment or reason'],
      approvalRows,
      'No stage asked for an approval.',
    ),
    '<h3 id="h-each-approval">Each approval</h3>',
    table(
      'Every decision on an approval, in order: the count it made, who (principal and person), when, the comment and the plan it approved',
      ['Stage', 'Count', 'Decision', 'Principal', 'Person', 'When', 'Comment', 'Plan sha256'],
      eachApprovalRows,
      'No approval was decided by anyone.',
    ),
    '<h3 id="h-waits">Waits</h3>',
    table(
      'Time spent waiting for a release window, an image scan or a stage lease',
      ['Stage', 'Waiting for', 'From', 'Until', 'Waited', 'Reason'],
      waitRows,
      'No stage waited for a window, a scan or a lease.',
    ),
    '<h3 id="h-deploys">Deploys</h3>',
    table(
      'Every deploy and rollback deploy, with the driver evidence',
      ['Stage', 'Kind', 'Digest', 'Started → ended', 'Took', 'Result', 'Build', 'Driver evidence'],
      deployRows,
      'Nothing was deployed.',
    ),
    '<h3 id="h-bakes">Bakes</h3>',
    table('Bake windows and the alarms watched', ['Stage', 'Started → ended', 'Length', 'Alarms', 'Result', 'Alarm events'], bakeRows, 'No stage baked.'),
    ...(canaryRows.length
      ? [
          '<h3 id="h-canary">Canary steps</h3>',
          table('Canary steps: each step started, then passed or aborted (decision 043)', ['Stage', 'Step', 'Weight', 'At', 'Status', 'Detail'], canaryRows, ''),
        ]
      : []),
    ...(planRows.length
      ? [
          '<h3 id="h-plans">Terraform plans</h3>',
          table(
            'Saved Terraform plans: each plan hash, the approvals given on it and whether its apply applied it (decision 049)',
            ['Stage', 'Plan', 'Planned', 'sha256 and key', 'Summary', 'Decisions (plan hash approved)', 'Apply'],
            planRows,
            '',
          ),
        ]
      : []),
    '<h3 id="h-rollbacks">Rollbacks</h3>',
    table(
      'Rollbacks: detection, start, end and the check after them',
      ['Stage', 'Reason', 'Times', 'Durations', 'Digest', 'Result', 'After the rollback'],
      rollbackRows,
      'No stage was rolled back.',
    ),
    ...drillSection(a),
    '</section>',
    '<footer>',
    `<p>From ${a.events} ledger events${options.source ? ` read from <code>${h(options.source)}</code>` : ''}${options.generatedAt ? `, generated ${time(options.generatedAt)}` : ''} by <code>gantry report</code>. `,
    'The hash chain can be checked independently: <code>gantry audit verify --file &lt;export.jsonl&gt;</code>, or against the live ledger with <code>--table</code>.</p>',
    '</footer>',
  ].join('\n');

  // A simulation's running header: a margin box of every printed page (CSS Paged Media; Chromium since 131), above the page's content.
  const simulationCss = simulated
    ? `\n@media print { @page { margin-top: 18mm; @top-center { content: "${SIMULATION_RUNNING_HEADER}"; color: #b91c1c; font: 700 11px system-ui, sans-serif; vertical-align: bottom; padding-bottom: 3mm; border-bottom: 2px solid #b91c1c; } } }\n`
    : '';
  const csp = `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${SCRIPT_HASH}'; img-src 'none'; connect-src 'none'; font-src 'none'; form-action 'none'; base-uri 'none'`;
  const html = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${h(csp)}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    '<meta name="generator" content="gantry report">',
    `<title>${h(title)}</title>`,
    `<style>${CSS}${simulationCss}</style>`,
    '</head>',
    '<body>',
    body,
    `<script>${SCRIPT}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
  return { html, audit: a };
}

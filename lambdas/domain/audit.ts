/**
 * The audit's pure half: the export format (JSON Lines of ledger events, one anchor line per release),
 * the tamper check of an export, evidence completeness per promoted stage, and a release's audit
 * record (what `gantry audit show` prints). No I/O and no clock: callers read files and tables.
 *
 * Export format (`gantry audit export`, `gantry simulate --export`), one JSON object per line:
 *   - a ledger event exactly as stored (`LedgerEvent`: releaseId, stepKey, type, at, stage?, data, seq,
 *     prevHash, hash), a release's events in sequence order;
 *   - after a release's last event, its anchor `{"kind":"anchor","releaseId","version","lastHash"}`:
 *     the sequence number and hash of the release's last event when it was exported (from the ledger's
 *     release summary). The anchor is what makes the loss of a release's *last* events visible: a hash
 *     chain alone cannot tell a cut chain from a short one.
 * Lines are told apart by `kind === "anchor"` (a ledger event has no top-level `kind`). Blank lines are
 * ignored. docs/auditor-guide.md explains what the check proves and what it cannot.
 */
import { z } from 'zod';
import { CODEBUILD_DRIVERS, type DriverEvidence, evidenceShortfall } from './driver-evidence';
import { INSIGHT_KIND, type InsightRecord, verifyInsightChain } from './insight';
import { GENESIS_HASH, hashEvent, LEDGER_EVENT_TYPES, type LedgerEvent } from './ledger';
import { formatIssues } from './validation';

export const ANCHOR_KIND = 'anchor';

export interface ExportAnchor {
  readonly kind: typeof ANCHOR_KIND;
  readonly releaseId: string;
  /** seq of the release's last event. */
  readonly version: number;
  /** hash of the release's last event. */
  readonly lastHash: string;
}

/** A line of an export file that is not JSON, or not a JSON object: the file is not an export. */
export class ExportFormatError extends Error {
  override readonly name = 'ExportFormatError';
  constructor(
    message: string,
    readonly line: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// ---------------------------------------------------------------- writing

/** Group events by release (first appearance order), each release's events in seq order. */
export function groupByRelease<T extends { readonly releaseId: string; readonly seq: number }>(events: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const e of events) {
    const g = groups.get(e.releaseId);
    if (g) g.push(e);
    else groups.set(e.releaseId, [e]);
  }
  for (const g of groups.values()) g.sort((a, b) => a.seq - b.seq);
  return groups;
}

export function anchorOf(events: readonly LedgerEvent[]): ExportAnchor | undefined {
  const last = [...events].sort((a, b) => a.seq - b.seq).at(-1);
  return last ? { kind: ANCHOR_KIND, releaseId: last.releaseId, version: last.seq, lastHash: last.hash } : undefined;
}

/**
 * The export text: each release's events in seq order, then its anchor. `anchors` (from the ledger's
 * release summaries, or carried over from the export being filtered) are used as given, so an export
 * of a table whose summary and events disagree carries the disagreement to the verifier instead of
 * hiding it. A release without a given anchor gets one computed from its last event unless
 * `computeMissingAnchors` is false (re-exporting an unanchored file must not bless a cut chain).
 */
export function formatExport(
  events: readonly LedgerEvent[],
  options: {
    anchors?: ReadonlyMap<string, { version: number; lastHash: string }>;
    computeMissingAnchors?: boolean;
    /** The insight check's hash-chained records (`{"kind":"insight",…}` lines), after the releases. */
    insights?: readonly InsightRecord[];
  } = {},
): string {
  const lines: string[] = [];
  for (const [releaseId, group] of groupByRelease(events)) {
    for (const e of group) lines.push(JSON.stringify(e));
    const given = options.anchors?.get(releaseId);
    const anchor: ExportAnchor | undefined = given
      ? { kind: ANCHOR_KIND, releaseId, version: given.version, lastHash: given.lastHash }
      : options.computeMissingAnchors === false
        ? undefined
        : anchorOf(group);
    if (anchor) lines.push(JSON.stringify(anchor));
  }
  // A summary whose events are all gone still says the release existed.
  const exported = new Set(events.map((e) => e.releaseId));
  for (const [releaseId, given] of options.anchors ?? []) {
    if (!exported.has(releaseId)) lines.push(JSON.stringify({ kind: ANCHOR_KIND, releaseId, version: given.version, lastHash: given.lastHash }));
  }
  for (const r of options.insights ?? []) lines.push(JSON.stringify(r));
  return lines.length ? `${lines.join('\n')}\n` : '';
}

// ---------------------------------------------------------------- reading

export interface ExportEventLine {
  readonly line: number;
  /** The object as read: checked by `verifyExport`, not here (an edited field is evidence, not bad input). */
  readonly event: Record<string, unknown>;
}

export interface ExportAnchorLine {
  readonly line: number;
  readonly anchor: Record<string, unknown>;
}

export interface ParsedExport {
  readonly events: ExportEventLine[];
  readonly anchors: ExportAnchorLine[];
  /** Insight check records (`kind: "insight"`): their own hash chain, verified beside the releases'. */
  readonly insights?: Array<{ readonly line: number; readonly record: Record<string, unknown> }>;
}

/** Split an export into event and anchor lines. Throws ExportFormatError naming the first line that is not a JSON object. */
export function parseExport(text: string): ParsedExport {
  const events: ExportEventLine[] = [];
  const anchors: ExportAnchorLine[] = [];
  const insights: Array<{ line: number; record: Record<string, unknown> }> = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      throw new ExportFormatError(`line ${line}: not JSON (${(e as Error).message})`, line, { cause: e });
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new ExportFormatError(`line ${line}: expected a ledger event or an anchor (a JSON object), got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`, line);
    }
    const obj = value as Record<string, unknown>;
    if (obj.kind === ANCHOR_KIND) anchors.push({ line, anchor: obj });
    else if (obj.kind === INSIGHT_KIND) insights.push({ line, record: obj });
    else events.push({ line, event: obj });
  });
  return { events, anchors, ...(insights.length ? { insights } : {}) };
}

/** The ledger events of a parsed export, as stored (for show and metrics after verification). */
export function exportEvents(parsed: ParsedExport): LedgerEvent[] {
  return parsed.events.map((l) => l.event as unknown as LedgerEvent);
}

// ---------------------------------------------------------------- verification

export type ProblemKind = 'edited' | 'chain' | 'deleted' | 'inserted' | 'reordered' | 'truncated' | 'malformed' | 'anchor' | 'insight';

export interface AuditProblem {
  readonly releaseId: string;
  readonly kind: ProblemKind;
  /** Line of the export the problem is at (the event named), when there is one. */
  readonly line?: number;
  readonly seq?: number;
  readonly type?: string;
  readonly stepKey?: string;
  readonly message: string;
}

export interface ReleaseVerification {
  readonly releaseId: string;
  readonly service?: string;
  readonly status?: string;
  readonly events: number;
  readonly firstLine?: number;
  readonly anchor?: { readonly version: unknown; readonly lastHash: unknown; readonly line: number };
  readonly ok: boolean;
  readonly problems: AuditProblem[];
}

export interface ExportVerification {
  readonly ok: boolean;
  /** `all`: every release has an anchor line. A release without one fails verification: its end cannot be proved. */
  readonly anchored: 'all' | 'some' | 'none';
  readonly releases: ReleaseVerification[];
  readonly problems: AuditProblem[];
  readonly notes: string[];
}

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex digits');
const eventShape = z.object({
  releaseId: z.string().min(1),
  stepKey: z.string().min(1),
  type: z.enum(LEDGER_EVENT_TYPES),
  at: z.string().refine((s) => /^\d{4}-\d{2}-\d{2}T/.test(s) && !Number.isNaN(Date.parse(s)), 'expected an ISO-8601 instant'),
  stage: z.string().min(1).optional(),
  data: z.record(z.string(), z.unknown()),
  seq: z.number().int().positive(),
  prevHash: hex64,
  hash: hex64,
});
const anchorShape = z.object({ kind: z.literal(ANCHOR_KIND), releaseId: z.string().min(1), version: z.number().int().positive(), lastHash: hex64 });

/** `line 12, event #7 gate.evaluated (stage:dev:gate:image.scan)`: how a problem names an event. */
export function describeEventAt(line: number | undefined, e: Record<string, unknown> | undefined): string {
  if (!e) return line ? `line ${line}` : '';
  const seq = typeof e.seq === 'number' ? `#${e.seq}` : `#${JSON.stringify(e.seq)}`;
  const type = typeof e.type === 'string' ? ` ${e.type}` : '';
  const step = typeof e.stepKey === 'string' ? ` (${e.stepKey})` : '';
  return `${line ? `line ${line}, ` : ''}event ${seq}${type}${step}`;
}

export function formatProblem(p: AuditProblem): string {
  return `release ${p.releaseId}: ${p.message}`;
}

function recomputedHash(e: Record<string, unknown>): string | undefined {
  const { hash: _hash, ...body } = e;
  try {
    return hashEvent(String(e.prevHash), body as Omit<LedgerEvent, 'hash'>);
  } catch {
    return undefined;
  }
}

/** Events that may follow `release.finished`: the reconciler frees a dead execution's leases after the record is closed. */
const AFTER_FINISH_ALLOWED = new Set(['lease.released']);

function verifyRelease(releaseId: string, lines: readonly ExportEventLine[], anchors: readonly ExportAnchorLine[]): ReleaseVerification {
  const problems: AuditProblem[] = [];
  const at = (l: ExportEventLine, kind: ProblemKind, what: string) => {
    const e = l.event;
    problems.push({
      releaseId,
      kind,
      line: l.line,
      ...(typeof e.seq === 'number' ? { seq: e.seq } : {}),
      ...(typeof e.type === 'string' ? { type: e.type } : {}),
      ...(typeof e.stepKey === 'string' ? { stepKey: e.stepKey } : {}),
      message: `${describeEventAt(l.line, e)}: ${what}`,
    });
  };
  const seqOf = (l: ExportEventLine): number => (typeof l.event.seq === 'number' && Number.isInteger(l.event.seq) ? l.event.seq : Number.NaN);

  // 1. Each event on its own: its shape, and its hash over its content.
  for (const l of lines) {
    const shape = eventShape.safeParse(l.event);
    if (!shape.success) at(l, 'malformed', `not a well-formed ledger event: ${formatIssues(shape.error.issues, l.event).join('; ')}`);
    const recomputed = recomputedHash(l.event);
    if (recomputed !== l.event.hash) at(l, 'edited', 'its content does not match its hash: the event was edited');
  }

  // 2. File order: a release's events are written in sequence order.
  for (let i = 1; i < lines.length; i++) {
    const prev = lines[i - 1] as ExportEventLine;
    const cur = lines[i] as ExportEventLine;
    if (seqOf(cur) < seqOf(prev)) at(cur, 'reordered', `comes after ${describeEventAt(prev.line, prev.event)}: events are out of order (reordered)`);
  }

  // 3. The chain in sequence order: no duplicates, no gaps, each prevHash the hash before it. Of two
  // events claiming one seq, the one the next event (or the anchor) chains to is the recorded one.
  const claims = new Map<number, ExportEventLine[]>();
  for (const l of lines) {
    const seq = seqOf(l);
    if (Number.isNaN(seq)) continue;
    const c = claims.get(seq);
    if (c) c.push(l);
    else claims.set(seq, [l]);
  }
  const anchorHash = anchors[0]?.anchor.lastHash;
  const chained = new Set<unknown>([...lines.map((l) => l.event.prevHash), anchorHash]);
  const bySeq: ExportEventLine[] = [];
  for (const seq of [...claims.keys()].sort((a, b) => a - b)) {
    const c = claims.get(seq) as ExportEventLine[];
    const genuine = c.length > 1 ? c.filter((l) => chained.has(l.event.hash)) : c;
    const kept = genuine.length === 1 ? (genuine[0] as ExportEventLine) : (c[0] as ExportEventLine);
    bySeq.push(kept);
    for (const l of c) {
      if (l !== kept) at(l, 'inserted', `a second event #${seq} (the recorded one is at line ${kept.line}): an event was inserted or copied`);
    }
  }
  const steps = new Map<string, ExportEventLine>();
  let prev: ExportEventLine | undefined;
  for (const l of bySeq) {
    const seq = seqOf(l);
    const step = typeof l.event.stepKey === 'string' ? l.event.stepKey : undefined;
    const sameStep = step ? steps.get(step) : undefined;
    if (step && sameStep) at(l, 'inserted', `repeats the step key of line ${sameStep.line}: the ledger records each step once, so one of them was inserted`);
    if (step && !sameStep) steps.set(step, l);

    const expected = prev ? seqOf(prev) + 1 : 1;
    if (seq > expected) {
      const range = seq - 1 === expected ? `#${expected} is` : `#${expected}–#${seq - 1} are`;
      at(l, 'deleted', prev ? `event ${range} missing between line ${prev.line} and line ${l.line}: deleted` : `event ${range} missing before it: the release's first events were deleted`);
    } else {
      const want = prev ? prev.event.hash : GENESIS_HASH;
      if (l.event.prevHash !== want) {
        at(l, 'chain', prev ? `its prevHash is not the hash of ${describeEventAt(prev.line, prev.event)}: an event was edited, replaced or inserted` : 'the first event does not start from the genesis hash');
      }
    }
    if (seq === 1 && l.event.type !== 'release.started') at(l, 'malformed', 'the first event of a release must be release.started');
    prev = l;
  }

  // 4. Nothing but lease releases after release.finished, and one release.finished.
  const finished = bySeq.filter((l) => l.event.type === 'release.finished');
  for (const extra of finished.slice(1)) at(extra, 'inserted', `a second release.finished (the first is at line ${(finished[0] as ExportEventLine).line})`);
  const finishSeq = finished[0] ? seqOf(finished[0]) : undefined;
  if (finishSeq !== undefined) {
    for (const l of bySeq) {
      if (seqOf(l) > finishSeq && !AFTER_FINISH_ALLOWED.has(String(l.event.type))) at(l, 'inserted', 'recorded after release.finished: nothing but a lease release follows the end of a release');
    }
  }

  // 5. The anchor: the export must end where the ledger's release summary says the chain ends.
  const last = bySeq.at(-1);
  const anchorLine = anchors[0];
  for (const dup of anchors.slice(1)) {
    problems.push({ releaseId, kind: 'anchor', line: dup.line, message: `line ${dup.line}: a second anchor for this release (the first is at line ${anchorLine?.line})` });
  }
  if (anchorLine) {
    const a = anchorLine.anchor;
    const shape = anchorShape.safeParse(a);
    if (!shape.success) {
      problems.push({ releaseId, kind: 'anchor', line: anchorLine.line, message: `line ${anchorLine.line}: the anchor is not well-formed: ${formatIssues(shape.error.issues, a).join('; ')}` });
    } else if (!last) {
      problems.push({ releaseId, kind: 'deleted', line: anchorLine.line, message: `line ${anchorLine.line}: the anchor names ${shape.data.version} event(s) but the export has none of them: deleted` });
    } else {
      const lastSeq = seqOf(last);
      if (shape.data.version > lastSeq) {
        const range = shape.data.version === lastSeq + 1 ? `#${lastSeq + 1} is` : `#${lastSeq + 1}–#${shape.data.version} are`;
        problems.push({
          releaseId,
          kind: 'truncated',
          line: anchorLine.line,
          seq: lastSeq,
          message: `line ${anchorLine.line}: the anchor says the release has ${shape.data.version} events, the export ends at ${describeEventAt(last.line, last.event)}: event ${range} missing (truncated)`,
        });
      } else if (shape.data.version < lastSeq) {
        const after = bySeq.filter((l) => seqOf(l) > shape.data.version);
        for (const l of after) at(l, 'inserted', `comes after the release's last event according to its anchor (line ${anchorLine.line}, version ${shape.data.version}): inserted`);
      } else if (shape.data.lastHash !== last.event.hash) {
        at(last, 'chain', `its hash is not the one the anchor (line ${anchorLine.line}) records for the release's last event: the chain was rewritten`);
      }
    }
    if (last && anchorLine.line < last.line) {
      problems.push({ releaseId, kind: 'reordered', line: anchorLine.line, message: `line ${anchorLine.line}: the anchor comes before the release's events end (line ${last.line})` });
    }
  } else if (last) {
    problems.push({
      releaseId,
      kind: 'truncated',
      line: last.line,
      message: `no anchor line for this release (the export ends it at ${describeEventAt(last.line, last.event)}): without it a cut of its last events cannot be ruled out`,
    });
  }

  const started = bySeq.find((l) => seqOf(l) === 1 && l.event.type === 'release.started')?.event.data as Record<string, unknown> | undefined;
  const finishedData = finished[0]?.event.data as Record<string, unknown> | undefined;
  return {
    releaseId,
    ...(typeof started?.service === 'string' ? { service: started.service } : {}),
    status: typeof finishedData?.status === 'string' ? finishedData.status : 'RUNNING',
    events: lines.length,
    ...(lines[0] ? { firstLine: Math.min(...lines.map((l) => l.line)) } : {}),
    ...(anchorLine ? { anchor: { version: anchorLine.anchor.version, lastHash: anchorLine.anchor.lastHash, line: anchorLine.line } } : {}),
    ok: problems.length === 0,
    problems: problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0)),
  };
}

/** The release an event line belongs to, or a placeholder naming its line when it has no usable releaseId. */
function releaseKey(l: { line: number; event?: Record<string, unknown>; anchor?: Record<string, unknown> }): string {
  const id = (l.event ?? l.anchor)?.releaseId;
  return typeof id === 'string' && id.length > 0 ? id : `(no releaseId, line ${l.line})`;
}

/**
 * Recompute every release's chain in an export. Names the release and the event (by line, seq, type
 * and step key) of every edited field, deleted, inserted or reordered event, and, against the anchors,
 * every release whose last events were cut. A release without an anchor line fails.
 */
export function verifyExport(parsed: ParsedExport): ExportVerification {
  const eventsByRelease = new Map<string, ExportEventLine[]>();
  for (const l of parsed.events) {
    const k = releaseKey(l);
    const g = eventsByRelease.get(k);
    if (g) g.push(l);
    else eventsByRelease.set(k, [l]);
  }
  const anchorsByRelease = new Map<string, ExportAnchorLine[]>();
  for (const a of parsed.anchors) {
    const k = releaseKey(a);
    const g = anchorsByRelease.get(k);
    if (g) g.push(a);
    else anchorsByRelease.set(k, [a]);
  }
  const ids = [...new Set([...eventsByRelease.keys(), ...anchorsByRelease.keys()])];
  const withAnchor = ids.filter((id) => anchorsByRelease.has(id)).length;
  const anchored: ExportVerification['anchored'] = ids.length === 0 || withAnchor === ids.length ? 'all' : withAnchor === 0 ? 'none' : 'some';
  const releases = ids.map((id) => verifyRelease(id, eventsByRelease.get(id) ?? [], anchorsByRelease.get(id) ?? []));
  const notes: string[] = [];
  if (anchored === 'none' && ids.length > 0) {
    notes.push('this export has no anchor lines (written before anchors existed, or they were removed): re-export it with `gantry audit export`');
  }
  for (const r of releases) {
    if (r.status === 'RUNNING' && r.events > 0) notes.push(`release ${r.releaseId} has no release.finished: it was still running when exported`);
  }
  const problems = releases.flatMap((r) => r.problems);
  if (parsed.insights?.length) {
    const chain = verifyInsightChain(parsed.insights.map((l) => l.record as unknown as InsightRecord));
    for (const message of chain.problems) problems.push({ releaseId: 'insight', kind: 'insight', message });
  }
  return { ok: problems.length === 0, anchored, releases, problems, notes };
}

/**
 * An export checked against anchors kept elsewhere (the live ledger's release summaries): an export
 * rewritten with recomputed hashes and a rewritten anchor is consistent on its own, but no longer
 * ends where the ledger says the release ends. `live` maps each release id to the ledger's anchor, or
 * to undefined when the ledger does not have the release.
 */
export function checkAgainstAnchors(v: ExportVerification, parsed: ParsedExport, live: ReadonlyMap<string, { version: number; lastHash: string } | undefined>): ExportVerification {
  const extra: AuditProblem[] = [];
  for (const r of v.releases) {
    const theirs = live.get(r.releaseId);
    const mine = parsed.anchors.find((a) => a.anchor.releaseId === r.releaseId);
    if (!theirs) {
      extra.push({ releaseId: r.releaseId, kind: 'anchor', message: 'the live ledger has no such release: the export holds a release the ledger never recorded' });
      continue;
    }
    if (!mine) continue; // already a problem of the export itself
    if (mine.anchor.version !== theirs.version || mine.anchor.lastHash !== theirs.lastHash) {
      extra.push({
        releaseId: r.releaseId,
        kind: 'anchor',
        line: mine.line,
        message: `line ${mine.line}: the export's anchor (version ${String(mine.anchor.version)}, hash ${String(mine.anchor.lastHash).slice(0, 16)}…) is not the live ledger's (version ${theirs.version}, hash ${theirs.lastHash.slice(0, 16)}…): the export was rewritten, or the release went on after it was exported`,
      });
    }
  }
  if (extra.length === 0) return v;
  const releases = v.releases.map((r) => {
    const mine = extra.filter((p) => p.releaseId === r.releaseId);
    return mine.length ? { ...r, ok: false, problems: [...r.problems, ...mine] } : r;
  });
  return { ...v, ok: false, releases, problems: releases.flatMap((r) => r.problems) };
}

// ---------------------------------------------------------------- evidence completeness

export type EvidenceKind = 'gates' | 'deploy' | 'bake' | 'approval';

export interface EvidenceGap {
  readonly releaseId: string;
  readonly stage: string;
  readonly missing: EvidenceKind;
  readonly message: string;
}

export interface EvidenceReport {
  readonly releaseId: string;
  /** Stages with a stage.promoted event: the ones whose evidence is checked. */
  readonly promotedStages: string[];
  readonly gaps: EvidenceGap[];
  readonly notes: string[];
}

/** Gates that run before the deploy (everything but the bake verdict and the approval). */
const PRE_DEPLOY_GATES = (gate: unknown) => gate !== 'bake' && gate !== 'approval';

/**
 * Which stages of `release.started` require an approval. The config is not in an export: the release
 * records it as `approvalRequired: ["prod", …]` in its release.started data. `undefined` when the
 * release does not say (older records): the approval check is then skipped and a note says so.
 */
export function approvalPolicyOf(events: readonly LedgerEvent[]): readonly string[] | undefined {
  const started = events.find((e) => e.type === 'release.started');
  const v = started?.data.approvalRequired;
  if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
  return undefined;
}

/** Every promoted stage must show its gate results, its deploy with driver evidence, its bake result and, when required, an approval. */
export function evidenceCompleteness(events: readonly LedgerEvent[]): EvidenceReport {
  const sorted = [...events].sort((a, b) => a.seq - b.seq);
  const releaseId = sorted[0]?.releaseId ?? '';
  const started = sorted.find((e) => e.type === 'release.started');
  const notes: string[] = [];
  if (started?.data.kind === 'rollback') {
    return { releaseId, promotedStages: [], gaps: [], notes: ['an operator rollback promotes nothing: no stage evidence to check'] };
  }
  const promoted = [...new Set(sorted.filter((e) => e.type === 'stage.promoted' && e.stage).map((e) => e.stage as string))];
  const recorded = approvalPolicyOf(sorted);
  // A stage that asked for an approval had a policy requiring one, whatever else the record says.
  const requested = sorted.filter((e) => e.type === 'stage.waiting' && e.data.waitingFor === 'approval' && e.stage).map((e) => e.stage as string);
  const approvals = [...new Set([...(recorded ?? []), ...requested])];
  if (promoted.length && recorded === undefined) {
    notes.push(
      'the release does not record which stages required an approval (release.started has no approvalRequired): only stages that asked for one were checked for an approval',
    );
  }
  const gaps: EvidenceGap[] = [];
  const gap = (stage: string, missing: EvidenceKind, message: string) => gaps.push({ releaseId, stage, missing, message });
  for (const stage of promoted) {
    const of = sorted.filter((e) => e.stage === stage);
    const gates = of.filter((e) => e.type === 'gate.evaluated' && PRE_DEPLOY_GATES(e.data.gate));
    if (gates.length === 0) gap(stage, 'gates', 'promoted without any gate result (no gate.evaluated before its deploy)');
    for (const g of gates) {
      if (typeof g.data.reason !== 'string' || g.data.reason === '') gap(stage, 'gates', `gate ${String(g.data.gate)} has no reason`);
      if (g.data.result === 'FAIL') gap(stage, 'gates', `promoted although gate ${String(g.data.gate)} FAILED: ${String(g.data.reason)}`);
    }
    const deploys = of.filter((e) => e.type === 'deploy.finished' && e.data.kind !== 'rollback' && e.data.result === 'SUCCEEDED');
    if (deploys.length === 0) gap(stage, 'deploy', 'promoted without a successful deploy.finished');
    else {
      // The driver the deploy ran (recorded on deploy.started and in the evidence): its own evidence must be there.
      const startedDriver = of.find((e) => e.type === 'deploy.started' && e.data.kind !== 'rollback' && typeof e.data.driver === 'string')?.data.driver as string | undefined;
      const shortfalls = deploys.map((d) => {
        const ev = d.data.evidence as Record<string, unknown> | undefined;
        const driver = startedDriver ?? (typeof ev?.driver === 'string' ? ev.driver : undefined);
        // A record that names no driver at all predates driver evidence: its build id is what it can show.
        if (driver === undefined) return typeof d.data.buildId === 'string' && d.data.buildId !== '' ? undefined : 'its deploy.finished carries no driver evidence (no buildId)';
        return evidenceShortfall(driver, ev);
      });
      if (!shortfalls.some((x) => x === undefined)) gap(stage, 'deploy', shortfalls[shortfalls.length - 1] as string);
    }
    const bake = of.filter((e) => e.type === 'bake.finished');
    const bakeGate = of.filter((e) => e.type === 'gate.evaluated' && e.data.gate === 'bake');
    if (bake.length === 0 && bakeGate.length === 0) gap(stage, 'bake', 'promoted without a bake result');
    else if (![...bake, ...bakeGate].some((b) => b.data.result === 'PASS' || b.data.result === 'WARN')) gap(stage, 'bake', 'promoted although its bake did not pass');
    if (approvals.includes(stage)) {
      const approved = of.some((e) => e.type === 'gate.evaluated' && e.data.gate === 'approval' && e.data.decision === 'APPROVED' && typeof e.data.principal === 'string');
      if (!approved) gap(stage, 'approval', 'its policy requires an approval and the record has no APPROVED decision with the approver');
    }
  }
  return { releaseId, promotedStages: promoted, gaps, notes };
}

// ---------------------------------------------------------------- the release's audit record

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
  /** The driver's evidence as recorded (lambdas/domain/driver-evidence.ts): build, log link, Helm status, Terraform plan. */
  readonly evidence?: DriverEvidence;
  /** Every other field the driver recorded. */
  readonly driverEvidence?: Record<string, unknown>;
}

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
  readonly deploys: DeployRecord[];
  readonly bake?: { startedAt?: string; endedAt?: string; minutes?: number; alarms?: string[]; result?: string; reason?: string };
  readonly promotedAt?: string;
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

export interface ReleaseAudit {
  readonly releaseId: string;
  readonly kind: 'release' | 'rollback';
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
  readonly events: number;
  readonly integrity: ReleaseVerification;
  readonly evidence: EvidenceReport;
}

const s = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
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

const DEPLOY_FIELDS = new Set(['kind', 'digest', 'result', 'message', 'buildId', 'error', 'driver', 'evidence']);

/** Everything an auditor asks about one release, from its events alone (chain check and evidence check included). */
export function auditRelease(lines: readonly ExportEventLine[] | readonly LedgerEvent[], anchors: readonly ExportAnchorLine[] = []): ReleaseAudit | undefined {
  const asLines: ExportEventLine[] = (lines as ReadonlyArray<ExportEventLine | LedgerEvent>).map((l, i) =>
    'event' in l && 'line' in l ? (l as ExportEventLine) : { line: i + 1, event: l as unknown as Record<string, unknown> },
  );
  const events = asLines.map((l) => l.event as unknown as LedgerEvent).sort((a, b) => a.seq - b.seq);
  const first = events[0];
  if (!first) return undefined;
  const releaseId = first.releaseId;
  const integrity = verifyRelease(releaseId, asLines, anchors);
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
        case 'stage.waiting':
          st.waits.push({ at: e.at, ...(s(x.waitingFor) ? { waitingFor: x.waitingFor as string } : {}), ...(s(x.reason) ? { reason: x.reason as string } : {}) });
          break;
        case 'gate.evaluated':
          st.gates.push({ at: e.at, gate: String(x.gate), result: String(x.result), reason: String(x.reason ?? ''), ...(x.evidence !== undefined ? { evidence: x.evidence } : {}) });
          if (x.gate === 'approval' && x.decision) {
            st.approval = { decision: String(x.decision), ...(s(x.principal) ? { principal: x.principal as string } : {}), ...(s(x.comment) ? { comment: x.comment as string } : {}), at: e.at };
          }
          break;
        case 'deploy.started': {
          const kind = x.kind === 'rollback' ? 'rollback' : 'deploy';
          openDeploys[kind] = {
            kind,
            ...(s(x.digest) ? { digest: x.digest as string } : {}),
            startedAt: e.at,
            ...(s(x.buildId) ? { buildId: x.buildId as string } : {}),
            ...(s(x.driver) ? { driver: x.driver as string } : {}),
          };
          break;
        }
        case 'deploy.finished': {
          const kind = x.kind === 'rollback' ? 'rollback' : 'deploy';
          const open = openDeploys[kind];
          delete openDeploys[kind];
          const extra = Object.fromEntries(Object.entries(x).filter(([k, v]) => !DEPLOY_FIELDS.has(k) && v !== null && v !== undefined));
          const evidence = x.evidence && typeof x.evidence === 'object' && !Array.isArray(x.evidence) ? (x.evidence as DriverEvidence) : undefined;
          const buildId = s(x.buildId) ?? s(evidence?.buildId) ?? open?.buildId;
          const driver = open?.driver ?? s(evidence?.driver);
          // Only a CodeBuild driver's id names a build (the Kubernetes driver's names a Deployment generation).
          const derived = buildId && (!driver || CODEBUILD_DRIVERS.includes(driver)) ? buildLinks(buildId, executionArn) : {};
          st.deploys.push({
            kind,
            ...(s(x.digest) ? { digest: x.digest as string } : open?.digest ? { digest: open.digest } : {}),
            ...(open?.startedAt ? { startedAt: open.startedAt } : {}),
            endedAt: e.at,
            result: String(x.result),
            ...(s(x.message) ? { message: x.message as string } : {}),
            ...(buildId ? { buildId } : {}),
            // What the build itself reported wins over what can be derived from its id.
            ...(s(evidence?.buildArn) ?? derived.buildArn ? { buildArn: s(evidence?.buildArn) ?? derived.buildArn } : {}),
            ...(s(evidence?.logUrl) ?? derived.logLink ? { logLink: s(evidence?.logUrl) ?? derived.logLink } : {}),
            ...(driver ? { driver } : {}),
            ...(evidence ? { evidence } : {}),
            ...(Object.keys(extra).length ? { driverEvidence: extra } : {}),
          });
          break;
        }
        case 'bake.started':
          st.bake = {
            startedAt: e.at,
            ...(typeof x.bakeMinutes === 'number' ? { minutes: x.bakeMinutes } : {}),
            ...(Array.isArray(x.alarms) ? { alarms: x.alarms as string[] } : {}),
          };
          break;
        case 'bake.finished':
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
    kind: d.kind === 'rollback' ? 'rollback' : 'release',
    ...(s(d.service) ? { service: d.service as string } : {}),
    ...(s(d.repository) ? { repository: d.repository as string } : {}),
    ...(s(d.digest) ? { digest: d.digest as string } : {}),
    ...(s(d.tag) ? { tag: d.tag as string } : {}),
    ...(facts.commit ? { commit: facts.commit } : {}),
    ...(facts.created ? { imageCreated: facts.created } : {}),
    ...(facts.pushedAt ? { imagePushedAt: facts.pushedAt } : {}),
    ...(facts.repository ? { sourceRepository: facts.repository } : {}),
    ...(s(attributed?.data.initiator) ? { initiator: attributed?.data.initiator as string, attributedAt: attributed?.at, attributedFrom: s(attributed?.data.source) ? (attributed?.data.source as string) : 'CloudTrail PutImage' } : s(d.initiator) ? { initiator: d.initiator as string } : {}),
    ...(s(d.reason) ? { requestReason: d.reason as string } : {}),
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
    events: events.length,
    integrity,
    evidence: evidenceCompleteness(events),
  };
}

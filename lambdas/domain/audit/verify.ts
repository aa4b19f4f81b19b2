/**
 * The tamper check of an audit export: each release's hash chain recomputed, its sequence and its
 * anchor compared, every edited, deleted, inserted or reordered event named (docs/auditor-guide.md says what
 * the check proves and what it cannot); the insight records' chain beside it.
 */
import * as z from 'zod';
import { type InsightRecord, verifyInsightChain } from '../insight';
import { GENESIS_HASH, hashEvent, LEDGER_EVENT_TYPES, type LedgerEvent } from '../ledger';
import { formatIssues } from '../validation';
import type { KeyObject } from 'node:crypto';
import { ANCHOR_KIND, type ExportAnchorLine, type ExportEventLine, type ParsedExport } from './export';
import { INSIGHT_ANCHOR_ID, readSignature, verifyAnchorSignature } from './signature';

export type ProblemKind = 'edited' | 'chain' | 'deleted' | 'inserted' | 'reordered' | 'truncated' | 'malformed' | 'anchor' | 'insight' | 'signature';

/** What the verifier knows of the signing key (decision 048). Without a public key, authorship is not checked. */
export interface SignatureOptions {
  /** The signing key's public half (`--public-key key.pem`, or KMS GetPublicKey of the stack's key). */
  readonly publicKey?: KeyObject;
  /** The key the signatures must name (the stack's key ARN, when fetched online). */
  readonly keyId?: string;
}

/**
 * A release's signature as checked: `verified` (by the public key given), `present` (not checked: no key given),
 * `missing` (a finished release without one), `invalid` (does not verify, covers another chain, or another key),
 * `unfinished` (a release still running has nothing to sign yet).
 */
export interface SignatureCheck {
  readonly status: 'verified' | 'present' | 'missing' | 'invalid' | 'unfinished';
  readonly keyId?: string;
  readonly signedAt?: string;
  /** The seq the signature covers. */
  readonly version?: number;
  /** Events after the signed one (a lease the reconciler freed after the end): chained to it, not covered by it. */
  readonly uncovered?: number;
}

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
  /** Gantry's signature of the release's end (decision 048). */
  readonly signature?: SignatureCheck;
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
  /** Whether the signatures were checked with a public key (`verified`: every finished release's signature verified). */
  readonly authorship: 'verified' | 'not-checked' | 'failed';
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

export function verifyRelease(releaseId: string, lines: readonly ExportEventLine[], anchors: readonly ExportAnchorLine[], keys: SignatureOptions = {}): ReleaseVerification {
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
      at(
        l,
        'deleted',
        prev ? `event ${range} missing between line ${prev.line} and line ${l.line}: deleted` : `event ${range} missing before it: the release's first events were deleted`,
      );
    } else {
      const want = prev ? prev.event.hash : GENESIS_HASH;
      if (l.event.prevHash !== want) {
        at(
          l,
          'chain',
          prev
            ? `its prevHash is not the hash of ${describeEventAt(prev.line, prev.event)}: an event was edited, replaced or inserted`
            : 'the first event does not start from the genesis hash',
        );
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
      if (seqOf(l) > finishSeq && !AFTER_FINISH_ALLOWED.has(String(l.event.type)))
        at(l, 'inserted', 'recorded after release.finished: nothing but a lease release follows the end of a release');
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
      problems.push({
        releaseId,
        kind: 'anchor',
        line: anchorLine.line,
        message: `line ${anchorLine.line}: the anchor is not well-formed: ${formatIssues(shape.error.issues, a).join('; ')}`,
      });
    } else if (!last) {
      problems.push({
        releaseId,
        kind: 'deleted',
        line: anchorLine.line,
        message: `line ${anchorLine.line}: the anchor names ${shape.data.version} event(s) but the export has none of them: deleted`,
      });
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
      problems.push({
        releaseId,
        kind: 'reordered',
        line: anchorLine.line,
        message: `line ${anchorLine.line}: the anchor comes before the release's events end (line ${last.line})`,
      });
    }
  } else if (last) {
    problems.push({
      releaseId,
      kind: 'truncated',
      line: last.line,
      message: `no anchor line for this release (the export ends it at ${describeEventAt(last.line, last.event)}): without it a cut of its last events cannot be ruled out`,
    });
  }

  // 6. The signature of the release's end (decision 048).
  const signature = checkSignature(releaseId, bySeq, finished[0], anchorLine, keys, problems);

  const started = bySeq.find((l) => seqOf(l) === 1 && l.event.type === 'release.started')?.event.data as Record<string, unknown> | undefined;
  const finishedData = finished[0]?.event.data as Record<string, unknown> | undefined;
  return {
    releaseId,
    ...(typeof started?.service === 'string' ? { service: started.service } : {}),
    status: typeof finishedData?.status === 'string' ? finishedData.status : 'RUNNING',
    events: lines.length,
    ...(lines[0] ? { firstLine: Math.min(...lines.map((l) => l.line)) } : {}),
    ...(anchorLine ? { anchor: { version: anchorLine.anchor.version, lastHash: anchorLine.anchor.lastHash, line: anchorLine.line } } : {}),
    signature,
    ok: problems.length === 0,
    problems: problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0)),
  };
}

/**
 * The anchor's signature against the chain and the key: it must cover this release's `release.finished` (its seq
 * and hash as the chain has them now) and, with a public key, verify. A finished release without one fails only
 * when a public key is given (without it, authorship is not checked at all: the caller says so).
 */
function checkSignature(
  releaseId: string,
  bySeq: readonly ExportEventLine[],
  finished: ExportEventLine | undefined,
  anchorLine: ExportAnchorLine | undefined,
  keys: SignatureOptions,
  problems: AuditProblem[],
): SignatureCheck {
  const fail = (message: string, line = anchorLine?.line) => problems.push({ releaseId, kind: 'signature', ...(line ? { line } : {}), message });
  const where = anchorLine ? `line ${anchorLine.line}: ` : '';
  const read = readSignature(anchorLine?.anchor.signature);
  if (read.problem) {
    fail(`${where}${read.problem}`);
    return { status: 'invalid' };
  }
  const sig = read.signature;
  if (!sig) {
    if (!finished) return { status: 'unfinished' };
    if (keys.publicKey) {
      fail(
        `${where || ''}the release finished (${describeEventAt(finished.line, finished.event)}) but its anchor carries no signature: the signature was removed, or Gantry did not sign it (see the anchor-sign outcome)`,
      );
    }
    return { status: 'missing' };
  }
  const base = { keyId: sig.keyId, signedAt: sig.signedAt, version: sig.version };
  const covered = bySeq.find((l) => l.event.seq === sig.version);
  const uncovered = bySeq.filter((l) => typeof l.event.seq === 'number' && l.event.seq > sig.version).length;
  let invalid = false;
  if (!covered || covered.event.hash !== sig.lastHash || covered.event.type !== 'release.finished') {
    invalid = true;
    fail(
      `${where}the signature covers event #${sig.version} with hash ${sig.lastHash.slice(0, 16)}…, but ${covered ? `the chain's ${describeEventAt(covered.line, covered.event)} has hash ${String(covered.event.hash).slice(0, 16)}…` : 'the chain has no such event'}: the chain was rewritten after it was signed, or the signature belongs to another release`,
    );
  }
  if (keys.keyId !== undefined && sig.keyId !== keys.keyId) {
    invalid = true;
    fail(`${where}signed with key ${sig.keyId}, not with ${keys.keyId}: an export signed with another key`);
  }
  if (keys.publicKey && !verifyAnchorSignature({ releaseId, version: sig.version, lastHash: sig.lastHash }, sig.value, keys.publicKey)) {
    invalid = true;
    fail(
      `${where}the signature does not verify with the public key given (it names key ${sig.keyId}): the anchor was edited or re-signed, the signature was moved from another release, or another key signed it`,
    );
  }
  const status: SignatureCheck['status'] = invalid ? 'invalid' : keys.publicKey ? 'verified' : 'present';
  return { status, ...base, ...(uncovered ? { uncovered } : {}) };
}

/** The signed heads of the insight chain: each must cover a record of the export as it is, and verify with the key. */
function checkInsightAnchors(parsed: ParsedExport, keys: SignatureOptions, notes: string[]): AuditProblem[] {
  const problems: AuditProblem[] = [];
  const records = parsed.insights ?? [];
  let lastSigned = 0;
  for (const a of parsed.insightAnchors ?? []) {
    const fail = (message: string) => problems.push({ releaseId: INSIGHT_ANCHOR_ID, kind: 'signature', line: a.line, message: `line ${a.line}: ${message}` });
    const read = readSignature(a.anchor.signature);
    if (!read.signature) {
      fail(read.problem ?? 'the insight anchor carries no signature');
      continue;
    }
    const sig = read.signature;
    const rec = records.find((r) => r.record.seq === sig.version);
    if (!rec || rec.record.hash !== sig.lastHash) {
      fail(
        `the signature covers insight record #${sig.version} with hash ${sig.lastHash.slice(0, 16)}…, which the export ${rec ? `has with hash ${String(rec.record.hash).slice(0, 16)}…: the insight chain was rewritten` : 'does not hold'}`,
      );
      continue;
    }
    if (keys.keyId !== undefined && sig.keyId !== keys.keyId) fail(`signed with key ${sig.keyId}, not with ${keys.keyId}`);
    if (keys.publicKey && !verifyAnchorSignature({ releaseId: INSIGHT_ANCHOR_ID, version: sig.version, lastHash: sig.lastHash }, sig.value, keys.publicKey)) {
      fail(`the insight head's signature does not verify with the public key given (it names key ${sig.keyId})`);
      continue;
    }
    lastSigned = Math.max(lastSigned, sig.version);
  }
  const after = records.filter((r) => typeof r.record.seq === 'number' && r.record.seq > lastSigned).length;
  if (records.length > 0 && after > 0) notes.push(`insight: ${after} insight record(s) after the last signed head (#${lastSigned}) are not covered by a signature`);
  return problems;
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
export function verifyExport(parsed: ParsedExport, keys: SignatureOptions = {}): ExportVerification {
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
  const releases = ids.map((id) => verifyRelease(id, eventsByRelease.get(id) ?? [], anchorsByRelease.get(id) ?? [], keys));
  const notes: string[] = [];
  const signed = releases.filter((r) => r.signature?.status !== undefined && r.signature.status !== 'missing' && r.signature.status !== 'unfinished').length;
  const unsigned = releases.filter((r) => r.signature?.status === 'missing').length;
  if (!keys.publicKey) {
    notes.push(
      `authorship was NOT checked (no public key given): ${signed} release(s) carry a signature, ${unsigned} finished release(s) carry none. The hash chains prove order only: whoever can write the ledger could rewrite and re-hash them. Give --public-key key.pem (or --key-arn with the stack's AnchorKeyArn) to check who wrote them`,
    );
  }
  for (const r of releases) {
    if (r.signature?.uncovered)
      notes.push(
        `release ${r.releaseId}: ${r.signature.uncovered} event(s) after the signed release.finished (#${r.signature.version}) are chained to it but not covered by the signature`,
      );
  }
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
  problems.push(...checkInsightAnchors(parsed, keys, notes));
  const authorship: ExportVerification['authorship'] = !keys.publicKey ? 'not-checked' : problems.some((p) => p.kind === 'signature') ? 'failed' : 'verified';
  return { ok: problems.length === 0, anchored, releases, problems, notes, authorship };
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

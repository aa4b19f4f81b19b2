/**
 * The audit's export format: writing and reading it (JSON Lines of ledger events, one anchor line per
 * release). The audit's pure half is split by job, re-exported by ./index.ts: this file, the tamper check
 * (verify.ts), evidence completeness (evidence.ts) and a release's audit record (report-model.ts).
 * No I/O and no clock: callers read files and tables.
 *
 * Export format (`gantry audit export`, `gantry simulate --export`), one JSON object per line:
 *   - a ledger event exactly as stored (`LedgerEvent`: releaseId, stepKey, type, at, stage?, data, seq,
 *     prevHash, hash), a release's events in sequence order;
 *   - after a release's last event, its anchor `{"kind":"anchor","releaseId","version","lastHash"}`:
 *     the sequence number and hash of the release's last event when it was exported (from the ledger's
 *     release summary). The anchor is what makes the loss of a release's *last* events visible: a hash
 *     chain alone cannot tell a cut chain from a short one.
 *   - the anchor carries `signature` ({ keyId, algorithm: "ECDSA_SHA_256", value, signedAt, version,
 *     lastHash }) when Gantry signed the release's end (./signature.ts, decision 048);
 *   - first, when any anchor is signed: `{"kind":"signing-keys","algorithm":"ECDSA_SHA_256","keyIds":[…]}`, the
 *     key(s) the export's signatures name (an auditor fetches or is given their public halves).
 * Lines are told apart by `kind === "anchor"` (a ledger event has no top-level `kind`). Blank lines are
 * ignored. docs/auditor-guide.md explains what the check proves and what it cannot.
 */
import { INSIGHT_KIND, type InsightRecord } from '../insight';
import type { LedgerEvent } from '../ledger';
import { ANCHOR_SIGNING_ALGORITHM, type AnchorSignature, insightSignatureSubject } from './signature';

export const ANCHOR_KIND = 'anchor';
/** The line naming the signing key(s) of an export's signatures. */
export const SIGNING_KEYS_KIND = 'signing-keys';
/** A signed head of the insight chain: `{"kind":"insight-anchor","version","lastHash","signature"}` after the insight records. */
export const INSIGHT_ANCHOR_KIND = 'insight-anchor';

/** What the export knows of a release's end: the ledger summary's anchor, and Gantry's signature when there is one. */
export interface AnchorFacts {
  readonly version: number;
  readonly lastHash: string;
  readonly signature?: AnchorSignature;
}

export interface ExportAnchor {
  readonly kind: typeof ANCHOR_KIND;
  readonly releaseId: string;
  /** seq of the release's last event. */
  readonly version: number;
  /** hash of the release's last event. */
  readonly lastHash: string;
  /** Gantry's signature of the release's end (decision 048). */
  readonly signature?: AnchorSignature;
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
    anchors?: ReadonlyMap<string, AnchorFacts>;
    computeMissingAnchors?: boolean;
    /** Signatures of releases' ends (from the ledger), put on their anchor lines; overrides a signature in `anchors`. */
    signatures?: ReadonlyMap<string, AnchorSignature>;
    /** Key ids to name in the signing-keys line beside those the signatures name. */
    signingKeys?: readonly string[];
    /** The insight check's hash-chained records (`{"kind":"insight",…}` lines), after the releases. */
    insights?: readonly InsightRecord[];
  } = {},
): string {
  const lines: string[] = [];
  const keyIds = new Set<string>(options.signingKeys ?? []);
  const signed = (a: ExportAnchor): ExportAnchor => {
    const signature = options.signatures?.get(a.releaseId) ?? options.anchors?.get(a.releaseId)?.signature;
    if (!signature) return a;
    keyIds.add(signature.keyId);
    return { ...a, signature };
  };
  for (const [releaseId, group] of groupByRelease(events)) {
    for (const e of group) lines.push(JSON.stringify(e));
    const given = options.anchors?.get(releaseId);
    const anchor: ExportAnchor | undefined = given
      ? { kind: ANCHOR_KIND, releaseId, version: given.version, lastHash: given.lastHash }
      : options.computeMissingAnchors === false
        ? undefined
        : anchorOf(group);
    if (anchor) lines.push(JSON.stringify(signed(anchor)));
  }
  // A summary whose events are all gone still says the release existed.
  const exported = new Set(events.map((e) => e.releaseId));
  for (const [releaseId, given] of options.anchors ?? []) {
    if (!exported.has(releaseId)) lines.push(JSON.stringify(signed({ kind: ANCHOR_KIND, releaseId, version: given.version, lastHash: given.lastHash })));
  }
  for (const r of options.insights ?? []) lines.push(JSON.stringify(r));
  for (const r of options.insights ?? []) {
    const signature = options.signatures?.get(insightSignatureSubject(r.seq));
    if (!signature) continue;
    keyIds.add(signature.keyId);
    lines.push(JSON.stringify({ kind: INSIGHT_ANCHOR_KIND, version: signature.version, lastHash: signature.lastHash, signature }));
  }
  if (keyIds.size > 0) lines.unshift(JSON.stringify({ kind: SIGNING_KEYS_KIND, algorithm: ANCHOR_SIGNING_ALGORITHM, keyIds: [...keyIds].sort() }));
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
  /** The signing-keys line(s) (`kind: "signing-keys"`): the key ids the export says its signatures name. */
  readonly signingKeys?: Array<{ readonly line: number; readonly keys: Record<string, unknown> }>;
  /** Signed heads of the insight chain (`kind: "insight-anchor"`). */
  readonly insightAnchors?: Array<{ readonly line: number; readonly anchor: Record<string, unknown> }>;
}

/** Split an export into event and anchor lines. Throws ExportFormatError naming the first line that is not a JSON object. */
export function parseExport(text: string): ParsedExport {
  const events: ExportEventLine[] = [];
  const anchors: ExportAnchorLine[] = [];
  const insights: Array<{ line: number; record: Record<string, unknown> }> = [];
  const signingKeys: Array<{ line: number; keys: Record<string, unknown> }> = [];
  const insightAnchors: Array<{ line: number; anchor: Record<string, unknown> }> = [];
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
    else if (obj.kind === SIGNING_KEYS_KIND) signingKeys.push({ line, keys: obj });
    else if (obj.kind === INSIGHT_ANCHOR_KIND) insightAnchors.push({ line, anchor: obj });
    else events.push({ line, event: obj });
  });
  return { events, anchors, ...(insights.length ? { insights } : {}), ...(signingKeys.length ? { signingKeys } : {}), ...(insightAnchors.length ? { insightAnchors } : {}) };
}

/** The ledger events of a parsed export, as stored (for show and metrics after verification). */
export function exportEvents(parsed: ParsedExport): LedgerEvent[] {
  return parsed.events.map((l) => l.event as unknown as LedgerEvent);
}

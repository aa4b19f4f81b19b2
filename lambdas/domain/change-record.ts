/**
 * Change records and traceability (docs/decisions/051-change-records.md): the gate `change.record` and the
 * commit range of a stage. Pure: no AWS SDK, no I/O, no clock.
 *
 * The change id comes from an image label (`changeRecord.from: "label:<name>"`) or the release input
 * (`"input"`); it must match `changeRecord.pattern` (RE2, linear time: a label is written by whoever builds
 * the image). The commit is the image label `source.label` (default org.opencontainers.image.revision), recorded
 * only when it is a hex commit id. A stage's range runs from its last known good digest (and the commit the
 * release that promoted it recorded) to this release's digest and commit; a compare link is built only from an
 * https repository URL and two hex commits.
 */
import type { ServiceConfig } from './config';
import { tagMatches } from './tag-pattern';
import type { GateResult } from './types';

export const DEFAULT_COMMIT_LABEL = 'org.opencontainers.image.revision';
/** A git commit id: abbreviated (7) to SHA-256 (64) hex characters. */
export const COMMIT_PATTERN = /^[0-9a-f]{7,64}$/;
/** The longest change id the gate accepts, from a label as from the input (contracts §2). */
export const MAX_CHANGE_ID_LENGTH = 100;
const HTTPS_URL = /^https:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[A-Za-z0-9._~%-]+)+$/;

export type ChangeRecordPolicy = NonNullable<ServiceConfig['changeRecord']>;
export type SourcePolicy = NonNullable<ServiceConfig['source']>;

export interface CommitRef {
  readonly digest: string;
  readonly commit?: string;
}

/** What changed in a stage: from its last known good (absent on a first release) to this release. */
export interface StageChange {
  readonly from?: CommitRef;
  readonly to: CommitRef;
  /** `<repositoryUrl>/compare/<from>...<to>`: only with both commits, different, and an https repository URL. */
  readonly compareUrl?: string;
}

/** The gate's evidence, as recorded; `ReleaseSummary.change` is folded from it (lambdas/domain/ledger.ts). */
export interface ChangeRecordEvidence {
  readonly digest: string;
  /** The change id, when it was found and matched. */
  readonly id?: string;
  /** What was found when it did not match (cut to MAX_CHANGE_ID_LENGTH characters). */
  readonly given?: string;
  /** Where the id was read: "input" or "label:<name>"; absent when the service asks for no change record. */
  readonly from?: string;
  readonly pattern?: string;
  readonly required?: boolean;
  readonly commit?: string;
  readonly commitLabel: string;
  /** Why the commit label's value was not recorded as the commit (not hex). */
  readonly commitProblem?: string;
  readonly range: StageChange;
}

/** Whether `s` is a commit id as Gantry records one (lowercase hex, 7–64). */
export function isCommit(s: unknown): s is string {
  return typeof s === 'string' && COMMIT_PATTERN.test(s);
}

/**
 * The compare link of a range, GitHub/GitLab style, or undefined when it cannot be built safely: the URL must be
 * https with a plain path, both commits hex and different.
 */
export function compareUrl(repositoryUrl: string | undefined, from: string | undefined, to: string | undefined): string | undefined {
  if (repositoryUrl === undefined || !HTTPS_URL.test(repositoryUrl)) return undefined;
  if (!isCommit(from) || !isCommit(to) || from === to) return undefined;
  return `${repositoryUrl}/compare/${from}...${to}`;
}

function labelName(from: string): string | undefined {
  return from.startsWith('label:') ? from.slice('label:'.length) : undefined;
}

const show = (v: string): string => (v.length > MAX_CHANGE_ID_LENGTH ? `${v.slice(0, MAX_CHANGE_ID_LENGTH)}…` : v);

export interface ChangeRecordInput {
  readonly policy?: ChangeRecordPolicy;
  readonly source?: SourcePolicy;
  readonly digest: string;
  /** The image's labels per platform (one entry for a single-platform image), the first the one provenance is read from. */
  readonly labels: ReadonlyArray<{ readonly platform?: string; readonly labels: Readonly<Record<string, string>> }>;
  /** The release input's changeRecord. */
  readonly inputId?: string;
  /** The stage's last known good when the stage started, with the commit a release of that digest recorded. */
  readonly lastKnownGood?: CommitRef;
}

/** The value of a label on every platform, or a problem when it is missing on some or the platforms disagree. */
function labelValue(labels: ChangeRecordInput['labels'], name: string): { value?: string; problem?: string } {
  const values = labels.map((p) => {
    const v = p.labels[name];
    return typeof v === 'string' && v.trim().length > 0 ? v.trim() : undefined;
  });
  const first = values[0];
  if (values.every((v) => v === undefined)) return {};
  const disagree = values.some((v) => v !== first);
  if (disagree) {
    const where = labels.map((p, i) => `${p.platform ?? 'image'}=${values[i] === undefined ? '(missing)' : show(values[i] as string)}`).join(', ');
    return { problem: `the platform images disagree on label ${name} (${where})` };
  }
  return { value: first as string };
}

/**
 * `change.record`. FAIL when the record is required and missing, when it is present and does not match the
 * pattern, when it is longer than MAX_CHANGE_ID_LENGTH, or when the platforms of a multi-arch image disagree on
 * it; the reason names where it was expected (the label or the input field) and the pattern. PASS with the id.
 * Without a `changeRecord` policy (only `source`): PASS, recording the commit and the range.
 */
export function evaluateChangeRecord(input: ChangeRecordInput): GateResult {
  const gate = 'change.record' as const;
  const { policy, source, digest } = input;
  const commitLabel = source?.label ?? DEFAULT_COMMIT_LABEL;
  const commitRead = labelValue(input.labels, commitLabel);
  const commitValue = commitRead.value?.toLowerCase();
  const commit = isCommit(commitValue) ? commitValue : undefined;
  const commitProblem =
    commitRead.problem ??
    (commitRead.value !== undefined && commit === undefined ? `label ${commitLabel} is not a hex commit id: ${JSON.stringify(show(commitRead.value))}` : undefined);
  const from = input.lastKnownGood;
  const link = compareUrl(source?.repositoryUrl, from?.commit, commit);
  const range: StageChange = {
    ...(from ? { from: { digest: from.digest, ...(from.commit ? { commit: from.commit } : {}) } } : {}),
    to: { digest, ...(commit ? { commit } : {}) },
    ...(link ? { compareUrl: link } : {}),
  };
  const base = { digest, commitLabel, ...(commit ? { commit } : {}), ...(commitProblem ? { commitProblem } : {}), range };
  const commitNote = commit ? `; commit ${commit.slice(0, 12)}` : '';

  if (!policy) {
    const evidence: ChangeRecordEvidence = base;
    return { gate, result: 'PASS', reason: `no change record asked for${commitNote}`, evidence };
  }
  const label = labelName(policy.from);
  const where = label !== undefined ? `image label ${label}` : 'the release input field changeRecord';
  const expected = `a change record in ${where} matching ${policy.pattern}`;
  const context = { from: policy.from, pattern: policy.pattern, required: policy.required };
  let found: string | undefined;
  if (label !== undefined) {
    const read = labelValue(input.labels, label);
    if (read.problem) return { gate, result: 'FAIL', reason: `expected ${expected}: ${read.problem}`, evidence: { ...base, ...context } };
    found = read.value;
  } else {
    found = input.inputId;
  }
  if (found === undefined) {
    if (!policy.required) {
      const evidence: ChangeRecordEvidence = { ...base, ...context };
      return { gate, result: 'PASS', reason: `no change record given (not required: changeRecord.required is false)${commitNote}`, evidence };
    }
    return { gate, result: 'FAIL', reason: `expected ${expected}, found none`, evidence: { ...base, ...context } };
  }
  if (found.length > MAX_CHANGE_ID_LENGTH) {
    return {
      gate,
      result: 'FAIL',
      reason: `expected ${expected} of at most ${MAX_CHANGE_ID_LENGTH} characters, found ${found.length}`,
      evidence: { ...base, ...context, given: show(found) },
    };
  }
  if (!tagMatches(policy.pattern, found)) {
    return { gate, result: 'FAIL', reason: `expected ${expected}, found ${JSON.stringify(found)}`, evidence: { ...base, ...context, given: found } };
  }
  const evidence: ChangeRecordEvidence = { ...base, ...context, id: found };
  return { gate, result: 'PASS', reason: `change record ${found} (${label !== undefined ? `label ${label}` : 'input'})${commitNote}`, evidence };
}

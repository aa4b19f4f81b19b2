/**
 * N-of-M approvals and separation from authorship (issue 19, docs/decisions/050-n-of-m-approvals.md).
 * Pure: no AWS SDK, no clock.
 *
 * - A stage's `approval.required` (default 1) distinct persons must approve; a single rejection ends it.
 *   Persons are compared as segregation of duties compares them (approvers.ts samePersonUnder:
 *   `identity.persons`, else the IAM user or session name within one account).
 * - Each accepted approval that does not complete the count is its own ledger event `approval.recorded`,
 *   under the step key of its place in the count (`stageStep.approvalRecorded(stage, n)`): two persons
 *   racing for the same place write one event, the other finds the place taken and counts again. The
 *   approval that completes the count (or a rejection) claims the task token and records the `approval`
 *   gate with every approval in its evidence.
 * - With `excludeAuthors`, no author of the image may decide: the authors are the value of the image
 *   label `authorLabel` (default `org.opencontainers.image.authors`) as the image.labels gate recorded
 *   it, each `Name <email>` or an email (several, comma-separated). See `authorOfCaller` for how a caller
 *   is matched to an author.
 */
import { type IdentityPolicy, mappedPerson, parsePersonPattern, parsePrincipalArn, samePersonUnder } from './approvers';

/** The label that names the image's authors when the config names none (OCI image spec). */
export const DEFAULT_AUTHOR_LABEL = 'org.opencontainers.image.authors';
/** The most approvals a stage may require. */
export const MAX_REQUIRED_APPROVALS = 10;

/** A stage's approval policy with its defaults applied (the config leaves absent fields absent: its hash stays). */
export interface QuorumPolicy {
  readonly required: number;
  readonly excludeAuthors: boolean;
  readonly authorLabel: string;
}

export function quorumPolicy(approval: { required?: number | undefined; excludeAuthors?: boolean | undefined; authorLabel?: string | undefined }): QuorumPolicy {
  return { required: approval.required ?? 1, excludeAuthors: approval.excludeAuthors ?? false, authorLabel: approval.authorLabel ?? DEFAULT_AUTHOR_LABEL };
}

// ---------------------------------------------------------------- authors

/** One author named by the label: `Name <email>`, an email, or a bare name. */
export interface Author {
  readonly text: string;
  readonly name?: string;
  readonly email?: string;
}

const EMAIL = /^[^\s<>@,]+@[^\s<>@,]+$/;

/** Parse a label value: authors separated by commas, each `Name <email>`, `<email>`, an email or a name. Empty entries are dropped. */
export function parseAuthors(value: string): Author[] {
  const out: Author[] = [];
  for (const part of value.split(',')) {
    const text = part.trim();
    if (text === '') continue;
    const m = /^(.*?)\s*<([^<>]*)>$/.exec(text);
    if (m) {
      const name = (m[1] ?? '').trim();
      const email = (m[2] ?? '').trim();
      out.push({ text, ...(name ? { name } : {}), ...(email ? { email } : {}) });
    } else if (EMAIL.test(text)) out.push({ text, email: text });
    else out.push({ text, name: text });
  }
  return out;
}

/** The gate results this needs (a subset of GateResult, as ReleaseSummary stages carry them). */
interface GateLike {
  readonly gate: string;
  readonly evidence?: unknown;
}

export type AuthorsFound =
  /** The label as the image.labels gate recorded it, and the authors it names. */
  | { readonly kind: 'found'; readonly label: string; readonly value: string; readonly authors: readonly Author[] }
  /** No image.labels evidence, or the label absent or empty on every platform: nobody can be checked against it. */
  | { readonly kind: 'unknown'; readonly label: string; readonly reason: string };

/**
 * The authors of a release's image: the newest image.labels gate's evidence (any stage), the label's value
 * on every platform it lists (a multi-arch image's platforms may differ: all of them count).
 */
export function authorsOf(stages: ReadonlyArray<{ readonly gates: readonly GateLike[] }>, label: string): AuthorsFound {
  for (const stage of [...stages].reverse()) {
    for (const gate of [...stage.gates].reverse()) {
      if (gate.gate !== 'image.labels') continue;
      const platforms = (gate.evidence as { platforms?: unknown } | undefined)?.platforms;
      if (!Array.isArray(platforms)) continue;
      const values = [
        ...new Set(platforms.map((p) => (p as { labels?: Record<string, unknown> } | null)?.labels?.[label]).filter((v): v is string => typeof v === 'string' && v.trim() !== '')),
      ];
      if (values.length === 0) return { kind: 'unknown', label, reason: `the image has no ${label} label (as the image.labels gate recorded it)` };
      const value = values.join(', ');
      const authors = parseAuthors(value);
      if (authors.length === 0) return { kind: 'unknown', label, reason: `the image's ${label} label names nobody` };
      return { kind: 'found', label, value, authors };
    }
  }
  return { kind: 'unknown', label, reason: `no image.labels gate recorded the image's labels, so its ${label} label cannot be read` };
}

/**
 * The names that stand for the caller when it is compared with an author, lower case:
 * - the caller's IAM user name, role session name or federated user name (`alice@example.com` when
 *   the session is named after the email, as IAM Identity Center and SAML federation do);
 * - with `identity.persons`, the caller's person's key (`alice@example.com`, `alice`) and every user
 *   name and session name listed for that person.
 */
export function callerNames(caller: string, identity: IdentityPolicy | undefined): string[] {
  const names = new Set<string>();
  const p = parsePrincipalArn(caller);
  if (p.ok) {
    const n = p.principal.kind === 'assumed-role' ? p.principal.session : p.principal.kind === 'role' ? undefined : p.principal.name;
    if (n) names.add(n.toLowerCase());
  }
  const m = mappedPerson(caller, identity);
  if (m.kind === 'mapped') {
    names.add(m.person.toLowerCase());
    for (const entry of identity?.persons[m.person] ?? []) {
      const e = parsePersonPattern(entry);
      if (!e.ok) continue;
      if (e.pattern.kind === 'user') names.add(e.pattern.name.toLowerCase());
      if (e.pattern.kind === 'assumed-role' && e.pattern.session) names.add(e.pattern.session.toLowerCase());
    }
  }
  return [...names];
}

/**
 * The author the caller is, if any: an author whose email or name equals (ignoring case) one of
 * `callerNames`. A display name with a space never equals an IAM name: authors are best named by email,
 * with sessions named after the email or persons keyed by it (decision 050).
 */
export function authorOfCaller(caller: string, authors: readonly Author[], identity: IdentityPolicy | undefined): { author: Author; as: string } | undefined {
  const names = new Set(callerNames(caller, identity));
  for (const author of authors) {
    for (const candidate of [author.email, author.name]) {
      if (candidate && names.has(candidate.toLowerCase())) return { author, as: candidate };
    }
  }
  return undefined;
}

// ---------------------------------------------------------------- the count

/** One accepted approval, as recorded (`approval.recorded`, or the completing one in the gate's evidence). */
export interface ApprovalEntry {
  readonly principal: string;
  readonly person?: string;
  readonly decision: 'APPROVED' | 'REJECTED';
  readonly at: string;
  readonly comment?: string;
  readonly approver?: string;
  /** Whatever else the decision carried (a Terraform plan's `planSha256`). */
  readonly [extra: string]: unknown;
}

/** The ledger events this needs (a subset of LedgerEvent). */
export interface QuorumLedgerEvent {
  readonly seq: number;
  readonly type: string;
  readonly stage?: string;
  readonly at: string;
  readonly data: Record<string, unknown>;
}

/**
 * The approvals recorded for a stage and not yet closed by its `approval` gate, oldest first: the
 * `approval.recorded` events after the stage's approval request. Once the gate is recorded the count is
 * over, and an approval recorded after it (one that raced a rejection or the timeout) does not count.
 */
export function approvalsSoFar(events: readonly QuorumLedgerEvent[], stage: string): ApprovalEntry[] {
  let out: ApprovalEntry[] = [];
  let decided = false;
  for (const e of [...events].sort((a, b) => a.seq - b.seq)) {
    if (e.stage !== stage) continue;
    // A stage that asks again (a new Terraform plan, decision 049) counts again: only the current request's approvals.
    if (e.type === 'stage.waiting' && e.data.waitingFor === 'approval') {
      out = [];
      decided = false;
    }
    if (decided) continue;
    if (e.type === 'gate.evaluated' && e.data.gate === 'approval' && typeof e.data.decision === 'string') decided = true;
    else if (e.type === 'approval.recorded') out.push(entryOf(e.data, e.at));
  }
  return out;
}

/** An approval.recorded event's data as an entry (its `count`, `required` and request details left out). */
export function entryOf(data: Record<string, unknown>, at: string): ApprovalEntry {
  const { principal, person, decision, comment, approver, count: _count, required: _required, requestId: _r, sourceIp: _s, ...extra } = data;
  return {
    ...extra,
    principal: String(principal ?? ''),
    ...(typeof person === 'string' ? { person } : {}),
    decision: decision === 'REJECTED' ? 'REJECTED' : 'APPROVED',
    at,
    ...(typeof comment === 'string' ? { comment } : {}),
    ...(typeof approver === 'string' ? { approver } : {}),
  };
}

/** The earlier approval of the same person as the caller, if any (persons as segregation of duties compares them). */
export function earlierApprovalOf(caller: string, approvals: readonly ApprovalEntry[], identity: IdentityPolicy | undefined): ApprovalEntry | undefined {
  return approvals.find((a) => a.principal === caller || samePersonUnder(caller, a.principal, identity));
}

/** The person an approval is recorded under: the `identity.persons` person, else the IAM user or session name. */
export function personLabel(caller: string, identity: IdentityPolicy | undefined): string | undefined {
  const m = mappedPerson(caller, identity);
  if (m.kind === 'mapped') return m.person;
  const p = parsePrincipalArn(caller);
  if (!p.ok) return undefined;
  return p.principal.kind === 'assumed-role' ? p.principal.session : p.principal.kind === 'role' ? undefined : p.principal.name;
}

/** `1 of 2 approvals (alice)`: the count in words, with who. */
export function countWords(approvals: ReadonlyArray<Pick<ApprovalEntry, 'principal' | 'person'>>, required: number): string {
  const who = approvals.map((a) => a.person ?? a.principal).join(', ');
  return `${approvals.length} of ${required} approval${required === 1 ? '' : 's'}${who ? ` (${who})` : ''}`;
}

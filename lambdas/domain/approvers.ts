/**
 * Who may approve a stage: IAM/STS principal ARNs, approver matching and segregation of duties.
 * Pure: no AWS SDK, no clock.
 *
 * - An approver entry that is a role ARN (`arn:aws:iam::A:role[/path]/R`) matches every session of
 *   that role (`arn:aws:sts::A:assumed-role/R/<session>`: STS drops the role's path from session ARNs).
 *   A user entry matches that user; an assumed-role entry matches that one session exactly.
 *   IAM names are unique per account regardless of case, so role and user names match case-insensitively;
 *   partition and account must be equal (an entry in another account matches only callers of that account).
 * - Segregation of duties compares persons, not roles: the IAM user name, or the session name of an
 *   assumed role, within the same account. `assumed-role/Deployers/alice` and
 *   `assumed-role/ReleaseApprovers/alice` are the same person. Compared case-insensitively (a refusal
 *   too many is safer than a self-approval).
 * - With the config's `identity.persons`, two principals listed under one person are one person too,
 *   across accounts, roles and session names (an SSO session in another account, an IAM user, a
 *   session named `a.smith`). The mapping only adds refusals; `identity.requirePersons` refuses a
 *   caller or initiator it does not list. sts:SourceIdentity is not used: API Gateway's request
 *   context does not carry it (docs/decisions/023-approval-trust.md).
 * - A session name is chosen by whoever calls sts:AssumeRole unless the role's trust policy pins it
 *   (IAM Identity Center and SAML federation set it to the user; for plain AssumeRole, require
 *   `sts:RoleSessionName = ${aws:username}` in the approver and deployer roles' trust policies).
 * - When the initiator is not a principal that names a person (unknown, unattributed, a bare role not
 *   listed under a person), the approval is refused: segregation of duties cannot be checked, and the
 *   control fails closed. An unattributed release waiting for CloudTrail's record (a console start's
 *   StartExecution, a push's PutImage) is refused with `initiator-pending`, saying so: once the record
 *   arrives its approvals are decided as for any other start (decision 027).
 * - The API authorises a caller with decideApproval before it reads what a stage's record says was
 *   decided; a recorded decision is delivered only by its own approver (mayFinishDelivery). Refused
 *   callers are throttled per principal and per role (refusalBuckets, throttleWindow).
 */

// ---------------------------------------------------------------- the decision API contract

/** The approval API's one resource (API Gateway `resource`); POST with a DecisionBody. */
export const DECISION_RESOURCE = '/releases/{releaseId}/stages/{stage}/decision';
/** A release id is its execution name: 1–80 of [A-Za-z0-9_-]. */
export const RELEASE_ID_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;
/** The longest comment a decision may carry. */
export const COMMENT_MAX = 1000;

/** The path of one stage's decision: `/releases/<releaseId>/stages/<stage>/decision`. */
export function decisionPath(releaseId: string, stage: string): string {
  return `/releases/${encodeURIComponent(releaseId)}/stages/${encodeURIComponent(stage)}/decision`;
}

// ---------------------------------------------------------------- principals

export type PrincipalKind = 'user' | 'role' | 'assumed-role' | 'federated-user' | 'root';

export interface Principal {
  readonly arn: string;
  readonly kind: PrincipalKind;
  readonly partition: string;
  readonly account: string;
  /** user, role: the IAM path ('/' when none). */
  readonly path?: string;
  /** user, role, federated-user: the name; assumed-role: the role name. */
  readonly name?: string;
  /** assumed-role: the session name. */
  readonly session?: string;
}

export type ParsedPrincipal = { readonly ok: true; readonly principal: Principal } | { readonly ok: false; readonly reason: string };

const PARTITION = /^aws(-[a-z]+)*$/;
const ACCOUNT = /^\d{12}$/;
/** IAM user and role names: 1–64 of [A-Za-z0-9+=,.@_-]. */
const IAM_NAME = /^[\w+=,.@-]{1,64}$/;
/** STS role session names: 2–64 of the same characters. Federated user names: 2–32. */
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const FEDERATED_NAME = /^[\w+=,.@-]{2,32}$/;
/** IAM paths: `/` or `/segments/`, printable ASCII without spaces. */
const IAM_PATH = /^\/(?:[\x21-\x2e\x30-\x7e]+\/)*$/;

const show = (s: string): string => JSON.stringify(s.length > 120 ? `${s.slice(0, 117)}...` : s);

/** Parse an IAM or STS principal ARN; a malformed one gives the reason, naming the part that is wrong. */
export function parsePrincipalArn(arn: unknown): ParsedPrincipal {
  const bad = (why: string): ParsedPrincipal => ({ ok: false, reason: `${typeof arn === 'string' ? show(arn) : String(arn)} is not an IAM principal ARN: ${why}` });
  if (typeof arn !== 'string' || arn.trim() === '') return bad('expected arn:<partition>:iam|sts::<account>:<resource>, got nothing');
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') return bad('expected arn:<partition>:iam|sts::<account>:<resource>');
  if (parts.length > 6) return bad('the resource part contains ":"');
  const [, partition = '', service = '', region = '', account = '', resource = ''] = parts;
  if (!PARTITION.test(partition)) return bad(`partition ${show(partition)} is not aws, aws-cn, aws-us-gov, ...`);
  if (service !== 'iam' && service !== 'sts') return bad(`service ${show(service)} is neither iam nor sts`);
  if (region !== '') return bad(`IAM and STS ARNs have no region, got ${show(region)}`);
  if (!ACCOUNT.test(account)) return bad(`account ${show(account)} is not 12 digits`);
  const base = { arn, partition, account };

  if (service === 'iam' && resource === 'root') return { ok: true, principal: { ...base, kind: 'root' } };
  const slash = resource.indexOf('/');
  const type = slash < 0 ? resource : resource.slice(0, slash);
  const rest = slash < 0 ? '' : resource.slice(slash + 1);

  if (service === 'iam' && (type === 'user' || type === 'role')) {
    const cut = rest.lastIndexOf('/');
    const name = rest.slice(cut + 1);
    const path = cut < 0 ? '/' : `/${rest.slice(0, cut + 1)}`;
    if (!IAM_NAME.test(name)) return bad(`${type} name ${show(name)} is not 1-64 of letters, digits and +=,.@_-`);
    if (!IAM_PATH.test(path)) return bad(`path ${show(path)} is not a valid IAM path`);
    return { ok: true, principal: { ...base, kind: type, path, name } };
  }
  if (service === 'sts' && type === 'assumed-role') {
    const segments = rest.split('/');
    if (segments.length !== 2) return bad('an assumed-role ARN is assumed-role/<role name>/<session name> (STS leaves the role path out)');
    const [name = '', session = ''] = segments;
    if (!IAM_NAME.test(name)) return bad(`role name ${show(name)} is not 1-64 of letters, digits and +=,.@_-`);
    if (!SESSION_NAME.test(session)) return bad(`session name ${show(session)} is not 2-64 of letters, digits and +=,.@_-`);
    return { ok: true, principal: { ...base, kind: 'assumed-role', name, session } };
  }
  if (service === 'sts' && type === 'federated-user') {
    if (!FEDERATED_NAME.test(rest)) return bad(`federated user name ${show(rest)} is not 2-32 of letters, digits and +=,.@_-`);
    return { ok: true, principal: { ...base, kind: 'federated-user', name: rest } };
  }
  const allowed = service === 'iam' ? 'user/<name>, role/<name> or root' : 'assumed-role/<role>/<session> or federated-user/<name>';
  return bad(`${service} resource ${show(resource)} is not ${allowed}`);
}

const sameName = (a: string | undefined, b: string | undefined): boolean => a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
const sameAccount = (a: Principal, b: Principal): boolean => a.partition === b.partition && a.account === b.account;

/** Whether one parsed approver entry admits one parsed caller (see the module comment for the rules). */
function entryAdmits(entry: Principal, caller: Principal): boolean {
  if (!sameAccount(entry, caller)) return false;
  switch (entry.kind) {
    case 'role':
      // Every session of the role (and the role itself, which a signed request never carries).
      return (caller.kind === 'assumed-role' || caller.kind === 'role') && sameName(entry.name, caller.name);
    case 'user':
      return caller.kind === 'user' && sameName(entry.name, caller.name);
    case 'assumed-role':
      return caller.kind === 'assumed-role' && sameName(entry.name, caller.name) && entry.session === caller.session;
    default:
      // root and federated-user entries admit nobody: the config schema refuses them, and an account
      // root is never a release approver.
      return false;
  }
}

/** The first approver entry that admits the caller, or undefined (a malformed caller or entry admits nothing). */
export function matchingApprover(caller: string, approvers: readonly string[]): string | undefined {
  const c = parsePrincipalArn(caller);
  if (!c.ok) return undefined;
  return approvers.find((entry) => {
    const e = parsePrincipalArn(entry);
    return e.ok && entryAdmits(e.principal, c.principal);
  });
}

/** Whether the caller matches an entry of `approvers`. */
export function matchesApprover(caller: string, approvers: readonly string[]): boolean {
  return matchingApprover(caller, approvers) !== undefined;
}

/**
 * The person behind a principal, as a comparable key, or undefined when the principal names no person
 * (a bare role). user → its name; assumed-role → its session name; federated-user → its name; root → root.
 */
export function personOf(principal: Principal): string | undefined {
  const scope = `${principal.partition}:${principal.account}`;
  switch (principal.kind) {
    case 'user':
    case 'federated-user':
      return `${scope}:person:${(principal.name ?? '').toLowerCase()}`;
    case 'assumed-role':
      return `${scope}:person:${(principal.session ?? '').toLowerCase()}`;
    case 'root':
      return `${scope}:root`;
    default:
      return undefined;
  }
}

/**
 * Whether two principal ARNs are the same person: the same IAM user name or assumed-role session name
 * (a user `alice` and a session `alice` count as one person too) in the same account. Two identical
 * ARNs are always the same; malformed ARNs and bare roles are the same person only as identical ARNs.
 */
export function samePerson(a: string, b: string): boolean {
  if (a === b) return true;
  const pa = parsePrincipalArn(a);
  const pb = parsePrincipalArn(b);
  if (!pa.ok || !pb.ok) return false;
  const ka = personOf(pa.principal);
  const kb = personOf(pb.principal);
  if (ka === undefined || kb === undefined)
    return pa.principal.kind === pb.principal.kind && sameAccount(pa.principal, pb.principal) && sameName(pa.principal.name, pb.principal.name);
  return ka === kb;
}

// ---------------------------------------------------------------- persons (config `identity`)

/**
 * The config's `identity` section (lambdas/domain/config.ts): which principals are which person.
 * Established from the principal ARN API Gateway verified (and CloudTrail recorded), never from a
 * name the caller picks — unless a listed entry names a session, which is only as good as the role's
 * pinning of session names (docs/security.md).
 */
export interface IdentityPolicy {
  /** person → the principal patterns that are that person (parsePersonPattern). */
  readonly persons: Readonly<Record<string, readonly string[]>>;
  /** Refuse an approval when the person behind the caller or the initiator is not established by `persons`. */
  readonly requirePersons: boolean;
}

/** A person's key in `identity.persons`: a label such as `alice` or `alice@example.com`. */
export const PERSON_NAME = /^[A-Za-z0-9][\w+=,.@-]{0,127}$/;

/** One parsed `identity.persons` entry. */
export interface PersonPattern {
  readonly entry: string;
  readonly partition: string;
  readonly account: string;
  /** user: that IAM user; role: every session of that role; assumed-role: that session of that role (or of roles whose name starts with `rolePrefix`). */
  readonly kind: 'user' | 'role' | 'assumed-role';
  /** user, role: the name; assumed-role: the role name, or the prefix before `*` when `rolePrefix`. */
  readonly name: string;
  /** assumed-role: the role name is a prefix (`AWSReservedSSO_Approver_*`). */
  readonly rolePrefix?: boolean;
  readonly session?: string;
}

const WILDCARD_SESSION_PATTERN = /^arn:(aws(?:-[a-z]+)*):sts::(\d{12}):assumed-role\/([\w+=,.@-]{1,63})\*\/([\w+=,.@-]{2,64})$/;

/**
 * Parse an `identity.persons` entry. Allowed: an IAM user ARN (that user), an IAM role ARN (every
 * session of a role that one person alone can assume, such as a personal break-glass role), an
 * assumed-role ARN `arn:aws:sts::<account>:assumed-role/<role>/<session>` (that session name of that
 * role), where the role name may end in one `*` after a non-empty prefix — IAM Identity Center names
 * its roles `AWSReservedSSO_<permission set>_<random suffix>`. No other wildcard anywhere: not in the
 * account, not in a user or session name (that would make many people one, or a caller-chosen name a person).
 */
export function parsePersonPattern(entry: unknown): { ok: true; pattern: PersonPattern } | { ok: false; reason: string } {
  const allowed = 'expected an IAM user ARN, an IAM role ARN, or an assumed-role ARN arn:aws:sts::<account>:assumed-role/<role>/<session>';
  if (typeof entry !== 'string') return { ok: false, reason: allowed };
  if (entry.includes('*')) {
    const m = WILDCARD_SESSION_PATTERN.exec(entry);
    if (!m)
      return {
        ok: false,
        reason: 'expected * only once, at the end of the role name of an assumed-role entry, after a prefix (assumed-role/AWSReservedSSO_Dev_*/alice@example.com)',
      };
    const [, partition = '', account = '', prefix = '', session = ''] = m;
    return { ok: true, pattern: { entry, partition, account, kind: 'assumed-role', name: prefix, rolePrefix: true, session } };
  }
  const p = parsePrincipalArn(entry);
  if (!p.ok) return { ok: false, reason: `${allowed} (${p.reason})` };
  const { kind, partition, account, name = '', session } = p.principal;
  // IAM user names are unique in an account whatever their path: the path plays no part.
  if (kind === 'user') return { ok: true, pattern: { entry, partition, account, kind, name } };
  if (kind === 'role') return { ok: true, pattern: { entry, partition, account, kind, name } };
  if (kind === 'assumed-role') return { ok: true, pattern: { entry, partition, account, kind, name, ...(session ? { session } : {}) } };
  return { ok: false, reason: `${allowed} (an account root or a federated user is no person Gantry can tell apart)` };
}

/** Whether some principal ARN matches both patterns (then it would belong to two persons). */
export function patternsOverlap(a: PersonPattern, b: PersonPattern): boolean {
  if (a.partition !== b.partition || a.account !== b.account) return false;
  const lc = (s: string | undefined) => (s ?? '').toLowerCase();
  // Role names that both patterns admit: equal, or one a prefix pattern the other name (or prefix) starts with.
  const rolesMeet = (x: PersonPattern, y: PersonPattern): boolean => {
    const [xn, yn] = [lc(x.name), lc(y.name)];
    if (x.rolePrefix && y.rolePrefix) return xn.startsWith(yn) || yn.startsWith(xn);
    if (x.rolePrefix) return yn.startsWith(xn);
    if (y.rolePrefix) return xn.startsWith(yn);
    return xn === yn;
  };
  if (a.kind === 'user' || b.kind === 'user') {
    return a.kind === 'user' && b.kind === 'user' && lc(a.name) === lc(b.name);
  }
  if (a.kind === 'assumed-role' && b.kind === 'assumed-role' && lc(a.session) !== lc(b.session)) return false;
  return rolesMeet(a, b);
}

/** Whether one parsed pattern is the principal. Names compare regardless of case, as IAM's do. */
function patternMatches(p: PersonPattern, c: Principal): boolean {
  if (p.partition !== c.partition || p.account !== c.account) return false;
  const cname = (c.name ?? '').toLowerCase();
  switch (p.kind) {
    case 'user':
      return c.kind === 'user' && cname === p.name.toLowerCase();
    case 'role':
      return (c.kind === 'assumed-role' || c.kind === 'role') && cname === p.name.toLowerCase();
    case 'assumed-role': {
      if (c.kind !== 'assumed-role' || (c.session ?? '').toLowerCase() !== (p.session ?? '').toLowerCase()) return false;
      return p.rolePrefix ? cname.startsWith(p.name.toLowerCase()) : cname === p.name.toLowerCase();
    }
  }
}

export type PersonOf =
  /** Listed under exactly one person (by `entries` of that person). */
  | { readonly kind: 'mapped'; readonly person: string; readonly entries: readonly string[] }
  /** Listed under more than one person: nothing can be concluded. */
  | { readonly kind: 'ambiguous'; readonly persons: readonly string[] }
  /** Listed under nobody, or not a principal ARN. */
  | { readonly kind: 'unmapped' };

/** The person `identity.persons` says is behind a principal ARN. */
export function mappedPerson(arn: string | undefined | null, policy: IdentityPolicy | undefined): PersonOf {
  if (!policy || !arn) return { kind: 'unmapped' };
  const parsed = parsePrincipalArn(arn);
  if (!parsed.ok) return { kind: 'unmapped' };
  const hits = new Map<string, string[]>();
  for (const [person, entries] of Object.entries(policy.persons)) {
    for (const entry of entries) {
      const p = parsePersonPattern(entry);
      if (p.ok && patternMatches(p.pattern, parsed.principal)) hits.set(person, [...(hits.get(person) ?? []), entry]);
    }
  }
  if (hits.size === 0) return { kind: 'unmapped' };
  if (hits.size > 1) return { kind: 'ambiguous', persons: [...hits.keys()].sort() };
  const [[person, entries]] = [...hits.entries()] as [[string, string[]]];
  return { kind: 'mapped', person, entries };
}

/**
 * Whether two principals are the same person: both listed under the same person of `identity.persons`,
 * or the same by name (samePerson: the same IAM user or session name in one account). The mapping only
 * ever adds people to compare as one; it never makes two principals of one name different.
 */
export function samePersonUnder(a: string, b: string, policy: IdentityPolicy | undefined): boolean {
  if (samePerson(a, b)) return true;
  const pa = mappedPerson(a, policy);
  const pb = mappedPerson(b, policy);
  return pa.kind === 'mapped' && pb.kind === 'mapped' && pa.person === pb.person;
}

export type RefusalCode =
  | 'malformed-caller'
  | 'not-an-approver'
  | 'initiator-unknown'
  | 'initiator-pending'
  | 'person-unknown'
  | 'person-ambiguous'
  | 'self-approval'
  /** The caller is an author of the image (`approval.excludeAuthors`, decision 050). */
  | 'author'
  /** `approval.excludeAuthors` is on and the image's authors cannot be read: nobody may decide (fails closed). */
  | 'author-unknown'
  /** The caller's person has already approved the stage: one decision per person (decision 050). */
  | 'same-person';

/** Why a release's initiator may still become known: the CloudTrail record it waits for (decision 027). */
const AWAITED: Record<'StartExecution' | 'PutImage', string> = {
  StartExecution:
    "initiator not known yet: waiting for CloudTrail's StartExecution record of this execution (it names who started it from the console; CloudTrail usually delivers it within 15 minutes)",
  PutImage: "initiator not known yet: waiting for CloudTrail's PutImage record of this push (it names the pusher; CloudTrail usually delivers it within 15 minutes)",
};

export type ApprovalVerdict =
  | {
      readonly ok: true;
      readonly approver: string;
      /** The persons `identity.persons` establishes, when it does (evidence for the record). */
      readonly callerPerson?: string;
      readonly initiatorPerson?: string;
    }
  | { readonly ok: false; readonly code: RefusalCode; readonly reason: string };

/**
 * May `caller` decide the approval of a release started by `initiator`? Accepted only when the caller
 * matches an approver entry and is not the initiator as a person: not by name (samePerson) and not by
 * `identity.persons`. Fails closed: an initiator that names no person, a principal listed under two
 * persons, and (with `identity.requirePersons`) a caller or initiator listed under nobody are refused.
 * Every refusal says why. Decided from the caller's verified ARN, the config and the recorded initiator
 * only: nothing here reads what a stage's record says was decided.
 */
export function decideApproval(args: {
  caller: string;
  initiator: string | undefined | null;
  approvers: readonly string[];
  identity?: IdentityPolicy | undefined;
  /** The release is unattributed and waits for this CloudTrail record (lambdas/domain/release.ts awaitedAttribution). */
  awaiting?: 'StartExecution' | 'PutImage' | undefined;
}): ApprovalVerdict {
  const { caller, initiator, approvers, identity, awaiting } = args;
  const c = parsePrincipalArn(caller);
  if (!c.ok) return { ok: false, code: 'malformed-caller', reason: c.reason };
  const approver = matchingApprover(caller, approvers);
  if (!approver) {
    return {
      ok: false,
      code: 'not-an-approver',
      reason: `${caller} is not an approver of this stage (approvers: ${approvers.length ? approvers.join(', ') : 'none'})`,
    };
  }
  const i = parsePrincipalArn(initiator ?? '');
  const initiatorMapped = mappedPerson(i.ok ? (initiator as string) : undefined, identity);
  const initiatorNamed = i.ok ? personOf(i.principal) : undefined;
  if (!i.ok && awaiting) {
    // Refused for now, not for ever: the stage's approval timeout bounds the wait.
    return {
      ok: false,
      code: 'initiator-pending',
      reason: `${AWAITED[awaiting]}; segregation of duties cannot be checked until then, so nobody may approve yet: try again when it has arrived (the approval's own timeout bounds the wait)`,
    };
  }
  if (!i.ok || (initiatorNamed === undefined && initiatorMapped.kind !== 'mapped')) {
    return {
      ok: false,
      code: 'initiator-unknown',
      reason: `the release's initiator (${initiator ? show(initiator) : 'none recorded'}) names no person, so segregation of duties cannot be checked: nobody may approve it`,
    };
  }
  const callerMapped = mappedPerson(caller, identity);
  for (const [who, arn, m] of [
    ['caller', caller, callerMapped],
    ["release's initiator", initiator as string, initiatorMapped],
  ] as const) {
    if (m.kind === 'ambiguous') {
      return {
        ok: false,
        code: 'person-ambiguous',
        reason: `the ${who} ${arn} is listed under more than one person in identity.persons (${m.persons.join(', ')}), so segregation of duties cannot be checked`,
      };
    }
    if (identity?.requirePersons && m.kind !== 'mapped') {
      return {
        ok: false,
        code: 'person-unknown',
        reason: `the person behind the ${who} ${arn} cannot be established: no identity.persons entry matches it, and identity.requirePersons is on`,
      };
    }
  }
  if (samePersonUnder(caller, initiator as string, identity)) {
    const as = callerMapped.kind === 'mapped' ? ` (person ${callerMapped.person})` : '';
    return {
      ok: false,
      code: 'self-approval',
      reason: `${caller}${as} is the person who started this release (as ${initiator}): segregation of duties forbids approving one's own release, under any role or account`,
    };
  }
  return {
    ok: true,
    approver,
    ...(callerMapped.kind === 'mapped' ? { callerPerson: callerMapped.person } : {}),
    ...(initiatorMapped.kind === 'mapped' ? { initiatorPerson: initiatorMapped.person } : {}),
  };
}

/**
 * Whether a request may finish delivering a decision already recorded for the stage (one whose
 * delivery to the workflow failed after it was recorded): only the recorded approver, repeating the
 * recorded decision — a client retry of its own request. The caller must have been authorised first
 * (decideApproval). Anyone else, approver or not, gets "already decided" and no task token is sent.
 */
export function mayFinishDelivery(recorded: { readonly decision: string; readonly principal?: string | undefined }, caller: string, decision: 'APPROVED' | 'REJECTED'): boolean {
  return (recorded.decision === 'APPROVED' || recorded.decision === 'REJECTED') && recorded.principal === caller && recorded.decision === decision;
}

// ---------------------------------------------------------------- throttling refused callers

/** Refusals one principal ARN may get per minute; past it the API answers 429 and records nothing. */
export const REFUSALS_PER_PRINCIPAL_PER_MINUTE = 10;
/**
 * Refusals all sessions of one role (or one IAM user) may get per minute together: a session name is
 * the caller's to pick, so a flood from one role under ever-new session names is bounded too.
 */
export const REFUSALS_PER_ROLE_PER_MINUTE = 60;

export interface ThrottleBucket {
  /** `principal:<arn>` or `role:<partition>:<account>:<role name, lower case>`. */
  readonly key: string;
  readonly limit: number;
}

/** The counters a refusal of `caller` counts against: its ARN, and (for a role session) its role. */
export function refusalBuckets(caller: string): ThrottleBucket[] {
  const buckets: ThrottleBucket[] = [{ key: `principal:${caller}`, limit: REFUSALS_PER_PRINCIPAL_PER_MINUTE }];
  const p = parsePrincipalArn(caller);
  if (p.ok && p.principal.kind === 'assumed-role') {
    buckets.push({ key: `role:${p.principal.partition}:${p.principal.account}:${(p.principal.name ?? '').toLowerCase()}`, limit: REFUSALS_PER_ROLE_PER_MINUTE });
  }
  return buckets;
}

/** The fixed one-minute window `at` falls in (`2026-11-24T10:07`), and when its counters may be deleted. */
export function throttleWindow(at: Date): { readonly window: string; readonly expiresAt: string } {
  const start = Math.floor(at.getTime() / 60_000) * 60_000;
  return { window: new Date(start).toISOString().slice(0, 16), expiresAt: new Date(start + 60 * 60_000).toISOString() };
}

// ---------------------------------------------------------------- the state of a stage's approval

/** The ledger events this needs (a subset of LedgerEvent). */
export interface ApprovalLedgerEvent {
  readonly seq: number;
  readonly type: string;
  readonly stage?: string;
  readonly at: string;
  readonly data: Record<string, unknown>;
}

export type ApprovalState =
  /** No approval was requested for the stage (yet). */
  | { readonly kind: 'not-requested' }
  /** Requested and not decided. */
  | { readonly kind: 'waiting'; readonly since: string; readonly expiresAt?: string }
  /** Decided: APPROVED, REJECTED or TIMED_OUT, by whom and when. */
  | { readonly kind: 'decided'; readonly decision: string; readonly principal?: string; readonly comment?: string; readonly at: string };

/** Fold a release's events into the state of one stage's approval. */
export function approvalState(events: readonly ApprovalLedgerEvent[], stage: string): ApprovalState {
  let state: ApprovalState = { kind: 'not-requested' };
  for (const e of [...events].sort((a, b) => a.seq - b.seq)) {
    if (e.stage !== stage) continue;
    if (e.type === 'stage.waiting' && e.data.waitingFor === 'approval') {
      state = { kind: 'waiting', since: e.at, ...(typeof e.data.expiresAt === 'string' ? { expiresAt: e.data.expiresAt } : {}) };
    } else if (e.type === 'gate.evaluated' && e.data.gate === 'approval' && typeof e.data.decision === 'string') {
      state = {
        kind: 'decided',
        decision: e.data.decision,
        at: e.at,
        ...(typeof e.data.principal === 'string' ? { principal: e.data.principal } : {}),
        ...(typeof e.data.comment === 'string' ? { comment: e.data.comment } : {}),
      };
    }
  }
  return state;
}

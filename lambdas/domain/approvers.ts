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
 * - A session name is chosen by whoever calls sts:AssumeRole unless the role's trust policy pins it
 *   (IAM Identity Center and SAML federation set it to the user; for plain AssumeRole, require
 *   `sts:RoleSessionName = ${aws:username}` in the approver and deployer roles' trust policies).
 * - When the initiator is not a principal that names a person (unknown, unattributed, a bare role),
 *   the approval is refused: segregation of duties cannot be checked, and the control fails closed.
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
  if (ka === undefined || kb === undefined) return pa.principal.kind === pb.principal.kind && sameAccount(pa.principal, pb.principal) && sameName(pa.principal.name, pb.principal.name);
  return ka === kb;
}

export type RefusalCode = 'malformed-caller' | 'not-an-approver' | 'initiator-unknown' | 'self-approval';

export type ApprovalVerdict =
  | { readonly ok: true; readonly approver: string }
  | { readonly ok: false; readonly code: RefusalCode; readonly reason: string };

/**
 * May `caller` decide the approval of a release started by `initiator`? Accepted only when the caller
 * matches an approver entry and is not the initiator (as a person). Every refusal says why.
 */
export function decideApproval(args: { caller: string; initiator: string | undefined | null; approvers: readonly string[] }): ApprovalVerdict {
  const { caller, initiator, approvers } = args;
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
  const initiatorPerson = i.ok ? personOf(i.principal) : undefined;
  if (!i.ok || initiatorPerson === undefined) {
    return {
      ok: false,
      code: 'initiator-unknown',
      reason: `the release's initiator (${initiator ? show(initiator) : 'none recorded'}) names no person, so segregation of duties cannot be checked: nobody may approve it`,
    };
  }
  if (samePerson(caller, initiator as string)) {
    return {
      ok: false,
      code: 'self-approval',
      reason: `${caller} is the person who started this release (as ${initiator}): segregation of duties forbids approving one's own release, under any role`,
    };
  }
  return { ok: true, approver };
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

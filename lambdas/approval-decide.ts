/**
 * The approval API's Lambda (API Gateway REST, Lambda proxy integration, AWS_IAM authorization).
 *
 *   POST /releases/{releaseId}/stages/{stage}/decision
 *   body: { "decision": "approve" | "reject", "comment"?: string (≤ 1000 characters), "planSha256"?: string (decision 049) }
 *
 * The caller is the IAM principal API Gateway verified: `requestContext.identity.userArn`. Nothing in
 * the body says who decides. Responses (JSON, never a task token):
 *   200 { releaseId, stage, decision: APPROVED | REJECTED, principal, comment?, at, count, required, outcome }
 *       the decision is applied; `outcome` says what it did to the stage: APPROVED (the count is complete and
 *       the stage goes on), WAITING (recorded, `count` of `required` approvals are in: it waits for more) or
 *       REJECTED (the stage ends)
 *   400 { message, problems: ["body.decision: expected one of ...", ...] }           invalid path, body or JSON
 *   403 { message, refused: true, code, principal }  refused (not an approver, self-approval, an author of the
 *       image (`author`, `author-unknown`), a person who already approved (`same-person`), unknown
 *       initiator or person, initiator not known yet (`initiator-pending`: CloudTrail's record has not
 *       arrived; try again), malformed caller): recorded as a refusal item, and the release keeps waiting.
 *       Also 403 (not recorded) when the request carries no IAM caller at all.
 *   404 { message }  no such release, or the release has no such stage
 *   405 { message }  not POST
 *   409 { message }  "no approval is waiting for <stage> of <release>" (not requested, already decided,
 *       timed out, release finished, or another decision claimed it first); or a stage that applies a saved
 *       Terraform plan approved without naming its current sha256 (`planSha256`), nothing recorded (decision 049)
 *   429 { message, retryAfterSeconds }  this caller was refused too often this minute: nothing read or recorded
 *   500 { message, requestId }  internal error: nothing was applied; retrying is safe
 *
 * Order, so that nothing in the ledger can speak for a caller: (1) the caller from the request context;
 * (2) the caller's refusal budget; (3) the release's initiator and the stage's approvers from the config;
 * (4) **authorisation** — approver, and not the initiator as a person — before anything about the
 * stage's approval is read; (5) only then the approval's state.
 *
 * N-of-M (decision 050): with `approval.required` > 1, an accepted approval that does not complete the count
 * is recorded as `approval.recorded` under the step key of its place in the count (`approval:<n>`): of two
 * persons racing for one place, one writes it and the other counts again and takes the next (or completes
 * the count). Such an approval touches no task token. Only the approval that completes the count, or a
 * rejection, goes on as below.
 *
 * Exactly once, and only by the request that recorded it: an accepted decision claims the stage's
 * APPROVAL token (a conditional delete), records the `approval` gate, publishes `Approval Decided` and
 * reports to Step Functions (trying twice). If that fails, the token is put back and the answer is 500;
 * the same principal repeating the same decision finishes the delivery of the recorded one. A decision
 * found already recorded is never delivered for anyone else — approver or not: they get 409, no task
 * token is sent, and a delivery nobody finishes ends with the workflow's approval timeout.
 */
import * as z from 'zod';
import {
  type ApprovalEntry,
  approvalsSoFar,
  authorOfCaller,
  authorsOf,
  countWords,
  earlierApprovalOf,
  entryOf,
  MAX_REQUIRED_APPROVALS,
  personLabel,
  type QuorumPolicy,
  quorumPolicy,
} from './domain/approval-quorum';
import {
  type ApprovalState,
  approvalState,
  type ApprovalVerdict,
  COMMENT_MAX,
  DECISION_RESOURCE,
  decideApproval,
  mayFinishDelivery,
  RELEASE_ID_PATTERN,
  type RefusalCode,
  refusalBuckets,
  throttleWindow,
} from './domain/approvers';
import { K8S_NAME_PATTERN } from './domain/config';
import { type LedgerEvent, projectRelease, type ReleaseSummary } from './domain/ledger';
import { awaitedAttribution } from './domain/release';
import { formatIssues } from './domain/validation';
import type { Deps, TokenRecord } from './ports';
import { type ApiEvent, readJsonBody, requestIdOf } from './shared/api-gateway';
import { lambdaHandler, logger } from './shared/middleware';
import { announce, ReleaseNotFoundError, record, stageConfigOf } from './shared/recorder';
import { approvalGateStepOf, approvalRecordedStep, checkPlanApproval, SHA256_HEX } from './domain/plan-approval';

export { COMMENT_MAX, DECISION_RESOURCE, RELEASE_ID_PATTERN } from './domain/approvers';
/**
 * An approval is closed this long before the token expires: the workflow's task may time out a moment
 * before the stored expiry (it started before approval-request ran), and a decision sent into a timed
 * out task would be recorded but never acted on.
 */
export const CLOSING_MARGIN_MS = 60_000;
/** Attempts of SendTaskSuccess/Failure by the request that recorded the decision (each with the SDK's own retries). */
export const DELIVERY_ATTEMPTS = 2;

export interface ApiResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export type DecisionRequest = {
  readonly releaseId: string;
  readonly stage: string;
  readonly decision: 'approve' | 'reject';
  readonly comment?: string;
  /** Fields the decision carries into its record beside the principal and comment (a Terraform plan's `planSha256`). */
  readonly extra?: Readonly<Record<string, unknown>>;
  /** Decision 049: the sha256 of the saved Terraform plan decided on (lambdas/domain/plan-approval.ts); recorded through `extra`. */
  readonly planSha256?: string;
};

const requestSchema = z.object({
  path: z.object({
    releaseId: z.string().regex(RELEASE_ID_PATTERN, 'expected a release id (1-80 of A-Z a-z 0-9 _ -)'),
    stage: z.string().regex(K8S_NAME_PATTERN, 'expected a stage name (a Kubernetes DNS label)'),
  }),
  body: z.strictObject({
    decision: z.enum(['approve', 'reject']),
    comment: z
      .string()
      .max(COMMENT_MAX, `expected at most ${COMMENT_MAX} characters`)
      .regex(/^[^\u0000-\u0008\u000b-\u001f\u007f]*$/, 'expected text without control characters (newlines and tabs are fine)')
      .optional(),
    planSha256: z.string().regex(SHA256_HEX, 'expected the sha256 of the saved plan (64 lowercase hex digits)').optional(),
  }),
});

const JSON_HEADERS = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' };

function respond(statusCode: number, body: Record<string, unknown>, headers: Record<string, string> = {}): ApiResponse {
  return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

const noApproval = (stage: string, releaseId: string, why: string): ApiResponse => respond(409, { message: `no approval is waiting for ${stage} of ${releaseId}: ${why}` });

/** Replace every occurrence of the token in a text (an SDK error message may quote it). */
function scrub(text: string, token: string | undefined): string {
  return token ? text.split(token).join('[task token]') : text;
}

interface Caller {
  readonly arn: string;
  readonly requestId: string;
  readonly sourceIp?: string;
}

export async function run(event: unknown, deps: Deps): Promise<ApiResponse> {
  const ev = (event ?? {}) as ApiEvent;
  const ctx = ev.requestContext;
  const requestId = requestIdOf(event);
  let token: string | undefined;
  try {
    if ((ev.httpMethod ?? ctx?.httpMethod) !== 'POST') return respond(405, { message: `use POST ${DECISION_RESOURCE}` });
    const arn = ctx?.identity?.userArn;
    if (typeof arn !== 'string' || arn === '') {
      return respond(403, { message: 'the request carries no IAM caller (requestContext.identity.userArn): the decision API needs AWS_IAM authorization' });
    }
    const body = readJsonBody(ev);
    if (!body.ok) return respond(400, { message: 'the request is invalid', problems: ['body: expected a JSON object, got text that is not JSON'] });
    const raw = { path: ev.pathParameters ?? {}, body: body.value ?? {} };
    const parsed = requestSchema.safeParse(raw);
    if (!parsed.success) return respond(400, { message: 'the request is invalid', problems: formatIssues(parsed.error.issues, raw) });
    const caller: Caller = { arn, requestId, ...(ctx?.identity?.sourceIp ? { sourceIp: ctx.identity.sourceIp } : {}) };
    const { path, body: request } = parsed.data;
    return await decide(
      deps,
      caller,
      {
        releaseId: path.releaseId,
        stage: path.stage,
        decision: request.decision,
        ...(request.comment !== undefined ? { comment: request.comment } : {}),
        // Decision 049: checked against the stage's plan in decide(), and recorded with the decision through `extra`.
        ...(request.planSha256 !== undefined ? { planSha256: request.planSha256, extra: { planSha256: request.planSha256 } } : {}),
      },
      (t) => {
        token = t;
      },
    );
  } catch (err) {
    if (err instanceof ReleaseNotFoundError) return respond(404, { message: err.message });
    const e = err as Error;
    logger.error('approval decision failed', { requestId, error: { name: e?.name, message: scrub(String(e?.message ?? err), token) } });
    return respond(500, { message: 'internal error: the decision was not applied; retrying is safe', requestId });
  }
}

function tooManyRefusals(caller: Caller, limit: number, scope: string, windowEnd: number, now: Date): ApiResponse {
  const retryAfterSeconds = Math.max(1, Math.ceil((windowEnd - now.getTime()) / 1000));
  return respond(
    429,
    {
      message: `too many refused decisions from ${scope} (at most ${limit} a minute): nothing was read or recorded; try again in ${retryAfterSeconds} s`,
      retryAfterSeconds,
      principal: caller.arn,
    },
    { 'Retry-After': String(retryAfterSeconds) },
  );
}

async function decide(deps: Deps, caller: Caller, req: DecisionRequest, holding: (token: string | undefined) => void): Promise<ApiResponse> {
  const { releaseId, stage } = req;
  const now = deps.now();
  const { window } = throttleWindow(now);
  const windowEnd = Date.parse(`${window}:00.000Z`) + 60_000;
  // A caller refused its fill this minute is answered before anything is read. (Only its own counter:
  // a role's shared counter limits recording refusals, never an approver who is not refused.)
  const [own] = refusalBuckets(caller.arn);
  if (own && (await deps.ledger.throttleUsed(own.key, window)) >= own.limit) return tooManyRefusals(caller, own.limit, caller.arn, windowEnd, now);

  const events: LedgerEvent[] = await deps.ledger.events(releaseId);
  const release = projectRelease(events);
  if (!release) return respond(404, { message: `release ${releaseId} not found` });
  if (!release.stages.some((s) => s.name === stage)) {
    return respond(404, { message: `release ${releaseId} has no stage ${stage} (stages: ${release.stages.map((s) => s.name).join(', ')})` });
  }
  const { st } = stageConfigOf(deps, release.service, stage);
  if (!st.approval) return noApproval(stage, releaseId, `stage ${stage} of ${release.service} needs no approval`);

  // Authorise first, from the verified caller, the config and the recorded initiator alone: nothing the
  // stage's record says was decided can speak for this caller.
  const verdict = decideApproval({
    caller: caller.arn,
    initiator: release.initiator,
    approvers: st.approval.approvers,
    identity: deps.config.identity,
    awaiting: awaitedAttribution(release.initiator),
  });
  if (!verdict.ok) return refuse(deps, caller, req, verdict.code, verdict.reason, windowEnd);
  // Separation from authorship (decision 050): from the image's recorded labels, before the approval's state is read.
  // Not for an operator rollback: it returns the stage to a digest promoted there before, whose change was approved then.
  const policy = quorumPolicy(st.approval);
  if (policy.excludeAuthors && release.kind !== 'rollback') {
    const found = authorsOf(release.stages, policy.authorLabel);
    if (found.kind === 'unknown') {
      return refuse(deps, caller, req, 'author-unknown', `${found.reason}: with excludeAuthors the authors must be known, so nobody may decide`, windowEnd);
    }
    const hit = authorOfCaller(caller.arn, found.authors, deps.config.identity);
    if (hit) {
      return refuse(
        deps,
        caller,
        req,
        'author',
        `${caller.arn} is an author of the image (${policy.authorLabel}: ${hit.author.text}, matched as ${hit.as}): separation from authorship forbids deciding on one's own change`,
        windowEnd,
      );
    }
  }

  // Decision 049: a stage that planned first is decided on its current saved plan, named by planSha256 (else 409, nothing recorded).
  const plan = checkPlanApproval(events, stage, req.planSha256, req.decision);
  if (!plan.ok) return respond(plan.statusCode, { message: plan.message });
  const decision = req.decision === 'approve' ? 'APPROVED' : 'REJECTED';
  // Counting again after a place in the count was taken by someone else meanwhile (bounded: places only fill).
  for (let round = 0; ; round++) {
    const current = round === 0 ? events : await deps.ledger.events(releaseId);
    const now2 = deps.now();
    if (release.status !== 'RUNNING') return noApproval(stage, releaseId, `the release is ${release.status}`);
    const state = approvalState(current, stage);
    if (state.kind === 'not-requested') return noApproval(stage, releaseId, 'the stage has not asked for one');
    if (state.kind === 'decided') return finishOwnDelivery(deps, release, stage, state, caller, decision, holding);
    if (state.expiresAt && now2.getTime() >= Date.parse(state.expiresAt) - CLOSING_MARGIN_MS) {
      return noApproval(stage, releaseId, `it timed out at ${state.expiresAt}`);
    }
    const prior = approvalsSoFar(current, stage);
    // The same request again (a retry after a 5xx or a crash once its approval was recorded): answered as it was, not refused.
    const own = current.find((e) => e.type === 'approval.recorded' && e.stage === stage && e.data.principal === caller.arn && e.data.requestId === caller.requestId);
    if (own && decision === 'APPROVED' && prior.some((p) => p.principal === caller.arn)) {
      const upTo = prior.slice(0, prior.findIndex((p) => p.principal === caller.arn) + 1);
      return answerPartial(deps, release, caller, req, policy, upTo, own.at);
    }
    const earlier = earlierApprovalOf(caller.arn, prior, deps.config.identity);
    if (earlier) {
      return refuse(
        deps,
        caller,
        req,
        'same-person',
        `${caller.arn} is the person who already approved this stage (as ${earlier.principal} at ${earlier.at}; ${countWords(prior, policy.required)}): one decision per person, and another person must approve`,
        windowEnd,
      );
    }
    if (decision === 'REJECTED' || prior.length + 1 >= policy.required) return complete(deps, release, caller, req, verdict, policy, prior, holding);
    const partial = await recordPartial(deps, release, caller, req, verdict, policy, prior);
    if (partial) return partial;
    if (round >= MAX_REQUIRED_APPROVALS) throw new Error(`approval of ${stage} of ${releaseId}: the count kept moving (${round + 1} rounds)`);
  }
}

/**
 * An approval that does not complete the count: recorded in its place (`approval:<n>`), announced, and
 * answered `WAITING`. Undefined when the place was taken by someone else meanwhile: count again.
 */
async function recordPartial(
  deps: Deps,
  release: ReleaseSummary,
  caller: Caller,
  req: DecisionRequest,
  verdict: Extract<ApprovalVerdict, { ok: true }>,
  policy: QuorumPolicy,
  prior: readonly ApprovalEntry[],
): Promise<ApiResponse | undefined> {
  const { releaseId, stage } = req;
  const count = prior.length + 1;
  const person = personLabel(caller.arn, deps.config.identity);
  const r = await record(
    deps,
    releaseId,
    approvalRecordedStep(release, stage, count),
    'approval.recorded',
    {
      ...(req.extra ?? {}),
      principal: caller.arn,
      ...(person ? { person } : {}),
      decision: 'APPROVED',
      ...(req.comment !== undefined ? { comment: req.comment } : {}),
      count,
      required: policy.required,
      approver: verdict.approver,
      requestId: caller.requestId,
      ...(caller.sourceIp ? { sourceIp: caller.sourceIp } : {}),
    },
    stage,
  );
  if (r.duplicate) return undefined;
  // The approval may have been decided meanwhile: before this write (a rejection, the timeout, a count completed
  // without it: this approval does not count) or after it (the completing approval counted this one).
  const after = await deps.ledger.events(releaseId);
  const state = approvalState(after, stage);
  if (state.kind === 'decided') {
    const mine = after.find((e) => e.stepKey === approvalRecordedStep(release, stage, count));
    const gate = after.find((e) => e.stage === stage && e.type === 'gate.evaluated' && e.data.gate === 'approval' && typeof e.data.decision === 'string');
    if (!mine || !gate || gate.seq < mine.seq) {
      return noApproval(
        stage,
        releaseId,
        `already ${state.decision}${state.principal ? ` by ${state.principal}` : ''} at ${state.at}; this approval was recorded after it and does not count`,
      );
    }
    return answerPartial(deps, release, caller, req, policy, [...prior, entryOf(r.data, r.at)], r.at, state);
  }
  return answerPartial(deps, release, caller, req, policy, [...prior, entryOf(r.data, r.at)], r.at);
}

/** Announce a recorded approval that did not complete the count (at least once), and answer `WAITING`. */
async function answerPartial(
  deps: Deps,
  release: ReleaseSummary,
  caller: Caller,
  req: DecisionRequest,
  policy: QuorumPolicy,
  approvals: readonly ApprovalEntry[],
  at: string,
  /** The stage's approval was decided after this approval was recorded (and counted it, or rejected after it). */
  then?: Extract<ApprovalState, { kind: 'decided' }>,
): Promise<ApiResponse> {
  const { releaseId, stage } = req;
  const count = approvals.length;
  const person = approvals.at(-1)?.person;
  const next = then
    ? `; the stage was then ${then.decision}${then.principal ? ` by ${then.principal}` : ''} at ${then.at}`
    : `; the stage waits for ${policy.required - count} more`;
  await announce(deps, false, 'Approval Decided', release, {
    stage,
    status: 'WAITING',
    at,
    decision: 'APPROVED',
    principal: caller.arn,
    ...(person ? { person } : {}),
    comment: req.comment ?? null,
    reason: `${countWords(approvals, policy.required)}: waits for ${policy.required - count} more`,
    initiator: release.initiator ?? null,
    count,
    required: policy.required,
  });
  return respond(200, {
    releaseId,
    stage,
    decision: 'APPROVED',
    principal: caller.arn,
    ...(req.comment !== undefined ? { comment: req.comment } : {}),
    at,
    count,
    required: policy.required,
    outcome: then ? then.decision : 'WAITING',
    message: `approval recorded: ${countWords(approvals, policy.required)}${next}`,
  });
}

/** The decision that ends the approval: the one completing the count, or a rejection. Claims the task token. */
async function complete(
  deps: Deps,
  release: ReleaseSummary,
  caller: Caller,
  req: DecisionRequest,
  verdict: Extract<ApprovalVerdict, { ok: true }>,
  policy: QuorumPolicy,
  prior: readonly ApprovalEntry[],
  holding: (token: string | undefined) => void,
): Promise<ApiResponse> {
  const { releaseId, stage } = req;
  const decision = req.decision === 'approve' ? 'APPROVED' : 'REJECTED';
  const token = await deps.ledger.takeToken('APPROVAL', releaseId, stage);
  if (!token) return noApproval(stage, releaseId, 'it was decided or timed out meanwhile');
  holding(token.token);
  const person = personLabel(caller.arn, deps.config.identity);
  const at = deps.now().toISOString();
  const mine: ApprovalEntry = {
    ...(req.extra ?? {}),
    principal: caller.arn,
    ...(person ? { person } : {}),
    decision,
    at,
    ...(req.comment !== undefined ? { comment: req.comment } : {}),
    approver: verdict.approver,
  };
  const approvals = decision === 'APPROVED' ? [...prior, mine] : [...prior];
  const count = approvals.length;
  const single = policy.required === 1 && prior.length === 0;
  const reason =
    decision === 'APPROVED'
      ? single
        ? `approved by ${caller.arn} (approver ${verdict.approver})${req.comment ? `: ${req.comment}` : ''}`
        : `approved by ${count} of ${policy.required} distinct persons: ${approvals.map((a) => `${a.principal}${a.approver ? ` (approver ${a.approver})` : ''}`).join(', ')}${req.comment ? `; last: ${req.comment}` : ''}`
      : `rejected by ${caller.arn}${req.comment ? `: ${req.comment}` : ''}${prior.length ? ` (after ${countWords(prior, policy.required)})` : ''}`;
  return withTokenGivenBack(deps, token, async () => {
    const r = await record(
      deps,
      releaseId,
      approvalGateStepOf(release, stage),
      'gate.evaluated',
      {
        gate: 'approval',
        result: decision === 'APPROVED' ? 'PASS' : 'FAIL',
        reason,
        decision,
        principal: caller.arn,
        ...(req.comment !== undefined ? { comment: req.comment } : {}),
        ...(req.extra ?? {}),
        evidence: {
          approver: verdict.approver,
          initiator: release.initiator ?? null,
          ...(verdict.callerPerson ? { person: verdict.callerPerson } : {}),
          ...(verdict.initiatorPerson ? { initiatorPerson: verdict.initiatorPerson } : {}),
          requestId: caller.requestId,
          ...(caller.sourceIp ? { sourceIp: caller.sourceIp } : {}),
          // Every approval the decision closes (decision 050), and the count the stage required.
          required: policy.required,
          approvals,
        },
      },
      stage,
    );
    const recorded = { ...recordedDecision(r.data, r.at), count, required: policy.required };
    if (r.duplicate && !mayFinishDelivery(recorded, caller.arn, decision)) {
      // Someone else's decision was recorded meanwhile (the workflow's timeout, or a record nobody here
      // wrote): it is not ours to deliver. The timeout path ends the task; its token stays for it.
      if (recorded.decision !== 'TIMED_OUT') await deps.ledger.putToken(token);
      return noApproval(stage, releaseId, `already ${recorded.decision}${recorded.principal ? ` by ${recorded.principal}` : ''} at ${recorded.at}`);
    }
    await deliver(deps, release, stage, token, recorded);
    return respond(200, {
      releaseId,
      stage,
      decision,
      principal: caller.arn,
      ...(req.comment !== undefined ? { comment: req.comment } : {}),
      ...(req.planSha256 !== undefined ? { planSha256: req.planSha256 } : {}),
      at: r.at,
      count,
      required: policy.required,
      outcome: decision,
    });
  });
}

/**
 * A refused caller: counted against its refusal budget (its ARN, and its role's shared one), then
 * recorded as a refusal item beside the release's chain. Past a budget: 429 and nothing recorded.
 */
async function refuse(deps: Deps, caller: Caller, req: DecisionRequest, code: RefusalCode, reason: string, windowEnd: number): Promise<ApiResponse> {
  const now = deps.now();
  const { window, expiresAt } = throttleWindow(now);
  for (const bucket of refusalBuckets(caller.arn)) {
    if (!(await deps.ledger.takeThrottleSlot(bucket.key, window, bucket.limit, expiresAt))) {
      const scope = bucket.key.startsWith('role:') ? `the sessions of role ${bucket.key.split(':').at(-1)}` : caller.arn;
      return tooManyRefusals(caller, bucket.limit, scope, windowEnd, now);
    }
  }
  await deps.ledger.recordRefusal({
    releaseId: req.releaseId,
    stage: req.stage,
    principal: caller.arn,
    code,
    reason,
    decision: req.decision,
    requestId: caller.requestId,
    at: now.toISOString(),
    ...(caller.sourceIp ? { sourceIp: caller.sourceIp } : {}),
  });
  logger.warn('approval refused', { releaseId: req.releaseId, stage: req.stage, principal: caller.arn, code });
  return respond(403, { message: reason, refused: true, code, principal: caller.arn });
}

interface RecordedDecision {
  readonly decision: string;
  readonly reason: string;
  readonly principal?: string;
  readonly comment?: string;
  readonly at: string;
  /** Approvals in when it was decided, and how many the stage required (decision 050). */
  readonly count?: number;
  readonly required?: number;
}

function recordedDecision(data: Record<string, unknown>, at: string): RecordedDecision {
  return {
    decision: String(data.decision),
    reason: String(data.reason ?? ''),
    at,
    ...(typeof data.principal === 'string' ? { principal: data.principal } : {}),
    ...(typeof data.comment === 'string' ? { comment: data.comment } : {}),
  };
}

/**
 * A decision is already recorded for the stage. Only the recorded approver repeating the recorded
 * decision (a retry after a 500) may finish delivering it, and only if its token is still there;
 * anyone else is told it was already decided, and no task token is sent on their behalf.
 */
async function finishOwnDelivery(
  deps: Deps,
  release: ReleaseSummary,
  stage: string,
  state: Extract<ApprovalState, { kind: 'decided' }>,
  caller: Caller,
  decision: 'APPROVED' | 'REJECTED',
  holding: (token: string | undefined) => void,
): Promise<ApiResponse> {
  const already = noApproval(stage, release.releaseId, `already ${state.decision}${state.principal ? ` by ${state.principal}` : ''} at ${state.at}`);
  if (!mayFinishDelivery(state, caller.arn, decision)) return already;
  const token = await deps.ledger.takeToken('APPROVAL', release.releaseId, stage);
  if (!token) return already;
  holding(token.token);
  const gate = [...(release.stages.find((s) => s.name === stage)?.gates ?? [])].reverse().find((g) => g.gate === 'approval');
  const ev = (gate?.evidence ?? {}) as { required?: unknown; approvals?: unknown };
  const required = typeof ev.required === 'number' ? ev.required : 1;
  const count = Array.isArray(ev.approvals) ? ev.approvals.length : state.decision === 'APPROVED' ? 1 : 0;
  const recorded: RecordedDecision = {
    decision: state.decision,
    reason: gate?.reason ?? state.decision.toLowerCase(),
    at: state.at,
    ...(state.principal ? { principal: state.principal } : {}),
    ...(state.comment ? { comment: state.comment } : {}),
    count,
    required,
  };
  return withTokenGivenBack(deps, token, async () => {
    await deliver(deps, release, stage, token, recorded);
    return respond(200, {
      releaseId: release.releaseId,
      stage,
      decision: state.decision,
      principal: caller.arn,
      ...(state.comment ? { comment: state.comment } : {}),
      at: state.at,
      count,
      required,
      outcome: state.decision,
    });
  });
}

/** Run `work` while holding a claimed token; give the token back when it fails, so the decider's retry can finish. */
async function withTokenGivenBack<T>(deps: Deps, token: TokenRecord, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    await deps.ledger.putToken(token);
    throw err;
  }
}

/** Publish `Approval Decided` (at least once) and tell the workflow, trying DELIVERY_ATTEMPTS times: success for APPROVED, ApprovalRejected otherwise. */
async function deliver(deps: Deps, release: ReleaseSummary, stage: string, token: TokenRecord, d: RecordedDecision): Promise<void> {
  if (d.decision === 'TIMED_OUT') return;
  await announce(deps, false, 'Approval Decided', release, {
    stage,
    status: d.decision === 'APPROVED' ? 'APPROVED' : 'REJECTED',
    at: d.at,
    decision: d.decision,
    principal: d.principal ?? null,
    comment: d.comment ?? null,
    reason: d.reason,
    initiator: release.initiator ?? null,
    ...(d.count !== undefined ? { count: d.count } : {}),
    ...(d.required !== undefined ? { required: d.required } : {}),
  });
  for (let attempt = 1; ; attempt++) {
    try {
      if (d.decision === 'APPROVED') await deps.tasks.sendSuccess(token.token, { decision: d.decision, principal: d.principal ?? null });
      else await deps.tasks.sendFailure(token.token, 'ApprovalRejected', d.reason);
      return;
    } catch (err) {
      if (attempt >= DELIVERY_ATTEMPTS) throw err;
    }
  }
}

export const handler = lambdaHandler(run);

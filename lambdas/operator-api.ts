/**
 * The operator API's Lambda: the operator routes of the Gantry API (API Gateway REST, Lambda proxy
 * integration, AWS_IAM authorization; the approval decision route is approval-decide's).
 *
 *   POST /releases    body: a release input (docs/contracts.md §2)          → starts the release workflow
 *   POST /rollbacks   body: { service, stage, digest?, reason?, force? } → starts the rollback workflow
 *   PUT  /freeze      body: { state: "on" | "off", reason }         → sets the global freeze
 *   POST /drills      body: { service, stage, reason? }             → starts the drill workflow (decision 052; a production stage is refused, 400)
 *   POST /aborts      body: { releaseId, reason }                   → stops a running release, rollback or drill (decision 053)
 *
 * Operators never write the ledger table: this function does, for them. The caller is the IAM principal
 * API Gateway verified (`requestContext.identity.userArn`), never a body field. A start writes the start
 * record naming the caller under an execution name this function makes (so nobody can pre-write the
 * initiator of a release), then calls StartExecution with that name; the workflow's first state reads
 * the initiator from the record. A freeze records the caller as its principal. Inputs are validated
 * exactly as the workflows validate them (lambdas/domain/release-input.ts), before anything is written.
 *
 * Responses (JSON, no stack trace, no token):
 *   200 { kind: "release" | "rollback", releaseId, executionArn, principal, at }   the execution started
 *   200 { on, reason, principal, at }                                              the freeze as set
 *   200 { releaseId, executionArn, status: "ABORTING", principal, at }               the execution stopped; the reconciler closes the record
 *   400 { message, problems: ["image.digest: expected …", …] }   invalid JSON or input; nothing written
 *   403 { message }   the request carries no IAM caller (the API needs AWS_IAM authorization)
 *   404 { message }   no such route, or (an abort) no release of that id on record
 *   405 { message }   another method on an operator route
 *   409 { message, releaseId }   an execution of that name exists already (a replayed request)
 *   503 { message, code: "StopFailed", releaseId, error }   POST /aborts: StopExecution failed (throttled, denied); the release goes on, retry
 *   409 { message, code, releaseId, status }   an abort of a release that has ended (code ReleaseFinished: nothing
 *                     written), or whose execution was no longer running when stopped (code ExecutionNotRunning:
 *                     the abort.requested stays on record as evidence of the attempt)
 *   500 { message, requestId }   internal error; a start may have left a start record behind, no execution
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { requireEnv } from './adapters/env';
import { sdkClientConfig } from './adapters/retry';
import { SfnExecutions } from './adapters/sfn';
import { ABORT_ERROR, abortCause, abortRefusal, OPERATOR_ROUTES, type OperatorRoute, parseAbortRequest, parseFreezeRequest } from './domain/operator-requests';
import { type LedgerEvent, projectRelease } from './domain/ledger';
import { RELEASE_STEP } from './domain/step-keys';
import { record } from './shared/recorder';
import { operatorExecutionName } from './domain/release';
import { parseDrillInput } from './domain/drill';
import { parseReleaseInput, parseRollbackInput } from './domain/release-input';
import { ValidationError } from './domain/validation';
import type { Deps, Executions } from './ports';
import { type ApiCaller, type ApiEvent, type ApiResponse, callerOf, readJsonBody, requestIdOf, respond } from './shared/api-gateway';
import { lambdaHandler, logger } from './shared/middleware';

export { OPERATOR_ROUTES } from './domain/operator-requests';

/** The operator API's deps: `executions` starts the release workflow, `rollbacks` the rollback workflow, `drills` the drill workflow. */
export interface OperatorDeps extends Deps {
  readonly rollbacks: Executions;
  readonly drills?: Executions;
}

type StartKind = 'release' | 'rollback' | 'drill';
const KIND_OF_ROUTE: Partial<Record<OperatorRoute, StartKind>> = { startRelease: 'release', startRollback: 'rollback', startDrill: 'drill' };

function routeOf(resource: string | undefined): OperatorRoute | undefined {
  return (Object.keys(OPERATOR_ROUTES) as OperatorRoute[]).find((r) => OPERATOR_ROUTES[r].resource === resource);
}

export async function run(event: unknown, deps: OperatorDeps): Promise<ApiResponse> {
  const ev = (event ?? {}) as ApiEvent;
  const requestId = requestIdOf(event);
  const resource = ev.resource ?? ev.requestContext?.resourcePath;
  const route = routeOf(resource);
  try {
    if (!route)
      return respond(404, {
        message: `no such route: ${JSON.stringify(resource ?? null)} (the operator routes are ${Object.values(OPERATOR_ROUTES)
          .map((r) => `${r.method} ${r.resource}`)
          .join(', ')})`,
      });
    const method = ev.httpMethod ?? ev.requestContext?.httpMethod;
    if (method !== OPERATOR_ROUTES[route].method) return respond(405, { message: `use ${OPERATOR_ROUTES[route].method} ${OPERATOR_ROUTES[route].resource}` });
    const caller = callerOf(ev);
    if (!caller) return respond(403, { message: 'the request carries no IAM caller (requestContext.identity.userArn): the operator API needs AWS_IAM authorization' });
    const body = readJsonBody(ev);
    if (!body.ok) return respond(400, { message: 'the request is invalid', problems: ['body: expected a JSON object, got text that is not JSON'] });
    if (route === 'setFreeze') return await setFreeze(deps, caller, body.value);
    if (route === 'abortRelease') return await abort(deps, caller, body.value);
    return await start(deps, caller, KIND_OF_ROUTE[route] ?? 'release', body.value);
  } catch (err) {
    if (err instanceof ValidationError) return respond(400, { message: `the ${err.source} is invalid`, problems: err.problems });
    const e = err as Error;
    logger.error('operator request failed', { requestId, route: route ?? null, error: { name: e?.name, message: String(e?.message ?? err) } });
    return respond(500, { message: 'internal error: retrying is safe (a start that failed started nothing)', requestId });
  }
}

async function start(deps: OperatorDeps, caller: ApiCaller, kind: StartKind, input: unknown): Promise<ApiResponse> {
  // Exactly the workflow's validation: a refused input writes nothing and starts nothing.
  const service =
    kind === 'release'
      ? parseReleaseInput(input, deps.config).service
      : kind === 'drill'
        ? drillOnlyByPerson(parseDrillInput(input, deps.config)).service
        : rollbackNotALeg(parseRollbackInput(input, deps.config)).service;
  const now = deps.now();
  const at = now.toISOString();
  // The name is made here, from API Gateway's request id: nobody can know it before the request, so nobody
  // can have written a start record for it. The start record is the workflow's only source of the initiator.
  const releaseId = operatorExecutionName(kind === 'release' ? service : `${service}-${kind}`, now, caller.requestId);
  await deps.ledger.putInitiator(releaseId, caller.arn, at);
  const target = kind === 'rollback' ? deps.rollbacks : kind === 'drill' ? (deps.drills ?? drillsFromEnv()) : deps.executions;
  const { executionArn, alreadyExists } = await target.start(releaseId, input);
  if (alreadyExists) return respond(409, { message: `an execution named ${releaseId} exists already: this request was a replay`, releaseId });
  logger.info(`${kind} started`, { releaseId, service, principal: caller.arn, requestId: caller.requestId });
  return respond(200, { kind, releaseId, executionArn, principal: caller.arn, at });
}

async function setFreeze(deps: OperatorDeps, caller: ApiCaller, input: unknown): Promise<ApiResponse> {
  const request = parseFreezeRequest(input);
  const state = { on: request.on, reason: request.reason, principal: caller.arn, at: deps.now().toISOString() };
  await deps.ledger.setFreeze(state);
  logger.info(`freeze ${state.on ? 'on' : 'off'}`, { principal: caller.arn, requestId: caller.requestId });
  return respond(200, state);
}

/**
 * Stop a running release, rollback or drill (decision 053). A record that is not RUNNING is refused with nothing
 * written; else `abort.requested` names the caller and the reason (once per release: a replayed request records
 * nothing), then StopExecution on the workflow the record's kind says. The reconciler closes the record on the
 * execution's ABORTED status event, with the reason and the caller it reads from `abort.requested`.
 */
async function abort(deps: OperatorDeps, caller: ApiCaller, input: unknown): Promise<ApiResponse> {
  const request = parseAbortRequest(input);
  const { releaseId } = request;
  const events = await deps.ledger.events(releaseId);
  const summary = projectRelease(events);
  if (!summary) return respond(404, { message: `no release ${releaseId} on record: nothing to abort (gantry releases lists the release ids)`, releaseId });
  if (summary.status !== 'RUNNING') {
    return respond(409, {
      message: abortRefusal(releaseId, summary.status, summary.endedAt),
      code: 'ReleaseFinished',
      releaseId,
      status: summary.status,
    });
  }
  const target = summary.kind === 'rollback' ? deps.rollbacks : summary.kind === 'drill' ? (deps.drills ?? drillsFromEnv()) : deps.executions;
  if (!target.stop) throw new Error(`the ${summary.kind} workflow's Executions port cannot stop an execution`);
  const rec = await record(deps, releaseId, RELEASE_STEP.abortRequested, 'abort.requested', { by: caller.arn, reason: request.reason, requestId: caller.requestId });
  let stop: Awaited<ReturnType<NonNullable<Executions['stop']>>>;
  try {
    stop = await target.stop(releaseId, ABORT_ERROR, abortCause(caller.arn, request.reason));
  } catch (err) {
    // Throttled, denied, a Step Functions outage: a named answer. The release goes on; the request on record is kept,
    // and a retry records nothing twice and stops it (the step key is once per release).
    const e = err as Error;
    logger.error('abort: StopExecution failed', { releaseId, kind: summary.kind, requestId: caller.requestId, error: { name: e?.name, message: String(e?.message ?? err) } });
    return respond(503, {
      message: `StopExecution of release ${releaseId} failed (${e?.name ?? 'Error'}): the release goes on; run gantry abort again (retrying is safe: the request on record is kept and nothing is recorded twice)`,
      code: 'StopFailed',
      releaseId,
      error: e?.name ?? 'Error',
    });
  }
  logger.info('abort requested', { releaseId, kind: summary.kind, principal: caller.arn, requestId: caller.requestId, stopped: stop.stopped, duplicate: rec.duplicate });
  if (!stop.stopped) {
    return respond(409, {
      message: `release ${releaseId}'s ${summary.kind} execution was not running when stopped (${stop.status ? `it had ended ${stop.status}` : 'Step Functions has no execution of that name'}): nothing stopped; the abort request stays on record and the reconciler closes the record`,
      code: 'ExecutionNotRunning',
      releaseId,
      status: stop.status ?? null,
    });
  }
  // A drill's leg in flight (a nested rollback execution) is stopped too, named the same way, after the drill itself (so
  // the drill is not first failed by its leg's end): whether Step Functions stops a `.sync` child with its parent is
  // not documented, so Gantry does not rely on it.
  const legsStopped = summary.kind === 'drill' ? await stopDrillLegs(deps, events, caller, request.reason) : [];
  return respond(200, {
    releaseId,
    kind: summary.kind,
    ...(legsStopped.length ? { legsStopped } : {}),
    executionArn: stop.executionArn,
    status: 'ABORTING',
    principal: caller.arn,
    at: rec.duplicate ? deps.now().toISOString() : rec.at,
    // A repeated request: the first one is the one on record (who, why, when).
    ...(rec.duplicate ? { requested: { by: rec.data.by, reason: rec.data.reason } } : {}),
  });
}

/** The running legs of a drill (its `release.started` names them), each recorded and stopped as an abort of its own. */
async function stopDrillLegs(deps: OperatorDeps, drillEvents: readonly LedgerEvent[], caller: ApiCaller, reason: string): Promise<string[]> {
  const legs = drillEvents.find((e) => e.type === 'release.started')?.data.legs as { back?: unknown; forward?: unknown } | undefined;
  const stopped: string[] = [];
  for (const leg of [legs?.back, legs?.forward]) {
    if (typeof leg !== 'string') continue;
    const summary = projectRelease(await deps.ledger.events(leg));
    if (summary?.status !== 'RUNNING' || !deps.rollbacks.stop) continue;
    await record(deps, leg, RELEASE_STEP.abortRequested, 'abort.requested', { by: caller.arn, reason, requestId: caller.requestId });
    try {
      if ((await deps.rollbacks.stop(leg, ABORT_ERROR, abortCause(caller.arn, reason))).stopped) stopped.push(leg);
    } catch (err) {
      // The drill itself is stopped; a leg that could not be is named in the log and still closes on its own end.
      logger.error('abort: StopExecution of a drill leg failed', { leg, requestId: caller.requestId, error: { name: (err as Error)?.name } });
    }
  }
  return stopped;
}

/** `scheduled` is the stack's schedule's own word (its initiator is the schedule): a person's drill may not claim it. */
function drillOnlyByPerson<T extends { scheduled?: boolean }>(input: T): T {
  if (input.scheduled) throw new ValidationError('drill input', ['scheduled: expected no "scheduled" in a request (only the stack\'s drill schedule starts a scheduled drill)']);
  return input;
}

/** `drill` in a rollback input is the drill workflow's word for its legs (decision 052): a person's rollback may not claim it. */
function rollbackNotALeg<T extends { drill?: unknown }>(input: T): T {
  if (input.drill !== undefined)
    throw new ValidationError('rollback input', ['drill: expected no "drill" in a request (only the drill workflow starts the legs of a drill: use POST /drills)']);
  return input;
}

let rollbackExecutions: Executions | undefined;
let drillExecutions: Executions | undefined;

/** The drill workflow (DRILL_STATE_MACHINE_ARN), one SDK client per container. */
function drillsFromEnv(): Executions {
  drillExecutions ??= new SfnExecutions(new SFNClient(sdkClientConfig('sfn')), requireEnv('DRILL_STATE_MACHINE_ARN'));
  return drillExecutions;
}

/** The rollback workflow (ROLLBACK_STATE_MACHINE_ARN), one SDK client per container. */
function rollbacksFromEnv(): Executions {
  rollbackExecutions ??= new SfnExecutions(new SFNClient(sdkClientConfig('sfn')), requireEnv('ROLLBACK_STATE_MACHINE_ARN'));
  return rollbackExecutions;
}

export const handler = lambdaHandler((event: unknown, deps: Deps) => run(event, { ...deps, rollbacks: rollbacksFromEnv() }));

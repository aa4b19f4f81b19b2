/**
 * ECR push → one release per (service, digest). The execution name is derived from both, so a
 * duplicated or replayed push (EventBridge is at-least-once; the Image Action and the CloudTrail
 * PutImage call both arrive) finds its execution and does nothing. Pushes of a repository no service
 * owns, with a tag the service's tagPattern does not match, or to an ECR registry other than the control
 * plane's own (another account or region) are recorded as skipped.
 *
 * Nothing lost (decision 024): a push whose earlier execution ended without leaving a record (it died
 * before its first ledger write, e.g. on a long ECR outage) starts again when it is delivered again, under
 * the next name of `pushExecutionCandidate`; so does a digest whose 16-hex name another digest took.
 * What intake cannot do ends in its dead-letter queue (docs/operator-guide.md: replaying intake failures).
 *
 * Console starts (decision 027): CloudTrail's record of a successful `StartExecution` of the release or rollback
 * workflow names who started the execution. A release started without a start record (from the Step Functions
 * console, or the API directly) is "unattributed" until that record arrives; intake then appends
 * `release.attributed` naming the caller, once (first writer wins: the start record that `release.started`
 * already names, or the first CloudTrail record; a duplicate or later record does nothing). A pushed release
 * takes its initiator only from its pusher (decision 023), never from the StartExecution intake itself made.
 */
import { DIGEST_PATTERN, serviceForRepository } from './domain/config';
import { type CloudTrailStartExecution, parseGantryEvent } from './domain/events';
import { awaitedAttribution, PUSH_NAME_ATTEMPTS, pushExecutionCandidate } from './domain/release';
import { tagMatches } from './domain/tag-pattern';
import { ValidationError } from './domain/validation';
import type { Deps } from './ports';
import { lambdaHandler, logger } from './shared/middleware';
import { RELEASE_STEP } from './domain/step-keys';

export type IntakeResult =
  | {
      outcome: 'started' | 'duplicate';
      releaseId: string;
      executionArn: string;
      /** Started under a later name: the names passed over and why (also appended to the release's reason). */
      passedOver?: PassedOver[];
    }
  | { outcome: 'skipped'; reason: string }
  | { outcome: 'ignored'; reason: string }
  /** A CloudTrail StartExecution record named the initiator of a release started without a start record. */
  | { outcome: 'attributed'; releaseId: string; initiator: string };

/** A name intake did not use for a push, and why. */
export interface PassedOver {
  readonly releaseId: string;
  /** `other-digest`: another digest's execution has it; `ended-unrecorded`: this push's execution ended without a record. */
  readonly why: 'other-digest' | 'ended-unrecorded';
  /** The other digest, or the status the execution ended with. */
  readonly detail: string;
}

/** Intake could not start a push's release (it goes to the dead-letter queue, to be replayed). */
export class IntakeError extends Error {
  override readonly name = 'IntakeError';
}

export interface PushFacts {
  repository: string;
  digest: string;
  tag?: string;
  principal?: string;
  eventId: string;
  /** The ECR registry pushed to: its account (the registry id) and region. */
  registry: { readonly account: string; readonly region: string };
  /** Where the digest sits in the event, and the event's name, for a refusal. */
  digestAt: { readonly source: string; readonly path: string };
}

export function pushFacts(event: unknown): PushFacts | { ignored: string } {
  const parsed = parseGantryEvent(event);
  if (parsed.kind === 'ecr-push') {
    const e = parsed;
    if (e.actionType !== 'PUSH' || e.result !== 'SUCCESS') return { ignored: `ECR ${e.actionType} ${e.result} starts nothing` };
    return {
      repository: e.repositoryName,
      digest: e.digest,
      tag: e.tag,
      eventId: e.id,
      registry: { account: e.account, region: e.region },
      digestAt: { source: 'ECR Image Action event', path: 'detail["image-digest"]' },
    };
  }
  if (parsed.kind === 'cloudtrail-put-image') {
    const e = parsed;
    return {
      repository: e.repositoryName,
      digest: e.digest,
      tag: e.tag,
      principal: e.principalArn,
      eventId: e.cloudTrailEventId,
      registry: { account: e.registryId && /^\d{12}$/.test(e.registryId) ? e.registryId : e.account, region: e.region },
      digestAt: { source: 'CloudTrail PutImage event', path: 'detail.responseElements.image.imageId.imageDigest' },
    };
  }
  return { ignored: `event ${parsed.kind} is not a push` };
}

export async function run(event: unknown, deps: Deps): Promise<IntakeResult> {
  const parsed = parseGantryEvent(event);
  if (parsed.kind === 'cloudtrail-start-execution') return attributeStart(deps, parsed);
  const facts = pushFacts(event);
  if ('ignored' in facts) return { outcome: 'ignored', reason: facts.ignored };
  const at = deps.now().toISOString();
  const skip = async (reason: string, id?: string): Promise<IntakeResult> => {
    // One skip per pushed (repository, tag, digest): the Image Action and the CloudTrail record of one push are one skip.
    const skipId = id ?? `push:${facts.repository}:${facts.tag ?? ''}:${facts.digest}`;
    await deps.ledger.recordSkip({ repository: facts.repository, tag: facts.tag, digest: facts.digest, reason, at, eventId: skipId });
    logger.info('push skipped', { repository: facts.repository, tag: facts.tag, reason });
    return { outcome: 'skipped', reason };
  };
  const owner = serviceForRepository(deps.config, facts.repository);
  if (!owner) return skip(`repository ${facts.repository} belongs to no service`);
  const [service, svc] = owner;
  if (!facts.tag) return skip(`push by digest without a tag (tagPattern ${svc.tagPattern})`);
  // RE2, not RegExp: linear in the tag's length whatever the pattern (no catastrophic backtracking).
  if (!tagMatches(svc.tagPattern, facts.tag)) return skip(`tag ${facts.tag} does not match ${svc.tagPattern}`);

  // Events accept any OCI digest (AWS's samples carry truncated ones); a release is only ever started for a sha256 one.
  if (!DIGEST_PATTERN.test(facts.digest)) {
    throw new ValidationError(facts.digestAt.source, [
      `${facts.digestAt.path}: expected a digest sha256:<64 lowercase hex characters> to start a release, got ${JSON.stringify(facts.digest)}`,
    ]);
  }
  const home = deps.executions.home;
  if (!home || typeof home.account !== 'string' || typeof home.region !== 'string') {
    throw new IntakeError("intake cannot tell which ECR registry is the control plane's own: the release workflow port reports no account and region (RELEASE_STATE_MACHINE_ARN)");
  }
  if (facts.registry.account !== home.account || facts.registry.region !== home.region) {
    return skip(
      `push to ECR in account ${facts.registry.account}, region ${facts.registry.region}: only pushes to the control plane's own registry (account ${home.account}, region ${home.region}), the one the image gates read, start releases`,
      `push:${facts.registry.account}:${facts.registry.region}:${facts.repository}:${facts.tag}:${facts.digest}`,
    );
  }

  // Only CloudTrail knows who pushed, and the pusher is the initiator: it goes in the execution input
  // (prepare-release trusts nothing else for a pushed release, decision 023), never in a table item.
  // CloudTrail's record usually arrives after the Image Action, so the release may already have started
  // "unattributed": then the pusher is appended to its record.
  const intake = { source: facts.digestAt.source, eventId: facts.eventId, pusher: facts.principal ?? null };
  const input = { service, image: { digest: facts.digest }, reason: `ECR push ${facts.repository}:${facts.tag}`, intake };
  const passedOver: PassedOver[] = [];
  for (let attempt = 0; attempt < PUSH_NAME_ATTEMPTS; attempt++) {
    const name = pushExecutionCandidate(service, facts.digest, attempt);
    // A release started under a later name says which names it passed over, and why (the link to them).
    const reason = passedOver.length ? `${input.reason} (${passedOver.map(passedOverText).join('; ')})`.slice(0, 500) : input.reason;
    const { executionArn, alreadyExists } = await deps.executions.start(name, { ...input, reason });
    if (!alreadyExists) {
      if (facts.principal) await deps.ledger.putStartPusher(name, facts.principal, at);
      if (passedOver.length) logger.info('push started under a later name', { releaseId: name, passedOver });
      return { outcome: 'started', releaseId: name, executionArn, ...(passedOver.length ? { passedOver } : {}) };
    }
    // The name is taken: by this push's release (running, or on record), by one of this push that ended
    // without a record, or by another digest sharing the name (decision 024).
    const prior = await priorExecution(deps, name, service, facts.digest);
    if (prior.kind === 'other-digest' || prior.kind === 'ended-unrecorded') {
      passedOver.push({ releaseId: name, why: prior.kind, detail: prior.detail });
      continue;
    }
    if (facts.principal) await attributePusher(deps, name, facts.principal, facts.eventId);
    return { outcome: 'duplicate', releaseId: name, executionArn, ...(passedOver.length ? { passedOver } : {}) };
  }
  throw new IntakeError(
    `push ${facts.repository}:${facts.tag} (${facts.digest}) started nothing: all ${PUSH_NAME_ATTEMPTS} of its execution names are taken (${passedOver.map(passedOverText).join('; ')})`,
  );
}

function passedOverText(p: PassedOver): string {
  return p.why === 'other-digest' ? `${p.releaseId} is taken by ${p.detail}` : `delivered again: ${p.releaseId} ended ${p.detail} without a record`;
}

type Prior =
  /** The port cannot describe executions (small test fakes): the name taken counts as this push's, as before. */
  | { kind: 'unknown' }
  | { kind: 'ours'; detail: 'on record' | 'running' | 'aborted' | 'gone' }
  | { kind: 'other-digest'; detail: string }
  | { kind: 'ended-unrecorded'; detail: string };

/** What holds the execution name `name`, which StartExecution found taken, for a push of `service`/`digest`. */
async function priorExecution(deps: Deps, name: string, service: string, digest: string): Promise<Prior> {
  if (!deps.executions.describe) return { kind: 'unknown' };
  const ex = await deps.executions.describe(name);
  if (!ex) return { kind: 'ours', detail: 'gone' };
  const input = (ex.input ?? {}) as { service?: unknown; image?: { digest?: unknown } };
  if (input.service !== service || input.image?.digest !== digest) {
    const other = typeof input.image?.digest === 'string' ? input.image.digest : 'an execution of other input';
    return { kind: 'other-digest', detail: typeof input.service === 'string' && input.service !== service ? `${other} of service ${input.service}` : other };
  }
  // On record: its first ledger write happened. The record is the release, whatever the execution did since.
  const started = (await deps.ledger.events(name)).some((e) => e.type === 'release.started');
  if (started) return { kind: 'ours', detail: 'on record' };
  if (ex.status === 'RUNNING' || ex.status === 'PENDING_REDRIVE') return { kind: 'ours', detail: 'running' };
  // Stopped from outside before its first write: someone meant it to stop; a repeated push does not undo that.
  if (ex.status === 'ABORTED') return { kind: 'ours', detail: 'aborted' };
  return { kind: 'ended-unrecorded', detail: ex.status };
}

/** A pushed release has no record yet to attribute its pusher to: the event is retried (Lambda's asynchronous retries). */
export class AttributionPendingError extends Error {
  override readonly name = 'AttributionPendingError';
}

async function attributePusher(deps: Deps, releaseId: string, principal: string, eventId: string): Promise<void> {
  const events = await deps.ledger.events(releaseId);
  const started = events.find((e) => e.type === 'release.started');
  if (!started) {
    // This very push started the release with its pusher in the input (a repeated CloudTrail event).
    if ((await deps.ledger.getStartPusher(releaseId)) === principal) return;
    throw new AttributionPendingError(`release ${releaseId} is not on record yet: its pusher ${principal} is attributed when this event is retried`);
  }
  if (String(started.data.initiator ?? '').startsWith('arn:')) return;
  await deps.ledger.append({
    releaseId,
    stepKey: RELEASE_STEP.attributed,
    type: 'release.attributed',
    at: deps.now().toISOString(),
    data: { initiator: principal, source: 'CloudTrail PutImage', eventId },
  });
}

/** The source a console start's `release.attributed` names. */
export const START_ATTRIBUTION_SOURCE = 'CloudTrail StartExecution';

/**
 * A CloudTrail StartExecution record of one of Gantry's workflows: name the caller as the initiator of a release
 * (or rollback) that started without one. Nothing happens when the release already names its initiator (a start
 * record, or an earlier CloudTrail record: first writer wins), when it is a pushed release (its pusher is its
 * initiator, decision 023), or when an AWS service made the call (no principal to name). A release not on record
 * yet is retried (AttributionPendingError), unless its execution ended without a record (nothing to attribute).
 */
async function attributeStart(deps: Deps, e: CloudTrailStartExecution): Promise<IntakeResult> {
  const releaseId = e.executionName;
  // Every Gantry release id is an execution name of this form (prepare-release refuses any other).
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$/.test(releaseId))
    return { outcome: 'ignored', reason: `execution ${releaseId} cannot be a Gantry release (its name is not a release id)` };
  if (!e.principalArn) return { outcome: 'ignored', reason: `StartExecution of ${releaseId} by ${e.principalType ?? 'an AWS service'} names no principal` };
  const events = await deps.ledger.events(releaseId);
  const started = events.find((x) => x.type === 'release.started');
  if (!started) {
    const ex = deps.executions.describe ? await deps.executions.describe(releaseId) : undefined;
    if (ex && ex.status !== 'RUNNING' && ex.status !== 'PENDING_REDRIVE') {
      return { outcome: 'ignored', reason: `execution ${releaseId} ended ${ex.status} without a record: there is no release to attribute` };
    }
    throw new AttributionPendingError(`release ${releaseId} is not on record yet: its initiator ${e.principalArn} is attributed when this event is retried`);
  }
  const initiator = String(started.data.initiator ?? '');
  if (String(started.data.initiatorSource ?? '').startsWith('intake')) {
    return { outcome: 'ignored', reason: `${releaseId} is a pushed release: its initiator is its pusher (CloudTrail PutImage), not whoever called StartExecution` };
  }
  const attributed = events.find((x) => x.type === 'release.attributed');
  if (attributed) return { outcome: 'ignored', reason: `${releaseId} is already attributed to ${String(attributed.data.initiator)} (first writer wins)` };
  if (awaitedAttribution(initiator) !== 'StartExecution') {
    return { outcome: 'ignored', reason: `${releaseId} already names its initiator ${initiator} (its start record; first writer wins)` };
  }
  // A conditional write keyed by the step: of two records arriving together, the first one wins.
  const r = await deps.ledger.append({
    releaseId,
    stepKey: 'release.attributed',
    type: 'release.attributed',
    at: deps.now().toISOString(),
    data: {
      initiator: e.principalArn,
      source: START_ATTRIBUTION_SOURCE,
      eventId: e.cloudTrailEventId,
      executionArn: e.executionArn,
      ...(e.principalType ? { principalType: e.principalType } : {}),
    },
  });
  if (r.duplicate) return { outcome: 'ignored', reason: `${releaseId} is already attributed to ${String(r.event.data.initiator)} (first writer wins)` };
  logger.info('console start attributed', { releaseId, initiator: e.principalArn });
  return { outcome: 'attributed', releaseId, initiator: e.principalArn };
}

export const handler = lambdaHandler(run);

/**
 * ECR push → one release per (service, digest). The execution name is derived from both, so a
 * duplicated or replayed push (EventBridge is at-least-once; the Image Action and the CloudTrail
 * PutImage call both arrive) finds ExecutionAlreadyExists and does nothing. Pushes of a repository
 * no service owns, or with a tag the service's tagPattern does not match, are recorded as skipped.
 */
import { DIGEST_PATTERN, serviceForRepository } from './domain/config';
import { parseGantryEvent } from './domain/events';
import { pushExecutionName } from './domain/release';
import { tagMatches } from './domain/tag-pattern';
import { ValidationError } from './domain/validation';
import type { Deps } from './ports';
import { lambdaHandler, logger } from './shared/middleware';

export type IntakeResult =
  | { outcome: 'started' | 'duplicate'; releaseId: string; executionArn: string }
  | { outcome: 'skipped'; reason: string }
  | { outcome: 'ignored'; reason: string };

export interface PushFacts {
  repository: string;
  digest: string;
  tag?: string;
  principal?: string;
  eventId: string;
  /** Where the digest sits in the event, and the event's name, for a refusal. */
  digestAt: { readonly source: string; readonly path: string };
}

export function pushFacts(event: unknown): PushFacts | { ignored: string } {
  const parsed = parseGantryEvent(event);
  if (parsed.kind === 'ecr-push') {
    const e = parsed;
    if (e.actionType !== 'PUSH' || e.result !== 'SUCCESS') return { ignored: `ECR ${e.actionType} ${e.result} starts nothing` };
    return { repository: e.repositoryName, digest: e.digest, tag: e.tag, eventId: e.id, digestAt: { source: 'ECR Image Action event', path: 'detail["image-digest"]' } };
  }
  if (parsed.kind === 'cloudtrail-put-image') {
    const e = parsed;
    return {
      repository: e.repositoryName,
      digest: e.digest,
      tag: e.tag,
      principal: e.principalArn,
      eventId: e.cloudTrailEventId,
      digestAt: { source: 'CloudTrail PutImage event', path: 'detail.responseElements.image.imageId.imageDigest' },
    };
  }
  return { ignored: `event ${parsed.kind} is not a push` };
}

export async function run(event: unknown, deps: Deps): Promise<IntakeResult> {
  const facts = pushFacts(event);
  if ('ignored' in facts) return { outcome: 'ignored', reason: facts.ignored };
  const at = deps.now().toISOString();
  const skip = async (reason: string): Promise<IntakeResult> => {
    // One skip per pushed (repository, tag, digest): the Image Action and the CloudTrail record of one push are one skip.
    const skipId = `push:${facts.repository}:${facts.tag ?? ''}:${facts.digest}`;
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
    throw new ValidationError(facts.digestAt.source, [`${facts.digestAt.path}: expected a digest sha256:<64 lowercase hex characters> to start a release, got ${JSON.stringify(facts.digest)}`]);
  }
  const name = pushExecutionName(service, facts.digest);
  // Only CloudTrail knows who pushed, and the pusher is the initiator: it goes in the execution input
  // (prepare-release trusts nothing else for a pushed release, decision 023), never in a table item.
  // CloudTrail's record usually arrives after the Image Action, so the release may already have started
  // "unattributed": then the pusher is appended to its record.
  const intake = { source: facts.digestAt.source, eventId: facts.eventId, pusher: facts.principal ?? null };
  const { executionArn, alreadyExists } = await deps.executions.start(name, {
    service,
    image: { digest: facts.digest },
    reason: `ECR push ${facts.repository}:${facts.tag}`,
    intake,
  });
  if (facts.principal && !alreadyExists) await deps.ledger.putStartPusher(name, facts.principal, at);
  if (facts.principal && alreadyExists) await attributePusher(deps, name, facts.principal, facts.eventId);
  return { outcome: alreadyExists ? 'duplicate' : 'started', releaseId: name, executionArn };
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
  await deps.ledger.append({ releaseId, stepKey: 'release.attributed', type: 'release.attributed', at: deps.now().toISOString(), data: { initiator: principal, source: 'CloudTrail PutImage', eventId } });
}

export const handler = lambdaHandler(run);

/**
 * First state of the release workflow: validate the input (docs/contracts.md §2), resolve a tag to its
 * digest once, establish who started the release, and open the release's record. A bad input throws
 * ValidationError and writes nothing.
 *
 * The initiator (decision 023):
 * - a **pushed** release (its execution name is one intake gives a push: `isPushExecutionName`) takes it only from
 *   what intake saw: the pusher CloudTrail recorded, which intake puts in the execution input as
 *   `intake.pusher`. A start record (`putInitiator`) for a pushed release is never used — anyone able
 *   to write the table could pre-write one for a predictable name — and is recorded in
 *   `release.started` as a refused attribution. Without a pusher the release starts "unattributed"
 *   (nobody can approve it) until intake appends `release.attributed` from CloudTrail's record;
 * - an operator start takes it from its start record (the CLI or start API writes it). A start without one (the Step
 *   Functions console) starts "unattributed" until intake appends `release.attributed` from CloudTrail's
 *   StartExecution record (decision 027).
 * A `release.started` already on record (a retried step) must agree with what this run established:
 * one written ahead of the workflow by someone else stops the release (ReleaseRecordConflictError).
 *
 * A promotion (input `startAt`, decision 054) takes gate promotion.previous-stage here, recorded at the stage it
 * starts at: the digest must have been promoted in the stage before and not rolled back there since. FAIL blocks
 * that stage before anything runs (stageCount 0: the workflow goes straight to FinishRelease, BLOCKED).
 */
import * as z from 'zod';
import { DIGEST_PATTERN } from './domain/config';
import { isPushExecutionName, UNATTRIBUTED_PUSH, UNATTRIBUTED_START } from './domain/release';
import { parseReleaseInput } from './domain/release-input';
import { parseWith, ValidationError } from './domain/validation';
import type { Deps } from './ports';
import { lambdaHandler } from './shared/middleware';
import { announce, record } from './shared/recorder';
import { RELEASE_STEP, stageStep } from './domain/step-keys';
import { PREVIOUS_STAGE_GATE } from './domain/promotion';
import { readPreviousStageVerdict } from './shared/promotion';

/** The release id is the execution name: it reaches drivers as GANTRY_RELEASE_ID, so it is held to a strict pattern. */
export const RELEASE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$/;
const eventSchema = z.object({
  input: z.unknown(),
  executionArn: z.string().min(1),
  executionName: z.string().regex(RELEASE_ID, 'expected an execution name of letters, digits, - and _ (it becomes the release id)'),
});

/** What intake saw of a push, passed in the execution input of the release it starts (lambdas/intake.ts). */
export const intakeFactsSchema = z.strictObject({
  source: z.string().min(1).max(100),
  eventId: z.string().min(1).max(200),
  // As intake's event schema takes it (lambdas/domain/events.ts): an ARN whose person the approval decides.
  pusher: z
    .string()
    .max(2048)
    .regex(/^arn:aws[a-z-]*:(iam|sts)::\d{12}:[\x21-\x7e]+$/, 'expected the pusher as an IAM or STS principal ARN, or null')
    .nullable(),
});
export type IntakeFacts = z.output<typeof intakeFactsSchema>;

export { UNATTRIBUTED_PUSH, UNATTRIBUTED_START } from './domain/release';

/** A `release.started` was on record before this run wrote it, and says something else: written by someone other than the workflow. */
export class ReleaseRecordConflictError extends Error {
  override readonly name = 'ReleaseRecordConflictError';
}

export interface PreparedRelease {
  releaseId: string;
  service: string;
  digest: string | null;
  tag: string | null;
  stages: string[];
  stageCount: number;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export async function run(event: unknown, deps: Deps): Promise<PreparedRelease> {
  const e = parseWith(eventSchema, event, 'task input');
  // `intake` is intake's own field: split off before the release input (docs/contracts.md §2) is validated.
  const carriesIntake = isRecord(e.input) && Object.hasOwn(e.input, 'intake');
  const { intake: rawIntake, ...releaseInput } = carriesIntake ? (e.input as Record<string, unknown>) : { intake: undefined };
  const input = parseReleaseInput(carriesIntake ? releaseInput : e.input, deps.config);
  const svc = deps.config.services[input.service];
  if (!svc) throw new Error(`unreachable: ${input.service} validated`);
  // Any of the names intake gives a push (the 16-hex one, or a later one: decision 024).
  const pushed = input.image.digest !== undefined && DIGEST_PATTERN.test(input.image.digest) && isPushExecutionName(e.executionName, input.service, input.image.digest);
  let intake: IntakeFacts | undefined;
  if (carriesIntake) {
    if (!pushed) {
      throw new ValidationError('release input', [
        `intake: only intake's own start of a pushed release (named ${input.service}-<hex characters of the digest>, by digest) carries this field`,
      ]);
    }
    intake = parseWith(intakeFactsSchema, rawIntake, 'release input intake');
  }
  const stages = input.stages ?? svc.stages.map((s) => s.name);
  const releaseId = e.executionName;
  const startRecord = await deps.ledger.getInitiator(e.executionName);
  const refusedAttributions: Array<{ principal: string; source: string; reason: string }> = [];
  let initiator: string;
  if (pushed) {
    initiator = intake?.pusher ?? UNATTRIBUTED_PUSH;
    if (startRecord !== undefined) {
      refusedAttributions.push({
        principal: startRecord,
        source: 'start record',
        reason:
          'a pushed release takes its initiator only from intake (the pusher in the CloudTrail PutImage record); a start record for it was written by someone else and is ignored',
      });
    }
  } else {
    initiator = startRecord ?? UNATTRIBUTED_START;
  }

  let digest: string | undefined = input.image.digest;
  let tag: string | undefined = input.image.tag;
  if (!digest && tag) {
    const image = await deps.registry.describeImage(svc.repository, { tag });
    digest = image?.digest;
  } else if (digest && !tag) {
    const image = await deps.registry.describeImage(svc.repository, { digest });
    tag = image?.tags[0];
  }
  const started = await record(deps, releaseId, RELEASE_STEP.started, 'release.started', {
    kind: 'release',
    service: input.service,
    repository: svc.repository,
    digest: digest ?? null,
    tag: tag ?? null,
    initiator,
    initiatorSource: pushed
      ? intake?.pusher
        ? `intake: ${intake.source} ${intake.eventId}`
        : 'intake: pusher not known yet'
      : startRecord !== undefined
        ? 'start record'
        : 'none',
    ...(refusedAttributions.length ? { refusedAttributions } : {}),
    input: e.input,
    reason: input.reason ?? null,
    breakGlass: input.breakGlass ?? null,
    // A promotion (decision 054): the stage the release starts at.
    ...(input.startAt !== undefined ? { startAt: input.startAt } : {}),
    // The change record id the input gave (decision 051): the gate change.record checks it in every stage.
    ...(input.changeRecord !== undefined ? { changeRecord: input.changeRecord } : {}),
    // The service's change record policy (decision 051): lets an audit catch a promoted stage without its change.record gate.
    ...(svc.changeRecord ? { changeRecordPolicy: { ...svc.changeRecord } } : {}),
    stages,
    // Which stages policy says need an approval: lets an audit catch a stage that skipped one.
    approvalRequired: svc.stages.filter((st) => stages.includes(st.name) && st.approval !== undefined).map((st) => st.name),
    configHash: deps.configHash,
    executionArn: e.executionArn,
  });
  const d = started.data;
  if (started.duplicate) {
    // A retried step finds its own record. One that says something else was not written by this workflow.
    const differs = (
      [
        ['service', input.service, d.service],
        ['initiator', initiator, d.initiator],
        ['stages', JSON.stringify(stages), JSON.stringify(d.stages)],
        ['executionArn', e.executionArn, d.executionArn],
      ] as const
    ).filter(([, mine, recorded]) => mine !== recorded);
    if (differs.length > 0) {
      throw new ReleaseRecordConflictError(
        `release ${releaseId}: a release.started already on record differs from what this execution established (${differs.map(([f, mine, rec]) => `${f}: recorded ${JSON.stringify(rec)}, established ${JSON.stringify(mine)}`).join('; ')}); the release does not run on a record it did not write`,
      );
    }
  }
  await announce(
    deps,
    started.duplicate,
    'Release Started',
    { releaseId, service: input.service, digest: (d.digest as string) ?? undefined },
    {
      status: 'RUNNING',
      at: started.at,
      tag: d.tag,
      initiator,
      stages,
      breakGlass: d.breakGlass,
    },
  );
  // After Release Started (on the bus too): a refusal is a gate of the release's first stage.
  const blocked = input.startAt !== undefined && !(await previousStageGate(deps, releaseId, input.service, input.startAt, (d.digest as string | null) ?? null));
  return {
    releaseId,
    service: input.service,
    digest: (d.digest as string | null) ?? null,
    tag: (d.tag as string | null) ?? null,
    stages: d.stages as string[],
    stageCount: blocked ? 0 : (d.stages as string[]).length,
  };
}

/**
 * Gate promotion.previous-stage when the release is prepared, recorded at the stage it starts at. Returns whether it
 * passed; FAIL records the stage BLOCKED at once (nothing is deployed) and announces it. A retried step finds the
 * verdict it recorded the first time and goes by it.
 */
async function previousStageGate(deps: Deps, releaseId: string, service: string, stage: string, digest: string | null): Promise<boolean> {
  const verdict = digest
    ? await readPreviousStageVerdict(deps, service, stage, digest)
    : {
        gate: PREVIOUS_STAGE_GATE,
        result: 'FAIL' as const,
        reason: 'the image could not be resolved to a digest: a promotion names a digest promoted in the stage before',
        evidence: null,
      };
  if (!verdict) return true;
  // The gate first, on its own: a retry that finds a verdict recorded goes by that one, never by a second.
  const gate = await record(deps, releaseId, stageStep.gate(stage, PREVIOUS_STAGE_GATE), 'gate.evaluated', { ...verdict, checkpoint: 'start' }, stage);
  if (gate.data.result === 'PASS') return true;
  const reason = `${PREVIOUS_STAGE_GATE}: ${String(gate.data.reason)}`;
  await record(deps, releaseId, stageStep.finished(stage), 'stage.finished', { status: 'BLOCKED', reason }, stage);
  await announce(
    deps,
    gate.duplicate,
    'Stage Gate Failed',
    { releaseId, service, digest: digest ?? undefined },
    { stage, status: 'BLOCKED', at: gate.at, gate: PREVIOUS_STAGE_GATE, reason: String(gate.data.reason) },
  );
  return false;
}

export const handler = lambdaHandler(run);

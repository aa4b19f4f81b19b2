/**
 * First state of the operator rollback workflow: the target must be a digest that was promoted in
 * that stage before (default: the one promoted before the digest now running). A refusal is
 * recorded (BLOCKED, with its reason) and nothing is deployed.
 */
import * as z from 'zod';
import { parseRollbackInput } from './domain/release-input';
import { UNATTRIBUTED_START } from './domain/release';
import { parseWith } from './domain/validation';
import type { Deps } from './ports';
import { lambdaHandler } from './shared/middleware';
import { announce, record } from './shared/recorder';
import type { PreparedRelease } from './prepare-release';
import { RELEASE_STEP, stageStep } from './domain/step-keys';

const eventSchema = z.object({ input: z.unknown(), executionArn: z.string().min(1), executionName: z.string().min(1) });

export class PolicyRefusedError extends Error {
  override readonly name = 'PolicyRefusedError';
}

/** Pure: which digest an operator rollback returns the stage to, or why it may not. */
export function rollbackTarget(
  pointer: { running?: string; lastKnownGood?: string; promoted: readonly string[] } | undefined,
  requested: string | undefined,
): { digest: string } | { refused: string } {
  const promoted = pointer?.promoted ?? [];
  if (requested) {
    if (!promoted.includes(requested)) return { refused: `digest ${requested} was never promoted in this stage (promoted: ${promoted.join(', ') || 'none'})` };
    if (requested === pointer?.running) return { refused: `digest ${requested} is already running in this stage` };
    return { digest: requested };
  }
  const running = pointer?.running;
  const idx = running ? promoted.lastIndexOf(running) : -1;
  const candidate = idx > 0 ? promoted[idx - 1] : idx === -1 ? pointer?.lastKnownGood : undefined;
  if (!candidate || candidate === running) return { refused: 'nothing to roll back to: no digest was promoted in this stage before the one running' };
  return { digest: candidate };
}

/**
 * A drill's leg (decision 052) is started by the drill workflow, with no start record: its initiator is the drill's,
 * read from the drill's record, and only when that record names this very execution as that leg (so an input that
 * merely claims a drill is attributed to nobody).
 */
async function drillInitiator(deps: Deps, drill: { drillId: string; leg: 'back' | 'forward' }, executionName: string): Promise<string | undefined> {
  const started = (await deps.ledger.events(drill.drillId)).find((ev) => ev.type === 'release.started');
  const legs = started?.data.legs as { back?: unknown; forward?: unknown } | undefined;
  if (started?.data.kind !== 'drill' || legs?.[drill.leg] !== executionName) return undefined;
  return typeof started.data.initiator === 'string' ? started.data.initiator : undefined;
}

export async function run(event: unknown, deps: Deps): Promise<PreparedRelease> {
  const e = parseWith(eventSchema, event, 'task input');
  const input = parseRollbackInput(e.input, deps.config);
  const pointer = await deps.ledger.getPointer(input.service, input.stage);
  const target = rollbackTarget(pointer, input.digest);
  const initiator = (await deps.ledger.getInitiator(e.executionName)) ?? (input.drill ? await drillInitiator(deps, input.drill, e.executionName) : undefined) ?? UNATTRIBUTED_START;
  const releaseId = e.executionName;
  const started = await record(deps, releaseId, RELEASE_STEP.started, 'release.started', {
    kind: 'rollback',
    service: input.service,
    digest: 'digest' in target ? target.digest : (input.digest ?? null),
    rollbackTarget: 'digest' in target ? target.digest : null,
    tag: null,
    initiator,
    input: e.input,
    reason: input.reason ?? null,
    force: input.force ?? null,
    stages: [input.stage],
    configHash: deps.configHash,
    executionArn: e.executionArn,
  });
  if ('refused' in target) {
    await record(deps, releaseId, stageStep.finished(input.stage), 'stage.finished', { status: 'BLOCKED', reason: `rollback refused: ${target.refused}` }, input.stage);
    const r = await record(deps, releaseId, RELEASE_STEP.finished, 'release.finished', { status: 'BLOCKED', reason: `rollback refused: ${target.refused}` });
    await announce(deps, r.duplicate, 'Release Finished', { releaseId, service: input.service, digest: input.digest }, { status: 'BLOCKED', at: r.at, reason: r.data.reason });
    throw new PolicyRefusedError(`rollback refused: ${target.refused}`);
  }
  await announce(
    deps,
    started.duplicate,
    'Release Started',
    { releaseId, service: input.service, digest: target.digest },
    { status: 'RUNNING', at: started.at, kind: 'rollback', initiator, stages: [input.stage] },
  );
  return { releaseId, service: input.service, digest: target.digest, tag: null, stages: [input.stage], stageCount: 1 };
}

export const handler = lambdaHandler(run);

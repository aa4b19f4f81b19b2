/**
 * The drill workflow's two steps (statemachines/drill.asl.json, docs/decisions/052-rollback-drills.md):
 *
 * - `prepare`: validates the drill input (a non-production stage), refuses a stage with a release or rollback in
 *   flight (its lease held) or with no previous last known good, opens the drill's record (release.started, kind
 *   `drill`) and gives the workflow the two rollback inputs: back to the previous last known good, forward to the
 *   digest running now. It writes no start record (only the operator API does, decision 025): each leg's first
 *   state (rollback-prepare) takes its initiator from this drill record, which names the leg's execution name.
 * - `finish`: reads both legs' records, measures them (start → stage healthy on the target), records
 *   `drill.recorded` and the outcome, and publishes `Rollback Drilled`.
 */
import * as z from 'zod';
import { drillLeg, drillOutcome, drillPlan, parseDrillInput, type DrillLeg } from './domain/drill';
import { UNATTRIBUTED_START } from './domain/release';
import { RELEASE_STEP, stageStep } from './domain/step-keys';
import { parseWith } from './domain/validation';
import type { Deps } from './ports';
import { PolicyRefusedError, rollbackTarget } from './rollback-prepare';
import { emitDrillMetrics } from './shared/metrics-emit';
import { lambdaHandler } from './shared/middleware';
import { announce, record } from './shared/recorder';

const prepareSchema = z.object({ action: z.literal('prepare'), input: z.unknown(), executionArn: z.string().min(1), executionName: z.string().min(1) });
const finishSchema = z.object({ action: z.literal('finish'), drillId: z.string().min(1) });
const eventSchema = z.discriminatedUnion('action', [prepareSchema, finishSchema]);

/** Who starts a scheduled drill (no person: EventBridge Scheduler, from the stage's `drill.schedule`). */
export const SCHEDULED_INITIATOR = 'gantry-drill-schedule';

/** The names of a drill's legs: its own execution name with a suffix (at most 80 characters in all). */
export function legNames(drillId: string): { back: string; forward: string } {
  const base = drillId.slice(0, 74);
  return { back: `${base}-back`, forward: `${base}-fwd` };
}

export interface PreparedDrill {
  readonly drillId: string;
  readonly service: string;
  readonly stage: string;
  readonly fromDigest: string;
  readonly toDigest: string;
  readonly back: { readonly name: string; readonly input: Record<string, unknown> };
  readonly forward: { readonly name: string; readonly input: Record<string, unknown> };
}

async function prepare(e: z.infer<typeof prepareSchema>, deps: Deps): Promise<PreparedDrill> {
  const input = parseDrillInput(e.input, deps.config);
  const drillId = e.executionName;
  const [pointer, lease] = await Promise.all([deps.ledger.getPointer(input.service, input.stage), deps.ledger.getLease(input.service, input.stage)]);
  const plan = drillPlan(pointer, lease, rollbackTarget(pointer, undefined));
  const initiator = (await deps.ledger.getInitiator(drillId)) ?? (input.scheduled ? SCHEDULED_INITIATOR : UNATTRIBUTED_START);
  const legs = legNames(drillId);
  await record(deps, drillId, RELEASE_STEP.started, 'release.started', {
    kind: 'drill',
    service: input.service,
    digest: 'fromDigest' in plan ? plan.fromDigest : (pointer?.running ?? null),
    rollbackTarget: 'toDigest' in plan ? plan.toDigest : null,
    tag: null,
    initiator,
    input: e.input,
    reason: input.reason ?? null,
    trigger: input.scheduled ? 'schedule' : 'operator',
    legs,
    stages: [input.stage],
    configHash: deps.configHash,
    executionArn: e.executionArn,
  });
  if ('refused' in plan) {
    const reason = `drill refused: ${plan.refused}; nothing was deployed`;
    await record(deps, drillId, stageStep.finished(input.stage), 'stage.finished', { status: 'BLOCKED', reason }, input.stage);
    const r = await record(deps, drillId, RELEASE_STEP.finished, 'release.finished', { status: 'BLOCKED', reason });
    await announce(
      deps,
      r.duplicate,
      'Rollback Drilled',
      { releaseId: drillId, service: input.service, digest: pointer?.running },
      { stage: input.stage, status: 'BLOCKED', at: r.at, reason, initiator },
    );
    throw new PolicyRefusedError(reason);
  }
  const why = `rollback drill ${drillId}${input.reason ? `: ${input.reason}` : ''}`;
  const leg = (which: 'back' | 'forward', digest: string) => ({ service: input.service, stage: input.stage, digest, reason: why, drill: { drillId, leg: which } });
  return {
    drillId,
    service: input.service,
    stage: input.stage,
    fromDigest: plan.fromDigest,
    toDigest: plan.toDigest,
    back: { name: legs.back, input: leg('back', plan.toDigest) },
    forward: { name: legs.forward, input: leg('forward', plan.fromDigest) },
  };
}

async function finish(e: z.infer<typeof finishSchema>, deps: Deps): Promise<{ status: string; reason: string }> {
  const events = await deps.ledger.events(e.drillId);
  const started = events.find((ev) => ev.type === 'release.started');
  if (!started || started.data.kind !== 'drill') throw new Error(`no drill record ${e.drillId}`);
  const service = String(started.data.service);
  const stage = String((started.data.stages as string[])[0]);
  const legs = started.data.legs as { back: string; forward: string };
  const back = drillLeg('back', legs.back, await deps.ledger.events(legs.back));
  const forward: DrillLeg =
    back.status === 'ROLLED_BACK' ? drillLeg('forward', legs.forward, await deps.ledger.events(legs.forward)) : { leg: 'forward', releaseId: legs.forward, status: 'NOT_STARTED' };
  const outcome = drillOutcome(back, forward);
  const figures = {
    service,
    stage,
    status: outcome.status,
    reason: outcome.reason,
    fromDigest: started.data.digest ?? null,
    toDigest: started.data.rollbackTarget ?? null,
    initiator: started.data.initiator ?? null,
    trigger: started.data.trigger ?? 'operator',
    timeToRestoreSeconds: back.seconds ?? null,
    rollForwardSeconds: forward.seconds ?? null,
    legs: [back, forward],
  };
  const rec = await record(deps, e.drillId, stageStep.drillRecorded(stage), 'drill.recorded', figures, stage);
  await record(deps, e.drillId, stageStep.finished(stage), 'stage.finished', { status: outcome.status, reason: outcome.reason }, stage);
  const r = await record(deps, e.drillId, RELEASE_STEP.finished, 'release.finished', { status: outcome.status, reason: outcome.reason });
  if (!rec.duplicate) emitDrillMetrics({ service, stage, timeToRestoreSeconds: back.seconds, rollForwardSeconds: forward.seconds, status: outcome.status }, deps.runtime);
  await announce(
    deps,
    r.duplicate,
    'Rollback Drilled',
    { releaseId: e.drillId, service, digest: figures.fromDigest as string | undefined },
    {
      stage,
      status: outcome.status,
      at: r.at,
      reason: outcome.reason,
      toDigest: figures.toDigest,
      initiator: figures.initiator,
      trigger: figures.trigger,
      timeToRestoreSeconds: figures.timeToRestoreSeconds,
      rollForwardSeconds: figures.rollForwardSeconds,
      legs: [back, forward].map((l) => ({ leg: l.leg, releaseId: l.releaseId, status: l.status, seconds: l.seconds ?? null })),
    },
  );
  return { status: outcome.status, reason: outcome.reason };
}

export async function run(event: unknown, deps: Deps): Promise<unknown> {
  const e = parseWith(eventSchema, event, 'task input');
  return e.action === 'prepare' ? prepare(e, deps) : finish(e, deps);
}

export const handler = lambdaHandler(run);

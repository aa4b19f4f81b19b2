/**
 * The point of action: immediately before a forward deploy's driver runs, decide again every control
 * whose answer can change while a release waits (for an approval, a window, a scan, a lease) and record
 * each as a gate result at this moment:
 * - the lease: still this release's, with its fencing token (an operator rollback may have taken it);
 * - newest wins: no newer digest of the service running in the stage or on its way there;
 * - gate `window`: release windows, blackouts and the global freeze (break-glass bypasses them, named);
 *   closed with `outside: "wait"` → wait for the next opening and check everything again;
 * - gate `alarms.pre-deploy`: the stage's alarms, read now;
 * - gate `promotion.previous-stage` (a promotion's first stage, decision 054): the digest is still promoted in the
 *   stage before and was not rolled back away from there while this stage waited.
 * Then claim the deploy on the lease (conditional on the token): from here until the driver run is
 * recorded, nobody can take the stage.
 */
import { stageClusters } from './domain/config';
import * as z from 'zod';
import { evaluateAlarmReadFailure, evaluateAlarmsPreDeploy } from './domain/gates';
import { approvalAtAction, windowAtAction } from './domain/point-of-action';
import { readPreviousStageAtAction } from './shared/promotion';
import { parseWith } from './domain/validation';
import type { Deps } from './ports';
import { readStageAlarms } from './shared/alarms';
import { checkLease, recordPreempted, supersedeIfNewer } from './shared/lease';
import { lambdaHandler } from './shared/middleware';
import { announce, loadRelease, record, recordAll, stageConfigOf } from './shared/recorder';
import { stageStep } from './domain/step-keys';

const eventSchema = z.object({ releaseId: z.string().min(1), stage: z.string().min(1), attempt: z.number().int().min(0).default(0) });

export type DeployCheckResult =
  | { verdict: 'PASS'; reason: string; attempt: number }
  | { verdict: 'WAIT'; until: string; reason: string; attempt: number }
  | { verdict: 'BLOCK' | 'SUPERSEDED' | 'LEASE_LOST'; reason: string; attempt: number };

export async function run(event: unknown, deps: Deps): Promise<DeployCheckResult> {
  const e = parseWith(eventSchema, event, 'task input');
  const events = await deps.ledger.events(e.releaseId);
  const release = await loadRelease(deps, e.releaseId, events);
  const { st } = stageConfigOf(deps, release.service, e.stage);
  const key = (what: string) => stageStep.atDeploy(e.stage, e.attempt, what);
  const now = deps.now();

  const lease = await checkLease(deps, e.releaseId, release.service, e.stage, events);
  if (!lease.held) return { verdict: 'LEASE_LOST', reason: await recordPreempted(deps, release, e.stage, events), attempt: e.attempt };

  const superseded = await supersedeIfNewer(deps, release, e.stage);
  if (superseded) return { verdict: 'SUPERSEDED', reason: superseded, attempt: e.attempt };

  // An approval stands, unless the stage says how long it is good for and that has passed.
  const stageSummary = release.stages.find((x) => x.name === e.stage);
  const approval = approvalAtAction(st.approval?.validForMinutes, stageSummary?.approval, now, stageSummary?.approvals);
  if (approval) {
    const r = await record(deps, e.releaseId, key('gate:approval'), 'gate.evaluated', { gate: 'approval', ...approval, checkpoint: 'deploy' }, e.stage);
    if (approval.result === 'FAIL') {
      await announce(deps, r.duplicate, 'Stage Gate Failed', release, { stage: e.stage, status: 'BLOCKED', at: r.at, gate: 'approval', reason: approval.reason });
      return { verdict: 'BLOCK', reason: approval.reason, attempt: e.attempt };
    }
  }

  // A promotion (decision 054): the stage before may have been rolled back away from the digest while this one waited.
  if (release.startAt === e.stage && release.digest) {
    const promotion = await readPreviousStageAtAction(deps, release.service, e.stage, release.digest);
    if (promotion) {
      const r = await record(deps, e.releaseId, key(`gate:${promotion.gate}`), 'gate.evaluated', { ...promotion, checkpoint: 'deploy' }, e.stage);
      if (r.data.result === 'FAIL') {
        await announce(deps, r.duplicate, 'Stage Gate Failed', release, { stage: e.stage, status: 'BLOCKED', at: r.at, gate: promotion.gate, reason: String(r.data.reason) });
        return { verdict: 'BLOCK', reason: String(r.data.reason), attempt: e.attempt };
      }
    }
  }

  const freeze = await deps.ledger.getFreeze();
  const w = windowAtAction(st.windows, now, { kind: 'deploy', breakGlass: release.breakGlass ?? null, freeze });
  if (w.verdict === 'WAIT') {
    await record(
      deps,
      e.releaseId,
      key('waiting:window'),
      'stage.waiting',
      { waitingFor: 'window', until: w.until, reason: w.reason, checkpoint: 'deploy', ...(st.windows ? { timezone: st.windows.timezone } : {}) },
      e.stage,
    );
    return { verdict: 'WAIT', until: w.until, reason: w.reason, attempt: e.attempt + 1 };
  }
  const windowStep = {
    stepKey: key('gate:window'),
    type: 'gate.evaluated' as const,
    data: {
      gate: 'window',
      result: w.result,
      reason: w.reason,
      checkpoint: 'deploy',
      evidence: { windows: st.windows ?? null, breakGlass: release.breakGlass ?? null, freeze, bypassed: w.bypassed },
    },
    stage: e.stage,
  };
  if (w.verdict === 'BLOCK') {
    const [windowGate] = await recordAll(deps, e.releaseId, [windowStep]);
    await announce(deps, windowGate!.duplicate, 'Stage Gate Failed', release, { stage: e.stage, status: 'BLOCKED', at: windowGate!.at, gate: 'window', reason: w.reason });
    return { verdict: 'BLOCK', reason: w.reason, attempt: e.attempt };
  }

  // Alarms that cannot be read (after the SDK's retries) fail the gate, naming them and the error (decision 018).
  // The window gate (evaluated first) and the alarm gate are recorded together, in that order, in one write.
  const read = await readStageAlarms(deps, st.alarms, { releaseId: e.releaseId, stage: e.stage, check: 'pre-deploy', clusters: stageClusters(st) });
  const gate = read.ok ? evaluateAlarmsPreDeploy(st, read.states) : evaluateAlarmReadFailure('alarms.pre-deploy', st.alarms, read.error);
  const [, alarmGate] = await recordAll(deps, e.releaseId, [
    windowStep,
    { stepKey: key('gate:alarms.pre-deploy'), type: 'gate.evaluated', data: { ...gate, checkpoint: 'deploy' }, stage: e.stage },
  ]);
  if (gate.result === 'FAIL') {
    await announce(deps, alarmGate!.duplicate, 'Stage Gate Failed', release, { stage: e.stage, status: 'BLOCKED', at: alarmGate!.at, gate: gate.gate, reason: gate.reason });
    return { verdict: 'BLOCK', reason: gate.reason, attempt: e.attempt };
  }

  if (!release.digest) throw new Error(`release ${e.releaseId} has no digest to deploy`);
  const claimed = await deps.ledger.beginDeploy(release.service, e.stage, e.releaseId, lease.fence, { kind: 'deploy', digest: release.digest, at: now.toISOString() });
  if (!claimed) return { verdict: 'LEASE_LOST', reason: await recordPreempted(deps, release, e.stage, await deps.ledger.events(e.releaseId)), attempt: e.attempt };
  return { verdict: 'PASS', reason: `${w.reason}; ${gate.reason}`, attempt: e.attempt };
}

export const handler = lambdaHandler(run);

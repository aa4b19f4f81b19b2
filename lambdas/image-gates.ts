/**
 * The image gates of a stage, on the digest resolved at the start. Returns WAIT while a scan is
 * still running (up to the policy's scanWaitMinutes), FAIL when any gate refused, PASS otherwise.
 */
import { z } from 'zod';
import { evaluateImageExists, evaluateScan } from './domain/gates';
import type { GateResult } from './domain/types';
import { parseWith } from './domain/validation';
import type { Deps } from './ports';
import { lambdaHandler } from './shared/middleware';
import { announce, loadRelease, record, stageConfigOf } from './shared/recorder';

const eventSchema = z.object({ releaseId: z.string().min(1), stage: z.string().min(1) });

export const SCAN_POLL_SECONDS = 30;

export async function run(event: unknown, deps: Deps): Promise<{ verdict: 'PASS' | 'FAIL' | 'WAIT'; waitSeconds?: number; reason?: string }> {
  const e = parseWith(eventSchema, event, 'task input');
  const release = await loadRelease(deps, e.releaseId);
  const { svc } = stageConfigOf(deps, release.service, e.stage);
  const now = deps.now();
  const gates: GateResult[] = [];

  const image = release.digest ? await deps.registry.describeImage(svc.repository, { digest: release.digest }) : undefined;
  gates.push(evaluateImageExists(svc.repository, release.digest, release.tag, image));

  if (gates.every((g) => g.result !== 'FAIL') && release.digest) {
    const scan = await deps.registry.scanFindings(svc.repository, release.digest);
    const waitEvent = (await deps.ledger.events(e.releaseId)).find((ev) => ev.stepKey === `stage:${e.stage}:waiting:scan`);
    const verdict = evaluateScan(svc.imagePolicy, scan, now, waitEvent ? new Date(waitEvent.at) : undefined);
    if (verdict.kind === 'wait') {
      await record(deps, e.releaseId, `stage:${e.stage}:waiting:scan`, 'stage.waiting', { waitingFor: 'scan', reason: verdict.reason }, e.stage);
      return { verdict: 'WAIT', waitSeconds: SCAN_POLL_SECONDS, reason: verdict.reason };
    }
    gates.push(verdict.gate);
  }

  for (const g of gates) {
    const r = await record(deps, e.releaseId, `stage:${e.stage}:gate:${g.gate}`, 'gate.evaluated', { ...g }, e.stage);
    if (g.result === 'FAIL') await announce(deps, r.duplicate, 'Stage Gate Failed', release, { stage: e.stage, status: 'BLOCKED', at: r.at, gate: g.gate, reason: g.reason });
  }
  const failed = gates.filter((g) => g.result === 'FAIL');
  return failed.length ? { verdict: 'FAIL', reason: failed.map((g) => `${g.gate}: ${g.reason}`).join('; ') } : { verdict: 'PASS' };
}

export const handler = lambdaHandler(run);

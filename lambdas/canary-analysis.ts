/**
 * The canary analysis of one canary step (docs/decisions/043-canary-steps.md): the stage's `rollout.analysis` metric,
 * read with CloudWatch GetMetricData for the stable's and the canary's dimensions over the step's bake (its
 * `bake.started` to its `bake.finished`, phase `canary-<n>`), compared by lambdas/domain/canary.ts `decideAnalysis`,
 * recorded as gate `canary.analysis` with the figures. A metric that cannot be read is a FAIL, as an alarm that
 * cannot be read fails a bake (decision 018): a canary is never promoted on figures nobody read.
 */
import * as z from 'zod';
import { decideAnalysis } from './domain/canary';
import { stageStep } from './domain/step-keys';
import { parseWith } from './domain/validation';
import type { Deps } from './ports';
import { awsErrorOf } from './shared/alarms';
import { metricsFor } from './shared/clusters';
import { roleSessionName } from './domain/cluster-scope';
import { lambdaHandler } from './shared/middleware';
import { loadRelease, record, stageConfigOf } from './shared/recorder';

/** The stage has no canary analysis to run (the workflow asked for one where the config has none). */
export class CanaryAnalysisError extends Error {
  override readonly name = 'CanaryAnalysisError';
}

const eventSchema = z.object({ releaseId: z.string().min(1), stage: z.string().min(1), step: z.number().int().min(1).max(100), weight: z.number().int().min(1).max(100) });

export async function run(event: unknown, deps: Deps): Promise<Record<string, unknown>> {
  const e = parseWith(eventSchema, event, 'task input');
  const events = await deps.ledger.events(e.releaseId);
  const release = await loadRelease(deps, e.releaseId, events);
  const { st } = stageConfigOf(deps, release.service, e.stage);
  const analysis = st.deploy.driver === 'kubernetes' ? st.deploy.rollout?.analysis : undefined;
  if (!analysis) throw new CanaryAnalysisError(`stage ${release.service}/${e.stage} has no deploy.rollout.analysis`);
  const phase = `canary-${e.step}`;
  const mine = events.filter((x) => x.stage === e.stage && x.data.phase === phase);
  const started = mine.find((x) => x.type === 'bake.started');
  const finished = mine.find((x) => x.type === 'bake.finished');
  const end = finished?.at ?? deps.now().toISOString();
  const start = started?.at ?? end;
  const q = { namespace: analysis.metric.namespace, name: analysis.metric.name, stat: analysis.metric.stat, periodSeconds: analysis.periodSeconds };
  let verdict: ReturnType<typeof decideAnalysis> & { readError?: string };
  try {
    // Read where the canary runs: the cluster's account and region (its role in another account, decision 045).
    const metrics = metricsFor(deps, st.cluster, roleSessionName(e.releaseId));
    const data = await metrics.getMetricData(
      [
        { id: 'stable', ...q, dimensions: analysis.stableDimensions },
        { id: 'canary', ...q, dimensions: analysis.canaryDimensions },
      ],
      start,
      end,
    );
    verdict = decideAnalysis(analysis, data.stable ?? [], data.canary ?? []);
  } catch (err) {
    const f = awsErrorOf(err);
    const text = `${f.name}: ${f.message}`;
    verdict = { ...decideAnalysis(analysis, [], []), reason: `the metric could not be read: ${text}`, readError: text };
  }
  const gate = {
    gate: 'canary.analysis',
    result: verdict.result,
    reason: `step ${e.step} (${e.weight} %): ${verdict.reason}`,
    phase,
    step: e.step,
    weight: e.weight,
    evidence: {
      metric: `${analysis.metric.namespace}/${analysis.metric.name} ${analysis.metric.stat}`,
      periodSeconds: analysis.periodSeconds,
      from: start,
      to: end,
      stable: verdict.stable,
      canary: verdict.canary,
      ratio: verdict.ratio,
      maxRatio: verdict.maxRatio,
      minSamples: verdict.minSamples,
    },
  };
  await record(deps, e.releaseId, stageStep.canaryAnalysis(e.stage, e.step), 'gate.evaluated', gate, e.stage);
  return { verdict: verdict.result, reason: verdict.reason, step: e.step, weight: e.weight };
}

export const handler = lambdaHandler(run);

/**
 * CloudWatch metrics (Powertools EMF) of one insight check: `StaleServices` and `DriftedStages`, in the
 * `Gantry` namespace with no dimension (one figure for the control plane), and `DriftedStages` again per
 * Service. Emitted once per check, when its insight record is first written.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRIC_DIMENSIONS as D } from '../domain/metrics';
import type { DriftFinding, StaleFinding } from '../domain/insight';
import type { MetricsSink, ReleaseMetric } from './metrics-emit';
import type { RuntimeFacts } from '../ports';
import { metrics as powertoolsMetrics } from './middleware';

export const INSIGHT_METRICS = { staleServices: 'StaleServices', driftedStages: 'DriftedStages' } as const;

/** The metrics of one check. A stage counts once however many ways it drifted. */
export function insightMetrics(stale: readonly StaleFinding[], drift: readonly DriftFinding[]): ReleaseMetric[] {
  const stages = new Map<string, string>();
  for (const d of drift) stages.set(`${d.service}/${d.stage}`, d.service);
  const perService = new Map<string, number>();
  for (const svc of stages.values()) perService.set(svc, (perService.get(svc) ?? 0) + 1);
  return [
    { name: INSIGHT_METRICS.staleServices, unit: 'Count', value: new Set(stale.map((s) => s.service)).size, dimensions: {} },
    { name: INSIGHT_METRICS.driftedStages, unit: 'Count', value: stages.size, dimensions: {} },
    ...[...perService]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([service, n]) => ({ name: INSIGHT_METRICS.driftedStages, unit: 'Count' as const, value: n, dimensions: { [D.service]: service } })),
  ];
}

/** Emit each metric as its own EMF record with exactly its dimensions; without a sink, only inside Lambda (`runtime.inLambda`). */
export function emitInsightMetrics(stale: readonly StaleFinding[], drift: readonly DriftFinding[], runtime: Pick<RuntimeFacts, 'inLambda'>, sink?: MetricsSink): ReleaseMetric[] {
  const list = insightMetrics(stale, drift);
  const target = sink ?? (runtime.inLambda ? powertoolsMetrics : undefined);
  if (!target) return list;
  for (const m of list) {
    const single = target.singleMetric();
    single.clearDefaultDimensions();
    if (Object.keys(m.dimensions).length > 0) single.addDimensions({ ...m.dimensions });
    single.addMetric(m.name, MetricUnit.Count, m.value);
  }
  return list;
}

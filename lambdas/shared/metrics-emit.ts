/**
 * CloudWatch metrics (Powertools EMF) for one finished release: DORA inputs per service and stage,
 * releases by outcome, time per phase. The names and dimensions are in lambdas/domain/metrics.ts
 * (RELEASE_METRICS), where the dashboard reads them too.
 *
 * Called once per release, when its release.finished is first written (not on a duplicate step):
 *   if (!r.duplicate) emitReleaseMetrics(await deps.ledger.events(e.releaseId), deps.runtime);
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { LedgerEvent } from '../domain/ledger';
import { DRILL_METRICS, METRIC_DIMENSIONS as D, PHASES, type Phase, RELEASE_METRICS as M, releaseFacts } from '../domain/metrics';
import type { RuntimeFacts } from '../ports';
import { metrics as powertoolsMetrics } from './middleware';

export interface ReleaseMetric {
  readonly name: string;
  readonly unit: 'Count' | 'Seconds';
  readonly value: number;
  readonly dimensions: Readonly<Record<string, string>>;
}

/** What emitting needs from Powertools `Metrics` (its `singleMetric()`), so a test can watch it. */
export interface MetricsSink {
  singleMetric(): {
    clearDefaultDimensions(): void;
    addDimensions(dimensions: Record<string, string>): unknown;
    addMetric(name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number): unknown;
  };
}

/** The metrics of one release, from its events. Empty for a release not finished (or not a release). */
export function releaseMetrics(events: readonly LedgerEvent[]): ReleaseMetric[] {
  const f = releaseFacts(events);
  if (!f || f.status === 'RUNNING' || !f.service) return [];
  const out: ReleaseMetric[] = [];
  const svc = { [D.service]: f.service };
  const put = (name: string, unit: ReleaseMetric['unit'], value: number | undefined, dims: Record<string, string>) => {
    if (value !== undefined && Number.isFinite(value) && value >= 0) out.push({ name, unit, value, dimensions: dims });
  };
  for (const r of f.recoveries) put(M.recoveryTime, 'Seconds', r.seconds, { ...svc, [D.stage]: r.stage });
  if (f.kind !== 'release') return out;

  put(M.releases, 'Count', 1, { ...svc, [D.outcome]: f.status });
  if (f.endedAt) put(M.releaseDuration, 'Seconds', (Date.parse(f.endedAt) - Date.parse(f.startedAt)) / 1000, svc);
  if (f.deployed) {
    put(M.changesDeployed, 'Count', 1, svc);
    put(M.changesFailed, 'Count', f.failedAfterDeploy ? 1 : 0, svc);
  }
  const phases: Partial<Record<Phase, number>> = {};
  for (const st of f.stages) {
    if (st.deployedAt) put(M.deployments, 'Count', 1, { ...svc, [D.stage]: st.stage });
    put(M.leadTime, 'Seconds', st.leadTimeSeconds, { ...svc, [D.stage]: st.stage });
    for (const p of PHASES) if (st.phases[p] !== undefined) phases[p] = (phases[p] ?? 0) + (st.phases[p] as number);
  }
  for (const p of PHASES) put(M.phaseDuration, 'Seconds', phases[p], { ...svc, [D.phase]: p });
  return out;
}

/**
 * Emit the release's metrics, each as its own EMF record with exactly its dimensions. Returns the
 * metrics. Without a `sink`, they go to the Powertools metrics object, and only inside Lambda
 * (`runtime.inLambda`): EMF means something only in a function's log, and the local runtime
 * (`gantry simulate`) runs the same handlers and must not print it.
 */
export function emitReleaseMetrics(events: readonly LedgerEvent[], runtime: Pick<RuntimeFacts, 'inLambda'>, sink?: MetricsSink): ReleaseMetric[] {
  return emit(releaseMetrics(events), runtime, sink);
}

/** Each metric as its own EMF record with exactly its dimensions, to `sink` or (inside Lambda only) Powertools. */
function emit(list: ReleaseMetric[], runtime: Pick<RuntimeFacts, 'inLambda'>, sink?: MetricsSink): ReleaseMetric[] {
  const target = sink ?? (runtime.inLambda ? powertoolsMetrics : undefined);
  if (!target) return list;
  for (const m of list) {
    const single = target.singleMetric();
    single.clearDefaultDimensions();
    single.addDimensions({ ...m.dimensions });
    single.addMetric(m.name, m.unit === 'Seconds' ? MetricUnit.Seconds : MetricUnit.Count, m.value);
  }
  return list;
}

/** A finished drill's figures (lambdas/drill-step.ts). */
export interface DrillFigures {
  readonly service: string;
  readonly stage: string;
  readonly status: string;
  readonly timeToRestoreSeconds?: number;
  readonly rollForwardSeconds?: number;
}

/** The metrics of one drill: its outcome, and each leg's time to a healthy stage (when it got there). */
export function drillMetrics(f: DrillFigures): ReleaseMetric[] {
  const dims = { [D.service]: f.service, [D.stage]: f.stage };
  const out: ReleaseMetric[] = [{ name: DRILL_METRICS.drills, unit: 'Count', value: 1, dimensions: { ...dims, [D.outcome]: f.status } }];
  if (f.timeToRestoreSeconds !== undefined && f.timeToRestoreSeconds >= 0)
    out.push({ name: DRILL_METRICS.timeToRestore, unit: 'Seconds', value: f.timeToRestoreSeconds, dimensions: dims });
  if (f.rollForwardSeconds !== undefined && f.rollForwardSeconds >= 0)
    out.push({ name: DRILL_METRICS.rollForward, unit: 'Seconds', value: f.rollForwardSeconds, dimensions: dims });
  return out;
}

/** Emit a drill's metrics as emitReleaseMetrics emits a release's (only inside Lambda without a sink). */
export function emitDrillMetrics(f: DrillFigures, runtime: Pick<RuntimeFacts, 'inLambda'>, sink?: MetricsSink): ReleaseMetric[] {
  return emit(drillMetrics(f), runtime, sink);
}

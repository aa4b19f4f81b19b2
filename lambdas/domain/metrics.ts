/**
 * DORA metrics from ledger events, per service and stage. Pure: the caller gives the events and the
 * window; nothing here reads a clock.
 *
 * Definitions (docs/auditor-guide.md):
 * - deployment frequency: releases whose deploy to the stage succeeded (`deploy.finished` SUCCEEDED,
 *   kind deploy), per day of the window;
 * - lead time for changes: from the change's start — the image's `created` label when the evidence
 *   records one, else the release start — to the stage's `stage.promoted`;
 * - change failure rate: releases that deployed something (a `deploy.started` of kind deploy) and ended
 *   ROLLED_BACK, ROLLBACK_FAILED or FAILED ÷ releases that deployed something. Releases that never
 *   deployed (BLOCKED, REJECTED, SKIPPED, refused by a gate) do not count at all. Per stage: the stage
 *   was deployed and finished ROLLED_BACK, ROLLBACK_FAILED or FAILED;
 * - failed deployment recovery time: `rollback.started` detectedAt (the alarm transition or deploy
 *   failure) → `rollback.finished` of a rollback that SUCCEEDED.
 * Operator rollbacks (release kind `rollback`) are not changes: they count only for recovery time.
 */
import { imageFacts } from './audit';
import { drillRecords, type DrillRecord } from './drill';
import type { LedgerEvent } from './ledger';

/**
 * The CloudWatch metrics (EMF, namespace `Gantry`) emitted when a release finishes
 * (lambdas/shared/metrics-emit.ts) and graphed by lib/ReleaseDashboard.ts. Dimensions are exactly the
 * ones listed; no other dimension is added.
 */
export const METRIC_NAMESPACE = 'Gantry';
export const RELEASE_METRICS = {
  /** Count 1 per finished release (kind release), dimensions Service, Outcome (the final status). */
  releases: 'Releases',
  /** Seconds from release start to finish, dimension Service. */
  releaseDuration: 'ReleaseDuration',
  /** Count 1 per stage whose deploy of the release succeeded, dimensions Service, Stage (deployment frequency). */
  deployments: 'Deployments',
  /** Count 1 per release that deployed something, dimension Service (change failure rate's denominator). */
  changesDeployed: 'ChangesDeployed',
  /** Count 1 or 0 per release that deployed something: 1 when it ended ROLLED_BACK, ROLLBACK_FAILED or FAILED; dimension Service. */
  changesFailed: 'ChangesFailed',
  /** Seconds from the change's start to the stage's promotion, dimensions Service, Stage. */
  leadTime: 'LeadTime',
  /** Seconds from detection to a successful rollback, dimensions Service, Stage. */
  recoveryTime: 'RecoveryTime',
  /** Seconds the release spent in a phase (summed over its stages), dimensions Service, Phase. */
  phaseDuration: 'PhaseDuration',
} as const;
/** The drill metrics (decision 052), emitted by the drill workflow's finish step (lambdas/drill-step.ts), namespace `Gantry`. */
export const DRILL_METRICS = {
  /** Seconds from a drill's roll-back start to the stage healthy on the older digest, dimensions Service, Stage. */
  timeToRestore: 'DrillTimeToRestore',
  /** Seconds from its roll-forward start to the stage healthy again on the digest that was running, dimensions Service, Stage. */
  rollForward: 'DrillRollForward',
  /** Count 1 per finished drill, dimensions Service, Stage, Outcome. */
  drills: 'Drills',
} as const;
export const METRIC_DIMENSIONS = { service: 'Service', stage: 'Stage', outcome: 'Outcome', phase: 'Phase' } as const;

export const FAILED_RELEASE_STATUSES: ReadonlySet<string> = new Set(['ROLLED_BACK', 'ROLLBACK_FAILED', 'FAILED']);

/** The production stage of a release or a service: the stage named `prod`, else the last stage. */
export function productionStageOf(stages: readonly string[]): string | undefined {
  return stages.includes('prod') ? 'prod' : stages.at(-1);
}

export interface StageFacts {
  readonly stage: string;
  /** A deploy of the release's digest started in the stage. */
  readonly deployed: boolean;
  /** When the deploy succeeded (the stage runs the release's digest from then). */
  readonly deployedAt?: string;
  readonly promotedAt?: string;
  readonly status?: string;
  /** Deployed, then finished ROLLED_BACK, ROLLBACK_FAILED or FAILED. */
  readonly failed: boolean;
  readonly leadTimeSeconds?: number;
  /** Seconds spent per phase in this stage: gates (stage start → deploy start), approval, deploy, bake, rollback. */
  readonly phases: Readonly<Partial<Record<Phase, number>>>;
}

export const PHASES = ['gates', 'approval', 'deploy', 'bake', 'rollback'] as const;
export type Phase = (typeof PHASES)[number];

export interface RecoveryFacts {
  readonly stage: string;
  readonly detectedAt: string;
  readonly endedAt?: string;
  readonly result?: string;
  /** detectedAt → rollback.finished, for rollbacks that SUCCEEDED. */
  readonly seconds?: number;
}

export interface ReleaseFacts {
  readonly releaseId: string;
  readonly service: string;
  readonly kind: 'release' | 'rollback';
  readonly status: string;
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly stages: readonly StageFacts[];
  readonly productionStage?: string;
  /** Any deploy of the release's digest started. */
  readonly deployed: boolean;
  /** Deployed, and ended ROLLED_BACK, ROLLBACK_FAILED or FAILED. */
  readonly failedAfterDeploy: boolean;
  /** Where lead time starts. */
  readonly changeStart: { readonly at: string; readonly source: 'image.created' | 'release.started' };
  readonly recoveries: readonly RecoveryFacts[];
}

const seconds = (from: string | undefined, to: string | undefined): number | undefined => {
  if (!from || !to) return undefined;
  const a = Date.parse(from);
  const b = Date.parse(to);
  return Number.isNaN(a) || Number.isNaN(b) ? undefined : (b - a) / 1000;
};

/** One release's figures from its events; undefined when the events do not start with release.started. */
export function releaseFacts(events: readonly LedgerEvent[]): ReleaseFacts | undefined {
  const sorted = [...events].sort((a, b) => a.seq - b.seq);
  const started = sorted[0];
  if (!started || started.type !== 'release.started') return undefined;
  const d = started.data;
  // A rollback drill and its two legs are rehearsals, not changes or recoveries: counted apart (drillStats, decision 052).
  if (d.kind === 'drill' || isDrillLeg(d.input)) return undefined;
  const kind = d.kind === 'rollback' ? 'rollback' : 'release';
  const declared = Array.isArray(d.stages) ? (d.stages as unknown[]).filter((x): x is string => typeof x === 'string') : [];
  const names = [...declared];
  for (const e of sorted) if (e.stage && !names.includes(e.stage)) names.push(e.stage);
  const finished = sorted.find((e) => e.type === 'release.finished');
  const status = typeof finished?.data.status === 'string' ? finished.data.status : 'RUNNING';

  const created = imageFacts(sorted).created;
  const createdMs = created ? Date.parse(created.value) : Number.NaN;
  const changeStart =
    created && !Number.isNaN(createdMs) && createdMs <= Date.parse(started.at)
      ? { at: new Date(createdMs).toISOString(), source: 'image.created' as const }
      : { at: started.at, source: 'release.started' as const };

  const recoveries: RecoveryFacts[] = [];
  const stages: StageFacts[] = names.map((stage) => {
    const of = sorted.filter((e) => e.stage === stage);
    const first = (type: string, pred: (e: LedgerEvent) => boolean = () => true) => of.find((e) => e.type === type && pred(e));
    const isDeploy = (e: LedgerEvent) => e.data.kind !== 'rollback';
    const stageStarted = first('stage.started');
    const deployStarted = first('deploy.started', isDeploy);
    const deployFinished = first('deploy.finished', isDeploy);
    const deployedAt = deployFinished?.data.result === 'SUCCEEDED' ? deployFinished.at : undefined;
    const promotedAt = first('stage.promoted')?.at;
    const stageFinished = first('stage.finished');
    const stageStatus = typeof stageFinished?.data.status === 'string' ? stageFinished.data.status : promotedAt ? 'PROMOTED' : undefined;
    const rollbackStarted = first('rollback.started');
    const rollbackFinished = first('rollback.finished');
    const approvalGate = first('gate.evaluated', (e) => e.data.gate === 'approval');
    const approvalWait = first('stage.waiting', (e) => e.data.waitingFor === 'approval');
    // The stage's own bake; a phase's bake inside the stage (decision 047) is part of its deploy.
    const bakeStarted = first('bake.started', (e) => e.data.phase === undefined);
    const bakeFinished = first('bake.finished', (e) => e.data.phase === undefined);

    const phases: Partial<Record<Phase, number>> = {};
    const put = (p: Phase, v: number | undefined) => {
      if (v !== undefined && v >= 0) phases[p] = v;
    };
    put('approval', seconds(approvalWait?.at, approvalGate?.at));
    const gatesSpan = seconds(stageStarted?.at, deployStarted?.at ?? stageFinished?.at);
    if (gatesSpan !== undefined) put('gates', Math.max(0, gatesSpan - (phases.approval ?? 0)));
    put('deploy', seconds(deployStarted?.at, deployFinished?.at));
    put('bake', seconds(bakeStarted?.at, bakeFinished?.at));
    put('rollback', seconds(rollbackStarted?.at, rollbackFinished?.at));

    if (rollbackStarted) {
      const detectedAt = typeof rollbackStarted.data.detectedAt === 'string' ? rollbackStarted.data.detectedAt : rollbackStarted.at;
      const result = typeof rollbackFinished?.data.result === 'string' ? rollbackFinished.data.result : undefined;
      recoveries.push({
        stage,
        detectedAt,
        ...(rollbackFinished ? { endedAt: rollbackFinished.at } : {}),
        ...(result ? { result } : {}),
        ...(result === 'SUCCEEDED' ? { seconds: seconds(detectedAt, rollbackFinished?.at) } : {}),
      });
    }
    const deployed = kind === 'release' && deployStarted !== undefined;
    return {
      stage,
      deployed,
      ...(deployedAt && kind === 'release' ? { deployedAt } : {}),
      ...(promotedAt ? { promotedAt } : {}),
      ...(stageStatus ? { status: stageStatus } : {}),
      failed: deployed && stageStatus !== undefined && FAILED_RELEASE_STATUSES.has(stageStatus),
      ...(promotedAt && kind === 'release' ? { leadTimeSeconds: seconds(changeStart.at, promotedAt) } : {}),
      phases,
    };
  });
  const deployed = stages.some((s) => s.deployed);
  return {
    releaseId: started.releaseId,
    service: typeof d.service === 'string' ? d.service : '',
    kind,
    status,
    startedAt: started.at,
    ...(finished ? { endedAt: finished.at } : {}),
    stages,
    ...(productionStageOf(declared.length ? declared : names) ? { productionStage: productionStageOf(declared.length ? declared : names) } : {}),
    deployed,
    failedAfterDeploy: deployed && FAILED_RELEASE_STATUSES.has(status),
    changeStart,
    recoveries,
  };
}

/** Whether a rollback's input names a drill (the drill workflow's legs: lambdas/drill-step.ts). */
function isDrillLeg(input: unknown): boolean {
  const drill = typeof input === 'object' && input !== null ? (input as { drill?: unknown }).drill : undefined;
  return typeof drill === 'object' && drill !== null && typeof (drill as { drillId?: unknown }).drillId === 'string';
}

// ---------------------------------------------------------------- aggregation

/** Rollback drills of a stage (or a service): how many, their outcomes, and the time to restore they measured. */
export interface DrillStats {
  readonly drills: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Roll-back start → the stage healthy on the older digest, for drills whose roll-back got there. */
  readonly timeToRestore: DurationStats;
  /** Roll-forward start → the stage healthy again on the digest that was running. */
  readonly rollForward: DurationStats;
  readonly lastAt: string | null;
}

export function drillStats(list: readonly DrillRecord[]): DrillStats {
  const nums = (f: (d: DrillRecord) => number | undefined) => list.flatMap((d) => (f(d) !== undefined ? [f(d) as number] : []));
  return {
    drills: list.length,
    succeeded: list.filter((d) => d.status === 'SUCCEEDED').length,
    failed: list.filter((d) => d.status !== 'SUCCEEDED').length,
    timeToRestore: durationStats(nums((d) => d.timeToRestoreSeconds)),
    rollForward: durationStats(nums((d) => d.rollForwardSeconds)),
    lastAt:
      list
        .map((d) => d.at)
        .sort()
        .at(-1) ?? null,
  };
}

export interface DurationStats {
  readonly count: number;
  readonly medianSeconds: number | null;
  readonly meanSeconds: number | null;
  readonly minSeconds: number | null;
  readonly maxSeconds: number | null;
}

export function durationStats(values: readonly number[]): DurationStats {
  if (values.length === 0) return { count: 0, medianSeconds: null, meanSeconds: null, minSeconds: null, maxSeconds: null };
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  return { count: v.length, medianSeconds: median, meanSeconds: mean, minSeconds: v[0] as number, maxSeconds: v.at(-1) as number };
}

export interface Frequency {
  readonly deployments: number;
  readonly perDay: number;
  readonly perWeek: number;
}

export interface ChangeFailureRate {
  /** Releases that deployed and then failed (ROLLED_BACK, ROLLBACK_FAILED, FAILED). */
  readonly failed: number;
  /** Releases that deployed something. */
  readonly deployed: number;
  /** failed ÷ deployed; null when nothing deployed. */
  readonly rate: number | null;
}

export interface StageDora {
  readonly stage: string;
  readonly deploymentFrequency: Frequency;
  readonly leadTime: DurationStats;
  readonly changeFailureRate: ChangeFailureRate;
  readonly recoveryTime: DurationStats & { readonly unrecovered: number };
  /** Rollback drills of the stage in the window (decision 052): their time to restore beside the real recoveries. */
  readonly drills: DrillStats;
}

export interface ServiceDora {
  readonly service: string;
  /** Releases (kind release) started in the window, by final status. */
  readonly releases: number;
  readonly outcomes: Readonly<Record<string, number>>;
  readonly operatorRollbacks: number;
  /** The stage the headline figures are for. */
  readonly productionStage?: string;
  readonly deploymentFrequency: Frequency;
  readonly leadTime: DurationStats & { readonly sources: Readonly<Record<string, number>> };
  readonly changeFailureRate: ChangeFailureRate;
  readonly recoveryTime: DurationStats & { readonly unrecovered: number };
  /** Every rollback drill of the service in the window (decision 052). */
  readonly drills: DrillStats;
  readonly stages: readonly StageDora[];
}

export interface DoraQuery {
  readonly service?: string;
  /** Releases started at or after (ISO instant). */
  readonly since?: string;
  /** Releases started at or before (ISO instant). */
  readonly until?: string;
}

export interface DoraReport {
  readonly window: { readonly since: string | null; readonly until: string | null; readonly days: number };
  readonly releases: number;
  readonly services: readonly ServiceDora[];
}

const DAY_SECONDS = 86_400;

function frequency(count: number, days: number): Frequency {
  const d = Math.max(days, 1);
  return { deployments: count, perDay: count / d, perWeek: (count / d) * 7 };
}

function rate(failed: number, deployed: number): ChangeFailureRate {
  return { failed, deployed, rate: deployed === 0 ? null : failed / deployed };
}

function recovery(list: readonly RecoveryFacts[]): DurationStats & { unrecovered: number } {
  return { ...durationStats(list.flatMap((r) => (r.seconds !== undefined ? [r.seconds] : []))), unrecovered: list.filter((r) => r.result !== 'SUCCEEDED').length };
}

/**
 * DORA figures per service and stage for the releases started in the window. The window's length
 * (for frequencies) is since → until when given, else the first release start → the last event; a
 * window shorter than a day counts as one day.
 */
export function doraMetrics(events: readonly LedgerEvent[], query: DoraQuery = {}): DoraReport {
  const byRelease = new Map<string, LedgerEvent[]>();
  for (const e of events) {
    const g = byRelease.get(e.releaseId);
    if (g) g.push(e);
    else byRelease.set(e.releaseId, [e]);
  }
  const facts = [...byRelease.values()]
    .map((g) => releaseFacts(g))
    .filter((f): f is ReleaseFacts => f !== undefined)
    .filter(
      (f) =>
        (query.service === undefined || f.service === query.service) &&
        (query.since === undefined || f.startedAt >= query.since) &&
        (query.until === undefined || f.startedAt <= query.until),
    )
    .sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.releaseId.localeCompare(b.releaseId));

  const inWindow = new Set(facts.map((f) => f.releaseId));
  const lastEventAt = events.filter((e) => inWindow.has(e.releaseId)).reduce<string | undefined>((m, e) => (m === undefined || e.at > m ? e.at : m), undefined);
  const from = query.since ?? facts[0]?.startedAt;
  const to = query.until ?? lastEventAt;
  const days = from && to ? Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000 / DAY_SECONDS) : 0;

  const drills = drillRecords(events).filter(
    (d) =>
      (query.service === undefined || d.service === query.service) &&
      (query.since === undefined || (d.startedAt ?? d.at) >= query.since) &&
      (query.until === undefined || (d.startedAt ?? d.at) <= query.until),
  );
  const services = [...new Set([...facts.map((f) => f.service), ...drills.map((d) => d.service)])].sort();
  return {
    window: { since: from ?? null, until: to ?? null, days },
    releases: facts.length,
    services: services.map((service) => {
      const all = facts.filter((f) => f.service === service);
      const releases = all.filter((f) => f.kind === 'release');
      const outcomes: Record<string, number> = {};
      for (const r of releases) outcomes[r.status] = (outcomes[r.status] ?? 0) + 1;
      const stageNames: string[] = [];
      for (const r of releases) for (const st of r.stages) if (!stageNames.includes(st.stage)) stageNames.push(st.stage);
      for (const r of all) for (const rc of r.recoveries) if (!stageNames.includes(rc.stage)) stageNames.push(rc.stage);
      const prodCounts = new Map<string, number>();
      for (const r of releases) if (r.productionStage) prodCounts.set(r.productionStage, (prodCounts.get(r.productionStage) ?? 0) + 1);
      const productionStage = [...prodCounts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? productionStageOf(stageNames);
      // Drilled stages are never production (decision 052): listed after the headline stage is chosen.
      const serviceDrills = drills.filter((d) => d.service === service);
      for (const d of serviceDrills) if (!stageNames.includes(d.stage)) stageNames.push(d.stage);

      const stages: StageDora[] = stageNames.map((stage) => {
        const sf = releases.flatMap((r) => r.stages.filter((x) => x.stage === stage));
        return {
          stage,
          deploymentFrequency: frequency(sf.filter((x) => x.deployedAt).length, days),
          leadTime: durationStats(sf.flatMap((x) => (x.leadTimeSeconds !== undefined ? [x.leadTimeSeconds] : []))),
          changeFailureRate: rate(sf.filter((x) => x.failed).length, sf.filter((x) => x.deployed).length),
          recoveryTime: recovery(all.flatMap((r) => r.recoveries.filter((x) => x.stage === stage))),
          drills: drillStats(serviceDrills.filter((d) => d.stage === stage)),
        };
      });
      const prod = releases.flatMap((r) => r.stages.filter((x) => x.stage === productionStage));
      const leads = releases.flatMap((r) => {
        const p = r.stages.find((x) => x.stage === productionStage);
        return p?.leadTimeSeconds !== undefined ? [{ seconds: p.leadTimeSeconds, source: r.changeStart.source }] : [];
      });
      const sources: Record<string, number> = {};
      for (const l of leads) sources[l.source] = (sources[l.source] ?? 0) + 1;
      const deployed = releases.filter((r) => r.deployed);
      return {
        service,
        releases: releases.length,
        outcomes,
        operatorRollbacks: all.length - releases.length,
        ...(productionStage ? { productionStage } : {}),
        deploymentFrequency: frequency(prod.filter((x) => x.deployedAt).length, days),
        leadTime: { ...durationStats(leads.map((l) => l.seconds)), sources },
        changeFailureRate: rate(deployed.filter((r) => r.failedAfterDeploy).length, deployed.length),
        recoveryTime: recovery(all.flatMap((r) => r.recoveries)),
        drills: drillStats(serviceDrills),
        stages,
      };
    }),
  };
}

/**
 * A simulation's read-out (local/simulate.ts): once the clock has stopped, the ledger, the local cloud
 * and the engine become the output — releases, stage pointers, one timeline, warnings.
 */
import { type AnchorSignature, insightSignatureSubject } from '../lambdas/domain/audit/signature';
import { type LedgerEvent, verifyChain } from '../lambdas/domain/ledger';
import type { InsightCheckData, InsightRecord } from '../lambdas/domain/insight';
import { rollbackFromText } from '../lambdas/domain/release';
import type { DynamoLedger } from '../lambdas/adapters/dynamo-ledger';
import type { LocalCloud } from './cloud';
import type { LocalStepFunctions } from './engine';
import type { ScriptRunner } from './sim-script';
import type { SimRelease, SimulationOutput, SimulationResult, TimelineEntry } from './sim-types';
import type { SimWorld } from './sim-world';

const LABELS: Record<string, (e: LedgerEvent) => string> = {
  'release.started': (e) => (e.data.kind === 'rollback' ? 'Rollback Requested' : e.data.kind === 'drill' ? 'Drill Requested' : 'Release Started'),
  'drill.recorded': () => 'Rollback Drilled',
  'abort.requested': () => 'Abort Requested',
  'release.attributed': (e) => (e.data.source === 'CloudTrail StartExecution' ? 'Initiator Identified' : 'Pusher Identified'),
  'approval.refused': () => 'Approval Refused',
  'stage.started': () => 'Stage Started',
  'stage.waiting': (e) => `Waiting for ${String(e.data.waitingFor ?? 'something')}`,
  'lease.acquired': () => 'Lease Acquired',
  'lease.released': () => 'Lease Released',
  'lease.lost': () => 'Lease Taken by Rollback',
  'gate.evaluated': (e) => `Gate ${String(e.data.gate)}`,
  'deploy.started': (e) => (e.data.kind === 'rollback' ? 'Rollback Deploy Started' : 'Deploy Started'),
  'deploy.finished': (e) =>
    e.data.kind === 'rollback'
      ? 'Rollback Deploy Finished'
      : e.data.result === 'SUCCEEDED'
        ? typeof e.data.cluster === 'string'
          ? 'Cluster Deployed'
          : 'Stage Deployed'
        : 'Deploy Failed',
  'wave.finished': (e) => `Wave ${String(e.data.wave)}/${String(e.data.of)} Finished`,
  'bake.started': (e) => (e.data.phase ? `Bake Started (${String(e.data.phase)})` : 'Bake Started'),
  'bake.event-ignored': () => 'Alarm Event Ignored',
  'bake.finished': (e) => (e.data.phase ? `Bake Finished (${String(e.data.phase)})` : 'Bake Finished'),
  'stage.promoted': () => 'Stage Promoted',
  'canary.step': (e) => `Canary Step ${String(e.data.step ?? '?')}`,
  'rollback.started': () => 'Rollback Started',
  'rollback.finished': () => 'Rollback Finished',
  'stage.finished': () => 'Stage Finished',
  'release.finished': () => 'Release Finished',
  'approval.recorded': () => 'Approval Recorded',
  'plan.recorded': (e) => `Plan ${String(e.data.attempt ?? 1)} Recorded`,
  'plan.stale': (e) => `Plan ${String(e.data.attempt ?? 1)} Stale`,
};

/** A wave stage's per-cluster run (decision 044): "prod-eu-2 (wave 1)". */
function onCluster(e: LedgerEvent): string | undefined {
  return typeof e.data.cluster === 'string' ? `${e.data.cluster} (wave ${String(e.data.wave)})` : undefined;
}

function ledgerEntry(e: LedgerEvent): TimelineEntry {
  const d = e.data;
  const result = (d.result ?? d.status) as string | undefined;
  let reason = (d.reason ?? d.message) as string | undefined;
  if (e.type === 'release.started') reason = `${d.service} ${d.digest ?? '(tag not found)'}${d.tag ? ` (${d.tag})` : ''} by ${d.initiator}`;
  if (e.type === 'deploy.started')
    reason = `${d.digest}${typeof d.planSha256 === 'string' ? ` (saved plan ${d.planSha256})` : ''}${Array.isArray(d.clusters) ? ` to ${(d.clusters as string[]).join(', ')}` : ''}`;
  if (e.type === 'wave.finished') reason = `${(d.clusters as string[] | undefined)?.join(', ') ?? ''}${d.message ? `: ${String(d.message)}` : ''}`;
  if (e.type === 'rollback.started') reason = `${d.reason}; ${rollbackFromText(d as { fromDigest?: string; fromDeployed?: boolean })} → ${d.toDigest}`;
  // Decision 049: a saved Terraform plan, by its sha256 and counts.
  if (e.type === 'plan.recorded') reason = `sha256 ${String(d.sha256)}: ${String(d.adds)} to add, ${String(d.changes)} to change, ${String(d.destroys)} to destroy`;
  if (e.type === 'bake.started') reason = `${d.bakeMinutes} min against ${(d.alarms as string[]).join(', ') || 'no alarms'}`;
  if (e.type === 'canary.step')
    reason = `${d.weight} %${d.replicas !== undefined ? `, ${d.replicas} canary replica(s)` : ''}${d.replicasShare !== undefined ? ` (≈${d.replicasShare} % of the pods)` : ''}${d.reason ? `: ${d.reason}` : ''}`;
  // The end of a bake inside the stage (a wave's, a canary step's: decision 047) says which.
  if (e.type === 'bake.finished' && typeof d.phase === 'string') reason = `${d.phase}: ${reason ?? ''}`;
  const cluster = onCluster(e);
  if (cluster) reason = e.type === 'deploy.started' ? `${d.digest} on ${cluster}` : `on ${cluster}${reason ? `: ${reason}` : ''}`;
  if (e.type === 'approval.recorded') reason = `${String(d.count)} of ${String(d.required)} by ${String(d.person ?? d.principal)}${d.comment ? `: ${String(d.comment)}` : ''}`;
  if (e.type === 'abort.requested') reason = `by ${String(d.by)}: ${String(d.reason)}`;
  if (e.type === 'stage.waiting') reason = (d.reason ?? (d.holder ? `held by ${d.holder}` : undefined)) as string | undefined;
  return {
    at: e.at,
    release: e.releaseId,
    ...(e.stage ? { stage: e.stage } : {}),
    event: LABELS[e.type]?.(e) ?? e.type,
    ...(result ? { result } : {}),
    ...(reason ? { reason } : {}),
  };
}

/** What went wrong that the output should say: refused operator requests, internal errors, failed deliveries, executions left waiting. */
export function runWarnings(world: SimWorld, sfn: LocalStepFunctions, stoppedEarly: boolean): string[] {
  const warnings: string[] = [...world.operatorWarnings];
  for (const e of world.clock.errors) warnings.push(`internal: ${(e as Error).stack ?? String(e)}`);
  for (const f of world.cloud.deliveryFailures) warnings.push(`event delivery to ${f.rule} failed: ${f.error}`);
  if (!stoppedEarly)
    for (const ex of sfn.executions.values())
      if (ex.status === 'RUNNING') warnings.push(`execution ${ex.name} is still RUNNING with nothing left to happen (waiting for a decision the scenario never gives)`);
  return warnings;
}

/** The output, the ledger's events and the insight chain; `warnings` gains the leases still held (unless stopped early). */
export async function readOut(world: SimWorld, sfn: LocalStepFunctions, script: ScriptRunner, warnings: string[], stoppedEarly: boolean): Promise<SimulationResult> {
  const { scenario, options, clock, cloud, chaos, ledger } = world;
  const { releases, ledgerEvents, timeline, skipped, insightRecords } = await readTimeline(ledger, cloud);
  const leasesHeld: SimulationOutput['leasesHeld'] = [];
  for (const r of releases) for (const l of await ledger.leasesOf(r.releaseId)) leasesHeld.push({ owner: r.releaseId, ...l });
  if (!stoppedEarly) for (const l of leasesHeld) warnings.push(`lease ${l.service}/${l.stage} still held by ${l.owner}`);
  const stages = await stagePointers(world);
  const output: SimulationOutput = {
    scenario: scenario.name,
    simulated: true,
    releases,
    stages,
    deployments: deploymentsOf(cloud),
    skipped: skipped.map(({ at, ...rest }) => ({ ...rest, at })),
    unused: script.unused(),
    timeline,
    executions: executionsOf(sfn),
    lifecycle: cloud.lifecycle.map((e) => ({ at: e.at, source: 'gantry' as const, detailType: e.detailType, detail: e.detail })),
    leasesHeld,
    workloads: workloadsOf(cloud),
    ...trafficOf(cloud),
    insight: { checks: insightRecords.map(insightCheck) },
    ...(chaos.active ? { chaos: chaos.stats } : {}),
    warnings,
    clock: { start: scenario.clock, end: options.until !== undefined ? new Date(Math.max(options.until, clock.nowMs())).toISOString() : clock.now().toISOString() },
  };
  // The signatures the anchor signer wrote (decision 048): each finished release's, each signed insight head's.
  const signatures = new Map<string, AnchorSignature>();
  for (const r of releases) {
    const sig = await ledger.getSignature(r.releaseId);
    if (sig?.status === 'SIGNED' && sig.signature) signatures.set(r.releaseId, sig.signature);
  }
  for (const rec of insightRecords) {
    const sig = await ledger.getSignature(insightSignatureSubject(rec.seq));
    if (sig?.status === 'SIGNED' && sig.signature) signatures.set(insightSignatureSubject(rec.seq), sig.signature);
  }
  return { output, ledgerEvents, insightRecords, signatures };
}

/**
 * The timeline so far: every release's ledger events, then the pushes skipped, the local cloud's notes and the
 * insight checks, merged by time. The read-out uses it at the end; `simulate`'s `onClock` gives it while the
 * clock runs (through a ledger of its own, so that no fault meant for Gantry's calls is taken).
 */
export async function readTimeline(ledger: DynamoLedger, cloud: LocalCloud) {
  const { releases, ledgerEvents, timeline } = await readReleases(ledger);
  const external: TimelineEntry[] = [];
  const skipped = await readSkips(ledger);
  for (const s of skipped) external.push({ at: s.at, event: 'Push Skipped', reason: `${s.repository}:${s.tag ?? '(no tag)'} — ${s.reason}` });
  external.push(...cloud.notes.map(noteEntry));
  // The insight checks: one line per check, one per finding.
  const insightRecords = await ledger.listInsights();
  external.push(...insightRecords.flatMap(insightEntries));
  return { releases, ledgerEvents, skipped, insightRecords, timeline: mergeTimeline(timeline, external) };
}

/** Every release in the ledger, by start: its summary, its events (chain verified) and their timeline entries. */
async function readReleases(ledger: DynamoLedger): Promise<{ releases: SimRelease[]; ledgerEvents: LedgerEvent[]; timeline: TimelineEntry[] }> {
  const summaries = await ledger.listReleases();
  const releases: SimRelease[] = [];
  const ledgerEvents: LedgerEvent[] = [];
  const timeline: TimelineEntry[] = [];
  for (const s of [...summaries].sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.releaseId.localeCompare(b.releaseId))) {
    const events = await ledger.events(s.releaseId, { whole: true });
    ledgerEvents.push(...events);
    const v = verifyChain(events);
    timeline.push(...events.map(ledgerEntry));
    releases.push({
      releaseId: s.releaseId,
      kind: s.kind,
      service: s.service,
      digest: s.digest ?? null,
      tag: s.tag ?? null,
      initiator: s.initiator ?? null,
      status: s.status,
      reason: s.reason,
      startedAt: s.startedAt,
      endedAt: s.endedAt,
      stages: s.stages.map((st) => ({
        name: st.name,
        status: st.status,
        ...(st.reason ? { reason: st.reason } : {}),
        gates: st.gates.map((g) => ({ gate: g.gate, result: g.result, reason: g.reason })),
        ...(st.approval ? { approval: st.approval } : {}),
        ...(st.approvals?.length ? { approvals: st.approvals } : {}),
        ...(st.deployedDigest ? { deployedDigest: st.deployedDigest } : {}),
        ...(st.rollback ? { rollback: { ...st.rollback } } : {}),
        ...(st.startedAt ? { startedAt: st.startedAt } : {}),
        ...(st.endedAt ? { endedAt: st.endedAt } : {}),
        ...(st.clusters ? { clusters: st.clusters } : {}),
        ...(st.waves ? { waves: st.waves } : {}),
      })),
      audit: { events: v.events, verified: v.ok, ...(v.ok ? {} : { problems: v.problems }) },
      ...(s.change ? { change: s.change } : {}),
    });
  }
  return { releases, ledgerEvents, timeline };
}

/** Each configured stage's pointers, where it has any. */
async function stagePointers(world: SimWorld): Promise<SimulationOutput['stages']> {
  const stages: SimulationOutput['stages'] = {};
  for (const [svcName, svc] of Object.entries(world.config.services)) {
    for (const st of svc.stages) {
      const p = await world.ledger.getPointer(svcName, st.name);
      if (p && (p.running || p.lastKnownGood))
        stages[`${svcName}/${st.name}`] = { ...(p.running ? { running: p.running } : {}), ...(p.lastKnownGood ? { lastKnownGood: p.lastKnownGood } : {}) };
    }
  }
  return stages;
}

async function readSkips(ledger: DynamoLedger): Promise<SimulationOutput['skipped']> {
  return (await ledger.listSkips()).map((s) => ({
    repository: s.repository,
    ...(s.tag ? { tag: s.tag } : {}),
    ...(s.digest ? { digest: s.digest } : {}),
    reason: s.reason,
    at: s.at,
  }));
}

/** A note of the local cloud (something that happened outside the ledger) as a timeline entry. */
function noteEntry(n: LocalCloud['notes'][number]): TimelineEntry {
  const d = n.detail;
  // `gantry abort` refused by the operator API (decision 053).
  if (n.event === 'Abort Refused') return { at: n.at, event: n.event, reason: `HTTP ${d.status} to ${d.principal}: ${d.cause}`, release: String(d.releaseId) };
  const reason =
    n.event === 'Alarm State Changed'
      ? `${d.alarm}: ${d.from} → ${d.to}`
      : n.event === 'Fault Injected'
        ? `${d.service} ${d.operation} → ${d.error}`
        : n.event === 'Approval Decided' || n.event === 'Approval Refused'
          ? `${d.decision} by ${d.principal}: HTTP ${d.status} ${d.message}`
          : n.event === 'Freeze On' || n.event === 'Freeze Off'
            ? `${d.reason} (by ${d.principal})`
            : n.event === 'Execution Aborted'
              ? `stopped by the ${d.by ?? 'scenario'}`
              : n.event === 'Input Rejected'
                ? `${d.cause}`
                : n.event === 'Push Received'
                  ? `${d.repository}:${d.tag ?? '(no tag)'} ${d.digest}${Number(d.copies) > 1 ? ` ×${d.copies}` : ''}`
                  : n.event === 'Console Start'
                    ? `StartExecution ${d.execution} of the ${d.workflow} workflow from the console: no start record${d.alreadyExists ? ' (the name was taken: nothing started)' : ''}`
                    : n.event === 'Image Set Out Of Band'
                      ? `kubectl set image ${d.service}/${d.stage}: ${d.deployment}/${d.container} → ${d.image}`
                      : JSON.stringify(d);
  return { at: n.at, event: n.event, reason, ...(typeof d.execution === 'string' ? { release: d.execution } : {}) };
}

/** One insight check: a line for the check, one per finding. */
function insightEntries(r: InsightRecord): TimelineEntry[] {
  const d = r.data as Partial<InsightCheckData>;
  const drift = d.drift ?? [];
  const stale = d.stale ?? [];
  return [
    {
      at: r.at,
      event: 'Insight Check',
      reason: `${drift.length} drifted, ${d.inSync?.length ?? 0} in sync, ${stale.length} stale${d.drillsOverdue ? `, ${d.drillsOverdue.length} drill(s) overdue${d.drillsOverdue.length ? ` (${d.drillsOverdue.map((o) => `${o.service}/${o.stage}`).join(', ')})` : ''}` : ''} (record #${r.seq})`,
    },
    ...drift.map((f) => ({ at: r.at, stage: f.stage, event: 'Drift Detected', result: 'DRIFTED', reason: `${f.service}/${f.stage} [${f.kind}]: ${f.reason}` })),
    ...stale.map((f) => ({ at: r.at, event: 'Service Stale', result: 'STALE', reason: `${f.service}: ${f.reason}` })),
    ...(d.drillsOverdue ?? []).map((o) => ({
      at: r.at,
      stage: o.stage,
      event: 'Drill Overdue',
      result: 'DRILL_OVERDUE',
      reason: `${o.service}/${o.stage}: ${o.lastDrillAt ? `last successful drill ${o.daysSince} day(s) ago` : 'never drilled'} (insight.drillAfterDays ${o.afterDays})`,
    })),
  ];
}

function insightCheck(r: InsightRecord): SimulationOutput['insight']['checks'][number] {
  const d = r.data as Partial<InsightCheckData>;
  return { at: r.at, checkId: r.checkId, stale: d.stale ?? [], drift: d.drift ?? [], inSync: d.inSync?.length ?? 0 };
}

/** Stable: by time; within one instant, external happenings first, then each release's own order. */
function mergeTimeline(timeline: TimelineEntry[], external: TimelineEntry[]): TimelineEntry[] {
  timeline.unshift(...external);
  const order = new Map(timeline.map((t, i) => [t, i]));
  timeline.sort((a, b) => a.at.localeCompare(b.at) || (order.get(a) ?? 0) - (order.get(b) ?? 0));
  return timeline;
}

function deploymentsOf(cloud: LocalCloud): SimulationOutput['deployments'] {
  // The clusters of one wave (decision 044) start at the same instant in an order retries may change: by cluster key.
  // A total order: start time, then the run's release and stage (as first seen), then its cluster.
  const group = (d: (typeof cloud.deployments)[number]) => `${d.releaseId}|${d.stage}|${d.kind}`;
  const firstSeen = new Map<string, number>();
  cloud.deployments.forEach((d, i) => firstSeen.set(group(d), Math.min(firstSeen.get(group(d)) ?? i, i)));
  const runs = [...cloud.deployments].sort(
    (a, b) => a.startedAt.localeCompare(b.startedAt) || (firstSeen.get(group(a)) ?? 0) - (firstSeen.get(group(b)) ?? 0) || (a.cluster ?? '').localeCompare(b.cluster ?? ''),
  );
  return runs.map((d) => ({
    service: d.service,
    stage: d.stage,
    digest: d.digest,
    kind: d.kind,
    startedAt: d.startedAt,
    ...(d.endedAt ? { endedAt: d.endedAt } : {}),
    ...(d.result ? { result: d.result } : {}),
    releaseId: d.releaseId,
    ...(d.cluster ? { cluster: d.cluster } : {}),
    ...(d.target ? { target: d.target } : {}),
  }));
}

function executionsOf(sfn: LocalStepFunctions): SimulationOutput['executions'] {
  return [...sfn.executions.values()].map((e) => ({
    name: e.name,
    machine: e.machine,
    status: e.status,
    ...(e.error ? { error: e.error } : {}),
    transitions: e.transitions,
    ...(e.largestState ? { largestState: e.largestState } : {}),
  }));
}

/** The HTTPRoutes and replica changes of canary stages; nothing when the scenario has no canary. */
function trafficOf(cloud: LocalCloud): Pick<SimulationOutput, 'traffic'> {
  const routes = cloud.kube.allRoutes();
  const hasCanary = routes.length > 0 || cloud.kube.scaleChanges.length > 0;
  if (!hasCanary) return {};
  const weightsOf = (r: (typeof routes)[number]) => Object.fromEntries(r.spec.rules.flatMap((x) => x.backendRefs.map((b) => [b.name, b.weight ?? 1])));
  return {
    traffic: {
      routes: routes.map((r) => ({ cluster: r.cluster, namespace: r.namespace, name: r.name, weights: weightsOf(r) })),
      changes: [...cloud.kube.routeChanges],
      scales: [...cloud.kube.scaleChanges],
    },
  };
}

/** The clusters' Deployments (cluster = the config's cluster key): what each container runs. */
function workloadsOf(cloud: LocalCloud): SimulationOutput['workloads'] {
  return cloud.kube.all().map((d) => ({
    cluster: d.cluster,
    namespace: d.namespace,
    name: d.name,
    generation: d.generation,
    containers: Object.fromEntries(d.containers.map((c) => [c.name, c.image])),
    annotations: { ...d.annotations },
  }));
}

/**
 * The stage matrix (issue 20, decision 055): what runs in each stage of each service now, since when, its last
 * known good, and the releases, rollbacks and drills at work in or waiting for it. `gantry stages` prints it and
 * the dashboard renders it. Read-only; the state of a cell is decided by one pure function (`cellState`).
 *
 * Where the data comes from: the config (services, stages, `production`; without one, the services and stages the
 * releases name), each stage's pointer (`GantryBackend.stagePointer`: running, last known good, promoted; a backend
 * without it: the releases' deploys and rollbacks), the release summaries (tags, since when, the last outcome) and,
 * for each release in flight, its events through cli/render/status-view.ts (phase, what it waits for, its activity
 * line) — never re-derived here.
 */
import { isProductionStage } from '../lambdas/domain/drill';
import type { LedgerEvent, ReleaseSummary } from '../lambdas/domain/ledger';
import type { GantryBackend } from './backends/backend';
import { shortDigest } from './commands/common';
import { CliInputError } from './errors';
import { releaseStatus } from './render/status-view';

export type CellState =
  | 'EMPTY' // nothing ever promoted in this stage
  | 'HEALTHY' // running = last known good, nothing in flight
  | 'IN_FLIGHT' // a release/rollback/drill is at work in this stage (deploying, baking, rolling back)
  | 'WAITING' // a release in flight waits here (window, approval, lease, scan)
  | 'DEGRADED'; // the stage's last outcome was bad (ROLLBACK_FAILED, FAILED after a deploy) or running ≠ last known good

export const CELL_STATES = ['EMPTY', 'HEALTHY', 'IN_FLIGHT', 'WAITING', 'DEGRADED'] as const satisfies readonly CellState[];

export interface DigestRef {
  digest: string;
  /** `shortDigest` of cli/commands/common.ts. */
  short: string;
  /** The tag of the release that brought the digest (null: none known). */
  tag: string | null;
  /** running: when it was deployed in the stage; lastKnownGood: when it was promoted there (null: before any release the ledger holds). */
  since: string | null;
  /** The release that deployed (running) or promoted (last known good) it here, when known. */
  releaseId: string | null;
}

export interface InFlight {
  releaseId: string;
  kind: 'release' | 'rollback' | 'drill';
  /** The release status (RUNNING). */
  status: string;
  /** The stage's status in it (WAITING, NOT_STARTED…). */
  stageStatus: string;
  /** status-view's phase: gates|window|approval|lease|scan|deploy|bake|rollback|starting. */
  phase: string;
  waitingFor: 'window' | 'approval' | 'lease' | 'scan' | 'other' | null;
  /** status-view's activity line ("awaiting approval by …"). */
  message: string;
  /** The digest it deploys (a rollback: its target). */
  digest: string | null;
  startedAt: string;
  /** Its tag, when the release has one. */
  tag: string | null;
}

export interface LastOutcome {
  releaseId: string;
  /** The stage's status in that release (PROMOTED, ROLLED_BACK, FAILED, ROLLBACK_FAILED…). */
  status: string;
  at: string;
  kind: 'release' | 'rollback' | 'drill';
  /** The release's own status. */
  releaseStatus: string;
  /** Whether the release deployed (or tried to deploy) something in the stage. */
  deployed: boolean;
}

export interface StageCell {
  service: string;
  stage: string;
  production: boolean;
  state: CellState;
  /** Why the cell is in its state, in words. */
  reason: string;
  /** What the stage runs now (its pointer's `running`). */
  running: DigestRef | null;
  /** The pointer's last known good. */
  lastKnownGood: DigestRef | null;
  /** Releases/rollbacks/drills of the service at work in or waiting for this stage, oldest first. */
  inFlight: InFlight[];
  /** The last finished release that touched (deployed or rolled back in) the stage. */
  lastOutcome: LastOutcome | null;
}

export interface StageMatrix {
  /** The backend's now (virtual for a local Gantry). */
  generatedAt: string;
  /** backend.label. */
  source: string;
  /** A local Gantry. */
  simulated: boolean;
  /** Where the services and stages come from: the deployment config, or the releases the ledger holds (no config given). */
  layout: 'config' | 'releases';
  /** What the reader should know about how complete the answer is (no config; no stage pointers), else null. */
  note: string | null;
  /** Config order. */
  services: Array<{ service: string; stages: StageCell[] }>;
}

/** The input of the pure state decision. */
export interface CellFacts {
  readonly running: string | null;
  readonly lastKnownGood: string | null;
  readonly inFlight: ReadonlyArray<Pick<InFlight, 'releaseId' | 'kind' | 'waitingFor' | 'phase'>>;
  readonly lastOutcome: Pick<LastOutcome, 'releaseId' | 'status' | 'deployed'> | null;
}

/** Stage statuses of a finished release that leave the stage degraded, when the release deployed there. */
const BAD_AFTER_DEPLOY = new Set(['FAILED', 'ABORTED']);

/**
 * The state of one cell, and why (pure). In order: something at work in the stage (deploying, baking, rolling
 * back, checking gates) → IN_FLIGHT; else something waiting for it (window, approval, lease, scan) → WAITING;
 * else nothing ever ran there → EMPTY; else a bad last outcome (ROLLBACK_FAILED; FAILED/ABORTED after a deploy)
 * or a running digest that is not the last known good → DEGRADED; else HEALTHY.
 */
export function cellState(f: CellFacts): { state: CellState; reason: string } {
  const working = f.inFlight.filter((x) => x.waitingFor === null);
  if (working.length) {
    const w = working[0] as CellFacts['inFlight'][number];
    return { state: 'IN_FLIGHT', reason: `${w.kind} ${w.releaseId} at work (${w.phase})${working.length > 1 ? ` and ${working.length - 1} more` : ''}` };
  }
  if (f.inFlight.length) {
    const w = f.inFlight[0] as CellFacts['inFlight'][number];
    return { state: 'WAITING', reason: `${w.kind} ${w.releaseId} waits for ${w.waitingFor ?? 'something'}${f.inFlight.length > 1 ? ` and ${f.inFlight.length - 1} more` : ''}` };
  }
  if (!f.running && !f.lastKnownGood) return { state: 'EMPTY', reason: 'nothing deployed here yet' };
  const o = f.lastOutcome;
  if (o && o.status === 'ROLLBACK_FAILED') return { state: 'DEGRADED', reason: `the rollback of ${o.releaseId} failed` };
  if (o && o.deployed && BAD_AFTER_DEPLOY.has(o.status)) return { state: 'DEGRADED', reason: `${o.releaseId} ended ${o.status} after deploying` };
  if (f.running && f.lastKnownGood && f.running !== f.lastKnownGood) return { state: 'DEGRADED', reason: 'running is not the last known good' };
  if (f.running && !f.lastKnownGood) return { state: 'DEGRADED', reason: 'running has never passed its bake here (no last known good)' };
  if (!f.running) return { state: 'DEGRADED', reason: 'the running digest is unknown' };
  return { state: 'HEALTHY', reason: 'running the last known good' };
}

type StageSummary = ReleaseSummary['stages'][number];

/** A digest put in the stage: deployed (and not rolled back from), or restored by a rollback. */
interface Put {
  readonly digest: string;
  readonly at: string;
  readonly releaseId: string;
}

/** Every time a release put a digest in the stage (a successful deploy, a successful rollback), oldest first. */
function putsOf(releases: readonly ReleaseSummary[], stage: string): Put[] {
  const puts: Put[] = [];
  for (const r of releases) {
    const st = r.stages.find((s) => s.name === stage);
    if (!st) continue;
    const deployed = st.deploy?.result === 'SUCCEEDED' ? (st.deployedDigest ?? (r.kind === 'release' ? r.digest : undefined)) : undefined;
    if (deployed) puts.push({ digest: deployed, at: st.deploy?.endedAt ?? st.endedAt ?? r.startedAt, releaseId: r.releaseId });
    const rb = st.rollback;
    if (rb?.result === 'SUCCEEDED' && rb.toDigest) puts.push({ digest: rb.toDigest, at: rb.endedAt ?? st.endedAt ?? r.endedAt ?? r.startedAt, releaseId: r.releaseId });
  }
  return puts.sort((a, b) => a.at.localeCompare(b.at));
}

/** Every promotion of a digest in the stage, oldest first. */
function promotionsOf(releases: readonly ReleaseSummary[], stage: string): Put[] {
  const out: Put[] = [];
  for (const r of releases) {
    const st = r.stages.find((s) => s.name === stage);
    const digest = st?.deployedDigest ?? r.digest;
    if (st?.status === 'PROMOTED' && digest) out.push({ digest, at: st.endedAt ?? r.endedAt ?? r.startedAt, releaseId: r.releaseId });
  }
  return out.sort((a, b) => a.at.localeCompare(b.at));
}

/** The tag a release of the digest carried (the newest such release), else null. */
function tagOf(releases: readonly ReleaseSummary[], digest: string): string | null {
  return releases.find((r) => r.digest === digest && r.tag)?.tag ?? null;
}

/** Whether the release did something to the stage's workload (a deploy, a rollback, a wave's clusters). */
const touched = (st: StageSummary) => Boolean(st.deploy || st.rollback || st.clusters?.length || st.status === 'PROMOTED');

function lastOutcomeOf(releases: readonly ReleaseSummary[], stage: string): LastOutcome | null {
  let best: LastOutcome | null = null;
  for (const r of releases) {
    if (r.status === 'RUNNING') continue;
    const st = r.stages.find((s) => s.name === stage);
    if (!st || !touched(st)) continue;
    const at = st.endedAt ?? st.rollback?.endedAt ?? st.deploy?.endedAt ?? r.endedAt ?? r.startedAt;
    if (best && best.at >= at) continue;
    best = { releaseId: r.releaseId, status: st.status, at, kind: r.kind, releaseStatus: r.status, deployed: Boolean(st.deploy || st.clusters?.length) };
  }
  return best;
}

/** `since` of the running digest: the first of the newest run of puts of that digest (a redeploy of it does not reset it). */
function runningRef(digest: string, puts: readonly Put[], releases: readonly ReleaseSummary[], updatedAt: string | undefined): DigestRef {
  let first: Put | undefined;
  for (let i = puts.length - 1; i >= 0; i--) {
    const p = puts[i] as Put;
    if (p.digest !== digest) break;
    first = p;
  }
  return { digest, short: shortDigest(digest), tag: tagOf(releases, digest), since: first?.at ?? updatedAt ?? null, releaseId: first?.releaseId ?? null };
}

function lkgRef(digest: string, promotions: readonly Put[], releases: readonly ReleaseSummary[]): DigestRef {
  const p = [...promotions].reverse().find((x) => x.digest === digest);
  return { digest, short: shortDigest(digest), tag: tagOf(releases, digest), since: p?.at ?? null, releaseId: p?.releaseId ?? null };
}

type WaitFor = InFlight['waitingFor'];
const waitFor = (w: string | undefined): WaitFor => (w === 'window' || w === 'approval' || w === 'lease' || w === 'scan' || w === 'other' ? w : null);

/** The in-flight entries of one release (RUNNING), per stage name. */
function inFlightOf(r: ReleaseSummary, events: readonly LedgerEvent[], ctx: { now: Date; b: GantryBackend }, running: readonly ReleaseSummary[]): Map<string, InFlight> {
  const out = new Map<string, InFlight>();
  const cfg = ctx.b.config();
  const base = { releaseId: r.releaseId, kind: r.kind, status: r.status, startedAt: r.startedAt, tag: r.tag ?? null };
  if (r.kind === 'drill') {
    // A drill works through its legs (operator rollbacks named <drill>-back and <drill>-fwd): they show as rollbacks.
    const stage = r.drill?.stage ?? r.stages[0]?.name;
    if (!stage) return out;
    const leg = running.find((x) => x.kind === 'rollback' && x.releaseId.startsWith(`${r.releaseId}-`));
    const which = leg ? (leg.releaseId.endsWith('-back') ? 'rolling back' : 'rolling forward') : 'between its legs';
    out.set(stage, {
      ...base,
      stageStatus: r.stages.find((s) => s.name === stage)?.status ?? 'NOT_STARTED',
      phase: 'rollback',
      waitingFor: null,
      message: `${which}${leg ? ` (leg ${leg.releaseId})` : ''}`,
      digest: leg?.rollbackTarget ?? r.drill?.toDigest ?? null,
    });
    return out;
  }
  const view = releaseStatus(events, { now: ctx.now, ...(cfg ? { config: cfg } : {}) });
  if (!view) return out;
  const digest = r.kind === 'rollback' ? (r.rollbackTarget ?? null) : (r.digest ?? null);
  for (const s of view.stages) {
    if (s.phase === 'done' || s.phase === 'not-started') continue;
    out.set(s.name, { ...base, stageStatus: s.status, phase: s.phase, waitingFor: waitFor(s.waiting?.for), message: s.activity, digest: digest ?? r.digest ?? null });
  }
  return out;
}

/** Services and their stages when there is no config: as the releases name them (oldest first). */
function layoutFromReleases(releases: readonly ReleaseSummary[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of [...releases].sort((a, b) => a.startedAt.localeCompare(b.startedAt))) {
    const stages = out.get(r.service) ?? [];
    for (const s of r.stages) if (!stages.includes(s.name)) stages.push(s.name);
    if (r.drill?.stage && !stages.includes(r.drill.stage)) stages.push(r.drill.stage);
    out.set(r.service, stages);
  }
  return new Map([...out.entries()].sort((a, b) => a[0].localeCompare(b[0])));
}

/** The stage matrix of the backend's services (or of one: `service`). Unknown service → CliInputError naming those allowed. */
export async function stageMatrix(b: GantryBackend, opts: { service?: string } = {}): Promise<StageMatrix> {
  const cfg = b.config();
  const now = b.now();
  const all = await b.listReleases(opts.service !== undefined ? { service: opts.service } : {});
  const notes: string[] = [];
  let layout: Array<{ service: string; stages: Array<{ name: string; production: boolean }> }>;
  if (cfg) {
    const names = Object.keys(cfg.services);
    if (opts.service !== undefined && !names.includes(opts.service))
      throw new CliInputError(`--service: no service ${JSON.stringify(opts.service)} in the config; expected one of ${names.join(', ')}`);
    layout = names
      .filter((n) => opts.service === undefined || n === opts.service)
      .map((n) => {
        const svc = cfg.services[n] as NonNullable<(typeof cfg.services)[string]>;
        return { service: n, stages: svc.stages.map((st, i) => ({ name: st.name, production: isProductionStage(svc, i) })) };
      });
  } else {
    const seen = layoutFromReleases(all);
    if (opts.service !== undefined && !seen.has(opts.service)) {
      const others = [...layoutFromReleases(await b.listReleases()).keys()];
      throw new CliInputError(
        `--service: no release of ${JSON.stringify(opts.service)} in ${b.label}, and no config to name its stages; expected one of ${others.join(', ') || '(no service has a release yet)'} (or give --config)`,
      );
    }
    layout = [...seen.entries()].map(([service, stages]) => ({ service, stages: stages.map((name, i) => ({ name, production: i === stages.length - 1 })) }));
    notes.push("no config: services and stages are the ones the releases name (give --config for all of them); production is taken as each service's last stage");
  }
  if (!b.stagePointer) notes.push("this backend keeps no stage pointers: what runs is derived from the releases' deploys and rollbacks");

  const services: StageMatrix['services'] = [];
  for (const svc of layout) {
    const releases = all.filter((r) => r.service === svc.service); // newest first (listReleases' order)
    const running = releases.filter((r) => r.status === 'RUNNING').sort((a, c) => a.startedAt.localeCompare(c.startedAt) || a.releaseId.localeCompare(c.releaseId));
    const flights = new Map<string, InFlight[]>();
    for (const r of running) {
      const events = r.kind === 'drill' ? [] : await b.getReleaseEvents(r.releaseId);
      for (const [stage, f] of inFlightOf(r, events, { now, b }, running)) flights.set(stage, [...(flights.get(stage) ?? []), f]);
    }
    const stages: StageCell[] = [];
    for (const st of svc.stages) {
      const puts = putsOf(releases, st.name);
      const promotions = promotionsOf(releases, st.name);
      const pointer = b.stagePointer ? await b.stagePointer(svc.service, st.name) : undefined;
      const runningDigest = b.stagePointer ? pointer?.running : puts.at(-1)?.digest;
      const lkgDigest = b.stagePointer ? (pointer?.lastKnownGood ?? pointer?.promoted.at(-1)) : promotions.at(-1)?.digest;
      const inFlight = flights.get(st.name) ?? [];
      const lastOutcome = lastOutcomeOf(releases, st.name);
      const { state, reason } = cellState({ running: runningDigest ?? null, lastKnownGood: lkgDigest ?? null, inFlight, lastOutcome });
      stages.push({
        service: svc.service,
        stage: st.name,
        production: st.production,
        state,
        reason,
        running: runningDigest ? runningRef(runningDigest, puts, releases, pointer?.updatedAt) : null,
        lastKnownGood: lkgDigest ? lkgRef(lkgDigest, promotions, releases) : null,
        inFlight,
        lastOutcome,
      });
    }
    services.push({ service: svc.service, stages });
  }
  return {
    generatedAt: now.toISOString(),
    source: b.label,
    simulated: b.kind === 'local',
    layout: cfg ? 'config' : 'releases',
    note: notes.length ? notes.join('; ') : null,
    services,
  };
}

/**
 * The invariants of the model-based test (issue 13, decision 019), each a named function of one run:
 * the scenario document, the `gantry simulate --json` output and the `--export` text. Each returns
 * the violations it found, one sentence each, naming the release, stage, digest and virtual time.
 *
 * The oracle is written from the scenario document, not from Gantry's code: the window is read by
 * this file (UTC only, see WINDOW_TIMEZONE), the freeze from the scenario's `freeze` triggers, "older"
 * from the images' `pushedAt`. Gantry's own ledger is used only as the record under test (lease spans,
 * gate results, break-glass).
 *
 * Same-instant ties: windows and blackouts are static, so their edges are exact (`to` exclusive). The
 * freeze is switched by an operator at an instant; a deploy started in that same virtual instant raced
 * the switch, so it counts as during the freeze only when the freeze was on just before and just after
 * that instant.
 */
import { type LedgerEvent } from '../../lambdas/domain/ledger';
import { exportEvents, parseExport, verifyExport } from '../../lambdas/domain/audit';
import type { SimulationOutput } from '../../local/simulate';

export interface ModelRun {
  /** The scenario document that was run (config inline). */
  readonly doc: ScenarioDoc;
  readonly output: SimulationOutput;
  /** The run's ledger as `gantry simulate --export` writes it. */
  readonly exportText: string;
}

export interface Violation {
  readonly invariant: InvariantName;
  readonly message: string;
}

/** The stage statuses of docs/contracts.md §3, as written there. */
export const CONTRACT_STAGE_STATUSES = ['NOT_STARTED', 'WAITING', 'PROMOTED', 'BLOCKED', 'REJECTED', 'ROLLED_BACK', 'FAILED', 'ROLLBACK_FAILED', 'ABORTED', 'SUPERSEDED'] as const;
/** The release statuses of docs/contracts.md §3. */
export const CONTRACT_RELEASE_STATUSES = ['RUNNING', 'SUCCEEDED', 'ROLLED_BACK', 'BLOCKED', 'REJECTED', 'FAILED', 'ROLLBACK_FAILED', 'ABORTED', 'SKIPPED'] as const;

// ---------------------------------------------------------------- the scenario, as the oracle reads it

/** A scenario the oracle cannot read (a window in another time zone, a duration it does not parse). */
export class ModelOracleError extends Error {
  override readonly name = 'ModelOracleError';
}

interface WindowsDoc {
  timezone: string;
  allow: Array<{ days: string[]; from: string; to: string }>;
  blackouts: Array<{ from: string; to: string; reason: string }>;
}
export interface ScenarioDoc {
  clock: string;
  config: { services: Record<string, { repository: string; stages: Array<{ name: string; windows?: Partial<WindowsDoc> }> }> };
  ecr?: Record<string, { images?: Array<{ digest: string; pushedAt?: string }> }>;
  stages?: Record<string, { running?: string; lastKnownGood?: string }>;
  triggers?: Array<{ type: string; at?: string; state?: string; reason?: string; [k: string]: unknown }>;
  [k: string]: unknown;
}

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const minutesOfHhmm = (s: string): number => {
  const [h, m] = s.split(':').map(Number) as [number, number];
  return h * 60 + m;
};
/** PTnHnMnS / PnD → ms (the subset scenarios use here). */
export function durationMs(s: string | undefined): number {
  if (!s) return 0;
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(s);
  if (!m) throw new ModelOracleError(`model oracle: cannot read the duration ${JSON.stringify(s)}`);
  return ((Number(m[1] ?? 0) * 24 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 60_000 + Number(m[4] ?? 0) * 1000;
}

/** Why a stage is closed at instant `t` (the allow window, a blackout), or [] when it is open. */
export function closedBecause(doc: ScenarioDoc, service: string, stage: string, t: number): Array<{ kind: 'window' | 'blackout'; text: string }> {
  const w = doc.config.services[service]?.stages.find((s) => s.name === stage)?.windows;
  if (!w) return [];
  if (w.timezone !== 'UTC' && w.timezone !== 'Etc/UTC')
    throw new ModelOracleError(`model oracle: reads UTC windows only, got time zone ${JSON.stringify(w.timezone)} at ${service}/${stage}`);
  const d = new Date(t);
  const minute = d.getUTCHours() * 60 + d.getUTCMinutes() + d.getUTCSeconds() / 60 + d.getUTCMilliseconds() / 60_000;
  const day = DAY_NAMES[d.getUTCDay()] as string;
  const out: Array<{ kind: 'window' | 'blackout'; text: string }> = [];
  const allow = w.allow ?? [];
  if (allow.length > 0 && !allow.some((a) => a.days.includes(day) && minute >= minutesOfHhmm(a.from) && minute < minutesOfHhmm(a.to))) {
    out.push({ kind: 'window', text: `outside every allow slot (${allow.map((a) => `${a.from}–${a.to}`).join(', ')} UTC)` });
  }
  for (const b of w.blackouts ?? []) {
    if (t >= Date.parse(`${b.from}Z`) && t < Date.parse(`${b.to}Z`)) out.push({ kind: 'blackout', text: `inside blackout "${b.reason}" ${b.from}–${b.to} UTC` });
  }
  return out;
}

/** Whether the global freeze was certainly on at `t`: on just before `t` and still on after every switch at `t` (see the header). */
export function freezeOnAt(doc: ScenarioDoc, t: number): boolean {
  const start = Date.parse(doc.clock);
  const switches = (doc.triggers ?? [])
    .flatMap((tr, i) => (tr.type === 'freeze' ? [{ at: start + durationMs(tr.at), on: tr.state === 'on', i }] : []))
    .sort((a, b) => a.at - b.at || a.i - b.i);
  let before = false;
  let after = false;
  for (const s of switches) {
    if (s.at < t) before = s.on;
    if (s.at <= t) after = s.on;
  }
  return before && after;
}

function pushedAtOf(doc: ScenarioDoc): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of Object.values(doc.ecr ?? {})) for (const img of r.images ?? []) if (img.pushedAt) m.set(img.digest, Date.parse(img.pushedAt));
  return m;
}

// ---------------------------------------------------------------- the record, as the run left it

interface Facts {
  readonly events: LedgerEvent[];
  readonly byRelease: Map<string, LedgerEvent[]>;
  readonly serviceOf: Map<string, string>;
  readonly breakGlass: Set<string>;
}

/** Parsed once per run and export text (the invariants all read the same export). */
const factsCache = new WeakMap<ModelRun, { text: string; facts: Facts }>();
function factsOf(run: ModelRun): Facts {
  const cached = factsCache.get(run);
  if (cached?.text === run.exportText) return cached.facts;
  const events = exportEvents(parseExport(run.exportText));
  const byRelease = new Map<string, LedgerEvent[]>();
  for (const e of events) {
    const g = byRelease.get(e.releaseId) ?? [];
    g.push(e);
    byRelease.set(e.releaseId, g);
  }
  for (const g of byRelease.values()) g.sort((a, b) => a.seq - b.seq);
  const serviceOf = new Map<string, string>();
  const breakGlass = new Set<string>();
  for (const e of events) {
    if (e.type !== 'release.started') continue;
    if (typeof e.data.service === 'string') serviceOf.set(e.releaseId, e.data.service);
    if (e.data.breakGlass) breakGlass.add(e.releaseId);
  }
  const f = { events, byRelease, serviceOf, breakGlass };
  factsCache.set(run, { text: run.exportText, facts: f });
  return f;
}

const short = (d: string | undefined): string => (d ? `${d.slice(0, 19)}…` : '(none)');
const ms = (iso: string): number => Date.parse(iso);
type Deployment = SimulationOutput['deployments'][number];
const describeRun = (d: Deployment): string => `${d.kind} of ${d.service}/${d.stage}${d.cluster ? ` on ${d.cluster}` : ''} ${short(d.digest)} by ${d.releaseId} at ${d.startedAt}`;

/** The latest `window` gate a release recorded for a stage at or before `t`. */
function lastWindowGate(f: Facts, releaseId: string, stage: string, t: number): LedgerEvent | undefined {
  return (f.byRelease.get(releaseId) ?? []).filter((e) => e.type === 'gate.evaluated' && e.stage === stage && e.data.gate === 'window' && ms(e.at) <= t).at(-1);
}

/** The records of a rollback: from its `rollback.started` to its rollback `deploy.started`, both included ([] when it has neither). */
function rollbackRecords(f: Facts, d: Deployment): LedgerEvent[] {
  const events = (f.byRelease.get(d.releaseId) ?? []).filter((e) => e.stage === d.stage);
  const end = events.findIndex((e) => e.type === 'deploy.started' && e.data.kind === 'rollback' && e.data.digest === d.digest && ms(e.at) <= ms(d.startedAt));
  if (end < 0) return [];
  let start = end;
  while (start > 0 && events[start]?.type !== 'rollback.started') start--;
  return events[start]?.type === 'rollback.started' ? events.slice(start, end + 1) : events.slice(end, end + 1);
}

/** The words a record says: every string in its data, except inside raw `evidence` (whose keys, such as `freeze`, name no decision). */
function wordsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(wordsOf);
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => (k === 'evidence' ? [] : wordsOf(v)));
  return [];
}

/** What a deploy at `d` overrode: the freeze, the allow window, a blackout. */
function overridden(run: ModelRun, d: Deployment): Array<{ kind: 'freeze' | 'window' | 'blackout'; text: string; mention: RegExp }> {
  const t = ms(d.startedAt);
  const out: Array<{ kind: 'freeze' | 'window' | 'blackout'; text: string; mention: RegExp }> = [];
  if (freezeOnAt(run.doc, t)) out.push({ kind: 'freeze', text: 'during the global freeze', mention: /freeze/i });
  for (const c of closedBecause(run.doc, d.service, d.stage, t)) {
    out.push({ ...c, mention: c.kind === 'window' ? /window/i : /blackout/i });
  }
  return out;
}

// ---------------------------------------------------------------- the invariants

/** 1. No forward deploy outside the stage's allow window, inside a blackout or during the freeze, unless break-glass with a WARN window gate. */
export function deploysOnlyWhenOpen(run: ModelRun): string[] {
  const f = factsOf(run);
  const out: string[] = [];
  for (const d of run.output.deployments) {
    if (d.kind !== 'deploy') continue;
    const why = overridden(run, d);
    if (why.length === 0) continue;
    const reasons = why.map((w) => w.text).join('; ');
    if (!f.breakGlass.has(d.releaseId)) {
      out.push(`${describeRun(d)}: ${reasons}, and the release is not break-glass`);
      continue;
    }
    const gate = lastWindowGate(f, d.releaseId, d.stage, ms(d.startedAt));
    if (gate?.data.result !== 'WARN')
      out.push(
        `${describeRun(d)}: break-glass ${reasons}, but its last window gate before the deploy is ${gate ? `${String(gate.data.result)} ("${String(gate.data.reason)}")` : 'missing'}, not WARN`,
      );
  }
  return out;
}

/** 1'. A break-glass deploy's WARN, and a rollback's records, name every control they overrode (the freeze, the window, the blackout). */
export function overridesAreNamed(run: ModelRun): string[] {
  const f = factsOf(run);
  const out: string[] = [];
  for (const d of run.output.deployments) {
    // A canary's own writes belong to the deploy its point of action allowed (decision 043): not a rollback, not a new deploy.
    if (d.kind === 'canary') continue;
    const why = overridden(run, d);
    if (why.length === 0) continue;
    if (d.kind === 'deploy') {
      if (!f.breakGlass.has(d.releaseId)) continue; // not allowed at all: deploysOnlyWhenOpen reports it
      const gate = lastWindowGate(f, d.releaseId, d.stage, ms(d.startedAt));
      const text = wordsOf(gate?.data ?? {}).join(' | ');
      for (const w of why) if (!w.mention.test(text)) out.push(`${describeRun(d)}: break-glass deployed ${w.text}, but its WARN ("${text}") does not name the ${w.kind}`);
    } else {
      const records = rollbackRecords(f, d);
      const text = wordsOf(records.map((e) => e.data)).join(' | ');
      for (const w of why) {
        if (!w.mention.test(text))
          out.push(`${describeRun(d)}: a rollback ${w.text}, but its records (${records.map((e) => e.type).join(', ') || 'none'}) never mention the ${w.kind}`);
      }
    }
  }
  return out;
}

/** 2. Never an older digest (pushed earlier) deployed over the newer one running on the stage; rollbacks are exempt. */
export function neverOlderOverNewer(run: ModelRun): string[] {
  const pushedAt = pushedAtOf(run.doc);
  const running = new Map<string, string>();
  for (const [k, v] of Object.entries(run.doc.stages ?? {})) if (v.running) running.set(k, v.running);
  const out: string[] = [];
  const runs = run.output.deployments.map((d, i) => ({ d, i })).sort((a, b) => ms(a.d.startedAt) - ms(b.d.startedAt) || a.i - b.i);
  for (const { d } of runs) {
    const key = `${d.service}/${d.stage}`;
    const current = running.get(key);
    if (d.kind === 'deploy' && current && current !== d.digest) {
      const ours = pushedAt.get(d.digest);
      const theirs = pushedAt.get(current);
      if (ours !== undefined && theirs !== undefined && ours < theirs) {
        out.push(`${describeRun(d)}: deployed over ${short(current)}, which was pushed later (${new Date(theirs).toISOString()} > ${new Date(ours).toISOString()})`);
      }
    }
    if (d.result === 'SUCCEEDED') running.set(key, d.digest);
  }
  return out;
}

/**
 * 2'. Newest wins in the queue (issue 13): a forward deploy of a digest never starts after a newer digest
 * of the same service (pushed later) had started its own release; that stage should have ended SUPERSEDED.
 * A release started in the same instant as the deploy raced it and does not count.
 */
export function overtakenDigestsNotDeployed(run: ModelRun): string[] {
  const f = factsOf(run);
  const pushedAt = pushedAtOf(run.doc);
  const starts = f.events.filter((e) => e.type === 'release.started' && e.data.kind !== 'rollback' && typeof e.data.digest === 'string');
  const finished = new Map(f.events.filter((e) => e.type === 'release.finished').map((e) => [e.releaseId, ms(e.at)] as const));
  const out: string[] = [];
  for (const d of run.output.deployments) {
    if (d.kind !== 'deploy') continue;
    const ours = pushedAt.get(d.digest);
    if (ours === undefined) continue;
    // A newer digest overtakes while its release runs (decision 021): one that had already ended (blocked by a freeze,
    // rejected, rolled back) before this deploy started does not; an older digest may then be released deliberately.
    const runningAt = (releaseId: string, at: number) => {
      const end = finished.get(releaseId);
      return end === undefined || end > at;
    };
    const newer = starts.find(
      (e) =>
        e.data.service === d.service &&
        e.releaseId !== d.releaseId &&
        ms(e.at) < ms(d.startedAt) &&
        runningAt(e.releaseId, ms(d.startedAt)) &&
        (pushedAt.get(String(e.data.digest)) ?? Number.NEGATIVE_INFINITY) > ours,
    );
    if (newer)
      out.push(
        `${describeRun(d)}: overtaken by ${newer.releaseId} (${short(String(newer.data.digest))}, pushed later), which started at ${newer.at}; the stage should have ended SUPERSEDED`,
      );
  }
  return out;
}

/** 3. No two driver runs (deploys and rollbacks) on one stage overlap in time. */
export function noOverlappingDriverRuns(run: ModelRun): string[] {
  const out: string[] = [];
  const byStage = new Map<string, Deployment[]>();
  for (const d of run.output.deployments) {
    const k = `${d.service}/${d.stage}`;
    byStage.set(k, [...(byStage.get(k) ?? []), d]);
  }
  for (const [k, runs] of byStage) {
    const sorted = [...runs].sort((a, b) => ms(a.startedAt) - ms(b.startedAt));
    for (let i = 1; i < sorted.length; i++) {
      const next = sorted[i] as Deployment;
      // Every earlier run still going when this one starts. A stage with waves (decision 044) runs its clusters at
      // once: runs of one release on different clusters may overlap; two runs on one cluster, or two releases, may not.
      for (const prev of sorted.slice(0, i)) {
        const prevEnd = prev.endedAt ? ms(prev.endedAt) : Number.POSITIVE_INFINITY;
        if (prevEnd <= ms(next.startedAt)) continue;
        if (prev.cluster !== undefined && next.cluster !== undefined && prev.cluster !== next.cluster && prev.releaseId === next.releaseId) continue;
        out.push(`${k}: ${describeRun(next)} started while ${describeRun(prev)} was still running (ended ${prev.endedAt ?? 'never'})`);
      }
    }
  }
  return out;
}

interface LeaseSpan {
  readonly releaseId: string;
  readonly key: string;
  readonly from: number;
  readonly to: number;
  readonly open: boolean;
}
function leaseSpans(f: Facts): LeaseSpan[] {
  const spans: LeaseSpan[] = [];
  for (const [releaseId, events] of f.byRelease) {
    const service = f.serviceOf.get(releaseId);
    const open = new Map<string, number>();
    for (const e of events) {
      // lease.lost: an operator rollback took the lease over (decision 021); the holder's span ends there.
      if (!e.stage || (e.type !== 'lease.acquired' && e.type !== 'lease.released' && e.type !== 'lease.lost')) continue;
      // A second lease.acquired while the lease is open (a renewal) does not start a new span.
      if (e.type === 'lease.acquired') {
        if (!open.has(e.stage)) open.set(e.stage, ms(e.at));
      } else {
        const from = open.get(e.stage);
        if (from !== undefined) spans.push({ releaseId, key: `${service}/${e.stage}`, from, to: ms(e.at), open: false });
        open.delete(e.stage);
      }
    }
    for (const [stage, from] of open) spans.push({ releaseId, key: `${service}/${stage}`, from, to: Number.POSITIVE_INFINITY, open: true });
  }
  return spans;
}

/** 4. Only the lease holder runs a driver on a stage: each run starts inside a lease span of its release, and no other release took the lease since. */
export function onlyLeaseHolderDeploys(run: ModelRun): string[] {
  const spans = leaseSpans(factsOf(run));
  const out: string[] = [];
  for (const d of run.output.deployments) {
    const t = ms(d.startedAt);
    const key = `${d.service}/${d.stage}`;
    const own = spans.find((s) => s.releaseId === d.releaseId && s.key === key && s.from <= t && t <= s.to);
    if (!own) {
      out.push(
        `${describeRun(d)}: its release held no lease on ${key} then (its lease records: ${
          spans
            .filter((s) => s.releaseId === d.releaseId && s.key === key)
            .map((s) => `${new Date(s.from).toISOString()}–${s.open ? 'never freed' : new Date(s.to).toISOString()}`)
            .join(', ') || 'none'
        })`,
      );
      continue;
    }
    const taker = spans.find((s) => s.key === key && s.releaseId !== d.releaseId && s.from > own.from && s.from <= t && t <= s.to);
    if (taker)
      out.push(
        `${describeRun(d)}: ${taker.releaseId} had taken the lease on ${key} at ${new Date(taker.from).toISOString()}, after this release took it at ${new Date(own.from).toISOString()}`,
      );
  }
  return out;
}

/** 4'. A stage lease has one holder at a time: no two releases' lease spans on one stage overlap. */
export function oneLeaseHolderAtATime(run: ModelRun): string[] {
  const spans = leaseSpans(factsOf(run));
  const out: string[] = [];
  for (let i = 0; i < spans.length; i++) {
    for (let j = i + 1; j < spans.length; j++) {
      const a = spans[i] as LeaseSpan;
      const b = spans[j] as LeaseSpan;
      if (a.key !== b.key || a.releaseId === b.releaseId) continue;
      if (a.from < b.to && b.from < a.to) {
        const show = (s: LeaseSpan) => `${s.releaseId} ${new Date(s.from).toISOString()}–${s.open ? 'never freed' : new Date(s.to).toISOString()}`;
        out.push(`${a.key}: two releases held the lease at once: ${show(a)} and ${show(b)}`);
      }
    }
  }
  return out;
}

/**
 * 3'. Rollbacks come first (issue 13): an operator rollback's driver run starts within a minute of the
 * request, or within a minute of the end of a driver run already under way on that stage then.
 */
export function operatorRollbacksComeFirst(run: ModelRun): string[] {
  const f = factsOf(run);
  const out: string[] = [];
  for (const r of run.output.releases) {
    if (r.kind !== 'rollback') continue;
    const requested = ms(r.startedAt);
    for (const d of run.output.deployments.filter((x) => x.releaseId === r.releaseId && x.kind === 'rollback')) {
      const busy = run.output.deployments.filter(
        (x) => x !== d && x.service === d.service && x.stage === d.stage && ms(x.startedAt) <= requested && (!x.endedAt || ms(x.endedAt) > requested),
      );
      const from = Math.max(requested, ...busy.map((x) => (x.endedAt ? ms(x.endedAt) : Number.POSITIVE_INFINITY)));
      const waited = ms(d.startedAt) - from;
      if (waited > 60_000) {
        const holder = (f.byRelease.get(r.releaseId) ?? []).find((e) => e.type === 'stage.waiting' && e.data.waitingFor === 'lease')?.data.holder;
        out.push(`${describeRun(d)}: requested at ${r.startedAt}, it waited ${Math.round(waited / 60_000)} min${holder ? ` for the lease held by ${String(holder)}` : ''}`);
      }
    }
  }
  return out;
}

/**
 * 3''. A rollback's record is true to its driver runs (issue 13, honest records): an automatic rollback
 * names as `fromDigest` the digest its release deployed (or tried to) on that stage, and the stage's
 * rollback result is the result of its rollback driver run.
 */
export function rollbackRecordsMatchRuns(run: ModelRun): string[] {
  const f = factsOf(run);
  const out: string[] = [];
  for (const r of run.output.releases) {
    for (const st of r.stages) {
      const events = (f.byRelease.get(r.releaseId) ?? []).filter((e) => e.stage === st.name);
      const started = events.find((e) => e.type === 'rollback.started');
      const forward = events.find((e) => e.type === 'deploy.started' && e.data.kind !== 'rollback');
      if (r.kind !== 'rollback' && started && forward && started.data.fromDigest !== forward.data.digest) {
        out.push(
          `release ${r.releaseId} ${r.service}/${st.name}: its rollback records fromDigest ${short(String(started.data.fromDigest))}, but the digest it deployed there was ${short(String(forward.data.digest))}`,
        );
      }
      const driver = run.output.deployments.filter((d) => d.releaseId === r.releaseId && d.stage === st.name && d.kind === 'rollback').at(-1);
      if (driver?.result && r.status !== 'ABORTED') {
        const recorded = (st.rollback as { result?: unknown } | undefined)?.result;
        if (recorded !== driver.result)
          out.push(
            `release ${r.releaseId} ${r.service}/${st.name}: its rollback driver run ${driver.result} at ${driver.endedAt ?? '?'}, but the stage (${st.status}) records the rollback result ${recorded === undefined ? '(none)' : JSON.stringify(recorded)}`,
          );
      }
    }
  }
  return out;
}

/** 5. Every release and every execution ends; no stage of an ended release is left WAITING. */
export function everyReleaseEnds(run: ModelRun): string[] {
  const out: string[] = [];
  for (const r of run.output.releases) {
    if (r.status === 'RUNNING')
      out.push(`release ${r.releaseId} (${r.service} ${short(r.digest ?? undefined)}) is still RUNNING at the end (${r.stages.map((s) => `${s.name} ${s.status}`).join(', ')})`);
    else for (const s of r.stages) if (s.status === 'WAITING') out.push(`release ${r.releaseId} ended ${r.status} with stage ${s.name} still WAITING`);
  }
  for (const e of run.output.executions) if (e.status === 'RUNNING') out.push(`execution ${e.name} (${e.machine}) never finished`);
  return out;
}

/** 5'. Every lease is freed: none held at the end, and every lease.acquired has its lease.released (or lease.lost, taken by an operator rollback). */
export function everyLeaseFreed(run: ModelRun): string[] {
  const out = run.output.leasesHeld.map((l) => `lease ${l.service}/${l.stage} still held by ${l.owner} at the end`);
  for (const s of leaseSpans(factsOf(run)))
    if (s.open) out.push(`${s.releaseId}: lease ${s.key} acquired at ${new Date(s.from).toISOString()} has no lease.released in the record`);
  return out;
}

/** 5''. The export verifies with the code `gantry audit verify --file` runs, and every release's chain verified. */
export function exportVerifies(run: ModelRun): string[] {
  const v = verifyExport(parseExport(run.exportText));
  const out = v.problems.map((p) => `export: ${p.releaseId}: ${p.message}`);
  for (const r of run.output.releases) if (!r.audit.verified) out.push(`release ${r.releaseId}: its hash chain did not verify (${(r.audit.problems ?? []).join('; ')})`);
  return out;
}

/** 5'''. The simulation ran without an internal error (a handler or engine throwing outside any Catch). */
export function noInternalError(run: ModelRun): string[] {
  return run.output.warnings.filter((w) => w.startsWith('internal:')).map((w) => w.split('\n').slice(0, 3).join(' | '));
}

/** 6. Every stage status (and release status) is one docs/contracts.md names. */
export function statusesAreContractual(run: ModelRun): string[] {
  const out: string[] = [];
  for (const r of run.output.releases) {
    if (!(CONTRACT_RELEASE_STATUSES as readonly string[]).includes(r.status))
      out.push(`release ${r.releaseId}: status ${JSON.stringify(r.status)} is not one of ${CONTRACT_RELEASE_STATUSES.join(', ')}`);
    for (const s of r.stages) {
      if (!(CONTRACT_STAGE_STATUSES as readonly string[]).includes(s.status))
        out.push(`release ${r.releaseId} stage ${s.name}: status ${JSON.stringify(s.status)} is not one of ${CONTRACT_STAGE_STATUSES.join(', ')}`);
    }
  }
  return out;
}

/** Every invariant by the name failures and KNOWN_FAILING use. */
export const INVARIANTS = {
  'deploy only inside the window, outside blackouts and the freeze': deploysOnlyWhenOpen,
  'a bypass or a rollback names what it overrode': overridesAreNamed,
  'never an older digest over a newer one': neverOlderOverNewer,
  'newest wins: an overtaken digest is not deployed': overtakenDigestsNotDeployed,
  'no two driver runs on one stage overlap': noOverlappingDriverRuns,
  'an operator rollback runs within a minute': operatorRollbacksComeFirst,
  'a rollback record matches its driver run': rollbackRecordsMatchRuns,
  'only the lease holder deploys': onlyLeaseHolderDeploys,
  'one lease holder at a time': oneLeaseHolderAtATime,
  'every release and execution ends': everyReleaseEnds,
  'every lease is freed': everyLeaseFreed,
  'every export verifies': exportVerifies,
  'no internal error': noInternalError,
  "statuses are the contract's": statusesAreContractual,
} as const satisfies Record<string, (run: ModelRun) => string[]>;

export type InvariantName = keyof typeof INVARIANTS;
export const INVARIANT_NAMES = Object.keys(INVARIANTS) as InvariantName[];

/** Every violation of one run. */
export function checkRun(run: ModelRun): Violation[] {
  return INVARIANT_NAMES.flatMap((invariant) => INVARIANTS[invariant](run).map((message) => ({ invariant, message })));
}

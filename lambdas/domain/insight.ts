/**
 * The daily insight check, pure half: which services are stale (no promotion to their last stage in
 * `insight.staleAfterDays`), which stages drifted (the image the cluster runs is not the digest the
 * ledger says runs there), and the tamper-evident chain of insight records the check writes.
 *
 * No AWS SDK, no I/O, no clock of its own: every function takes `now` (or the record's `at`).
 * Decisions and reasons: docs/decisions/010-insight-check.md.
 */
import type { DrillOverdue } from './drill';
import { canonicalJson, sha256Hex } from './canonical';
import { type GantryConfig, stageClusters, stageWorkload } from './config';
import { GENESIS_HASH, type ReleaseSummary } from './ledger';

const DAY_MS = 86_400_000;

/** Something the insight check cannot work with (a record that is not an insight record, a bad instant). */
export class InsightInputError extends Error {
  override readonly name = 'InsightInputError';
}

// ---------------------------------------------------------------- stale services

export interface ServiceHistory {
  /** The last time the service's last stage was promoted (`stage.promoted` of a release), if ever. */
  readonly lastPromotedAt?: string;
  /** When Gantry first knew of the service: its first release, or the first insight check that listed it. */
  readonly firstSeenAt?: string;
}

export interface StaleFinding {
  readonly service: string;
  /** The stage whose promotions count: the service's last stage. */
  readonly stage: string;
  readonly lastPromotedAt: string | null;
  /** Where the count starts: the last promotion, or (never promoted) when Gantry first saw the service. */
  readonly since: string;
  /** Whole days from `since` to the check. */
  readonly days: number;
  readonly staleAfterDays: number;
  readonly reason: string;
}

/**
 * The time of the last promotion of `stage` of `service` among release summaries (operator rollbacks
 * promote nothing). A promotion's time is the stage's end (`stage.finished` PROMOTED).
 */
export function lastPromotionOf(summaries: readonly ReleaseSummary[], service: string, stage: string): string | undefined {
  let last: string | undefined;
  for (const r of summaries) {
    if (r.kind !== 'release' || r.service !== service) continue;
    const st = r.stages.find((s) => s.name === stage);
    if (!st || st.status !== 'PROMOTED') continue;
    const at = st.endedAt ?? r.endedAt ?? r.startedAt;
    if (last === undefined || at > last) last = at;
  }
  return last;
}

/** The start of the service's first release, if it has one. */
export function firstReleaseOf(summaries: readonly ReleaseSummary[], service: string): string | undefined {
  let first: string | undefined;
  for (const r of summaries) if (r.service === service && (first === undefined || r.startedAt < first)) first = r.startedAt;
  return first;
}

function instantMs(iso: string, what: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new InsightInputError(`${what}: expected an ISO-8601 instant, got ${JSON.stringify(iso)}`);
  return ms;
}

/**
 * Services with no promotion to their last stage for more than `insight.staleAfterDays` days.
 *
 * A service never promoted counts from when Gantry first saw it (`firstSeenAt`: its first release, or
 * the first insight check that listed it), so a service added to the config yesterday is not stale on
 * day one, and one that has tried and failed for weeks is. Without either (the first check ever, no
 * release) the count starts at `now`.
 */
export function findStaleServices(config: GantryConfig, history: Readonly<Record<string, ServiceHistory>>, now: Date): StaleFinding[] {
  const staleAfterDays = config.insight.staleAfterDays;
  const out: StaleFinding[] = [];
  for (const [service, svc] of Object.entries(config.services).sort(([a], [b]) => a.localeCompare(b))) {
    const stage = svc.stages.at(-1)?.name;
    if (!stage) continue;
    const h = history[service] ?? {};
    const since = h.lastPromotedAt ?? h.firstSeenAt ?? now.toISOString();
    const elapsed = now.getTime() - instantMs(since, `services.${service} since`);
    if (elapsed <= staleAfterDays * DAY_MS) continue;
    const days = Math.floor(elapsed / DAY_MS);
    const tenths = (Math.floor((elapsed / DAY_MS) * 10) / 10).toFixed(1);
    out.push({
      service,
      stage,
      lastPromotedAt: h.lastPromotedAt ?? null,
      since,
      days,
      staleAfterDays,
      reason: h.lastPromotedAt
        ? `no promotion to ${stage} for ${tenths} days (last promoted ${h.lastPromotedAt}; stale after ${staleAfterDays} days)`
        : `never promoted to ${stage} in the ${tenths} days since Gantry first saw the service (${since}; stale after ${staleAfterDays} days)`,
    });
  }
  return out;
}

// ---------------------------------------------------------------- drift

/** One stage's workload, as the plan hands it to the Map that reads the cluster. */
export interface WorkloadTarget {
  readonly service: string;
  readonly stage: string;
  /** The key of `clusters` in the config. */
  readonly cluster: string;
  /** The EKS cluster name (DescribeCluster, eks:call). */
  readonly clusterName: string;
  readonly region: string;
  readonly namespace: string;
  readonly deployment: string;
  readonly container: string;
  /** The service's ECR repository. */
  readonly repository: string;
  /** The ledger pointer's running digest (null: the ledger records nothing running there). */
  readonly running: string | null;
  readonly lastKnownGood: string | null;
  /** GET path of the Deployment (apps/v1). */
  readonly path: string;
}

/** What reading the Deployment gave: its containers, or the error the read failed with. */
export type WorkloadRead =
  | { readonly ok: true; readonly containers: ReadonlyArray<{ readonly name?: unknown; readonly image?: unknown }> }
  | { readonly ok: false; readonly error: string; readonly cause?: string };

export const DRIFT_KINDS = [
  'other-digest',
  'tag-reference',
  'other-repository',
  'other-registry',
  'not-recorded',
  'container-missing',
  'deployment-missing',
  'unreadable',
] as const;
export type DriftKind = (typeof DRIFT_KINDS)[number];

export interface WorkloadResult {
  readonly service: string;
  readonly stage: string;
  readonly cluster: string;
  readonly clusterName: string;
  readonly namespace: string;
  readonly deployment: string;
  readonly container: string;
  /** The image the ledger implies (`<registry>/<repo>@<running digest>`), or null when nothing is recorded. */
  readonly expected: string | null;
  /** The image reference the container runs, or null when it could not be read. */
  readonly found: string | null;
  readonly inSync: boolean;
}

export interface DriftFinding extends WorkloadResult {
  readonly inSync: false;
  readonly kind: DriftKind;
  readonly reason: string;
}

export interface ImageReference {
  /** Registry host, when the reference names one (`111122223333.dkr.ecr.eu-west-2.amazonaws.com`). */
  readonly registry?: string;
  /** Repository path (`payments-api`, `team/payments-api`). */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

/** Split a container image reference as Kubernetes holds it: `[registry/]repository[:tag][@digest]`. */
export function parseImageReference(ref: string): ImageReference {
  let rest = ref.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const first = rest.split('/')[0] ?? '';
  const hasRegistry = rest.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  const registry = hasRegistry ? first : undefined;
  const repository = hasRegistry ? rest.slice(first.length + 1) : rest;
  return { ...(registry ? { registry } : {}), repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

const short = (digest: string | null | undefined): string => (digest ? (digest.length > 19 ? `${digest.slice(0, 19)}…` : digest) : 'nothing');

/**
 * Compare what a stage's container runs with the ledger's pointer. In sync only when the container runs
 * `<registry>/<repository>@<running digest>` (the registry is checked when `registry` is given). Anything
 * else is drift, with a reason in words: another digest, a tag reference, another repository or registry,
 * an image where the ledger records none, the container or the Deployment missing, or a read that failed.
 */
export function compareWorkload(target: WorkloadTarget, read: WorkloadRead, registry?: string): WorkloadResult | DriftFinding {
  const where = `${target.namespace}/${target.deployment} on ${target.clusterName}`;
  const expected = target.running ? `${registry ? `${registry}/` : ''}${target.repository}@${target.running}` : null;
  const base = {
    service: target.service,
    stage: target.stage,
    cluster: target.cluster,
    clusterName: target.clusterName,
    namespace: target.namespace,
    deployment: target.deployment,
    container: target.container,
    expected,
  };
  const drift = (kind: DriftKind, found: string | null, reason: string): DriftFinding => ({ ...base, found, inSync: false, kind, reason });

  if (!read.ok) {
    const text = `${read.error}${read.cause ? `: ${read.cause}` : ''}`;
    if (/\b404\b|NotFound/i.test(text))
      return drift('deployment-missing', null, `Deployment ${where} does not exist (${read.error}); the ledger says ${short(target.running)} runs there`);
    return drift('unreadable', null, `could not read Deployment ${where}: ${text.length > 300 ? `${text.slice(0, 297)}...` : text}`);
  }
  const containers = read.containers.filter((c): c is { name: string; image?: unknown } => typeof c?.name === 'string');
  const c = containers.find((x) => x.name === target.container);
  if (!c) {
    return drift('container-missing', null, `Deployment ${where} has no container ${target.container} (it has ${containers.map((x) => x.name).join(', ') || 'none'})`);
  }
  const found = typeof c.image === 'string' ? c.image : null;
  if (!found) return drift('unreadable', null, `container ${target.container} of ${where} has no image`);
  const ref = parseImageReference(found);
  if (!target.running) return drift('not-recorded', found, `the ledger records no digest running in ${target.service}/${target.stage}, but ${where} runs ${found}`);
  if (ref.repository !== target.repository) {
    return drift('other-repository', found, `container ${target.container} runs an image of repository ${ref.repository}, not ${target.repository}: ${found}`);
  }
  if (registry && ref.registry !== registry) {
    return drift('other-registry', found, `container ${target.container} pulls from ${ref.registry ?? 'the default registry'}, not ${registry}: ${found}`);
  }
  if (!ref.digest) {
    return drift(
      'tag-reference',
      found,
      `container ${target.container} runs ${target.repository}:${ref.tag ?? 'latest'} by tag, not pinned to a digest; the ledger says ${short(target.running)} runs there`,
    );
  }
  if (ref.digest !== target.running) {
    const known = ref.digest === target.lastKnownGood ? ' (the last known good)' : '';
    return drift('other-digest', found, `container ${target.container} runs ${short(ref.digest)}${known}, the ledger says ${short(target.running)}: changed outside Gantry`);
  }
  return { ...base, found, inSync: true };
}

/**
 * An in-sync workload as the insight record keeps it: `<service>/<stage>@<digest>` (the digest the container
 * was found running, which is the ledger's running digest). Service and stage name the workload through the
 * config; everything else a WorkloadResult carries (cluster, namespace, Deployment, container, the image
 * reference twice) follows from them and the config hash the record carries (decision 036).
 */
export function inSyncEntry(r: WorkloadResult): string {
  const digest = r.found ? (parseImageReference(r.found).digest ?? r.found) : 'unknown';
  return `${r.service}/${r.stage}@${digest}`;
}

/** DynamoDB's item limit (400 KB, attribute names and values together): one insight record is one item. */
export const DYNAMODB_ITEM_LIMIT_BYTES = 400 * 1024;
/** What an insight record's JSON may take, leaving room for the keys, the chain fields and attribute names. */
export const INSIGHT_RECORD_BUDGET_BYTES = 360 * 1024;

/** The size of a record as JSON (UTF-8 bytes): close to, and a little above, its DynamoDB item size. */
export function insightRecordBytes(record: unknown): number {
  return Buffer.byteLength(JSON.stringify(record), 'utf8');
}

/** The Deployment's GET path (apps/v1), as `eks:call` takes it. */
export function deploymentPath(namespace: string, deployment: string): string {
  return `/apis/apps/v1/namespaces/${namespace}/deployments/${deployment}`;
}

/**
 * Every stage with a workload (`stageWorkload`) whose drift the check reads, with the ledger's pointer.
 * Empty when `insight.driftCheck` is false.
 */
export function workloadTargets(config: GantryConfig, pointers: Readonly<Record<string, { running?: string; lastKnownGood?: string } | undefined>>): WorkloadTarget[] {
  if (!config.insight.driftCheck) return [];
  const out: WorkloadTarget[] = [];
  for (const [service, svc] of Object.entries(config.services).sort(([a], [b]) => a.localeCompare(b))) {
    // A stage with waves (decision 044) runs on every cluster of its waves: each is read.
    for (const st of svc.stages) {
      for (const key of stageClusters(st)) {
        const w = stageWorkload(st);
        const cluster = Object.hasOwn(config.clusters, key) ? config.clusters[key] : undefined;
        if (!w || !cluster) continue;
        const p = pointers[`${service}/${st.name}`];
        out.push({
          service,
          stage: st.name,
          cluster: key,
          clusterName: cluster.name,
          region: cluster.region,
          namespace: st.namespace,
          deployment: w.deployment,
          container: w.container,
          repository: svc.repository,
          running: p?.running ?? null,
          lastKnownGood: p?.lastKnownGood ?? null,
          path: deploymentPath(st.namespace, w.deployment),
        });
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------- the insight record chain

export const INSIGHT_KIND = 'insight';

/** What one check found: the body of an insight record. */
export interface InsightCheckData {
  readonly staleAfterDays: number;
  readonly driftCheck: boolean;
  /** Per service: where its stale count starts (carried forward from check to check). */
  readonly services: Record<string, ServiceHistory>;
  readonly stale: StaleFinding[];
  readonly drift: DriftFinding[];
  /**
   * Workloads read and found in sync, compactly: one `inSyncEntry` string each (`<service>/<stage>@<digest>`).
   * Full detail is kept for drift only, so 1,000 workloads fit in one DynamoDB item (decision 036). Records
   * written before decision 036 hold WorkloadResult objects here: readers only count the entries.
   */
  readonly inSync: ReadonlyArray<string | WorkloadResult>;
  /** sha256 of the config the check ran under. */
  readonly configHash?: string;
  /** `insight.drillAfterDays` when set (decision 052), and the drillable stages whose last successful drill is older. */
  readonly drillAfterDays?: number;
  readonly drillsOverdue?: DrillOverdue[];
}

export interface InsightRecordInput {
  /** Unique per check (the execution name): a retried step writes nothing twice. */
  readonly checkId: string;
  readonly at: string;
  readonly data: InsightCheckData | Record<string, unknown>;
}

/** An insight record as stored: numbered and hash-chained like a release's events. */
export interface InsightRecord extends InsightRecordInput {
  readonly kind: typeof INSIGHT_KIND;
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
}

/** sha256(prevHash + canonical JSON of the record without its hash). */
export function hashInsight(prevHash: string, body: Omit<InsightRecord, 'hash'>): string {
  return sha256Hex(prevHash + canonicalJson(body));
}

export function chainInsight(prev: InsightRecord | undefined, input: InsightRecordInput): InsightRecord {
  const seq = prev ? prev.seq + 1 : 1;
  const prevHash = prev ? prev.hash : GENESIS_HASH;
  const body = { kind: INSIGHT_KIND, checkId: input.checkId, at: input.at, data: input.data, seq, prevHash } as const;
  return { ...body, hash: hashInsight(prevHash, body) };
}

/**
 * Recompute the insight chain: numbers without gaps from the first record given (a listing may start
 * mid-chain, so the first record's prevHash is taken as given), each prevHash the previous hash, each hash
 * recomputed over the record's content. One problem line per fault, naming the check.
 */
export function verifyInsightChain(records: readonly InsightRecord[]): { ok: boolean; problems: string[] } {
  const problems: string[] = [];
  const sorted = [...records].sort((a, b) => a.seq - b.seq);
  sorted.forEach((r, i) => {
    const prev = sorted[i - 1];
    const name = `insight record #${r.seq} (${r.checkId})`;
    if (prev && r.seq !== prev.seq + 1) problems.push(`${name}: expected #${prev.seq + 1} after #${prev.seq} (a record is missing)`);
    if (prev && r.prevHash !== prev.hash) problems.push(`${name}: prevHash does not match the hash of #${prev.seq}`);
    if (!prev && r.seq === 1 && r.prevHash !== GENESIS_HASH) problems.push(`${name}: the first record must chain to the genesis hash`);
    const { hash, ...body } = r;
    if (hashInsight(r.prevHash, body) !== hash) problems.push(`${name}: hash does not match its content (edited?)`);
  });
  return { ok: problems.length === 0, problems };
}

/** Carry each service's `firstSeenAt` forward: the earliest of the previous check's, its first release, and now. */
export function serviceHistory(
  config: GantryConfig,
  summaries: readonly ReleaseSummary[],
  previous: Readonly<Record<string, ServiceHistory>> | undefined,
  now: Date,
): Record<string, ServiceHistory> {
  const out: Record<string, ServiceHistory> = {};
  for (const [service, svc] of Object.entries(config.services).sort(([a], [b]) => a.localeCompare(b))) {
    const stage = svc.stages.at(-1)?.name ?? '';
    const candidates = [previous?.[service]?.firstSeenAt, firstReleaseOf(summaries, service), now.toISOString()].filter((x): x is string => typeof x === 'string');
    const firstSeenAt = candidates.sort((a, b) => Date.parse(a) - Date.parse(b))[0] as string;
    const lastPromotedAt = lastPromotionOf(summaries, service, stage);
    out[service] = { firstSeenAt, ...(lastPromotedAt ? { lastPromotedAt } : {}) };
  }
  return out;
}

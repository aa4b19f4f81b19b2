/**
 * The local cloud: ECR, CloudWatch, CodeBuild (the drivers), EventBridge (default bus with Gantry's
 * rules, and the Gantry bus), EventBridge Scheduler and the Step Functions task-token API, played
 * from a scenario file on the virtual clock. It implements the same ports the AWS adapters do.
 */
import { createHash } from 'node:crypto';
import { parseIsoDuration } from '../lambdas/domain/durations';
import { matchesPattern } from '../lambdas/domain/pattern-match';
import type {
  AlarmReader,
  AlarmState,
  AnchorSigner,
  EventPublisher,
  ImageDetail,
  ImageRegistry,
  LifecycleEvent,
  MetricQuery,
  ScanResult,
  TaskTokens,
  Timers,
} from '../lambdas/ports';
import { NotFoundError } from '../lambdas/adapters/errors';
import { parseScanFindingsPage } from '../lambdas/domain/image/findings';
import { MEDIA_TYPES } from '../lambdas/domain/image/oci';
import { SigningKeyError } from '../lambdas/domain/image/signature';
import type { ImageManifestRecord, ImageReferrerRecord, ImageSigningStatusRecord, RepositoryTagSettings } from '../lambdas/ports';
import { ACCESS_POLICY_FOR, ACCESS_ROLES, type AccessRole, accessPolicyArn, accessRequirements } from '../lambdas/domain/access-entries';
import type { GantryConfig } from '../lambdas/domain/config';
import { SIMULATED_CLUSTER_ACCESS_ROLE_ARN } from '../lambdas/ports';
import type { AccessEntryFacts, ClusterFacts, EventSelectorsFacts, KeyFacts, RegistryScanningFacts, RepositoryFacts } from '../lambdas/domain/doctor';
import type { VirtualClock } from './clock';
import { type BuiltImage, buildImage, type LocalSigningKey, scenarioSigningKeys } from './image-artifacts';
import { LocalKube } from './kube';
import { localAnchorSigner } from './anchor-key';
import type { Scenario, ScenarioImage } from './scenario';

export const ACCOUNT = '111122223333';
export const REGION = 'eu-west-2';

/** Where an alarm lives: an account and region. */
export interface AlarmPlace {
  readonly account: string;
  readonly region: string;
}
/** Gantry's own account (any region: the simulation sets no own-account cluster aside by region). */
const isHomePlace = (p: AlarmPlace) => p.account === ACCOUNT;

/** The ARNs of Gantry's roles in the local cloud (what a local Gantry's access entries name; lambdas/domain/access-entries.ts). */
export const LOCAL_ROLE_ARNS: Readonly<Record<AccessRole, string>> = Object.fromEntries(
  ACCESS_ROLES.map((r) => [r, `arn:aws:iam::${ACCOUNT}:role/gantry-local-${r.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`]),
) as Record<AccessRole, string>;

/**
 * An AWS error as the SDK would raise it: `name` is the error code, so ASL Retry can match it, and it
 * carries `$metadata` as every SDK v3 service exception does (no HTTP status: classified by name).
 */
export class LocalAwsError extends Error {
  readonly $metadata: { readonly httpStatusCode?: number } = {};
  constructor(
    code: string,
    message: string,
    readonly service: string,
    readonly operation: string,
  ) {
    super(message);
    this.name = code;
  }
}

export function hex(s: string, n = 32): string {
  return createHash('sha256').update(s).digest('hex').slice(0, n);
}

/** A deterministic UUID-shaped id, so two runs of one scenario give the same ids. */
export function detId(...parts: string[]): string {
  const h = hex(parts.join('|'));
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

interface Fault {
  readonly service: string;
  readonly operation: string;
  readonly error: string;
  remaining: number;
}

export interface DeploymentRecord {
  service: string;
  stage: string;
  digest: string;
  /** canary: a write of a canary stage's canary Deployment (decision 043), not a deploy of the stage. */
  kind: 'deploy' | 'rollback' | 'canary';
  releaseId: string;
  buildId: string;
  startedAt: string;
  endedAt?: string;
  result?: 'SUCCEEDED' | 'FAILED';
  message?: string;
  /** The cluster key the run deployed to (decision 044: a wave stage runs once per cluster). */
  cluster?: string;
  /** A Kubernetes driver run: the cluster's account and region, and the role its eks:call ran with (issue 18). */
  target?: { cluster: string; account: string; region: string; roleArn: string };
}

export interface ExternalNote {
  at: string;
  event: string;
  detail: Record<string, unknown>;
}

export interface BusRule {
  readonly name: string;
  readonly pattern: unknown;
  readonly target: (event: Record<string, unknown>) => Promise<unknown>;
}

export class LocalCloud implements ImageRegistry, AlarmReader, TaskTokens, Timers, EventPublisher {
  private readonly faults: Fault[] = [];
  private readonly alarmStates = new Map<string, { state: AlarmState['state']; reason: string; updatedAt: string }>();
  private readonly tokenWaiters = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly timers = new Map<string, { cancelled: boolean }>();
  private readonly rules: BusRule[] = [];
  readonly deployments: DeploymentRecord[] = [];
  readonly lifecycle: Array<{ at: string; detailType: string; detail: Record<string, unknown> }> = [];
  readonly notes: ExternalNote[] = [];
  readonly deliveryFailures: Array<{ rule: string; error: string }> = [];
  private readonly start: number;
  timerHandler: (payload: Record<string, unknown>) => Promise<unknown> = async () => undefined;
  /** The clusters' Deployments (eks:call for the Kubernetes driver and the drift check). */
  readonly kube: LocalKube;
  /** The drivers' evidence bucket: object key → the text the driver wrote (the Terraform driver's plan.json, …). */
  readonly evidence = new Map<string, string>();

  constructor(
    readonly scenario: Scenario,
    readonly clock: VirtualClock,
  ) {
    this.start = clock.nowMs();
    this.kube = new LocalKube(clock);
    for (const [name, state] of Object.entries(scenario.alarms)) {
      if (state !== 'MISSING') this.alarmStates.set(name, { state, reason: `initial state ${state} (scenario)`, updatedAt: clock.now().toISOString() });
    }
  }

  // ------------------------------------------------------------ faults

  addFault(service: string, operation: string, error: string, count: number): void {
    this.faults.push({ service, operation, error, remaining: count });
  }

  /**
   * The error code of a fault armed for this operation, consumed (one call), or undefined. For faults
   * injected below the local APIs (DynamoDB, at the ledger client's wire: local/chaos.ts).
   */
  takeFault(service: string, operation: string): string | undefined {
    const f = this.faults.find((x) => x.service === service && x.operation === operation && x.remaining > 0);
    if (!f) return undefined;
    f.remaining--;
    this.note('Fault Injected', { service, operation, error: f.error, remaining: f.remaining });
    return f.error;
  }

  /**
   * Fail an operation if a fault is armed for it. Called first thing by every local API, with an
   * operation of FAULT_OPERATIONS (local/fault-operations.ts: the list scenario faults are checked against).
   */
  checkFault(service: string, operation: string): void {
    const error = this.takeFault(service, operation);
    if (error !== undefined) throw new LocalAwsError(error, `injected by the scenario (fault on ${service} ${operation})`, service, operation);
  }

  note(event: string, detail: Record<string, unknown>): void {
    this.notes.push({ at: this.clock.now().toISOString(), event, detail });
  }

  /** PutObject into the evidence bucket (versioned in AWS: here the latest write wins). */
  putEvidence(key: string, body: string): void {
    this.evidence.set(key, body);
  }

  // ------------------------------------------------------------ ECR

  private repo(repository: string) {
    return this.scenario.ecr[repository];
  }

  private findImage(repository: string, ref: { tag?: string; digest?: string }): ScenarioImage | undefined {
    const images = this.repo(repository)?.images ?? [];
    // The newest push of a tag wins (a mutable tag moved by a later push).
    if (ref.digest) return images.find((i) => i.digest === ref.digest);
    return [...images].reverse().find((i) => ref.tag !== undefined && i.tags.includes(ref.tag));
  }

  /** A push adds the image (or moves the tag) as ECR would. */
  pushImage(repository: string, digest: string, tag: string | undefined): void {
    this.scenario.ecr[repository] ??= { tagMutability: 'IMMUTABLE', tagMutabilityExclusions: [], images: [] };
    const repo = this.scenario.ecr[repository];
    let img = repo.images.find((i) => i.digest === digest);
    if (!img) {
      img = { digest, tags: [], labels: {}, scan: { status: 'NONE', findings: [] }, pushedAt: this.clock.now().toISOString() };
      repo.images.push(img);
    }
    if (tag && !img.tags.includes(tag)) {
      for (const other of repo.images) if (other !== img) other.tags = other.tags.filter((t) => t !== tag);
      img.tags.push(tag);
    }
  }

  async describeImage(repository: string, ref: { tag?: string; digest?: string }): Promise<ImageDetail | undefined> {
    this.checkFault('ecr', 'DescribeImages');
    const img = this.findImage(repository, ref);
    if (!img) return undefined;
    return {
      repository,
      digest: img.digest,
      tags: [...img.tags],
      pushedAt: img.pushedAt ?? new Date(this.start).toISOString(),
      manifestMediaType: img.platforms?.length ? MEDIA_TYPES.ociIndex : MEDIA_TYPES.ociManifest,
      scanStatus: this.scanStatus(img),
    };
  }

  async tagMutability(repository: string): Promise<string> {
    this.checkFault('ecr', 'DescribeRepositories');
    const repo = this.repo(repository);
    if (!repo) throw new LocalAwsError('RepositoryNotFoundException', `repository ${repository} not found`, 'ecr', 'DescribeRepositories');
    return repo.tagMutability;
  }

  private scanStatus(img: ScenarioImage): string {
    const s = img.scan;
    const end = this.scanEndMs(img);
    if (end !== undefined && this.clock.nowMs() >= end) return s.completesAs ?? 'COMPLETE';
    return s.status;
  }

  /** When an IN_PROGRESS scan with `completesAfter` ends (virtual ms), else undefined. */
  private scanEndMs(img: ScenarioImage): number | undefined {
    const s = img.scan;
    if (s.status !== 'IN_PROGRESS' || !s.completesAfter) return undefined;
    const base = img.pushedAt ? Math.max(Date.parse(img.pushedAt), this.start) : this.start;
    return base + parseIsoDuration(s.completesAfter);
  }

  private readonly scanEvents = new Set<string>();
  private scanEventsOn = false;

  /** Emit each scan's end event on the default bus (decision 040); local/sim-world.ts turns it on once the rules exist. */
  scheduleScanEvents(): void {
    this.scanEventsOn = true;
  }

  /**
   * The end event of a scan that was read while in progress, scheduled at its end: ECR Image Scan (basic scanning),
   * or Inspector2 Scan (the registry's scanType ENHANCED; none for a FAILED scan, which Inspector does not report so).
   * Scheduled when the scan is first read in progress, not at start: a scan nobody waits for would only stretch the
   * virtual clock. The scenario's `completionEvent` drops it or delivers it twice.
   */
  private scanEventOnRead(repository: string, img: ScenarioImage): void {
    const end = this.scanEndMs(img);
    const key = `${repository}@${img.digest}`;
    if (!this.scanEventsOn || end === undefined || end <= this.clock.nowMs() || this.scanEvents.has(key)) return;
    this.scanEvents.add(key);
    const mode = img.scan.completionEvent ?? 'send';
    const status = img.scan.completesAs ?? 'COMPLETE';
    const enhanced = this.scenario.registryScanning?.scanType === 'ENHANCED';
    if (mode === 'drop' || (enhanced && status !== 'COMPLETE')) {
      this.clock.schedule(end, () => this.note('Scan Event Dropped', { repository, digest: img.digest, status }));
      return;
    }
    const repositoryArn = `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${repository}`;
    const detail = enhanced
      ? {
          'scan-status': 'INITIAL_SCAN_COMPLETE',
          'repository-name': repositoryArn,
          'finding-severity-counts': { TOTAL: 0 },
          'image-digest': img.digest,
          'image-tags': [...img.tags],
          version: '1.0',
        }
      : { 'scan-status': status, 'repository-name': repository, 'finding-severity-counts': {}, 'image-digest': img.digest, 'image-tags': [...img.tags] };
    const n = ++this.scanEventSeq;
    for (let copy = 0; copy < (mode === 'twice' ? 2 : 1); copy++) {
      this.clock.schedule(end, () =>
        this.putEvent({
          version: '0',
          id: `local-scan-${n}`,
          'detail-type': enhanced ? 'Inspector2 Scan' : 'ECR Image Scan',
          source: enhanced ? 'aws.inspector2' : 'aws.ecr',
          account: ACCOUNT,
          time: new Date(end).toISOString(),
          region: REGION,
          resources: [repositoryArn],
          detail,
        }),
      );
    }
  }
  private scanEventSeq = 0;

  async scanFindings(repository: string, digest: string): Promise<ScanResult> {
    this.checkFault('ecr', 'DescribeImageScanFindings');
    const img = this.findImage(repository, { digest }) ?? this.platformImage(repository, digest);
    if (!img) throw new LocalAwsError('ImageNotFoundException', `image ${digest} not found in ${repository}`, 'ecr', 'DescribeImageScanFindings');
    const status = this.scanStatus(img);
    if (status === 'IN_PROGRESS') this.scanEventOnRead(repository, img);
    if (status === 'NONE') return { status: 'NONE', findings: [] };
    if (status !== 'COMPLETE' && status !== 'ACTIVE') return { status, description: status === 'FAILED' ? 'scan failed (scenario)' : undefined, findings: [] };
    // Enhanced (Inspector) findings go through the parser the ECR adapter uses on DescribeImageScanFindings pages.
    const enhanced = img.scan.enhancedFindings
      ? parseScanFindingsPage({ imageScanStatus: { status }, imageScanFindings: { enhancedFindings: img.scan.enhancedFindings } }).findings
      : [];
    return {
      status,
      completedAt: this.clock.now().toISOString(),
      findings: [
        ...img.scan.findings.map((f) => ({ id: f.id, severity: f.severity, package: f.package, exploitAvailable: f.exploitAvailable, fixAvailable: f.fixAvailable })),
        ...enhanced,
      ],
    };
  }

  // ECR: what image.immutable-tag, image.signature and image.labels read (local/image-artifacts.ts builds it).

  private keys: Map<string, LocalSigningKey> | undefined;
  private readonly builtImages = new WeakMap<ScenarioImage, BuiltImage>();

  /** The scenario's signing keys (`keys`), generated on first use. */
  get signingKeys(): ReadonlyMap<string, LocalSigningKey> {
    this.keys ??= scenarioSigningKeys(this.scenario.keys);
    return this.keys;
  }

  private built(repository: string): BuiltImage[] {
    return (this.repo(repository)?.images ?? []).map((img) => {
      let b = this.builtImages.get(img);
      if (!b) {
        b = buildImage(img, {
          repository,
          registry: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`,
          keys: this.signingKeys,
          created: img.pushedAt ?? new Date(this.start).toISOString(),
        });
        this.builtImages.set(img, b);
      }
      return b;
    });
  }

  /** A platform image of a multi-arch scenario image, as an image of its own (its scan defaults to the image's). */
  private platformImage(repository: string, digest: string): ScenarioImage | undefined {
    const images = this.repo(repository)?.images ?? [];
    for (const [i, b] of this.built(repository).entries()) {
      const p = b.platforms.get(digest);
      const img = images[i];
      if (p && img) return { ...img, digest, tags: [], labels: p.labels ?? img.labels, scan: p.scan ?? img.scan, platforms: undefined, signature: p.signature };
    }
    return undefined;
  }

  async repositoryTagSettings(repository: string): Promise<RepositoryTagSettings> {
    this.checkFault('ecr', 'DescribeRepositories');
    const repo = this.repo(repository);
    if (!repo) throw new LocalAwsError('RepositoryNotFoundException', `repository ${repository} not found`, 'ecr', 'DescribeRepositories');
    return { mutability: repo.tagMutability, exclusionFilters: repo.tagMutabilityExclusions.map((filter) => ({ filterType: 'WILDCARD', filter })) };
  }

  async imageManifest(repository: string, ref: { tag?: string; digest?: string }): Promise<ImageManifestRecord | undefined> {
    this.checkFault('ecr', 'BatchGetImage');
    if (!this.repo(repository)) return undefined;
    let digest = ref.digest;
    if (!digest && ref.tag)
      digest =
        this.findImage(repository, { tag: ref.tag })?.digest ??
        this.built(repository)
          .find((b) => b.tags.has(ref.tag as string))
          ?.tags.get(ref.tag);
    if (!digest) return undefined;
    for (const b of this.built(repository)) {
      const m = b.manifests.get(digest);
      if (m) return { repository, digest, mediaType: m.mediaType, manifest: m.text };
    }
    return undefined;
  }

  async blob(repository: string, digest: string, maxBytes: number): Promise<Uint8Array> {
    this.checkFault('ecr', 'GetDownloadUrlForLayer');
    for (const b of this.built(repository)) {
      const bytes = b.blobs.get(digest);
      if (!bytes) continue;
      if (bytes.byteLength > maxBytes) {
        const e = new Error(`blob ${repository}@${digest} is ${bytes.byteLength} bytes, more than the ${maxBytes} allowed`);
        e.name = 'BlobDigestMismatchError';
        throw e;
      }
      return bytes;
    }
    throw new NotFoundError(`blob ${digest} is not in ECR repository ${repository}`);
  }

  async signingStatuses(): Promise<ImageSigningStatusRecord[]> {
    this.checkFault('ecr', 'DescribeImageSigningStatus');
    return [];
  }

  async referrers(): Promise<ImageReferrerRecord[]> {
    this.checkFault('ecr', 'ListImageReferrers');
    return [];
  }

  async signingPublicKey(keyArn: string): Promise<string> {
    throw new SigningKeyError(`the local cloud has no KMS (${keyArn}): give the key as a PEM, or let the scenario generate it with keys {"<name>": "generate"}`);
  }

  // ------------------------------------------------------------ CloudWatch
  // Alarms live in an account and region (issue 18): Gantry's own (the home: keyed by name, as before) or the
  // account/region of a cluster in another account (keyed `<account>|<region>|<name>`; alarmsIn reads there).

  private alarmKey(name: string, where?: AlarmPlace): string {
    return where === undefined || isHomePlace(where) ? name : `${where.account}|${where.region}|${name}`;
  }

  /**
   * GetMetricData from the scenario's `metrics` series (one value a minute): for each query, the series with its
   * namespace, name and exactly its dimensions; each period in [start, end) with at least one value gives one
   * datapoint, the mean of its values (the local cloud does not apply the query's stat). No series: no datapoints.
   */
  async getMetricData(queries: readonly MetricQuery[], start: string, end: string): Promise<Record<string, number[]>> {
    this.checkFault('cloudwatch', 'GetMetricData');
    const from = Date.parse(start);
    const to = Date.parse(end);
    const same = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>) =>
      Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);
    const out: Record<string, number[]> = {};
    for (const q of queries) {
      const series = this.scenario.metrics.find((m) => m.namespace === q.namespace && m.name === q.name && same(m.dimensions, q.dimensions));
      const points: number[] = [];
      if (series) {
        const s0 = this.start + parseIsoDuration(series.start);
        const periodMs = q.periodSeconds * 1000;
        for (let p = from; p + periodMs <= to; p += periodMs) {
          const vs = series.values.filter((_, i) => s0 + i * 60_000 >= p && s0 + i * 60_000 < p + periodMs);
          if (vs.length) points.push(vs.reduce((a, b) => a + b, 0) / vs.length);
        }
      }
      out[q.id] = points;
    }
    return out;
  }

  async describeAlarms(names: readonly string[]): Promise<AlarmState[]> {
    return this.readAlarms(names, undefined);
  }

  /** DescribeAlarms in another account/region (a handler's scoped CloudWatch client): only that place's alarms exist there. */
  alarmsIn(where: AlarmPlace): AlarmReader {
    return { describeAlarms: async (names) => this.readAlarms(names, where) };
  }

  private async readAlarms(names: readonly string[], where: AlarmPlace | undefined): Promise<AlarmState[]> {
    this.checkFault('cloudwatch', 'DescribeAlarms');
    const out: AlarmState[] = [];
    for (const name of names) {
      const key = this.alarmKey(name, where);
      // Every alarm exists (OK until set) unless the scenario says MISSING, which it says of the home account's only.
      if (key === name && this.scenario.alarms[name] === 'MISSING') continue;
      const s = this.alarmStates.get(key) ?? { state: 'OK' as const, reason: 'no datapoints breaching', updatedAt: new Date(this.start).toISOString() };
      out.push({ name, type: 'MetricAlarm', state: s.state, reason: s.reason, updatedAt: s.updatedAt });
    }
    return out;
  }

  /**
   * Set an alarm's state (at home, or in `where`: the account and region of a cluster in another account); returns the
   * Alarm State Change event CloudWatch would emit there (undefined when unchanged). An event of another account
   * reaches Gantry's default bus as GantryTargetAccount's rule forwards it: with its own account and region.
   */
  setAlarm(name: string, state: AlarmState['state'], reason?: string, at?: string, where?: AlarmPlace): Record<string, unknown> | undefined {
    const key = this.alarmKey(name, where);
    const account = where?.account ?? ACCOUNT;
    const region = where?.region ?? REGION;
    const prev = this.alarmStates.get(key) ?? { state: 'OK' as const, reason: 'initial', updatedAt: new Date(this.start).toISOString() };
    const now = at ?? this.clock.now().toISOString();
    const next = { state, reason: reason ?? `Threshold Crossed (scenario): ${name} → ${state}`, updatedAt: now };
    this.alarmStates.set(key, next);
    if (key === name && this.scenario.alarms[name] === 'MISSING') delete (this.scenario.alarms as Record<string, string>)[name];
    this.note('Alarm State Changed', { alarm: name, from: prev.state, to: state, ...(key !== name ? { account, region } : {}) });
    if (prev.state === state) return undefined;
    const ts = now.replace('Z', '+0000');
    return {
      version: '0',
      id: detId('alarm', name, now, state, key),
      'detail-type': 'CloudWatch Alarm State Change',
      source: 'aws.cloudwatch',
      account,
      time: now.replace(/\.\d{3}Z$/, 'Z'),
      region,
      resources: [`arn:aws:cloudwatch:${region}:${account}:alarm:${name}`],
      detail: {
        alarmName: name,
        state: { value: state, reason: next.reason, reasonData: '{"version":"1.0"}', timestamp: ts },
        previousState: { value: prev.state, reason: prev.reason, timestamp: prev.updatedAt.replace('Z', '+0000') },
        configuration: { metrics: [] },
      },
    };
  }

  /**
   * A raw Alarm State Change event also sets that alarm's state here, as of the change it reports
   * (`detail.state.timestamp`, else now). An event older than the alarm's current state (delivered late:
   * EventBridge is at-least-once, and an archive can replay) reports a change the alarm has since moved
   * past: it leaves the state alone, as CloudWatch's DescribeAlarms would.
   */
  absorbAlarmEvent(event: Record<string, unknown>): void {
    if (event['detail-type'] !== 'CloudWatch Alarm State Change') return;
    const d = event.detail as { alarmName?: string; state?: { value?: string; reason?: string; timestamp?: string } };
    if (d?.alarmName && d.state?.value && ['OK', 'ALARM', 'INSUFFICIENT_DATA'].includes(d.state.value)) {
      const where = typeof event.account === 'string' && typeof event.region === 'string' ? { account: event.account, region: event.region } : undefined;
      const key = this.alarmKey(d.alarmName, where);
      const prev = this.alarmStates.get(key);
      const reported = d.state.timestamp !== undefined ? Date.parse(d.state.timestamp) : Number.NaN;
      const changedAt = Number.isNaN(reported) ? this.clock.nowMs() : Math.min(reported, this.clock.nowMs());
      // The event of a change this cloud already made (setAlarm, then the event it sends or forwards): nothing new.
      if (prev && prev.state === d.state.value && prev.updatedAt === new Date(changedAt).toISOString()) return;
      // An alarm the scenario does not name has been OK since the start.
      const since = prev?.updatedAt ?? new Date(this.start).toISOString();
      if (changedAt < Date.parse(since)) {
        this.note('Alarm Event Out Of Date', { alarm: d.alarmName, reported: d.state.value, changedAt: new Date(changedAt).toISOString(), current: prev?.state ?? 'OK', since });
        return;
      }
      this.alarmStates.set(key, { state: d.state.value as AlarmState['state'], reason: d.state.reason ?? '', updatedAt: new Date(changedAt).toISOString() });
      this.note('Alarm State Changed', { alarm: d.alarmName, from: prev?.state ?? 'OK', to: d.state.value, source: 'raw event' });
    }
  }

  // ------------------------------------------------------------ IAM / STS and EKS in several accounts (issue 18)

  /** The config the local accounts are built from (clusters, their accounts and roles): set by the simulation. */
  private accountsConfig: GantryConfig | undefined;
  private readonly assumed = new Set<string>();

  configureAccounts(config: GantryConfig): void {
    this.accountsConfig = config;
  }

  /**
   * The roles the local IAM knows: the stack's ClusterAccessRole and each configured cluster's `roleArn` (what
   * GantryTargetAccount creates), except those the scenario lists in `missingRoles` (a target account without it).
   */
  knowsRole(roleArn: string): boolean {
    if ((this.scenario.missingRoles ?? []).includes(roleArn)) return false;
    if (roleArn === SIMULATED_CLUSTER_ACCESS_ROLE_ARN) return true;
    return Object.values(this.accountsConfig?.clusters ?? {}).some((c) => c.roleArn === roleArn);
  }

  /**
   * STS AssumeRole: the role's account, or AccessDenied as STS answers for a role that does not exist or does not
   * trust the caller. Noted (without credentials) for the timeline.
   */
  assumeRole(roleArn: string, sessionName: string, caller = `arn:aws:sts::${ACCOUNT}:assumed-role/gantry-local-handler/${sessionName}`): { account: string } {
    this.checkFault('sts', 'AssumeRole');
    if (!this.knowsRole(roleArn)) {
      throw new LocalAwsError('AccessDenied', `User: ${caller} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`, 'sts', 'AssumeRole');
    }
    const account = roleArn.split(':')[4] ?? ACCOUNT;
    const seen = `${roleArn}|${sessionName}`;
    if (!this.assumed.has(seen)) this.note('Role Assumed', { roleArn, sessionName, account });
    this.assumed.add(seen);
    return { account };
  }

  /** The account a configured cluster (by EKS name) is in, for a caller in `account`: undefined when that account has no such cluster. */
  clusterIn(name: string, account: string, region?: string): { key: string; region: string } | undefined {
    for (const [key, c] of Object.entries(this.accountsConfig?.clusters ?? {})) {
      if (c.name === name && (c.account ?? ACCOUNT) === account && (region === undefined || c.region === region)) return { key, region: c.region };
    }
    return undefined;
  }

  /** eks:DescribeCluster in an account and region: the endpoint and CA of a cluster there, or ResourceNotFoundException as EKS answers. */
  describeEksCluster(name: string, account: string, region: string): { endpoint: string; certificateAuthority: string } {
    this.checkFault('eks', 'DescribeCluster');
    const found = this.clusterIn(name, account, region);
    if (!found || this.scenario.eks?.[name] === 'MISSING') throw new LocalAwsError('ResourceNotFoundException', `No cluster found for name: ${name}.`, 'eks', 'DescribeCluster');
    return {
      endpoint: `https://${detId('eks', account, region, name).replace(/-/g, '').slice(0, 32).toUpperCase()}.gr7.${region}.eks.amazonaws.com`,
      certificateAuthority: 'TFMwdExTMUNSVWRKVGlCRFJWSlVTVVpKUTBGVVJTMHRMUzB0Q2c9PQ==',
    };
  }

  // ------------------------------------------------------------ Step Functions task tokens

  awaitToken(token: string): Promise<unknown> {
    return new Promise((resolve, reject) => this.tokenWaiters.set(token, { resolve, reject }));
  }

  /** The execution waiting on this token ended (aborted): settle its waiter so nothing is left pending. */
  dropToken(token: string, error = 'States.Aborted', message = 'execution aborted'): void {
    const w = this.tokenWaiters.get(token);
    this.tokenWaiters.delete(token);
    if (w) {
      const e = new Error(message);
      e.name = error;
      w.reject(e);
    }
  }

  async sendSuccess(token: string, output: unknown): Promise<void> {
    this.checkFault('sfn', 'SendTaskSuccess');
    const w = this.tokenWaiters.get(token);
    this.tokenWaiters.delete(token);
    w?.resolve(output); // an unknown or finished token is TaskTimedOut in AWS: nothing to do
  }

  async sendFailure(token: string, error: string, cause: string): Promise<void> {
    this.checkFault('sfn', 'SendTaskFailure');
    const w = this.tokenWaiters.get(token);
    this.tokenWaiters.delete(token);
    if (w) {
      const e = new Error(cause);
      e.name = error;
      w.reject(e);
    }
  }

  // ------------------------------------------------------------ EventBridge Scheduler

  async schedule(name: string, at: string, payload: Record<string, unknown>): Promise<void> {
    this.checkFault('scheduler', 'CreateSchedule');
    if (this.timers.has(name)) return; // ConflictException: already scheduled
    const t = { cancelled: false };
    this.timers.set(name, t);
    this.clock.schedule(Date.parse(at), async () => {
      if (t.cancelled) return;
      this.timers.delete(name);
      try {
        await this.timerHandler(payload);
      } catch (e) {
        // The target failed every attempt: EventBridge Scheduler gives up (a dead-letter queue in AWS). Reported, not fatal.
        this.deliveryFailures.push({ rule: `schedule ${name}`, error: `${(e as Error).name}: ${(e as Error).message}` });
      }
    });
  }

  async cancel(name: string): Promise<void> {
    this.checkFault('scheduler', 'DeleteSchedule');
    const t = this.timers.get(name);
    if (t) t.cancelled = true;
    this.timers.delete(name);
  }

  // ------------------------------------------------------------ EventBridge

  addRule(rule: BusRule): void {
    this.rules.push(rule);
  }

  /** Put an event on the default bus: every rule whose pattern matches gets it (asynchronously, at the current virtual time). */
  putEvent(event: Record<string, unknown>): number {
    this.absorbAlarmEvent(event);
    let matched = 0;
    for (const rule of this.rules) {
      if (!matchesPattern(rule.pattern, event)) continue;
      matched++;
      this.clock.schedule(this.clock.nowMs(), async () => {
        try {
          await rule.target(event);
        } catch (e) {
          this.deliveryFailures.push({ rule: rule.name, error: `${(e as Error).name}: ${(e as Error).message}` });
        }
      });
    }
    return matched;
  }

  /** Rules on the Gantry bus (the anchor signer's `Release Finished` rule, decision 048). */
  private readonly gantryRules: BusRule[] = [];

  addGantryRule(rule: BusRule): void {
    this.gantryRules.push(rule);
  }

  /** The Gantry bus: lifecycle events are kept for the timeline, and go to the Gantry bus's rules (asynchronously). */
  async publish(events: readonly LifecycleEvent[]): Promise<void> {
    this.checkFault('eventbridge', 'PutEvents');
    for (const e of events) {
      const at = this.clock.now().toISOString();
      this.lifecycle.push({ at, detailType: e.detailType, detail: e.detail });
      const envelope = {
        version: '0',
        source: 'gantry',
        'detail-type': e.detailType,
        account: ACCOUNT,
        region: REGION,
        time: at.replace(/\.\d{3}Z$/, 'Z'),
        resources: [],
        detail: e.detail,
      };
      for (const rule of this.gantryRules) {
        if (!matchesPattern(rule.pattern, envelope)) continue;
        this.clock.schedule(this.clock.nowMs(), async () => {
          try {
            await rule.target(envelope);
          } catch (err) {
            this.deliveryFailures.push({ rule: rule.name, error: `${(err as Error).name}: ${(err as Error).message}` });
          }
        });
      }
    }
  }

  /** KMS Sign with the local anchor key (local/anchor-key.ts); the scenario's faults on `kms Sign` apply. */
  readonly anchorSigner: AnchorSigner = localAnchorSigner(() => this.checkFault('kms', 'Sign'));

  // ------------------------------------------------------------ what `gantry doctor --local` reads: EKS, ECR settings, CloudTrail, KMS

  /** EKS DescribeCluster: the scenario's `eks` entry, else a cluster as Gantry needs it; undefined when "MISSING". */
  eksCluster(name: string): ClusterFacts | undefined {
    this.checkFault('eks', 'DescribeCluster');
    const declared = this.scenario.eks?.[name];
    if (declared === 'MISSING') return undefined;
    return {
      status: declared?.status ?? 'ACTIVE',
      authenticationMode: declared?.authenticationMode ?? 'API_AND_CONFIG_MAP',
      endpointPublicAccess: declared?.endpointPublicAccess ?? true,
      endpointPrivateAccess: declared?.endpointPrivateAccess ?? false,
      publicAccessCidrs: declared?.publicAccessCidrs ?? ['0.0.0.0/0'],
    };
  }

  /**
   * EKS access entries of a cluster (ListAccessEntries, DescribeAccessEntry, ListAssociatedAccessPolicies in one):
   * the scenario's `eks.<name>.accessEntries`, else every entry Gantry needs there, as the stack or the deployer makes them.
   */
  eksAccessEntries(name: string, config: GantryConfig): AccessEntryFacts[] {
    this.checkFault('eks', 'ListAccessEntries');
    const declared = this.scenario.eks?.[name];
    if (declared === 'MISSING') throw new LocalAwsError('ResourceNotFoundException', `No cluster found for name: ${name}.`, 'eks', 'ListAccessEntries');
    if (declared?.accessEntries) {
      return declared.accessEntries.map((e) => ({
        principalArn: (ACCESS_ROLES as readonly string[]).includes(e.principal) ? LOCAL_ROLE_ARNS[e.principal as AccessRole] : e.principal,
        type: e.type,
        kubernetesGroups: [...e.kubernetesGroups],
        policies: e.policies.map((p) => ({ policyArn: accessPolicyArn(p.policy), scopeType: p.scope, namespaces: [...p.namespaces] })),
      }));
    }
    return accessRequirements(config)
      .filter((r) => r.clusterName === name)
      .map((r) => ({
        principalArn: LOCAL_ROLE_ARNS[r.role],
        type: 'STANDARD',
        kubernetesGroups: [],
        policies: [{ policyArn: accessPolicyArn(ACCESS_POLICY_FOR[r.level]), scopeType: 'namespace', namespaces: [...r.namespaces] }],
      }));
  }

  /** ECR DescribeRepositories: tag mutability and scan on push (default on); undefined for a repository that does not exist. */
  repositorySettings(repository: string): RepositoryFacts | undefined {
    this.checkFault('ecr', 'DescribeRepositories');
    const repo = this.repo(repository);
    if (!repo) return undefined;
    return {
      tagMutability: repo.tagMutability,
      exclusionFilters: repo.tagMutabilityExclusions.map((filter) => ({ filterType: 'WILDCARD', filter })),
      scanOnPush: repo.scanOnPush ?? true,
    };
  }

  /** ECR GetRegistryScanningConfiguration (default: BASIC, no rule). */
  registryScanningConfiguration(): RegistryScanningFacts {
    this.checkFault('ecr', 'GetRegistryScanningConfiguration');
    const r = this.scenario.registryScanning;
    return {
      scanType: r?.scanType ?? 'BASIC',
      rules: (r?.rules ?? []).map((rule) => ({ scanFrequency: rule.scanFrequency, filters: rule.repositoryFilters.map((f) => ({ filterType: f.filterType, filter: f.filter })) })),
    };
  }

  /** CloudTrail DescribeTrails, GetTrailStatus and GetEventSelectors (default: one multi-region trail logging all management events). */
  cloudTrails(): Array<{ name: string; homeRegion: string; multiRegion: boolean; logging: boolean; selectors: EventSelectorsFacts }> {
    this.checkFault('cloudtrail', 'DescribeTrails');
    const trails = this.scenario.trails ?? [{ name: 'management-events', multiRegion: true, logging: true, managementEvents: 'All' as const }];
    return trails.map((t) => ({
      name: t.name,
      homeRegion: ('homeRegion' in t && t.homeRegion) || REGION,
      multiRegion: t.multiRegion,
      logging: t.logging,
      selectors: {
        basic: t.managementEvents === 'None' ? [{ includeManagementEvents: false, readWriteType: 'All' }] : [{ includeManagementEvents: true, readWriteType: t.managementEvents }],
        advanced: [],
      },
    }));
  }

  /** KMS DescribeKey: a key of the scenario's `kms`; undefined for any other ARN (the local cloud has no other KMS key). */
  kmsKey(keyArn: string): KeyFacts | undefined {
    this.checkFault('kms', 'DescribeKey');
    const k = this.scenario.kms?.[keyArn];
    return k ? { keySpec: k.keySpec, keyUsage: k.keyUsage, keyState: k.keyState } : undefined;
  }
}

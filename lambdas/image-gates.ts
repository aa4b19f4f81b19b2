/**
 * The image gates of a stage, on the digest resolved at the start, in docs/contracts.md §3 order:
 * image.exists, image.immutable-tag, image.scan, image.signature, image.labels, image.age.
 * A gate the service's imagePolicy does not ask for is not run (docs/decisions/007-image-gates.md);
 * the first refusal ends the run, so a blocked stage names exactly one failing gate.
 *
 * Returns WAIT while a scan is still running (up to the policy's scanWaitMinutes), FAIL when a gate
 * refused, PASS otherwise. Gates are recorded only once decided, each under
 * `stage:<stage>:gate:<gate>`, so a retried task writes nothing twice.
 */
import * as z from 'zod';
import { DIGEST_PATTERN, type ImagePolicy, type ServiceConfig } from './domain/config';
import { pushExecutionName } from './domain/release';
import {
  evaluateImageAge,
  evaluateImageExists,
  evaluateImmutableTag,
  evaluateLabels,
  evaluateScan,
  evaluateSignature,
  type ScanVerdict,
  signatureKeysUnusable,
} from './domain/gates';
import { mergeScanResults } from './domain/image/findings';
import type { PlatformImageConfig } from './domain/image/labels';
import {
  type Descriptor,
  type ImageManifestDoc,
  isContainerImage,
  isIndexMediaType,
  MAX_CONFIG_BYTES,
  MEDIA_TYPES,
  type OciDocument,
  parseImageConfig,
  parseManifest,
  platformManifests,
  platformName,
} from './domain/image/oci';
import {
  bestCheck,
  checkCosignSignature,
  cosignSignatureLayers,
  cosignSignatureTag,
  isKmsKeyRef,
  loadPublicKey,
  MAX_PAYLOAD_BYTES,
  type NamedKey,
  type SignatureCheck,
  type SignatureSubject,
} from './domain/image/signature';
import { TransientAwsError } from './adapters/errors';
import type { GateName, GateResult } from './domain/types';
import { parseWith, ValidationError } from './domain/validation';
import { type Deps, type ImageDetail, type ImageRegistry, type ScanResult, scanIndexKey } from './ports';
import { lambdaHandler } from './shared/middleware';
import { announce, loadRelease, record, recordAll, stageConfigOf } from './shared/recorder';
import { stageStep } from './domain/step-keys';
import { evaluateChangeRecord, isCommit } from './domain/change-record';
import type { ReleaseSummary } from './domain/ledger';

const eventSchema = z.object({ releaseId: z.string().min(1), stage: z.string().min(1) });
/** The release's event-driven scan wait (WaitForImageScanEvent, a `.waitForTaskToken` task): decision 040. */
const awaitScanSchema = z.object({ action: z.literal('await-scan'), taskToken: z.string().min(1), releaseId: z.string().min(1), stage: z.string().min(1) });

export const SCAN_POLL_SECONDS = 30;
/** A signature artifact with more layers than this is not read past it. */
const MAX_SIGNATURE_LAYERS = 16;
/** An index with more platform images than this is refused rather than read image by image. */
const MAX_PLATFORMS = 32;

/**
 * Errors that mean "this image cannot be verified", not "try again": the gate that met one refuses,
 * naming it. Anything else (throttling, 5xx, a bug) is thrown to the workflow's Retry/Catch.
 */
const UNVERIFIABLE = new Set(['ValidationError', 'NotFoundError', 'BlobDigestMismatchError', 'ImageUnreadableError', 'SigningKeyError', 'ImageInspectionError', 'AwsCallError']);

/** The AWS operation behind each registry method, for the reason of a gate an AWS error failed. */
export const REGISTRY_OPERATIONS: Readonly<Record<string, string>> = {
  describeImage: 'DescribeImages',
  tagMutability: 'DescribeRepositories',
  repositoryTagSettings: 'DescribeRepositories',
  scanFindings: 'DescribeImageScanFindings',
  imageManifest: 'BatchGetImage',
  blob: 'GetDownloadUrlForLayer',
  signingStatuses: 'DescribeImageSigningStatus',
  referrers: 'ListImageReferrers',
  signingPublicKey: 'GetPublicKey',
};
/** Longest AWS error message a gate's reason quotes. */
const MAX_AWS_MESSAGE = 300;

/**
 * An AWS call of a gate failed, after the SDK's own retries: AccessDenied, a KMS or ECR refusal, or a
 * throttle or 5xx that outlived the retries. The gate that made the call FAILs naming the call and the
 * error; it is never an internal error of the release (docs/decisions/020-aws-fidelity.md).
 */
export class AwsCallError extends Error {
  override readonly name = 'AwsCallError';
  constructor(
    /** The AWS operation, e.g. DescribeImageScanFindings. */
    readonly operation: string,
    /** The AWS error name, e.g. AccessDeniedException. */
    readonly awsError: string,
    readonly awsMessage: string,
    options?: { cause?: unknown },
  ) {
    super(`${operation} failed: ${awsError}${awsMessage ? `: ${awsMessage}` : ''}`, options);
  }
}

/**
 * Whether `e` is an error an AWS service (or the SDK talking to it) raised: an SDK v3 service exception
 * (it carries `$metadata`; so do the local cloud's errors), or a TransientAwsError the adapters made of a
 * throttle, a 5xx or a failed download. A TypeError or any other bug is not one: it stays an internal error.
 */
export function isAwsError(e: unknown): e is Error {
  if (!(e instanceof Error)) return false;
  if (e instanceof TransientAwsError) return true;
  const meta = (e as { $metadata?: unknown }).$metadata;
  return meta !== null && typeof meta === 'object';
}

/** The registry with every AWS error of a call turned into an AwsCallError naming the call. */
export function namingAwsCalls(registry: ImageRegistry): ImageRegistry {
  return new Proxy(registry, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        try {
          return await value.apply(target, args);
        } catch (e) {
          if (!isAwsError(e) || UNVERIFIABLE.has(e.name)) throw e;
          const local = (e as { operation?: unknown }).operation;
          const operation = typeof local === 'string' ? local : (REGISTRY_OPERATIONS[String(prop)] ?? String(prop));
          const awsError = e instanceof TransientAwsError ? e.awsErrorName : e.name;
          const message = e.message.length > MAX_AWS_MESSAGE ? `${e.message.slice(0, MAX_AWS_MESSAGE - 3)}...` : e.message;
          throw new AwsCallError(operation, awsError, message, { cause: e });
        }
      };
    },
  });
}

/** The image is not what the gate can inspect (an index where a manifest belongs, a chart, no platforms). */
export class ImageInspectionError extends Error {
  override readonly name = 'ImageInspectionError';
}

/** The registry adapter lacks a method a gate needs: a wiring bug, not an image problem. */
export class RegistryCapabilityError extends Error {
  override readonly name = 'RegistryCapabilityError';
}

/**
 * WAIT_FOR_SCAN_EVENT (a release's first scan wait in a stage): wait for the scan's event, at most
 * `timeoutSeconds` (what is left of scanWaitMinutes). WAIT: look again in `waitSeconds` (a rollback's target,
 * and a release woken while its scan was still unfinished).
 */
export type ImageGatesOutput = { verdict: 'PASS' | 'FAIL' | 'WAIT' | 'WAIT_FOR_SCAN_EVENT'; waitSeconds?: number; timeoutSeconds?: number; reason?: string; overridden?: boolean };

function describeError(e: unknown): string {
  if (e instanceof ValidationError) return `${e.source} is invalid: ${e.problems.join('; ')}`;
  return (e as Error).message;
}

/** An "unverifiable" error as the FAIL of the gate that met it; anything else is rethrown. */
function unverifiable(gate: GateName, what: string, e: unknown): GateResult {
  if (e instanceof AwsCallError) {
    return { gate, result: 'FAIL', reason: e.message, evidence: { error: e.name, operation: e.operation, awsError: e.awsError, message: e.awsMessage } };
  }
  if (e instanceof Error && UNVERIFIABLE.has(e.name)) {
    return { gate, result: 'FAIL', reason: `${what} could not be verified: ${describeError(e)}`, evidence: { error: e.name, message: describeError(e) } };
  }
  throw e;
}

/** Run one gate, turning an "unverifiable" error into its FAIL. */
async function guarded(gate: GateName, what: string, evaluate: () => Promise<GateResult>): Promise<GateResult> {
  try {
    return await evaluate();
  } catch (e) {
    return unverifiable(gate, what, e);
  }
}

function capability<K extends 'imageManifest' | 'blob' | 'signingPublicKey'>(registry: ImageRegistry, name: K): NonNullable<ImageRegistry[K]> {
  const f = registry[name];
  if (typeof f !== 'function') throw new RegistryCapabilityError(`the image registry adapter does not implement ${name}, which the image gates need`);
  return f.bind(registry) as NonNullable<ImageRegistry[K]>;
}

/** Reads of one image's documents, each fetched at most once per invocation. */
class ImageReader {
  private doc: Promise<OciDocument> | undefined;

  constructor(
    private readonly registry: ImageRegistry,
    readonly repository: string,
    readonly digest: string,
    readonly detail: ImageDetail,
  ) {}

  /** The promoted digest's manifest or index. */
  document(): Promise<OciDocument> {
    this.doc ??= this.manifestAt(this.digest, this.detail.manifestMediaType);
    return this.doc;
  }

  async manifestAt(digest: string, mediaTypeHint?: string): Promise<OciDocument> {
    const rec = await capability(this.registry, 'imageManifest')(this.repository, { digest });
    if (!rec) throw new ImageInspectionError(`BatchGetImage found no manifest for ${this.repository}@${digest}`);
    return parseManifest(rec.manifest, rec.mediaType ?? mediaTypeHint);
  }

  /** Whether the promoted digest is an image index; asks for the manifest only when DescribeImages did not say. */
  async isIndex(): Promise<boolean> {
    if (this.detail.manifestMediaType) return isIndexMediaType(this.detail.manifestMediaType);
    if (typeof this.registry.imageManifest !== 'function') return false;
    return (await this.document()).kind === 'index';
  }

  /** The runnable platform images of the index (refused when there are none or too many). */
  async platforms(): Promise<Descriptor[]> {
    const doc = await this.document();
    if (doc.kind !== 'index') return [];
    const list = platformManifests(doc);
    if (list.length === 0) throw new ImageInspectionError(`image index ${this.digest} lists no platform image`);
    if (list.length > MAX_PLATFORMS)
      throw new ImageInspectionError(`image index ${this.digest} lists ${list.length} platform images, more than the ${MAX_PLATFORMS} Gantry inspects`);
    return list;
  }

  blob(digest: string, maxBytes: number): Promise<Uint8Array> {
    return capability(this.registry, 'blob')(this.repository, digest, maxBytes);
  }
}

// ---------------------------------------------------------------- image.scan

async function scanOf(registry: ImageRegistry, reader: ImageReader): Promise<{ scan: ScanResult; platforms?: Array<{ platform: string; digest: string; status: string }> }> {
  if (!(await reader.isIndex())) return { scan: await registry.scanFindings(reader.repository, reader.digest) };
  // ECR scans the platform images of a multi-arch image, not the index.
  const parts: Array<{ platform: string; digest: string; scan: ScanResult }> = [];
  for (const d of await reader.platforms()) parts.push({ platform: platformName(d.platform), digest: d.digest, scan: await registry.scanFindings(reader.repository, d.digest) });
  return { scan: mergeScanResults(parts), platforms: parts.map((p) => ({ platform: p.platform, digest: p.digest, status: p.scan.status })) };
}

// ---------------------------------------------------------------- image.signature

interface ResolvedKeys {
  readonly keys: NamedKey[];
  readonly unusable: Array<{ key: string; reason: string }>;
}

async function resolveKeys(names: readonly string[], refs: Readonly<Record<string, string>>, registry: ImageRegistry): Promise<ResolvedKeys> {
  const keys: NamedKey[] = [];
  const unusable: Array<{ key: string; reason: string }> = [];
  for (const name of names) {
    const ref = refs[name];
    try {
      if (ref === undefined) throw new ImageInspectionError(`signing key ${name} is not defined in signing.keys`);
      const pem = isKmsKeyRef(ref) ? await capability(registry, 'signingPublicKey')(ref) : ref;
      keys.push(loadPublicKey(name, pem));
    } catch (e) {
      if (e instanceof Error && UNVERIFIABLE.has(e.name)) unusable.push({ key: name, reason: describeError(e) });
      else throw e;
    }
  }
  return { keys, unusable };
}

async function signatureGate(deps: Deps, reader: ImageReader, policy: ImagePolicy): Promise<GateResult> {
  const requirement = policy.requireSignature;
  if (!requirement) throw new Error('unreachable: signature not required');
  const trustedNames = requirement.keys;
  const refs = deps.config.signing.keys;
  const trusted = await resolveKeys(trustedNames, refs, deps.registry);
  if (trusted.keys.length === 0) return signatureKeysUnusable(trustedNames, trusted.unusable);
  let others: Promise<NamedKey[]> | undefined;
  // The rest of signing.keys: only to say who signed when no trusted key verifies (best effort).
  const otherKeys = () => {
    others ??= resolveKeys(
      Object.keys(refs).filter((k) => !trustedNames.includes(k)),
      refs,
      deps.registry,
    ).then((r) => r.keys);
    return others;
  };

  const inspect = async (subjectDigest: string, platform?: string): Promise<SignatureSubject> => {
    const signatureTag = cosignSignatureTag(subjectDigest);
    const base = { digest: subjectDigest, ...(platform ? { platform } : {}), signatureTag };
    const rec = await capability(deps.registry, 'imageManifest')(reader.repository, { tag: signatureTag });
    if (!rec) return { ...base, checks: [] };
    let doc: OciDocument;
    try {
      doc = parseManifest(rec.manifest, rec.mediaType);
    } catch (e) {
      if (e instanceof ValidationError) return { ...base, signatureManifestDigest: rec.digest, malformed: describeError(e), checks: [] };
      throw e;
    }
    if (doc.kind !== 'manifest') return { ...base, signatureManifestDigest: rec.digest, malformed: 'it is an image index, not a signature manifest', checks: [] };
    const layers = cosignSignatureLayers(doc).slice(0, MAX_SIGNATURE_LAYERS);
    if (layers.length === 0) {
      return {
        ...base,
        signatureManifestDigest: rec.digest,
        malformed: `no ${MEDIA_TYPES.cosignSimpleSigning} layer carries a dev.cosignproject.cosign/signature annotation`,
        checks: [],
      };
    }
    const checks: Array<{ payloadDigest: string; check: SignatureCheck }> = [];
    for (const layer of layers) {
      let payload: Uint8Array;
      try {
        payload = await reader.blob(layer.payloadDigest, MAX_PAYLOAD_BYTES);
      } catch (e) {
        if (e instanceof Error && UNVERIFIABLE.has(e.name)) {
          checks.push({ payloadDigest: layer.payloadDigest, check: { outcome: 'malformed', detail: `its payload ${layer.payloadDigest} cannot be read: ${describeError(e)}` } });
          continue;
        }
        throw e;
      }
      let check = checkCosignSignature(payload, layer.signature, subjectDigest, trusted.keys);
      if (check.outcome === 'bad-signature') {
        const known = await otherKeys();
        if (known.length) check = checkCosignSignature(payload, layer.signature, subjectDigest, trusted.keys, known);
      }
      checks.push({ payloadDigest: layer.payloadDigest, check });
    }
    return { ...base, signatureManifestDigest: rec.digest, checks };
  };

  const subject = await inspect(reader.digest);
  let platforms: SignatureSubject[] | undefined;
  if (bestCheck(subject)?.outcome !== 'verified' && (await reader.isIndex())) {
    platforms = [];
    for (const d of await reader.platforms()) platforms.push(await inspect(d.digest, platformName(d.platform)));
  }
  // No cosign signature: say whether another kind exists (recorded as evidence, not verified).
  const other: { notation?: Array<Record<string, unknown>>; managedSigning?: Array<Record<string, unknown>>; otherSignaturesUnavailable?: string } = {};
  if (!subject.signatureManifestDigest) {
    try {
      if (deps.registry.referrers) {
        const found = await deps.registry.referrers(reader.repository, reader.digest, MEDIA_TYPES.notarySignature);
        if (found.length) other.notation = found.map((r) => ({ ...r }));
      }
      if (deps.registry.signingStatuses) {
        const statuses = await deps.registry.signingStatuses(reader.repository, reader.digest);
        if (statuses.length) other.managedSigning = statuses.map((s) => ({ ...s }));
      }
    } catch (e) {
      other.otherSignaturesUnavailable = `${(e as Error).name}: ${(e as Error).message}`;
    }
  }
  return evaluateSignature({
    subject,
    ...(platforms ? { platforms } : {}),
    trustedKeys: trustedNames,
    ...(trusted.unusable.length ? { unusableKeys: trusted.unusable } : {}),
    ...other,
  });
}

// ---------------------------------------------------------------- image.labels

async function configOf(reader: ImageReader, manifest: ImageManifestDoc, manifestDigest: string, platform?: string): Promise<PlatformImageConfig> {
  if (!isContainerImage(manifest)) {
    throw new ImageInspectionError(
      `${manifestDigest} is not a container image (config media type ${manifest.config.mediaType}${manifest.artifactType ? `, artifact type ${manifest.artifactType}` : ''})`,
    );
  }
  const config = parseImageConfig(await reader.blob(manifest.config.digest, MAX_CONFIG_BYTES));
  return { ...(platform ? { platform } : {}), manifestDigest, configDigest: manifest.config.digest, config };
}

/** The image config of every platform image, read once per invocation (image.labels and change.record read them). */
const configsRead = new WeakMap<ImageReader, Promise<PlatformImageConfig[]>>();
function imageConfigs(reader: ImageReader): Promise<PlatformImageConfig[]> {
  let p = configsRead.get(reader);
  if (!p) {
    p = (async () => {
      const doc = await reader.document();
      const configs: PlatformImageConfig[] = [];
      if (doc.kind === 'manifest') configs.push(await configOf(reader, doc, reader.digest));
      else {
        for (const d of await reader.platforms()) {
          const m = await reader.manifestAt(d.digest, d.mediaType);
          if (m.kind !== 'manifest') throw new ImageInspectionError(`platform entry ${d.digest} of index ${reader.digest} is itself an index`);
          configs.push(await configOf(reader, m, d.digest, platformName(d.platform)));
        }
      }
      return configs;
    })();
    configsRead.set(reader, p);
  }
  return p;
}

async function labelsGate(reader: ImageReader, policy: ImagePolicy): Promise<GateResult> {
  return evaluateLabels(policy.requiredLabels, reader.digest, await imageConfigs(reader));
}

// ---------------------------------------------------------------- change.record (decision 051)

/**
 * The commit a release of `digest` recorded (its change.record evidence, folded into the summary's `change`), newest
 * release first: the commit of the stage's last known good. Undefined when no release of it recorded one (released
 * before the service had a changeRecord or source, or its label was not a commit).
 */
export async function commitOfDigest(deps: Deps, service: string, digest: string): Promise<string | undefined> {
  // The usual case first, in one read: the digest was released by its push (intake's first name for it).
  if (DIGEST_PATTERN.test(digest)) {
    const pushed = await deps.ledger.getRelease(pushExecutionName(service, digest));
    if (pushed?.kind === 'release' && pushed.service === service && pushed.digest === digest && isCommit(pushed.change?.commit)) return pushed.change.commit;
  }
  const releases = await deps.ledger.listReleases({ service });
  for (let i = releases.length - 1; i >= 0; i--) {
    const r = releases[i];
    if (r?.kind === 'release' && r.digest === digest && isCommit(r.change?.commit)) return r.change.commit;
  }
  return undefined;
}

async function changeRecordGate(
  deps: Deps,
  reader: ImageReader,
  svc: ServiceConfig,
  release: ReleaseSummary,
  inputId: string | undefined,
  lastKnownGood: string | undefined,
): Promise<GateResult> {
  const configs = await imageConfigs(reader);
  // Provenance's platform first (linux/amd64 preferred), as image.labels reads the commit.
  const ordered = [...configs].sort((a, b) => Number(b.platform === 'linux/amd64') - Number(a.platform === 'linux/amd64'));
  const lkg = lastKnownGood ? { digest: lastKnownGood, ...(await commitRef(deps, release.service, lastKnownGood, reader.digest)) } : undefined;
  return evaluateChangeRecord({
    ...(svc.changeRecord ? { policy: svc.changeRecord } : {}),
    ...(svc.source ? { source: svc.source } : {}),
    digest: reader.digest,
    labels: ordered.map((c) => ({ ...(c.platform ? { platform: c.platform } : {}), labels: c.config.labels })),
    ...(inputId !== undefined ? { inputId } : {}),
    ...(lkg ? { lastKnownGood: lkg } : {}),
  });
}

async function commitRef(deps: Deps, service: string, lkg: string, digest: string): Promise<{ commit?: string }> {
  // The same digest as this release: the range is empty, its commit is this release's own (not read twice).
  if (lkg === digest) return {};
  const commit = await commitOfDigest(deps, service, lkg);
  return commit ? { commit } : {};
}

// ---------------------------------------------------------------- the stage's gates

/** Whole seconds from `now` to the scan wait's deadline, at least 1 (Step Functions' TimeoutSecondsPath needs a positive integer). */
export function scanTimeoutSeconds(until: string, now: Date): number {
  const ms = Date.parse(until) - now.getTime();
  return Number.isFinite(ms) ? Math.max(1, Math.ceil(ms / 1000)) : 1;
}

/**
 * WaitForImageScanEvent: store the task token against the image (the release digest, and each platform digest of a
 * multi-arch image: ECR scans those), then read the scan once more. A scan that ended between the gates' read and
 * this registration sent its event to no token: the registration completes the token itself. The token is
 * claimed exactly once (takeToken), so this check and scan-watch never both complete it.
 */
async function awaitScan(event: z.infer<typeof awaitScanSchema>, deps: Deps): Promise<AwaitScanOutput> {
  const events = await deps.ledger.events(event.releaseId);
  const release = await loadRelease(deps, event.releaseId, events);
  const { svc } = stageConfigOf(deps, release.service, event.stage);
  const registry = namingAwsCalls(deps.registry);
  const repository = svc.repository;
  const digest = release.digest;
  const now = deps.now();
  const waitEvent = events.find((ev) => ev.stepKey === stageStep.waiting(event.stage, 'scan'));
  const until = String(waitEvent?.data.until ?? new Date(now.getTime() + svc.imagePolicy.scanWaitMinutes * 60_000).toISOString());
  // Nothing to wait for, or the image cannot be read: let the gates' next run decide (and record why).
  const finish = async (why: string, registered: boolean) => {
    const token = registered ? await deps.ledger.takeToken('SCAN', event.releaseId, event.stage) : { token: event.taskToken };
    if (token) await deps.tasks.sendSuccess(token.token, { woken: 'registration', reason: why });
    return { registered, completed: why };
  };
  let reader: ImageReader | undefined;
  const digests: string[] = [];
  try {
    const image = digest ? await registry.describeImage(repository, { digest }) : undefined;
    if (!digest || !image) return await finish('the image is not there', false);
    reader = new ImageReader(registry, repository, digest, image);
    digests.push(digest, ...((await reader.isIndex()) ? (await reader.platforms()).map((d) => d.digest) : []));
  } catch (err) {
    if (!isAwsError(err) && !UNVERIFIABLE.has((err as Error).name)) throw err;
    return await finish(`the image could not be read: ${describeError(err)}`, false);
  }
  await deps.ledger.putToken({
    kind: 'SCAN',
    releaseId: event.releaseId,
    service: release.service,
    stage: event.stage,
    token: event.taskToken,
    alarms: digests.map((d) => scanIndexKey(repository, d)),
    createdAt: now.toISOString(),
    expiresAt: new Date(Date.parse(until) + 24 * 3600_000).toISOString(),
    attrs: { repository, digest, until },
  });
  // The race: the scan may have ended between the gates' read and the registration (its event found no token).
  try {
    const { scan } = await scanOf(registry, reader);
    const verdict = evaluateScan(svc.imagePolicy, scan, now, waitEvent ? new Date(waitEvent.at) : undefined);
    if (verdict.kind !== 'wait') return await finish(`scan ${scan.status} at registration`, true);
  } catch (err) {
    if (!isAwsError(err) && !UNVERIFIABLE.has((err as Error).name)) throw err;
    return await finish(`the scan could not be read at registration: ${describeError(err)}`, true);
  }
  return { registered: true };
}

export type AwaitScanOutput = { registered: boolean; completed?: string };

/** The gates (`{ releaseId, stage }`), or the scan wait's registration (`{ action: 'await-scan', taskToken, … }`). */
export function run(event: { action: 'await-scan'; taskToken: string; releaseId: string; stage: string }, deps: Deps): Promise<AwaitScanOutput>;
export function run(event: unknown, deps: Deps): Promise<ImageGatesOutput>;
export async function run(event: unknown, deps: Deps): Promise<ImageGatesOutput | AwaitScanOutput> {
  if (event !== null && typeof event === 'object' && (event as { action?: unknown }).action === 'await-scan') {
    return awaitScan(parseWith(awaitScanSchema, event, 'task input'), deps);
  }
  const e = parseWith(eventSchema, event, 'task input');
  const events = await deps.ledger.events(e.releaseId);
  const release = await loadRelease(deps, e.releaseId, events);
  const { svc } = stageConfigOf(deps, release.service, e.stage);
  // Every registry call below: an AWS error becomes the FAIL of the gate that made it (AwsCallError).
  const registry = namingAwsCalls(deps.registry);
  const policy = svc.imagePolicy;
  const repository = svc.repository;
  const now = deps.now();
  const gates: GateResult[] = [];
  // An operator rollback's target runs the same gates (a finding found since, a key revoked since), but not
  // image.age: a known good digest is old by nature. `--force` turns its failures into recorded WARNs.
  const rollback = release.kind === 'rollback';
  const force = rollback ? release.force : undefined;
  const failed = () => gates.some((g) => g.result === 'FAIL' && !force);

  // image.exists: the digest resolved at the start; a tag that moved since is recorded, not followed.
  let image: ImageDetail | undefined;
  try {
    image = release.digest ? await registry.describeImage(repository, { digest: release.digest }) : undefined;
    const tagNow = release.tag && image ? ((await registry.describeImage(repository, { tag: release.tag })) ?? null) : undefined;
    gates.push(evaluateImageExists(repository, release.digest, release.tag, image, tagNow));
  } catch (err) {
    image = undefined;
    gates.push(unverifiable('image.exists', 'the image', err));
  }
  const reader = release.digest && image ? new ImageReader(registry, repository, release.digest, image) : undefined;

  if (reader && !failed() && policy.requireImmutableTags) {
    gates.push(
      await guarded('image.immutable-tag', 'the repository tag setting', async () => {
        const settings = registry.repositoryTagSettings
          ? await registry.repositoryTagSettings(repository)
          : { mutability: await registry.tagMutability(repository), exclusionFilters: [] };
        return evaluateImmutableTag(repository, release.tag, settings);
      }),
    );
  }

  if (reader && !failed()) {
    let verdict: ScanVerdict;
    try {
      const { scan, platforms } = await scanOf(registry, reader);
      // The wait, if any, was recorded by an earlier run of these gates: the chain read above has it.
      const waitEvent = events.find((ev) => ev.stepKey === stageStep.waiting(e.stage, 'scan'));
      verdict = evaluateScan(policy, scan, now, waitEvent ? new Date(waitEvent.at) : undefined);
      if (verdict.kind === 'decided' && platforms) verdict = { kind: 'decided', gate: { ...verdict.gate, evidence: { ...(verdict.gate.evidence as object), platforms } } };
    } catch (err) {
      verdict = { kind: 'decided', gate: unverifiable('image.scan', 'the image scan', err) };
    }
    if (verdict.kind === 'wait') {
      const waiting = await record(
        deps,
        e.releaseId,
        stageStep.waiting(e.stage, 'scan'),
        'stage.waiting',
        { waitingFor: 'scan', reason: verdict.reason, until: new Date(now.getTime() + policy.scanWaitMinutes * 60_000).toISOString() },
        e.stage,
      );
      // A release's first wait in the stage waits for the scan's event (decision 040); a wait recorded before means
      // the event came and the scan was still unfinished (another platform, a late read): poll, bounded as before.
      if (!rollback && !waiting.duplicate) {
        return { verdict: 'WAIT_FOR_SCAN_EVENT', timeoutSeconds: scanTimeoutSeconds(String(waiting.data.until), now), reason: verdict.reason };
      }
      return { verdict: 'WAIT', waitSeconds: SCAN_POLL_SECONDS, reason: verdict.reason };
    }
    gates.push(verdict.gate);
  }

  if (reader && !failed() && policy.requireSignature) {
    gates.push(await guarded('image.signature', 'the image signature', () => signatureGate({ ...deps, registry }, reader, policy)));
  }
  if (reader && !failed() && policy.requiredLabels.length > 0) {
    gates.push(await guarded('image.labels', 'the image labels', () => labelsGate(reader, policy)));
  }
  if (reader && !failed() && policy.maxAgeDays !== undefined && !rollback) {
    const maxAgeDays = policy.maxAgeDays;
    gates.push(await guarded('image.age', 'the image age', async () => evaluateImageAge(maxAgeDays, image?.pushedAt, now)));
  }
  // change.record (decision 051): last of the image gates, so before any stage deploys; not for an operator rollback
  // (its target was released under its own change record).
  if (reader && !failed() && !rollback && (svc.changeRecord !== undefined || svc.source !== undefined)) {
    const started = events.find((ev) => ev.stepKey === stageStep.started(e.stage));
    const lkg = typeof started?.data.lastKnownGood === 'string' ? started.data.lastKnownGood : undefined;
    // The input's change id as prepare-release recorded it in release.started (validated there).
    const given = events.find((ev) => ev.type === 'release.started')?.data.changeRecord;
    const inputId = typeof given === 'string' ? given : undefined;
    gates.push(await guarded('change.record', 'the change record', () => changeRecordGate(deps, reader, svc, release, inputId, lkg)));
  }

  // Record in order, up to the first FAIL, in one ledger write; a retried task finds its gates already recorded
  // (in the chain read above, or by appendAll) and decides by what was stored.
  const recorded = new Map(events.filter((ev) => ev.type === 'gate.evaluated' && ev.stage === e.stage).map((ev) => [ev.stepKey, ev]));
  const plan: Array<{ stepKey: string; data: Record<string, unknown>; prior?: { at: string } }> = [];
  for (const found of gates) {
    const g: GateResult =
      force && found.result === 'FAIL'
        ? {
            ...found,
            result: 'WARN',
            reason: `FAIL overridden by --force (${release.initiator ?? 'unknown'}: ${force.reason}): ${found.reason}`,
            evidence: { overridden: { result: 'FAIL', reason: found.reason }, evidence: found.evidence ?? null },
          }
        : found;
    const stepKey = stageStep.gate(e.stage, g.gate);
    const prior = recorded.get(stepKey);
    const data = prior ? prior.data : { ...g, ...(g !== found ? { overridden: true } : {}) };
    plan.push({ stepKey, data, ...(prior ? { prior: { at: prior.at } } : {}) });
    if ((data as unknown as GateResult).result === 'FAIL') break;
  }
  const written = await recordAll(
    deps,
    e.releaseId,
    plan.filter((p) => !p.prior).map((p) => ({ stepKey: p.stepKey, type: 'gate.evaluated' as const, data: p.data, stage: e.stage })),
  );
  let overridden = false;
  let w = 0;
  for (const p of plan) {
    const r = p.prior ? { duplicate: true, at: p.prior.at, data: p.data } : (written[w++] as (typeof written)[number]);
    overridden ||= (r.data as { overridden?: boolean }).overridden === true;
    const stored = r.data as unknown as GateResult;
    if (stored.result === 'FAIL') {
      await announce(deps, r.duplicate, 'Stage Gate Failed', release, { stage: e.stage, status: 'BLOCKED', at: r.at, gate: stored.gate, reason: stored.reason });
      return { verdict: 'FAIL', reason: `${stored.gate}: ${stored.reason}` };
    }
  }
  return overridden ? { verdict: 'PASS', overridden: true } : { verdict: 'PASS' };
}

export const handler = lambdaHandler(run);

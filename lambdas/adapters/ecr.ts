/** ImageRegistry over Amazon ECR (AWS SDK v3). */
import {
  BatchGetImageCommand,
  type BatchGetImageCommandOutput,
  DescribeImageScanFindingsCommand,
  DescribeImageSigningStatusCommand,
  type DescribeImageSigningStatusCommandOutput,
  type DescribeImageScanFindingsCommandOutput,
  DescribeImagesCommand,
  type DescribeImagesCommandOutput,
  DescribeRepositoriesCommand,
  type DescribeRepositoriesCommandOutput,
  type ECRClient,
  GetDownloadUrlForLayerCommand,
  type GetDownloadUrlForLayerCommandOutput,
  type ImageIdentifier,
  ListImageReferrersCommand,
  type ListImageReferrersCommandOutput,
} from '@aws-sdk/client-ecr';
import { parseScanFindingsPage } from '../domain/image/findings';
import { ACCEPTED_MANIFEST_MEDIA_TYPES, sha256Digest } from '../domain/image/oci';
import type { ImageDetail, ImageManifestRecord, ImageReferrerRecord, ImageRegistry, ImageSigningStatusRecord, RepositoryTagSettings, ScanFinding, ScanResult } from '../ports';
import { isAwsError, NotFoundError, rethrow, TransientAwsError } from './errors';
import { KmsPublicKeys } from './kms';

/** DescribeImageScanFindings returns at most 1,000 findings a page. */
const FINDINGS_PAGE_SIZE = 1000;
/** A guard against a service that keeps returning a nextToken. */
const MAX_PAGES = 1000;
/** ListImageReferrers returns at most 50 referrers a page. */
const REFERRERS_PAGE_SIZE = 50;
/** BatchGetImage failure codes that mean "no such image" rather than "could not read it". */
const IMAGE_ABSENT_CODES = ['ImageNotFound', 'ImageTagDoesNotMatchDigest'];
/** BatchGetImage failure codes worth retrying. */
const IMAGE_TRANSIENT_CODES = ['UpstreamTooManyRequests', 'UpstreamUnavailable'];

/** A downloaded blob whose bytes do not hash to the digest it was asked for. Not retried. */
export class BlobDigestMismatchError extends Error {
  override readonly name = 'BlobDigestMismatchError';
}

/** BatchGetImage answered with a failure that is neither "absent" nor transient (KmsError, ImageInaccessible, …). */
export class ImageUnreadableError extends Error {
  override readonly name = 'ImageUnreadableError';
}

export interface EcrRegistryOptions {
  /** Downloads the pre-signed blob URL; the global fetch by default (tests inject one). */
  readonly fetch?: typeof fetch;
  /** Public halves of KMS signing keys; GetPublicKey through @aws-sdk/client-kms by default. */
  readonly kms?: KmsPublicKeys;
}

export class EcrRegistry implements ImageRegistry {
  private readonly fetchBlob: typeof fetch;
  private kms: KmsPublicKeys | undefined;

  constructor(
    private readonly client: ECRClient,
    options: EcrRegistryOptions = {},
  ) {
    this.fetchBlob = options.fetch ?? ((...args) => globalThis.fetch(...args));
    this.kms = options.kms;
  }

  async describeImage(repository: string, ref: { tag?: string; digest?: string }): Promise<ImageDetail | undefined> {
    // A digest names exactly one image; a tag can move. Prefer the digest when both are known.
    let imageId: ImageIdentifier;
    if (ref.digest) imageId = { imageDigest: ref.digest };
    else if (ref.tag) imageId = { imageTag: ref.tag };
    else throw new TypeError('describeImage needs a tag or a digest');

    let out: DescribeImagesCommandOutput;
    try {
      out = await this.client.send(new DescribeImagesCommand({ repositoryName: repository, imageIds: [imageId] }));
    } catch (e) {
      if (isAwsError(e, 'ImageNotFoundException', 'RepositoryNotFoundException')) return undefined;
      return rethrow(e);
    }
    const d = out.imageDetails?.[0];
    if (!d?.imageDigest) return undefined;
    return {
      repository: d.repositoryName ?? repository,
      digest: d.imageDigest,
      tags: d.imageTags ?? [],
      ...(d.imagePushedAt ? { pushedAt: toIso(d.imagePushedAt) } : {}),
      ...(d.imageManifestMediaType ? { manifestMediaType: d.imageManifestMediaType } : {}),
      ...(d.imageScanStatus?.status ? { scanStatus: d.imageScanStatus.status } : {}),
    };
  }

  /**
   * The repository's `imageTagMutability`, verbatim (IMMUTABLE, MUTABLE, IMMUTABLE_WITH_EXCLUSION,
   * MUTABLE_WITH_EXCLUSION). ECR's default, MUTABLE, when the field is absent.
   * @throws NotFoundError when the repository does not exist.
   */
  async tagMutability(repository: string): Promise<string> {
    return (await this.repositoryTagSettings(repository)).mutability;
  }

  /**
   * Every page of DescribeImageScanFindings, basic and enhanced findings normalised alike.
   * No scan → status NONE. IN_PROGRESS, FAILED, ACTIVE (enhanced, continuous) … are returned verbatim.
   * @throws NotFoundError when the image or the repository does not exist.
   */
  async scanFindings(repository: string, digest: string): Promise<ScanResult> {
    const findings: ScanFinding[] = [];
    let first: ReturnType<typeof parseScanFindingsPage> | undefined;
    let nextToken: string | undefined;
    let pages = 0;
    do {
      let page: DescribeImageScanFindingsCommandOutput;
      try {
        page = await this.client.send(
          new DescribeImageScanFindingsCommand({
            repositoryName: repository,
            imageId: { imageDigest: digest },
            maxResults: FINDINGS_PAGE_SIZE,
            ...(nextToken ? { nextToken } : {}),
          }),
        );
      } catch (e) {
        if (isAwsError(e, 'ScanNotFoundException')) return { status: 'NONE', findings: [] };
        if (isAwsError(e, 'ImageNotFoundException', 'RepositoryNotFoundException')) {
          throw new NotFoundError(`ECR image ${repository}@${digest} does not exist`, { cause: e });
        }
        return rethrow(e);
      }
      // Malformed pages are a ValidationError: the gate refuses, naming the problem.
      const parsed = parseScanFindingsPage(page);
      first ??= parsed;
      findings.push(...parsed.findings);
      nextToken = parsed.nextToken;
      pages += 1;
    } while (nextToken && pages < MAX_PAGES);
    if (nextToken) throw new Error(`DescribeImageScanFindings for ${repository}@${digest} returned more than ${MAX_PAGES} pages`);

    return {
      // Absent status is not COMPLETE: say so rather than guess.
      status: first?.status ?? 'UNKNOWN',
      ...(first?.description ? { description: first.description } : {}),
      ...(first?.completedAt ? { completedAt: first.completedAt } : {}),
      findings,
    };
  }

  /** DescribeRepositories with the exclusion filters. @throws NotFoundError when the repository does not exist. */
  async repositoryTagSettings(repository: string): Promise<RepositoryTagSettings> {
    let out: DescribeRepositoriesCommandOutput;
    try {
      out = await this.client.send(new DescribeRepositoriesCommand({ repositoryNames: [repository] }));
    } catch (e) {
      if (isAwsError(e, 'RepositoryNotFoundException')) throw new NotFoundError(`ECR repository ${repository} does not exist`, { cause: e });
      return rethrow(e);
    }
    const repo = out.repositories?.find((r) => r.repositoryName === repository) ?? out.repositories?.[0];
    if (!repo) throw new NotFoundError(`ECR repository ${repository} does not exist`);
    return {
      mutability: repo.imageTagMutability ?? 'MUTABLE',
      exclusionFilters: (repo.imageTagMutabilityExclusionFilters ?? []).map((f) => ({ filterType: f.filterType ?? 'WILDCARD', filter: f.filter ?? '' })),
    };
  }

  /**
   * BatchGetImage of one image, asking for every manifest and index media type so ECR returns the
   * document as pushed (an index stays an index). Undefined when the image or repository does not exist.
   */
  async imageManifest(repository: string, ref: { tag?: string; digest?: string }): Promise<ImageManifestRecord | undefined> {
    let imageId: ImageIdentifier;
    if (ref.digest) imageId = { imageDigest: ref.digest };
    else if (ref.tag) imageId = { imageTag: ref.tag };
    else throw new TypeError('imageManifest needs a tag or a digest');
    let out: BatchGetImageCommandOutput;
    try {
      out = await this.client.send(new BatchGetImageCommand({ repositoryName: repository, imageIds: [imageId], acceptedMediaTypes: [...ACCEPTED_MANIFEST_MEDIA_TYPES] }));
    } catch (e) {
      if (isAwsError(e, 'RepositoryNotFoundException', 'ImageNotFoundException')) return undefined;
      return rethrow(e);
    }
    const image = out.images?.find((i) => typeof i.imageManifest === 'string');
    if (image?.imageManifest) {
      const digest = image.imageId?.imageDigest ?? ref.digest;
      if (!digest) throw new ImageUnreadableError(`BatchGetImage returned ${repository}:${ref.tag} without a digest`);
      return { repository, digest, ...(image.imageManifestMediaType ? { mediaType: image.imageManifestMediaType } : {}), manifest: image.imageManifest };
    }
    const failure = out.failures?.[0];
    if (!failure || IMAGE_ABSENT_CODES.includes(failure.failureCode ?? '')) return undefined;
    const what = `${repository}${ref.digest ? `@${ref.digest}` : `:${ref.tag}`}`;
    if (IMAGE_TRANSIENT_CODES.includes(failure.failureCode ?? '')) {
      throw new TransientAwsError(failure.failureCode, `BatchGetImage ${what}: ${failure.failureCode}: ${failure.failureReason ?? ''}`);
    }
    throw new ImageUnreadableError(`BatchGetImage ${what} failed: ${failure.failureCode ?? 'unknown'}: ${failure.failureReason ?? 'no reason given'}`);
  }

  /**
   * A blob by digest: GetDownloadUrlForLayer (config blobs and signature payloads are layers to ECR),
   * then a download of the pre-signed URL, refused above `maxBytes` and checked against the digest.
   * @throws NotFoundError when the repository holds no such blob; BlobDigestMismatchError; TransientAwsError on a 5xx/429 download
   */
  async blob(repository: string, digest: string, maxBytes: number): Promise<Uint8Array> {
    let out: GetDownloadUrlForLayerCommandOutput;
    try {
      out = await this.client.send(new GetDownloadUrlForLayerCommand({ repositoryName: repository, layerDigest: digest }));
    } catch (e) {
      if (isAwsError(e, 'LayersNotFoundException', 'LayerInaccessibleException', 'RepositoryNotFoundException')) {
        throw new NotFoundError(`blob ${digest} is not in ECR repository ${repository}`, { cause: e });
      }
      return rethrow(e);
    }
    if (!out.downloadUrl) throw new NotFoundError(`GetDownloadUrlForLayer gave no URL for ${repository}@${digest}`);
    let res: Response;
    try {
      res = await this.fetchBlob(out.downloadUrl, { redirect: 'follow' });
    } catch (e) {
      // Network failures (reset, DNS, timeout) are worth a retry by the workflow.
      throw new TransientAwsError('BlobDownloadFailed', `downloading ${repository}@${digest} failed: ${(e as Error).message}`, { cause: e });
    }
    if (res.status === 429 || res.status >= 500) {
      throw new TransientAwsError('BlobDownloadFailed', `downloading ${repository}@${digest} failed: HTTP ${res.status}`, { httpStatusCode: res.status });
    }
    if (res.status === 404 || res.status === 403) throw new NotFoundError(`blob ${repository}@${digest} could not be downloaded: HTTP ${res.status}`);
    if (!res.ok) throw new Error(`downloading ${repository}@${digest} failed: HTTP ${res.status}`);
    const declared = Number(res.headers.get('content-length') ?? Number.NaN);
    if (Number.isFinite(declared) && declared > maxBytes) {
      throw new BlobDigestMismatchError(`blob ${repository}@${digest} is ${declared} bytes, more than the ${maxBytes} allowed`);
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.byteLength > maxBytes) throw new BlobDigestMismatchError(`blob ${repository}@${digest} is ${bytes.byteLength} bytes, more than the ${maxBytes} allowed`);
    const actual = sha256Digest(bytes);
    if (digest.startsWith('sha256:') && actual !== digest) {
      throw new BlobDigestMismatchError(`blob ${repository}@${digest} downloaded with digest ${actual}: its content is not what the manifest names`);
    }
    return bytes;
  }

  /** DescribeImageSigningStatus: ECR managed signing's status per Signer profile; [] when the image has none. */
  async signingStatuses(repository: string, digest: string): Promise<ImageSigningStatusRecord[]> {
    let out: DescribeImageSigningStatusCommandOutput;
    try {
      out = await this.client.send(new DescribeImageSigningStatusCommand({ repositoryName: repository, imageId: { imageDigest: digest } }));
    } catch (e) {
      if (isAwsError(e, 'ImageNotFoundException', 'RepositoryNotFoundException', 'SigningConfigurationNotFoundException')) return [];
      return rethrow(e);
    }
    return (out.signingStatuses ?? []).map((s) => ({
      ...(s.signingProfileArn ? { signingProfileArn: s.signingProfileArn } : {}),
      status: s.status ?? 'UNKNOWN',
      ...(s.failureCode ? { failureCode: s.failureCode } : {}),
      ...(s.failureReason ? { failureReason: s.failureReason } : {}),
    }));
  }

  /** ListImageReferrers of one artifact type, every page. */
  async referrers(repository: string, digest: string, artifactType: string): Promise<ImageReferrerRecord[]> {
    const out: ImageReferrerRecord[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      let page: ListImageReferrersCommandOutput;
      try {
        page = await this.client.send(
          new ListImageReferrersCommand({
            repositoryName: repository,
            subjectId: { imageDigest: digest },
            filter: { artifactTypes: [artifactType] },
            maxResults: REFERRERS_PAGE_SIZE,
            ...(nextToken ? { nextToken } : {}),
          }),
        );
      } catch (e) {
        if (isAwsError(e, 'ImageNotFoundException', 'RepositoryNotFoundException')) return out;
        return rethrow(e);
      }
      for (const r of page.referrers ?? []) {
        if (!r.digest) continue;
        out.push({
          digest: r.digest,
          ...(r.mediaType ? { mediaType: r.mediaType } : {}),
          ...(r.artifactType ? { artifactType: r.artifactType } : {}),
          ...(r.annotations ? { annotations: r.annotations } : {}),
        });
      }
      nextToken = page.nextToken;
      pages += 1;
    } while (nextToken && pages < MAX_PAGES);
    return out;
  }

  /** KMS GetPublicKey, through the KMS adapter (created on first use). */
  signingPublicKey(keyArn: string): Promise<string> {
    this.kms ??= new KmsPublicKeys();
    return this.kms.publicKeyPem(keyArn);
  }
}

function toIso(d: Date): string {
  return d.toISOString();
}

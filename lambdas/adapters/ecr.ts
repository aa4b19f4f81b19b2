/** ImageRegistry over Amazon ECR (AWS SDK v3). */
import {
  DescribeImageScanFindingsCommand,
  type DescribeImageScanFindingsCommandOutput,
  DescribeImagesCommand,
  type DescribeImagesCommandOutput,
  DescribeRepositoriesCommand,
  type DescribeRepositoriesCommandOutput,
  type ECRClient,
  type EnhancedImageScanFinding,
  type ImageIdentifier,
  type ImageScanFinding,
} from '@aws-sdk/client-ecr';
import type { ImageDetail, ImageRegistry, ScanFinding, ScanResult } from '../ports';
import { isAwsError, NotFoundError, rethrow } from './errors';

/** DescribeImageScanFindings returns at most 1,000 findings a page. */
const FINDINGS_PAGE_SIZE = 1000;
/** A guard against a service that keeps returning a nextToken. */
const MAX_PAGES = 1000;

export class EcrRegistry implements ImageRegistry {
  constructor(private readonly client: ECRClient) {}

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
    let out: DescribeRepositoriesCommandOutput;
    try {
      out = await this.client.send(new DescribeRepositoriesCommand({ repositoryNames: [repository] }));
    } catch (e) {
      if (isAwsError(e, 'RepositoryNotFoundException')) throw new NotFoundError(`ECR repository ${repository} does not exist`, { cause: e });
      return rethrow(e);
    }
    const repo = out.repositories?.find((r) => r.repositoryName === repository) ?? out.repositories?.[0];
    if (!repo) throw new NotFoundError(`ECR repository ${repository} does not exist`);
    return repo.imageTagMutability ?? 'MUTABLE';
  }

  /**
   * Every page of DescribeImageScanFindings, basic and enhanced findings normalised alike.
   * No scan → status NONE. IN_PROGRESS, FAILED, ACTIVE (enhanced, continuous) … are returned verbatim.
   * @throws NotFoundError when the image or the repository does not exist.
   */
  async scanFindings(repository: string, digest: string): Promise<ScanResult> {
    const findings: ScanFinding[] = [];
    let first: DescribeImageScanFindingsCommandOutput | undefined;
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
      first ??= page;
      for (const f of page.imageScanFindings?.findings ?? []) findings.push(basicFinding(f));
      for (const f of page.imageScanFindings?.enhancedFindings ?? []) findings.push(enhancedFinding(f));
      nextToken = page.nextToken;
      pages += 1;
    } while (nextToken && pages < MAX_PAGES);
    if (nextToken) throw new Error(`DescribeImageScanFindings for ${repository}@${digest} returned more than ${MAX_PAGES} pages`);

    const completedAt = first?.imageScanFindings?.imageScanCompletedAt;
    const description = first?.imageScanStatus?.description;
    return {
      // Absent status is not COMPLETE: say so rather than guess.
      status: first?.imageScanStatus?.status ?? 'UNKNOWN',
      ...(description ? { description } : {}),
      ...(completedAt ? { completedAt: toIso(completedAt) } : {}),
      findings,
    };
  }
}

function basicFinding(f: ImageScanFinding): ScanFinding {
  const pkg = f.attributes?.find((a) => a.key === 'package_name')?.value;
  return {
    id: f.name ?? f.uri ?? 'UNKNOWN',
    severity: f.severity ?? 'UNDEFINED',
    ...(pkg ? { package: pkg } : {}),
  };
}

function enhancedFinding(f: EnhancedImageScanFinding): ScanFinding {
  const details = f.packageVulnerabilityDetails;
  const pkg = details?.vulnerablePackages?.[0]?.name;
  const exploit = yesNo(f.exploitAvailable, ['YES']);
  const fix = yesNo(f.fixAvailable, ['YES', 'PARTIAL']);
  return {
    id: details?.vulnerabilityId ?? f.title ?? f.findingArn ?? 'UNKNOWN',
    severity: f.severity ?? 'UNDEFINED',
    ...(pkg ? { package: pkg } : {}),
    ...(exploit === undefined ? {} : { exploitAvailable: exploit }),
    ...(fix === undefined ? {} : { fixAvailable: fix }),
  };
}

/** "YES"/"NO"/"PARTIAL" → boolean; anything else (absent, unknown) → undefined. */
function yesNo(value: string | undefined, truthy: readonly string[]): boolean | undefined {
  if (value === undefined) return undefined;
  const v = value.toUpperCase();
  if (truthy.includes(v)) return true;
  if (v === 'NO' || v === 'PARTIAL') return false;
  return undefined;
}

function toIso(d: Date): string {
  return d.toISOString();
}

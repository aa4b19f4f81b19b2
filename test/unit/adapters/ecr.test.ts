import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, it } from 'vitest';
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
  ECRClient,
  ECRServiceException,
  GetDownloadUrlForLayerCommand,
  ImageNotFoundException,
  LayersNotFoundException,
  ListImageReferrersCommand,
  RepositoryNotFoundException,
  ScanNotFoundException,
} from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { BlobDigestMismatchError, EcrRegistry, ImageUnreadableError } from '../../../lambdas/adapters/ecr';
import { NotFoundError, TransientAwsError } from '../../../lambdas/adapters/errors';
import { KmsPublicKeys } from '../../../lambdas/adapters/kms';
import { ACCEPTED_MANIFEST_MEDIA_TYPES, sha256Digest } from '../../../lambdas/domain/image/oci';
import { ValidationError } from '../../../lambdas/domain/validation';

// ---------------------------------------------------------------- real payloads

const SAMPLES = path.join(__dirname, '../../fixtures/aws-samples');
/** Timestamp fields: JSON carries epoch seconds (wire/CLI v1) or ISO strings (CLI v2); the SDK gives Date. */
const DATE_KEYS = new Set([
  'imagePushedAt',
  'imageScanCompletedAt',
  'vulnerabilitySourceUpdatedAt',
  'lastRecordedPullTime',
  'createdAt',
  'firstObservedAt',
  'lastObservedAt',
  'updatedAt',
]);
function sample<T>(file: string): T {
  return JSON.parse(readFileSync(path.join(SAMPLES, file), 'utf8'), (key, value) => {
    if (!DATE_KEYS.has(key)) return value;
    if (typeof value === 'number') return new Date(value * 1000);
    if (typeof value === 'string') return new Date(value);
    return value;
  }) as T;
}

const throttling = () => new ECRServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded' });

const DIGEST = 'sha256:74b2c688c700ec95a93e478cdb959737c148df3fbf5ea706abe0318726e885e6';

describe('EcrRegistry', () => {
  const client = new ECRClient({ region: 'eu-west-2' });
  const ecr = mockClient(client);
  const registry = new EcrRegistry(client);
  beforeEach(() => ecr.reset());

  describe('describeImage', () => {
    it('asks DescribeImages for the tag when only a tag is given', async () => {
      ecr.on(DescribeImagesCommand).resolves(sample<DescribeImagesCommandOutput>('ecr-describe-images-cli-v1.json'));

      await registry.describeImage('cluster-autoscaler', { tag: 'v1.13.6' });

      const calls = ecr.commandCalls(DescribeImagesCommand);
      assert.equal(calls.length, 1);
      assert.deepEqual(calls[0]?.args[0].input, { repositoryName: 'cluster-autoscaler', imageIds: [{ imageTag: 'v1.13.6' }] });
    });

    it('asks DescribeImages for the digest, and prefers it when a tag is given too', async () => {
      ecr.on(DescribeImagesCommand).resolves(sample<DescribeImagesCommandOutput>('ecr-describe-images-with-scan-summary.constructed.json'));

      await registry.describeImage('sample-repo', { tag: 'v1.13.6', digest: DIGEST });

      assert.deepEqual(ecr.commandCalls(DescribeImagesCommand)[0]?.args[0].input, { repositoryName: 'sample-repo', imageIds: [{ imageDigest: DIGEST }] });
    });

    it('maps the CLI sample, turning the push time into ISO UTC', async () => {
      ecr.on(DescribeImagesCommand).resolves(sample<DescribeImagesCommandOutput>('ecr-describe-images-cli-v1.json'));

      const image = await registry.describeImage('cluster-autoscaler', { tag: 'v1.13.6' });

      assert.deepEqual(image, {
        repository: 'cluster-autoscaler',
        digest: 'sha256:4a1c6567c38904384ebc64e35b7eeddd8451110c299e3368d2210066487d97e5',
        tags: ['v1.13.6'],
        pushedAt: '2019-08-06T21:51:15.000Z',
      });
    });

    it('keeps the manifest media type of an OCI artifact and converts an offset push time to UTC', async () => {
      ecr.on(DescribeImagesCommand).resolves(sample<DescribeImagesCommandOutput>('ecr-describe-images-oci-helm-artifact.json'));

      const image = await registry.describeImage('helm-test-chart', { tag: '0.1.0' });

      assert.equal(image?.manifestMediaType, 'application/vnd.oci.image.manifest.v1+json');
      assert.equal(image?.pushedAt, '2021-09-23T16:39:30.000Z');
    });

    it('reports the scan status that DescribeImages carries', async () => {
      ecr.on(DescribeImagesCommand).resolves(sample<DescribeImagesCommandOutput>('ecr-describe-images-with-scan-summary.constructed.json'));

      const image = await registry.describeImage('sample-repo', { digest: DIGEST });

      assert.deepEqual(image, {
        repository: 'sample-repo',
        digest: DIGEST,
        tags: ['v1.13.6'],
        pushedAt: '2020-01-24T04:09:05.000Z',
        manifestMediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        scanStatus: 'COMPLETE',
      });
    });

    it('returns undefined when the image does not exist', async () => {
      ecr.on(DescribeImagesCommand).rejects(new ImageNotFoundException({ message: 'The image requested does not exist', $metadata: {} }));

      assert.equal(await registry.describeImage('sample-repo', { tag: 'nope' }), undefined);
    });

    it('returns undefined when the repository does not exist', async () => {
      ecr.on(DescribeImagesCommand).rejects(new RepositoryNotFoundException({ message: 'The repository does not exist', $metadata: {} }));

      assert.equal(await registry.describeImage('nope', { tag: 'v1' }), undefined);
    });

    it('rejects a reference with neither tag nor digest without calling ECR', async () => {
      await assert.rejects(registry.describeImage('sample-repo', {}), TypeError);
      assert.equal(ecr.commandCalls(DescribeImagesCommand).length, 0);
    });

    it('rethrows throttling as an error named ThrottlingException that keeps the cause', async () => {
      const cause = throttling();
      ecr.on(DescribeImagesCommand).rejects(cause);

      await assert.rejects(
        registry.describeImage('sample-repo', { digest: DIGEST }),
        (e: unknown) => e instanceof TransientAwsError && e.name === 'ThrottlingException' && e.cause === cause,
      );
    });
  });

  describe('tagMutability', () => {
    it('asks DescribeRepositories for the one repository and returns its setting', async () => {
      ecr.on(DescribeRepositoriesCommand).resolves(sample<DescribeRepositoriesCommandOutput>('ecr-describe-repositories-full.constructed.json'));

      const mutability = await registry.tagMutability('testrepo');

      assert.equal(mutability, 'IMMUTABLE');
      assert.deepEqual(ecr.commandCalls(DescribeRepositoriesCommand)[0]?.args[0].input, { repositoryNames: ['testrepo'] });
    });

    it('returns IMMUTABLE_WITH_EXCLUSION verbatim', async () => {
      const out = sample<DescribeRepositoriesCommandOutput>('ecr-describe-repositories-full.constructed.json');
      const repo = { ...out.repositories?.[0], imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION' as const };
      ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repo] });

      assert.equal(await registry.tagMutability('testrepo'), 'IMMUTABLE_WITH_EXCLUSION');
    });

    it('reports ECR’s default MUTABLE when the repository carries no setting', async () => {
      ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [{ repositoryName: 'project-a/sample-repo' }] });

      assert.equal(await registry.tagMutability('project-a/sample-repo'), 'MUTABLE');
    });

    it('throws NotFoundError naming the repository when it does not exist', async () => {
      ecr.on(DescribeRepositoriesCommand).rejects(new RepositoryNotFoundException({ message: 'not found', $metadata: {} }));

      await assert.rejects(registry.tagMutability('ghost'), (e: unknown) => e instanceof NotFoundError && e.name === 'NotFoundError' && /ghost/.test(e.message));
    });
  });

  describe('scanFindings', () => {
    it('asks DescribeImageScanFindings for the digest with the largest page', async () => {
      ecr.on(DescribeImageScanFindingsCommand).resolves(sample<DescribeImageScanFindingsCommandOutput>('ecr-describe-image-scan-findings-basic.json'));

      await registry.scanFindings('sample-repo', DIGEST);

      assert.deepEqual(ecr.commandCalls(DescribeImageScanFindingsCommand)[0]?.args[0].input, {
        repositoryName: 'sample-repo',
        imageId: { imageDigest: DIGEST },
        maxResults: 1000,
      });
    });

    it('normalises a basic finding: CVE name as id, package from the package_name attribute', async () => {
      ecr.on(DescribeImageScanFindingsCommand).resolves(sample<DescribeImageScanFindingsCommandOutput>('ecr-describe-image-scan-findings-basic.json'));

      const scan = await registry.scanFindings('sample-repo', DIGEST);

      assert.deepEqual(scan, {
        status: 'COMPLETE',
        description: 'The scan was completed successfully.',
        completedAt: '2020-01-24T04:11:45.000Z',
        findings: [{ id: 'CVE-2019-5188', severity: 'MEDIUM', package: 'e2fsprogs' }],
      });
    });

    it('normalises enhanced findings, keeping UNTRIAGED and reading YES/NO flags as booleans', async () => {
      ecr.on(DescribeImageScanFindingsCommand).resolves(sample<DescribeImageScanFindingsCommandOutput>('ecr-describe-image-scan-findings-enhanced.json'));

      const scan = await registry.scanFindings('reponame', DIGEST);

      assert.equal(scan.status, 'COMPLETE');
      assert.deepEqual(scan.findings, [
        { id: 'CVE-2024-9681', severity: 'MEDIUM', package: 'curl', exploitAvailable: false, fixAvailable: false },
        { id: 'CVE-2025-24528', severity: 'UNTRIAGED', package: 'krb5', exploitAvailable: false, fixAvailable: false },
      ]);
    });

    it('reads fixAvailable YES and PARTIAL as true and exploitAvailable YES as true', async () => {
      const out = sample<DescribeImageScanFindingsCommandOutput>('ecr-describe-image-scan-findings-enhanced.json');
      const [a, b] = out.imageScanFindings?.enhancedFindings ?? [];
      out.imageScanFindings = {
        ...out.imageScanFindings,
        enhancedFindings: [
          { ...a, fixAvailable: 'YES', exploitAvailable: 'YES' },
          { ...b, fixAvailable: 'PARTIAL' },
        ],
      };
      ecr.on(DescribeImageScanFindingsCommand).resolves(out);

      const scan = await registry.scanFindings('reponame', DIGEST);

      assert.deepEqual(
        scan.findings.map((f) => [f.fixAvailable, f.exploitAvailable]),
        [
          [true, true],
          [true, false],
        ],
      );
    });

    it('follows nextToken across pages and merges basic and enhanced findings', async () => {
      const basic = sample<DescribeImageScanFindingsCommandOutput>('ecr-describe-image-scan-findings-basic.json');
      const enhanced = sample<DescribeImageScanFindingsCommandOutput>('ecr-describe-image-scan-findings-enhanced.json');
      ecr
        .on(DescribeImageScanFindingsCommand)
        .resolvesOnce({ ...basic, nextToken: 'page-2' })
        .resolvesOnce({ ...enhanced, nextToken: undefined });

      const scan = await registry.scanFindings('sample-repo', DIGEST);

      const calls = ecr.commandCalls(DescribeImageScanFindingsCommand);
      assert.equal(calls.length, 2);
      assert.equal(calls[0]?.args[0].input.nextToken, undefined);
      assert.deepEqual(calls[1]?.args[0].input, { repositoryName: 'sample-repo', imageId: { imageDigest: DIGEST }, maxResults: 1000, nextToken: 'page-2' });
      assert.deepEqual(
        scan.findings.map((f) => f.id),
        ['CVE-2019-5188', 'CVE-2024-9681', 'CVE-2025-24528'],
      );
    });

    it('reports NONE with no findings when the image was never scanned', async () => {
      ecr.on(DescribeImageScanFindingsCommand).rejects(new ScanNotFoundException({ message: 'scan not found', $metadata: {} }));

      assert.deepEqual(await registry.scanFindings('sample-repo', DIGEST), { status: 'NONE', findings: [] });
    });

    it('returns IN_PROGRESS verbatim with its description', async () => {
      ecr.on(DescribeImageScanFindingsCommand).resolves({
        repositoryName: 'sample-repo',
        imageId: { imageDigest: DIGEST },
        imageScanStatus: { status: 'IN_PROGRESS', description: 'The scan is in progress.' },
      });

      assert.deepEqual(await registry.scanFindings('sample-repo', DIGEST), { status: 'IN_PROGRESS', description: 'The scan is in progress.', findings: [] });
    });

    it('returns FAILED verbatim with its description', async () => {
      ecr.on(DescribeImageScanFindingsCommand).resolves({
        imageScanStatus: { status: 'FAILED', description: 'UnsupportedImageError: The operating system and/or package manager are not supported.' },
      });

      const scan = await registry.scanFindings('sample-repo', DIGEST);

      assert.equal(scan.status, 'FAILED');
      assert.match(scan.description ?? '', /^UnsupportedImageError/);
    });

    it('throws NotFoundError when the image does not exist', async () => {
      ecr.on(DescribeImageScanFindingsCommand).rejects(new ImageNotFoundException({ message: 'no image', $metadata: {} }));

      await assert.rejects(registry.scanFindings('sample-repo', DIGEST), NotFoundError);
    });

    it('rethrows throttling on a later page as ThrottlingException', async () => {
      ecr
        .on(DescribeImageScanFindingsCommand)
        .resolvesOnce({ ...sample<DescribeImageScanFindingsCommandOutput>('ecr-describe-image-scan-findings-basic.json'), nextToken: 'page-2' })
        .rejectsOnce(throttling());

      await assert.rejects(registry.scanFindings('sample-repo', DIGEST), { name: 'ThrottlingException' });
    });

    it('passes a non-transient error through unchanged', async () => {
      const denied = new ECRServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'no' });
      ecr.on(DescribeImageScanFindingsCommand).rejects(denied);

      await assert.rejects(registry.scanFindings('sample-repo', DIGEST), (e: unknown) => e === denied);
    });
  });

  describe('scanFindings on malformed pages', () => {
    it('throws ValidationError naming a finding that has no identifier', async () => {
      ecr.on(DescribeImageScanFindingsCommand).resolves({ imageScanStatus: { status: 'COMPLETE' }, imageScanFindings: { findings: [{ severity: 'CRITICAL' }] } });

      await assert.rejects(registry.scanFindings('sample-repo', DIGEST), (e: unknown) => e instanceof ValidationError && /findings\[0\]/.test(e.problems[0] ?? ''));
    });
  });

  describe('repositoryTagSettings', () => {
    it('returns the setting with its exclusion filters', async () => {
      const out = sample<DescribeRepositoriesCommandOutput>('ecr-describe-repositories-full.constructed.json');
      const repo = {
        ...out.repositories?.[0],
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION' as const,
        imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD' as const, filter: 'latest' }],
      };
      ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repo] });

      assert.deepEqual(await registry.repositoryTagSettings('testrepo'), {
        mutability: 'IMMUTABLE_WITH_EXCLUSION',
        exclusionFilters: [{ filterType: 'WILDCARD', filter: 'latest' }],
      });
    });

    it('reads the sample repository as IMMUTABLE with no filters', async () => {
      ecr.on(DescribeRepositoriesCommand).resolves(sample<DescribeRepositoriesCommandOutput>('ecr-describe-repositories-full.constructed.json'));

      assert.deepEqual(await registry.repositoryTagSettings('testrepo'), { mutability: 'IMMUTABLE', exclusionFilters: [] });
    });
  });

  describe('imageManifest', () => {
    it('asks BatchGetImage for the digest, accepting indexes and manifests, and returns the manifest string of the sample', async () => {
      ecr.on(BatchGetImageCommand).resolves(sample<BatchGetImageCommandOutput>('ecr-batch-get-image-docker-v2-manifest.json'));
      const digest = 'sha256:4a1c6567c38904384ebc64e35b7eeddd8451110c299e3368d2210066487d97e5';

      const rec = await registry.imageManifest('cluster-autoscaler', { digest });

      assert.deepEqual(ecr.commandCalls(BatchGetImageCommand)[0]?.args[0].input, {
        repositoryName: 'cluster-autoscaler',
        imageIds: [{ imageDigest: digest }],
        acceptedMediaTypes: [...ACCEPTED_MANIFEST_MEDIA_TYPES],
      });
      assert.equal(rec?.digest, digest);
      assert.match(rec?.manifest ?? '', /"digest": "sha256:6171c7451a50945f8ddd72f7732cc04d7a0d1f48138a426b2e64387fdeb834ed"/);
    });

    it('asks for a tag, such as a cosign signature tag, and takes the digest ECR answers with', async () => {
      const manifest = readFileSync(path.join(SAMPLES, 'cosign-signature-manifest.constructed.json'), 'utf8');
      ecr.on(BatchGetImageCommand).resolves({
        images: [{ imageId: { imageDigest: DIGEST, imageTag: 'sha256-abc.sig' }, imageManifest: manifest, imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json' }],
        failures: [],
      });

      const rec = await registry.imageManifest('sample-repo', { tag: 'sha256-abc.sig' });

      assert.deepEqual(ecr.commandCalls(BatchGetImageCommand)[0]?.args[0].input.imageIds, [{ imageTag: 'sha256-abc.sig' }]);
      assert.equal(rec?.digest, DIGEST);
      assert.equal(rec?.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    });

    it('returns undefined for an ImageNotFound failure and for a missing repository', async () => {
      ecr
        .on(BatchGetImageCommand)
        .resolvesOnce({ images: [], failures: [{ imageId: { imageTag: 'sha256-abc.sig' }, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' }] })
        .rejectsOnce(new RepositoryNotFoundException({ message: 'no repo', $metadata: {} }));

      assert.equal(await registry.imageManifest('sample-repo', { tag: 'sha256-abc.sig' }), undefined);
      assert.equal(await registry.imageManifest('ghost', { digest: DIGEST }), undefined);
    });

    it('throws a transient error for UpstreamTooManyRequests and ImageUnreadableError for KmsError', async () => {
      ecr
        .on(BatchGetImageCommand)
        .resolvesOnce({ failures: [{ failureCode: 'UpstreamTooManyRequests', failureReason: 'slow down' }] })
        .resolvesOnce({ failures: [{ failureCode: 'KmsError', failureReason: 'key disabled' }] });

      await assert.rejects(registry.imageManifest('sample-repo', { digest: DIGEST }), (e: unknown) => e instanceof TransientAwsError && e.name === 'UpstreamTooManyRequests');
      await assert.rejects(
        registry.imageManifest('sample-repo', { digest: DIGEST }),
        (e: unknown) => e instanceof ImageUnreadableError && /KmsError: key disabled/.test(e.message),
      );
    });
  });

  describe('blob', () => {
    const config = readFileSync(path.join(SAMPLES, 'oci-image-config-opencontainers-labels.constructed.json'));
    const configDigest = sha256Digest(config);
    const URL = 'https://prod-eu-west-2-starport-layer-bucket.s3.eu-west-2.amazonaws.com/presigned';
    const withFetch = (respond: () => Promise<Response>) => {
      const calls: string[] = [];
      const r = new EcrRegistry(client, {
        fetch: (async (url: string | URL | Request) => {
          calls.push(String(url));
          return respond();
        }) as typeof fetch,
      });
      return { r, calls };
    };

    it('asks GetDownloadUrlForLayer for the digest and downloads the pre-signed URL', async () => {
      ecr.on(GetDownloadUrlForLayerCommand).resolves({ downloadUrl: URL, layerDigest: configDigest });
      const { r, calls } = withFetch(async () => new Response(config));

      const bytes = await r.blob('payments-api', configDigest, 1024 * 1024);

      assert.deepEqual(ecr.commandCalls(GetDownloadUrlForLayerCommand)[0]?.args[0].input, { repositoryName: 'payments-api', layerDigest: configDigest });
      assert.deepEqual(calls, [URL]);
      assert.deepEqual(Buffer.from(bytes), config);
    });

    it('refuses bytes that do not hash to the digest asked for', async () => {
      ecr.on(GetDownloadUrlForLayerCommand).resolves({ downloadUrl: URL });
      const { r } = withFetch(async () => new Response('{"config": {"Labels": {}}}'));

      await assert.rejects(r.blob('payments-api', configDigest, 1024 * 1024), BlobDigestMismatchError);
    });

    it('refuses a blob larger than allowed without trusting its content', async () => {
      ecr.on(GetDownloadUrlForLayerCommand).resolves({ downloadUrl: URL });
      const { r } = withFetch(async () => new Response(config));

      await assert.rejects(r.blob('payments-api', configDigest, 10), (e: unknown) => e instanceof BlobDigestMismatchError && /more than the 10 allowed/.test(e.message));
    });

    it('throws NotFoundError when ECR holds no such layer', async () => {
      ecr.on(GetDownloadUrlForLayerCommand).rejects(new LayersNotFoundException({ message: 'no layer', $metadata: {} }));
      const { r, calls } = withFetch(async () => new Response(config));

      await assert.rejects(r.blob('payments-api', configDigest, 1024), NotFoundError);
      assert.equal(calls.length, 0);
    });

    it('treats a 503 or a network failure of the download as transient', async () => {
      ecr.on(GetDownloadUrlForLayerCommand).resolves({ downloadUrl: URL });
      const unavailable = withFetch(async () => new Response('busy', { status: 503 }));
      const reset = withFetch(async () => {
        throw new TypeError('fetch failed');
      });

      await assert.rejects(unavailable.r.blob('payments-api', configDigest, 1024), (e: unknown) => e instanceof TransientAwsError && e.httpStatusCode === 503);
      await assert.rejects(reset.r.blob('payments-api', configDigest, 1024), TransientAwsError);
    });
  });

  describe('signingStatuses', () => {
    it('maps the DescribeImageSigningStatus sample, one entry per Signer profile', async () => {
      ecr.on(DescribeImageSigningStatusCommand).resolves(sample<DescribeImageSigningStatusCommandOutput>('ecr-describe-image-signing-status.constructed.json'));

      const statuses = await registry.signingStatuses('testrepo', DIGEST);

      assert.deepEqual(statuses, [
        { signingProfileArn: 'arn:aws:signer:us-east-2:123456789012:/signing-profiles/ReleaseSigning', status: 'COMPLETE' },
        { signingProfileArn: 'arn:aws:signer:us-east-2:123456789012:/signing-profiles/AuditSigning', status: 'IN_PROGRESS' },
      ]);
      assert.deepEqual(ecr.commandCalls(DescribeImageSigningStatusCommand)[0]?.args[0].input, { repositoryName: 'testrepo', imageId: { imageDigest: DIGEST } });
    });

    it('returns [] for an image without managed signing', async () => {
      ecr.on(DescribeImageSigningStatusCommand).rejects(new ImageNotFoundException({ message: 'no', $metadata: {} }));

      assert.deepEqual(await registry.signingStatuses('testrepo', DIGEST), []);
    });
  });

  describe('referrers', () => {
    it('lists Notation signatures of a subject across pages', async () => {
      const notation = JSON.parse(readFileSync(path.join(SAMPLES, 'notation-signature-manifest-oci11-artifacttype.json'), 'utf8'));
      ecr
        .on(ListImageReferrersCommand)
        .resolvesOnce({
          referrers: [{ digest: DIGEST, mediaType: notation.mediaType, artifactType: notation.artifactType, size: 911, annotations: notation.annotations }],
          nextToken: 'p2',
        })
        .resolvesOnce({ referrers: [] });

      const found = await registry.referrers('sample-repo', notation.subject.digest, 'application/vnd.cncf.notary.signature');

      assert.equal(found.length, 1);
      assert.equal(found[0]?.artifactType, 'application/vnd.cncf.notary.signature');
      const calls = ecr.commandCalls(ListImageReferrersCommand);
      assert.equal(calls.length, 2);
      assert.deepEqual(calls[0]?.args[0].input, {
        repositoryName: 'sample-repo',
        subjectId: { imageDigest: notation.subject.digest },
        filter: { artifactTypes: ['application/vnd.cncf.notary.signature'] },
        maxResults: 50,
      });
      assert.equal(calls[1]?.args[0].input.nextToken, 'p2');
    });
  });

  describe('signingPublicKey', () => {
    it('asks the KMS adapter for the key’s public half', async () => {
      const asked: string[] = [];
      const kms = new KmsPublicKeys(async (keyId) => {
        asked.push(keyId);
        const { publicKey } = await import('node:crypto').then((c) => c.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }));
        return { KeyUsage: 'SIGN_VERIFY', PublicKey: publicKey.export({ type: 'spki', format: 'der' }) };
      });
      const arn = 'arn:aws:kms:eu-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

      const pem = await new EcrRegistry(client, { kms }).signingPublicKey(arn);

      assert.deepEqual(asked, [arn]);
      assert.match(pem, /^-----BEGIN PUBLIC KEY-----/);
    });
  });
});

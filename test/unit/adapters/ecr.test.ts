import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, it } from 'node:test';
import {
  DescribeImageScanFindingsCommand,
  type DescribeImageScanFindingsCommandOutput,
  DescribeImagesCommand,
  type DescribeImagesCommandOutput,
  DescribeRepositoriesCommand,
  type DescribeRepositoriesCommandOutput,
  ECRClient,
  ECRServiceException,
  ImageNotFoundException,
  RepositoryNotFoundException,
  ScanNotFoundException,
} from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { EcrRegistry } from '../../../lambdas/adapters/ecr';
import { NotFoundError, TransientAwsError } from '../../../lambdas/adapters/errors';

// ---------------------------------------------------------------- real payloads

const SAMPLES = path.join(__dirname, '../../../../shared/aws-samples');
/** Timestamp fields: JSON carries epoch seconds (wire/CLI v1) or ISO strings (CLI v2); the SDK gives Date. */
const DATE_KEYS = new Set(['imagePushedAt', 'imageScanCompletedAt', 'vulnerabilitySourceUpdatedAt', 'lastRecordedPullTime', 'createdAt', 'firstObservedAt', 'lastObservedAt', 'updatedAt']);
function sample<T>(file: string): T {
  return JSON.parse(readFileSync(path.join(SAMPLES, file), 'utf8'), (key, value) => {
    if (!DATE_KEYS.has(key)) return value;
    if (typeof value === 'number') return new Date(value * 1000);
    if (typeof value === 'string') return new Date(value);
    return value;
  }) as T;
}

const throttling = () =>
  new ECRServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded' });

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
      out.imageScanFindings = { ...out.imageScanFindings, enhancedFindings: [{ ...a, fixAvailable: 'YES', exploitAvailable: 'YES' }, { ...b, fixAvailable: 'PARTIAL' }] };
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
});

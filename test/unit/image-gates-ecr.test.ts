/**
 * The image gates over the real ECR adapter (EcrRegistry on an ECRClient mocked with aws-sdk-client-mock),
 * as AWS answers with Amazon Inspector enhanced scanning on: the request DescribeImageScanFindings is sent
 * with, Inspector-shaped findings counted against the policy, and an AccessDeniedException (what a role
 * without inspector2:ListFindings gets) that FAILs image.scan naming the call and the error instead of
 * failing the release with an internal error. The ledger is the real adapter on the in-memory DynamoDB.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, it } from 'vitest';
import { DescribeImageScanFindingsCommand, type DescribeImageScanFindingsCommandOutput, DescribeImagesCommand, ECRClient, ECRServiceException } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoLedger } from '../../lambdas/adapters/dynamo-ledger';
import { EcrRegistry } from '../../lambdas/adapters/ecr';
import { createLedgerTable } from '../../lambdas/adapters/ledger-table';
import { parseConfig } from '../../lambdas/domain/config';
import { run as imageGates } from '../../lambdas/image-gates';
import type { Deps, LifecycleEvent } from '../../lambdas/ports';
import { run as prepareRelease } from '../../lambdas/prepare-release';
import type { LocalDynamo } from '../../local/dynamo';
import { startMemoryDynamo } from '../../local/memory-dynamo';
import { ledgerOnlyDeps } from '../helpers/ledger-deps';

const ROOT = join(__dirname, '..', '..');
const DIGEST = `sha256:${'7'.repeat(64)}`;
const RELEASE = 'scanned-7777777777777777';
/** DescribeImageScanFindings with enhanced scanning (test/fixtures/aws-samples/SOURCES.md). */
const ENHANCED = JSON.parse(
  readFileSync(join(ROOT, 'test', 'fixtures', 'aws-samples', 'ecr-describe-image-scan-findings-enhanced.json'), 'utf8'),
) as DescribeImageScanFindingsCommandOutput;

/** One service whose only gates are image.exists and image.scan (no labels, signature, age or tag check). */
const config = parseConfig({
  services: {
    scanned: {
      repository: 'scanned-api',
      imagePolicy: { maxFindings: { CRITICAL: 0, HIGH: 0, MEDIUM: 0 } },
      stages: [{ name: 'dev', cluster: 'dev', namespace: 'scanned', deploy: { driver: 'helm', release: 'scanned', chart: 'repo/scanned', version: '1.0.0' } }],
    },
  },
  clusters: { dev: { name: 'dev-eks', region: 'eu-west-2' } },
});

let dynamo: LocalDynamo;
let tables = 0;
beforeAll(async () => {
  dynamo = await startMemoryDynamo();
});
afterAll(async () => {
  await dynamo?.close();
});

describe('image gates over the ECR adapter with enhanced scanning', () => {
  const client = new ECRClient({ region: 'eu-west-2', maxAttempts: 1 });
  const ecr = mockClient(client);
  beforeEach(() => {
    ecr.reset();
    // The shape of DescribeImages (ecr-describe-images-cli-v1.json), for this digest.
    ecr.on(DescribeImagesCommand).resolves({
      imageDetails: [
        {
          registryId: '111122223333',
          repositoryName: 'scanned-api',
          imageDigest: DIGEST,
          imageTags: ['v1.0.0'],
          imagePushedAt: new Date('2026-11-24T09:58:00Z'),
          imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
        },
      ],
    });
  });

  async function opened(): Promise<{ deps: Deps; published: LifecycleEvent[] }> {
    const tableName = `image-gates-ecr-${++tables}`;
    await createLedgerTable(dynamo.client, tableName);
    const published: LifecycleEvent[] = [];
    const deps: Deps = {
      ...ledgerOnlyDeps(config, new DynamoLedger({ client: dynamo.doc, tableName }), '2026-11-24T10:00:00Z'),
      registry: new EcrRegistry(client),
      bus: { publish: async (events) => void published.push(...events) },
    };
    await prepareRelease(
      {
        input: { service: 'scanned', image: { digest: DIGEST } },
        executionArn: `arn:aws:states:eu-west-2:111122223333:execution:gantry-release:${RELEASE}`,
        executionName: RELEASE,
      },
      deps,
    );
    return { deps, published };
  }

  it('asks DescribeImageScanFindings for the release digest, a page of 1,000 at a time', async () => {
    ecr.on(DescribeImageScanFindingsCommand).resolves(ENHANCED);
    const { deps } = await opened();

    await imageGates({ releaseId: RELEASE, stage: 'dev' }, deps);

    const calls = ecr.commandCalls(DescribeImageScanFindingsCommand);
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0]?.args[0].input, { repositoryName: 'scanned-api', imageId: { imageDigest: DIGEST }, maxResults: 1000 });
  });

  it('counts Inspector-shaped findings against the policy and names the one over the limit', async () => {
    ecr.on(DescribeImageScanFindingsCommand).resolves(ENHANCED);
    const { deps } = await opened();

    const out = await imageGates({ releaseId: RELEASE, stage: 'dev' }, deps);

    assert.deepEqual(out, { verdict: 'FAIL', reason: 'image.scan: 1 MEDIUM over limit 0: CVE-2024-9681' });
  });

  it('FAILs image.scan naming DescribeImageScanFindings and AccessDeniedException, publishes Stage Gate Failed, and throws nothing', async () => {
    const denied = new ECRServiceException({
      name: 'AccessDeniedException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
      message: 'User: arn:aws:sts::111122223333:assumed-role/gantry-image-gates/fn is not authorized to perform: inspector2:ListFindings',
    });
    ecr.on(DescribeImageScanFindingsCommand).rejects(denied);
    const { deps, published } = await opened();

    const out = await imageGates({ releaseId: RELEASE, stage: 'dev' }, deps);

    assert.deepEqual(out, {
      verdict: 'FAIL',
      reason:
        'image.scan: DescribeImageScanFindings failed: AccessDeniedException: User: arn:aws:sts::111122223333:assumed-role/gantry-image-gates/fn is not authorized to perform: inspector2:ListFindings',
    });
    const gate = (await deps.ledger.events(RELEASE)).find((e) => e.stepKey === 'stage:dev:gate:image.scan');
    assert.deepEqual(gate?.data.evidence, {
      error: 'AwsCallError',
      operation: 'DescribeImageScanFindings',
      awsError: 'AccessDeniedException',
      message: 'User: arn:aws:sts::111122223333:assumed-role/gantry-image-gates/fn is not authorized to perform: inspector2:ListFindings',
    });
    assert.deepEqual(
      published.filter((e) => e.detailType === 'Stage Gate Failed').map((e) => e.detail.gate),
      ['image.scan'],
    );
  });

  it('FAILs image.exists when DescribeImages is denied at the gate', async () => {
    const { deps } = await opened();
    ecr
      .on(DescribeImagesCommand)
      .rejects(
        new ECRServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'not authorized to perform: ecr:DescribeImages' }),
      );

    const out = await imageGates({ releaseId: RELEASE, stage: 'dev' }, deps);

    assert.deepEqual(out, { verdict: 'FAIL', reason: 'image.exists: DescribeImages failed: AccessDeniedException: not authorized to perform: ecr:DescribeImages' });
  });

  it('FAILs image.scan on a 5xx that outlived the SDK’s attempts, quoting a long message cut to 300 characters', async () => {
    ecr
      .on(DescribeImageScanFindingsCommand)
      .rejects(new ECRServiceException({ name: 'ServerException', $fault: 'server', $metadata: { httpStatusCode: 500 }, message: 'x'.repeat(1000) }));
    const { deps } = await opened();

    const out = await imageGates({ releaseId: RELEASE, stage: 'dev' }, deps);

    assert.equal(out.verdict, 'FAIL');
    assert.equal(out.reason, `image.scan: DescribeImageScanFindings failed: ServerException: ${'x'.repeat(297)}...`);
  });
});

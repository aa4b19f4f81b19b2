/**
 * The image-gates handler on its own: the local cloud's ECR behind a registry whose answers a test
 * can spoil, the real ledger adapter on the in-memory DynamoDB. What the registry cannot prove becomes a FAIL with
 * a reason, and so does an AWS error (after the SDK's retries); a bug is thrown; a retried task decides by what was recorded.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { DynamoLedger } from '../../lambdas/adapters/dynamo-ledger';
import { TransientAwsError } from '../../lambdas/adapters/errors';
import { createLedgerTable } from '../../lambdas/adapters/ledger-table';
import { configHash, parseConfig } from '../../lambdas/domain/config';
import { type ImageGatesOutput, RegistryCapabilityError, run as imageGates } from '../../lambdas/image-gates';
import { type Deps, type ImageRegistry, type LifecycleEvent, LOCAL_RUNTIME } from '../../lambdas/ports';
import { run as prepareRelease } from '../../lambdas/prepare-release';
import { VirtualClock } from '../../local/clock';
import { LocalCloud } from '../../local/cloud';
import type { LocalDynamo } from '../../local/dynamo';
import { startMemoryDynamo } from '../../local/memory-dynamo';
import { scenarioSchema } from '../../local/scenario';

const ROOT = join(__dirname, '..', '..');
const config = parseConfig(JSON.parse(readFileSync(join(ROOT, 'examples', 'gantry.config.json'), 'utf8')));
const T0 = new Date('2026-11-24T10:00:00Z');
const D2 = `sha256:${'2'.repeat(64)}`;
const RELEASE = 'payments-image-gates-test';

let dynamo: LocalDynamo;
let tables = 0;
beforeAll(async () => {
  dynamo = await startMemoryDynamo();
});
afterAll(async () => {
  await dynamo?.close();
});

interface Harness {
  deps: Deps;
  registry: ImageRegistry;
  published: LifecycleEvent[];
}

/** A release of payments-api:v1.4.2 opened by prepare-release; `spoil` replaces registry methods. */
async function opened(spoil: (cloud: LocalCloud) => Partial<ImageRegistry> = () => ({})): Promise<Harness> {
  const tableName = `image-gates-${++tables}`;
  await createLedgerTable(dynamo.client, tableName);
  const scenario = scenarioSchema.parse({
    name: 'image gates handler',
    config: 'gantry.config.json',
    clock: T0.toISOString(),
    ecr: { 'payments-api': { images: [{ digest: D2, tags: ['v1.4.2'], pushedAt: '2026-11-24T09:58:00Z', labels: { 'org.opencontainers.image.revision': '9f2c1e7' } }] } },
  });
  const cloud = new LocalCloud(scenario, new VirtualClock(T0));
  const overrides = spoil(cloud);
  const registry = new Proxy(cloud, {
    get: (target, prop, receiver) => (prop in overrides ? (overrides as Record<string | symbol, unknown>)[prop] : Reflect.get(target, prop, receiver)),
  }) as unknown as ImageRegistry;
  const published: LifecycleEvent[] = [];
  const deps: Deps = {
    config,
    configHash: configHash(config),
    ledger: new DynamoLedger({ client: dynamo.doc, tableName }),
    registry,
    alarms: cloud,
    tasks: cloud,
    timers: cloud,
    bus: { publish: async (events) => void published.push(...events) },
    executions: { start: async () => ({ executionArn: 'arn', alreadyExists: false }) },
    now: () => T0,
    runtime: LOCAL_RUNTIME,
  };
  await prepareRelease(
    { input: { service: 'payments', image: { tag: 'v1.4.2' } }, executionArn: `arn:aws:states:eu-west-2:111122223333:execution:gantry-release:${RELEASE}`, executionName: RELEASE },
    deps,
  );
  return { deps, registry, published };
}

async function gatesOf(h: Harness): Promise<string[]> {
  return (await h.deps.ledger.events(RELEASE)).filter((e) => e.type === 'gate.evaluated').map((e) => `${e.data.gate}:${e.data.result}`);
}

describe('image-gates handler', () => {
  it('passes the example policy’s gates in order and records each once', async () => {
    const h = await opened();

    const out = await imageGates({ releaseId: RELEASE, stage: 'dev' }, h.deps);

    assert.deepEqual(out, { verdict: 'PASS' });
    assert.deepEqual(await gatesOf(h), ['image.exists:PASS', 'image.immutable-tag:PASS', 'image.scan:PASS', 'image.labels:PASS', 'image.age:PASS']);
  });

  it('refuses a malformed manifest as an image.labels FAIL that names the problem, rather than crashing', async () => {
    const h = await opened((cloud) => ({
      imageManifest: async (repository, ref) => {
        const rec = await cloud.imageManifest(repository, ref);
        return rec && { ...rec, manifest: rec.manifest.replace('"schemaVersion":2', '"schemaVersion":1') };
      },
    }));

    const out = await imageGates({ releaseId: RELEASE, stage: 'dev' }, h.deps);

    assert.equal(out.verdict, 'FAIL');
    assert.match(out.reason ?? '', /^image\.labels: the image labels could not be verified: image manifest is invalid: schemaVersion: expected 2 \(Docker schema 1/);
    assert.deepEqual(h.published.map((e) => `${e.detailType} ${e.detail.gate}`).slice(-1), ['Stage Gate Failed image.labels']);
  });

  it('refuses malformed scan findings as an image.scan FAIL', async () => {
    const { ValidationError } = await import('../../lambdas/domain/validation');
    const h = await opened(() => ({
      scanFindings: async () => {
        throw new ValidationError('scan findings', ['imageScanFindings.findings[0]: expected a finding with a name or uri, got neither']);
      },
    }));

    const out = await imageGates({ releaseId: RELEASE, stage: 'dev' }, h.deps);

    assert.equal(out.verdict, 'FAIL');
    assert.match(out.reason ?? '', /^image\.scan: the image scan could not be verified: scan findings is invalid: imageScanFindings\.findings\[0\]/);
  });

  it('turns a throttle that outlived the SDK’s retries into the FAIL of the gate that met it, naming the call', async () => {
    const h = await opened(() => ({
      blob: async () => {
        throw new TransientAwsError('ThrottlingException', 'Rate exceeded');
      },
    }));

    const out = await imageGates({ releaseId: RELEASE, stage: 'dev' }, h.deps);

    assert.deepEqual(out, { verdict: 'FAIL', reason: 'image.labels: GetDownloadUrlForLayer failed: ThrottlingException: Rate exceeded' });
    assert.deepEqual(await gatesOf(h), ['image.exists:PASS', 'image.immutable-tag:PASS', 'image.scan:PASS', 'image.labels:FAIL']);
  });

  it('lets an error that is not AWS’s (a bug) reach the workflow as an internal error, recording nothing', async () => {
    const h = await opened(() => ({
      scanFindings: async () => {
        throw new TypeError('cannot read properties of undefined');
      },
    }));

    await assert.rejects(imageGates({ releaseId: RELEASE, stage: 'dev' }, h.deps), TypeError);
    assert.deepEqual(await gatesOf(h), []);
  });

  it('fails loudly when the registry adapter cannot read manifests at all', async () => {
    const h = await opened(() => ({ imageManifest: undefined }));

    await assert.rejects(imageGates({ releaseId: RELEASE, stage: 'dev' }, h.deps), RegistryCapabilityError);
  });

  it('decides a retried task by the gates already recorded, and records nothing twice', async () => {
    let mutability = 'MUTABLE';
    const h = await opened(() => ({ repositoryTagSettings: async () => ({ mutability, exclusionFilters: [] }) }));
    const first: ImageGatesOutput = await imageGates({ releaseId: RELEASE, stage: 'dev' }, h.deps);
    mutability = 'IMMUTABLE';

    const retried = await imageGates({ releaseId: RELEASE, stage: 'dev' }, h.deps);

    assert.equal(first.verdict, 'FAIL');
    assert.deepEqual(retried, first);
    assert.deepEqual(await gatesOf(h), ['image.exists:PASS', 'image.immutable-tag:FAIL']);
    assert.equal(h.published.filter((e) => e.detailType === 'Stage Gate Failed').length, 1);
  });
});

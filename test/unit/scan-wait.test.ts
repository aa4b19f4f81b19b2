/**
 * The event-driven scan wait (decision 040) handler by handler: image-gates' WAIT_FOR_SCAN_EVENT and its
 * registration (`action: 'await-scan'`), and scan-watch, with the real ledger adapter on the in-memory DynamoDB, the local
 * cloud's ECR behind a registry a test can spoil, and Step Functions' SendTaskSuccess through the real adapter
 * on a mocked SFN client (aws-sdk-client-mock): the request's shape, exactly once, and the token never logged.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, it } from 'vitest';
import { DynamoLedger } from '../../lambdas/adapters/dynamo-ledger';
import { createLedgerTable } from '../../lambdas/adapters/ledger-table';
import { SfnTaskTokens } from '../../lambdas/adapters/sfn';
import { configHash, parseConfig } from '../../lambdas/domain/config';
import { run as imageGates } from '../../lambdas/image-gates';
import { type Deps, type ImageRegistry, LOCAL_RUNTIME, type ScanResult } from '../../lambdas/ports';
import { run as prepareRelease } from '../../lambdas/prepare-release';
import { run as scanWatch } from '../../lambdas/scan-watch';
import { logger } from '../../lambdas/shared/middleware';
import { VirtualClock } from '../../local/clock';
import { LocalCloud } from '../../local/cloud';
import type { LocalDynamo } from '../../local/dynamo';
import { startMemoryDynamo } from '../../local/memory-dynamo';
import { scenarioSchema } from '../../local/scenario';

const ROOT = join(__dirname, '..', '..');
const SAMPLES = join(ROOT, 'test', 'fixtures', 'aws-samples');
const config = parseConfig(JSON.parse(readFileSync(join(ROOT, 'examples', 'gantry.config.json'), 'utf8')));
const T0 = new Date('2026-11-24T10:00:00Z');
const D2 = `sha256:${'2'.repeat(64)}`;
const D9 = `sha256:${'9'.repeat(64)}`;
const RELEASE = 'payments-scan-wait-test';
const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAf-scan-wait-token-secret';

const sfn = mockClient(SFNClient);
let dynamo: LocalDynamo;
let tables = 0;
beforeAll(async () => {
  dynamo = await startMemoryDynamo();
});
afterAll(async () => {
  await dynamo?.close();
  sfn.restore();
});
beforeEach(() => {
  sfn.reset();
  sfn.on(SendTaskSuccessCommand).resolves({});
});

interface Harness {
  deps: Deps;
  now: { at: Date };
  scans: ScanResult['status'][];
}

/** A release of payments-api:v1.4.2 (scan IN_PROGRESS) opened by prepare-release; `scans` are the statuses the next DescribeImageScanFindings calls answer. */
async function opened(scans: ScanResult['status'][] = []): Promise<Harness> {
  const tableName = `scan-wait-${++tables}`;
  await createLedgerTable(dynamo.client, tableName);
  const scenario = scenarioSchema.parse({
    name: 'scan wait handlers',
    config: 'gantry.config.json',
    clock: T0.toISOString(),
    ecr: {
      'payments-api': {
        images: [{ digest: D2, tags: ['v1.4.2'], pushedAt: '2026-11-24T09:58:00Z', labels: { 'org.opencontainers.image.revision': '9f2c1e7' }, scan: { status: 'IN_PROGRESS' } }],
      },
    },
  });
  const cloud = new LocalCloud(scenario, new VirtualClock(T0));
  const queue = [...scans];
  const overrides: Partial<ImageRegistry> = {
    scanFindings: async (repository, digest) => {
      const status = queue.shift();
      return status ? { status, findings: [] } : cloud.scanFindings(repository, digest);
    },
  };
  const registry = new Proxy(cloud, {
    get: (target, prop, receiver) => (prop in overrides ? (overrides as Record<string | symbol, unknown>)[prop] : Reflect.get(target, prop, receiver)),
  }) as unknown as ImageRegistry;
  const now = { at: T0 };
  const deps: Deps = {
    config,
    configHash: configHash(config),
    ledger: new DynamoLedger({ client: dynamo.doc, tableName }),
    registry,
    alarms: cloud,
    tasks: new SfnTaskTokens(new SFNClient({ region: 'eu-west-2' })),
    timers: cloud,
    bus: { publish: async () => undefined },
    executions: { start: async () => ({ executionArn: 'arn', alreadyExists: false }) },
    now: () => now.at,
    runtime: LOCAL_RUNTIME,
  };
  await prepareRelease(
    { input: { service: 'payments', image: { tag: 'v1.4.2' } }, executionArn: `arn:aws:states:eu-west-2:111122223333:execution:gantry-release:${RELEASE}`, executionName: RELEASE },
    deps,
  );
  return { deps, now, scans: queue };
}

type Json = Record<string, any>;
const sample = (name: string): Json => JSON.parse(readFileSync(join(SAMPLES, name), 'utf8'));

/** The basic-scan sample, about payments-api@digest. */
function ecrScanEvent(digest = D2, status = 'COMPLETE'): Json {
  const e = sample('ecr-image-scan-basic-complete.json');
  e.detail['repository-name'] = 'payments-api';
  e.detail['image-digest'] = digest;
  e.detail['scan-status'] = status;
  e.resources = ['arn:aws:ecr:us-east-1:123456789012:repository/payments-api'];
  return e;
}

const successes = () => sfn.commandCalls(SendTaskSuccessCommand).map((c) => c.args[0].input);

/** Every line the handlers log while `fn` runs, at DEBUG. */
async function logsOf(fn: () => Promise<unknown>): Promise<string> {
  const lines: string[] = [];
  const saved = { out: process.stdout.write, err: process.stderr.write };
  const level = logger.getLevelName();
  const writer = ((chunk: unknown) => void lines.push(String(chunk))) as unknown as typeof process.stdout.write;
  logger.setLogLevel('DEBUG');
  process.stdout.write = writer;
  process.stderr.write = writer;
  try {
    await fn();
  } finally {
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    logger.setLogLevel(level);
  }
  return lines.join('\n');
}

describe('image-gates: the scan wait', () => {
  it('answers WAIT_FOR_SCAN_EVENT the first time, with what is left of scanWaitMinutes as the timeout, and polls after a wake-up', async () => {
    const h = await opened();

    const first = await imageGates({ releaseId: RELEASE, stage: 'dev' }, h.deps);
    h.now.at = new Date(T0.getTime() + 4 * 60_000 + 500);
    const second = await imageGates({ releaseId: RELEASE, stage: 'dev' }, h.deps);

    assert.deepEqual(first, { verdict: 'WAIT_FOR_SCAN_EVENT', timeoutSeconds: 15 * 60, reason: 'scan IN_PROGRESS; waiting up to 15 minutes' });
    assert.deepEqual(second, { verdict: 'WAIT', waitSeconds: 30, reason: 'scan IN_PROGRESS; waiting up to 15 minutes' });
  });

  it('registers the token against the image and leaves it open while the scan runs', async () => {
    const h = await opened();
    await imageGates({ releaseId: RELEASE, stage: 'dev' }, h.deps);

    const out = await imageGates({ action: 'await-scan', taskToken: TOKEN, releaseId: RELEASE, stage: 'dev' }, h.deps);

    assert.deepEqual(out, { registered: true });
    const open = await h.deps.ledger.tokensForImageScan('payments-api', D2);
    assert.deepEqual(
      open.map((t) => [t.kind, t.releaseId, t.stage, t.token, t.attrs?.until]),
      [['SCAN', RELEASE, 'dev', TOKEN, '2026-11-24T10:15:00.000Z']],
    );
    assert.deepEqual(successes(), []);
  });

  it('completes the token itself when the scan ended between the gates’ read and the registration (the race)', async () => {
    const h = await opened(['IN_PROGRESS', 'COMPLETE']);
    const gates = await imageGates({ releaseId: RELEASE, stage: 'dev' }, h.deps);
    assert.equal(gates.verdict, 'WAIT_FOR_SCAN_EVENT');

    const out = await imageGates({ action: 'await-scan', taskToken: TOKEN, releaseId: RELEASE, stage: 'dev' }, h.deps);

    assert.deepEqual(out, { registered: true, completed: 'scan COMPLETE at registration' });
    assert.deepEqual(
      successes().map((s) => [s.taskToken, JSON.parse(s.output ?? 'null').woken]),
      [[TOKEN, 'registration']],
    );
    assert.deepEqual(await h.deps.ledger.tokensForImageScan('payments-api', D2), [], 'claimed: a late event finds nothing');
    // The event that follows finds no token and sends nothing more.
    assert.deepEqual(await scanWatch(ecrScanEvent(), h.deps), { woken: 0 });
    assert.equal(successes().length, 1);
  });

  it('refuses a registration without a task token, naming the field', async () => {
    const h = await opened();
    await assert.rejects(imageGates({ action: 'await-scan', releaseId: RELEASE, stage: 'dev' }, h.deps), /taskToken/);
  });
});

describe('scan-watch', () => {
  async function waiting(): Promise<Harness> {
    const h = await opened();
    await imageGates({ releaseId: RELEASE, stage: 'dev' }, h.deps);
    await imageGates({ action: 'await-scan', taskToken: TOKEN, releaseId: RELEASE, stage: 'dev' }, h.deps);
    return h;
  }

  it('sends the waiting task success once on an ECR Image Scan event (SendTaskSuccess shape), never logging the token', async () => {
    const h = await waiting();
    const event = ecrScanEvent();

    let out: unknown;
    const logs = await logsOf(async () => {
      out = await scanWatch(event, h.deps);
    });

    assert.deepEqual(out, { woken: 1 });
    const sent = successes();
    assert.equal(sent.length, 1);
    assert.deepEqual(Object.keys(sent[0] ?? {}).sort(), ['output', 'taskToken']);
    assert.equal(sent[0]?.taskToken, TOKEN);
    assert.deepEqual(JSON.parse(sent[0]?.output ?? 'null'), { woken: 'ecr-scan', scanStatus: 'COMPLETE', eventId: event.id });
    assert.match(logs, /scan wait woken/, 'the wake-up is logged');
    assert.ok(!logs.includes(TOKEN), 'the task token is not in any log line');
  });

  it('does nothing twice for a duplicated event', async () => {
    const h = await waiting();

    const outs = [await scanWatch(ecrScanEvent(), h.deps), await scanWatch(ecrScanEvent(), h.deps)];

    assert.deepEqual(outs, [{ woken: 1 }, { woken: 0 }]);
    assert.equal(successes().length, 1);
  });

  it('wakes the wait on a FAILED scan too (the final gates run FAILs it)', async () => {
    const h = await waiting();

    assert.deepEqual(await scanWatch(ecrScanEvent(D2, 'FAILED'), h.deps), { woken: 1 });
    assert.equal(JSON.parse(successes()[0]?.output ?? 'null').scanStatus, 'FAILED');
  });

  it('ignores an event for another digest, and an event that is not a scan event', async () => {
    const h = await waiting();

    assert.deepEqual(await scanWatch(ecrScanEvent(D9), h.deps), { woken: 0 });
    assert.deepEqual(await scanWatch(sample('ecr-image-action-push-success-tagged.json'), h.deps), { woken: 0 });
    assert.deepEqual(successes(), []);
    assert.equal((await h.deps.ledger.tokensForImageScan('payments-api', D2)).length, 1, 'still waiting');
  });

  it('wakes on Inspector’s Inspector2 Scan event, whose repository-name is the repository ARN', async () => {
    const h = await waiting();
    const event = sample('inspector2-scan-ecr-initial-scan-complete-2023.json');
    event.detail['repository-name'] = 'arn:aws:ecr:eu-west-2:111122223333:repository/payments-api';
    event.detail['image-digest'] = D2;

    assert.deepEqual(await scanWatch(event, h.deps), { woken: 1 });
    assert.equal(JSON.parse(successes()[0]?.output ?? 'null').woken, 'inspector-scan');
  });

  it('gives the claim back when SendTaskSuccess fails, so the retry of the event can finish', async () => {
    const h = await waiting();
    sfn.on(SendTaskSuccessCommand).rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: {} }));

    await assert.rejects(scanWatch(ecrScanEvent(), h.deps), /Rate exceeded/);
    assert.equal((await h.deps.ledger.tokensForImageScan('payments-api', D2)).length, 1);
    assert.deepEqual(await scanWatch(ecrScanEvent(), h.deps), { woken: 1 });
  });
});

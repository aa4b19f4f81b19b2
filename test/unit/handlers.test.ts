/**
 * Handler-level tests: the real `run` of each handler, the real DynamoDB ledger adapter on the in-memory DynamoDB,
 * and small in-memory fakes for every other port.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { DynamoLedger } from '../../lambdas/adapters/dynamo-ledger';
import { createLedgerTable } from '../../lambdas/adapters/ledger-table';
import { run as alarmWatch } from '../../lambdas/alarm-watch';
import { run as stageLease } from '../../lambdas/stage-lease';
import { run as bakeRegister } from '../../lambdas/bake-register';
import { run as bakeTimer } from '../../lambdas/bake-timer';
import { configHash, parseConfig } from '../../lambdas/domain/config';
import { projectRelease } from '../../lambdas/domain/ledger';
import { pushExecutionName, rollbackReason } from '../../lambdas/domain/release';
import { ValidationError } from '../../lambdas/domain/validation';
import { run as intake } from '../../lambdas/intake';
import {
  type AlarmReader,
  type AlarmState,
  type Deps,
  type EventPublisher,
  type Executions,
  type ImageDetail,
  type ImageRegistry,
  type LifecycleEvent,
  LOCAL_RUNTIME,
  type ScanResult,
  type TaskTokens,
  type Timers,
} from '../../lambdas/ports';
import { run as prepareRelease } from '../../lambdas/prepare-release';
import { bakeTimerName } from '../../lambdas/shared/bake';
import type { LocalDynamo } from '../../local/dynamo';
import { startMemoryDynamo } from '../../local/memory-dynamo';

const config = parseConfig(JSON.parse(readFileSync(join(__dirname, '../../examples/gantry.config.json'), 'utf8')));
const SAMPLES = join(__dirname, '../fixtures/aws-samples');
const T0 = new Date('2026-11-24T10:00:00.000Z');
const MINUTE = 60_000;
const digest = (c: string) => `sha256:${c.repeat(32)}`;

type Json = Record<string, unknown> & { detail: Record<string, unknown> };
function sample(name: string): Json {
  return JSON.parse(readFileSync(join(SAMPLES, name), 'utf8')) as Json;
}

// ---------------------------------------------------------------- fakes

class FakeRegistry implements ImageRegistry {
  readonly images: ImageDetail[] = [];
  readonly lookups: Array<{ repository: string; ref: { tag?: string; digest?: string } }> = [];
  add(repository: string, d: string, tags: string[]): void {
    this.images.push({ repository, digest: d, tags, pushedAt: T0.toISOString() });
  }
  async describeImage(repository: string, ref: { tag?: string; digest?: string }): Promise<ImageDetail | undefined> {
    this.lookups.push({ repository, ref });
    return this.images.find((i) => i.repository === repository && (ref.digest ? i.digest === ref.digest : ref.tag !== undefined && i.tags.includes(ref.tag)));
  }
  async tagMutability(): Promise<string> {
    return 'IMMUTABLE';
  }
  async scanFindings(): Promise<ScanResult> {
    return { status: 'COMPLETE', findings: [] };
  }
}

class FakeAlarms implements AlarmReader {
  readonly states = new Map<string, AlarmState['state']>();
  async describeAlarms(names: readonly string[]): Promise<AlarmState[]> {
    return names.flatMap((name) => {
      const state = this.states.get(name);
      return state ? [{ name, type: 'MetricAlarm' as const, state }] : [];
    });
  }
}

class FakeTaskTokens implements TaskTokens {
  readonly successes: Array<{ token: string; output: unknown }> = [];
  readonly failures: Array<{ token: string; error: string; cause: string }> = [];
  async sendSuccess(token: string, output: unknown): Promise<void> {
    this.successes.push({ token, output });
  }
  async sendFailure(token: string, error: string, cause: string): Promise<void> {
    this.failures.push({ token, error, cause });
  }
}

/** Step Functions StartExecution by name: a second start of a name finds it already there. */
class FakeExecutions implements Executions {
  /** The account and region of the samples' ECR events: intake starts releases only for pushes there. */
  readonly home = { account: '123456789012', region: 'us-west-2' };
  readonly calls: Array<{ name: string; input: unknown }> = [];
  private readonly existing = new Set<string>();
  async start(name: string, input: unknown): Promise<{ executionArn: string; alreadyExists: boolean }> {
    this.calls.push({ name, input });
    const alreadyExists = this.existing.has(name);
    this.existing.add(name);
    return { executionArn: `arn:aws:states:eu-west-2:111122223333:execution:gantry-release:${name}`, alreadyExists };
  }
  get created(): number {
    return this.existing.size;
  }
}

class FakeTimers implements Timers {
  readonly scheduled: Array<{ name: string; at: string; payload: Record<string, unknown> }> = [];
  readonly cancelled: string[] = [];
  async schedule(name: string, at: string, payload: Record<string, unknown>): Promise<void> {
    this.scheduled.push({ name, at, payload });
  }
  async cancel(name: string): Promise<void> {
    this.cancelled.push(name);
  }
}

class FakeBus implements EventPublisher {
  readonly published: LifecycleEvent[] = [];
  async publish(events: readonly LifecycleEvent[]): Promise<void> {
    this.published.push(...events);
  }
}

// ---------------------------------------------------------------- harness

let dynamo: LocalDynamo;
let tables = 0;

beforeAll(async () => {
  dynamo = await startMemoryDynamo();
});

afterAll(async () => {
  await dynamo?.close();
});

interface Harness {
  readonly deps: Deps;
  readonly ledger: DynamoLedger;
  readonly registry: FakeRegistry;
  readonly alarms: FakeAlarms;
  readonly tasks: FakeTaskTokens;
  readonly executions: FakeExecutions;
  readonly timers: FakeTimers;
  readonly bus: FakeBus;
  /** The handlers' clock; tests move it. */
  now: Date;
}

/** Fresh fakes and a fresh ledger table of its own, so no test sees another's items. */
async function harness(): Promise<Harness> {
  const tableName = `handlers-${++tables}`;
  await createLedgerTable(dynamo.client, tableName);
  const ledger = new DynamoLedger({ client: dynamo.doc, tableName });
  const h = {
    ledger,
    registry: new FakeRegistry(),
    alarms: new FakeAlarms(),
    tasks: new FakeTaskTokens(),
    executions: new FakeExecutions(),
    timers: new FakeTimers(),
    bus: new FakeBus(),
    now: T0,
  } as Omit<Harness, 'deps'> & { deps?: Deps };
  h.deps = {
    config,
    configHash: configHash(config),
    ledger,
    registry: h.registry,
    alarms: h.alarms,
    tasks: h.tasks,
    executions: h.executions,
    timers: h.timers,
    bus: h.bus,
    now: () => h.now,
    runtime: LOCAL_RUNTIME,
  };
  return h as Harness;
}

function pushEvent(repository: string, tag: string, d: string): Json {
  const e = sample('ecr-image-action-push-success-tagged.json');
  e.detail['repository-name'] = repository;
  e.detail['image-tag'] = tag;
  e.detail['image-digest'] = d;
  return e;
}

// ---------------------------------------------------------------- intake

describe('intake', () => {
  it('records a skip and starts nothing for a push to a repository no service owns', async () => {
    const h = await harness();
    const event = sample('ecr-image-action-push-success-tagged.json'); // my-repository-name:latest

    const result = await intake(event, h.deps);

    assert.deepEqual(result, { outcome: 'skipped', reason: 'repository my-repository-name belongs to no service' });
    assert.equal(h.executions.calls.length, 0);
    const skips = await h.ledger.listSkips();
    assert.deepEqual(
      skips.map((s) => `${s.repository}:${s.tag} ${s.reason}`),
      ['my-repository-name:latest repository my-repository-name belongs to no service'],
    );
  });

  it('records a skip naming the tagPattern, and starts nothing, for a tag the pattern does not match', async () => {
    const h = await harness();
    const d = digest('a1');

    const result = await intake(pushEvent('payments-api', 'latest', d), h.deps);

    const pattern = config.services.payments?.tagPattern as string;
    assert.deepEqual(result, { outcome: 'skipped', reason: `tag latest does not match ${pattern}` });
    assert.equal(h.executions.calls.length, 0);
    const skips = await h.ledger.listSkips();
    assert.equal(skips.length, 1);
    assert.equal(skips[0]?.digest, d);
    assert.ok(skips[0]?.reason.includes(pattern), `the skip names the pattern: ${skips[0]?.reason}`);
  });

  it('starts one release for a push delivered twice, under the same deterministic name both times', async () => {
    const h = await harness();
    const d = digest('b2');
    const event = pushEvent('payments-api', 'v1.4.2', d);

    const first = await intake(event, h.deps);
    const second = await intake(structuredClone(event), h.deps);

    const name = pushExecutionName('payments', d);
    assert.equal(first.outcome, 'started');
    assert.equal(second.outcome, 'duplicate');
    assert.deepEqual(
      h.executions.calls.map((c) => c.name),
      [name, name],
    );
    assert.equal(h.executions.created, 1);
    // What intake saw goes with the start (the Image Action names no pusher); no start record is written.
    assert.deepEqual(h.executions.calls[0]?.input, {
      service: 'payments',
      image: { digest: d },
      reason: 'ECR push payments-api:v1.4.2',
      intake: { source: 'ECR Image Action event', eventId: event.id, pusher: null },
    });
    assert.equal(await h.ledger.getInitiator(name), undefined);
    assert.deepEqual(await h.ledger.listSkips(), []);
  });

  it('attributes a pushed release to its pusher when the CloudTrail PutImage record arrives after the release started', async () => {
    const h = await harness();
    const d = digest('c3');
    const name = pushExecutionName('payments', d);
    h.registry.add('payments-api', d, ['v1.4.3']);
    await intake(pushEvent('payments-api', 'v1.4.3', d), h.deps);
    await prepareRelease({ input: h.executions.calls[0]?.input, executionArn: `arn:exec:${name}`, executionName: name }, h.deps);
    assert.match(projectRelease(await h.ledger.events(name))?.initiator ?? '', /^unattributed/);
    const trail = sample('ecr-cloudtrail-putimage-record.json') as unknown as Record<string, unknown>;
    const event = {
      version: '0',
      id: 'ct-1',
      'detail-type': 'AWS API Call via CloudTrail',
      source: 'aws.ecr',
      account: '123456789012',
      time: '2026-11-24T10:05:00Z',
      region: 'us-west-2',
      resources: [],
      detail: {
        ...trail,
        requestParameters: { repositoryName: 'payments-api', imageTag: 'v1.4.3' },
        responseElements: { image: { repositoryName: 'payments-api', imageId: { imageDigest: d, imageTag: 'v1.4.3' } } },
      },
    };

    const result = await intake(event, h.deps);

    assert.equal(result.outcome, 'duplicate');
    assert.equal(projectRelease(await h.ledger.events(name))?.initiator, 'arn:aws:sts::123456789012:user/Mary_Major');
    assert.equal(h.executions.created, 1);
  });

  it('starts nothing and records no skip for an ECR DELETE of an image a service owns', async () => {
    const h = await harness();
    const event = sample('ecr-image-action-delete.json');
    event.detail['repository-name'] = 'payments-api';
    event.detail['image-tag'] = 'v1.4.2';
    event.detail['image-digest'] = digest('d4');

    const result = await intake(event, h.deps);

    assert.equal(result.outcome, 'ignored');
    assert.equal(h.executions.calls.length, 0);
    assert.deepEqual(await h.ledger.listSkips(), []);
  });

  it('starts a release for the very same event when it is a PUSH (the DELETE test’s control)', async () => {
    const h = await harness();
    const event = sample('ecr-image-action-delete.json');
    event.detail['repository-name'] = 'payments-api';
    event.detail['image-tag'] = 'v1.4.2';
    event.detail['image-digest'] = digest('d4');
    event.detail['action-type'] = 'PUSH';

    const result = await intake(event, h.deps);

    assert.equal(result.outcome, 'started');
    assert.equal(h.executions.calls.length, 1);
  });
});

// ---------------------------------------------------------------- prepare-release

const RELEASE_ID = 'payments-5e5e5e5e5e5e5e5e';
const EXECUTION_ARN = `arn:aws:states:eu-west-2:111122223333:execution:gantry-release:${RELEASE_ID}`;
const RELEASED = digest('5e');

describe('prepare-release', () => {
  it('refuses a bad input with a ValidationError naming image.digest', async () => {
    const h = await harness();

    await assert.rejects(
      prepareRelease({ input: { service: 'payments', image: { digest: 'sha256:xyz' } }, executionArn: EXECUTION_ARN, executionName: RELEASE_ID }, h.deps),
      (e: unknown) => e instanceof ValidationError && e.problems.some((p) => p.startsWith('image.digest: ')),
    );
  });

  it('writes nothing to the ledger and announces nothing for a bad input', async () => {
    const h = await harness();

    await prepareRelease({ input: { service: 'payments', image: { digest: 'sha256:xyz' } }, executionArn: EXECUTION_ARN, executionName: RELEASE_ID }, h.deps).catch(
      () => undefined,
    );

    assert.deepEqual(await h.ledger.listReleases(), []);
    assert.deepEqual(await h.ledger.events(RELEASE_ID), []);
    assert.equal(h.bus.published.length, 0);
    assert.equal(h.registry.lookups.length, 0);
  });

  it('opens the release with the tag resolved to its digest once (the bad-input tests’ control)', async () => {
    const h = await harness();
    h.registry.add('payments-api', RELEASED, ['v1.4.2']);

    const prepared = await prepareRelease({ input: { service: 'payments', image: { tag: 'v1.4.2' } }, executionArn: EXECUTION_ARN, executionName: RELEASE_ID }, h.deps);

    assert.deepEqual(prepared, { releaseId: RELEASE_ID, service: 'payments', digest: RELEASED, tag: 'v1.4.2', stages: ['dev', 'staging', 'prod'], stageCount: 3 });
    assert.deepEqual(
      (await h.ledger.listReleases()).map((r) => `${r.releaseId} ${r.status} ${r.digest}`),
      [`${RELEASE_ID} RUNNING ${RELEASED}`],
    );
    assert.deepEqual(
      h.bus.published.map((e) => e.detailType),
      ['Release Started'],
    );
  });
});

// ---------------------------------------------------------------- bakes and the alarm watcher

const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAfake-bake-task-token-do-not-print';
const PROD_ALARMS = ['payments-prod-5xx', 'payments-prod-latency-p99'];

/** A release seeded by prepare-release and its prod bake registered by bake-register at T0. */
async function bakeInProgress(): Promise<Harness> {
  const h = await harness();
  h.registry.add('payments-api', RELEASED, ['v1.4.2']);
  for (const a of PROD_ALARMS) h.alarms.states.set(a, 'OK');
  await prepareRelease({ input: { service: 'payments', image: { tag: 'v1.4.2' } }, executionArn: EXECUTION_ARN, executionName: RELEASE_ID }, h.deps);
  // A bake runs under the stage's lease (bake-register stops a bake whose stage an operator rollback took).
  assert.equal((await stageLease({ action: 'acquire', releaseId: RELEASE_ID, stage: 'prod' }, h.deps)).acquired, true);
  const registered = await bakeRegister({ taskToken: TOKEN, releaseId: RELEASE_ID, stage: 'prod' }, h.deps);
  assert.deepEqual(registered, { registered: true });
  return h;
}

/** CloudWatch's Alarm State Change (real sample) for `alarm`, going into `state` at `at`. */
function alarmEvent(alarm: string, state: 'ALARM' | 'OK', at: Date): Json {
  const e = sample(state === 'ALARM' ? 'cloudwatch-alarm-state-change-metric-alarm-to-alarm.json' : 'cloudwatch-alarm-state-change-metric-alarm-back-to-ok.constructed.json');
  e.resources = [`arn:aws:cloudwatch:eu-west-2:111122223333:alarm:${alarm}`];
  e.time = at.toISOString().replace(/\.\d{3}Z$/, 'Z');
  e.detail.alarmName = alarm;
  (e.detail.state as Record<string, unknown>).timestamp = at.toISOString().replace('Z', '+0000');
  return e;
}

async function tokenStillOpen(h: Harness): Promise<boolean> {
  return (await h.ledger.tokensForAlarm('payments-prod-5xx')).some((t) => t.releaseId === RELEASE_ID && t.stage === 'prod');
}

describe('bake-register', () => {
  it('schedules the end of the bake at bake time, under the bake timer name', async () => {
    const h = await bakeInProgress();

    assert.deepEqual(h.timers.scheduled, [
      { name: bakeTimerName(RELEASE_ID, 'prod'), at: new Date(T0.getTime() + 30 * MINUTE).toISOString(), payload: { releaseId: RELEASE_ID, stage: 'prod' } },
    ]);
    assert.ok(await tokenStillOpen(h), 'the bake token is registered against the stage alarm');
  });

  it('creates no schedule for a zero-minute bake: it checks the alarms once and passes the bake at once', async () => {
    const h = await harness();
    const raw = JSON.parse(readFileSync(join(__dirname, '../../examples/gantry.config.json'), 'utf8'));
    raw.services.payments.stages[2].bakeMinutes = 0;
    const deps = { ...h.deps, config: parseConfig(raw) };
    h.registry.add('payments-api', RELEASED, ['v1.4.2']);
    for (const a of PROD_ALARMS) h.alarms.states.set(a, 'OK');
    await prepareRelease({ input: { service: 'payments', image: { tag: 'v1.4.2' } }, executionArn: EXECUTION_ARN, executionName: RELEASE_ID }, deps);
    await stageLease({ action: 'acquire', releaseId: RELEASE_ID, stage: 'prod' }, deps);

    const registered = await bakeRegister({ taskToken: TOKEN, releaseId: RELEASE_ID, stage: 'prod' }, deps);

    assert.deepEqual(registered, { registered: false });
    assert.deepEqual(h.timers.scheduled, [], 'no one-time schedule for a moment already past');
    assert.deepEqual(
      h.tasks.successes.map((x) => x.token),
      [TOKEN],
    );
    const bake = projectRelease(await h.ledger.events(RELEASE_ID))?.stages.find((s) => s.name === 'prod')?.bake;
    assert.equal(bake?.result, 'PASS');
  });

  it('keeps the task token out of the ledger events', async () => {
    const h = await bakeInProgress();

    const events = JSON.stringify(await h.ledger.events(RELEASE_ID));

    assert.ok(events.length > 0);
    assert.ok(!events.includes(TOKEN), 'no ledger event carries the bake task token');
  });
});

describe('alarm-watch', () => {
  it('fails a bake watching the alarm exactly once when the ALARM event is delivered twice', async () => {
    const h = await bakeInProgress();
    const event = alarmEvent('payments-prod-5xx', 'ALARM', new Date(T0.getTime() + 7 * MINUTE));
    h.now = new Date(T0.getTime() + 7 * MINUTE + 2_000);

    const first = await alarmWatch(event, h.deps);
    const second = await alarmWatch(structuredClone(event), h.deps);

    assert.deepEqual(first, { failedBakes: 1 });
    assert.deepEqual(second, { failedBakes: 0 });
    assert.equal(h.tasks.failures.length, 1);
    assert.equal(h.tasks.successes.length, 0);
    const failure = h.tasks.failures[0] as FakeTaskTokens['failures'][number];
    assert.equal(failure.error, 'AlarmBreached');
    assert.ok(failure.token === TOKEN, 'sendFailure was given the bake task token');
  });

  it('fails a bake exactly once when two deliveries of the ALARM event race', async () => {
    const h = await bakeInProgress();
    const event = alarmEvent('payments-prod-5xx', 'ALARM', new Date(T0.getTime() + 7 * MINUTE));

    const results = await Promise.all([alarmWatch(event, h.deps), alarmWatch(structuredClone(event), h.deps)]);

    assert.deepEqual(results.map((r) => r.failedBakes).sort(), [0, 1]);
    assert.equal(h.tasks.failures.length, 1);
  });

  it('hands the workflow a cause that reads as the alarm and the bake minute', async () => {
    const h = await bakeInProgress();
    const firedAt = new Date(T0.getTime() + 7 * MINUTE);

    await alarmWatch(alarmEvent('payments-prod-5xx', 'ALARM', firedAt), h.deps);

    const failure = h.tasks.failures[0] as FakeTaskTokens['failures'][number];
    const cause = JSON.parse(failure.cause) as Record<string, unknown>;
    assert.equal(cause.alarm, 'payments-prod-5xx');
    assert.equal(cause.bakeMinute, 7);
    assert.equal(cause.detectedAt, firedAt.toISOString());
    assert.deepEqual(rollbackReason({ Error: failure.error, Cause: failure.cause }, undefined, h.now.toISOString()), {
      reason: 'alarm payments-prod-5xx in ALARM at bake minute 7',
      detectedAt: firedAt.toISOString(),
    });
  });

  it('records the failed bake in the ledger and cancels the bake timer', async () => {
    const h = await bakeInProgress();

    await alarmWatch(alarmEvent('payments-prod-5xx', 'ALARM', new Date(T0.getTime() + 7 * MINUTE)), h.deps);

    const prod = projectRelease(await h.ledger.events(RELEASE_ID))?.stages.find((s) => s.name === 'prod');
    assert.equal(prod?.bake?.result, 'FAIL');
    assert.match(prod?.bake?.reason ?? '', /^alarm payments-prod-5xx in ALARM at bake minute 7/);
    assert.deepEqual(h.timers.cancelled, [bakeTimerName(RELEASE_ID, 'prod')]);
    assert.equal(await tokenStillOpen(h), false);
  });

  it('does nothing on an Alarm Configuration Change for a watched alarm', async () => {
    const h = await bakeInProgress();
    const event = sample('cloudwatch-alarm-config-change-composite-create.json');
    event.resources = ['arn:aws:cloudwatch:eu-west-2:111122223333:alarm:payments-prod-5xx'];
    event.detail.alarmName = 'payments-prod-5xx';

    const result = await alarmWatch(event, h.deps);

    assert.deepEqual(result, { failedBakes: 0 });
    assert.equal(h.tasks.failures.length, 0);
    assert.ok(await tokenStillOpen(h), 'the bake is still running');
  });

  it('does nothing on an OK event for a watched alarm', async () => {
    const h = await bakeInProgress();

    const result = await alarmWatch(alarmEvent('payments-prod-5xx', 'OK', new Date(T0.getTime() + 7 * MINUTE)), h.deps);

    assert.deepEqual(result, { failedBakes: 0 });
    assert.equal(h.tasks.failures.length, 0);
    assert.ok(await tokenStillOpen(h), 'the bake is still running');
  });

  it('does nothing on an ALARM event for an alarm no bake watches', async () => {
    const h = await bakeInProgress();

    const result = await alarmWatch(alarmEvent('payments-staging-5xx', 'ALARM', new Date(T0.getTime() + 7 * MINUTE)), h.deps);

    assert.deepEqual(result, { failedBakes: 0 });
    assert.equal(h.tasks.failures.length, 0);
    assert.ok(await tokenStillOpen(h), 'the bake is still running');
  });
});

describe('bake-timer', () => {
  it('passes a bake whose alarms stayed OK when its time is up', async () => {
    const h = await bakeInProgress();
    h.now = new Date(T0.getTime() + 30 * MINUTE);

    const result = await bakeTimer({ releaseId: RELEASE_ID, stage: 'prod' }, h.deps);

    assert.deepEqual(result, { ended: true, result: 'PASS' });
    assert.equal(h.tasks.successes.length, 1);
    assert.ok(h.tasks.successes[0]?.token === TOKEN, 'sendSuccess was given the bake task token');
  });

  it('does nothing when an alarm already failed the bake (the token is claimed)', async () => {
    const h = await bakeInProgress();
    await alarmWatch(alarmEvent('payments-prod-5xx', 'ALARM', new Date(T0.getTime() + 7 * MINUTE)), h.deps);
    h.alarms.states.set('payments-prod-5xx', 'OK');
    h.now = new Date(T0.getTime() + 30 * MINUTE);

    const result = await bakeTimer({ releaseId: RELEASE_ID, stage: 'prod' }, h.deps);

    assert.equal(result.ended, false);
    assert.equal(h.tasks.successes.length, 0);
    assert.equal(h.tasks.failures.length, 1);
    const bakeEnds = (await h.ledger.events(RELEASE_ID)).filter((e) => e.type === 'bake.finished');
    assert.equal(bakeEnds.length, 1);
  });
});

describe('phased bakes inside a stage (decision 047)', () => {
  const PHASE = { id: 'canary-1', minutes: 10, alarms: ['payments-prod-canary-5xx'] };
  const PHASE_TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAfake-phase-task-token';

  /** The prod stage's first phase baking (lease held), registered at T0. */
  async function phaseInProgress(): Promise<Harness> {
    const h = await harness();
    h.registry.add('payments-api', RELEASED, ['v1.4.2']);
    for (const a of [...PROD_ALARMS, ...PHASE.alarms]) h.alarms.states.set(a, 'OK');
    await prepareRelease({ input: { service: 'payments', image: { tag: 'v1.4.2' } }, executionArn: EXECUTION_ARN, executionName: RELEASE_ID }, h.deps);
    assert.equal((await stageLease({ action: 'acquire', releaseId: RELEASE_ID, stage: 'prod' }, h.deps)).acquired, true);
    assert.deepEqual(await bakeRegister({ taskToken: PHASE_TOKEN, releaseId: RELEASE_ID, stage: 'prod', phase: PHASE }, h.deps), { registered: true });
    return h;
  }

  it("bakes for the phase's minutes on the stage's alarms and its own, under a timer of its own", async () => {
    const h = await phaseInProgress();

    assert.deepEqual(h.timers.scheduled, [
      {
        name: bakeTimerName(RELEASE_ID, 'prod', 'canary-1'),
        at: new Date(T0.getTime() + 10 * MINUTE).toISOString(),
        payload: { releaseId: RELEASE_ID, stage: 'prod', phase: PHASE },
      },
    ]);
    assert.notEqual(bakeTimerName(RELEASE_ID, 'prod', 'canary-1'), bakeTimerName(RELEASE_ID, 'prod'));
    const started = (await h.ledger.events(RELEASE_ID)).find((e) => e.type === 'bake.started');
    assert.equal(started?.data.phase, 'canary-1');
    assert.deepEqual(started?.data.alarms, [...PROD_ALARMS, ...PHASE.alarms]);
    assert.equal(started?.data.bakeMinutes, 10);
    assert.ok(
      (await h.ledger.tokensForAlarm('payments-prod-canary-5xx')).some((t) => t.phase === 'canary-1'),
      "the phase's own alarm fails it",
    );
  });

  it("an ALARM on the phase's own alarm fails the phase, recorded with the phase, not as the stage's bake", async () => {
    const h = await phaseInProgress();

    const result = await alarmWatch(alarmEvent('payments-prod-canary-5xx', 'ALARM', new Date(T0.getTime() + 3 * MINUTE)), h.deps);

    assert.deepEqual(result, { failedBakes: 1 });
    assert.equal(h.tasks.failures[0]?.error, 'AlarmBreached');
    assert.equal(h.tasks.failures[0]?.token, PHASE_TOKEN);
    assert.deepEqual(h.timers.cancelled, [bakeTimerName(RELEASE_ID, 'prod', 'canary-1')]);
    const events = await h.ledger.events(RELEASE_ID);
    const finished = events.filter((e) => e.type === 'bake.finished');
    assert.deepEqual(
      finished.map((e) => [e.data.phase, e.data.result]),
      [['canary-1', 'FAIL']],
    );
    assert.equal(events.find((e) => e.type === 'gate.evaluated' && e.data.gate === 'bake')?.data.phase, 'canary-1');
    assert.equal(projectRelease(events)?.stages.find((s) => s.name === 'prod')?.bake, undefined, "the stage's own bake has not run");
  });

  it("a late timer of an earlier phase ends nothing: the next phase's bake stays open", async () => {
    const h = await phaseInProgress();
    h.now = new Date(T0.getTime() + 10 * MINUTE);
    assert.deepEqual(await bakeTimer({ releaseId: RELEASE_ID, stage: 'prod', phase: PHASE }, h.deps), { ended: true, result: 'PASS' });
    const next = { id: 'canary-2', minutes: 10 };
    assert.deepEqual(await bakeRegister({ taskToken: 'token-of-phase-2', releaseId: RELEASE_ID, stage: 'prod', phase: next }, h.deps), { registered: true });

    // Phase 1's timer delivered again (a scheduler retry) while phase 2 bakes.
    const late = await bakeTimer({ releaseId: RELEASE_ID, stage: 'prod', phase: PHASE }, h.deps);
    // And the stage's own timer name is not phase 2's either.
    const stageTimer = await bakeTimer({ releaseId: RELEASE_ID, stage: 'prod' }, h.deps);

    assert.equal(late.ended, false);
    assert.equal(stageTimer.ended, false);
    assert.deepEqual(
      h.tasks.successes.map((s) => s.token),
      [PHASE_TOKEN],
      'only phase 1 was ended',
    );
    assert.ok(
      (await h.ledger.tokensForAlarm('payments-prod-5xx')).some((t) => t.phase === 'canary-2'),
      'phase 2 still bakes',
    );
    h.now = new Date(T0.getTime() + 20 * MINUTE);
    assert.deepEqual(await bakeTimer({ releaseId: RELEASE_ID, stage: 'prod', phase: next }, h.deps), { ended: true, result: 'PASS' });
    const finished = (await h.ledger.events(RELEASE_ID)).filter((e) => e.type === 'bake.finished').map((e) => e.data.phase);
    assert.deepEqual(finished, ['canary-1', 'canary-2'], 'each phase recorded once, under its own step key');
  });

  it('refuses a phase id that could not be a step key or a schedule name', async () => {
    const h = await harness();
    await assert.rejects(
      bakeRegister({ taskToken: TOKEN, releaseId: RELEASE_ID, stage: 'prod', phase: { id: 'Canary 1:x', minutes: 5 } }, h.deps),
      (e: Error) => e instanceof ValidationError && /phase\.id/.test(e.message),
    );
  });
});

/**
 * The operator API's Lambda with API Gateway's IAM-auth proxy event, the real DynamoDB ledger adapter on
 * the in-memory DynamoDB and fakes for Step Functions: who it records, what it refuses, and that a refusal writes and
 * starts nothing.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, it } from 'vitest';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoLedger } from '../../lambdas/adapters/dynamo-ledger';
import { createLedgerTable } from '../../lambdas/adapters/ledger-table';
import { configHash, type GantryConfig, parseConfig } from '../../lambdas/domain/config';
import { OPERATOR_ROUTES, type OperatorRoute } from '../../lambdas/domain/operator-requests';
import { operatorExecutionName } from '../../lambdas/domain/release';
import { parseReleaseInput } from '../../lambdas/domain/release-input';
import { ValidationError } from '../../lambdas/domain/validation';
import { type OperatorDeps, run } from '../../lambdas/operator-api';
import type { Executions } from '../../lambdas/ports';
import { run as prepareRelease } from '../../lambdas/prepare-release';
import { type ApiResponse } from '../../lambdas/shared/api-gateway';
import { iamApiEvent } from '../../local/api-events';
import { logger } from '../../lambdas/shared/middleware';
import type { LocalDynamo } from '../../local/dynamo';
import { startMemoryDynamo } from '../../local/memory-dynamo';

const T0 = new Date('2026-11-24T10:00:00.000Z');
const ALICE = 'arn:aws:sts::111122223333:assumed-role/Deployers/alice';
const CAROL = 'arn:aws:iam::111122223333:user/carol';
const D2 = `sha256:${'2'.repeat(64)}`;
const SAMPLE = join(__dirname, '..', 'fixtures', 'aws-samples', 'apigw-rest-lambda-proxy-event-iam-auth.constructed.json');

const config: GantryConfig = parseConfig(JSON.parse(readFileSync(join(__dirname, '../../examples/gantry.config.json'), 'utf8')), 'test config');

class FakeExecutions implements Executions {
  readonly started: Array<{ name: string; input: unknown }> = [];
  fail?: Error;
  constructor(private readonly machine: string) {}
  async start(name: string, input: unknown): Promise<{ executionArn: string; alreadyExists: boolean }> {
    if (this.fail) throw this.fail;
    const executionArn = `arn:aws:states:eu-west-2:111122223333:execution:gantry-${this.machine}:${name}`;
    if (this.started.some((s) => s.name === name)) return { executionArn, alreadyExists: true };
    this.started.push({ name, input });
    return { executionArn, alreadyExists: false };
  }
}

let dynamo: LocalDynamo;
let tableName: string;
let tables = 0;
let ledger: DynamoLedger;
let releases: FakeExecutions;
let rollbacks: FakeExecutions;

const deps = (): OperatorDeps =>
  ({
    config,
    configHash: configHash(config),
    ledger,
    now: () => T0,
    executions: releases,
    rollbacks,
    bus: { publish: async () => undefined },
    registry: { describeImage: async () => ({ repository: 'payments-api', digest: D2, tags: ['v1.4.2'] }) },
  }) as unknown as OperatorDeps;

function request(route: OperatorRoute, body: unknown, principal = ALICE, requestId = 'req-1') {
  const { method, resource } = OPERATOR_ROUTES[route];
  return iamApiEvent(principal, { method, resource, path: resource, body }, { at: T0, requestId });
}

const json = (r: ApiResponse) => JSON.parse(r.body) as Record<string, any>;

/** Every item in the ledger table. */
async function items(): Promise<Array<Record<string, unknown>>> {
  return ((await dynamo.doc.send(new ScanCommand({ TableName: tableName }))).Items ?? []) as Array<Record<string, unknown>>;
}

beforeAll(async () => {
  dynamo = await startMemoryDynamo();
});
afterAll(async () => {
  await dynamo.close();
});
beforeEach(async () => {
  // A fresh table per test (the in-memory DynamoDB).
  tableName = `operator-api-${++tables}`;
  await createLedgerTable(dynamo.client, tableName);
  ledger = new DynamoLedger({ client: dynamo.doc, tableName });
  releases = new FakeExecutions('release');
  rollbacks = new FakeExecutions('rollback');
});

describe('POST /releases', () => {
  it('writes the start record naming the caller, then starts the release workflow under that name with the input', async () => {
    const input = { service: 'payments', image: { tag: 'v1.4.2' }, reason: 'CHG-1' };

    const r = await run(request('startRelease', input), deps());

    assert.equal(r.statusCode, 200, r.body);
    const body = json(r);
    assert.equal(body.kind, 'release');
    assert.equal(body.principal, ALICE);
    assert.equal(body.releaseId, operatorExecutionName('payments', T0, 'req-1'));
    assert.match(body.releaseId, /^payments-20261124T100000Z-[0-9a-f]{6}$/);
    assert.deepEqual(releases.started, [{ name: body.releaseId, input }]);
    assert.equal(rollbacks.started.length, 0);
    assert.equal(await ledger.getInitiator(body.releaseId), ALICE);
    assert.equal(body.executionArn, `arn:aws:states:eu-west-2:111122223333:execution:gantry-release:${body.releaseId}`);
  });

  it('gives the workflow its initiator: the first state records the API caller', async () => {
    const r = json(await run(request('startRelease', { service: 'payments', image: { digest: D2 } }), deps()));

    const prepared = await prepareRelease({ input: releases.started[0]?.input, executionArn: r.executionArn, executionName: r.releaseId }, deps());

    assert.equal(prepared.releaseId, r.releaseId);
    const [started] = await ledger.events(r.releaseId);
    assert.equal(started?.data.initiator, ALICE);
  });

  it("names each request's release from API Gateway's request id: a replayed request finds it (409), another request gets its own", async () => {
    const input = { service: 'payments', image: { digest: D2 } };
    const first = json(await run(request('startRelease', input, ALICE, 'req-1'), deps()));

    const replay = await run(request('startRelease', input, ALICE, 'req-1'), deps());
    const other = json(await run(request('startRelease', input, ALICE, 'req-2'), deps()));

    assert.equal(replay.statusCode, 409);
    assert.equal(json(replay).releaseId, first.releaseId);
    assert.notEqual(other.releaseId, first.releaseId);
    assert.deepEqual(
      releases.started.map((s) => s.name),
      [first.releaseId, other.releaseId],
    );
  });

  it("refuses an input the workflow would refuse, with the workflow's own messages, and writes and starts nothing", async () => {
    const input = { service: 'payments', image: { digest: 'sha256:xyz' }, stages: ['prod'] };
    const expected = (() => {
      try {
        parseReleaseInput(input, config);
      } catch (e) {
        return (e as ValidationError).problems;
      }
      return [];
    })();

    const r = await run(request('startRelease', input), deps());

    assert.equal(r.statusCode, 400);
    assert.ok(expected.length >= 2);
    assert.deepEqual(json(r).problems, expected);
    assert.equal(json(r).message, 'the release input is invalid');
    assert.deepEqual(await items(), []);
    assert.equal(releases.started.length, 0);
  });

  it('takes the caller from the request context only: a body naming an initiator is refused', async () => {
    const r = await run(request('startRelease', { service: 'payments', image: { digest: D2 }, initiator: 'arn:aws:sts::111122223333:assumed-role/ReleaseApprovers/bob' }), deps());

    assert.equal(r.statusCode, 400);
    assert.match(json(r).problems.join('\n'), /initiator/);
    assert.deepEqual(await items(), []);
    assert.equal(releases.started.length, 0);
  });

  it('answers 403 to a request without an IAM caller, and writes nothing', async () => {
    const ev = request('startRelease', { service: 'payments', image: { digest: D2 } });
    (ev.requestContext.identity as { userArn: string | null }).userArn = null;

    const r = await run(ev, deps());

    assert.equal(r.statusCode, 403);
    assert.match(json(r).message, /no IAM caller/);
    assert.deepEqual(await items(), []);
  });

  it('answers 400 to a body that is not JSON, 405 to another method and 404 to another route', async () => {
    const notJson = { ...request('startRelease', {}), body: '{"service":' };
    const get = { ...request('startRelease', {}), httpMethod: 'GET' };
    const other = { ...request('startRelease', {}), resource: '/releases/{releaseId}' };

    assert.equal((await run(notJson, deps())).statusCode, 400);
    assert.deepEqual(json(await run(notJson, deps())).problems, ['body: expected a JSON object, got text that is not JSON']);
    assert.equal((await run(get, deps())).statusCode, 405);
    assert.equal((await run(other, deps())).statusCode, 404);
    assert.deepEqual(await items(), []);
  });

  it('answers 500 with the request id, and no stack trace, when Step Functions fails', async () => {
    releases.fail = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    const quiet = logger.error;
    logger.error = () => undefined;
    try {
      const r = await run(request('startRelease', { service: 'payments', image: { digest: D2 } }), deps());

      assert.equal(r.statusCode, 500);
      assert.deepEqual(json(r), { message: 'internal error: retrying is safe (a start that failed started nothing)', requestId: 'req-1' });
    } finally {
      logger.error = quiet;
    }
  });
});

describe('POST /rollbacks', () => {
  it("records the caller and starts the rollback workflow, named for the service's rollbacks", async () => {
    const input = { service: 'payments', stage: 'prod', digest: `sha256:${'1'.repeat(64)}`, reason: 'INC-5120' };

    const r = json(await run(request('startRollback', input, CAROL), deps()));

    assert.equal(r.kind, 'rollback');
    assert.equal(r.releaseId, operatorExecutionName('payments-rollback', T0, 'req-1'));
    assert.deepEqual(rollbacks.started, [{ name: r.releaseId, input }]);
    assert.equal(releases.started.length, 0);
    assert.equal(await ledger.getInitiator(r.releaseId), CAROL);
  });

  it('refuses a stage the service does not have, naming it, and starts nothing', async () => {
    const r = await run(request('startRollback', { service: 'payments', stage: 'qa' }), deps());

    assert.equal(r.statusCode, 400);
    assert.deepEqual(json(r).problems, ['stage: expected one of the stages of payments (dev, staging, prod), got "qa"']);
    assert.equal(rollbacks.started.length, 0);
  });
});

describe('PUT /freeze', () => {
  it('turns the freeze on and off, each change naming the caller', async () => {
    const on = await run(request('setFreeze', { state: 'on', reason: 'INC-5120 in progress' }, CAROL), deps());
    const afterOn = await ledger.getFreeze();
    const off = await run(request('setFreeze', { state: 'off', reason: 'over' }, ALICE, 'req-2'), deps());

    assert.equal(on.statusCode, 200);
    assert.deepEqual(json(on), { on: true, reason: 'INC-5120 in progress', principal: CAROL, at: T0.toISOString() });
    assert.deepEqual(afterOn, { on: true, reason: 'INC-5120 in progress', principal: CAROL, at: T0.toISOString() });
    assert.equal(off.statusCode, 200);
    assert.deepEqual(await ledger.getFreeze(), { on: false, reason: 'over', principal: ALICE, at: T0.toISOString() });
  });

  it('refuses a request naming its own principal, an unknown state or no reason, and changes nothing', async () => {
    const cases = [
      [{ state: 'on', reason: 'x', principal: CAROL }, /principal/],
      [{ state: 'maybe', reason: 'x' }, /^state: expected "on" or "off"/],
      [{ state: 'on', reason: '   ' }, /^reason: expected a non-empty reason of at most 500 characters/],
      [{ state: 'on' }, /^reason: /],
    ] as const;
    for (const [body, problem] of cases) {
      const r = await run(request('setFreeze', body), deps());

      assert.equal(r.statusCode, 400, JSON.stringify(body));
      assert.equal(json(r).message, 'the freeze request is invalid');
      assert.ok(
        json(r).problems.some((p: string) => problem.test(p)),
        `${JSON.stringify(body)}: ${json(r).problems.join('; ')}`,
      );
    }
    assert.deepEqual(await ledger.getFreeze(), { on: false });
  });
});

describe('the API Gateway event', () => {
  it('is built in the shape of the documented IAM-auth proxy event', () => {
    const sample = JSON.parse(readFileSync(SAMPLE, 'utf8'));
    const built = request('setFreeze', { state: 'on', reason: 'x' }) as unknown as Record<string, any>;

    assert.deepEqual(Object.keys(built).sort(), Object.keys(sample).sort());
    for (const k of Object.keys(sample.requestContext)) assert.ok(k in built.requestContext, `requestContext.${k}`);
    for (const k of Object.keys(sample.requestContext.identity)) assert.ok(k in built.requestContext.identity, `requestContext.identity.${k}`);
    assert.equal(built.requestContext.identity.userArn, ALICE);
  });

  it("as API Gateway delivers it (the sample) sets the freeze for the sample's caller", async () => {
    const sample = JSON.parse(readFileSync(SAMPLE, 'utf8'));
    sample.resource = '/freeze';
    sample.path = '/freeze';
    sample.httpMethod = 'PUT';
    sample.body = JSON.stringify({ state: 'on', reason: 'from the sample' });

    const r = await run(sample, deps());

    assert.equal(r.statusCode, 200, r.body);
    assert.equal(json(r).principal, 'arn:aws:sts::123456789012:assumed-role/ReleaseOperator/release-operator-session');
    assert.equal((await ledger.getFreeze()).principal, 'arn:aws:sts::123456789012:assumed-role/ReleaseOperator/release-operator-session');
  });
});

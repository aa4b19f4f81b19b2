/**
 * POST /aborts (decision 053): the operator API's Lambda with API Gateway's IAM-auth proxy event, the real DynamoDB
 * ledger adapter on the in-memory DynamoDB and fakes for Step Functions' StopExecution. What it records (who and
 * why, once), which workflow it stops, and what it refuses without writing.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, it } from 'vitest';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoLedger } from '../../lambdas/adapters/dynamo-ledger';
import { createLedgerTable } from '../../lambdas/adapters/ledger-table';
import { configHash, type GantryConfig, parseConfig } from '../../lambdas/domain/config';
import { projectRelease } from '../../lambdas/domain/ledger';
import { ABORT_ERROR, OPERATOR_ROUTES, parseAbortRequest } from '../../lambdas/domain/operator-requests';
import { RELEASE_STEP } from '../../lambdas/domain/step-keys';
import { ValidationError } from '../../lambdas/domain/validation';
import { type OperatorDeps, run } from '../../lambdas/operator-api';
import type { ExecutionDescription, Executions, ExecutionStop } from '../../lambdas/ports';
import type { ApiResponse } from '../../lambdas/shared/api-gateway';
import { iamApiEvent } from '../../local/api-events';
import type { LocalDynamo } from '../../local/dynamo';
import { startMemoryDynamo } from '../../local/memory-dynamo';

const T0 = new Date('2026-11-24T10:00:00.000Z');
const CAROL = 'arn:aws:iam::111122223333:user/carol';
const D2 = `sha256:${'2'.repeat(64)}`;
const config: GantryConfig = parseConfig(JSON.parse(readFileSync(join(__dirname, '../../examples/gantry.config.json'), 'utf8')), 'test config');

/** StopExecution as Step Functions answers it: a RUNNING execution stops (ABORTED); a closed one stays as it ended. */
class FakeExecutions implements Executions {
  readonly stops: Array<{ name: string; error: string; cause: string }> = [];
  readonly status = new Map<string, ExecutionDescription['status']>();
  constructor(private readonly machine: string) {}
  async start(): Promise<{ executionArn: string; alreadyExists: boolean }> {
    throw new Error('not started here');
  }
  async stop(name: string, error: string, cause: string): Promise<ExecutionStop> {
    this.stops.push({ name, error, cause });
    const executionArn = `arn:aws:states:eu-west-2:111122223333:execution:gantry-${this.machine}:${name}`;
    const now = this.status.get(name);
    if (!now) return { executionArn, stopped: false };
    if (now === 'RUNNING') this.status.set(name, 'ABORTED');
    const after = this.status.get(name);
    return { executionArn, stopped: after === 'ABORTED', ...(after ? { status: after } : {}) };
  }
}

let dynamo: LocalDynamo;
let tables = 0;
let tableName: string;
let ledger: DynamoLedger;
let releases: FakeExecutions;
let rollbacks: FakeExecutions;
let drills: FakeExecutions;

const deps = (): OperatorDeps =>
  ({ config, configHash: configHash(config), ledger, now: () => T0, executions: releases, rollbacks, drills, bus: { publish: async () => undefined } }) as unknown as OperatorDeps;

function abort(body: unknown, principal = CAROL, requestId = 'req-1') {
  const { method, resource } = OPERATOR_ROUTES.abortRelease;
  return iamApiEvent(principal, { method, resource, path: resource, body }, { at: T0, requestId });
}
const json = (r: ApiResponse) => JSON.parse(r.body) as Record<string, any>;
const items = async () => ((await dynamo.doc.send(new ScanCommand({ TableName: tableName }))).Items ?? []).length;

/** A record as prepare-release (or rollback-prepare, drill-step) opens it, optionally closed. */
async function opened(releaseId: string, kind: 'release' | 'rollback' | 'drill', finished?: string): Promise<void> {
  await ledger.append({
    releaseId,
    stepKey: RELEASE_STEP.started,
    type: 'release.started',
    at: '2026-11-24T09:00:00.000Z',
    data: { kind, service: 'payments', digest: D2, stages: ['dev', 'staging'] },
  });
  if (finished)
    await ledger.append({ releaseId, stepKey: RELEASE_STEP.finished, type: 'release.finished', at: '2026-11-24T09:30:00.000Z', data: { status: finished, reason: 'done' } });
}

beforeAll(async () => {
  dynamo = await startMemoryDynamo();
});
afterAll(async () => {
  await dynamo.close();
});
beforeEach(async () => {
  tableName = `operator-abort-${++tables}`;
  await createLedgerTable(dynamo.client, tableName);
  ledger = new DynamoLedger({ client: dynamo.doc, tableName });
  releases = new FakeExecutions('release');
  rollbacks = new FakeExecutions('rollback');
  drills = new FakeExecutions('drill');
});

describe('POST /aborts', () => {
  it('records abort.requested naming the caller and the reason, then stops the release workflow execution: 200 ABORTING', async () => {
    await opened('payments-2222222222222222', 'release');
    releases.status.set('payments-2222222222222222', 'RUNNING');

    const r = await run(abort({ releaseId: 'payments-2222222222222222', reason: 'wrong digest (INC-7)' }), deps());

    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(json(r), {
      releaseId: 'payments-2222222222222222',
      kind: 'release',
      executionArn: 'arn:aws:states:eu-west-2:111122223333:execution:gantry-release:payments-2222222222222222',
      status: 'ABORTING',
      principal: CAROL,
      at: T0.toISOString(),
    });
    const events = await ledger.events('payments-2222222222222222');
    const requested = events.filter((e) => e.type === 'abort.requested');
    assert.equal(requested.length, 1);
    assert.deepEqual(
      { stepKey: requested[0]?.stepKey, by: requested[0]?.data.by, reason: requested[0]?.data.reason },
      {
        stepKey: 'release.abort-requested',
        by: CAROL,
        reason: 'wrong digest (INC-7)',
      },
    );
    assert.deepEqual(projectRelease(events)?.abort, { by: CAROL, reason: 'wrong digest (INC-7)', at: T0.toISOString() });
    // Recorded before the stop: the stop's cause says who and why, and carries no token.
    assert.deepEqual(releases.stops, [{ name: 'payments-2222222222222222', error: ABORT_ERROR, cause: JSON.stringify({ abortedBy: CAROL, reason: 'wrong digest (INC-7)' }) }]);
    assert.equal(rollbacks.stops.length + drills.stops.length, 0);
  });

  it('stops a rollback on the rollback workflow and a drill on the drill workflow, by the kind on record', async () => {
    await opened('payments-rollback-20261124T090000Z-abc123', 'rollback');
    rollbacks.status.set('payments-rollback-20261124T090000Z-abc123', 'RUNNING');
    await opened('payments-drill-20261124T090000Z-def456', 'drill');
    drills.status.set('payments-drill-20261124T090000Z-def456', 'RUNNING');

    const a = await run(abort({ releaseId: 'payments-rollback-20261124T090000Z-abc123', reason: 'stop it' }), deps());
    const b = await run(abort({ releaseId: 'payments-drill-20261124T090000Z-def456', reason: 'stop it' }, CAROL, 'req-2'), deps());

    assert.equal(a.statusCode, 200, a.body);
    assert.equal(json(a).kind, 'rollback');
    assert.match(json(a).executionArn, /:execution:gantry-rollback:payments-rollback-/);
    assert.equal(b.statusCode, 200, b.body);
    assert.equal(json(b).kind, 'drill');
    assert.deepEqual(
      [releases.stops.length, rollbacks.stops.map((s) => s.name), drills.stops.map((s) => s.name)],
      [0, ['payments-rollback-20261124T090000Z-abc123'], ['payments-drill-20261124T090000Z-def456']],
    );
  });

  it('records nothing twice for a replayed or repeated request: the first request stays the one on record', async () => {
    await opened('payments-2222222222222222', 'release');
    releases.status.set('payments-2222222222222222', 'RUNNING');
    await run(abort({ releaseId: 'payments-2222222222222222', reason: 'first' }), deps());
    const before = await items();

    const replay = await run(abort({ releaseId: 'payments-2222222222222222', reason: 'first' }), deps());
    const other = await run(abort({ releaseId: 'payments-2222222222222222', reason: 'second' }, 'arn:aws:iam::111122223333:user/dave', 'req-9'), deps());

    assert.equal(replay.statusCode, 200, replay.body);
    assert.equal(other.statusCode, 200, other.body);
    assert.deepEqual(json(other).requested, { by: CAROL, reason: 'first' });
    assert.equal(await items(), before, 'nothing written by the repeats');
    assert.equal((await ledger.events('payments-2222222222222222')).filter((e) => e.type === 'abort.requested').length, 1);
  });

  it('refuses a release that has ended with 409 and the words the CLI prints, and writes and stops nothing', async () => {
    await opened('payments-2222222222222222', 'release', 'SUCCEEDED');
    const before = await items();

    const r = await run(abort({ releaseId: 'payments-2222222222222222', reason: 'too late' }), deps());

    assert.equal(r.statusCode, 409);
    assert.deepEqual(json(r), {
      message: 'release payments-2222222222222222 already ended SUCCEEDED at 2026-11-24T09:30:00.000Z: nothing to abort',
      code: 'ReleaseFinished',
      releaseId: 'payments-2222222222222222',
      status: 'SUCCEEDED',
    });
    assert.equal(await items(), before);
    assert.equal(releases.stops.length, 0);
  });

  it('answers 404 for a release with no record, writing and stopping nothing', async () => {
    const r = await run(abort({ releaseId: 'payments-0000000000000000', reason: 'x' }), deps());

    assert.equal(r.statusCode, 404);
    assert.match(json(r).message, /no release payments-0000000000000000 on record/);
    assert.equal(await items(), 0);
    assert.equal(releases.stops.length, 0);
  });

  it('answers a named 409 when the execution had ended before the stop, keeping abort.requested as evidence of the attempt', async () => {
    await opened('payments-2222222222222222', 'release');
    releases.status.set('payments-2222222222222222', 'FAILED');
    await opened('payments-3333333333333333', 'release');

    const ended = await run(abort({ releaseId: 'payments-2222222222222222', reason: 'x' }), deps());
    const missing = await run(abort({ releaseId: 'payments-3333333333333333', reason: 'x' }), deps());

    assert.equal(ended.statusCode, 409);
    assert.equal(json(ended).code, 'ExecutionNotRunning');
    assert.equal(json(ended).status, 'FAILED');
    assert.match(json(ended).message, /it had ended FAILED/);
    assert.equal(missing.statusCode, 409);
    assert.equal(json(missing).code, 'ExecutionNotRunning');
    assert.match(json(missing).message, /no execution of that name/);
    for (const id of ['payments-2222222222222222', 'payments-3333333333333333']) {
      assert.equal((await ledger.events(id)).filter((e) => e.type === 'abort.requested').length, 1, id);
    }
  });

  it('refuses bad input with 400 naming the field, writing and stopping nothing', async () => {
    await opened('payments-2222222222222222', 'release');
    releases.status.set('payments-2222222222222222', 'RUNNING');
    const before = await items();
    const cases: Array<[unknown, RegExp]> = [
      [{ releaseId: 'payments-2222222222222222', reason: '' }, /^reason: expected a non-empty reason/],
      [{ releaseId: 'payments-2222222222222222', reason: 'x'.repeat(501) }, /^reason: expected a non-empty reason of at most 500/],
      [{ releaseId: 'payments-2222222222222222', reason: 'a\u0007b' }, /^reason: expected text without control characters/],
      [{ releaseId: 'payments-2222222222222222' }, /^reason: expected a non-empty reason/],
      [{ releaseId: '../etc/passwd', reason: 'x' }, /^releaseId: expected a release id/],
      [{ releaseId: 'a'.repeat(81), reason: 'x' }, /^releaseId: expected a release id/],
      [{ releaseId: 'payments-2222222222222222', reason: 'x', principal: CAROL }, /principal/],
      [[], /expected an abort request object/],
    ];
    for (const [body, problem] of cases) {
      const r = await run(abort(body), deps());
      assert.equal(r.statusCode, 400, JSON.stringify(body));
      assert.ok(
        (json(r).problems as string[]).some((p) => problem.test(p)),
        `${JSON.stringify(body)}: ${JSON.stringify(json(r).problems)}`,
      );
    }
    assert.equal(await items(), before);
    assert.equal(releases.stops.length, 0);
  });

  it('answers a named 503 StopFailed when StopExecution fails; a retry records nothing twice and stops the release', async () => {
    await opened('payments-2222222222222222', 'release');
    releases.status.set('payments-2222222222222222', 'RUNNING');
    const stop = releases.stop.bind(releases);
    releases.stop = async () => {
      throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
    };
    const failed = await run(abort({ releaseId: 'payments-2222222222222222', reason: 'bad digest' }), deps());
    assert.equal(failed.statusCode, 503);
    assert.equal(json(failed).code, 'StopFailed');
    assert.equal(json(failed).error, 'ThrottlingException');
    assert.match(json(failed).message, /the release goes on; run gantry abort again/);
    assert.equal(releases.status.get('payments-2222222222222222'), 'RUNNING');

    releases.stop = stop;
    const retried = await run(abort({ releaseId: 'payments-2222222222222222', reason: 'bad digest' }, CAROL, 'req-2'), deps());
    assert.equal(retried.statusCode, 200);
    assert.equal(json(retried).status, 'ABORTING');
    const requested = (await ledger.events('payments-2222222222222222')).filter((e) => e.type === 'abort.requested');
    assert.equal(requested.length, 1);
  });

  it('parses a good request and throws ValidationError (with its source) on a bad one', () => {
    assert.deepEqual(parseAbortRequest({ releaseId: 'payments-2222222222222222', reason: 'ok\nsecond line' }), {
      releaseId: 'payments-2222222222222222',
      reason: 'ok\nsecond line',
    });
    assert.throws(
      () => parseAbortRequest({ releaseId: 'x y', reason: 'ok' }),
      (e: unknown) => e instanceof ValidationError && e.source === 'abort request',
    );
  });
});

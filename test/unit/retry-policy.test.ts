/**
 * Retry only what is transient; a policy refusal is never retried — in the SDK-level classifier
 * (`isTransient`), in the local runtime's port retries (`withRetries`) and in the workflows' Retry blocks.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECRClient, ECRServiceException } from '@aws-sdk/client-ecr';
import { LAMBDA_TASK_RETRY_ERRORS, LeaseHeldError, POLICY_ERROR_NAMES, PolicyRefusedError, TransientAwsError, isTransient } from '../../lambdas/adapters/errors';
import { sdkClientConfig, withRetries } from '../../lambdas/adapters/retry';
import { Chaos } from '../../local/chaos';
import { VirtualClock } from '../../local/clock';
import { ValidationError } from '../../lambdas/domain/validation';
import { isLambdaTask } from '../../workflows/builder';

const DIR = join(__dirname, '..', '..', 'statemachines');
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.asl.json'));
type State = { Type?: string; Resource?: string; Retry?: Array<{ ErrorEquals: string[] }> };
const load = (f: string) => JSON.parse(readFileSync(join(DIR, f), 'utf8')) as { States: Record<string, State> };

const sdkError = (name: string, status: number) =>
  new ECRServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message: `${name} happened` });

describe('isTransient (the SDK standard retry classification)', () => {
  it('retries throttling, HTTP 429 and the 5xx the SDK retries', () => {
    assert.equal(isTransient(sdkError('ThrottlingException', 400)), true);
    assert.equal(isTransient(sdkError('ProvisionedThroughputExceededException', 400)), true);
    assert.equal(isTransient(sdkError('Whatever', 429)), true);
    for (const status of [500, 502, 503, 504]) assert.equal(isTransient(sdkError('InternalServerError', status)), true, String(status));
    assert.equal(isTransient(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })), true);
    assert.equal(isTransient(new TransientAwsError('ThrottlingException', 'spent')), true);
  });

  it('refuses every policy error, whatever shape it comes in', () => {
    for (const name of POLICY_ERROR_NAMES) {
      assert.equal(isTransient(sdkError(name, 400)), false, `${name} as an SDK error`);
      assert.equal(isTransient(Object.assign(new Error(name), { name })), false, `${name} as a plain error`);
    }
    assert.equal(isTransient(new ConditionalCheckFailedException({ message: 'lease held', $metadata: { httpStatusCode: 400 } })), false);
    assert.equal(isTransient(new ValidationError('task input', ['service: expected a string, got 1'])), false);
    assert.equal(isTransient(new PolicyRefusedError('CRITICAL findings')), false);
    assert.equal(isTransient(new LeaseHeldError('held', 'other-release')), false);
  });

  it('does not retry a 501 or an unknown client error, as the SDK does not', () => {
    assert.equal(isTransient(sdkError('NotImplemented', 501)), false);
    assert.equal(isTransient(sdkError('AccessDeniedException', 403)), false);
    assert.equal(isTransient(undefined), false);
  });
});

describe('withRetries (the local runtime’s SDK retries)', () => {
  it('tries a throttled call again up to the SDK attempts and no further', async () => {
    let calls = 0;
    const port = withRetries(
      {
        async get() {
          calls++;
          throw sdkError('ThrottlingException', 400);
        },
      },
      { maxAttempts: 3 },
    );

    await assert.rejects(port.get(), { name: 'ThrottlingException' });
    assert.equal(calls, 3);
  });

  it('succeeds once the transient failures are over', async () => {
    let calls = 0;
    const port = withRetries(
      {
        async get() {
          calls++;
          if (calls < 3) throw sdkError('InternalServerError', 500);
          return 'ok';
        },
      },
      { maxAttempts: 3 },
    );

    assert.equal(await port.get(), 'ok');
    assert.equal(calls, 3);
  });

  it('never repeats a policy refusal', async () => {
    let calls = 0;
    const port = withRetries(
      {
        async put() {
          calls++;
          throw new ConditionalCheckFailedException({ message: 'held', $metadata: { httpStatusCode: 400 } });
        },
      },
      { maxAttempts: 3 },
    );

    await assert.rejects(port.put(), { name: 'ConditionalCheckFailedException' });
    assert.equal(calls, 1);
  });
});

describe('SDK client retry configuration', () => {
  it('states standard mode and the attempts of the installed SDK on every client', async () => {
    assert.deepEqual(sdkClientConfig('ecr'), { maxAttempts: 3, retryMode: 'standard' });
    assert.deepEqual(sdkClientConfig('dynamodb'), { maxAttempts: 4, retryMode: 'standard' });
    const ecr = new ECRClient({ region: 'eu-west-2', ...sdkClientConfig('ecr') });
    const ddb = new DynamoDBClient({ region: 'eu-west-2', ...sdkClientConfig('dynamodb') });
    assert.equal(await ecr.config.maxAttempts(), 3);
    assert.equal(await ddb.config.maxAttempts(), 4);
  });
});

describe('workflow Retry blocks', () => {
  for (const file of FILES) {
    it(`${file}: no Retry lists a policy error or States.ALL`, () => {
      const def = load(file);
      for (const [name, state] of Object.entries(def.States)) {
        for (const r of state.Retry ?? []) {
          for (const err of r.ErrorEquals) assert.ok(!(POLICY_ERROR_NAMES as readonly string[]).includes(err), `${name} retries ${err}`);
        }
      }
    });

    it(`${file}: every Lambda task retries exactly LAMBDA_TASK_RETRY_ERRORS (workflows/builder.ts LAMBDA_RETRY; npm run workflows)`, () => {
      const def = load(file);
      const lambdaTasks = Object.entries(def.States).filter(([, s]) => isLambdaTask(s));
      assert.ok(lambdaTasks.length > 0);
      for (const [name, state] of lambdaTasks) {
        assert.ok((state.Retry ?? []).length > 0, `${name} has a Retry`);
        for (const r of state.Retry ?? []) assert.deepEqual(r.ErrorEquals, [...LAMBDA_TASK_RETRY_ERRORS], name);
      }
    });
  }

  it('every name the Lambda task Retry lists is one isTransient accepts, a crashed function, or a ledger conflict', () => {
    for (const name of LAMBDA_TASK_RETRY_ERRORS) {
      const ok =
        name.startsWith('Lambda.') ||
        name === 'Runtime.ExitError' ||
        name === 'Sandbox.Timedout' ||
        name === 'LedgerConflictError' ||
        name === 'TransientAwsError' ||
        isTransient(Object.assign(new Error(name), { name }));
      assert.ok(ok, name);
    }
  });
});

describe('chaos mode faults (local/chaos.ts)', () => {
  it('fails each call its first N attempts, throttling then a 5xx, and then lets it through', () => {
    const chaos = new Chaos({ transientFailures: 3 }, new VirtualClock(new Date('2026-11-24T10:00:00Z')));

    const attempts = [1, 2, 3, 4].map(() => chaos.failure('ecr', 'DescribeImages', ['payments-api', { digest: 'sha256:1' }]));

    assert.deepEqual(
      attempts.map((e) => e && [e.name, e.$metadata.httpStatusCode]),
      [['ThrottlingException', 400], ['ServerException', 500], ['ThrottlingException', 400], undefined],
    );
    assert.ok(
      attempts.slice(0, 3).every((e) => isTransient(e)),
      'the SDK would retry every injected failure',
    );
    assert.ok(chaos.failure('ecr', 'DescribeImages', ['payments-api', { digest: 'sha256:2' }]), 'another request has its own count');
    assert.equal(chaos.stats.injected['ecr:DescribeImages'], 4);
  });

  it('injects nothing without transientFailures', () => {
    const chaos = new Chaos({}, new VirtualClock(new Date('2026-11-24T10:00:00Z')));

    assert.equal(chaos.failure('dynamodb', 'PutItem', '{}'), undefined);
    assert.equal(chaos.active, false);
  });
});

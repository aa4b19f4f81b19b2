import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { ECRServiceException } from '@aws-sdk/client-ecr';
import { optionalEnv, requireEnv } from '../../../lambdas/adapters/env';
import {
  ConfigError,
  EventPublishError,
  isTransientAwsError,
  LeaseHeldError,
  NotFoundError,
  PolicyRefusedError,
  rethrowTransient,
  TRANSIENT_ERROR_NAMES,
  TransientAwsError,
} from '../../../lambdas/adapters/errors';

const awsError = (name: string, status: number, fault: 'client' | 'server' = status >= 500 ? 'server' : 'client') =>
  new ECRServiceException({ name, $fault: fault, $metadata: { httpStatusCode: status }, message: `${name} happened` });

function thrownBy(f: () => void): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('error classes', () => {
  const cause = new Error('root');
  const cases: Array<[string, Error]> = [
    ['ConfigError', new ConfigError('m', { cause })],
    ['PolicyRefusedError', new PolicyRefusedError('m', 'CRITICAL findings', { cause })],
    ['LeaseHeldError', new LeaseHeldError('m', 'arn:exec', { cause })],
    ['NotFoundError', new NotFoundError('m', { cause })],
    ['EventPublishError', new EventPublishError([{ detailType: 'Release Started', errorCode: 'InternalFailure' }], 0, { cause })],
  ];
  for (const [name, error] of cases) {
    it(`${name} carries its own name and keeps its cause`, () => {
      assert.equal(error.name, name);
      assert.equal(error.cause, cause);
      assert.ok(error instanceof Error);
    });
  }
});

describe('rethrowTransient', () => {
  it('rethrows ThrottlingException under the same name, keeping the original as cause', () => {
    const original = awsError('ThrottlingException', 400);

    const e = thrownBy(() => rethrowTransient(original));

    assert.ok(e instanceof TransientAwsError);
    assert.equal(e.name, 'ThrottlingException');
    assert.equal(e.cause, original);
    assert.equal(e.message, 'ThrottlingException happened');
  });

  it('rethrows a 503 under its AWS name', () => {
    const e = thrownBy(() => rethrowTransient(awsError('ServiceUnavailableException', 503)));

    assert.ok(e instanceof TransientAwsError);
    assert.equal(e.name, 'ServiceUnavailableException');
    assert.equal(e.httpStatusCode, 503);
  });

  it('rethrows a 5xx with no usable name as TransientAwsError', () => {
    const e = thrownBy(() => rethrowTransient(awsError('Error', 502)));

    assert.ok(e instanceof TransientAwsError);
    assert.equal(e.name, 'TransientAwsError');
  });

  it('recognises a throttling name even without HTTP metadata', () => {
    assert.equal(isTransientAwsError(Object.assign(new Error('slow down'), { name: 'TooManyRequestsException' })), true);
  });

  it('returns normally for a client error that is not throttling', () => {
    assert.equal(
      thrownBy(() => rethrowTransient(awsError('AccessDeniedException', 403))),
      undefined,
    );
  });

  it('returns normally for an error that is not from AWS', () => {
    assert.equal(
      thrownBy(() => rethrowTransient(new TypeError('bug'))),
      undefined,
    );
  });

  it('lists ThrottlingException among the names a workflow Retry should match', () => {
    assert.ok(TRANSIENT_ERROR_NAMES.includes('ThrottlingException'));
    assert.ok(TRANSIENT_ERROR_NAMES.includes('TransientAwsError'));
  });
});

describe('requireEnv and optionalEnv', () => {
  it('requireEnv throws ConfigError naming the missing variable', () => {
    assert.throws(
      () => requireEnv('GANTRY_TEST_MISSING', {}),
      (e: unknown) => e instanceof ConfigError && e.message.includes('GANTRY_TEST_MISSING'),
    );
  });

  it('requireEnv treats an empty value as missing', () => {
    assert.throws(() => requireEnv('TABLE_NAME', { TABLE_NAME: ' ' }), ConfigError);
  });

  it('requireEnv returns a set value', () => {
    assert.equal(requireEnv('TABLE_NAME', { TABLE_NAME: 'gantry-ledger' }), 'gantry-ledger');
  });

  it('optionalEnv falls back when the variable is unset', () => {
    assert.equal(optionalEnv('GANTRY_TEST_MISSING', 'fallback', {}), 'fallback');
    assert.equal(optionalEnv('GANTRY_TEST_MISSING_TOO'), undefined);
  });
});

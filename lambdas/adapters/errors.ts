/**
 * Errors the handlers and workflows match by name. A task Lambda that throws one of these reports
 * its `name` as the Lambda error type, which is what an ASL `Retry`/`Catch` `ErrorEquals` matches.
 *
 * Retry only what is transient (throttling, 5xx): `rethrowTransient` turns those into a
 * TransientAwsError whose `name` is the AWS error name (e.g. `ThrottlingException`), and leaves every
 * other error to the caller.
 */

/** AWS error names that mean "slow down and try again" (throttling) in the services Gantry calls. */
export const THROTTLING_ERROR_NAMES = [
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceededException',
  'SlowDown',
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
  'PriorRequestNotComplete',
] as const;

/** AWS error names of server-side (5xx) faults, recognised even when no HTTP status is attached. */
export const SERVER_ERROR_NAMES = [
  'InternalServerError',
  'InternalServerException',
  'InternalFailure',
  'InternalError',
  'InternalException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'ServiceException',
  'ServiceFailure',
  'InternalServiceFault',
  'InternalServiceError',
  'ServerException',
] as const;

/** Every name `rethrowTransient` can produce for a known error: the list for an ASL `Retry.ErrorEquals`. */
export const TRANSIENT_ERROR_NAMES: readonly string[] = [
  ...THROTTLING_ERROR_NAMES,
  ...SERVER_ERROR_NAMES,
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'TransientAwsError',
];

/** Failures of the Lambda service itself (AWS's recommended Retry for Lambda tasks). */
export const LAMBDA_SERVICE_ERROR_NAMES = ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException'] as const;

/**
 * A function that died mid-invocation (out of memory, runtime exit, sandbox timeout). Every workflow
 * step is idempotent by its ledger step key, so running it again is safe.
 */
export const LAMBDA_CRASH_ERROR_NAMES = ['Lambda.Unknown', 'Runtime.ExitError', 'Sandbox.Timedout'] as const;

/**
 * `Retry.ErrorEquals` of every Lambda task in statemachines/*.asl.json, in this order
 * (test/unit/retry-policy.test.ts holds the files to it): the Lambda service's own failures, a crashed
 * function, AWS errors that stayed transient after the SDK's own retries, and a ledger append that lost
 * to concurrent writers. Never a policy refusal.
 */
export const LAMBDA_TASK_RETRY_ERRORS: readonly string[] = [...LAMBDA_SERVICE_ERROR_NAMES, ...LAMBDA_CRASH_ERROR_NAMES, ...TRANSIENT_ERROR_NAMES, 'LedgerConflictError'];

/**
 * Errors that are decisions, not faults: retrying them cannot change the answer, and a Retry that
 * listed one would repeat a refusal (or hide it). test/unit/retry-policy.test.ts checks that no
 * Retry lists any of these and that `isTransient` refuses every one.
 */
export const POLICY_ERROR_NAMES = [
  'ValidationError',
  'ValidationException',
  'ConditionalCheckFailedException',
  'PolicyRefusedError',
  'LeaseHeldError',
  'ConfigError',
  'NotFoundError',
  'ReleaseNotFoundError',
  'RollbackRefused',
  'ApprovalRejected',
  'AlarmBreached',
  'BakeFailed',
  'ReleaseNotSucceeded',
  'RollbackNotSucceeded',
  'AccessDeniedException',
  'States.ALL',
  'States.TaskFailed',
  'States.Timeout',
  'States.Runtime',
] as const;

/**
 * A throttling or server-side AWS error, safe to retry. Its `name` is the AWS error name
 * (`ThrottlingException`, `InternalServerException`, …) so a workflow's Retry can match it;
 * `TransientAwsError` only when the AWS error carried no usable name.
 */
export class TransientAwsError extends Error {
  override readonly name: string;
  readonly transient = true as const;
  /** The AWS error name as received. */
  readonly awsErrorName: string;
  readonly httpStatusCode?: number;

  constructor(awsErrorName: string | undefined, message: string, options?: { cause?: unknown; httpStatusCode?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    const usable = awsErrorName && /^[A-Za-z][A-Za-z0-9_.]*$/.test(awsErrorName) && awsErrorName !== 'Error';
    this.name = usable ? awsErrorName : 'TransientAwsError';
    this.awsErrorName = awsErrorName ?? 'Unknown';
    this.httpStatusCode = options?.httpStatusCode;
  }
}

/** Configuration missing or invalid (environment variable, bundled config, ARN shape). Not retried. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A policy said no (gate failed, caller not allowed, stage frozen). Never retried. */
export class PolicyRefusedError extends Error {
  override readonly name = 'PolicyRefusedError';
  constructor(
    message: string,
    readonly reason?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The (service, stage) lease is held by another execution. */
export class LeaseHeldError extends Error {
  override readonly name = 'LeaseHeldError';
  constructor(
    message: string,
    readonly holder?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Something the caller named does not exist (repository, release, pointer). */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface FailedEvent {
  readonly detailType: string;
  readonly errorCode: string;
  readonly errorMessage?: string;
}

/** PutEvents accepted the call but rejected some entries (FailedEntryCount > 0). */
export class EventPublishError extends Error {
  override readonly name = 'EventPublishError';
  constructor(
    readonly failures: readonly FailedEvent[],
    readonly published: number,
    options?: { cause?: unknown },
  ) {
    const codes = failures.map((f) => `${f.detailType}: ${f.errorCode}${f.errorMessage ? ` (${f.errorMessage})` : ''}`);
    super(`${failures.length} event(s) were not published (${published} were): ${codes.join('; ')}`, options);
  }
}

// ---------------------------------------------------------------- classifying AWS SDK v3 errors

interface SdkErrorShape {
  name?: unknown;
  message?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $retryable?: { throttling?: unknown };
}

/** The AWS error name of an SDK v3 exception (its `name`), or undefined for a non-error. */
export function awsErrorName(e: unknown): string | undefined {
  if (e === null || typeof e !== 'object') return undefined;
  const name = (e as SdkErrorShape).name;
  return typeof name === 'string' ? name : undefined;
}

/** Whether `e` is an AWS error with one of the names. */
export function isAwsError(e: unknown, ...names: string[]): boolean {
  const name = awsErrorName(e);
  return name !== undefined && names.includes(name);
}

function httpStatus(e: unknown): number | undefined {
  if (e === null || typeof e !== 'object') return undefined;
  const code = (e as SdkErrorShape).$metadata?.httpStatusCode;
  return typeof code === 'number' ? code : undefined;
}

// ---------------------------------------------------------------- the retry classifier (SDK standard mode)

/** Error names the SDK's standard retry mode treats as transient whatever their status (timeouts). */
export const TRANSIENT_TIMEOUT_NAMES = ['TimeoutError', 'RequestTimeout', 'RequestTimeoutException'] as const;
/** Socket-level failures the SDK retries (Node error codes). */
const NETWORK_ERROR_CODES = ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'];

/**
 * Whether a client should try the same call again: the classification of the AWS SDK v3 "standard"
 * retry mode (throttling: HTTP 429, a throttling error name or the `throttling` retry trait;
 * transient: a retry trait, a timeout, a socket error, HTTP 500/502/503/504). An error that carries no
 * HTTP status (one the local cloud raised) is classified by its name alone, server fault names
 * included. A policy refusal — ConditionalCheckFailedException, ValidationException, a gate's FAIL,
 * LeaseHeldError, PolicyRefusedError — is never transient.
 *
 * The real adapters get this behaviour from the SDK clients themselves (`sdkClientConfig` in
 * ./retry.ts); the local runtime wraps its ports in `withRetries`, which uses this function, so a
 * simulated call is retried exactly when the SDK would retry the real one.
 */
export function isTransient(e: unknown): boolean {
  if (e === null || typeof e !== 'object') return false;
  const err = e as SdkErrorShape & { code?: unknown; cause?: unknown };
  const name = awsErrorName(e);
  if (name === 'AbortError') return false;
  if (e instanceof TransientAwsError) return true;
  const status = httpStatus(e);
  if (status === 429 || err.$retryable !== undefined) return true;
  if (name && ((THROTTLING_ERROR_NAMES as readonly string[]).includes(name) || name === 'LimitExceededException' || name === 'TransactionInProgressException')) return true;
  if (name && (TRANSIENT_TIMEOUT_NAMES as readonly string[]).includes(name)) return true;
  if (typeof err.code === 'string' && NETWORK_ERROR_CODES.includes(err.code)) return true;
  if (status !== undefined) return status === 500 || status === 502 || status === 503 || status === 504;
  return name !== undefined && (SERVER_ERROR_NAMES as readonly string[]).includes(name);
}

/**
 * Throttling or a server-side fault: worth retrying (by the workflow, once the SDK's own retries are
 * spent). A superset of `isTransient`: also any 5xx and a server fault without a status.
 */
export function isTransientAwsError(e: unknown): boolean {
  if (isTransient(e)) return true;
  if (e === null || typeof e !== 'object') return false;
  const err = e as SdkErrorShape;
  const name = awsErrorName(e);
  if (name && ((THROTTLING_ERROR_NAMES as readonly string[]).includes(name) || (SERVER_ERROR_NAMES as readonly string[]).includes(name))) return true;
  if (err.$retryable?.throttling === true) return true;
  const status = httpStatus(e);
  if (status === 429 || (status !== undefined && status >= 500 && status <= 599)) return true;
  return err.$fault === 'server' && status === undefined;
}

/**
 * Rethrow a throttling or 5xx error as a TransientAwsError named after the AWS error (so ASL Retry can
 * match `ThrottlingException`); return normally for anything else, leaving it to the caller.
 */
export function rethrowTransient(e: unknown): void {
  if (e instanceof TransientAwsError) throw e;
  if (!isTransientAwsError(e)) return;
  const message = e !== null && typeof e === 'object' && typeof (e as SdkErrorShape).message === 'string' ? String((e as SdkErrorShape).message) : String(e);
  throw new TransientAwsError(awsErrorName(e), message, { cause: e, httpStatusCode: httpStatus(e) });
}

/** For a catch block: rethrow transient errors as TransientAwsError, anything else unchanged. */
export function rethrow(e: unknown): never {
  rethrowTransient(e);
  throw e;
}

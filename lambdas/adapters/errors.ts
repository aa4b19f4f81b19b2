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
] as const;

/** Every name `rethrowTransient` can produce for a known error: the list for an ASL `Retry.ErrorEquals`. */
export const TRANSIENT_ERROR_NAMES: readonly string[] = [...THROTTLING_ERROR_NAMES, ...SERVER_ERROR_NAMES, 'TransientAwsError'];

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

/** Throttling or a server-side fault: worth retrying. */
export function isTransientAwsError(e: unknown): boolean {
  if (e instanceof TransientAwsError) return true;
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

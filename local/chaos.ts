/**
 * Faults for the simulation (issue 8), and the retry behaviour AWS would apply to them.
 *
 * - `transientFailures: N`: every AWS call a handler or a workflow makes — DynamoDB (the ledger, at the
 *   wire of the real SDK client), ECR, CloudWatch, EventBridge PutEvents, Scheduler, the Step Functions
 *   task-token API and StartExecution, CodeBuild StartBuild — fails its first N attempts, alternately
 *   with a throttling error and a 5xx. A call is identified by its service, operation, request and the
 *   virtual instant: the retries of one call (by the SDK, the workflow's Retry or Lambda's async retry,
 *   none of which take virtual time) count against the same N.
 * - `crashAfterLedgerWrite: true`: every handler invocation throws right after its first ledger append (or appendAll)
 *   (a Lambda that died after its write), once per (handler, release, step key): the retry — the
 *   workflow's Retry, Lambda's async retry, the operator repeating an API call — must write nothing twice.
 *
 * And, with or without faults, the retries AWS applies (lambdas/adapters/retry.ts): the SDK's standard
 * mode for every port (`withRetries`, and `LocalSdkRetryStrategy` on the ledger's DynamoDB client), and Lambda's
 * two retries of an asynchronous invocation (`asyncInvoke`).
 */
import { createHash } from 'node:crypto';
import { LAMBDA_CRASH_ERROR_NAMES } from '../lambdas/adapters/errors';
import { type SdkService, sdkMaxAttempts, withRetries } from '../lambdas/adapters/retry';
import type { LedgerEventInput } from '../lambdas/domain/ledger';
import type { Deps } from '../lambdas/ports';
import type { VirtualClock } from './clock';
import { faultHttpStatus } from './fault-operations';

export interface ChaosOptions {
  /** Every AWS call fails its first N attempts (ThrottlingException, then a 5xx, alternating). @default 0 */
  readonly transientFailures?: number;
  /** Every handler invocation throws once right after its first ledger append. @default false */
  readonly crashAfterLedgerWrite?: boolean;
}

export interface ChaosStats {
  /** Failed attempts injected, by `service:Operation`. */
  readonly injected: Record<string, number>;
  /** Handler invocations crashed after their ledger write, by handler. */
  readonly crashes: Record<string, number>;
  /** Retries made, by who retried: `sdk:<service>`, `lambda-async:<target>`, `operator:approval`. */
  readonly retries: Record<string, number>;
}

/** The 5xx each service answers with (its modelled server error). */
const SERVER_ERRORS: Record<string, { name: string; status: number }> = {
  dynamodb: { name: 'InternalServerError', status: 500 },
  ecr: { name: 'ServerException', status: 500 },
  cloudwatch: { name: 'InternalServiceFault', status: 500 },
  eventbridge: { name: 'InternalException', status: 500 },
  scheduler: { name: 'InternalServerException', status: 500 },
  sfn: { name: 'ServiceUnavailable', status: 503 },
  // Step Functions reports a failed optimised CodeBuild integration as CodeBuild.<error>.
  codebuild: { name: 'CodeBuild.CodeBuildException', status: 500 },
  eks: { name: 'ServiceUnavailableException', status: 503 },
};

/** An AWS error shaped as the SDK raises it: name, `$fault`, `$metadata.httpStatusCode`, and the throttling trait. */
export class InjectedAwsError extends Error {
  readonly $fault: 'client' | 'server';
  readonly $metadata: { httpStatusCode: number; requestId: string; attempts: number };
  readonly $retryable?: { throttling: boolean };
  constructor(
    code: string,
    status: number,
    readonly service: string,
    readonly operation: string,
  ) {
    super(`${code}: ${service} ${operation} failed (injected by chaos mode)`);
    this.name = code;
    this.$fault = status >= 500 ? 'server' : 'client';
    this.$metadata = { httpStatusCode: status, requestId: 'chaos', attempts: 1 };
    if (code === 'ThrottlingException') this.$retryable = { throttling: true };
  }
}

/** A Lambda function that died after its ledger write (out of memory, runtime exit). */
export class LambdaCrashError extends Error {
  override readonly name: string = LAMBDA_CRASH_ERROR_NAMES[0];
  constructor(
    readonly handler: string,
    stepKey: string,
  ) {
    super(`${handler} crashed right after writing ${stepKey} (injected by chaos mode)`);
  }
}

function fingerprint(request: unknown): string {
  if (request instanceof Uint8Array) return createHash('sha256').update(request).digest('hex').slice(0, 24);
  let text: string;
  try {
    text = typeof request === 'string' ? request : (JSON.stringify(request, (_k, v) => (v instanceof Uint8Array ? `bytes:${v.byteLength}` : v)) ?? '');
  } catch {
    text = String(request);
  }
  return createHash('sha256').update(text).digest('hex').slice(0, 24);
}

const bump = (m: Record<string, number>, k: string) => {
  m[k] = (m[k] ?? 0) + 1;
};

/** Which AWS operation each port method stands for (for the counts and the 5xx names). */
const PORT_OPERATIONS: Record<string, Record<string, string>> = {
  ecr: {
    describeImage: 'DescribeImages',
    tagMutability: 'DescribeRepositories',
    repositoryTagSettings: 'DescribeRepositories',
    scanFindings: 'DescribeImageScanFindings',
    imageManifest: 'BatchGetImage',
    blob: 'GetDownloadUrlForLayer',
    signingStatuses: 'DescribeImageSigningStatus',
    referrers: 'ListImageReferrers',
  },
  cloudwatch: { describeAlarms: 'DescribeAlarms' },
  sfn: { sendSuccess: 'SendTaskSuccess', sendFailure: 'SendTaskFailure', start: 'StartExecution', describe: 'DescribeExecution' },
  scheduler: { schedule: 'CreateSchedule', cancel: 'DeleteSchedule' },
  eventbridge: { publish: 'PutEvents' },
};

export class Chaos {
  private readonly attempts = new Map<string, number>();
  private readonly crashed = new Set<string>();
  readonly stats: ChaosStats = { injected: {}, crashes: {}, retries: {} };
  /**
   * Whether faults are injected now. The simulation starts with them off and turns them on only while the
   * scenario runs (`during`): never the simulator's own set-up (seeding the stage pointers) or its read-out
   * of the ledger at the end, which are not AWS calls of Gantry's. Without this, `--chaos 4` (past
   * DynamoDB's 4 attempts) failed the simulator itself.
   */
  private live: boolean;

  constructor(
    readonly options: ChaosOptions,
    private readonly clock: VirtualClock,
    /** @default true: faults from the first call (the simulation passes false and runs the scenario `during`). */
    liveFromStart = true,
  ) {
    this.live = liveFromStart;
  }

  get active(): boolean {
    return (this.options.transientFailures ?? 0) > 0 || this.options.crashAfterLedgerWrite === true;
  }

  /** Run the scenario: faults are injected only while `run` is under way. */
  async during<T>(run: () => Promise<T>): Promise<T> {
    this.live = true;
    try {
      return await run();
    } finally {
      this.live = false;
    }
  }

  /** The error this attempt of this call fails with, or undefined when it goes through. */
  failure(service: string, operation: string, request: unknown): InjectedAwsError | undefined {
    const n = this.options.transientFailures ?? 0;
    if (n <= 0 || !this.live) return undefined;
    const key = `${this.clock.nowMs()}|${service}|${operation}|${fingerprint(request)}`;
    const seen = this.attempts.get(key) ?? 0;
    if (seen >= n) return undefined;
    this.attempts.set(key, seen + 1);
    bump(this.stats.injected, `${service}:${operation}`);
    const server = SERVER_ERRORS[service] ?? { name: 'InternalFailure', status: 500 };
    return seen % 2 === 0 ? new InjectedAwsError('ThrottlingException', 400, service, operation) : new InjectedAwsError(server.name, server.status, service, operation);
  }

  /** Throw the injected failure of this call, if any (for the local cloud's own operations: StartBuild, eks:call). */
  check(service: string, operation: string, request: unknown): void {
    const f = this.failure(service, operation, request);
    if (f) throw f;
  }

  /**
   * A port of the local cloud as a handler sees it in AWS: each call may fail (chaos), and is retried
   * like the SDK client the real adapter uses.
   */
  port<T extends object>(service: SdkService, port: T): T {
    const ops = PORT_OPERATIONS[service] ?? {};
    const faulty = !((this.options.transientFailures ?? 0) > 0)
      ? port
      : new Proxy(port, {
          get: (target, prop, receiver) => {
            const value = Reflect.get(target, prop, receiver);
            if (typeof value !== 'function') return value;
            return (...args: unknown[]) => {
              const f = this.failure(service, ops[String(prop)] ?? String(prop), args);
              return f ? Promise.reject(f) : value.apply(target, args);
            };
          },
        });
    return withRetries(faulty, { maxAttempts: sdkMaxAttempts(service), onRetry: () => bump(this.stats.retries, `sdk:${service}`) });
  }

  /** The deps of one handler invocation: with `crashAfterLedgerWrite`, its first append is followed by a crash. */
  depsFor(handler: string, deps: Deps): Deps {
    if (!this.options.crashAfterLedgerWrite) return deps;
    let first = true;
    const ledger = deps.ledger;
    const crashing = new Proxy(ledger, {
      get: (target, prop, receiver) => {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        if (prop !== 'append' && prop !== 'appendAll') return value.bind(target);
        return async (arg: LedgerEventInput | readonly LedgerEventInput[]) => {
          const result = await value.call(target, arg);
          const input = Array.isArray(arg) ? (arg[0] as LedgerEventInput | undefined) : (arg as LedgerEventInput);
          if (first && input) {
            first = false;
            const key = `${handler}|${input.releaseId}|${input.stepKey}`;
            if (!this.crashed.has(key)) {
              this.crashed.add(key);
              bump(this.stats.crashes, handler);
              throw new LambdaCrashError(handler, input.stepKey);
            }
          }
          return result;
        };
      },
    });
    return { ...deps, ledger: crashing };
  }

  /** A handler invoked asynchronously (EventBridge rule, Scheduler): Lambda retries a failed invocation twice. */
  asyncInvoke<E>(target: string, fn: (event: E) => Promise<unknown>): (event: E) => Promise<unknown> {
    return async (event: E) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await fn(event);
        } catch (e) {
          if (attempt >= 3) throw e;
          bump(this.stats.retries, `lambda-async:${target}`);
        }
      }
    };
  }

  /** Count a retry made by someone else (the operator repeating an API call). */
  countRetry(who: string): void {
    bump(this.stats.retries, who);
  }

  // ------------------------------------------------------------ DynamoDB at the wire

  /**
   * Wrap an SDK request handler: an injected failure is answered as DynamoDB answers it (HTTP 400
   * ThrottlingException, HTTP 500 InternalServerError, JSON body), so the real deserializer and the
   * client's retry strategy see exactly what they would see in AWS. `scripted` names the error of a
   * scenario `fault` line on this operation, if one is armed (consumed by asking); chaos faults come after.
   */
  dynamoRequestHandler<H extends { handle: (request: never, options?: never) => Promise<unknown> }>(
    inner: H,
    scripted: (operation: string) => string | undefined = () => undefined,
  ): H {
    const chaos = this;
    const handler = Object.create(inner) as H;
    (handler as { handle: unknown }).handle = (request: { headers: Record<string, string>; body?: unknown }, options?: unknown) => {
      const target = request.headers['x-amz-target'] ?? request.headers['X-Amz-Target'] ?? '';
      const operation = target.split('.')[1] ?? 'Unknown';
      const code = chaos.live ? scripted(operation) : undefined;
      const f =
        code !== undefined
          ? { name: code, message: `${code}: ${operation} failed (injected by the scenario)`, status: faultHttpStatus(code) }
          : chaos.failure('dynamodb', operation, request.body);
      if (!f) return inner.handle(request as never, options as never);
      const status = 'status' in f ? f.status : f.$metadata.httpStatusCode;
      const body = JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${f.name}`, message: f.message });
      return Promise.resolve({
        response: {
          statusCode: status,
          reason: f.name,
          headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': `fault-${operation}`, 'content-length': String(Buffer.byteLength(body)) },
          body: Buffer.from(body),
        },
      });
    };
    return handler;
  }
}

/**
 * The SDK's standard retry decision (retry THROTTLING and TRANSIENT errors, as the SDK's own middleware
 * classifies them, while attempts are left) without its two real-time parts: backoff (time is virtual)
 * and the retry quota (per client in AWS, i.e. per Lambda container; the simulation shares one client
 * among all functions, so a shared quota would model a single container doing all the work).
 */
export class LocalSdkRetryStrategy {
  readonly mode = 'standard';
  constructor(
    private readonly maxAttempts: number,
    private readonly onRetry: () => void = () => undefined,
  ) {}
  async acquireInitialRetryToken(): Promise<LocalRetryToken> {
    return new LocalRetryToken(0);
  }
  async refreshRetryTokenForRetry(token: LocalRetryToken, errorInfo: { errorType: string }): Promise<LocalRetryToken> {
    const retryable = errorInfo.errorType === 'THROTTLING' || errorInfo.errorType === 'TRANSIENT';
    if (!retryable || token.getRetryCount() + 1 >= this.maxAttempts) throw new Error('No retry token available');
    this.onRetry();
    return new LocalRetryToken(token.getRetryCount() + 1);
  }
  recordSuccess(): void {}
}

class LocalRetryToken {
  constructor(private readonly count: number) {}
  getRetryCount(): number {
    return this.count;
  }
  getRetryDelay(): number {
    return 0;
  }
}

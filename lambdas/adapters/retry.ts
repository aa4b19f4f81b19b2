/**
 * Where Gantry retries, and how.
 *
 * 1. Inside a Lambda: every AWS SDK v3 client retries a call itself, in the SDK's "standard" mode —
 *    up to `maxAttempts` attempts in all, for throttling and transient errors only, with jittered
 *    exponential backoff and a per-client retry quota. `sdkClientConfig` states that configuration
 *    explicitly (instead of inheriting AWS_MAX_ATTEMPTS / AWS_RETRY_MODE from the environment), with
 *    the numbers the installed SDK uses by default: 3 attempts, 4 for DynamoDB.
 * 2. In the workflow: when a task still fails with a transient error (or the function crashed), the
 *    ASL `Retry` of that task runs it again (`LAMBDA_TASK_RETRY_ERRORS` in ./errors.ts). Every step is
 *    idempotent by its ledger step key, so a second run writes nothing twice.
 * 3. Event-driven functions (EventBridge rules, Scheduler) are invoked asynchronously: Lambda itself
 *    retries a failed invocation twice.
 *
 * The local runtime goes through the same logic: its DynamoDB client (the in-memory store) is a real SDK client
 * with this configuration, and its other ports (the local cloud) are wrapped in `withRetries`, which
 * retries exactly what `isTransient` — the SDK's classification — calls transient, up to the same
 * number of attempts. Backoff takes no virtual time there.
 */
import { isTransient } from './errors';

export type SdkService = 'dynamodb' | 'ecr' | 'cloudwatch' | 'sfn' | 'scheduler' | 'eventbridge' | 'kms' | 'codebuild' | 'eks' | 'sts';

/** The SDK retry mode every Gantry client uses. */
export const SDK_RETRY_MODE = 'standard' as const;

/** Attempts in all (first try included) per SDK call: the installed SDK's defaults, made explicit. */
export function sdkMaxAttempts(service: SdkService): number {
  return service === 'dynamodb' ? 4 : 3;
}

/** The retry part of an SDK client's configuration: `new ECRClient(sdkClientConfig('ecr'))`. */
export function sdkClientConfig(service: SdkService): { maxAttempts: number; retryMode: typeof SDK_RETRY_MODE } {
  return { maxAttempts: sdkMaxAttempts(service), retryMode: SDK_RETRY_MODE };
}

export interface RetryOptions {
  /** Attempts in all, the first included. */
  readonly maxAttempts: number;
  /** Milliseconds to wait before retry `n` (1-based). @default no wait */
  readonly delayMs?: (retry: number, error: unknown) => number;
  /** Called before each retry (for counting). */
  readonly onRetry?: (error: unknown, retry: number, method: string) => void;
}

/** Call `fn`, trying again while it fails with a transient error and attempts are left. */
export async function retrying<T>(fn: () => Promise<T>, options: RetryOptions, method = 'call'): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= options.maxAttempts || !isTransient(e)) throw e;
      options.onRetry?.(e, attempt, method);
      const wait = options.delayMs?.(attempt, e) ?? 0;
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/**
 * A port whose every method is retried like an SDK call (`retrying`). Methods keep their `this`;
 * properties that are not functions pass through.
 */
export function withRetries<T extends object>(port: T, options: RetryOptions): T {
  return new Proxy(port, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => retrying(() => Promise.resolve(value.apply(target, args)), options, String(prop));
    },
  });
}

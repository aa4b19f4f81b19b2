/**
 * The Lambda wrapper every handler uses: middy with Powertools logger, metrics (EMF) and tracer.
 * `run(event, deps)` is the handler's real body; in AWS its deps come from the environment, in the
 * local runtime the same `run` is called with the local cloud's deps.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Deps } from '../ports';

export const logger = new Logger({ serviceName: 'gantry' });
export const metrics = new Metrics({ namespace: 'Gantry', serviceName: 'gantry' });
export const tracer = new Tracer({ serviceName: 'gantry' });

export type Run<E, R> = (event: E, deps: Deps) => Promise<R>;

export function lambdaHandler<E, R>(run: Run<E, R>) {
  return (
    middy(async (event: E): Promise<R> => {
      // Loaded on first use so that importing a handler (tests, the local runtime) needs no AWS environment.
      const { awsDeps } = await import('../adapters/aws-deps');
      return run(event, awsDeps());
    })
      // Never log the invocation event, whatever POWERTOOLS_LOGGER_LOG_EVENT says: events carry task tokens
      // (approval-request), signed API requests with the caller's access key id (approval-decide) and whole
      // raw EventBridge events. Handlers log the few fields they need instead.
      .use(injectLambdaContext(logger, { clearState: true, logEvent: false }))
      .use(logMetrics(metrics))
      .use(captureLambdaHandler(tracer))
  );
}

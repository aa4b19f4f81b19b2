/**
 * The Lambda wrapper every handler uses: middy with Powertools logger and metrics (EMF), and the
 * Powertools tracer only in bundles built with it (lib/bundle.ts `tracer`, decision 039).
 * `run(event, deps)` is the handler's real body; in AWS its deps come from the environment, in the
 * local runtime the same `run` is called with the local cloud's deps.
 *
 * Every function runs with Lambda active tracing (lib/GantryFunction.ts), which records the invocation
 * segment whatever the bundle holds. The Powertools tracer adds a `## index.handler` subsegment with the
 * cold-start annotation and the response or error as metadata; it carries the X-Ray SDK, semver and
 * cls-hooked (~110 KB per bundle), so it is compiled in only when the stack asks for it
 * (`gantry:powertoolsTracer` context). `GANTRY_POWERTOOLS_TRACER` is replaced by esbuild's `define`:
 * in a bundle without the tracer the branch below is dead code and its imports are not bundled; outside
 * a bundle (tests, the local runtime) the identifier does not exist and no tracer is loaded.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Deps } from '../ports';

declare const GANTRY_POWERTOOLS_TRACER: boolean | undefined;

export const logger = new Logger({ serviceName: 'gantry' });
export const metrics = new Metrics({ namespace: 'Gantry', serviceName: 'gantry' });

/** Whether this bundle was built with the Powertools tracer (false outside a bundle). */
export const POWERTOOLS_TRACER: boolean = typeof GANTRY_POWERTOOLS_TRACER === 'boolean' && GANTRY_POWERTOOLS_TRACER;

export type Run<E, R> = (event: E, deps: Deps) => Promise<R>;

export function lambdaHandler<E, R>(run: Run<E, R>) {
  const handler = middy(async (event: E): Promise<R> => {
    // Loaded on first use so that importing a handler (tests, the local runtime) needs no AWS environment.
    const { awsDeps } = await import('../adapters/aws-deps');
    return run(event, awsDeps());
  })
    // Never log the invocation event, whatever POWERTOOLS_LOGGER_LOG_EVENT says: events carry task tokens
    // (approval-request), signed API requests with the caller's access key id (approval-decide) and whole
    // raw EventBridge events. Handlers log the few fields they need instead.
    .use(injectLambdaContext(logger, { clearState: true, logEvent: false }))
    .use(logMetrics(metrics));
  if (typeof GANTRY_POWERTOOLS_TRACER === 'boolean' && GANTRY_POWERTOOLS_TRACER) {
    // Synchronous on purpose: the middleware must be in place before the first invocation.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { tracerMiddleware } = require('./tracer') as typeof import('./tracer');
    handler.use(tracerMiddleware());
  }
  return handler;
}

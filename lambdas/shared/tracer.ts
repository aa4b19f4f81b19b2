/**
 * The Powertools tracer, loaded by lambdas/shared/middleware.ts only in bundles built with it
 * (lib/bundle.ts `tracer`, decision 039). Kept in its own module so that a bundle without it carries
 * neither the tracer nor the X-Ray SDK it loads.
 */
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';

let tracer: Tracer | undefined;

/** The `captureLambdaHandler` middleware of one Tracer shared by the process. */
export function tracerMiddleware(): ReturnType<typeof captureLambdaHandler> {
  tracer ??= new Tracer({ serviceName: 'gantry' });
  return captureLambdaHandler(tracer);
}

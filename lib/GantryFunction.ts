/**
 * One Gantry handler (`lambdas/<name>.ts`, exporting `handler`) as a Lambda function: Node 24 on ARM64,
 * X-Ray active tracing (the Powertools tracer in the bundle only with `gantry:powertoolsTracer`), bundled locally by esbuild with the parsed config compiled in, its own role and
 * its own log group encrypted with the control plane's key. A function given a `deadLetterQueue` is
 * invoked asynchronously and sends what failed every retry there as its on-failure destination; any other
 * is invoked synchronously only (cdk-nag `Serverless-LambdaDLQ` acknowledged with that reason, checked
 * against the template by test/infra/cdk-nag.test.ts).
 *
 * The bundle comes from lib/bundle.ts: all handlers are built by one esbuild process, minified, with a
 * source map, the AWS SDK v3 taken from the Lambda runtime unless the handler needs the locked version
 * (`LOCKED_SDK_HANDLERS`; docs/decisions/015-bundling.md).
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Architecture, Function as LambdaFunction, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { GantryConfig } from '../lambdas/domain/config';
import { acknowledge, FAILURE_PATH_REASONS } from './acknowledge';
import { handlerCode, PROJECT_ROOT } from './bundle';

/** The repository root: `lambdas/`, `statemachines/` and `drivers/` live under it. */
export { PROJECT_ROOT };

export const LAMBDA_RUNTIME = Runtime.NODEJS_24_X;

/** CDK context key that compiles the Powertools tracer into every handler bundle (decision 039). */
export const POWERTOOLS_TRACER_CONTEXT = 'gantry:powertoolsTracer';

export class PowertoolsTracerContextError extends Error {
  override readonly name = 'PowertoolsTracerContextError';
}

/**
 * Whether the handler bundles carry the Powertools tracer: `-c gantry:powertoolsTracer=true` (or `true` in
 * cdk.json). Off by default; the functions keep active tracing (`Tracing.ACTIVE`) either way.
 */
export function powertoolsTracer(scope: Construct): boolean {
  const v: unknown = scope.node.tryGetContext(POWERTOOLS_TRACER_CONTEXT);
  if (v === undefined || v === false || v === 'false') return false;
  if (v === true || v === 'true') return true;
  throw new PowertoolsTracerContextError(`context ${POWERTOOLS_TRACER_CONTEXT} is ${JSON.stringify(v)}: expected true or false`);
}

export interface GantryFunctionProps {
  /** The handler file under `lambdas/`, without `.ts` (e.g. `prepare-release`). */
  readonly handlerName: string;
  readonly description: string;
  /** The parsed config, compiled into the bundle as `process.env.GANTRY_CONFIG` (esbuild `define`). */
  readonly config: GantryConfig;
  readonly environment: Readonly<Record<string, string>>;
  /** Encrypts the function's log group. */
  readonly encryptionKey: IKey;
  readonly logRetention: RetentionDays;
  /** Applied to the log group. */
  readonly removalPolicy: RemovalPolicy;
  /** @default 60 seconds (the workflow's task timeout is 120 s) */
  readonly timeout?: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  /**
   * Where asynchronous invocations that failed every retry go (event-driven functions): the function's
   * on-failure destination (EventInvokeConfig), so the record carries the error along with the event.
   * @default none: the function is invoked synchronously only (a workflow Task state, API Gateway)
   */
  readonly deadLetterQueue?: IQueue;
  /** @default a name CloudFormation generates */
  readonly functionName?: string;
}

export class GantryFunction extends Construct {
  public readonly function: LambdaFunction;
  public readonly role: Role;
  public readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: GantryFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention,
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy,
    });
    // An explicit role instead of AWSLambdaBasicExecutionRole: writing to its own log group only.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Gantry ${props.handlerName} Lambda`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new LambdaFunction(this, 'Function', {
      // `index.js` of the shared esbuild build; the config is compiled in (esbuild `define`).
      // The Powertools tracer only with `-c gantry:powertoolsTracer=true`; active tracing either way (decision 039).
      code: handlerCode(props.handlerName, props.config, { tracer: powertoolsTracer(this) }),
      handler: 'index.handler',
      functionName: props.functionName,
      description: props.description,
      runtime: LAMBDA_RUNTIME,
      architecture: Architecture.ARM_64,
      tracing: Tracing.ACTIVE,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(60),
      role: this.role,
      logGroup: this.logGroup,
      onFailure: props.deadLetterQueue ? new SqsDestination(props.deadLetterQueue) : undefined,
      retryAttempts: props.deadLetterQueue ? 2 : undefined,
      // Stack traces through the bundle's source map.
      environment: { ...props.environment, POWERTOOLS_SERVICE_NAME: 'gantry', NODE_OPTIONS: '--enable-source-maps' },
    });
    acknowledge(this.function, 'Serverless-LambdaDLQ', props.deadLetterQueue ? FAILURE_PATH_REASONS.onFailureDestination : FAILURE_PATH_REASONS.synchronousOnly);
  }
}

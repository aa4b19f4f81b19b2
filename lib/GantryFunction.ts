/**
 * One Gantry handler (`lambdas/<name>.ts`, exporting `handler`) as a Lambda function: Node 24 on ARM64,
 * X-Ray active tracing, bundled locally by esbuild with the parsed config compiled in, its own role and
 * its own log group encrypted with the control plane's key.
 */
import { join, resolve } from 'node:path';
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { GantryConfig } from '../lambdas/domain/config';

/** The repository root: `lambdas/`, `statemachines/`, `buildspecs/` and `scripts/` live under it. */
export const PROJECT_ROOT = resolve(__dirname, '..');

export const LAMBDA_RUNTIME = Runtime.NODEJS_24_X;

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
  /** Where asynchronous invocations that failed every retry go (event-driven functions). @default none */
  readonly deadLetterQueue?: IQueue;
  /** @default a name CloudFormation generates */
  readonly functionName?: string;
}

export class GantryFunction extends Construct {
  public readonly function: NodejsFunction;
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

    this.function = new NodejsFunction(this, 'Function', {
      entry: join(PROJECT_ROOT, 'lambdas', `${props.handlerName}.ts`),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      functionName: props.functionName,
      description: props.description,
      runtime: LAMBDA_RUNTIME,
      architecture: Architecture.ARM_64,
      tracing: Tracing.ACTIVE,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(60),
      role: this.role,
      logGroup: this.logGroup,
      deadLetterQueue: props.deadLetterQueue,
      retryAttempts: props.deadLetterQueue ? 2 : undefined,
      // Stack traces through the bundled source map (bundling.sourceMap below).
      environment: { ...props.environment, POWERTOOLS_SERVICE_NAME: 'gantry', NODE_OPTIONS: '--enable-source-maps' },
      bundling: {
        // The config is compiled in: the function runs exactly the document that was synthesized.
        define: { 'process.env.GANTRY_CONFIG': JSON.stringify(JSON.stringify(props.config)) },
        minify: true,
        sourceMap: true,
        target: 'node24',
        format: OutputFormat.CJS,
        // The SDK is bundled at the locked version rather than taken from the runtime.
        bundleAwsSDK: true,
        logLevel: LogLevel.WARNING,
      },
    });
  }
}

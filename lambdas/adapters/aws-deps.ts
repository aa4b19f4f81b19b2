/**
 * The Deps a handler gets in AWS: every adapter over one SDK client each, built once per Lambda
 * container on first use, from the environment and the config bundled into the function.
 *
 * Environment:
 * - TABLE_NAME                 the ledger table (required)
 * - EVENT_BUS_NAME             the Gantry bus for lifecycle events (required)
 * - SCHEDULE_GROUP             the EventBridge Scheduler group of bake timers (required)
 * - SCHEDULER_ROLE_ARN         the role Scheduler assumes to invoke the bake timer (required)
 * - BAKE_TIMER_DLQ_ARN         where Scheduler puts a bake timer it could not deliver (optional)
 * - RELEASE_STATE_MACHINE_ARN  the release workflow (optional: `executions` throws ConfigError when used without it)
 * - BAKE_TIMER_FUNCTION_ARN    the bake timer Lambda (optional: `timers` throws ConfigError when used without it)
 * - ECR_REGISTRY               the registry host images are pinned to (optional: `runtime.ecrRegistry` throws ConfigError when read without it)
 * - AWS_LAMBDA_FUNCTION_NAME   set by Lambda: `runtime.inLambda`
 * - AWS_REGION                 set by Lambda: `runtime.region`
 * - GANTRY_CLUSTER_ACCESS_ROLE_ARN the stack's ClusterAccessRole, the role eks:call runs with on an own-account cluster
 *                              (optional: `runtime.clusterAccessRoleArn`, read by the Kubernetes plan; decision 045)
 * - ANCHOR_KEY_ARN             the anchor signing key (optional: without it `signer` is absent; decision 048)
 * - GANTRY_CONFIG              the config JSON, replaced at bundle time (esbuild `define`)
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECRClient } from '@aws-sdk/client-ecr';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KMSClient } from '@aws-sdk/client-kms';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { configHash, type GantryConfig, parseConfig } from '../domain/config';
import type { Deps, Executions, RuntimeFacts, Timers } from '../ports';
import { CloudWatchAlarms } from './cloudwatch';
import { CloudWatchMetrics } from './cloudwatch-metrics';
import { DynamoLedger } from './dynamo-ledger';
import { EcrRegistry } from './ecr';
import { optionalEnv, requireEnv } from './env';
import { ConfigError } from './errors';
import { EventBridgePublisher } from './eventbridge';
import { KmsAnchorSigner } from './kms-signer';
import { SchedulerTimers } from './scheduler';
import { sdkClientConfig } from './retry';
import { AwsScopedReaders } from './scoped';
import { SfnExecutions, SfnTaskTokens } from './sfn';

let cached: Deps | undefined;

/** The AWS Deps of this container, built on the first call and reused after. */
export function awsDeps(): Deps {
  // Read as the literal `process.env.GANTRY_CONFIG` so esbuild's `define` can replace it at bundle time.
  cached ??= buildAwsDeps(process.env, process.env.GANTRY_CONFIG);
  return cached;
}

/** Forget the cached Deps (tests only). */
export function resetAwsDepsForTests(): void {
  cached = undefined;
}

/** Parse the bundled config JSON. @throws ConfigError when it is missing or not JSON; ValidationError when invalid. */
export function loadBundledConfig(raw: string | undefined): GantryConfig {
  if (raw === undefined || raw.trim() === '') {
    throw new ConfigError('GANTRY_CONFIG is not set: the config JSON must be injected at bundle time');
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    throw new ConfigError(`GANTRY_CONFIG is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  return parseConfig(json, 'GANTRY_CONFIG');
}

/** Build Deps from an environment and the raw config JSON. Each SDK client is created here, once, with its retry configuration stated (./retry.ts). */
export function buildAwsDeps(env: NodeJS.ProcessEnv, rawConfig: string | undefined): Deps {
  const tableName = requireEnv('TABLE_NAME', env);
  const busName = requireEnv('EVENT_BUS_NAME', env);
  const scheduleGroup = requireEnv('SCHEDULE_GROUP', env);
  const schedulerRoleArn = requireEnv('SCHEDULER_ROLE_ARN', env);
  const stateMachineArn = optionalEnv('RELEASE_STATE_MACHINE_ARN', undefined, env);
  const bakeTimerArn = optionalEnv('BAKE_TIMER_FUNCTION_ARN', undefined, env);
  const timerDeadLetterArn = optionalEnv('BAKE_TIMER_DLQ_ARN', undefined, env);
  const anchorKeyArn = optionalEnv('ANCHOR_KEY_ARN', undefined, env);

  const config = loadBundledConfig(rawConfig);
  const hash = configHash(config);

  const sfn = new SFNClient(sdkClientConfig('sfn'));
  const executions: Executions = stateMachineArn ? new SfnExecutions(sfn, stateMachineArn) : unavailable<Executions>('RELEASE_STATE_MACHINE_ARN', 'start');
  const timers: Timers = bakeTimerArn
    ? new SchedulerTimers(new SchedulerClient(sdkClientConfig('scheduler')), {
        groupName: scheduleGroup,
        targetArn: bakeTimerArn,
        roleArn: schedulerRoleArn,
        ...(timerDeadLetterArn ? { deadLetterArn: timerDeadLetterArn } : {}),
      })
    : unavailable<Timers>('BAKE_TIMER_FUNCTION_ARN', 'schedule', 'cancel');

  return Object.freeze({
    config,
    configHash: hash,
    ledger: new DynamoLedger({ client: DynamoDBDocumentClient.from(new DynamoDBClient(sdkClientConfig('dynamodb'))), tableName }),
    registry: new EcrRegistry(new ECRClient(sdkClientConfig('ecr'))),
    alarms: new CloudWatchAlarms(new CloudWatchClient(sdkClientConfig('cloudwatch'))),
    metrics: new CloudWatchMetrics(new CloudWatchClient(sdkClientConfig('cloudwatch'))),
    tasks: new SfnTaskTokens(sfn),
    executions,
    timers,
    bus: new EventBridgePublisher(new EventBridgeClient(sdkClientConfig('eventbridge')), busName),
    now: () => new Date(),
    runtime: runtimeFacts(env),
    scoped: new AwsScopedReaders(),
    ...(anchorKeyArn ? { signer: new KmsAnchorSigner(new KMSClient(sdkClientConfig('kms')), anchorKeyArn) } : {}),
  });
}

/**
 * Where this function runs, from the environment Lambda and the stack set: in Lambda when AWS_LAMBDA_FUNCTION_NAME
 * is set; the registry host from ECR_REGISTRY, read when used (only the handlers that pin images have it, lambdas/registry.ts).
 */
export function runtimeFacts(env: NodeJS.ProcessEnv): RuntimeFacts {
  const region = optionalEnv('AWS_REGION', undefined, env);
  const clusterAccessRoleArn = optionalEnv('GANTRY_CLUSTER_ACCESS_ROLE_ARN', undefined, env);
  return Object.freeze({
    inLambda: env.AWS_LAMBDA_FUNCTION_NAME !== undefined,
    get ecrRegistry(): string {
      return requireEnv('ECR_REGISTRY', env);
    },
    ...(region ? { region } : {}),
    ...(clusterAccessRoleArn ? { clusterAccessRoleArn } : {}),
  });
}

/** A stand-in for an adapter this function was not configured for: every method rejects with ConfigError. */
function unavailable<T>(variable: string, ...methods: string[]): T {
  const fail = async () => {
    throw new ConfigError(`environment variable ${variable} is not set: this function cannot use it`);
  };
  return Object.fromEntries(methods.map((m) => [m, fail])) as T;
}

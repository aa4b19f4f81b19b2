/**
 * The world a simulation runs in (local/simulate.ts): the virtual clock, the local cloud, the ledger on
 * the in-memory DynamoDB, the handlers' deps (through chaos), the local Step Functions and the EventBridge rules that
 * invoke the handlers, and what the scenario says ran in each stage before it starts.
 */
import { configHash, type GantryConfig } from '../lambdas/domain/config';
import {
  alarmStateChangePattern,
  cloudTrailPutImagePattern,
  cloudTrailStartExecutionPattern,
  ecrImageScanPattern,
  ecrPushPattern,
  executionStatusChangePattern,
  inspectorImageScanPattern,
  RECORD_FINISHED_DETAIL_TYPES,
} from '../lambdas/domain/event-patterns';
import { DynamoLedger } from '../lambdas/adapters/dynamo-ledger';
import { sdkMaxAttempts } from '../lambdas/adapters/retry';
import { type Deps, type ExecutionStop, LOCAL_RUNTIME } from '../lambdas/ports';
import { run as alarmWatch } from '../lambdas/alarm-watch';
import { run as bakeTimer } from '../lambdas/bake-timer';
import { run as intake } from '../lambdas/intake';
import type { OperatorDeps } from '../lambdas/operator-api';
import { run as reconciler } from '../lambdas/reconciler';
import { run as scanWatch } from '../lambdas/scan-watch';
import { run as anchorSign } from '../lambdas/anchor-sign';
import type { VirtualClock } from './clock';
import { ACCOUNT, type LocalCloud, REGION } from './cloud';
import { LocalScopedReaders } from './sim-accounts';
import { Chaos, LocalSdkRetryStrategy } from './chaos';
import type { LocalDynamo } from './dynamo';
import { type EngineHooks, type HandlerRun, LocalStepFunctions, stateMachineArn } from './engine';
import { HANDLERS } from './handlers';
import { seedWorkloads } from './kube';
import type { Scenario } from './scenario';
import type { SimulateOptions } from './sim-types';

export interface SimWorld {
  readonly scenario: Scenario;
  readonly options: SimulateOptions;
  /** The scenario's start (ms since the epoch): trigger and `at` times are offsets from it. */
  readonly startMs: number;
  readonly clock: VirtualClock;
  readonly cloud: LocalCloud;
  readonly config: GantryConfig;
  readonly chaos: Chaos;
  readonly ledger: DynamoLedger;
  readonly deps: Deps;
  /** The local Step Functions, once built (startEngine): the deps' `executions` port reads it when called. */
  sfn: LocalStepFunctions | undefined;
  /** The rollback workflow, as the operator API starts it (StartExecution on the rollback state machine). */
  readonly operatorRollbacks: OperatorDeps['rollbacks'];
  /** The drill workflow, as the operator API starts it (decision 052). */
  readonly operatorDrills: NonNullable<OperatorDeps['drills']>;
  /** Operator requests the operator API did not accept for a reason other than their input. */
  readonly operatorWarnings: string[];
  /** What a handler invocation gets: the deps (its own ledger when observed), or with crashAfterLedgerWrite a ledger that crashes it once. */
  depsOf(name: string, d?: Deps): Deps;
}

export interface WorldParts {
  readonly scenario: Scenario;
  readonly options: SimulateOptions;
  readonly startMs: number;
  readonly clock: VirtualClock;
  readonly cloud: LocalCloud;
  readonly config: GantryConfig;
  readonly dynamo: LocalDynamo;
}

/** Chaos, the ledger and the deps over the local cloud; the engine comes later (startEngine). */
export function buildWorld(parts: WorldParts): SimWorld {
  const { options, clock, cloud, dynamo } = parts;
  // Faults only while the scenario runs (chaos.during in simulate()), never in this set-up or the read-out.
  const chaos = new Chaos(options.chaos ?? {}, clock, false);
  wireDynamo(dynamo, chaos, cloud);
  faultStartBuild(cloud, chaos);
  const ledger = new DynamoLedger({ client: dynamo.doc, tableName: dynamo.tableName });
  const ledgerOf = observedLedgers(dynamo, options, ledger);
  const world: SimWorld = {
    ...parts,
    chaos,
    ledger,
    deps: handlerDeps(parts, chaos, ledger, () => world.sfn),
    sfn: undefined,
    operatorWarnings: [],
    operatorRollbacks: chaos.port('sfn', {
      start: async (name: string, input: unknown) => {
        cloud.checkFault('sfn', 'StartExecution');
        if (!world.sfn) throw new Error('local Step Functions not ready');
        return world.sfn.start('rollback', name, input);
      },
      stop: async (name: string) => stopLocal(cloud, world.sfn, 'rollback', name),
    }),
    operatorDrills: chaos.port('sfn', {
      start: async (name: string, input: unknown) => {
        cloud.checkFault('sfn', 'StartExecution');
        if (!world.sfn) throw new Error('local Step Functions not ready');
        return world.sfn.start('drill', name, input);
      },
      stop: async (name: string) => stopLocal(cloud, world.sfn, 'drill', name),
    }),
    depsOf: (name: string, d: Deps = world.deps): Deps => chaos.depsFor(name, options.observeLedger ? { ...d, ledger: ledgerOf(name) } : d),
  };
  return world;
}

/**
 * The ledger's SDK client retries as the real one does (lambdas/adapters/retry.ts), without real-time
 * backoff; injected DynamoDB faults arrive at its wire, below the retry middleware.
 */
function wireDynamo(dynamo: LocalDynamo, chaos: Chaos, cloud: LocalCloud): void {
  const dynamoConfig = dynamo.client.config as unknown as {
    retryStrategy: () => Promise<unknown>;
    maxAttempts: () => Promise<number>;
    requestHandler: { handle: (r: never, o?: never) => Promise<unknown> };
  };
  const dynamoRetry = new LocalSdkRetryStrategy(sdkMaxAttempts('dynamodb'), () => chaos.countRetry('sdk:dynamodb'));
  dynamoConfig.retryStrategy = async () => dynamoRetry;
  dynamoConfig.maxAttempts = async () => sdkMaxAttempts('dynamodb');
  // Scenario faults on DynamoDB operations and chaos faults are both answered at the wire.
  dynamoConfig.requestHandler = chaos.dynamoRequestHandler(dynamoConfig.requestHandler, (operation) => cloud.takeFault('dynamodb', operation));
}

/** StartBuild is called by the workflow itself (the optimised CodeBuild integration): faulted here. */
function faultStartBuild(cloud: LocalCloud, chaos: Chaos): void {
  const checkFault = cloud.checkFault.bind(cloud);
  cloud.checkFault = (service: string, operation: string) => {
    checkFault(service, operation);
    if (service === 'codebuild') chaos.check(service, operation, undefined);
  };
}

function handlerDeps(parts: WorldParts, chaos: Chaos, ledger: DynamoLedger, engine: () => LocalStepFunctions | undefined): Deps {
  const { clock, cloud, config } = parts;
  cloud.configureAccounts(config);
  return {
    config,
    configHash: configHash(config),
    ledger,
    // Each port as a handler sees it in AWS: through the SDK client's retries (and chaos faults).
    registry: chaos.port('ecr', cloud),
    alarms: chaos.port('cloudwatch', cloud),
    metrics: chaos.port('cloudwatch', cloud),
    tasks: chaos.port('sfn', cloud),
    timers: chaos.port('scheduler', cloud),
    bus: chaos.port('eventbridge', cloud),
    now: () => clock.now(),
    // Not in Lambda (no EMF printed), images pinned to the simulation's registry host, no region set aside.
    runtime: LOCAL_RUNTIME,
    // CloudWatch and EKS in the account and region of a cluster (issue 18), through the local STS.
    scoped: new LocalScopedReaders(cloud),
    // kms:Sign with the local anchor key (decision 048).
    signer: chaos.port('kms', cloud.anchorSigner),
    executions: chaos.port('sfn', {
      home: { account: ACCOUNT, region: REGION },
      start: async (name: string, input: unknown) => {
        cloud.checkFault('sfn', 'StartExecution');
        const sfn = engine();
        if (!sfn) throw new Error('local Step Functions not ready');
        return sfn.start('release', name, input);
      },
      describe: async (name: string) => {
        cloud.checkFault('sfn', 'DescribeExecution');
        const rec = engine()?.executions.get(name);
        return rec && rec.machine === 'release' ? { status: rec.status, input: rec.input } : undefined;
      },
      stop: async (name: string) => stopLocal(cloud, engine(), 'release', name),
    }),
  };
}

/**
 * StopExecution on the local Step Functions (decision 053), answered as lambdas/adapters/sfn.ts answers it: `stopped`
 * when the execution is ABORTED afterwards, else the status it had ended in, or none for no execution of that name on
 * that state machine. The engine's status event then runs the reconciler, as in AWS.
 */
function stopLocal(cloud: LocalCloud, sfn: LocalStepFunctions | undefined, machine: string, name: string): ExecutionStop {
  cloud.checkFault('sfn', 'StopExecution');
  if (!sfn) throw new Error('local Step Functions not ready');
  const rec = sfn.executions.get(name);
  const executionArn = rec?.arn ?? `arn:aws:states:${REGION}:${ACCOUNT}:execution:gantry-${machine}:${name}`;
  if (!rec || rec.machine !== machine) return { executionArn, stopped: false };
  sfn.abort(name);
  return { executionArn, stopped: rec.status === 'ABORTED', status: rec.status };
}

/** With `observeLedger`: each handler's own ledger, whose every DynamoDB request is reported as that handler's. */
function observedLedgers(dynamo: LocalDynamo, options: SimulateOptions, ledger: DynamoLedger): (handler: string) => DynamoLedger {
  const ledgers = new Map<string, DynamoLedger>();
  return (handler: string): DynamoLedger => {
    const observe = options.observeLedger;
    if (!observe) return ledger;
    let own = ledgers.get(handler);
    if (!own) {
      const client = {
        send: (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
          observe(handler, { command: command.constructor.name, input: command.input });
          return dynamo.doc.send(command as never);
        },
      };
      own = new DynamoLedger({ client: client as unknown as typeof dynamo.doc, tableName: dynamo.tableName });
      ledgers.set(handler, own);
    }
    return own;
  };
}

/** The local Step Functions with every workflow handler, and the EventBridge rules and timers that invoke the others. */
export function startEngine(world: SimWorld, hooks: EngineHooks): LocalStepFunctions {
  const { clock, cloud, chaos, deps, depsOf } = world;
  const handlers: Record<string, HandlerRun> = Object.fromEntries(Object.entries(HANDLERS).map(([name, run]) => [name, (event: unknown, d: Deps) => run(event, depsOf(name, d))]));
  const sfn = new LocalStepFunctions(clock, cloud, handlers, deps, hooks, ['release', 'rollback', 'insight', 'drill']);
  world.sfn = sfn;
  const invoke =
    <E>(name: string, run: (event: E, d: Deps) => Promise<unknown>) =>
    (event: E) =>
      run(event, depsOf(name));

  cloud.addRule({ name: 'ecr-push', pattern: ecrPushPattern, target: chaos.asyncInvoke('intake', invoke('intake', intake)) });
  cloud.addRule({ name: 'ecr-putimage-cloudtrail', pattern: cloudTrailPutImagePattern, target: chaos.asyncInvoke('intake', invoke('intake', intake)) });
  cloud.addRule({
    name: 'states-startexecution-cloudtrail',
    pattern: cloudTrailStartExecutionPattern([stateMachineArn('release'), stateMachineArn('rollback')]),
    target: chaos.asyncInvoke('intake', invoke('intake', intake)),
  });
  cloud.addRule({ name: 'alarm-state', pattern: alarmStateChangePattern, target: chaos.asyncInvoke('alarm-watch', invoke('alarm-watch', alarmWatch)) });
  cloud.addRule({
    name: 'execution-status',
    pattern: executionStatusChangePattern([stateMachineArn('release'), stateMachineArn('rollback'), stateMachineArn('drill')]),
    target: chaos.asyncInvoke('reconciler', invoke('reconciler', reconciler)),
  });
  // The event-driven scan wait (decision 040): the local cloud emits each scan's end on the bus (cloud.scheduleScanEvents).
  cloud.addRule({ name: 'ecr-image-scan', pattern: ecrImageScanPattern, target: chaos.asyncInvoke('scan-watch', invoke('scan-watch', scanWatch)) });
  cloud.addRule({ name: 'inspector-image-scan', pattern: inspectorImageScanPattern, target: chaos.asyncInvoke('scan-watch', invoke('scan-watch', scanWatch)) });
  // On the Gantry bus: Release Finished / Rollback Drilled → the anchor signer (decision 048).
  cloud.addGantryRule({
    name: 'release-finished-sign',
    pattern: { source: ['gantry'], 'detail-type': [...RECORD_FINISHED_DETAIL_TYPES] },
    target: chaos.asyncInvoke('anchor-sign', invoke('anchor-sign', anchorSign)),
  });
  cloud.scheduleScanEvents();
  cloud.timerHandler = chaos.asyncInvoke('bake-timer', invoke('bake-timer', bakeTimer));
  return sfn;
}

/** What runs in each stage before the scenario starts: in the ledger, then in the clusters. */
export async function seedStages(world: SimWorld): Promise<void> {
  const { scenario, ledger, cloud, config, deps, options } = world;
  for (const [key, st] of Object.entries(scenario.stages)) {
    const [svc, stage] = key.split('/') as [string, string];
    // An addition to docs/scenarios.md: `promoted`, the digests promoted there before, oldest first (operator rollback targets).
    for (const d of st.promoted ?? []) await ledger.markGood(svc, stage, d, scenario.clock);
    if (st.lastKnownGood) await ledger.markGood(svc, stage, st.lastKnownGood, scenario.clock);
    if (st.running) {
      if (st.running !== st.lastKnownGood) await ledger.markGood(svc, stage, st.running, scenario.clock);
      await ledger.setRunning(svc, stage, st.running, scenario.clock);
      if (st.lastKnownGood && st.running !== st.lastKnownGood) {
        // running is not known good: re-assert the last known good without losing history order.
        await ledger.markGood(svc, stage, st.lastKnownGood, scenario.clock, { history: false });
      }
    }
  }
  // ... and in the clusters: each stage's workload runs the `running` digest (local/kube.ts).
  seedWorkloads(cloud.kube, config, scenario.stages, deps.runtime.ecrRegistry);
  options.prepareCloud?.(cloud);
}

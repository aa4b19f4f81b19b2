/**
 * `gantry simulate`: run a scenario through the real workflows and the real handlers, with dynalite
 * as the ledger and the local cloud for everything else, on a virtual clock.
 */
import './polyfill';
import { configHash, stageWorkload } from '../lambdas/domain/config';
import { parseIsoDuration } from '../lambdas/domain/durations';
import {
  alarmStateChangePattern,
  cloudTrailPutImagePattern,
  cloudTrailStartExecutionPattern,
  ecrPushPattern,
  executionStatusChangePattern,
} from '../lambdas/domain/event-patterns';
import { type LedgerEvent, verifyChain } from '../lambdas/domain/ledger';
import type { DriftFinding, InsightCheckData, InsightRecord, StaleFinding } from '../lambdas/domain/insight';
import { OPERATOR_ROUTES } from '../lambdas/domain/operator-requests';
import { rollbackFromText } from '../lambdas/domain/release';
import { DynamoLedger } from '../lambdas/adapters/dynamo-ledger';
import { sdkMaxAttempts } from '../lambdas/adapters/retry';
import { type Deps, LOCAL_RUNTIME } from '../lambdas/ports';
import { VirtualClock } from './clock';
import { ACCOUNT, LocalCloud, REGION, detId } from './cloud';
import { withScenarioKeys } from './image-artifacts';
import { Chaos, type ChaosOptions, type ChaosStats, LocalSdkRetryStrategy } from './chaos';
import { startDynalite } from './dynalite';
import { type HandlerRun, LocalStepFunctions, stateMachineArn } from './engine';
import type { LoadedScenario, ScriptLine } from './scenario';

import { run as alarmGate } from '../lambdas/alarm-gate';
import { run as approvalDecide } from '../lambdas/approval-decide';
import { run as approvalRequest } from '../lambdas/approval-request';
import { run as windowGate } from '../lambdas/window-gate';
import { run as alarmWatch } from '../lambdas/alarm-watch';
import { run as bakeRegister } from '../lambdas/bake-register';
import { run as bakeTimer } from '../lambdas/bake-timer';
import { run as imageGates } from '../lambdas/image-gates';
import { run as intake } from '../lambdas/intake';
import { run as operatorApi } from '../lambdas/operator-api';
import { decisionEvent, iamApiEvent } from './api-events';
import { run as prepareRelease } from '../lambdas/prepare-release';
import { run as reconciler } from '../lambdas/reconciler';
import { run as recordStep } from '../lambdas/record-step';
import { run as rollbackPrepare } from '../lambdas/rollback-prepare';
import { run as stageLease } from '../lambdas/stage-lease';
import { run as deployCheck } from '../lambdas/deploy-check';
import { run as insightPlan } from '../lambdas/insight-plan';
import { run as insightRecord } from '../lambdas/insight-record';
import { run as rolloutCheck } from '../lambdas/rollout-check';
import { type HandlerName, workflowHandlers } from '../lambdas/registry';
import { seedWorkloads } from './kube';

/**
 * Every handler's `run`, keyed by the registry's names (lambdas/registry.ts): the local runtime invokes the
 * same code as Lambda. test/unit/handler-registry.test.ts checks the keys against the registry.
 */
export const LOCAL_HANDLERS = {
  'prepare-release': prepareRelease,
  'stage-lease': stageLease,
  'deploy-check': deployCheck,
  'window-gate': windowGate,
  'image-gates': imageGates,
  'alarm-gate': alarmGate,
  'record-step': recordStep,
  'bake-register': bakeRegister,
  'bake-timer': bakeTimer,
  'alarm-watch': alarmWatch,
  intake,
  reconciler,
  'rollback-prepare': rollbackPrepare,
  'approval-request': approvalRequest,
  'approval-decide': approvalDecide,
  'insight-plan': insightPlan,
  'insight-record': insightRecord,
  'rollout-check': rolloutCheck,
  'operator-api': operatorApi,
} as const satisfies Record<HandlerName, (event: unknown, deps: never) => Promise<unknown>>;

/** The handlers the workflows invoke, by name (what the local Step Functions calls; bench/release.ts wraps them). */
export const HANDLERS: Record<string, HandlerRun> = Object.fromEntries(workflowHandlers().map((name) => [name, LOCAL_HANDLERS[name] as HandlerRun]));

export interface SimGate {
  gate: string;
  result: string;
  reason: string;
}

export interface SimStage {
  name: string;
  status: string;
  reason?: string;
  gates: SimGate[];
  approval?: { decision: string; principal?: string; at: string; comment?: string };
  deployedDigest?: string;
  rollback?: Record<string, unknown>;
  startedAt?: string;
  endedAt?: string;
}

export interface SimRelease {
  releaseId: string;
  kind: string;
  service: string;
  digest: string | null;
  tag: string | null;
  initiator: string | null;
  status: string;
  reason?: string;
  startedAt: string;
  endedAt?: string;
  stages: SimStage[];
  audit: { events: number; verified: boolean; problems?: string[] };
}

export interface TimelineEntry {
  at: string;
  release?: string;
  stage?: string;
  event: string;
  result?: string;
  reason?: string;
  [k: string]: unknown;
}

export interface SimulationOutput {
  scenario: string;
  simulated: true;
  releases: SimRelease[];
  stages: Record<string, { running?: string; lastKnownGood?: string; promoted?: string[] }>;
  deployments: Array<{ service: string; stage: string; digest: string; kind: string; startedAt: string; endedAt?: string; result?: string; releaseId: string }>;
  skipped: Array<{ repository: string; tag?: string; digest?: string; reason: string; at: string }>;
  unused: Array<{ index: number; line: ScriptLine; reason: string }>;
  timeline: TimelineEntry[];
  executions: Array<{ name: string; machine: string; status: string; error?: string; transitions: number; largestState?: { name: string; bytes: number } }>;
  /** Every lifecycle event put on the Gantry bus (docs/contracts.md §4), in order: source gantry, detail-type, detail. */
  lifecycle: Array<{ at: string; source: 'gantry'; detailType: string; detail: Record<string, unknown> }>;
  /** Stage leases still held when the simulation ended (always empty unless something leaked). */
  leasesHeld: Array<{ owner: string; service: string; stage: string }>;
  /** The clusters' Deployments when the simulation ended (cluster = the config's cluster key): what each container runs. */
  workloads: Array<{ cluster: string; namespace: string; name: string; generation: number; containers: Record<string, string>; annotations: Record<string, string> }>;
  /** The insight checks the scenario ran (`insight-check` triggers), oldest first: stale services and drift as each found them. */
  insight: { checks: Array<{ at: string; checkId: string; stale: StaleFinding[]; drift: DriftFinding[]; inSync: number }> };
  /** With chaos mode: the faults injected and the retries that absorbed them (local/chaos.ts). */
  chaos?: ChaosStats;
  warnings: string[];
  clock: { start: string; end: string };
}

export interface SimulationResult {
  output: SimulationOutput;
  ledgerEvents: LedgerEvent[];
  /** The insight chain the run wrote (one record per insight check), oldest first. */
  insightRecords: InsightRecord[];
}

const LABELS: Record<string, (e: LedgerEvent) => string> = {
  'release.started': (e) => (e.data.kind === 'rollback' ? 'Rollback Requested' : 'Release Started'),
  'release.attributed': (e) => (e.data.source === 'CloudTrail StartExecution' ? 'Initiator Identified' : 'Pusher Identified'),
  'approval.refused': () => 'Approval Refused',
  'stage.started': () => 'Stage Started',
  'stage.waiting': (e) => `Waiting for ${String(e.data.waitingFor ?? 'something')}`,
  'lease.acquired': () => 'Lease Acquired',
  'lease.released': () => 'Lease Released',
  'lease.lost': () => 'Lease Taken by Rollback',
  'gate.evaluated': (e) => `Gate ${String(e.data.gate)}`,
  'deploy.started': (e) => (e.data.kind === 'rollback' ? 'Rollback Deploy Started' : 'Deploy Started'),
  'deploy.finished': (e) => (e.data.kind === 'rollback' ? 'Rollback Deploy Finished' : e.data.result === 'SUCCEEDED' ? 'Stage Deployed' : 'Deploy Failed'),
  'bake.started': () => 'Bake Started',
  'bake.event-ignored': () => 'Alarm Event Ignored',
  'bake.finished': () => 'Bake Finished',
  'stage.promoted': () => 'Stage Promoted',
  'rollback.started': () => 'Rollback Started',
  'rollback.finished': () => 'Rollback Finished',
  'stage.finished': () => 'Stage Finished',
  'release.finished': () => 'Release Finished',
};

function ledgerEntry(e: LedgerEvent): TimelineEntry {
  const d = e.data;
  const result = (d.result ?? d.status) as string | undefined;
  let reason = (d.reason ?? d.message) as string | undefined;
  if (e.type === 'release.started') reason = `${d.service} ${d.digest ?? '(tag not found)'}${d.tag ? ` (${d.tag})` : ''} by ${d.initiator}`;
  if (e.type === 'deploy.started') reason = `${d.digest}`;
  if (e.type === 'rollback.started') reason = `${d.reason}; ${rollbackFromText(d as { fromDigest?: string; fromDeployed?: boolean })} → ${d.toDigest}`;
  if (e.type === 'bake.started') reason = `${d.bakeMinutes} min against ${(d.alarms as string[]).join(', ') || 'no alarms'}`;
  if (e.type === 'stage.waiting') reason = (d.reason ?? (d.holder ? `held by ${d.holder}` : undefined)) as string | undefined;
  return {
    at: e.at,
    release: e.releaseId,
    ...(e.stage ? { stage: e.stage } : {}),
    event: LABELS[e.type]?.(e) ?? e.type,
    ...(result ? { result } : {}),
    ...(reason ? { reason } : {}),
  };
}

/** One DynamoDB request a handler's ledger sent (the command and its input, as lib-dynamodb has them). */
export interface LedgerRequest {
  /** `GetCommand`, `PutCommand`, `UpdateCommand`, `DeleteCommand`, `QueryCommand`, `ScanCommand`. */
  readonly command: string;
  readonly input: Readonly<Record<string, unknown>>;
}

export interface SimulateOptions {
  /**
   * Stop at this virtual instant (ms since the epoch) instead of running until nothing is left to
   * happen: executions still running then are left as they are in the ledger (a local Gantry's "now",
   * cli/backends/local-backend.ts), and `clock.end` is this instant.
   */
  readonly until?: number;
  /**
   * Faults (local/chaos.ts): every AWS call fails its first `transientFailures` attempts, or every
   * handler crashes once right after its first ledger append. The output gains `chaos` (what was
   * injected and retried).
   */
  readonly chaos?: ChaosOptions;
  /**
   * For tests: called once the scenario's stages are in the ledger and the clusters, before the first trigger
   * (to give the local Deployments full container specs, for instance).
   */
  readonly prepareCloud?: (cloud: LocalCloud) => void;
  /**
   * Called with every DynamoDB request a handler's ledger sends, and which handler sent it (each handler
   * then gets a ledger of its own over the same table). test/workflow/ledger-access.test.ts checks each
   * against the IAM statements of that handler's role.
   */
  readonly observeLedger?: (handler: string, request: LedgerRequest) => void;
}

export async function simulate(loaded: LoadedScenario, options: SimulateOptions = {}): Promise<SimulationResult> {
  const { scenario } = loaded;
  const startMs = Date.parse(scenario.clock);
  const clock = new VirtualClock(new Date(startMs));
  const cloud = new LocalCloud(scenario, clock);
  // keys: { name: "generate" } — the config's signing key of that name becomes the local cloud's public half.
  const config = withScenarioKeys(loaded.config, cloud.signingKeys);
  const dynamo = await startDynalite({ inProcess: true });
  try {
    // Faults only while the scenario runs (chaos.during below), never in this set-up or the read-out.
    const chaos = new Chaos(options.chaos ?? {}, clock, false);
    // The ledger's SDK client retries as the real one does (lambdas/adapters/retry.ts), without real-time
    // backoff; injected DynamoDB faults arrive at its wire, below the retry middleware.
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
    // StartBuild is called by the workflow itself (the optimised CodeBuild integration): faulted here.
    const checkFault = cloud.checkFault.bind(cloud);
    cloud.checkFault = (service: string, operation: string) => {
      checkFault(service, operation);
      if (service === 'codebuild') chaos.check(service, operation, undefined);
    };
    const ledger = new DynamoLedger({ client: dynamo.doc, tableName: dynamo.tableName });
    let sfn: LocalStepFunctions | undefined;
    const deps: Deps = {
      config,
      configHash: configHash(config),
      ledger,
      // Each port as a handler sees it in AWS: through the SDK client's retries (and chaos faults).
      registry: chaos.port('ecr', cloud),
      alarms: chaos.port('cloudwatch', cloud),
      tasks: chaos.port('sfn', cloud),
      timers: chaos.port('scheduler', cloud),
      bus: chaos.port('eventbridge', cloud),
      now: () => clock.now(),
      // Not in Lambda (no EMF printed), images pinned to the simulation's registry host, no region set aside.
      runtime: LOCAL_RUNTIME,
      executions: chaos.port('sfn', {
        home: { account: ACCOUNT, region: REGION },
        start: async (name: string, input: unknown) => {
          cloud.checkFault('sfn', 'StartExecution');
          if (!sfn) throw new Error('local Step Functions not ready');
          return sfn.start('release', name, input);
        },
        describe: async (name: string) => {
          cloud.checkFault('sfn', 'DescribeExecution');
          const rec = sfn?.executions.get(name);
          return rec && rec.machine === 'release' ? { status: rec.status, input: rec.input } : undefined;
        },
      }),
    };
    /** With `observeLedger`: each handler's own ledger, whose every DynamoDB request is reported as that handler's. */
    const ledgers = new Map<string, DynamoLedger>();
    const ledgerOf = (handler: string): DynamoLedger => {
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
    /** Operator requests the operator API did not accept for a reason other than their input. */
    const operatorWarnings: string[] = [];
    /** The rollback workflow, as the operator API starts it (StartExecution on the rollback state machine). */
    const operatorRollbacks = chaos.port('sfn', {
      start: async (name: string, input: unknown) => {
        cloud.checkFault('sfn', 'StartExecution');
        if (!sfn) throw new Error('local Step Functions not ready');
        return sfn.start('rollback', name, input);
      },
    });
    /** What a handler invocation gets: the deps (its own ledger when observed), or with crashAfterLedgerWrite a ledger that crashes it once. */
    const depsOf = (name: string, d: Deps = deps): Deps => chaos.depsFor(name, options.observeLedger ? { ...d, ledger: ledgerOf(name) } : d);
    const invoke =
      <E>(name: string, run: (event: E, d: Deps) => Promise<unknown>) =>
      (event: E) =>
        run(event, depsOf(name));

    // Script lines: phase-keyed lines fire relative to the first time that phase begins; `at` lines at
    // that offset from the start. Every action takes either form (docs/scenarios.md).
    const fired = new Set<number>();
    /** Why a line that fired did nothing (reported in `unused`). */
    const idle = new Map<number, string>();
    const consumedDeploy = new Set<number>();
    const phaseSeen = new Set<string>();
    /** Releases that entered the approval phase of a stage: `${releaseId}/${stage}`. */
    const approvalsEntered = new Set<string>();
    const serviceOf = (ex: { input: unknown }) => (ex.input as { service?: string } | undefined)?.service;
    const running = () => [...(sfn?.executions.values() ?? [])].filter((ex) => ex.status === 'RUNNING');
    /** The releases (and stages) waiting for an approval now: entered the approval phase, no decision recorded yet. */
    const waitingApprovals = async () => {
      const out: Array<{ releaseId: string; stage: string }> = [];
      for (const ex of running()) {
        if (ex.machine !== 'release') continue;
        const summary = await ledger.getRelease(ex.name);
        for (const st of summary?.stages ?? []) {
          if (approvalsEntered.has(`${ex.name}/${st.name}`) && st.status === 'WAITING' && !st.approval) out.push({ releaseId: ex.name, stage: st.name });
        }
      }
      return out;
    };
    const decide = async (index: number, line: ScriptLine, target: { releaseId: string; stage: string }) => {
      // Through the same Lambda logic as the approval API, with the caller as API Gateway's IAM auth reports it.
      const decision = line.approve ? 'approve' : 'reject';
      const who = (line.approve ?? line.reject) as { principal: string; comment?: string };
      const event = decisionEvent(
        who.principal,
        { releaseId: target.releaseId, stage: target.stage, decision, ...(who.comment ? { comment: who.comment } : {}) },
        { at: clock.now(), requestId: `sim-${index}` },
      );
      // API Gateway answers 502 when the function fails; the operator (or the CLI) asks again.
      let res: Awaited<ReturnType<typeof approvalDecide>>;
      for (let attempt = 1; ; attempt++) {
        try {
          res = await approvalDecide(event, depsOf('approval-decide'));
          if (res.statusCode < 500 || attempt >= 3) break;
        } catch (e) {
          if (attempt >= 3) throw e;
        }
        chaos.countRetry('operator:approval');
      }
      const body = JSON.parse(res.body) as { message?: string; decision?: string };
      cloud.note(res.statusCode === 200 ? 'Approval Decided' : 'Approval Refused', {
        principal: who.principal,
        decision,
        status: res.statusCode,
        message: body.message ?? body.decision ?? '',
      });
    };
    /** `phaseRelease`: for a phase-keyed line, the release whose phase it was. */
    const fire = async (index: number, line: ScriptLine, phaseRelease?: string) => {
      fired.add(index);
      if (line.alarm) {
        const ev = cloud.setAlarm(line.alarm.name, line.alarm.state, line.alarm.reason);
        if (ev) cloud.putEvent(ev);
      } else if (line.event) {
        cloud.putEvent(line.event as Record<string, unknown>);
      } else if (line.fault) {
        cloud.addFault(line.fault.service, line.fault.operation, line.fault.error, line.fault.count);
      } else if (line.abort) {
        // On a phase: the release in that phase of that stage. At a time: every execution of the service,
        // or with `stage`, those whose record shows that stage in progress.
        const svc = line.abort.service;
        const stage = line.abort.stage;
        const targets = [];
        for (const ex of running()) {
          if (serviceOf(ex) !== svc || ex.machine === 'insight') continue;
          if (phaseRelease !== undefined && ex.name !== phaseRelease) continue;
          if (phaseRelease === undefined && stage !== undefined) {
            const st = (await ledger.getRelease(ex.name))?.stages.find((x) => x.name === stage);
            if (st?.status !== 'WAITING') continue;
          }
          targets.push(ex);
        }
        for (const ex of targets) if (sfn?.abort(ex.name)) cloud.note('Execution Aborted', { execution: ex.name, by: 'scenario' });
        if (targets.length === 0)
          idle.set(index, phaseRelease ? `release ${phaseRelease} had already ended` : `no execution of ${svc}${stage ? ` in stage ${stage}` : ''} was running`);
      } else if (line.approve || line.reject) {
        const w = line.when;
        if ('phase' in w) {
          // The execution that entered the phase, while it runs; else the first running one of the service (release or rollback).
          const candidates = running().filter((ex) => (ex.machine === 'release' || ex.machine === 'rollback') && serviceOf(ex) === w.service);
          const releaseId = (candidates.find((ex) => ex.name === phaseRelease) ?? candidates[0])?.name;
          if (!releaseId) {
            fired.delete(index);
            return;
          }
          await decide(index, line, { releaseId, stage: w.stage });
        } else {
          // At a time: every approval waiting at that moment.
          const waiting = await waitingApprovals();
          if (waiting.length === 0) idle.set(index, 'no release was waiting for an approval at that time');
          for (const target of waiting) await decide(index, line, target);
        }
      }
    };
    const hooks = {
      onPhase(service: string, stage: string, phase: string, releaseId: string) {
        if (phase === 'approval') approvalsEntered.add(`${releaseId}/${stage}`);
        const key = `${service}/${stage}/${phase}`;
        if (phaseSeen.has(key)) return;
        phaseSeen.add(key);
        scenario.script.forEach((line, i) => {
          const w = line.when;
          if (!('phase' in w) || w.service !== service || w.stage !== stage || w.phase !== phase || line.deploy) return;
          clock.schedule(clock.nowMs() + parseIsoDuration(w.after), () => fire(i, line, releaseId));
        });
      },
      /** A driver run's scripted outcome: the first unused `deploy` line on its phase, or one whose `at` has come. */
      driverScript(service: string, stage: string, phase: 'deploy' | 'rollback') {
        const i = scenario.script.findIndex((l, idx) => {
          if (consumedDeploy.has(idx) || !l.deploy) return false;
          const w = l.when;
          return 'phase' in w ? w.service === service && w.stage === stage && w.phase === phase : clock.nowMs() >= startMs + parseIsoDuration(w.at);
        });
        if (i < 0) return undefined;
        consumedDeploy.add(i);
        fired.add(i);
        return scenario.script[i]?.deploy;
      },
    };
    const handlers: Record<string, HandlerRun> = Object.fromEntries(
      Object.entries(HANDLERS).map(([name, run]) => [name, (event: unknown, d: Deps) => run(event, depsOf(name, d))]),
    );
    sfn = new LocalStepFunctions(clock, cloud, handlers, deps, hooks, ['release', 'rollback', 'insight']);

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
      pattern: executionStatusChangePattern([stateMachineArn('release'), stateMachineArn('rollback')]),
      target: chaos.asyncInvoke('reconciler', invoke('reconciler', reconciler)),
    });
    cloud.timerHandler = chaos.asyncInvoke('bake-timer', invoke('bake-timer', bakeTimer));

    // What runs in each stage before the scenario starts.
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

    scenario.triggers.forEach((t, i) => {
      clock.schedule(startMs + parseIsoDuration(t.at), async () => {
        const now = clock.now().toISOString();
        if (t.type === 'ecr-push') {
          cloud.pushImage(t.repository, t.digest, t.tag);
          cloud.note('Push Received', { repository: t.repository, tag: t.tag, digest: t.digest, copies: t.copies });
          const actionId = detId('ecr-push', String(i), t.digest);
          for (let c = 0; c < t.copies; c++) {
            if (t.principal) cloud.putEvent(cloudTrailPutImage(t.repository, t.tag, t.digest, t.principal, now, detId('cloudtrail', String(i), t.digest)));
            cloud.putEvent({
              version: '0',
              id: actionId,
              'detail-type': 'ECR Image Action',
              source: 'aws.ecr',
              account: ACCOUNT,
              time: now.replace(/\.\d{3}Z$/, 'Z'),
              region: REGION,
              resources: [],
              detail: { result: 'SUCCESS', 'repository-name': t.repository, 'image-digest': t.digest, 'action-type': 'PUSH', ...(t.tag ? { 'image-tag': t.tag } : {}) },
            });
          }
        } else if (t.type === 'event') {
          for (let c = 0; c < t.copies; c++) cloud.putEvent(t.event as Record<string, unknown>);
        } else if (t.type === 'console-start') {
          // As the Step Functions console does it: StartExecution, and nothing written anywhere else.
          const started = sfn?.start(t.workflow, t.name, t.input);
          cloud.note('Console Start', { execution: t.name, workflow: t.workflow, ...(started?.alreadyExists ? { alreadyExists: true } : {}) });
        } else if (t.type === 'insight-check') {
          // The daily check, as EventBridge Scheduler would start it (statemachines/insight.asl.json).
          sfn?.start('insight', `insight-${now.replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z')}-${i}`, {});
        } else if (t.type === 'kubectl-set-image') {
          const st = config.services[t.service]?.stages.find((x) => x.name === t.stage);
          const w = st ? stageWorkload(st) : undefined;
          const cluster = st?.cluster ?? '';
          const deployment = w?.deployment ?? t.service;
          const container = t.container ?? w?.container ?? t.service;
          cloud.kube.setImage(cluster, st?.namespace ?? 'default', deployment, container, t.image);
          cloud.note('Image Set Out Of Band', { service: t.service, stage: t.stage, cluster, deployment, container, image: t.image });
        } else if (t.type === 'freeze' || t.type === 'start' || t.type === 'rollback') {
          // Operators never write the ledger: each request goes through the operator API's Lambda, with the
          // event API Gateway would deliver for that principal. API Gateway's request id is the trigger's
          // index (it names the execution: operator-api makes the name from it).
          const route = t.type === 'freeze' ? OPERATOR_ROUTES.setFreeze : t.type === 'rollback' ? OPERATOR_ROUTES.startRollback : OPERATOR_ROUTES.startRelease;
          const body = t.type === 'freeze' ? { state: t.state, reason: t.reason } : t.input;
          const event = iamApiEvent(t.principal, { method: route.method, resource: route.resource, path: route.resource, body }, { at: clock.now(), requestId: String(i) });
          const res = await operatorApi(event, { ...depsOf('operator-api'), rollbacks: operatorRollbacks });
          const answer = JSON.parse(res.body) as { message?: string; problems?: string[]; releaseId?: string };
          if (t.type === 'freeze') {
            if (res.statusCode === 200) cloud.note(t.state === 'on' ? 'Freeze On' : 'Freeze Off', { reason: t.reason, principal: t.principal });
            else cloud.note('Freeze Refused', { principal: t.principal, status: res.statusCode, cause: [answer.message, ...(answer.problems ?? [])].join('; ') });
          } else if (res.statusCode === 400) {
            cloud.note('Input Rejected', { principal: t.principal, status: res.statusCode, cause: [answer.message, ...(answer.problems ?? [])].join('; ') });
          } else if (res.statusCode !== 200) {
            operatorWarnings.push(`the operator API answered the ${t.type} trigger ${i} with HTTP ${res.statusCode}: ${answer.message ?? ''}`);
          }
        }
      });
    });
    scenario.script.forEach((line, i) => {
      // A `deploy` line at a time is taken by the first driver run that starts from then on (driverScript).
      if ('at' in line.when && !line.deploy) clock.schedule(startMs + parseIsoDuration(line.when.at), () => fire(i, line));
    });

    await chaos.during(() => clock.run(options.until !== undefined ? { until: options.until } : {}));
    const stoppedEarly = options.until !== undefined && clock.pending() > 0;

    const warnings: string[] = [...operatorWarnings];
    for (const e of clock.errors) warnings.push(`internal: ${(e as Error).stack ?? String(e)}`);
    for (const f of cloud.deliveryFailures) warnings.push(`event delivery to ${f.rule} failed: ${f.error}`);
    if (!stoppedEarly)
      for (const ex of sfn.executions.values())
        if (ex.status === 'RUNNING') warnings.push(`execution ${ex.name} is still RUNNING with nothing left to happen (waiting for a decision the scenario never gives)`);

    // ------------------------------------------------------------ output
    const summaries = await ledger.listReleases();
    const releases: SimRelease[] = [];
    const ledgerEvents: LedgerEvent[] = [];
    const timeline: TimelineEntry[] = [];
    const external: TimelineEntry[] = [];
    for (const s of [...summaries].sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.releaseId.localeCompare(b.releaseId))) {
      const events = await ledger.events(s.releaseId);
      ledgerEvents.push(...events);
      const v = verifyChain(events);
      timeline.push(...events.map(ledgerEntry));
      releases.push({
        releaseId: s.releaseId,
        kind: s.kind,
        service: s.service,
        digest: s.digest ?? null,
        tag: s.tag ?? null,
        initiator: s.initiator ?? null,
        status: s.status,
        reason: s.reason,
        startedAt: s.startedAt,
        endedAt: s.endedAt,
        stages: s.stages.map((st) => ({
          name: st.name,
          status: st.status,
          ...(st.reason ? { reason: st.reason } : {}),
          gates: st.gates.map((g) => ({ gate: g.gate, result: g.result, reason: g.reason })),
          ...(st.approval ? { approval: st.approval } : {}),
          ...(st.deployedDigest ? { deployedDigest: st.deployedDigest } : {}),
          ...(st.rollback ? { rollback: { ...st.rollback } } : {}),
          ...(st.startedAt ? { startedAt: st.startedAt } : {}),
          ...(st.endedAt ? { endedAt: st.endedAt } : {}),
        })),
        audit: { events: v.events, verified: v.ok, ...(v.ok ? {} : { problems: v.problems }) },
      });
    }
    const leasesHeld: SimulationOutput['leasesHeld'] = [];
    for (const r of releases) for (const l of await ledger.leasesOf(r.releaseId)) leasesHeld.push({ owner: r.releaseId, ...l });
    if (!stoppedEarly) for (const l of leasesHeld) warnings.push(`lease ${l.service}/${l.stage} still held by ${l.owner}`);
    const stages: SimulationOutput['stages'] = {};
    for (const [svcName, svc] of Object.entries(config.services)) {
      for (const st of svc.stages) {
        const p = await ledger.getPointer(svcName, st.name);
        if (p && (p.running || p.lastKnownGood))
          stages[`${svcName}/${st.name}`] = { ...(p.running ? { running: p.running } : {}), ...(p.lastKnownGood ? { lastKnownGood: p.lastKnownGood } : {}) };
      }
    }
    const skipped = (await ledger.listSkips()).map((s) => ({
      repository: s.repository,
      ...(s.tag ? { tag: s.tag } : {}),
      ...(s.digest ? { digest: s.digest } : {}),
      reason: s.reason,
      at: s.at,
    }));
    for (const s of skipped) external.push({ at: s.at, event: 'Push Skipped', reason: `${s.repository}:${s.tag ?? '(no tag)'} — ${s.reason}` });
    for (const n of cloud.notes) {
      const d = n.detail;
      const reason =
        n.event === 'Alarm State Changed'
          ? `${d.alarm}: ${d.from} → ${d.to}`
          : n.event === 'Fault Injected'
            ? `${d.service} ${d.operation} → ${d.error}`
            : n.event === 'Approval Decided' || n.event === 'Approval Refused'
              ? `${d.decision} by ${d.principal}: HTTP ${d.status} ${d.message}`
              : n.event === 'Freeze On' || n.event === 'Freeze Off'
                ? `${d.reason} (by ${d.principal})`
                : n.event === 'Execution Aborted'
                  ? `stopped by the ${d.by ?? 'scenario'}`
                  : n.event === 'Input Rejected'
                    ? `${d.cause}`
                    : n.event === 'Push Received'
                      ? `${d.repository}:${d.tag ?? '(no tag)'} ${d.digest}${Number(d.copies) > 1 ? ` ×${d.copies}` : ''}`
                      : n.event === 'Console Start'
                        ? `StartExecution ${d.execution} of the ${d.workflow} workflow from the console: no start record${d.alreadyExists ? ' (the name was taken: nothing started)' : ''}`
                        : n.event === 'Image Set Out Of Band'
                          ? `kubectl set image ${d.service}/${d.stage}: ${d.deployment}/${d.container} → ${d.image}`
                          : JSON.stringify(d);
      external.push({ at: n.at, event: n.event, reason, ...(typeof d.execution === 'string' ? { release: d.execution } : {}) });
    }
    // The insight checks: one line per check, one per finding.
    const insightRecords = await ledger.listInsights();
    for (const r of insightRecords) {
      const d = r.data as Partial<InsightCheckData>;
      const drift = d.drift ?? [];
      const stale = d.stale ?? [];
      external.push({ at: r.at, event: 'Insight Check', reason: `${drift.length} drifted, ${d.inSync?.length ?? 0} in sync, ${stale.length} stale (record #${r.seq})` });
      for (const f of drift) external.push({ at: r.at, stage: f.stage, event: 'Drift Detected', result: 'DRIFTED', reason: `${f.service}/${f.stage} [${f.kind}]: ${f.reason}` });
      for (const f of stale) external.push({ at: r.at, event: 'Service Stale', result: 'STALE', reason: `${f.service}: ${f.reason}` });
    }
    // Stable: by time; within one instant, external happenings first, then each release's own order.
    timeline.unshift(...external);
    const order = new Map(timeline.map((t, i) => [t, i]));
    timeline.sort((a, b) => a.at.localeCompare(b.at) || (order.get(a) ?? 0) - (order.get(b) ?? 0));

    const unused = scenario.script.flatMap((line, index) => {
      const why = idle.get(index);
      if (fired.has(index) && why === undefined) return [];
      const never =
        'at' in line.when
          ? line.deploy
            ? 'no driver run started after its time'
            : 'its time never came'
          : 'its phase never came (or, for an approval, no release of that service was waiting)';
      return [{ index, line, reason: why ?? never }];
    });
    const output: SimulationOutput = {
      scenario: scenario.name,
      simulated: true,
      releases,
      stages,
      deployments: cloud.deployments.map((d) => ({
        service: d.service,
        stage: d.stage,
        digest: d.digest,
        kind: d.kind,
        startedAt: d.startedAt,
        ...(d.endedAt ? { endedAt: d.endedAt } : {}),
        ...(d.result ? { result: d.result } : {}),
        releaseId: d.releaseId,
      })),
      skipped: skipped.map(({ at, ...rest }) => ({ ...rest, at })),
      unused,
      timeline,
      executions: [...sfn.executions.values()].map((e) => ({
        name: e.name,
        machine: e.machine,
        status: e.status,
        ...(e.error ? { error: e.error } : {}),
        transitions: e.transitions,
        ...(e.largestState ? { largestState: e.largestState } : {}),
      })),
      lifecycle: cloud.lifecycle.map((e) => ({ at: e.at, source: 'gantry' as const, detailType: e.detailType, detail: e.detail })),
      leasesHeld,
      workloads: cloud.kube.all().map((d) => ({
        cluster: d.cluster,
        namespace: d.namespace,
        name: d.name,
        generation: d.generation,
        containers: Object.fromEntries(d.containers.map((c) => [c.name, c.image])),
        annotations: { ...d.annotations },
      })),
      insight: {
        checks: insightRecords.map((r) => {
          const d = r.data as Partial<InsightCheckData>;
          return { at: r.at, checkId: r.checkId, stale: d.stale ?? [], drift: d.drift ?? [], inSync: d.inSync?.length ?? 0 };
        }),
      },
      ...(chaos.active ? { chaos: chaos.stats } : {}),
      warnings,
      clock: { start: scenario.clock, end: options.until !== undefined ? new Date(Math.max(options.until, clock.nowMs())).toISOString() : clock.now().toISOString() },
    };
    if (options.until !== undefined) {
      // Stopped at `until`: end the executions left running (after the output was read) and release
      // every sleeper, so no task is left racing the engine's real timeout.
      for (const ex of sfn.executions.values()) if (ex.status === 'RUNNING') sfn.abort(ex.name);
      clock.stop();
      await clock.quiesce();
    }
    return { output, ledgerEvents, insightRecords };
  } finally {
    await dynamo.close();
  }
}

function cloudTrailPutImage(repository: string, tag: string | undefined, digest: string, principal: string, at: string, id: string): Record<string, unknown> {
  const time = at.replace(/\.\d{3}Z$/, 'Z');
  return {
    version: '0',
    id,
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.ecr',
    account: ACCOUNT,
    time,
    region: REGION,
    resources: [],
    detail: {
      eventVersion: '1.08',
      userIdentity: { type: principal.includes(':assumed-role/') ? 'AssumedRole' : 'IAMUser', arn: principal, accountId: ACCOUNT },
      eventTime: time,
      eventSource: 'ecr.amazonaws.com',
      eventName: 'PutImage',
      awsRegion: REGION,
      requestParameters: { repositoryName: repository, ...(tag ? { imageTag: tag } : {}), registryId: ACCOUNT },
      responseElements: { image: { repositoryName: repository, registryId: ACCOUNT, imageId: { imageDigest: digest, ...(tag ? { imageTag: tag } : {}) } } },
      eventID: id,
      eventType: 'AwsApiCall',
    },
  };
}

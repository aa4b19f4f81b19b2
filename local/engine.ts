/**
 * Runs Gantry's real statemachines/*.asl.json on aws-local-stepfunctions, on the virtual clock.
 * Every Task state is overridden by state name with a local implementation chosen from its Resource:
 * a Lambda ARN → that handler's `run` in-process; `lambda:invoke.waitForTaskToken` → the handler,
 * then the local task-token API; `codebuild:startBuild.sync` → the local driver; Wait states are
 * rewritten into Tasks that sleep on the virtual clock.
 */
import './polyfill';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import { parseIsoDuration } from '../lambdas/domain/durations';
import { DRIVERS, type DriverName, driverOf } from '../drivers';
import { driverTimeouts } from '../lambdas/domain/release';
import { driverLocal, type LocalDriverRun } from './drivers';
import { stageWorkload } from '../lambdas/domain/config';
import type { Deps } from '../lambdas/ports';
import { functionPlaceholder, workflowHandlers } from '../lambdas/registry';
import type { VirtualClock } from './clock';
import { ACCOUNT, type DeploymentRecord, type LocalCloud, REGION, detId } from './cloud';
import type { EksCallRequest, RolloutScript } from './kube';

export type HandlerRun = (event: unknown, deps: Deps) => Promise<unknown>;

/** `${XxxFunctionArn}` → handler name, for every handler the workflows invoke (lambdas/registry.ts). */
export const FUNCTION_PLACEHOLDERS: Record<string, string> = Object.fromEntries(workflowHandlers().map((name) => [functionPlaceholder(name), name]));

export const functionArn = (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:gantry-${name}`;
export const stateMachineArn = (name: string) => `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:gantry-${name}`;
/** The local CodeBuild project of a driver: `gantry-<driver>`. */
export const localProjectName = (driver: string) => `gantry-${driver}`;
export const HELM_PROJECT = localProjectName('helm');
export const TERRAFORM_PROJECT = localProjectName('terraform');
const WAIT_RESOURCE = 'arn:aws:states:::sim:wait';
/** Engine-side task timeout (real seconds). Timeouts that matter are enforced in virtual time. */
const ENGINE_TIMEOUT_SECONDS = 1_000_000;

type Json = Record<string, unknown>;
type State = Json & { Type: string; Resource?: string };

export function substitutions(): Record<string, string> {
  const subs: Record<string, string> = {};
  // Each CodeBuild driver's project (drivers/index.ts), e.g. HelmProjectName → gantry-helm.
  for (const d of DRIVERS) if (d.codeBuild) subs[d.codeBuild.projectPlaceholder] = localProjectName(d.name);
  for (const [ph, fn] of Object.entries(FUNCTION_PLACEHOLDERS)) subs[ph] = functionArn(fn);
  return subs;
}

export function loadDefinition(name: string, subs = substitutions()): Json {
  const text = readFileSync(join(__dirname, '..', 'statemachines', `${name}.asl.json`), 'utf8');
  const replaced = text.replace(/\$\{([A-Za-z0-9]+)\}/g, (m, key: string) => {
    const v = subs[key];
    if (v === undefined) throw new Error(`no substitution for ${m} in ${name}.asl.json`);
    return v;
  });
  return JSON.parse(replaced) as Json;
}

/** Rewrite a definition for the local engine: Waits become virtual-time Tasks, task timeouts move to virtual time. */
export function prepareForEngine(def: Json, waits: Map<string, State>, tasks: Map<string, State>): Json {
  const copy = structuredClone(def) as { States: Record<string, State> };
  prepareStates(copy.States, waits, tasks);
  return copy as unknown as Json;
}

/** The rewrite of one States object; a Map's ItemProcessor (or Iterator) is rewritten the same way (state names are unique per definition). */
function prepareStates(states: Record<string, State>, waits: Map<string, State>, tasks: Map<string, State>): void {
  const copy = { States: states };
  for (const [name, state] of Object.entries(copy.States)) {
    if (state.Type === 'Wait') {
      waits.set(name, { ...state });
      const { Seconds, SecondsPath, Timestamp, TimestampPath, ...rest } = state;
      void Seconds;
      void SecondsPath;
      void Timestamp;
      void TimestampPath;
      copy.States[name] = { ...rest, Type: 'Task', Resource: WAIT_RESOURCE };
    } else if (state.Type === 'Task') {
      tasks.set(name, { ...state });
      moveCredentials(name, state);
      delete state.TimeoutSecondsPath;
      delete state.HeartbeatSeconds;
      state.TimeoutSeconds = ENGINE_TIMEOUT_SECONDS;
    } else if (state.Type === 'Map') {
      // Used by the insight check only (its iterations catch every error, so no ghost iteration after a failure).
      const processor = (state.ItemProcessor ?? state.Iterator) as { States?: Record<string, State> } | undefined;
      if (!processor?.States) throw new Error(`state ${name}: Map without ItemProcessor.States`);
      prepareStates(processor.States, waits, tasks);
    } else if (state.Type === 'Parallel') {
      throw new Error(`state ${name}: the local runtime does not run ${state.Type} states (the workflows loop with Choice)`);
    }
  }
}

/**
 * The parameter a Task's `Credentials.RoleArn` travels in to the local implementation. aws-local-stepfunctions accepts
 * the `Credentials` field but does not pass it to a task override, so the engine moves it into `Parameters` (the
 * same JSONPath, resolved against the same state input) and the task checks it as Step Functions would assume it.
 */
export const TASK_ROLE_PARAMETER = '__gantryTaskRoleArn';

function moveCredentials(name: string, state: State): void {
  const credentials = state.Credentials as { RoleArn?: unknown; 'RoleArn.$'?: unknown } | undefined;
  if (credentials === undefined) return;
  const params = (state.Parameters ?? {}) as Json;
  if (typeof state.Parameters !== 'object' || state.Parameters === null) throw new Error(`state ${name}: a Task with Credentials needs Parameters in the local runtime`);
  if (typeof credentials['RoleArn.$'] === 'string') params[`${TASK_ROLE_PARAMETER}.$`] = credentials['RoleArn.$'];
  else if (typeof credentials.RoleArn === 'string') params[TASK_ROLE_PARAMETER] = credentials.RoleArn;
  else throw new Error(`state ${name}: Credentials without RoleArn or RoleArn.$`);
  state.Parameters = params;
  delete state.Credentials;
}

function jsonPathGet(obj: unknown, path: string): unknown {
  if (path === '$') return obj;
  let cur: unknown = obj;
  for (const seg of path.replace(/^\$\.?/, '').split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Json)[seg];
  }
  return cur;
}

/** Step Functions' limit on a state's input and output: 256 KiB of UTF-8 JSON (States.DataLimitExceeded above it). */
export const STATE_PAYLOAD_LIMIT_BYTES = 256 * 1024;

export interface ExecutionRecord {
  readonly name: string;
  readonly arn: string;
  readonly machine: string;
  readonly input: unknown;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT';
  error?: string;
  cause?: string;
  startedAt: string;
  stoppedAt?: string;
  aborted: boolean;
  abort?: () => void;
  /** States entered (Step Functions bills Standard workflows per state transition). */
  transitions: number;
  /** The largest state output of the execution, in bytes of JSON (Step Functions refuses more than 256 KiB). */
  largestState?: { name: string; bytes: number };
  pendingTokens: Set<string>;
}

export interface EngineHooks {
  /** A phase of a stage began (for script lines keyed on phases). */
  onPhase(service: string, stage: string, phase: string, releaseId: string): void;
  /** The scripted outcome of a driver run, if any. */
  driverScript(service: string, stage: string, phase: 'deploy' | 'rollback', cluster?: string): { result: 'SUCCEEDED' | 'FAILED'; message?: string; duration?: string } | undefined;
}

class TaskFailedError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export class LocalStepFunctions {
  readonly executions = new Map<string, ExecutionRecord>();
  private readonly machines = new Map<string, { sm: StateMachine; waits: Map<string, State>; tasks: Map<string, State> }>();
  private tokenSeq = 0;

  constructor(
    private readonly clock: VirtualClock,
    private readonly cloud: LocalCloud,
    private readonly handlers: Record<string, HandlerRun>,
    private readonly deps: Deps,
    private readonly hooks: EngineHooks,
    machineNames: readonly string[] = ['release', 'rollback'],
  ) {
    for (const m of machineNames) {
      const waits = new Map<string, State>();
      const tasks = new Map<string, State>();
      const def = prepareForEngine(loadDefinition(m), waits, tasks);
      // Validated once by the ASL test suite (asl-validator); construction without validation is cheap.
      const sm = new StateMachine(def as never, { validationOptions: { noValidate: true } });
      this.machines.set(m, { sm, waits, tasks });
    }
  }

  private handlerFor(arn: string): HandlerRun {
    const name = arn.replace(/^.*:function:gantry-/, '');
    const h = this.handlers[name];
    if (!h) throw new Error(`no local handler for ${arn}`);
    return h;
  }

  /** StartExecution: `alreadyExists` when the name was used before (running or finished). */
  start(machine: string, name: string, input: unknown): { executionArn: string; alreadyExists: boolean } {
    const arn = `arn:aws:states:${REGION}:${ACCOUNT}:execution:gantry-${machine}:${name}`;
    if (this.executions.has(name)) return { executionArn: this.executions.get(name)?.arn ?? arn, alreadyExists: true };
    const m = this.machines.get(machine);
    if (!m) throw new Error(`unknown state machine ${machine}`);
    const rec: ExecutionRecord = {
      name,
      arn,
      machine,
      input,
      status: 'RUNNING',
      startedAt: this.clock.now().toISOString(),
      aborted: false,
      pendingTokens: new Set(),
      transitions: 0,
    };
    this.executions.set(name, rec);
    const overrides: Record<string, (input: unknown) => Promise<unknown>> = {};
    const retryIntervalOverrides: Record<string, number> = {};
    for (const [stateName, state] of m.tasks) {
      overrides[stateName] = (inp) => this.runTask(rec, stateName, state, inp);
      retryIntervalOverrides[stateName] = 0;
    }
    for (const [stateName, state] of m.waits) overrides[stateName] = (inp) => this.runWait(rec, state, inp);
    const self = this;
    const exec = m.sm.run(input as never, {
      overrides: { taskResourceLocalHandlers: overrides as never, retryIntervalOverrides },
      context: {
        Execution: { Id: arn, Name: name, Input: input as never, StartTime: rec.startedAt },
        Task: {
          get Token() {
            self.tokenSeq++;
            return `AQB${detId('token', name, String(self.tokenSeq)).replace(/-/g, '')}${self.tokenSeq}`;
          },
        },
      } as never,
    });
    rec.abort = () => exec.abort();
    void (async () => {
      for await (const ev of exec.eventLogs) {
        if (ev.type === 'StateEntered') rec.transitions++;
        else if (ev.type === 'StateExited') {
          // Step Functions' payload limit: a state whose output exceeds it fails the execution, and no Catch can handle it.
          const bytes = Buffer.byteLength(JSON.stringify(ev.state.output ?? null), 'utf8');
          if (!rec.largestState || bytes > rec.largestState.bytes) rec.largestState = { name: ev.state.name, bytes };
          if (bytes > STATE_PAYLOAD_LIMIT_BYTES && rec.status === 'RUNNING') {
            this.finish(
              rec,
              'FAILED',
              'States.DataLimitExceeded',
              `The state/task '${ev.state.name}' returned a result with a size exceeding the maximum number of bytes service limit (${bytes} > ${STATE_PAYLOAD_LIMIT_BYTES}).`,
            );
            exec.abort();
          }
        }
      }
    })().catch(() => undefined);
    exec.result.then(
      () => this.finish(rec, 'SUCCEEDED'),
      (err: Error & { cause?: Error }) => {
        if (rec.aborted) return this.finish(rec, 'ABORTED');
        const c = err.cause;
        return this.finish(rec, 'FAILED', c?.name ?? err.name, c?.message ?? err.message);
      },
    );
    return { executionArn: arn, alreadyExists: false };
  }

  abort(name: string): boolean {
    const rec = this.executions.get(name);
    if (!rec || rec.status !== 'RUNNING') return false;
    rec.aborted = true;
    rec.abort?.();
    for (const t of rec.pendingTokens) this.cloud.dropToken(t);
    this.finish(rec, 'ABORTED');
    return true;
  }

  private finish(rec: ExecutionRecord, status: ExecutionRecord['status'], error?: string, cause?: string): void {
    if (rec.status !== 'RUNNING') return;
    rec.status = status;
    rec.error = error;
    rec.cause = cause;
    rec.stoppedAt = this.clock.now().toISOString();
    if (status === 'FAILED' && error === 'ValidationError') this.cloud.note('Input Rejected', { execution: rec.name, error, cause: cause ?? '' });
    const event = {
      version: '0',
      id: detId('sfn-status', rec.arn, status),
      'detail-type': 'Step Functions Execution Status Change',
      source: 'aws.states',
      account: ACCOUNT,
      time: rec.stoppedAt.replace(/\.\d{3}Z$/, 'Z'),
      region: REGION,
      resources: [rec.arn],
      detail: {
        executionArn: rec.arn,
        stateMachineArn: stateMachineArn(rec.machine),
        name: rec.name,
        status,
        startDate: Date.parse(rec.startedAt),
        stopDate: Date.parse(rec.stoppedAt),
        input: JSON.stringify(rec.input),
        output: null,
        ...(error ? { error, cause: cause ?? null } : {}),
      },
    };
    this.cloud.putEvent(event);
  }

  private guard(rec: ExecutionRecord): void {
    if (rec.aborted) throw new TaskFailedError('States.Aborted', 'execution aborted');
  }

  private async runWait(rec: ExecutionRecord, state: State, input: unknown): Promise<unknown> {
    let until: number;
    if (typeof state.Seconds === 'number') until = this.clock.nowMs() + state.Seconds * 1000;
    else if (typeof state.SecondsPath === 'string') until = this.clock.nowMs() + Number(jsonPathGet(input, state.SecondsPath)) * 1000;
    else if (typeof state.Timestamp === 'string') until = Date.parse(state.Timestamp);
    else if (typeof state.TimestampPath === 'string') until = Date.parse(String(jsonPathGet(input, state.TimestampPath)));
    else throw new Error('Wait state without Seconds, SecondsPath, Timestamp or TimestampPath');
    if (Number.isNaN(until)) throw new TaskFailedError('States.Runtime', 'Wait state computed an invalid time');
    await this.clock.sleepUntil(until);
    this.guard(rec);
    return input;
  }

  private async runTask(rec: ExecutionRecord, stateName: string, state: State, input: unknown): Promise<unknown> {
    this.guard(rec);
    // A task's input is the previous state's output: over the limit, Step Functions has already failed the execution.
    const bytes = Buffer.byteLength(JSON.stringify(input ?? null), 'utf8');
    if (bytes > STATE_PAYLOAD_LIMIT_BYTES) {
      const cause = `The state/task '${stateName}' has an input with a size exceeding the maximum number of bytes service limit (${bytes} > ${STATE_PAYLOAD_LIMIT_BYTES}).`;
      this.finish(rec, 'FAILED', 'States.DataLimitExceeded', cause);
      rec.abort?.();
      throw new TaskFailedError('States.DataLimitExceeded', cause);
    }
    const resource = state.Resource ?? '';
    if (resource.includes(':function:')) {
      const run = this.handlerFor(resource);
      const inp = input as Json;
      this.phaseFromState(stateName, inp);
      return this.clock.track(run(input, this.deps));
    }
    if (resource === 'arn:aws:states:::lambda:invoke.waitForTaskToken') {
      const params = input as { FunctionName: string; Payload: Json };
      const token = String(params.Payload.taskToken);
      const waiter = this.cloud.awaitToken(token);
      rec.pendingTokens.add(token);
      this.phaseFromState(stateName, params.Payload);
      // The task's timeout runs in virtual time (the workflow passes it in the payload as well).
      const timeoutSeconds = typeof params.Payload.timeoutSeconds === 'number' ? params.Payload.timeoutSeconds : undefined;
      let timedOut = false;
      const cancelTimeout =
        timeoutSeconds === undefined
          ? () => undefined
          : this.clock.timeout(timeoutSeconds * 1000, () => {
              if (!rec.pendingTokens.has(token)) return;
              timedOut = true;
              this.cloud.dropToken(token, 'States.Timeout', `the task did not complete within ${timeoutSeconds} seconds`);
            });
      try {
        await this.clock.track(this.handlerFor(params.FunctionName)(params.Payload, this.deps));
        const out = await waiter;
        this.guard(rec);
        return out as never;
      } catch (e) {
        if (timedOut) throw new TaskFailedError('States.Timeout', (e as Error).message);
        throw e;
      } finally {
        cancelTimeout();
        rec.pendingTokens.delete(token);
      }
    }
    if (resource === 'arn:aws:states:::codebuild:startBuild.sync') return this.runDriver(rec, input as Json);
    if (resource === 'arn:aws:states:::eks:call') return this.runEksCall(rec, input as Json);
    if (resource === 'arn:aws:states:::aws-sdk:eks:describeCluster') return this.runInsightEks(resource, input as Json);
    throw new Error(`state ${stateName}: no local implementation for ${resource}`);
  }

  /** Phase notifications for script lines: derived from which state is running. */
  private phaseFromState(stateName: string, input: Json): void {
    const releaseId = String(input.releaseId ?? '');
    const stage = typeof input.stage === 'string' ? input.stage : undefined;
    if (!stage) return;
    const phases: Record<string, string> = {
      CheckReleaseWindow: 'window',
      RunImageGates: 'gates',
      RequestApproval: 'approval',
      RequestPlanApproval: 'approval',
      BakeStage: 'bake',
      PollBakeAlarms: 'bake',
    };
    // A canary step's bake (drivers/kubernetes/canary-workflow.ts): phase canary-<n>, from the payload's phase id.
    const canaryPhase = stateName === 'BakeCanaryStep' ? (input.phase as { id?: unknown } | undefined)?.id : undefined;
    const phase = typeof canaryPhase === 'string' ? canaryPhase : phases[stateName];
    if (!phase) return;
    const service = this.serviceOf(releaseId);
    if (service) this.hooks.onPhase(service, stage, phase, releaseId);
  }

  private serviceOf(releaseId: string): string | undefined {
    const rec = this.executions.get(releaseId);
    const input = rec?.input as { service?: string } | undefined;
    return input?.service;
  }

  /**
   * `aws-sdk:eks:describeCluster` of a configured cluster (the insight check and the Kubernetes driver read the
   * endpoint and certificate authority before `eks:call`); an unknown name fails as EKS does.
   */
  private async runInsightEks(_resource: string, params: Json): Promise<unknown> {
    this.cloud.checkFault('eks', 'DescribeCluster');
    const name = String(params.Name ?? '');
    const known = Object.values(this.deps.config.clusters).some((c) => c.name === name);
    if (!known) throw new TaskFailedError('Eks.ResourceNotFoundException', `No cluster found for name: ${name}.`);
    return {
      Cluster: {
        Name: name,
        Arn: `arn:aws:eks:${REGION}:${ACCOUNT}:cluster/${name}`,
        Status: 'ACTIVE',
        Endpoint: `https://${detId('eks', name).replace(/-/g, '').slice(0, 32).toUpperCase()}.gr7.${REGION}.eks.amazonaws.com`,
        CertificateAuthority: { Data: 'TFMwdExTMUNSVWRKVGlCRFJWSlVTVVpKUTBGVVJTMHRMUzB0Q2c9PQ==' },
      },
    };
  }

  /**
   * The cluster an eks:call reaches, checked as AWS would: Step Functions assumes the task's `Credentials.RoleArn`
   * (a role the local IAM does not know fails the task, as an AssumeRole refused), and the role's account must own a
   * cluster of that name — the API server of a cluster in another account does not know the role (401 Unauthorized).
   * A task without Credentials runs as the state machine's role, in Gantry's own account.
   */
  private taskClusterKey(roleArn: unknown, clusterName: string): string {
    let account = ACCOUNT;
    if (roleArn !== undefined) {
      try {
        account = this.cloud.assumeRole(String(roleArn), 'gantry-states-task', `arn:aws:sts::${ACCOUNT}:assumed-role/gantry-local-state-machine/states`).account;
      } catch (e) {
        throw new TaskFailedError(
          'States.TaskFailed',
          `Step Functions could not assume the task's role ${String(roleArn)} (Credentials.RoleArn): ${(e as Error).name}: ${(e as Error).message}`,
        );
      }
    }
    const found = this.cloud.clusterIn(clusterName, account);
    if (found) return found.key;
    const anywhere = Object.entries(this.deps.config.clusters).find(([, c]) => c.name === clusterName);
    if (anywhere) {
      const unauthorized = {
        ResponseBody: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 },
        StatusCode: 401,
        StatusText: 'Unauthorized',
        Headers: {},
      };
      throw new TaskFailedError('EKS.401', JSON.stringify(unauthorized));
    }
    return clusterName;
  }

  /** Kubernetes driver runs (PUTs that start a rollout) still open, by cluster/namespace/deployment. */
  private readonly openRollouts = new Map<string, DeploymentRecord>();

  /**
   * `eks:call` against the local clusters (`cloud.kube`), for the Kubernetes driver and the insight check. A PUT
   * carrying Gantry's annotations is a driver run: it starts the deploy/rollback phase of its stage, takes the
   * scenario's `deploy` line for it (duration, FAILED = the rollout stalls with ProgressDeadlineExceeded) and is
   * listed in `deployments` until a read shows its rollout ended (or a later PUT replaces it). A PUT refused with a
   * 409 (a stale resourceVersion) is no run. A response of 400
   * or more fails the task as Step Functions does: Error `EKS.<status>`, Cause the response as JSON.
   */
  private async runEksCall(rec: ExecutionRecord, withRole: Json): Promise<unknown> {
    this.cloud.checkFault('eks', 'Call');
    const { [TASK_ROLE_PARAMETER]: roleArn, ...params } = withRole;
    const req = params as unknown as EksCallRequest;
    const clusterKey = this.taskClusterKey(roleArn, req.ClusterName);
    const cfg = Object.hasOwn(this.deps.config.clusters, clusterKey) ? this.deps.config.clusters[clusterKey] : undefined;
    const m = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)$/.exec(req.Path ?? '');
    const key = m ? `${clusterKey}/${m[1]}/${m[2]}` : '';
    let rollout: RolloutScript | undefined;
    let run: DeploymentRecord | undefined;
    const body = req.RequestBody as { metadata?: { annotations?: Record<string, unknown>; resourceVersion?: unknown } } | undefined;
    const ann = body?.metadata?.annotations;
    const stored = m ? this.cloud.kube.get(clusterKey, m[1] as string, m[2] as string) : undefined;
    // A PUT the API server will refuse with 409 (stale resourceVersion) starts no run and takes no scripted outcome.
    const stale = body?.metadata?.resourceVersion !== undefined && stored !== undefined && String(body.metadata.resourceVersion) !== String(stored.resourceVersion);
    if (req.Method === 'PUT' && m && !stale && typeof ann?.['gantry.dev/stage'] === 'string') {
      const service = this.serviceOf(rec.name) ?? '';
      const stage = ann['gantry.dev/stage'];
      const kind = ann['gantry.dev/kind'] === 'rollback' ? 'rollback' : 'deploy';
      this.hooks.onPhase(service, stage, kind, rec.name);
      const scripted = this.hooks.driverScript(service, stage, kind, clusterKey);
      rollout = {
        durationMs: scripted?.duration ? parseIsoDuration(scripted.duration) : 60_000,
        result: scripted?.result ?? 'SUCCEEDED',
        ...(scripted?.message ? { message: scripted.message } : {}),
      };
      run = {
        service,
        stage,
        digest: String(ann['gantry.dev/digest'] ?? ''),
        // The canary Deployment's writes (decision 043) are listed as `canary`; a `deploy` script line still scripts the canary's rollout.
        kind: ann['gantry.dev/canary'] === 'true' ? 'canary' : kind,
        releaseId: rec.name,
        buildId: `eks:${req.ClusterName}/${m[1]}/${m[2]}`,
        startedAt: this.clock.now().toISOString(),
        // A wave stage's run names its cluster (decision 044).
        ...(this.deps.config.services[service]?.stages.find((s) => s.name === stage)?.waves ? { cluster: clusterKey } : {}),
        ...(cfg && roleArn !== undefined ? { target: { cluster: clusterKey, account: cfg.account ?? ACCOUNT, region: cfg.region, roleArn: String(roleArn) } } : {}),
      };
    }
    const res = this.cloud.kube.eksCall(req, { cluster: clusterKey, ...(rollout ? { rollout } : {}) });
    if (run && res.StatusCode < 400) {
      const previous = this.openRollouts.get(key);
      if (previous) Object.assign(previous, { endedAt: run.startedAt, result: 'FAILED', message: 'replaced by a later update before its rollout ended' });
      this.cloud.deployments.push(run);
      this.openRollouts.set(key, run);
    }
    const open = this.openRollouts.get(key);
    const r = m ? this.cloud.kube.rolloutOf(clusterKey, m[1] as string, m[2] as string) : undefined;
    if (open && (!r || r.ended)) {
      // No rollout: the update left the pod template as it was (nothing to roll out). Else the rollout's own end.
      const endedAt = r ? new Date(Math.max(r.endsMs, Date.parse(open.startedAt))).toISOString() : this.clock.now().toISOString();
      const result = r?.result ?? 'SUCCEEDED';
      Object.assign(open, { endedAt, result, ...(result === 'FAILED' ? { message: r?.message ?? 'progress deadline exceeded' } : {}) });
      this.openRollouts.delete(key);
    }
    if (res.StatusCode >= 400) throw new TaskFailedError(`EKS.${res.StatusCode}`, JSON.stringify(res));
    return res;
  }

  private async runDriver(rec: ExecutionRecord, params: Json): Promise<unknown> {
    const env = Object.fromEntries(((params.EnvironmentVariablesOverride as Array<{ Name: string; Value: string }>) ?? []).map((v) => [v.Name, v.Value]));
    const kind = env.GANTRY_KIND === 'rollback' ? 'rollback' : 'deploy';
    const service = env.GANTRY_SERVICE ?? '';
    const stage = env.GANTRY_STAGE ?? '';
    const digest = env.GANTRY_DIGEST ?? '';
    this.hooks.onPhase(service, stage, kind, rec.name);
    // CodeBuild itself may be faulted.
    try {
      this.cloud.checkFault('codebuild', 'StartBuild');
    } catch (e) {
      throw new TaskFailedError((e as Error).name, (e as Error).message);
    }
    const stageCfg = this.deps.config.services[service]?.stages.find((s) => s.name === stage);
    // The cluster key of the run (GANTRY_CLUSTER_NAME and _REGION name it); a wave stage (decision 044) runs once per cluster.
    const cluster = this.clusterKeyOf(env.GANTRY_CLUSTER_NAME, env.GANTRY_CLUSTER_REGION) ?? stageCfg?.cluster;
    const waves = stageCfg?.waves !== undefined;
    const buildId = `${String(params.ProjectName)}:${waves ? detId('build', rec.name, stage, kind, cluster ?? '') : detId('build', rec.name, stage, kind)}`;
    const d: DeploymentRecord = { service, stage, digest, kind, releaseId: rec.name, buildId, startedAt: this.clock.now().toISOString(), ...(waves && cluster ? { cluster } : {}) };
    this.cloud.deployments.push(d);
    const scripted = this.hooks.driverScript(service, stage, kind, cluster);
    // CodeBuild ends a build at its project's timeout (lambdas/domain/release.ts driverTimeouts), which the
    // workflow's task timeout always exceeds: a build that runs too long fails as TIMED_OUT, not as States.Timeout.
    const driver = stageCfg ? driverOf(stageCfg.deploy.driver) : undefined;
    const buildMinutes = driver?.codeBuild ? driverTimeouts(this.deps.config, driver.name as DriverName).buildMinutes : undefined;
    const timeoutMs = buildMinutes !== undefined ? buildMinutes * 60_000 : Number.POSITIVE_INFINITY;
    const durationMs = scripted?.duration ? parseIsoDuration(scripted.duration) : 60_000;
    const timedOut = durationMs > timeoutMs;
    await this.clock.sleep(timedOut ? timeoutMs : durationMs);
    d.endedAt = this.clock.now().toISOString();
    if (rec.aborted) {
      d.result = 'FAILED';
      d.message = 'build stopped: execution aborted';
      throw new TaskFailedError('States.Aborted', 'execution aborted');
    }
    if (timedOut) {
      d.result = 'FAILED';
      d.message = `build timed out after ${timeoutMs / 60_000} minutes (the ${String(params.ProjectName)} project's timeout)`;
      const build = {
        Id: buildId,
        ProjectName: params.ProjectName,
        BuildStatus: 'TIMED_OUT',
        TimeoutInMinutes: timeoutMs / 60_000,
        StartTime: d.startedAt,
        EndTime: d.endedAt,
        Phases: [
          { PhaseType: 'SUBMITTED', PhaseStatus: 'SUCCEEDED' },
          { PhaseType: 'BUILD', PhaseStatus: 'TIMED_OUT', Contexts: [{ StatusCode: 'BUILD_TIMED_OUT', Message: d.message }] },
        ],
      };
      throw new TaskFailedError('States.TaskFailed', JSON.stringify({ Build: build }));
    }
    let ok = (scripted?.result ?? 'SUCCEEDED') === 'SUCCEEDED';
    const local = driver ? driverLocal(driver) : undefined;
    let failure = scripted?.message ?? local?.failureMessage ?? 'helm upgrade failed';
    // What the driver exports (its buildspec's env.exported-variables), computed as the real one does (drivers/<name>/local.ts).
    const run: DriverRun = {
      service,
      stage,
      digest,
      kind,
      releaseId: env.GANTRY_RELEASE_ID ?? rec.name,
      image: `${env.GANTRY_IMAGE_REPOSITORY ?? service}@${digest}`,
      at: d.endedAt,
    };
    let exported: Record<string, string> = {};
    let appliesNothing = false;
    if (stageCfg && local) {
      const evidence = local.evidence({
        cloud: this.cloud,
        run,
        deploy: stageCfg.deploy,
        scripted: scripted as ScriptedDriverRun | undefined,
        failure: ok ? undefined : failure,
        env,
      });
      exported = evidence.exported;
      // A run that applies nothing (a Terraform plan-only run, decision 049) is no deployment of the stage.
      if (evidence.applied === false) {
        appliesNothing = true;
        this.cloud.deployments.splice(this.cloud.deployments.indexOf(d), 1);
      }
      // The evidence is written before the decision; a refusal (a Terraform plan that destroys) stops the build (docs/drivers.md).
      if (ok && evidence.refusal) {
        ok = false;
        failure = evidence.refusal;
      }
    }
    d.result = ok ? 'SUCCEEDED' : 'FAILED';
    const streamName = buildId.slice(buildId.indexOf(':') + 1);
    const groupName = `/aws/codebuild/${String(params.ProjectName)}`;
    const build = {
      Id: buildId,
      Arn: `arn:aws:codebuild:${REGION}:${ACCOUNT}:build/${buildId}`,
      ProjectName: params.ProjectName,
      BuildStatus: d.result,
      StartTime: d.startedAt,
      EndTime: d.endedAt,
      Phases: [
        { PhaseType: 'SUBMITTED', PhaseStatus: 'SUCCEEDED' },
        { PhaseType: 'BUILD', PhaseStatus: d.result, Contexts: ok ? [{ StatusCode: '', Message: '' }] : [{ StatusCode: 'COMMAND_EXECUTION_ERROR', Message: failure }] },
      ],
      Logs: {
        GroupName: groupName,
        StreamName: streamName,
        DeepLink: `https://console.aws.amazon.com/cloudwatch/home?region=${REGION}#logEvent:group=${groupName};stream=${streamName}`,
      },
      ExportedEnvironmentVariables: Object.entries(exported).map(([Name, Value]) => ({ Name, Value })),
    };
    if (!ok) {
      d.message = failure;
      throw new TaskFailedError('States.TaskFailed', JSON.stringify({ Build: build }));
    }
    if (!appliesNothing) this.reflectOnCluster(env);
    return { Build: build };
  }

  /** A Helm/Terraform run that succeeded leaves the stage's workload (when it names one) running the image, as the real driver would, on the run's cluster. */
  private reflectOnCluster(env: Record<string, string | undefined>): void {
    const st = this.deps.config.services[env.GANTRY_SERVICE ?? '']?.stages.find((s) => s.name === env.GANTRY_STAGE);
    const w = st ? stageWorkload(st) : undefined;
    if (st && w && env.GANTRY_IMAGE_REPOSITORY && env.GANTRY_DIGEST) {
      const cluster = this.clusterKeyOf(env.GANTRY_CLUSTER_NAME, env.GANTRY_CLUSTER_REGION) ?? st.cluster;
      this.cloud.kube.setImage(cluster, st.namespace, w.deployment, w.container, `${env.GANTRY_IMAGE_REPOSITORY}@${env.GANTRY_DIGEST}`);
    }
  }

  /** The config's cluster key for a cluster name (and region, when given). */
  private clusterKeyOf(name: string | undefined, region: string | undefined): string | undefined {
    if (!name) return undefined;
    return Object.entries(this.deps.config.clusters).find(([, c]) => c.name === name && (region === undefined || c.region === region))?.[0];
  }
}

/** One driver run as the evidence helpers of `runDriver` see it (drivers/<name>/local.ts). */
type DriverRun = LocalDriverRun;

/** A scenario `deploy` line as the driver reads it (local/scenario.ts): `planDestroys` for a Terraform stage. */
type ScriptedDriverRun = NonNullable<ReturnType<EngineHooks['driverScript']>> & { readonly planDestroys?: number; readonly planStale?: boolean };

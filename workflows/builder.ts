/**
 * The primitives the workflows are written with. Each returns a plain ASL (JSONPath) state object;
 * `workflows/generate.ts` writes the composed definitions to `statemachines/*.asl.json`, which stay
 * committed: CDK deploys them, the console shows them and the local runtime runs them
 * (docs/decisions/028-workflow-builder.md says why this is not aws-cdk-lib's `aws-stepfunctions`).
 *
 * Fields keep their ASL names (`Comment`, `Parameters`, `ResultPath`, `Next`…) so a state reads the
 * same here as in the JSON; what the helpers add is what every state of a kind shares: the type,
 * the resource, the one retry policy of its service and the default timeout.
 */
import { LAMBDA_TASK_RETRY_ERRORS } from '../lambdas/adapters/errors';

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
/** One ASL state; the helpers fill `Type`, `Resource` and `Retry`. */
export type State = { Type: string; [field: string]: unknown };
export type States = Record<string, State>;
export interface StateMachine {
  Comment: string;
  StartAt: string;
  States: States;
}

export type Retrier = {
  ErrorEquals: string[];
  IntervalSeconds: number;
  MaxAttempts: number;
  BackoffRate: number;
  JitterStrategy?: 'FULL' | 'NONE';
};
export type Catcher = {
  ErrorEquals: string[];
  ResultPath?: string | null;
  Next: string;
};

/**
 * The one retry policy of every Lambda task: transient Lambda service errors, crashed sandboxes,
 * throttling and 5xx the SDK gave up on, and a lost ledger race (docs/decisions/014). The names
 * come from `LAMBDA_TASK_RETRY_ERRORS`; this is the only place a workflow lists them.
 */
export const LAMBDA_RETRY: Retrier = { ErrorEquals: [...LAMBDA_TASK_RETRY_ERRORS], IntervalSeconds: 2, MaxAttempts: 4, BackoffRate: 2 };
/** `codebuild:startBuild.sync`: the service's throttling and limit errors, a little slower. */
export const CODEBUILD_RETRY: Retrier = {
  ErrorEquals: ['CodeBuild.CodeBuildException', 'CodeBuild.AccountLimitExceededException', 'ThrottlingException'],
  IntervalSeconds: 10,
  MaxAttempts: 3,
  BackoffRate: 2,
};
/**
 * `eks:call` reads: the Kubernetes API's 429 and 5xx (`EKS.<status>`, the error names eks:call
 * reports for an HTTP error from the API server).
 */
export const EKS_CALL_READ_RETRY: Retrier = {
  ErrorEquals: ['ThrottlingException', 'ServiceUnavailableException', 'EKS.429', 'EKS.500', 'EKS.502', 'EKS.503', 'EKS.504'],
  IntervalSeconds: 2,
  MaxAttempts: 4,
  BackoffRate: 2,
};
/**
 * `eks:call` writes: only answers that say the write did not happen (429, 503). A 500, 502 or 504
 * may have been applied; the rollout check sees it, a blind retry would not.
 */
export const EKS_CALL_WRITE_RETRY: Retrier = {
  ErrorEquals: ['ThrottlingException', 'ServiceUnavailableException', 'EKS.429', 'EKS.503'],
  IntervalSeconds: 2,
  MaxAttempts: 4,
  BackoffRate: 2,
};

/** Seconds a Lambda task may run unless it says otherwise (the functions' own timeout is shorter). */
export const LAMBDA_TASK_TIMEOUT_SECONDS = 120;

/** Catch everything and go to `next`, keeping the error at `resultPath` (default `$.error`). */
export function catchAll(next: string, resultPath: string | null = '$.error'): Catcher {
  return { ErrorEquals: ['States.ALL'], ResultPath: resultPath, Next: next };
}

/** Catch the named errors and go to `next`. */
export function catchOn(errors: string[], next: string, resultPath: string | null = '$.error'): Catcher {
  return { ErrorEquals: [...errors], ResultPath: resultPath, Next: next };
}

type TaskFields = {
  Comment?: string;
  Parameters?: Json;
  ResultSelector?: Json;
  ResultPath?: string | null;
  OutputPath?: string;
  Catch?: Catcher[];
  Next?: string;
  End?: true;
  TimeoutSecondsPath?: string;
  [field: string]: unknown;
};

/**
 * A task invoking one of Gantry's functions directly (`${<Fn>FunctionArn}`, the function's output
 * is the task's result), with the Lambda retry policy. `TimeoutSeconds` defaults to 120; `null`
 * leaves the task without one.
 */
export function lambdaTask(fn: string, fields: TaskFields & { TimeoutSeconds?: number | null }): State {
  const { TimeoutSeconds, ...rest } = fields;
  const timeout = TimeoutSeconds === null || rest.TimeoutSecondsPath ? {} : { TimeoutSeconds: TimeoutSeconds ?? LAMBDA_TASK_TIMEOUT_SECONDS };
  return withRetry({ Type: 'Task', Resource: `\${${fn}FunctionArn}`, ...rest, ...timeout }, [LAMBDA_RETRY]);
}

/**
 * A task that invokes a function with a task token (`lambda:invoke.waitForTaskToken`) and waits for
 * the token to be sent back; `Payload` gets `taskToken` from `$$.Task.Token`.
 */
export function callbackTask(fn: string, fields: TaskFields & { Payload: Record<string, Json>; TimeoutSeconds?: number }): State {
  const { Payload, ...rest } = fields;
  return withRetry(
    {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      ...rest,
      Parameters: { FunctionName: `\${${fn}FunctionArn}`, Payload: { 'taskToken.$': '$$.Task.Token', ...Payload } },
    },
    [LAMBDA_RETRY],
  );
}

/** A service-integration task (`arn:aws:states:::…`) with the given retry policy. */
export function serviceTask(resource: string, retry: Retrier[], fields: TaskFields & { TimeoutSeconds?: number }): State {
  return withRetry({ Type: 'Task', Resource: resource, ...fields }, retry);
}

/** The Step Functions resource of a Kubernetes API call through EKS. */
export const EKS_CALL_RESOURCE = 'arn:aws:states:::eks:call';

/**
 * An `eks:call` task, run with the target cluster's role: `Credentials: { "RoleArn.$": "<target>.roleArn" }`, where
 * `target` is the JSONPath of an object carrying `roleArn` (the Kubernetes plan's `$.kube.target`, the insight
 * check's `$.target`). That role is the cluster's `roleArn` in another account, else the stack's ClusterAccessRole
 * (issue 18, docs/decisions/045-clusters-in-other-accounts.md). Every eks:call state of every workflow is built here
 * (test/workflow/eks-credentials.test.ts checks it).
 */
export function eksCallTask(target: string, retry: Retrier[], fields: TaskFields & { TimeoutSeconds?: number }): State {
  if (!/^\$(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(target)) throw new Error(`eksCallTask: expected a JSONPath such as $.kube.target, got ${JSON.stringify(target)}`);
  const { Comment, ...rest } = fields;
  return withRetry({ Type: 'Task', ...(Comment !== undefined ? { Comment } : {}), Resource: EKS_CALL_RESOURCE, Credentials: { 'RoleArn.$': `${target}.roleArn` }, ...rest }, retry);
}

/** Places `Retry` before `Catch` so a state reads: what, result, retry, catch, next. */
function withRetry(state: State, retry: Retrier[]): State {
  const { Catch, Next, End, ...head } = state;
  const out: State = { ...head, Retry: retry.map((r) => ({ ...r, ErrorEquals: [...r.ErrorEquals] })) };
  if (Catch !== undefined) out.Catch = Catch;
  if (Next !== undefined) out.Next = Next;
  if (End !== undefined) out.End = End;
  return out;
}

/** A Lambda task of any kind: a direct function ARN placeholder or the lambda:invoke integration. */
export function isLambdaTask(state: { Type?: string; Resource?: unknown }): boolean {
  const r = typeof state.Resource === 'string' ? state.Resource : '';
  return state.Type === 'Task' && (/FunctionArn\}$/.test(r) || r.startsWith('arn:aws:states:::lambda:invoke'));
}

/** A Choice on one string field: each value goes to its state, anything else to `otherwise`. */
export function choiceOn(variable: string, cases: Record<string, string>, otherwise: string, comment?: string): State {
  return {
    Type: 'Choice',
    ...(comment ? { Comment: comment } : {}),
    Choices: Object.entries(cases).map(([value, next]) => ({ Variable: variable, StringEquals: value, Next: next })),
    Default: otherwise,
  };
}

/**
 * Joins fragments into one `States` map, refusing a state name defined twice (a fragment that
 * silently replaced another's state would change the process without a trace).
 */
export function states(...parts: States[]): States {
  const out: States = {};
  for (const part of parts) {
    for (const [name, state] of Object.entries(part)) {
      if (name in out) throw new DuplicateStateError(name);
      out[name] = state;
    }
  }
  return out;
}

export class DuplicateStateError extends Error {
  constructor(readonly stateName: string) {
    super(`state ${stateName} is defined twice`);
    this.name = 'DuplicateStateError';
  }
}

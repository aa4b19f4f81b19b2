/** TaskTokens and Executions over AWS Step Functions (AWS SDK v3). */
import { DescribeExecutionCommand, SendTaskFailureCommand, SendTaskSuccessCommand, type SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import type { ExecutionDescription, Executions, ExecutionStop, TaskTokens } from '../ports';
import { ConfigError, isAwsError, rethrow } from './errors';

/** SendTaskFailure limits: `error` ≤ 256 characters, `cause` ≤ 32,768 characters. */
export const TASK_ERROR_MAX = 256;
export const TASK_CAUSE_MAX = 32_768;

/** The task already ended (timed out, or its execution stopped): nothing left to tell it. */
const TASK_ALREADY_ENDED = ['TaskTimedOut', 'InvalidToken'];

export class SfnTaskTokens implements TaskTokens {
  constructor(private readonly client: SFNClient) {}

  /** Resolves quietly when the task has already ended (TaskTimedOut, InvalidToken). */
  async sendSuccess(token: string, output: unknown): Promise<void> {
    try {
      await this.client.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(output === undefined ? {} : output) }));
    } catch (e) {
      if (isAwsError(e, ...TASK_ALREADY_ENDED)) return;
      rethrow(e);
    }
  }

  /** Resolves quietly when the task has already ended (TaskTimedOut, InvalidToken). */
  async sendFailure(token: string, error: string, cause: string): Promise<void> {
    try {
      await this.client.send(new SendTaskFailureCommand({ taskToken: token, error: truncate(error, TASK_ERROR_MAX), cause: truncate(cause, TASK_CAUSE_MAX) }));
    } catch (e) {
      if (isAwsError(e, ...TASK_ALREADY_ENDED)) return;
      rethrow(e);
    }
  }
}

const EXECUTION_STATUSES: ReadonlyArray<ExecutionDescription['status']> = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE'];

export class SfnExecutions implements Executions {
  private readonly executionArnPrefix: string;
  /** The state machine's account and region: the stack's own. */
  readonly home: { readonly account: string; readonly region: string };

  /** @throws ConfigError when `stateMachineArn` is not a state machine ARN. */
  constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArn: string,
  ) {
    this.executionArnPrefix = executionArnPrefix(stateMachineArn);
    const [, , , region = '', account = ''] = stateMachineArn.split(':');
    this.home = { account, region };
  }

  /**
   * DescribeExecution by name: its status and input. ExecutionDoesNotExist → undefined (never started, or
   * closed more than 90 days ago: Step Functions then forgets it and the name can be used again).
   */
  async describe(name: string): Promise<ExecutionDescription | undefined> {
    try {
      const out = await this.client.send(new DescribeExecutionCommand({ executionArn: this.executionArn(name) }));
      const status = EXECUTION_STATUSES.find((s) => s === out.status);
      if (!status) throw new Error(`DescribeExecution of ${name} answered an unknown status ${JSON.stringify(out.status)}`);
      let input: unknown;
      try {
        input = out.input === undefined ? undefined : JSON.parse(out.input);
      } catch {
        input = out.input;
      }
      return { status, input };
    } catch (e) {
      if (isAwsError(e, 'ExecutionDoesNotExist')) return undefined;
      return rethrow(e);
    }
  }

  /**
   * StartExecution named `name`. ExecutionAlreadyExists (a closed execution of that name, or a running
   * one with other input) → `alreadyExists: true` with the ARN that execution has. Note that Step
   * Functions answers a repeat of a RUNNING execution with the same input as a success, with the
   * original ARN (`alreadyExists: false`).
   */
  async start(name: string, input: unknown): Promise<{ executionArn: string; alreadyExists: boolean }> {
    try {
      const out = await this.client.send(new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name, input: JSON.stringify(input === undefined ? {} : input) }));
      return { executionArn: out.executionArn ?? this.executionArn(name), alreadyExists: false };
    } catch (e) {
      if (isAwsError(e, 'ExecutionAlreadyExists')) return { executionArn: this.executionArn(name), alreadyExists: true };
      return rethrow(e);
    }
  }

  /**
   * StopExecution (decision 053), then DescribeExecution: Step Functions documents no error for a stop of an
   * execution that has already closed, so only its status afterwards tells a stop that took (ABORTED) from an
   * execution that had ended meanwhile. ExecutionDoesNotExist → `stopped: false` and no status.
   */
  async stop(name: string, error: string, cause: string): Promise<ExecutionStop> {
    const executionArn = this.executionArn(name);
    try {
      await this.client.send(new StopExecutionCommand({ executionArn, error: truncate(error, TASK_ERROR_MAX), cause: truncate(cause, TASK_CAUSE_MAX) }));
    } catch (e) {
      if (isAwsError(e, 'ExecutionDoesNotExist')) return { executionArn, stopped: false };
      return rethrow(e);
    }
    const after = await this.describe(name);
    return { executionArn, stopped: after?.status === 'ABORTED', ...(after ? { status: after.status } : {}) };
  }

  /** arn:aws:states:r:a:stateMachine:X → arn:aws:states:r:a:execution:X:<name> */
  executionArn(name: string): string {
    return `${this.executionArnPrefix}${name}`;
  }
}

/**
 * `arn:<partition>:states:<region>:<account>:stateMachine:<name>[:<version or alias>]` →
 * `arn:<partition>:states:<region>:<account>:execution:<name>:` (executions of a version or an alias
 * are named under the state machine itself).
 */
export function executionArnPrefix(stateMachineArn: string): string {
  const parts = stateMachineArn.split(':');
  if (parts.length < 7 || parts[0] !== 'arn' || parts[2] !== 'states' || parts[5] !== 'stateMachine' || !parts[6]) {
    throw new ConfigError(`not a Step Functions state machine ARN: ${JSON.stringify(stateMachineArn)}`);
  }
  return `${[...parts.slice(0, 5), 'execution', parts[6]].join(':')}:`;
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

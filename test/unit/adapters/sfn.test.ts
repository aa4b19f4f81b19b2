import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'vitest';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  InvalidOutput,
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  SFNServiceException,
  StartExecutionCommand,
  StopExecutionCommand,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { ConfigError, TransientAwsError } from '../../../lambdas/adapters/errors';
import { executionArnPrefix, SfnExecutions, SfnTaskTokens } from '../../../lambdas/adapters/sfn';

const STATE_MACHINE = 'arn:aws:states:eu-west-2:111122223333:stateMachine:gantry-release';
const throttling = () => new SFNServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded' });

describe('SfnTaskTokens', () => {
  const client = new SFNClient({ region: 'eu-west-2' });
  const sfn = mockClient(client);
  const tasks = new SfnTaskTokens(client);
  beforeEach(() => sfn.reset());

  it('sends success with the output as JSON', async () => {
    sfn.on(SendTaskSuccessCommand).resolves({});

    await tasks.sendSuccess('token-1', { approved: true, by: 'arn:aws:iam::111122223333:role/Approver' });

    assert.deepEqual(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input, {
      taskToken: 'token-1',
      output: '{"approved":true,"by":"arn:aws:iam::111122223333:role/Approver"}',
    });
  });

  it('sends failure with the error name and cause', async () => {
    sfn.on(SendTaskFailureCommand).resolves({});

    await tasks.sendFailure('token-1', 'AlarmFired', 'payments-prod-5xx went to ALARM');

    assert.deepEqual(sfn.commandCalls(SendTaskFailureCommand)[0]?.args[0].input, {
      taskToken: 'token-1',
      error: 'AlarmFired',
      cause: 'payments-prod-5xx went to ALARM',
    });
  });

  it('trims an error and a cause to the lengths Step Functions accepts', async () => {
    sfn.on(SendTaskFailureCommand).resolves({});

    await tasks.sendFailure('token-1', 'E'.repeat(300), 'c'.repeat(40_000));

    const input = sfn.commandCalls(SendTaskFailureCommand)[0]?.args[0].input;
    assert.equal(input?.error?.length, 256);
    assert.equal(input?.cause?.length, 32_768);
  });

  it('resolves quietly when the task has timed out', async () => {
    sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));

    await assert.doesNotReject(tasks.sendSuccess('token-1', {}));
    assert.equal(sfn.commandCalls(SendTaskSuccessCommand).length, 1);
  });

  it('resolves quietly when the token is no longer valid', async () => {
    sfn.on(SendTaskFailureCommand).rejects(new InvalidToken({ message: 'Invalid Token', $metadata: {} }));

    await assert.doesNotReject(tasks.sendFailure('token-1', 'AlarmFired', 'x'));
    assert.equal(sfn.commandCalls(SendTaskFailureCommand).length, 1);
  });

  it('passes any other refusal through', async () => {
    const invalid = new InvalidOutput({ message: 'Invalid Output', $metadata: {} });
    sfn.on(SendTaskSuccessCommand).rejects(invalid);

    await assert.rejects(tasks.sendSuccess('token-1', {}), (e: unknown) => e === invalid);
  });

  it('rethrows throttling as ThrottlingException', async () => {
    sfn.on(SendTaskSuccessCommand).rejects(throttling());

    await assert.rejects(tasks.sendSuccess('token-1', {}), (e: unknown) => e instanceof TransientAwsError && e.name === 'ThrottlingException');
  });
});

describe('SfnExecutions', () => {
  const client = new SFNClient({ region: 'eu-west-2' });
  const sfn = mockClient(client);
  const executions = new SfnExecutions(client, STATE_MACHINE);
  beforeEach(() => sfn.reset());

  it('starts an execution with the name and the input as JSON', async () => {
    const arn = 'arn:aws:states:eu-west-2:111122223333:execution:gantry-release:payments-abc';
    sfn.on(StartExecutionCommand).resolves({ executionArn: arn, startDate: new Date('2026-11-24T10:00:00Z') });

    const result = await executions.start('payments-abc', { service: 'payments', digest: 'sha256:abc' });

    assert.deepEqual(result, { executionArn: arn, alreadyExists: false });
    assert.deepEqual(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input, {
      stateMachineArn: STATE_MACHINE,
      name: 'payments-abc',
      input: '{"service":"payments","digest":"sha256:abc"}',
    });
  });

  it('treats ExecutionAlreadyExists as done and names the existing execution', async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));

    const result = await executions.start('payments-abc', {});

    assert.deepEqual(result, { executionArn: 'arn:aws:states:eu-west-2:111122223333:execution:gantry-release:payments-abc', alreadyExists: true });
  });

  it('rethrows throttling as ThrottlingException', async () => {
    sfn.on(StartExecutionCommand).rejects(throttling());

    await assert.rejects(executions.start('payments-abc', {}), { name: 'ThrottlingException' });
  });

  it('describes an execution by name: its status and its input, parsed', async () => {
    sfn
      .on(DescribeExecutionCommand)
      .resolves({ status: 'FAILED', input: '{"service":"payments","image":{"digest":"sha256:abc"}}', executionArn: 'x', stateMachineArn: STATE_MACHINE, startDate: new Date() });

    const d = await executions.describe('payments-abc');

    assert.deepEqual(d, { status: 'FAILED', input: { service: 'payments', image: { digest: 'sha256:abc' } } });
    assert.deepEqual(sfn.commandCalls(DescribeExecutionCommand)[0]?.args[0].input, { executionArn: 'arn:aws:states:eu-west-2:111122223333:execution:gantry-release:payments-abc' });
  });

  it('describes an execution that does not exist as undefined', async () => {
    sfn.on(DescribeExecutionCommand).rejects(new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} }));

    assert.equal(await executions.describe('payments-abc'), undefined);
  });

  it('rethrows a throttled DescribeExecution as transient', async () => {
    sfn.on(DescribeExecutionCommand).rejects(throttling());

    await assert.rejects(executions.describe('payments-abc'), (e: unknown) => e instanceof TransientAwsError && e.name === 'ThrottlingException');
  });

  it('knows its home: the account and region of the state machine', () => {
    assert.deepEqual(executions.home, { account: '111122223333', region: 'eu-west-2' });
    assert.deepEqual(new SfnExecutions(client, 'arn:aws-us-gov:states:us-gov-west-1:444455556666:stateMachine:r').home, { account: '444455556666', region: 'us-gov-west-1' });
  });

  it('refuses at construction an ARN that is not a state machine', () => {
    assert.throws(
      () => new SfnExecutions(client, 'arn:aws:lambda:eu-west-2:111122223333:function:intake'),
      (e: unknown) => e instanceof ConfigError && /arn:aws:lambda/.test(e.message),
    );
  });
});

describe('executionArnPrefix', () => {
  it('names executions of a version under the state machine in its partition', () => {
    assert.equal(
      executionArnPrefix('arn:aws-us-gov:states:us-gov-west-1:111122223333:stateMachine:gantry-release:3'),
      'arn:aws-us-gov:states:us-gov-west-1:111122223333:execution:gantry-release:',
    );
  });
});

describe('SfnExecutions.stop (decision 053)', () => {
  const client = new SFNClient({ region: 'eu-west-2' });
  const sfn = mockClient(client);
  const rollbacks = new SfnExecutions(client, 'arn:aws:states:eu-west-2:111122223333:stateMachine:gantry-rollback');
  const ARN = 'arn:aws:states:eu-west-2:111122223333:execution:gantry-rollback:payments-api-rollback-20261124T100000Z-abc123';
  beforeEach(() => sfn.reset());

  it('stops the named execution with the error and cause, then reads its status: ABORTED is a stop that took', async () => {
    sfn.on(StopExecutionCommand).resolves({ stopDate: new Date('2026-11-24T10:00:01Z') });
    sfn.on(DescribeExecutionCommand).resolves({ status: 'ABORTED', input: '{}' });

    const r = await rollbacks.stop(
      'payments-api-rollback-20261124T100000Z-abc123',
      'Gantry.Aborted',
      '{"abortedBy":"arn:aws:iam::111122223333:user/carol","reason":"wrong digest"}',
    );

    assert.deepEqual(
      sfn.commandCalls(StopExecutionCommand).map((c) => c.args[0].input),
      [{ executionArn: ARN, error: 'Gantry.Aborted', cause: '{"abortedBy":"arn:aws:iam::111122223333:user/carol","reason":"wrong digest"}' }],
    );
    assert.deepEqual(
      sfn.commandCalls(DescribeExecutionCommand).map((c) => c.args[0].input),
      [{ executionArn: ARN }],
    );
    assert.deepEqual(r, { executionArn: ARN, stopped: true, status: 'ABORTED' });
  });

  it('says not stopped, with the status it had ended in, when the execution finished before the stop', async () => {
    sfn.on(StopExecutionCommand).resolves({ stopDate: new Date('2026-11-24T09:59:00Z') });
    sfn.on(DescribeExecutionCommand).resolves({ status: 'SUCCEEDED', input: '{}' });
    assert.deepEqual(await rollbacks.stop('x-1', 'Gantry.Aborted', 'c'), {
      executionArn: 'arn:aws:states:eu-west-2:111122223333:execution:gantry-rollback:x-1',
      stopped: false,
      status: 'SUCCEEDED',
    });
  });

  it('says not stopped, with no status, for ExecutionDoesNotExist (and describes nothing)', async () => {
    sfn.on(StopExecutionCommand).rejects(new ExecutionDoesNotExist({ $metadata: {}, message: 'Execution Does Not Exist' }));
    const r = await rollbacks.stop('x-2', 'Gantry.Aborted', 'c');
    assert.deepEqual(r, { executionArn: 'arn:aws:states:eu-west-2:111122223333:execution:gantry-rollback:x-2', stopped: false });
    assert.equal(sfn.commandCalls(DescribeExecutionCommand).length, 0);
  });

  it('trims an error and a cause to the lengths StopExecution accepts', async () => {
    sfn.on(StopExecutionCommand).resolves({});
    sfn.on(DescribeExecutionCommand).resolves({ status: 'ABORTED' });
    await rollbacks.stop('x-3', 'E'.repeat(300), 'c'.repeat(40_000));
    const input = sfn.commandCalls(StopExecutionCommand)[0]?.args[0].input;
    assert.equal(input?.error?.length, 256);
    assert.equal(input?.cause?.length, 32_768);
  });

  it('rethrows a throttled StopExecution as transient', async () => {
    sfn.on(StopExecutionCommand).rejects(throttling());
    await assert.rejects(rollbacks.stop('x-4', 'Gantry.Aborted', 'c'), (e: unknown) => e instanceof TransientAwsError && e.name === 'ThrottlingException');
  });
});

import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'vitest';
import { ConflictException, CreateScheduleCommand, DeleteScheduleCommand, ResourceNotFoundException, SchedulerClient, ThrottlingException } from '@aws-sdk/client-scheduler';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { TransientAwsError } from '../../../lambdas/adapters/errors';
import { atExpression, SCHEDULE_NAME_PATTERN, SchedulerTimers, scheduleName } from '../../../lambdas/adapters/scheduler';

const OPTIONS = {
  groupName: 'gantry-bake-timers',
  targetArn: 'arn:aws:lambda:eu-west-2:111122223333:function:gantry-bake-timer',
  roleArn: 'arn:aws:iam::111122223333:role/gantry-scheduler',
};

describe('SchedulerTimers', () => {
  const client = new SchedulerClient({ region: 'eu-west-2' });
  const scheduler = mockClient(client);
  const timers = new SchedulerTimers(client, OPTIONS);
  beforeEach(() => scheduler.reset());

  it('creates a one-time UTC schedule that invokes the target with the payload and deletes itself', async () => {
    scheduler.on(CreateScheduleCommand).resolves({ ScheduleArn: 'arn:aws:scheduler:eu-west-2:111122223333:schedule/gantry-bake-timers/bake-r1-prod' });

    await timers.schedule('bake-r1-prod', '2026-11-24T10:30:00.000Z', { releaseId: 'r1', stage: 'prod' });

    assert.deepEqual(scheduler.commandCalls(CreateScheduleCommand)[0]?.args[0].input, {
      Name: 'bake-r1-prod',
      GroupName: 'gantry-bake-timers',
      ScheduleExpression: 'at(2026-11-24T10:30:00)',
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'DELETE',
      State: 'ENABLED',
      Target: {
        Arn: OPTIONS.targetArn,
        RoleArn: OPTIONS.roleArn,
        Input: '{"releaseId":"r1","stage":"prod"}',
        RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 10 },
      },
    });
  });

  it('sanitises a name Scheduler would refuse, the same way for schedule and cancel', async () => {
    scheduler.on(CreateScheduleCommand).resolves({});
    scheduler.on(DeleteScheduleCommand).resolves({});

    await timers.schedule('bake#r1#payments/api#prod', '2026-11-24T10:30:00Z', {});
    await timers.cancel('bake#r1#payments/api#prod');

    const created = scheduler.commandCalls(CreateScheduleCommand)[0]?.args[0].input.Name ?? '';
    assert.match(created, SCHEDULE_NAME_PATTERN);
    assert.equal(scheduler.commandCalls(DeleteScheduleCommand)[0]?.args[0].input.Name, created);
  });

  it('treats ConflictException as already scheduled', async () => {
    scheduler
      .on(CreateScheduleCommand)
      .rejects(new ConflictException({ message: 'Schedule bake-r1-prod already exists.', Message: 'Schedule bake-r1-prod already exists.', $metadata: {} }));

    await assert.doesNotReject(timers.schedule('bake-r1-prod', '2026-11-24T10:30:00Z', {}));
    assert.equal(scheduler.commandCalls(CreateScheduleCommand).length, 1);
  });

  it('deletes the schedule from its group on cancel', async () => {
    scheduler.on(DeleteScheduleCommand).resolves({});

    await timers.cancel('bake-r1-prod');

    assert.deepEqual(scheduler.commandCalls(DeleteScheduleCommand)[0]?.args[0].input, { Name: 'bake-r1-prod', GroupName: 'gantry-bake-timers' });
  });

  it('ignores a schedule that no longer exists on cancel', async () => {
    scheduler
      .on(DeleteScheduleCommand)
      .rejects(new ResourceNotFoundException({ message: 'Schedule bake-r1-prod does not exist.', Message: 'Schedule bake-r1-prod does not exist.', $metadata: {} }));

    await assert.doesNotReject(timers.cancel('bake-r1-prod'));
    assert.equal(scheduler.commandCalls(DeleteScheduleCommand).length, 1);
  });

  it('rethrows throttling as ThrottlingException', async () => {
    scheduler.on(CreateScheduleCommand).rejects(new ThrottlingException({ message: 'Rate exceeded', Message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } }));

    await assert.rejects(timers.schedule('bake-r1-prod', '2026-11-24T10:30:00Z', {}), (e: unknown) => e instanceof TransientAwsError && e.name === 'ThrottlingException');
  });

  it('adds a dead-letter queue and its own retry policy when configured', async () => {
    scheduler.on(CreateScheduleCommand).resolves({});
    const custom = new SchedulerTimers(client, {
      ...OPTIONS,
      deadLetterArn: 'arn:aws:sqs:eu-west-2:111122223333:gantry-dlq',
      maximumRetryAttempts: 3,
      maximumEventAgeInSeconds: 600,
    });

    await custom.schedule('bake-r1-prod', '2026-11-24T10:30:00Z', {});

    const target = scheduler.commandCalls(CreateScheduleCommand)[0]?.args[0].input.Target;
    assert.deepEqual(target?.DeadLetterConfig, { Arn: 'arn:aws:sqs:eu-west-2:111122223333:gantry-dlq' });
    assert.deepEqual(target?.RetryPolicy, { MaximumEventAgeInSeconds: 600, MaximumRetryAttempts: 3 });
  });
});

describe('atExpression', () => {
  it('converts an instant with an offset to UTC', () => {
    assert.equal(atExpression('2026-03-01T10:00:00+01:00'), 'at(2026-03-01T09:00:00)');
  });

  it('rounds a fraction of a second up so the timer never fires early', () => {
    assert.equal(atExpression('2026-11-24T10:29:59.001Z'), 'at(2026-11-24T10:30:00)');
  });

  it('refuses a value that is not a date-time', () => {
    assert.throws(() => atExpression('in ten minutes'), RangeError);
  });
});

describe('scheduleName', () => {
  it('keeps a name that is already valid', () => {
    assert.equal(scheduleName(['bake', 'r-01H', 'prod']), 'bake-r-01H-prod');
  });

  it('replaces forbidden characters and adds a hash so sanitised twins stay apart', () => {
    const a = scheduleName(['bake', 'payments/api', 'prod']);
    const b = scheduleName(['bake', 'payments:api', 'prod']);

    assert.match(a, /^bake-payments-api-prod-[0-9a-f]{16}$/);
    assert.notEqual(a, b);
  });

  it('fits a long name into 64 characters, keeping its start readable', () => {
    const name = scheduleName(['bake', 'x'.repeat(100), 'prod']);

    assert.equal(name.length, 64);
    assert.ok(name.startsWith('bake-xxxx'));
  });

  it('always gives a valid name, stable when applied twice, and distinct for distinct inputs', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 80 }), { minLength: 1, maxLength: 4 }), fc.array(fc.string({ maxLength: 80 }), { minLength: 1, maxLength: 4 }), (p, q) => {
        const a = scheduleName(p);
        assert.match(a, SCHEDULE_NAME_PATTERN);
        assert.equal(scheduleName([a]), a);
        if (p.join('-') !== q.join('-')) assert.notEqual(a, scheduleName(q));
      }),
      { numRuns: 500 },
    );
  });
});

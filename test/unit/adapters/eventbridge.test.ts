import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'vitest';
import { EventBridgeClient, EventBridgeServiceException, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { EventPublishError, TransientAwsError } from '../../../lambdas/adapters/errors';
import { EventBridgePublisher } from '../../../lambdas/adapters/eventbridge';
import type { LifecycleEvent } from '../../../lambdas/ports';

const BUS = 'gantry-events';
const event = (i: number): LifecycleEvent => ({
  detailType: 'Stage Deployed',
  detail: { releaseId: `r${i}`, service: 'payments', stage: 'dev', status: 'RUNNING', at: '2026-11-24T10:00:00.000Z' },
});

describe('EventBridgePublisher', () => {
  const client = new EventBridgeClient({ region: 'eu-west-2' });
  const eb = mockClient(client);
  const bus = new EventBridgePublisher(client, BUS);
  beforeEach(() => eb.reset());

  it('puts each event on the bus with source gantry and the detail as JSON', async () => {
    eb.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e1' }] });

    await bus.publish([{ detailType: 'Release Started', detail: { releaseId: 'r1', service: 'payments', status: 'RUNNING', at: '2026-11-24T10:00:00.000Z' } }]);

    assert.deepEqual(eb.commandCalls(PutEventsCommand)[0]?.args[0].input, {
      Entries: [
        {
          EventBusName: BUS,
          Source: 'gantry',
          DetailType: 'Release Started',
          Detail: '{"releaseId":"r1","service":"payments","status":"RUNNING","at":"2026-11-24T10:00:00.000Z"}',
        },
      ],
    });
  });

  it('uses the source it was given', async () => {
    eb.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e1' }] });

    await new EventBridgePublisher(client, BUS, 'gantry.simulation').publish([event(1)]);

    assert.equal(eb.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0]?.Source, 'gantry.simulation');
  });

  it('sends in chunks of ten, in order', async () => {
    eb.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({ FailedEntryCount: 0, Entries: input.Entries.map((_, i) => ({ EventId: `e${i}` })) }));
    const events = Array.from({ length: 23 }, (_, i) => event(i));

    await bus.publish(events);

    const calls = eb.commandCalls(PutEventsCommand);
    assert.deepEqual(
      calls.map((c) => c.args[0].input.Entries?.length),
      [10, 10, 3],
    );
    assert.deepEqual(
      calls.flatMap((c) => c.args[0].input.Entries ?? []).map((e) => JSON.parse(e.Detail ?? '{}').releaseId),
      events.map((e) => e.detail.releaseId),
    );
  });

  it('makes no call for no events', async () => {
    await bus.publish([]);

    assert.equal(eb.commandCalls(PutEventsCommand).length, 0);
  });

  it('throws EventPublishError listing the error code of every rejected entry, after sending every chunk', async () => {
    eb.on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 2,
        Entries: [
          { EventId: 'e0' },
          { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' },
          { EventId: 'e2' },
          { ErrorCode: 'InternalFailure' },
          ...Array.from({ length: 6 }, (_, i) => ({ EventId: `e${i + 4}` })),
        ],
      })
      .resolvesOnce({ FailedEntryCount: 0, Entries: [{ EventId: 'e10' }] });
    const events = Array.from({ length: 11 }, (_, i) => event(i));

    const error = await bus.publish(events).then(
      () => undefined,
      (e: unknown) => e,
    );

    assert.ok(error instanceof EventPublishError);
    assert.equal(error.name, 'EventPublishError');
    assert.deepEqual(
      error.failures.map((f) => f.errorCode),
      ['ThrottlingException', 'InternalFailure'],
    );
    assert.equal(error.published, 9);
    assert.match(error.message, /ThrottlingException/);
    assert.match(error.message, /InternalFailure/);
    assert.equal(eb.commandCalls(PutEventsCommand).length, 2);
  });

  it('rethrows a throttled PutEvents call as ThrottlingException', async () => {
    eb.on(PutEventsCommand).rejects(
      new EventBridgeServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded' }),
    );

    await assert.rejects(bus.publish([event(1)]), (e: unknown) => e instanceof TransientAwsError && e.name === 'ThrottlingException');
  });
});

/**
 * What every backend of the ledger must do, as one suite: `ledgerContract(name, start)` runs the real
 * DynamoDB adapter against the table `start()` gives (in-memory DynamoDB, DynamoDB Local). Not a .test.ts itself.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoLedger } from '../../lambdas/adapters/dynamo-ledger';
import { LEDGER_TTL_ATTRIBUTE, ledgerKeys } from '../../lambdas/adapters/ledger-table';
import { type LedgerEvent, type LedgerEventInput, projectRelease, verifyChain } from '../../lambdas/domain/ledger';
import { scanIndexKey, type TokenRecord } from '../../lambdas/ports';
import type { LocalDynamo } from '../../local/dynamo';

const digest = (c: string): string => `sha256:${c.repeat(64)}`;
const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const iso = (base: string, plusSeconds: number): string => new Date(Date.parse(base) + plusSeconds * 1000).toISOString();
const T0 = '2026-11-24T10:00:00.000Z';

let counter = 0;
/** Ids unique within a backend's table, so tests never see each other's items. */
const uid = (prefix: string): string => `${prefix}-${++counter}`;

function started(releaseId: string, service: string, at = T0, stages: string[] = ['dev', 'prod']): LedgerEventInput {
  return { releaseId, stepKey: 'start', type: 'release.started', at, data: { service, digest: digest('a'), tag: 'v1.0.0', stages } };
}

function gate(releaseId: string, n: number, stage = 'dev'): LedgerEventInput {
  return { releaseId, stepKey: `gate-${n}`, type: 'gate.evaluated', at: iso(T0, n), stage, data: { gate: 'window', result: 'PASS', reason: `check ${n}` } };
}

/** A release's events with awkward values: they must come back exactly as hashed. */
function awkwardJourney(releaseId: string, service: string): LedgerEventInput[] {
  return [
    started(releaseId, service),
    { releaseId, stepKey: 'dev/start', type: 'stage.started', at: iso(T0, 1), stage: 'dev', data: { previousDigest: digest('b') } },
    {
      releaseId,
      stepKey: 'dev/scan',
      type: 'gate.evaluated',
      at: iso(T0, 2),
      stage: 'dev',
      data: {
        gate: 'image.scan',
        result: 'WARN',
        reason: 'ünïcödé — 2 findings ✓',
        evidence: { empty: '', nothing: null, zero: 0, negative: -1.5, big: 1234567890123, list: [], nested: { deeper: [1, 'two', { three: true }] }, obj: {} },
      },
    },
    { releaseId, stepKey: 'dev/deploy', type: 'deploy.finished', at: iso(T0, 3), stage: 'dev', data: { result: 'SUCCEEDED', digest: digest('a') } },
    { releaseId, stepKey: 'dev/promoted', type: 'stage.promoted', at: iso(T0, 4), stage: 'dev', data: {} },
    { releaseId, stepKey: 'dev/end', type: 'stage.finished', at: iso(T0, 5), stage: 'dev', data: { status: 'PROMOTED' } },
    { releaseId, stepKey: 'end', type: 'release.finished', at: iso(T0, 6), data: { status: 'SUCCEEDED' } },
  ];
}

function bakeToken(releaseId: string, stage: string, alarms: string[], token = uid('secret-task-token')): TokenRecord {
  return {
    kind: 'BAKE',
    releaseId,
    service: 'payments',
    stage,
    token,
    alarms,
    createdAt: T0,
    expiresAt: iso(T0, 1800),
    attrs: { bakeMinutes: 30, insufficientData: 'fail' },
  };
}

/** A ledger of its own on the backend whose every request's command name is recorded. */
function countingLedger(backend: LocalDynamo): { ledger: DynamoLedger; sent: string[] } {
  const sent: string[] = [];
  const client = {
    send: (command: { constructor: { name: string } }) => {
      sent.push(command.constructor.name);
      return backend.doc.send(command as never);
    },
  };
  return { ledger: new DynamoLedger({ client: client as never, tableName: backend.tableName }), sent };
}

export function ledgerContract(name: string, start: () => Promise<LocalDynamo>): void {
  describe(`the DynamoDB ledger on ${name}`, () => {
    let backend: LocalDynamo;
    let ledger: DynamoLedger;
    beforeAll(async () => {
      backend = await start();
      ledger = new DynamoLedger({ client: backend.doc, tableName: backend.tableName });
    });
    afterAll(async () => {
      await backend?.close();
    });

    const metaItem = async (releaseId: string) =>
      (await backend.doc.send(new GetCommand({ TableName: backend.tableName, Key: ledgerKeys.releaseMeta(releaseId), ConsistentRead: true }))).Item;

    describe('append', () => {
      it('writes nothing for a second append with the same stepKey and returns the stored event as a duplicate', async () => {
        const releaseId = uid('rel');
        const first = await ledger.append(started(releaseId, 'payments'));

        const second = await ledger.append({ ...started(releaseId, 'payments'), at: iso(T0, 60), data: { service: 'other' } });

        assert.equal(first.duplicate, false);
        assert.equal(second.duplicate, true);
        assert.equal(second.event.seq, first.event.seq);
        assert.deepEqual(second.event, plain(first.event));
        assert.equal((await ledger.events(releaseId)).length, 1);
      });

      it('gives 20 concurrent appends to one release the sequence numbers 1 to 20 in a chain that verifies', async () => {
        const releaseId = uid('rel');

        const results = await Promise.all(Array.from({ length: 20 }, (_, n) => ledger.append(gate(releaseId, n))));

        const events = await ledger.events(releaseId);
        assert.deepEqual(
          results.map((r) => r.event.seq).sort((a, b) => a - b),
          Array.from({ length: 20 }, (_, i) => i + 1),
        );
        assert.ok(results.every((r) => !r.duplicate));
        assert.deepEqual(
          events.map((e) => e.seq),
          Array.from({ length: 20 }, (_, i) => i + 1),
        );
        assert.deepEqual(verifyChain(events), { ok: true, events: 20, problems: [] });
        assert.deepEqual(new Set(events.map((e) => e.stepKey)).size, 20);
      });

      it('writes a step once when five writers append the same stepKey at the same time', async () => {
        const releaseId = uid('rel');
        await ledger.append(started(releaseId, 'payments'));

        const results = await Promise.all(Array.from({ length: 5 }, () => ledger.append(gate(releaseId, 1))));

        assert.equal(results.filter((r) => !r.duplicate).length, 1);
        assert.deepEqual(new Set(results.map((r) => r.event.seq)), new Set([2]));
        assert.equal((await ledger.events(releaseId)).length, 2);
      });

      it('keeps the summary equal to projectRelease of the stored events after every append', async () => {
        const releaseId = uid('rel');
        for (const input of awkwardJourney(releaseId, 'payments')) {
          await ledger.append(input);

          const events = await ledger.events(releaseId);
          assert.deepEqual(await ledger.getRelease(releaseId), plain(projectRelease(events)));
        }
        assert.equal((await ledger.getRelease(releaseId))?.status, 'SUCCEEDED');
      });

      it('returns events exactly as hashed, so the stored chain verifies', async () => {
        const releaseId = uid('rel');
        const appended: LedgerEvent[] = [];
        for (const input of awkwardJourney(releaseId, 'payments')) appended.push((await ledger.append(input)).event);

        const events = await ledger.events(releaseId);

        assert.deepEqual(events, plain(appended));
        assert.deepEqual(verifyChain(events), { ok: true, events: appended.length, problems: [] });
      });

      it('stores an event whose optional fields are undefined as if they were absent', async () => {
        const releaseId = uid('rel');
        await ledger.append(started(releaseId, 'payments'));

        const { event } = await ledger.append({
          releaseId,
          stepKey: 'end',
          type: 'release.finished',
          at: iso(T0, 1),
          stage: undefined,
          data: { status: 'SUCCEEDED', reason: undefined },
        });

        const events = await ledger.events(releaseId);
        assert.deepEqual(events[1], event);
        assert.equal('stage' in event || 'reason' in event.data, false);
        assert.equal(verifyChain(events).ok, true);
      });

      it('keeps the summary at the latest version when 20 appends race their projections', async () => {
        const releaseId = uid('rel');
        await ledger.append(started(releaseId, 'payments'));

        await Promise.all(Array.from({ length: 20 }, (_, n) => ledger.append(gate(releaseId, n))));

        const summary = await ledger.getRelease(releaseId);
        assert.equal(summary?.version, 21);
        assert.deepEqual(summary, plain(projectRelease(await ledger.events(releaseId))));
      });

      it('appends several events of one release in one request, skipping step keys already recorded', async () => {
        const releaseId = uid('rel');
        await ledger.append(started(releaseId, 'payments'));
        await ledger.append(gate(releaseId, 1));
        const counted = countingLedger(backend);

        const results = await counted.ledger.appendAll([gate(releaseId, 1), gate(releaseId, 2), gate(releaseId, 3)]);

        assert.deepEqual(
          results.map((r) => [r.event.stepKey, r.event.seq, r.duplicate]),
          [
            ['gate-1', 2, true],
            ['gate-2', 3, false],
            ['gate-3', 4, false],
          ],
        );
        // One read of the chain (this instance had not seen it) and one transaction for both events and the summary.
        assert.deepEqual(counted.sent, ['QueryCommand', 'TransactWriteCommand']);
        const events = await ledger.events(releaseId);
        assert.equal(verifyChain(events).ok, true);
        assert.deepEqual(await ledger.getRelease(releaseId), plain(projectRelease(events)));
        // Its next append starts from the head it wrote: no read.
        await counted.ledger.append(gate(releaseId, 4));
        assert.deepEqual(counted.sent, ['QueryCommand', 'TransactWriteCommand', 'TransactWriteCommand']);
      });

      it('refuses an appendAll that mixes releases or exceeds one transaction, writing nothing', async () => {
        const releaseId = uid('rel');
        await assert.rejects(ledger.appendAll([started(releaseId, 'payments'), gate(uid('rel'), 1)]), { name: 'LedgerInputError', message: /every event must belong to release/ });
        await assert.rejects(ledger.appendAll(Array.from({ length: 100 }, (_, n) => (n === 0 ? started(releaseId, 'payments') : gate(releaseId, n)))), {
          name: 'LedgerInputError',
          message: /at most 99 events/,
        });
        assert.deepEqual(await ledger.events(releaseId), []);
      });

      it('keeps one chain when two instances append in turn from stale heads, and finds a step the other recorded', async () => {
        const releaseId = uid('rel');
        const a = new DynamoLedger({ client: backend.doc, tableName: backend.tableName });
        const b = new DynamoLedger({ client: backend.doc, tableName: backend.tableName });
        await a.append(started(releaseId, 'payments'));
        await b.append(gate(releaseId, 1)); // b reads the chain, appends seq 2
        await a.append(gate(releaseId, 2)); // a's head (seq 1) is stale: its write is cancelled, it reads the delta, appends seq 3
        const again = await a.append(gate(releaseId, 1)); // recorded by b: a duplicate, nothing written
        await b.append(gate(releaseId, 3)); // b's head (seq 2) is stale too

        assert.equal(again.duplicate, true);
        assert.equal(again.event.seq, 2);
        const events = await ledger.events(releaseId);
        assert.deepEqual(
          events.map((e) => [e.seq, e.stepKey]),
          [
            [1, 'start'],
            [2, 'gate-1'],
            [3, 'gate-2'],
            [4, 'gate-3'],
          ],
        );
        assert.equal(verifyChain(events).ok, true);
        assert.equal((await ledger.getRelease(releaseId))?.version, 4);
      });

      it('never overwrites a summary of a later version with an older projection', async () => {
        const releaseId = uid('rel');
        await ledger.append(started(releaseId, 'payments'));
        const newer = { ...(await metaItem(releaseId)), version: 999, status: 'SUCCEEDED' };
        await backend.doc.send(new PutCommand({ TableName: backend.tableName, Item: newer }));

        await ledger.append(gate(releaseId, 1));

        const summary = await ledger.getRelease(releaseId);
        assert.equal(summary?.version, 999);
        assert.equal(summary?.status, 'SUCCEEDED');
      });

      it('reads only the tail of a chain it holds, and the whole chain from the table when asked (what an audit does)', async () => {
        const releaseId = uid('rel');
        await ledger.append(started(releaseId, 'payments'));
        await ledger.append(gate(releaseId, 1));
        await ledger.append(gate(releaseId, 2));
        // Rewrite event 2 in the table, as someone with write access to it could.
        const key = ledgerKeys.releaseEvent(releaseId, 2);
        const { Item } = await backend.doc.send(new GetCommand({ TableName: backend.tableName, Key: key }));
        await backend.doc.send(new PutCommand({ TableName: backend.tableName, Item: { ...Item, data: { ...(Item?.data as object), reason: 'rewritten' } } }));

        const tail = await ledger.events(releaseId);
        const whole = await ledger.events(releaseId, { whole: true });

        assert.equal(verifyChain(tail).ok, true, 'the tail read keeps the events this instance read before');
        assert.equal(whole[1]?.data.reason, 'rewritten');
        assert.equal(verifyChain(whole).ok, false);
        // A rewritten last event is noticed by the tail read too: it reads the whole chain again.
        const last = ledgerKeys.releaseEvent(releaseId, 3);
        const lastItem = (await backend.doc.send(new GetCommand({ TableName: backend.tableName, Key: last }))).Item;
        await backend.doc.send(new PutCommand({ TableName: backend.tableName, Item: { ...lastItem, hash: '0'.repeat(64) } }));
        assert.equal(verifyChain(await ledger.events(releaseId)).ok, false);
      });

      it('writes nothing at all for a retried step: the summary was written with its event, in one transaction', async () => {
        const releaseId = uid('rel');
        await ledger.append(started(releaseId, 'payments'));
        await ledger.append(gate(releaseId, 1));
        const summary = await ledger.getRelease(releaseId);
        const fresh = countingLedger(backend);

        const retried = await fresh.ledger.append(gate(releaseId, 1));
        const again = await fresh.ledger.append(gate(releaseId, 1));

        assert.equal(retried.duplicate, true);
        assert.equal(again.duplicate, true);
        // A new instance reads the chain once; then it knows the step is there and sends nothing.
        assert.deepEqual(fresh.sent, ['QueryCommand']);
        assert.deepEqual(await ledger.getRelease(releaseId), summary);
        assert.equal(summary?.version, 2);
      });

      it('has no events and no summary for a release never started', async () => {
        const releaseId = uid('rel');

        assert.deepEqual(await ledger.events(releaseId), []);
        assert.equal(await ledger.getRelease(releaseId), undefined);
      });
    });

    describe('stage pointers', () => {
      it('has no pointer for a stage nothing ran in', async () => {
        assert.equal(await ledger.getPointer(uid('svc'), 'dev'), undefined);
      });

      it('records what runs in a stage without making it last known good', async () => {
        const service = uid('svc');

        await ledger.setRunning(service, 'dev', digest('a'), T0);

        assert.deepEqual(await ledger.getPointer(service, 'dev'), { service, stage: 'dev', running: digest('a'), promoted: [], updatedAt: T0 });
      });

      it('makes a digest that passed its bake last known good and adds it to the promoted history once', async () => {
        const service = uid('svc');
        await ledger.setRunning(service, 'dev', digest('a'), T0);

        await ledger.markGood(service, 'dev', digest('a'), iso(T0, 1));
        await ledger.markGood(service, 'dev', digest('a'), iso(T0, 2));
        await ledger.markGood(service, 'dev', digest('b'), iso(T0, 3));
        await ledger.markGood(service, 'dev', digest('a'), iso(T0, 4));

        const pointer = await ledger.getPointer(service, 'dev');
        assert.equal(pointer?.lastKnownGood, digest('a'));
        assert.deepEqual(pointer?.promoted, [digest('a'), digest('b'), digest('a')]);
        assert.equal(pointer?.updatedAt, iso(T0, 4));
      });

      it('keeps last known good and the history when a rollback changes what runs', async () => {
        const service = uid('svc');
        await ledger.markGood(service, 'prod', digest('a'), T0);
        await ledger.setRunning(service, 'prod', digest('b'), iso(T0, 1));

        await ledger.setRunning(service, 'prod', digest('a'), iso(T0, 2));

        assert.deepEqual(await ledger.getPointer(service, 'prod'), {
          service,
          stage: 'prod',
          running: digest('a'),
          lastKnownGood: digest('a'),
          promoted: [digest('a')],
          updatedAt: iso(T0, 2),
        });
      });

      it('loses no promotion when five digests are marked good at the same time', async () => {
        const service = uid('svc');
        const digests = ['1', '2', '3', '4', '5'].map(digest);

        await Promise.all(digests.map((d) => ledger.markGood(service, 'dev', d, T0)));

        const pointer = await ledger.getPointer(service, 'dev');
        assert.deepEqual([...(pointer?.promoted ?? [])].sort(), digests);
        assert.equal(pointer?.lastKnownGood, pointer?.promoted.at(-1));
      });
    });

    describe('leases', () => {
      it('gives a stage to one owner with a fencing token and tells a second owner who holds it', async () => {
        const service = uid('svc');

        const first = await ledger.acquireLease(service, 'prod', 'exec-a', T0);
        const second = await ledger.acquireLease(service, 'prod', 'exec-b', iso(T0, 1));

        assert.deepEqual(first, { acquired: true, fence: 1 });
        assert.deepEqual(second, { acquired: false, holder: 'exec-a', holderFence: 1 });
      });

      it('lets exactly one of five owners racing for a free stage take it', async () => {
        const service = uid('svc');

        const results = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((o) => ledger.acquireLease(service, 'prod', `exec-${o}`, T0)));

        const winners = results.filter((r) => r.acquired);
        assert.equal(winners.length, 1);
        const holders = new Set(results.filter((r) => !r.acquired).map((r) => r.holder));
        assert.equal(holders.size, 1);
        assert.ok([...holders][0]?.startsWith('exec-'));
      });

      it('is re-entrant for the owner that holds it, with the same token', async () => {
        const service = uid('svc');
        await ledger.acquireLease(service, 'prod', 'exec-a', T0);

        const again = await ledger.acquireLease(service, 'prod', 'exec-a', iso(T0, 10));

        assert.deepEqual(again, { acquired: true, fence: 1 });
      });

      it('is freed only by its owner, and the next holder gets a larger token', async () => {
        const service = uid('svc');
        await ledger.acquireLease(service, 'prod', 'exec-a', T0);

        const byOther = await ledger.releaseLease(service, 'prod', 'exec-b');
        const stillHeld = await ledger.acquireLease(service, 'prod', 'exec-b', iso(T0, 1));
        const byOwner = await ledger.releaseLease(service, 'prod', 'exec-a');
        const nowFree = await ledger.acquireLease(service, 'prod', 'exec-b', iso(T0, 2));

        assert.equal(byOther, false);
        assert.deepEqual(stillHeld, { acquired: false, holder: 'exec-a', holderFence: 1 });
        assert.equal(byOwner, true);
        assert.deepEqual(nowFree, { acquired: true, fence: 2 });
      });

      it('answers false when freeing a lease nobody holds', async () => {
        assert.equal(await ledger.releaseLease(uid('svc'), 'prod', 'exec-a'), false);
      });

      it('never expires: a holder keeps its lease however long it waits', async () => {
        const service = uid('svc');
        await ledger.acquireLease(service, 'prod', 'exec-slow', T0);

        const aWeekLater = await ledger.acquireLease(service, 'prod', 'exec-b', iso(T0, 7 * 24 * 3600));

        assert.deepEqual(aWeekLater, { acquired: false, holder: 'exec-slow', holderFence: 1 });
      });

      it('is taken over only from the holder and token that were read, with the next token', async () => {
        const service = uid('svc');
        const holder = uid('exec-a');
        await ledger.acquireLease(service, 'prod', holder, T0);

        const wrongToken = await ledger.takeOverLease(service, 'prod', { owner: holder, fence: 7 }, 'exec-b', iso(T0, 1));
        const wrongOwner = await ledger.takeOverLease(service, 'prod', { owner: 'exec-x', fence: 1 }, 'exec-b', iso(T0, 1));
        const taken = await ledger.takeOverLease(service, 'prod', { owner: holder, fence: 1 }, 'exec-b', iso(T0, 2));
        const again = await ledger.takeOverLease(service, 'prod', { owner: holder, fence: 1 }, 'exec-c', iso(T0, 3));

        assert.equal(wrongToken, undefined);
        assert.equal(wrongOwner, undefined);
        assert.equal(taken, 2);
        assert.equal(again, undefined);
        assert.equal((await ledger.getLease(service, 'prod'))?.owner, 'exec-b');
        assert.deepEqual(await ledger.leasesOf(holder), []);
      });

      it('is never taken over while its holder has a driver run under way', async () => {
        const service = uid('svc');
        await ledger.acquireLease(service, 'prod', 'exec-a', T0);

        const begun = await ledger.beginDeploy(service, 'prod', 'exec-a', 1, { kind: 'deploy', digest: digest('a'), at: T0 });
        const during = await ledger.takeOverLease(service, 'prod', { owner: 'exec-a', fence: 1 }, 'exec-rb', iso(T0, 1));
        const ended = await ledger.endDeploy(service, 'prod', 'exec-a', 1);
        const after = await ledger.takeOverLease(service, 'prod', { owner: 'exec-a', fence: 1 }, 'exec-rb', iso(T0, 2));

        assert.equal(begun, true);
        assert.equal(during, undefined);
        assert.equal(ended, true);
        assert.equal(after, 2);
      });

      it('refuses a deploy claim by an owner or token that no longer holds the lease', async () => {
        const service = uid('svc');
        await ledger.acquireLease(service, 'prod', 'exec-a', T0);
        await ledger.takeOverLease(service, 'prod', { owner: 'exec-a', fence: 1 }, 'exec-rb', iso(T0, 1));

        const stale = await ledger.beginDeploy(service, 'prod', 'exec-a', 1, { kind: 'deploy', digest: digest('a'), at: iso(T0, 2) });
        const holder = await ledger.beginDeploy(service, 'prod', 'exec-rb', 2, { kind: 'rollback', digest: digest('b'), at: iso(T0, 2) });

        assert.equal(stale, false);
        assert.equal(holder, true);
        assert.deepEqual((await ledger.getLease(service, 'prod'))?.deploying, { kind: 'rollback', digest: digest('b'), at: iso(T0, 2) });
      });

      it('refuses stage pointer writes by a holder older than the one that last wrote it', async () => {
        const service = uid('svc');
        await ledger.setRunning(service, 'prod', digest('b'), T0, 2);

        await assert.rejects(ledger.setRunning(service, 'prod', digest('a'), iso(T0, 1), 1), { name: 'FencedOffError' });
        await assert.rejects(ledger.markGood(service, 'prod', digest('a'), iso(T0, 1), { fence: 1 }), { name: 'FencedOffError' });
        await ledger.markGood(service, 'prod', digest('b'), iso(T0, 2), { fence: 2 });
        await ledger.setRunning(service, 'prod', digest('c'), iso(T0, 3), 3);

        const pointer = await ledger.getPointer(service, 'prod');
        assert.equal(pointer?.running, digest('c'));
        assert.equal(pointer?.lastKnownGood, digest('b'));
      });

      it('hands each waiter of a stage out exactly once, oldest first', async () => {
        const service = uid('svc');
        await ledger.addLeaseWaiter({ service, stage: 'prod', releaseId: 'rel-2', token: 'token-2', at: iso(T0, 2) });
        await ledger.addLeaseWaiter({ service, stage: 'prod', releaseId: 'rel-1', token: 'token-1', at: iso(T0, 1) });
        await ledger.addLeaseWaiter({ service, stage: 'dev', releaseId: 'rel-3', token: 'token-3', at: iso(T0, 1) });

        const [a, b] = await Promise.all([ledger.takeLeaseWaiters(service, 'prod'), ledger.takeLeaseWaiters(service, 'prod')]);

        assert.deepEqual([...a, ...b].map((w) => w.token).sort(), ['token-1', 'token-2']);
        assert.deepEqual(await ledger.takeLeaseWaiters(service, 'prod'), []);
        await ledger.addLeaseWaiter({ service, stage: 'prod', releaseId: 'rel-5', token: 'token-5', at: iso(T0, 5) });
        await ledger.addLeaseWaiter({ service, stage: 'prod', releaseId: 'rel-4', token: 'token-4', at: iso(T0, 4) });
        assert.deepEqual(
          (await ledger.takeLeaseWaiters(service, 'prod')).map((w) => w.releaseId),
          ['rel-4', 'rel-5'],
        );
        assert.equal((await ledger.takeLeaseWaiters(service, 'dev')).length, 1);
      });

      it("lists every lease an owner holds and no other owner's", async () => {
        const service = uid('svc');
        const owner = uid('arn:aws:states:eu-west-2:111122223333:execution:release:exec');
        await ledger.acquireLease(service, 'dev', owner, T0);
        await ledger.acquireLease(service, 'prod', owner, T0);
        await ledger.acquireLease(service, 'staging', 'someone-else', T0);
        await ledger.acquireLease(service, 'qa', owner, T0);
        await ledger.releaseLease(service, 'qa', owner);

        const leases = await ledger.leasesOf(owner);

        assert.deepEqual(
          [...leases].sort((a, b) => a.stage.localeCompare(b.stage)),
          [
            { service, stage: 'dev' },
            { service, stage: 'prod' },
          ],
        );
      });
    });

    describe('task tokens', () => {
      it('finds an open bake token under each of its alarms and under no other', async () => {
        const releaseId = uid('rel');
        const [a1, a2, other] = [uid('alarm'), uid('alarm'), uid('alarm')];
        const record = bakeToken(releaseId, 'prod', [a1 as string, a2 as string]);

        await ledger.putToken(record);

        assert.deepEqual(await ledger.tokensForAlarm(a1 as string), [plain(record)]);
        assert.deepEqual(await ledger.tokensForAlarm(a2 as string), [plain(record)]);
        assert.deepEqual(await ledger.tokensForAlarm(other as string), []);
      });

      it('finds a scan-wait token under each of its images, never as a bake of an alarm, and forgets it once taken (decision 040)', async () => {
        const releaseId = uid('rel');
        const repo = uid('repo');
        const [index, platform] = [`sha256:${'a'.repeat(64)}`, `sha256:${'b'.repeat(64)}`];
        const key = scanIndexKey(repo as string, index);
        const record: TokenRecord = {
          ...bakeToken(releaseId, 'prod', [key, scanIndexKey(repo as string, platform)]),
          kind: 'SCAN',
          attrs: { repository: repo, digest: index },
        };
        await ledger.putToken(record);

        assert.deepEqual(await ledger.tokensForImageScan(repo as string, index), [plain(record)]);
        assert.deepEqual(await ledger.tokensForImageScan(repo as string, platform), [plain(record)]);
        assert.deepEqual(await ledger.tokensForImageScan(repo as string, `sha256:${'c'.repeat(64)}`), []);
        assert.deepEqual(await ledger.tokensForAlarm(key), [], 'a scan key is not an alarm a bake watches');

        assert.deepEqual(await ledger.takeToken('SCAN', releaseId, 'prod'), plain(record));
        assert.equal(await ledger.takeToken('SCAN', releaseId, 'prod'), undefined);
        assert.deepEqual(await ledger.tokensForImageScan(repo as string, index), []);
      });

      it('lists every bake watching one alarm', async () => {
        const alarm = uid('alarm');
        const one = bakeToken(uid('rel'), 'dev', [alarm]);
        const two = { ...bakeToken(uid('rel'), 'prod', [alarm]), createdAt: iso(T0, 5) };
        await ledger.putToken(two);
        await ledger.putToken(one);

        const tokens = await ledger.tokensForAlarm(alarm);

        assert.deepEqual(tokens, [plain(one), plain(two)]);
      });

      it('hands a token out once: the first take returns it, the second nothing, and its alarms forget it', async () => {
        const releaseId = uid('rel');
        const alarm = uid('alarm');
        const record = bakeToken(releaseId, 'prod', [alarm]);
        await ledger.putToken(record);

        const first = await ledger.takeToken('BAKE', releaseId, 'prod');
        const second = await ledger.takeToken('BAKE', releaseId, 'prod');

        assert.deepEqual(first, plain(record));
        assert.equal(second, undefined);
        assert.deepEqual(await ledger.tokensForAlarm(alarm), []);
      });

      it('gives a token to exactly one of five concurrent takers', async () => {
        const releaseId = uid('rel');
        const record = bakeToken(releaseId, 'prod', [uid('alarm')]);
        await ledger.putToken(record);

        const taken = await Promise.all(Array.from({ length: 5 }, () => ledger.takeToken('BAKE', releaseId, 'prod')));

        const winners = taken.filter((t) => t !== undefined);
        assert.equal(winners.length, 1);
        assert.deepEqual(winners[0], plain(record));
      });

      it('keeps approval and bake tokens of the same stage apart', async () => {
        const releaseId = uid('rel');
        const approval: TokenRecord = {
          kind: 'APPROVAL',
          releaseId,
          service: 'payments',
          stage: 'prod',
          token: uid('approval-token'),
          alarms: [],
          createdAt: T0,
          expiresAt: iso(T0, 86_400),
        };
        await ledger.putToken(approval);
        await ledger.putToken(bakeToken(releaseId, 'prod', [uid('alarm')]));

        const taken = await ledger.takeToken('APPROVAL', releaseId, 'prod');

        assert.deepEqual(taken, plain(approval));
        assert.equal((await ledger.takeToken('BAKE', releaseId, 'prod'))?.kind, 'BAKE');
      });

      it('stops listing a replaced token under the alarms the replacement no longer watches', async () => {
        const releaseId = uid('rel');
        const [kept, dropped] = [uid('alarm'), uid('alarm')] as [string, string];
        await ledger.putToken(bakeToken(releaseId, 'prod', [kept, dropped]));
        const replacement = bakeToken(releaseId, 'prod', [kept]);

        await ledger.putToken(replacement);

        assert.deepEqual(await ledger.tokensForAlarm(kept), [plain(replacement)]);
        assert.deepEqual(await ledger.tokensForAlarm(dropped), []);
      });

      it('returns nothing when taking a token never put', async () => {
        assert.equal(await ledger.takeToken('BAKE', uid('rel'), 'prod'), undefined);
      });
    });

    describe('skips', () => {
      it('records a skip once however often its event is replayed', async () => {
        const eventId = uid('evt');
        const skip = { repository: 'payments-api', tag: 'latest', digest: digest('c'), reason: 'tag latest does not match ^v\\d+', at: T0, eventId };

        await ledger.recordSkip(skip);
        await ledger.recordSkip({ ...skip, at: iso(T0, 300) });

        const mine = (await ledger.listSkips()).filter((s) => s.eventId === eventId);
        assert.deepEqual(mine, [skip]);
      });

      it('lists skips in the order they happened', async () => {
        const [late, early] = [uid('evt'), uid('evt')] as [string, string];
        await ledger.recordSkip({ repository: 'r', reason: 'later', at: iso(T0, 3600), eventId: late });
        await ledger.recordSkip({ repository: 'r', reason: 'earlier', at: iso(T0, 60), eventId: early });

        const ids = (await ledger.listSkips()).map((s) => s.eventId).filter((id) => id === late || id === early);

        assert.deepEqual(ids, [early, late]);
      });
    });

    describe('initiators', () => {
      it('returns the principal that started an execution', async () => {
        const name = uid('exec');

        await ledger.putInitiator(name, 'arn:aws:iam::111122223333:user/alice', T0);

        assert.equal(await ledger.getInitiator(name), 'arn:aws:iam::111122223333:user/alice');
      });

      it('keeps the first principal when a replayed start writes another', async () => {
        const name = uid('exec');
        await ledger.putInitiator(name, 'arn:aws:iam::111122223333:user/alice', T0);

        await ledger.putInitiator(name, 'arn:aws:iam::111122223333:user/mallory', iso(T0, 1));

        assert.equal(await ledger.getInitiator(name), 'arn:aws:iam::111122223333:user/alice');
      });

      it('knows no initiator of an execution nobody recorded', async () => {
        assert.equal(await ledger.getInitiator(uid('exec')), undefined);
      });
    });

    describe('listReleases', () => {
      it("lists one service's releases ordered by start time", async () => {
        const service = uid('svc');
        const [r1, r2, r3] = [uid('rel'), uid('rel'), uid('rel')] as [string, string, string];
        await ledger.append(started(r2, service, '2026-11-24T12:00:00.000Z'));
        await ledger.append(started(r3, service, '2026-11-25T09:00:00.000Z'));
        await ledger.append(started(r1, service, '2026-11-23T08:00:00.000Z'));
        await ledger.append(started(uid('rel'), uid('svc'), '2026-11-24T12:30:00.000Z'));

        const releases = await ledger.listReleases({ service });

        assert.deepEqual(
          releases.map((r) => r.releaseId),
          [r1, r2, r3],
        );
        assert.deepEqual(releases[1], await ledger.getRelease(r2));
      });

      it("lists only a service's releases in a status when asked", async () => {
        const service = uid('svc');
        const [done, running] = [uid('rel'), uid('rel')] as [string, string];
        await ledger.append(started(done, service, '2026-11-24T12:00:00.000Z'));
        await ledger.append({ releaseId: done, stepKey: 'end', type: 'release.finished', at: '2026-11-24T13:00:00.000Z', data: { status: 'SUCCEEDED' } });
        await ledger.append(started(running, service, '2026-11-24T14:00:00.000Z'));

        const onlyRunning = await ledger.listReleases({ service, status: 'RUNNING' });
        const succeeded = await ledger.listReleases({ service, status: 'SUCCEEDED' });

        assert.deepEqual(
          onlyRunning.map((r) => r.releaseId),
          [running],
        );
        assert.deepEqual(
          succeeded.map((r) => r.releaseId),
          [done],
        );
        assert.equal((await ledger.listReleases({ service })).length, 2);
      });

      it("bounds a service's releases by start time, both ends inclusive, a date meaning the whole day", async () => {
        const service = uid('svc');
        const ids = ['2026-11-23T23:59:59.000Z', '2026-11-24T00:00:00.000Z', '2026-11-24T23:59:59.000Z', '2026-11-25T00:00:00.000Z'].map((at) => {
          const id = uid('rel');
          return { id, at };
        });
        for (const { id, at } of ids) await ledger.append(started(id, service, at));

        const day = await ledger.listReleases({ service, from: '2026-11-24', to: '2026-11-24' });
        const exact = await ledger.listReleases({ service, from: '2026-11-24T00:00:00.000Z', to: '2026-11-25T00:00:00.000Z' });
        const since = await ledger.listReleases({ service, from: '2026-11-24T23:00:00.000Z' });

        assert.deepEqual(
          day.map((r) => r.releaseId),
          [ids[1]?.id, ids[2]?.id],
        );
        assert.deepEqual(
          exact.map((r) => r.releaseId),
          [ids[1]?.id, ids[2]?.id, ids[3]?.id],
        );
        assert.deepEqual(
          since.map((r) => r.releaseId),
          [ids[2]?.id, ids[3]?.id],
        );
      });

      it('lists the releases of every service, ordered by start time, when no service is given', async () => {
        const [a, b] = [uid('rel'), uid('rel')] as [string, string];
        await ledger.append(started(a, uid('svc'), '2020-01-02T00:00:00.000Z'));
        await ledger.append(started(b, uid('svc'), '2020-01-01T00:00:00.000Z'));

        const all = await ledger.listReleases();

        const startTimes = all.map((r) => r.startedAt);
        assert.deepEqual(startTimes, [...startTimes].sort());
        assert.deepEqual(
          all.map((r) => r.releaseId).filter((id) => id === a || id === b),
          [b, a],
        );
        assert.ok(all.every((r) => typeof r.version === 'number' && Array.isArray(r.stages)));
      });
    });

    describe('refused approvals', () => {
      const refusal = (releaseId: string, n: number, stage = 'prod') => ({
        releaseId,
        stage,
        principal: `arn:aws:sts::111122223333:assumed-role/Contractors/c${n}`,
        code: 'not-an-approver',
        reason: `c${n} is not an approver`,
        decision: 'approve',
        requestId: `req-${n}`,
        at: iso(T0, n),
      });

      it('records each refusal once, counts them per stage, and keeps them out of the release chain', async () => {
        const releaseId = uid('rel');
        await ledger.append(started(releaseId, uid('svc')));

        const first = await ledger.recordRefusal(refusal(releaseId, 1));
        const again = await ledger.recordRefusal(refusal(releaseId, 1));
        for (const n of [2, 3, 4, 5, 6, 7]) await ledger.recordRefusal(refusal(releaseId, n));
        await ledger.recordRefusal(refusal(releaseId, 8, 'dev'));

        assert.deepEqual([first.duplicate, again.duplicate], [false, true]);
        const stats = (await ledger.refusalStats(releaseId)).sort((a, b) => a.stage.localeCompare(b.stage));
        assert.deepEqual(
          stats.map((x) => [x.stage, x.count, x.last.map((l) => l.principal.split('/').at(-1))]),
          [
            ['dev', 1, ['c8']],
            ['prod', 7, ['c3', 'c4', 'c5', 'c6', 'c7']],
          ],
        );
        assert.equal((await ledger.events(releaseId)).length, 1);
        const summary = await ledger.getRelease(releaseId);
        assert.deepEqual(summary?.stages.find((x) => x.name === 'prod')?.refusalCount, 7);
      });

      it('lists refusals oldest first, by stage, and the newest few', async () => {
        const releaseId = uid('rel');
        for (const n of [3, 1, 2]) await ledger.recordRefusal(refusal(releaseId, n));
        await ledger.recordRefusal(refusal(releaseId, 4, 'dev'));

        assert.deepEqual(
          (await ledger.listRefusals(releaseId, { stage: 'prod' })).map((r) => r.requestId),
          ['req-1', 'req-2', 'req-3'],
        );
        assert.deepEqual(
          (await ledger.listRefusals(releaseId, { stage: 'prod', newest: 2 })).map((r) => r.requestId),
          ['req-2', 'req-3'],
        );
        assert.equal((await ledger.listRefusals(releaseId)).length, 4);
        assert.deepEqual(await ledger.listRefusals(uid('rel')), []);
      });

      it('counts a throttle bucket up to its limit and no further, per window', async () => {
        const bucket = `principal:${uid('arn')}`;
        const expires = iso(T0, 3600);

        const taken = [];
        for (let i = 0; i < 4; i++) taken.push(await ledger.takeThrottleSlot(bucket, '2026-11-24T10:00', 3, expires));
        const nextWindow = await ledger.takeThrottleSlot(bucket, '2026-11-24T10:01', 3, expires);

        assert.deepEqual(taken, [true, true, true, false]);
        assert.equal(await ledger.throttleUsed(bucket, '2026-11-24T10:00'), 3);
        assert.equal(nextWindow, true);
        assert.equal(await ledger.throttleUsed(`principal:${uid('arn')}`, '2026-11-24T10:00'), 0);
      });

      it('keeps the first start pusher of an execution', async () => {
        const name = uid('exec');
        await ledger.putStartPusher(name, 'arn:aws:sts::111122223333:assumed-role/Deployers/alice', T0);

        await ledger.putStartPusher(name, 'arn:aws:sts::111122223333:assumed-role/Deployers/mallory', iso(T0, 1));

        assert.equal(await ledger.getStartPusher(name), 'arn:aws:sts::111122223333:assumed-role/Deployers/alice');
        assert.equal(await ledger.getStartPusher(uid('exec')), undefined);
      });
    });

    describe('time to live', () => {
      it('puts expiresAt on tokens, lease waiters, alarm index entries, initiators, start pushers and throttle counters only — never on evidence (refusals included) or leases', async () => {
        const service = uid('svc');
        const releaseId = uid('rel');
        for (const input of awkwardJourney(releaseId, service)) await ledger.append(input);
        await ledger.setRunning(service, 'dev', digest('a'), T0);
        await ledger.markGood(service, 'dev', digest('a'), T0);
        await ledger.acquireLease(service, 'dev', 'exec-ttl', T0);
        await ledger.addLeaseWaiter({ service, stage: 'dev', releaseId: 'exec-waiting', token: 'token-w', at: T0 });
        await ledger.putToken(bakeToken(releaseId, 'dev', [uid('alarm')]));
        await ledger.recordSkip({ repository: 'r', reason: 'ttl check', at: T0, eventId: uid('evt') });
        await ledger.putInitiator(uid('exec'), 'arn:aws:iam::111122223333:user/alice', T0);
        await ledger.putStartPusher(uid('exec'), 'arn:aws:iam::111122223333:user/alice', T0);
        await ledger.takeThrottleSlot(`principal:${uid('arn')}`, '2026-11-24T10:00', 10, iso(T0, 3600));
        await ledger.recordRefusal({
          releaseId,
          stage: 'dev',
          principal: 'arn:aws:iam::111122223333:user/mallory',
          code: 'not-an-approver',
          reason: 'no',
          decision: 'approve',
          requestId: uid('req'),
          at: T0,
        });

        const items: Record<string, unknown>[] = [];
        let ExclusiveStartKey: Record<string, unknown> | undefined;
        do {
          const page = await backend.doc.send(new ScanCommand({ TableName: backend.tableName, ConsistentRead: true, ExclusiveStartKey }));
          items.push(...(page.Items ?? []));
          ExclusiveStartKey = page.LastEvaluatedKey;
        } while (ExclusiveStartKey);

        const expiring = (i: Record<string, unknown>) =>
          i.sk === 'TOKEN' ||
          i.sk === 'INITIATOR' ||
          i.sk === 'PUSHER' ||
          String(i.pk).startsWith('THROTTLE#') ||
          String(i.sk).startsWith('WAITER#') ||
          String(i.pk).startsWith('ALARM#');
        const withTtl = items.filter((i) => LEDGER_TTL_ATTRIBUTE in i);
        assert.deepEqual(
          withTtl.filter((i) => !expiring(i)).map((i) => `${i.pk} ${i.sk}`),
          [],
        );
        assert.deepEqual(
          items.filter((i) => expiring(i) && typeof i[LEDGER_TTL_ATTRIBUTE] !== 'number').map((i) => `${i.pk} ${i.sk}`),
          [],
        );
        const kinds = new Set(
          withTtl.map((i) =>
            String(i.pk).startsWith('ALARM#') ? 'ALARM' : String(i.pk).startsWith('THROTTLE#') ? 'THROTTLE' : String(i.sk).startsWith('WAITER#') ? 'WAITER' : i.sk,
          ),
        );
        assert.deepEqual([...kinds].sort(), ['ALARM', 'INITIATOR', 'PUSHER', 'THROTTLE', 'TOKEN', 'WAITER']);
        assert.ok(
          items.some((i) => String(i.pk).startsWith('REFUSAL#') && !(LEDGER_TTL_ATTRIBUTE in i)),
          'a refusal is evidence: no TTL',
        );
        assert.ok(
          items.some((i) => i.sk === 'LEASE' && !(LEDGER_TTL_ATTRIBUTE in i)),
          'a lease has no TTL',
        );
        assert.ok(items.some((i) => String(i.sk).startsWith('EVENT#')) && items.some((i) => i.sk === 'META' && i.pk === ledgerKeys.releaseMeta(releaseId).pk));
      });
    });
  });
}

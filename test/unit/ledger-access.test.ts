/**
 * The table of ledger owners (lib/ledger-access.ts): that it describes the adapter exactly (each Ledger
 * method, run on the in-memory DynamoDB, sends exactly the (action, item kind) pairs it is listed with), that every key
 * the adapter builds is one item kind, and that the statements it renders allow and refuse what they should
 * under IAM's rules — including the refusals a test of the happy path would never see.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { DynamoLedger } from '../../lambdas/adapters/dynamo-ledger';
import { createLedgerTable, ledgerKeys } from '../../lambdas/adapters/ledger-table';
import { type Ledger, scanIndexKey, type TokenRecord } from '../../lambdas/ports';
import type { LocalDynamo } from '../../local/dynamo';
import { startMemoryDynamo } from '../../local/memory-dynamo';
import { HANDLERS } from '../../lib/ReleaseControlPlane';
import { grantsOf, handlerGrants, itemKindOf, LEDGER_ACCESS, LEDGER_ITEM_KINDS, LEDGER_METHODS, type LedgerMethod, ledgerPolicy, writes } from '../../lib/ledger-access';
import { allows, globMatch, type IamRequest } from '../helpers/iam-policy';
import { iamRequestsOf, LEDGER_ARNS } from '../helpers/ledger-requests';

const AT = '2026-11-24T10:00:00.000Z';
const D = `sha256:${'a'.repeat(64)}`;

const req = (operation: string, partitionKey?: string, index?: string): IamRequest => ({
  action: `dynamodb:${operation}`,
  resource: index ? `${LEDGER_ARNS.table}/index/${index}` : LEDGER_ARNS.table,
  context: partitionKey === undefined ? {} : { 'dynamodb:LeadingKeys': [partitionKey] },
});
const may = (handler: string, operation: string, partitionKey?: string, index?: string) => allows(ledgerPolicy(handler, LEDGER_ARNS), req(operation, partitionKey, index));

describe('IAM matching (test/helpers/iam-policy.ts)', () => {
  it('matches IAM wildcards: * any run, ? one character, nothing else special', () => {
    assert.ok(globMatch('RELEASE#*', 'RELEASE#payments-1'));
    assert.ok(globMatch('RELEASE#*', 'RELEASE#'));
    assert.ok(!globMatch('RELEASE#*', 'STAGE#payments#dev'));
    assert.ok(!globMatch('SKIP#*', 'SKIPS'));
    assert.ok(globMatch('FREEZE', 'FREEZE'));
    assert.ok(!globMatch('FREEZE', 'FREEZER'));
    assert.ok(!globMatch('a.c', 'abc'), 'a dot is a dot');
  });

  it('lets ForAllValues pass a request without the key (IAM does), which the Null check then refuses', () => {
    const withoutNull = [
      { Effect: 'Allow' as const, Action: 'dynamodb:Scan', Resource: LEDGER_ARNS.table, Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['FREEZE'] } } },
    ];
    const withNull = [{ ...withoutNull[0], Condition: { ...withoutNull[0]?.Condition, Null: { 'dynamodb:LeadingKeys': 'false' } } }] as const;

    assert.equal(allows(withoutNull, req('Scan')), true);
    assert.equal(allows(withNull as never, req('Scan')), false);
  });
});

describe('the statements of a handler role', () => {
  it('let approval-decide write release events and approval tokens, and nothing of a stage, a bake, a start record or the freeze', () => {
    assert.ok(may('approval-decide', 'PutItem', 'RELEASE#payments-1'));
    assert.ok(may('approval-decide', 'DeleteItem', 'TOKEN#APPROVAL#payments-1#prod'));
    for (const pk of ['STAGE#payments#prod', 'ALARM#payments-prod-5xx', 'INITIATOR#payments-1', 'FREEZE', 'INSIGHT', 'SKIPS']) {
      for (const op of ['PutItem', 'UpdateItem', 'DeleteItem']) assert.ok(!may('approval-decide', op, pk), `${op} ${pk}`);
    }
  });

  it('let intake write skips, the pusher record and release events, never a start record, and never delete anything', () => {
    assert.ok(may('intake', 'PutItem', 'SKIP#push:x'));
    assert.ok(may('intake', 'PutItem', 'PUSHER#payments-1'));
    assert.ok(!may('intake', 'PutItem', 'INITIATOR#payments-1'), 'a pushed release takes its initiator from the execution input, not a start record');
    assert.ok(may('intake', 'PutItem', 'RELEASE#payments-1'));
    for (const pk of ['RELEASE#payments-1', 'STAGE#payments#dev', 'TOKEN#BAKE#payments-1#dev', 'FREEZE']) assert.ok(!may('intake', 'DeleteItem', pk), pk);
    assert.ok(!may('intake', 'UpdateItem', 'STAGE#payments#dev'));
    assert.ok(!may('intake', 'UpdateItem', 'FREEZE'));
  });

  it('let only the operator API set the freeze and write start records', () => {
    for (const handler of Object.keys(HANDLERS)) {
      assert.equal(may(handler, 'UpdateItem', 'FREEZE') || may(handler, 'PutItem', 'FREEZE'), handler === 'operator-api', handler);
      assert.equal(may(handler, 'PutItem', 'INITIATOR#payments-1'), handler === 'operator-api', handler);
    }
  });

  it("let no role delete a release's items, scan the table or the index, or send a request without a partition key", () => {
    for (const handler of Object.keys(HANDLERS)) {
      assert.ok(!may(handler, 'DeleteItem', 'RELEASE#payments-1'), handler);
      assert.ok(!may(handler, 'Scan'), handler);
      assert.ok(!may(handler, 'Scan', undefined, 'byService'), handler);
      for (const op of ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query']) assert.ok(!may(handler, op), `${handler} ${op} without a key`);
      for (const op of ['BatchWriteItem', 'BatchGetItem', 'PartiQLUpdate', 'TransactWriteItems', 'DescribeTable'])
        assert.ok(!may(handler, op, 'RELEASE#payments-1'), `${handler} ${op}`);
    }
  });

  it('let read-only handlers read and nothing else', () => {
    for (const handler of ['insight-plan', 'rollout-check']) {
      assert.equal(writes(handlerGrants(handler)), false, handler);
      for (const kind of Object.values(LEDGER_ITEM_KINDS)) {
        const pk = kind.partition.replace('*', 'x');
        for (const op of ['PutItem', 'UpdateItem', 'DeleteItem']) assert.ok(!may(handler, op, pk), `${handler} ${op} ${pk}`);
      }
    }
    assert.ok(may('rollout-check', 'Query', 'RELEASE#payments-1'));
    // insight-plan plans from the config alone; insight-record reads the releases and pointers it compares.
    assert.ok(!may('insight-plan', 'Query', 'SERVICE#payments', 'byService'));
    assert.ok(may('insight-record', 'Query', 'SERVICE#payments', 'byService'));
  });

  it('let only the handlers that list releases or leases query the index', () => {
    const readers = Object.keys(HANDLERS).filter((h) => may(h, 'Query', 'SERVICE#payments', 'byService'));

    assert.deepEqual(readers.sort(), ['deploy-check', 'insight-record', 'prepare-release', 'reconciler', 'record-step', 'stage-lease']);
  });

  it('refuse a handler with no entry, and an unknown ledger method', () => {
    assert.throws(() => handlerGrants('mystery'), /handler mystery has no entry in LEDGER_ACCESS/);
    assert.throws(() => handlerGrants('constructor'), /handler constructor has no entry/);
    assert.throws(() => grantsOf(['deleteEverything' as LedgerMethod]), /unknown ledger method "deleteEverything"/);
  });

  it('cover every handler of the stack', () => {
    assert.deepEqual(Object.keys(LEDGER_ACCESS).sort(), Object.keys(HANDLERS).sort());
  });
});

describe('the item kinds', () => {
  it('cover every key the adapter builds, each with exactly one kind', () => {
    const keys: Array<[string, string]> = [
      [ledgerKeys.releaseMeta('r').pk, 'release'],
      [ledgerKeys.releaseEvent('r', 1).pk, 'release'],
      [ledgerKeys.stagePointer('s', 'dev').pk, 'stage'],
      [ledgerKeys.stageLease('s', 'dev').pk, 'stage'],
      [ledgerKeys.leaseWaiter('s', 'dev', 'r').pk, 'stage'],
      [ledgerKeys.token('BAKE', 'r', 'dev').pk, 'token'],
      [ledgerKeys.alarmIndex('a', 'BAKE', 'r', 'dev').pk, 'alarmIndex'],
      [ledgerKeys.skip('e').pk, 'skip'],
      [ledgerKeys.skipListing(AT, 'e').pk, 'skipListing'],
      [ledgerKeys.initiator('r').pk, 'initiator'],
      [ledgerKeys.insightRecord(1).pk, 'insight'],
      ['FREEZE', 'freeze'],
    ];
    for (const [pk, kind] of keys) {
      assert.equal(itemKindOf(pk), kind, pk);
      const matching = Object.entries(LEDGER_ITEM_KINDS).filter(([, k]) => globMatch(k.partition, pk));
      assert.deepEqual(
        matching.map(([name]) => name),
        [kind],
        `${pk} matches exactly one partition pattern`,
      );
    }
    assert.equal(itemKindOf('SOMETHING#else'), undefined);
  });
});

describe('LEDGER_METHODS against the adapter on the in-memory DynamoDB', () => {
  let dynamo: LocalDynamo;
  let sent: Array<{ method: string; pair: string }> = [];
  let current = '';
  let ledger: Ledger;
  let ledgerClient: ConstructorParameters<typeof DynamoLedger>[0]['client'];

  beforeAll(async () => {
    dynamo = await startMemoryDynamo();
    await createLedgerTable(dynamo.client, 'ledger-methods');
    const client = {
      send: (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
        for (const r of iamRequestsOf({ command: command.constructor.name, input: command.input }))
          sent.push({ method: current, pair: r.index ? 'index' : `${r.operation} ${itemKindOf(r.partitionKey ?? '') ?? r.partitionKey}` });
        return dynamo.doc.send(command as never);
      },
    };
    ledgerClient = client as never;
    ledger = new DynamoLedger({ client: ledgerClient, tableName: 'ledger-methods' });
  });
  afterAll(async () => {
    await dynamo.close();
  });

  /** Call a ledger method as `name` (the LEDGER_METHODS entry it is checked against). */
  async function call<T>(name: LedgerMethod, fn: () => Promise<T>): Promise<T> {
    current = name;
    try {
      return await fn();
    } finally {
      current = '';
    }
  }
  const token = (kind: TokenRecord['kind'], alarms: string[], t = 'tok-1'): TokenRecord => ({
    kind,
    releaseId: 'r1',
    service: 's',
    stage: 'dev',
    token: t,
    alarms,
    createdAt: AT,
    expiresAt: '2026-11-25T10:00:00.000Z',
  });

  it('send exactly the (action, item kind) pairs each method is listed with', async () => {
    sent = [];
    await call('append', () =>
      ledger.append({ releaseId: 'r1', stepKey: 'release.started', type: 'release.started', at: AT, data: { service: 's', digest: D, stages: ['dev'], kind: 'release' } }),
    );
    // A ledger instance that has not read r2's chain: one Query, then one transaction of PutItems.
    await call('appendAll', () =>
      new DynamoLedger({ client: ledgerClient, tableName: 'ledger-methods' }).appendAll([
        { releaseId: 'r2', stepKey: 'release.started', type: 'release.started', at: AT, data: { service: 's', digest: D, stages: ['dev'], kind: 'release' } },
        { releaseId: 'r2', stepKey: 'dev/started', type: 'stage.started', at: AT, stage: 'dev', data: {} },
      ]),
    );
    await call('events', () => ledger.events('r1'));
    await call('getRelease', () => ledger.getRelease('r1'));
    await call('listReleases', () => ledger.listReleases({ service: 's' }));
    await call('getPointer', () => ledger.getPointer('s', 'dev'));
    await call('markGood', () => ledger.markGood('s', 'dev', D, AT));
    await call('setRunning', () => ledger.setRunning('s', 'dev', D, AT));
    await call('acquireLease', () => ledger.acquireLease('s', 'dev', 'r1', AT));
    await call('getLease', () => ledger.getLease('s', 'dev'));
    const fence = (await call('getLease', () => ledger.getLease('s', 'dev')))?.fence ?? 0;
    await call('beginDeploy', () => ledger.beginDeploy('s', 'dev', 'r1', fence, { kind: 'deploy', digest: D, at: AT }));
    await call('endDeploy', () => ledger.endDeploy('s', 'dev', 'r1', fence));
    await call('takeOverLease', () => ledger.takeOverLease('s', 'dev', { owner: 'r1', fence }, 'r2', AT));
    await call('addLeaseWaiter', () => ledger.addLeaseWaiter({ service: 's', stage: 'dev', releaseId: 'r3', token: 'w', at: AT }));
    await call('takeLeaseWaiters', () => ledger.takeLeaseWaiters('s', 'dev'));
    await call('releaseLease', () => ledger.releaseLease('s', 'dev', 'r2'));
    await call('leasesOf', () => ledger.leasesOf('r2'));
    await call('putToken(BAKE)', () => ledger.putToken(token('BAKE', ['a1', 'a2'])));
    // A newer token of the same stage without a2: the stale index entry is deleted.
    await call('putToken(BAKE)', () => ledger.putToken(token('BAKE', ['a1'], 'tok-2')));
    await call('tokensForAlarm', () => ledger.tokensForAlarm('a1'));
    await call('takeToken(BAKE)', () => ledger.takeToken('BAKE', 'r1', 'dev'));
    const scanKey = scanIndexKey('repo', D);
    await call('putToken(SCAN)', () => ledger.putToken(token('SCAN', [scanKey, 'ecr-scan:repo@sha256:other'])));
    // A newer registration of the same stage without the second key: its stale index entry is deleted.
    await call('putToken(SCAN)', () => ledger.putToken(token('SCAN', [scanKey], 'tok-4')));
    await call('tokensForImageScan', () => ledger.tokensForImageScan('repo', D));
    await call('takeToken(SCAN)', () => ledger.takeToken('SCAN', 'r1', 'dev'));
    await call('putToken(APPROVAL)', () => ledger.putToken(token('APPROVAL', [])));
    await call('putToken(APPROVAL)', () => ledger.putToken(token('APPROVAL', [], 'tok-3')));
    await call('takeToken(APPROVAL)', () => ledger.takeToken('APPROVAL', 'r1', 'dev'));
    const skip = { repository: 'x', tag: 'latest', reason: 'no service', at: AT, eventId: 'push:x' };
    await call('recordSkip', () => ledger.recordSkip(skip));
    await call('recordSkip', () => ledger.recordSkip(skip));
    await call('listSkips', () => ledger.listSkips());
    await call('getFreeze', () => ledger.getFreeze());
    await call('setFreeze', () => ledger.setFreeze({ on: true, reason: 'r', principal: 'arn:aws:iam::111122223333:user/p', at: AT }));
    await call('putInitiator', () => ledger.putInitiator('r9', 'arn:aws:iam::111122223333:user/p', AT));
    await call('getInitiator', () => ledger.getInitiator('r9'));
    await call('putInsight', () => ledger.putInsight({ checkId: 'c1', at: AT, data: {} } as never));
    await call('listInsights', () => ledger.listInsights());
    const refusal = {
      releaseId: 'r1',
      stage: 'prod',
      principal: 'arn:aws:iam::111122223333:user/mallory',
      code: 'not-an-approver',
      reason: 'not an approver',
      decision: 'approve',
      requestId: 'req-1',
      at: AT,
    };
    await call('recordRefusal', () => ledger.recordRefusal(refusal));
    await call('refusalStats', () => ledger.refusalStats('r1'));
    await call('listRefusals', () => ledger.listRefusals('r1'));
    await call('takeThrottleSlot', () => ledger.takeThrottleSlot('bucket-1', '2026-11-24T10:00', 10, '2026-11-24T11:00:00Z'));
    await call('throttleUsed', () => ledger.throttleUsed('bucket-1', '2026-11-24T10:00'));
    await call('putStartPusher', () => ledger.putStartPusher('r1', 'arn:aws:iam::111122223333:user/p', AT));
    await call('getStartPusher', () => ledger.getStartPusher('r1'));
    const anchor = { releaseId: 'r1', version: 3, lastHash: 'a'.repeat(64) };
    await call('putSignature', () => ledger.putSignature({ subject: 'r1', status: 'FAILED', at: AT, anchor, outcome: 'no-signer' }));
    await call('getSignature', () => ledger.getSignature('r1'));

    const byMethod = new Map<string, Set<string>>();
    for (const s of sent) byMethod.set(s.method, new Set([...(byMethod.get(s.method) ?? []), s.pair]));
    for (const [method, access] of Object.entries(LEDGER_METHODS)) {
      const declared = new Set([...access.table.map(([a, k]) => `${a} ${k}`), ...('index' in access && access.index ? ['index'] : [])]);
      assert.deepEqual([...(byMethod.get(method) ?? [])].sort(), [...declared].sort(), method);
    }
    assert.ok(!sent.some((s) => s.method === ''), 'every request came from a listed call');
  });
});

/**
 * The in-memory DynamoDB (local/memory-dynamo.ts) against the official DynamoDB Local, request by
 * request: the same raw wire requests (every operation, key, condition, update, filter and projection
 * form the ledger sends, conditional failures, transaction cancellations, small-Limit pagination, GSI
 * queries, DynamoDB's sort order, its validation errors) go to both, and every answer must be the same:
 * the output, or the error's name (and a cancelled transaction's reason codes, a failed condition's
 * returned item). Then fast-check generates ledger-shaped sequences and compares them the same way.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import fc from 'fast-check';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { LocalDynamo } from '../../local/dynamo';
import { startMemoryDynamo } from '../../local/memory-dynamo';
import { startDynamoDbLocal } from '../helpers/dynamo-local';

type Input = Record<string, unknown>;
type Outcome = { ok: Record<string, unknown> } | { error: string; reasons?: unknown; item?: unknown };

const COMMANDS = {
  CreateTable: CreateTableCommand,
  DescribeTable: DescribeTableCommand,
  GetItem: GetItemCommand,
  PutItem: PutItemCommand,
  UpdateItem: UpdateItemCommand,
  DeleteItem: DeleteItemCommand,
  Query: QueryCommand,
  Scan: ScanCommand,
  TransactWriteItems: TransactWriteItemsCommand,
  BatchWriteItem: BatchWriteItemCommand,
} as const;
type Op = keyof typeof COMMANDS;

let memory: LocalDynamo;
let real: LocalDynamo;
/** Messages that differ between the two (names agree): printed, not asserted — DynamoDB words them freely. */
const messageDiffs: string[] = [];
let compared = 0;

async function outcome(backend: LocalDynamo, op: Op, input: Input): Promise<{ outcome: Outcome; message?: string }> {
  const Command = COMMANDS[op] as unknown as new (i: Input) => Parameters<LocalDynamo['client']['send']>[0];
  try {
    const out = (await backend.client.send(new Command({ TableName: backend.tableName, ...input }))) as unknown as Record<string, unknown>;
    const { $metadata: _m, ConsumedCapacity: _c, ...rest } = out;
    return { outcome: { ok: rest } };
  } catch (e) {
    const err = e as Error & { CancellationReasons?: Array<{ Code?: string; Item?: unknown }>; Item?: unknown };
    return {
      outcome: {
        error: err.name,
        ...(err.CancellationReasons ? { reasons: err.CancellationReasons.map((r) => ({ Code: r.Code, ...(r.Item ? { Item: r.Item } : {}) })) } : {}),
        ...(err.Item ? { item: err.Item } : {}),
      },
      message: err.message,
    };
  }
}

/** Send to both; assert the same outcome; return it. `sortItems` for Scan (DynamoDB Local orders partitions by hash). */
async function same(op: Op, input: Input, opts: { sortItems?: boolean; known?: string } = {}): Promise<Outcome> {
  const [m, r] = await Promise.all([outcome(memory, op, input), outcome(real, op, input)]);
  if (opts.known) {
    // A documented DynamoDB rule DynamoDB Local does not enforce: the memory store follows DynamoDB.
    assert.deepEqual(m.outcome, { error: 'ValidationException' }, `${op}: ${opts.known}; memory answered ${JSON.stringify(m.outcome)}`);
    assert.ok(!('error' in r.outcome) || r.outcome.error !== 'ValidationException', `DynamoDB Local now refuses it too: drop the exception (${opts.known})`);
    return m.outcome;
  }
  const norm = (o: Outcome): Outcome => {
    if (!('ok' in o) || !opts.sortItems || !Array.isArray(o.ok.Items)) return o;
    const items = [...(o.ok.Items as unknown[])].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    return { ok: { ...o.ok, Items: items } };
  };
  compared++;
  assert.deepEqual(norm(m.outcome), norm(r.outcome), `${op} ${JSON.stringify(input)}\nmemory: ${m.message ?? ''}\nDynamoDB Local: ${r.message ?? ''}`);
  if (m.message !== r.message) messageDiffs.push(`${op}: memory "${m.message}" / DynamoDB Local "${r.message}"`);
  return m.outcome;
}

const S = (s: string): AttributeValue => ({ S: s });
const N = (n: string | number): AttributeValue => ({ N: String(n) });
const key = (pk: string, sk: string) => ({ pk: S(pk), sk: S(sk) });

/** All pages of a Query or Scan with a small Limit, comparing every page. */
async function pages(op: 'Query' | 'Scan', input: Input, limit: number): Promise<number> {
  let start: unknown;
  let n = 0;
  for (let i = 0; i < 100; i++) {
    const o = await same(op, { ...input, Limit: limit, ...(start ? { ExclusiveStartKey: start } : {}) }, { sortItems: op === 'Scan' });
    assert.ok('ok' in o, JSON.stringify(o));
    n += ((o.ok.Items as unknown[] | undefined) ?? []).length;
    start = o.ok.LastEvaluatedKey;
    if (!start) return n;
  }
  throw new Error('pagination did not end');
}

beforeAll(async () => {
  [memory, real] = await Promise.all([startMemoryDynamo(), startDynamoDbLocal()]);
});

afterAll(async () => {
  await Promise.all([memory?.close(), real?.close()]);
  if (messageDiffs.length > 0)
    process.stderr.write(`memory-dynamo differential: ${compared} requests compared; messages that differ (names agree):\n  ${[...new Set(messageDiffs)].join('\n  ')}\n`);
});

describe('in-memory DynamoDB vs DynamoDB Local, request by request', () => {
  it('answers puts, gets and deletes with conditions and ReturnValues the same, numbers in canonical form', async () => {
    const item = {
      ...key('RELEASE#r1', 'META'),
      entity: S('RELEASE'),
      n: N('1.50'),
      z: N('-0'),
      e: N('1e2'),
      small: N('0.000100'),
      big: N('12345678901234567890123456789012345678'),
      m: { M: { a: { L: [S('x'), N(2), { NULL: true }, { BOOL: false }] } } },
      ss: { SS: ['b', 'a'] },
    };
    await same('PutItem', { Item: item, ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': 'pk' } });
    const again = await same('PutItem', { Item: item, ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': 'pk' } });
    assert.deepEqual(again, { error: 'ConditionalCheckFailedException' });
    await same('PutItem', {
      Item: item,
      ConditionExpression: 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#pk': 'pk' },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    await same('GetItem', { Key: key('RELEASE#r1', 'META'), ConsistentRead: true });
    await same('GetItem', { Key: key('RELEASE#r1', 'META'), ProjectionExpression: '#m.a[1], n, #e', ExpressionAttributeNames: { '#m': 'm', '#e': 'entity' } });
    await same('GetItem', { Key: key('RELEASE#none', 'META') });
    await same('PutItem', {
      Item: { ...key('SUMMARY', 's'), version: N(3) },
      ConditionExpression: 'attribute_not_exists(#v) OR #v < :v',
      ExpressionAttributeNames: { '#v': 'version' },
      ExpressionAttributeValues: { ':v': N(3) },
    });
    await same('PutItem', {
      Item: { ...key('SUMMARY', 's'), version: N(3) },
      ConditionExpression: 'attribute_not_exists(#v) OR #v < :v',
      ExpressionAttributeNames: { '#v': 'version' },
      ExpressionAttributeValues: { ':v': N(3) },
    });
    await same('PutItem', {
      Item: { ...key('SUMMARY', 's'), version: N(4) },
      ConditionExpression: 'attribute_not_exists(#v) OR #v < :v',
      ExpressionAttributeNames: { '#v': 'version' },
      ExpressionAttributeValues: { ':v': N(4) },
      ReturnValues: 'ALL_OLD',
    });
    await same('PutItem', { Item: { ...key('T', 't'), token: S('abc') } });
    await same('DeleteItem', {
      Key: key('T', 't'),
      ConditionExpression: '#t = :t',
      ExpressionAttributeNames: { '#t': 'token' },
      ExpressionAttributeValues: { ':t': S('nope') },
      ReturnValues: 'ALL_OLD',
    });
    await same('DeleteItem', {
      Key: key('T', 't'),
      ConditionExpression: '#t = :t',
      ExpressionAttributeNames: { '#t': 'token' },
      ExpressionAttributeValues: { ':t': S('abc') },
      ReturnValues: 'ALL_OLD',
    });
    await same('DeleteItem', { Key: key('T', 't'), ConditionExpression: 'attribute_exists(#pk)', ExpressionAttributeNames: { '#pk': 'pk' }, ReturnValues: 'ALL_OLD' });
    await same('DeleteItem', { Key: key('T', 't') });
    // Conditions of every form on one item.
    const c = (expr: string, values?: Record<string, AttributeValue>, names?: Record<string, string>) =>
      same('PutItem', { Item: item, ConditionExpression: expr, ...(values ? { ExpressionAttributeValues: values } : {}), ...(names ? { ExpressionAttributeNames: names } : {}) });
    await c('n BETWEEN :a AND :b', { ':a': N(1), ':b': N(2) });
    await c('n IN (:a, :b)', { ':a': N(1), ':b': N('1.5') });
    await c('NOT (n <> :a) AND size(#m.a) = :four', { ':a': N('1.5'), ':four': N(4) }, { '#m': 'm' });
    await c('begins_with(#e, :p) OR contains(ss, :x)', { ':p': S('REL'), ':x': S('a') }, { '#e': 'entity' });
    await c('attribute_type(n, :t) AND absent <> :v', { ':t': S('N'), ':v': S('x') });
    await c('absent = :v', { ':v': S('x') });
    await c('n > :s', { ':s': S('1') });
    await c('size(#e) = :len', { ':len': N(7) }, { '#e': 'entity' });
  });

  it('answers updates the same: SET, if_not_exists, arithmetic, list_append, REMOVE, ADD, DELETE, nested paths, every ReturnValues', async () => {
    const lease = key('STAGE#svc#dev', 'LEASE');
    const claim = (owner: string, cond: string, values: Record<string, AttributeValue>, rv = 'ALL_NEW') =>
      same('UpdateItem', {
        Key: lease,
        UpdateExpression: 'SET #owner = :owner, #fence = if_not_exists(#fence, :zero) + :one, #gpk = :gpk, #gsk = :gsk REMOVE #deploying, #ttl',
        ConditionExpression: cond,
        ExpressionAttributeNames: { '#owner': 'owner', '#fence': 'fence', '#gpk': 'gsi1pk', '#gsk': 'gsi1sk', '#deploying': 'deploying', '#ttl': 'expiresAt' },
        ExpressionAttributeValues: { ':owner': S(owner), ':zero': N(0), ':one': N(1), ':gpk': S(`OWNER#${owner}`), ':gsk': S('LEASE#svc#dev'), ...values },
        ReturnValues: rv,
      });
    await claim('a', 'attribute_not_exists(#owner)', {});
    await claim('b', 'attribute_not_exists(#owner)', {});
    await same('UpdateItem', {
      Key: lease,
      UpdateExpression: 'SET #deploying = :d',
      ConditionExpression: '#owner = :owner AND #fence = :fence',
      ExpressionAttributeNames: { '#owner': 'owner', '#fence': 'fence', '#deploying': 'deploying' },
      ExpressionAttributeValues: { ':owner': S('a'), ':fence': N(1), ':d': { M: { kind: S('deploy'), at: S('t') } } },
    });
    await claim('b', '#owner = :from AND #fence = :fromFence AND attribute_not_exists(#deploying)', { ':from': S('a'), ':fromFence': N(1) }, 'UPDATED_OLD');
    await same('UpdateItem', {
      Key: lease,
      UpdateExpression: 'REMOVE #deploying',
      ConditionExpression: '#owner = :owner',
      ExpressionAttributeNames: { '#owner': 'owner', '#deploying': 'deploying' },
      ExpressionAttributeValues: { ':owner': S('a') },
      ReturnValues: 'UPDATED_NEW',
    });
    await claim(
      'b',
      '#owner = :from AND #fence = :fromFence AND (attribute_not_exists(#deploying) OR #fence <= :fromFence)',
      { ':from': S('a'), ':fromFence': N(1) },
      'UPDATED_NEW',
    );
    await same('UpdateItem', {
      Key: lease,
      UpdateExpression: 'REMOVE #owner, #gpk, #gsk',
      ConditionExpression: '#owner = :owner',
      ExpressionAttributeNames: { '#owner': 'owner', '#gpk': 'gsi1pk', '#gsk': 'gsi1sk' },
      ExpressionAttributeValues: { ':owner': S('b') },
      ReturnValues: 'ALL_OLD',
    });
    await same('GetItem', { Key: lease });
    // The throttle counter: ADD under a ceiling until the condition fails.
    for (let i = 0; i < 4; i++)
      await same('UpdateItem', {
        Key: key('THROTTLE#x', 'w1'),
        UpdateExpression: 'ADD #n :one SET #entity = :entity',
        ConditionExpression: 'attribute_not_exists(#n) OR #n < :limit',
        ExpressionAttributeNames: { '#n': 'n', '#entity': 'entity' },
        ExpressionAttributeValues: { ':one': N(1), ':limit': N(3), ':entity': S('THROTTLE') },
        ReturnValues: 'UPDATED_NEW',
      });
    // The freeze history.
    for (let i = 0; i < 2; i++)
      await same('UpdateItem', {
        Key: key('FREEZE', 'FREEZE'),
        UpdateExpression: 'SET #on = :on, #history = list_append(if_not_exists(#history, :empty), :change)',
        ExpressionAttributeNames: { '#on': 'on', '#history': 'history' },
        ExpressionAttributeValues: { ':on': { BOOL: i === 0 }, ':empty': { L: [] }, ':change': { L: [{ M: { at: S(`t${i}`) } }] } },
        ReturnValues: 'ALL_NEW',
      });
    await same('UpdateItem', {
      Key: key('FREEZE', 'FREEZE'),
      UpdateExpression: 'SET #h[0].#at = :x, n = :a - :b REMOVE #h[1]',
      ExpressionAttributeNames: { '#h': 'history', '#at': 'at' },
      ExpressionAttributeValues: { ':x': S('changed'), ':a': N('0.1'), ':b': N('0.3') },
      ReturnValues: 'ALL_NEW',
    });
    await same('UpdateItem', {
      Key: key('FREEZE', 'FREEZE'),
      UpdateExpression: 'ADD tags :t DELETE more :u',
      ExpressionAttributeValues: { ':t': { SS: ['x', 'y'] }, ':u': { NS: ['1'] } },
      ReturnValues: 'ALL_NEW',
    });
    await same('UpdateItem', {
      Key: key('FREEZE', 'FREEZE'),
      UpdateExpression: 'DELETE tags :t',
      ExpressionAttributeValues: { ':t': { SS: ['x', 'y'] } },
      ReturnValues: 'ALL_NEW',
    });
    // The insight tamper test's nested SET.
    await same('PutItem', { Item: { ...key('INSIGHT', 'CHECK#000002'), data: { M: { drift: { L: [S('a')] } } } } });
    await same('UpdateItem', {
      Key: key('INSIGHT', 'CHECK#000002'),
      UpdateExpression: 'SET #d.#f = :none',
      ExpressionAttributeNames: { '#d': 'data', '#f': 'drift' },
      ExpressionAttributeValues: { ':none': { L: [] } },
      ReturnValues: 'ALL_NEW',
    });
    await same('UpdateItem', {
      Key: key('INSIGHT', 'CHECK#000003'),
      UpdateExpression: 'SET #d.#f = :none',
      ExpressionAttributeNames: { '#d': 'data', '#f': 'drift' },
      ExpressionAttributeValues: { ':none': { L: [] } },
    });
    await same('UpdateItem', { Key: key('INSIGHT', 'CHECK#000002'), UpdateExpression: 'SET n = n + :one', ExpressionAttributeValues: { ':one': N(1) } });
    await same('UpdateItem', {
      Key: key('INSIGHT', 'CHECK#000002'),
      UpdateExpression: 'SET #d = :x + :one',
      ExpressionAttributeNames: { '#d': 'data' },
      ExpressionAttributeValues: { ':one': N(1), ':x': S('x') },
    });
  });

  it('answers transactions the same: all-or-nothing, with the cancellation reason of every item', async () => {
    const ev = (seq: number) => ({
      Put: {
        TableName: memory.tableName,
        Item: { ...key('RELEASE#tx', `EVENT#00000${seq}`), seq: N(seq) },
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': 'pk' },
      },
    });
    const head = (version: number, from?: number) => ({
      Put: {
        TableName: memory.tableName,
        Item: { ...key('RELEASE#tx', 'META'), version: N(version) },
        ConditionExpression: from === undefined ? 'attribute_not_exists(#v)' : '#v = :from',
        ExpressionAttributeNames: { '#v': 'version' },
        ...(from === undefined ? {} : { ExpressionAttributeValues: { ':from': N(from) } }),
      },
    });
    assert.equal(memory.tableName, real.tableName);
    await same('TransactWriteItems', { TransactItems: [ev(1), head(1)] });
    const lost = await same('TransactWriteItems', { TransactItems: [ev(2), head(2)] });
    assert.deepEqual(lost, { error: 'TransactionCanceledException', reasons: [{ Code: 'None' }, { Code: 'ConditionalCheckFailed' }] });
    await same('TransactWriteItems', { TransactItems: [ev(1), head(2, 1)] });
    await same('TransactWriteItems', { TransactItems: [ev(2), head(2, 1)] });
    await same('Query', { KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': S('RELEASE#tx') } });
    const failedWithItem = { ...head(3, 9), Put: { ...head(3, 9).Put, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } };
    await same('TransactWriteItems', { TransactItems: [ev(3), failedWithItem] });
    await same('TransactWriteItems', {
      TransactItems: [
        {
          ConditionCheck: {
            TableName: memory.tableName,
            Key: key('RELEASE#tx', 'META'),
            ConditionExpression: '#v = :v',
            ExpressionAttributeNames: { '#v': 'version' },
            ExpressionAttributeValues: { ':v': N(2) },
          },
        },
        { Update: { TableName: memory.tableName, Key: key('RELEASE#tx', 'COUNT'), UpdateExpression: 'ADD c :one', ExpressionAttributeValues: { ':one': N(1) } } },
        { Delete: { TableName: memory.tableName, Key: key('RELEASE#tx', 'EVENT#000001'), ConditionExpression: 'attribute_exists(pk)' } },
      ],
    });
    await same('TransactWriteItems', {
      TransactItems: [
        {
          ConditionCheck: {
            TableName: memory.tableName,
            Key: key('RELEASE#tx', 'META'),
            ConditionExpression: '#v = :v',
            ExpressionAttributeNames: { '#v': 'version' },
            ExpressionAttributeValues: { ':v': N(7) },
          },
        },
        { Delete: { TableName: memory.tableName, Key: key('RELEASE#tx', 'EVENT#000002'), ConditionExpression: 'attribute_exists(pk)' } },
      ],
    });
    await same('Query', { KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': S('RELEASE#tx') } });
    await same('TransactWriteItems', { TransactItems: [ev(5), ev(5)] }, { known: 'DynamoDB refuses two actions on one item; DynamoDB Local runs them' });
  });

  it('answers queries and scans the same: every key condition, direction, filter, projection, GSI, small-Limit pages', async () => {
    const puts: Input[] = [];
    for (let i = 0; i < 12; i++)
      puts.push({ PutRequest: { Item: { ...key('RELEASE#q', `EVENT#${String(i).padStart(6, '0')}`), entity: S(i % 3 === 0 ? 'GATE' : 'STEP'), i: N(i) } } });
    for (let i = 0; i < 7; i++)
      puts.push({
        PutRequest: {
          Item: { ...key(`RELEASE#g${i}`, 'META'), entity: S(i === 3 ? 'OTHER' : 'RELEASE'), gsi1pk: S('SERVICE#svc'), gsi1sk: S(`2026-12-0${i % 4}T00:00:00Z#g${i}`) },
        },
      });
    for (let b = 0; b < puts.length; b += 25) await same('BatchWriteItem', { RequestItems: { [memory.tableName]: puts.slice(b, b + 25) } });
    const q = (expr: string, values: Record<string, AttributeValue>, extra: Input = {}) =>
      same('Query', { KeyConditionExpression: expr, ExpressionAttributeValues: values, ...extra });
    const pk = { ':pk': S('RELEASE#q') };
    await q('pk = :pk AND sk BETWEEN :a AND :b', { ...pk, ':a': S('EVENT#000003'), ':b': S('EVENT#000007') });
    await q('#pk = :pk AND begins_with(#sk, :p)', { ...pk, ':p': S('EVENT#00001') }, { ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' } });
    for (const op of ['=', '<', '<=', '>', '>=']) await q(`pk = :pk AND sk ${op} :s`, { ...pk, ':s': S('EVENT#000005') }, { ScanIndexForward: false });
    await q('pk = :pk', pk, { FilterExpression: 'entity = :e', ProjectionExpression: 'sk, i', ExpressionAttributeValues: { ...pk, ':e': S('GATE') } });
    await q('pk = :pk', pk, { ScanIndexForward: false, Limit: 5 });
    await q('pk = :pk', pk, { Select: 'COUNT' });
    assert.equal(await pages('Query', { KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: pk }, 5), 12);
    assert.equal(await pages('Query', { KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: pk, ScanIndexForward: false }, 4), 12);
    assert.equal(await pages('Query', { KeyConditionExpression: 'pk = :pk', FilterExpression: 'entity = :e', ExpressionAttributeValues: { ...pk, ':e': S('GATE') } }, 2), 4);
    const gsi = {
      IndexName: 'byService',
      KeyConditionExpression: 'gsi1pk = :g AND begins_with(gsi1sk, :d)',
      ExpressionAttributeValues: { ':g': S('SERVICE#svc'), ':d': S('2026-12-0') },
    };
    await same('Query', gsi);
    await same('Query', { ...gsi, ScanIndexForward: false });
    await pages('Query', { ...gsi, ScanIndexForward: false }, 2);
    await same('Query', { ...gsi, ConsistentRead: true });
    assert.equal(
      await pages(
        'Scan',
        {
          IndexName: 'byService',
          FilterExpression: '#entity = :release',
          ExpressionAttributeNames: { '#entity': 'entity' },
          ExpressionAttributeValues: { ':release': S('RELEASE') },
        },
        2,
      ),
      6,
    );
    await same(
      'Scan',
      {
        IndexName: 'byService',
        FilterExpression: '#entity = :release',
        ExpressionAttributeNames: { '#entity': 'entity' },
        ExpressionAttributeValues: { ':release': S('RELEASE') },
      },
      { sortItems: true },
    );
    await same('Scan', { FilterExpression: 'begins_with(pk, :p)', ExpressionAttributeValues: { ':p': S('RELEASE#q') } }, { sortItems: true });
  });

  it('sorts tricky strings by UTF-8 bytes and numbers numerically, as DynamoDB does', async () => {
    const tricky = ['a', 'B', 'é', 'z', '\uE000', '\uFFFD', '😀', '𝔸', 'a\u0000', 'aa', '~', ' ', 'Z', '日本'];
    for (const s of tricky) await same('PutItem', { Item: key('SORT', s) });
    await same('Query', { KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': S('SORT') } });
    await same('Query', { KeyConditionExpression: 'pk = :p AND sk > :s', ExpressionAttributeValues: { ':p': S('SORT'), ':s': S('\uFFFD') } });
    await same('Query', { KeyConditionExpression: 'pk = :p', FilterExpression: 'sk < :s', ExpressionAttributeValues: { ':p': S('SORT'), ':s': S('\uE000') } });
    const numbers = ['-10', '-1.5', '0', '0.25', '1', '2', '10', '1e3', '99.999'];
    for (const [i, n] of numbers.entries()) await same('PutItem', { Item: { ...key('NUM', `n${i}`), v: N(n), gsi1pk: S('NUMS'), gsi1sk: S(`#${i}`) } });
    await same('Scan', { FilterExpression: 'v BETWEEN :a AND :b', ExpressionAttributeValues: { ':a': N('-1.5'), ':b': N('10') } }, { sortItems: true });
  });

  it('refuses the same requests with the same error', async () => {
    const bad: Array<[Op, Input]> = [
      ['PutItem', { Item: { ...key('E', 'e'), x: S('1') }, ConditionExpression: 'attribute_not_exists(pk)', ExpressionAttributeValues: { ':unused': S('x') } }],
      ['PutItem', { Item: { ...key('E', 'e') }, ConditionExpression: 'attribute_not_exists(pk)', ExpressionAttributeNames: { '#unused': 'x' } }],
      ['PutItem', { Item: { ...key('E', 'e') }, ConditionExpression: 'attribute_not_exists(#nope)' }],
      ['PutItem', { Item: { ...key('E', 'e') }, ConditionExpression: 'status = :v', ExpressionAttributeValues: { ':v': S('x') } }],
      ['PutItem', { Item: { ...key('E', 'e') }, ConditionExpression: 'x = :nope' }],
      ['PutItem', { Item: { ...key('E', 'e') }, ConditionExpression: 'x = = :v', ExpressionAttributeValues: { ':v': S('x') } }],
      ['PutItem', { Item: { ...key('E', 'e') }, ConditionExpression: 'x BETWEEN :b AND :a', ExpressionAttributeValues: { ':a': N(1), ':b': N(2) } }],
      ['PutItem', { Item: { ...key('E', 'e') }, ConditionExpression: 'nofn(x)' }],
      ['PutItem', { Item: { pk: S('E') } }],
      ['PutItem', { Item: { pk: S('E'), sk: N(1) } }],
      ['PutItem', { Item: { pk: S(''), sk: S('e') } }],
      ['PutItem', { Item: { ...key('E', 'e'), gsi1pk: N(1) } }],
      ['PutItem', { Item: { ...key('E', 'big'), blob: S('x'.repeat(400 * 1024)) } }],
      ['PutItem', { Item: { ...key('E', 'e') }, ReturnValues: 'ALL_NEW' }],
      ['UpdateItem', { Key: key('E', 'e'), UpdateExpression: 'SET pk = :v', ExpressionAttributeValues: { ':v': S('x') } }],
      ['UpdateItem', { Key: key('E', 'e'), UpdateExpression: 'SET a = :v, a = :v', ExpressionAttributeValues: { ':v': S('x') } }],
      ['UpdateItem', { Key: key('E', 'e'), UpdateExpression: 'SET a = :v REMOVE a.b', ExpressionAttributeValues: { ':v': S('x') } }],
      ['UpdateItem', { Key: key('E', 'e'), UpdateExpression: 'SET a = :v SET b = :v', ExpressionAttributeValues: { ':v': S('x') } }],
      ['UpdateItem', { Key: key('E', 'e'), UpdateExpression: 'ADD a :v', ExpressionAttributeValues: { ':v': S('x') } }],
      ['UpdateItem', { Key: key('E', 'e'), UpdateExpression: 'SET a = list_append(:v, :v)', ExpressionAttributeValues: { ':v': S('x') } }],
      ['GetItem', { Key: { pk: S('E') } }],
      ['GetItem', { Key: { ...key('E', 'e'), extra: S('x') } }],
      ['GetItem', { TableName: 'no-such-table', Key: key('E', 'e') }],
      ['Query', { KeyConditionExpression: 'sk = :s', ExpressionAttributeValues: { ':s': S('x') } }],
      ['Query', { KeyConditionExpression: 'pk = :p OR sk = :s', ExpressionAttributeValues: { ':p': S('x'), ':s': S('x') } }],
      ['Query', { KeyConditionExpression: 'pk = :p AND x1 = :s', ExpressionAttributeValues: { ':p': S('x'), ':s': S('x') } }],
      ['Query', { KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': N(1) } }],
      ['Query', { IndexName: 'nope', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': S('x') } }],
      ['TransactWriteItems', { TransactItems: [] }],
    ];
    for (const [op, input] of bad) {
      const o = await same(op, input);
      assert.ok('error' in o, `${op} ${JSON.stringify(input)} should fail`);
    }
  });
});

describe('in-memory DynamoDB vs DynamoDB Local, generated ledger-shaped sequences', () => {
  it('gives the same answer to every request of 25 generated sequences', async () => {
    const pk = fc.constantFrom('RELEASE#a', 'RELEASE#b', 'STAGE#s#dev');
    const sk = fc.constantFrom('META', 'LEASE', 'EVENT#000001', 'EVENT#000002', 'EVENT#000010');
    const owner = fc.constantFrom('o1', 'o2');
    const cmd: fc.Arbitrary<[Op, Input]> = fc.oneof(
      fc.tuple(pk, sk, fc.integer({ min: 0, max: 3 })).map(([p, s, v]): [Op, Input] => [
        'PutItem',
        {
          Item: { ...key(p, s), version: N(v), gsi1pk: S(`SERVICE#${p}`), gsi1sk: S(s) },
          ConditionExpression: 'attribute_not_exists(#v) OR #v < :v',
          ExpressionAttributeNames: { '#v': 'version' },
          ExpressionAttributeValues: { ':v': N(v) },
        },
      ]),
      fc
        .tuple(pk, sk)
        .map(([p, s]): [Op, Input] => ['PutItem', { Item: key(p, s), ConditionExpression: 'attribute_not_exists(pk)', ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }]),
      fc.tuple(pk, sk, owner).map(([p, s, o]): [Op, Input] => [
        'UpdateItem',
        {
          Key: key(p, s),
          UpdateExpression: 'SET #owner = :o, #fence = if_not_exists(#fence, :zero) + :one',
          ConditionExpression: 'attribute_not_exists(#owner) OR #owner = :o',
          ExpressionAttributeNames: { '#owner': 'owner', '#fence': 'fence' },
          ExpressionAttributeValues: { ':o': S(o), ':zero': N(0), ':one': N(1) },
          ReturnValues: 'ALL_NEW',
        },
      ]),
      fc.tuple(pk, sk, owner).map(([p, s, o]): [Op, Input] => [
        'DeleteItem',
        {
          Key: key(p, s),
          ConditionExpression: '#owner = :o',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':o': S(o) },
          ReturnValues: 'ALL_OLD',
        },
      ]),
      fc.tuple(pk, fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 3 })).map(([p, from, seq]): [Op, Input] => [
        'TransactWriteItems',
        {
          TransactItems: [
            { Put: { TableName: memory.tableName, Item: { ...key(p, `EVENT#00000${seq}`), seq: N(seq) }, ConditionExpression: 'attribute_not_exists(pk)' } },
            {
              Update: {
                TableName: memory.tableName,
                Key: key(p, 'META'),
                UpdateExpression: 'SET version = :next',
                ConditionExpression: 'attribute_not_exists(version) OR version = :from',
                ExpressionAttributeValues: { ':next': N(from + 1), ':from': N(from) },
              },
            },
          ],
        },
      ]),
      fc
        .tuple(pk, fc.integer({ min: 1, max: 3 }), fc.boolean())
        .map(([p, limit, forward]): [Op, Input] => [
          'Query',
          { KeyConditionExpression: 'pk = :p AND begins_with(sk, :e)', ExpressionAttributeValues: { ':p': S(p), ':e': S('EVENT#') }, Limit: limit, ScanIndexForward: forward },
        ]),
      fc
        .tuple(pk, fc.boolean())
        .map(([p, forward]): [Op, Input] => [
          'Query',
          { IndexName: 'byService', KeyConditionExpression: 'gsi1pk = :g', ExpressionAttributeValues: { ':g': S(`SERVICE#${p}`) }, ScanIndexForward: forward },
        ]),
    );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 5, maxLength: 15 }), async (ops) => {
        // Each sequence in its own partitions: prefix every key with the run number.
        const prefix = `R${++run}-`;
        const scoped = JSON.parse(JSON.stringify(ops).replace(/"(RELEASE#|STAGE#|SERVICE#)/g, `"${prefix}$1`)) as Array<[Op, Input]>;
        for (const [op, input] of scoped) await same(op, input);
      }),
      { numRuns: 25, seed: 17 },
    );
  });
});

/**
 * The expression subset of the in-memory DynamoDB (local/dynamo-expressions.ts): parsing edge cases,
 * evaluation on missing and mistyped attributes, number arithmetic and order, and refusals that name
 * what is not implemented. Fidelity with DynamoDB itself: memory-dynamo.differential.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import {
  addNumbers,
  applyUpdate,
  compareScalars,
  compareStrings,
  DynamoWireError,
  evaluate,
  ExpressionContext,
  type Item,
  itemSize,
  keyCondition,
  normalizeNumber,
  parseCondition,
  parseProjection,
  parseUpdate,
  project,
} from '../../local/dynamo-expressions';
import { MemoryDynamo } from '../../local/memory-dynamo';

const ctx = (names?: Record<string, string>, values?: Record<string, unknown>) => new ExpressionContext(names, values);
const refuses = (f: () => unknown, re: RegExp) =>
  assert.throws(f, (e: unknown) => e instanceof DynamoWireError && e.name === 'DynamoWireError' && e.code === 'ValidationException' && re.test(e.message));

const item: Item = { pk: { S: 'a' }, n: { N: '5' }, s: { S: 'héllo' }, m: { M: { l: { L: [{ N: '1' }, { S: 'x' }] } } }, tags: { SS: ['a', 'b'] } };

describe('condition expressions', () => {
  it('binds AND tighter than OR, NOT tighter than AND, and honours parentheses', () => {
    const c = ctx(undefined, { ':a': { N: '5' }, ':b': { N: '6' } });
    assert.equal(evaluate(item, parseCondition('n = :b OR n = :a AND n = :b', 'ConditionExpression', c)), false);
    assert.equal(evaluate(item, parseCondition('(n = :b OR n = :a) AND NOT n = :b', 'ConditionExpression', ctx(undefined, { ':a': { N: '5' }, ':b': { N: '6' } }))), true);
    assert.equal(evaluate(item, parseCondition('NOT NOT n = :a', 'ConditionExpression', ctx(undefined, { ':a': { N: '5' } }))), true);
  });

  it('treats a missing attribute as unequal to everything and incomparable, and mismatched types as false', () => {
    const e = (src: string, values: Record<string, unknown>) => evaluate(item, parseCondition(src, 'ConditionExpression', ctx(undefined, values)));
    assert.equal(e('absent <> :v', { ':v': { S: 'x' } }), true);
    assert.equal(e('absent = :v', { ':v': { S: 'x' } }), false);
    assert.equal(e('absent < :v', { ':v': { S: 'x' } }), false);
    assert.equal(e('n < :v', { ':v': { S: '9' } }), false);
    assert.equal(e('n <> :v', { ':v': { S: '5' } }), true);
    assert.equal(e('n BETWEEN :a AND :b', { ':a': { N: '5' }, ':b': { N: '5' } }), true);
    assert.equal(e('n IN (:a, :b)', { ':a': { N: '1' }, ':b': { N: '5.0' } }), true);
    assert.equal(e('m.l[1] = :x AND size(m.l) = :two', { ':x': { S: 'x' }, ':two': { N: '2' } }), true);
    assert.equal(e('contains(tags, :a) AND begins_with(s, :h)', { ':a': { S: 'b' }, ':h': { S: 'hé' } }), true);
    assert.equal(e('attribute_type(tags, :t)', { ':t': { S: 'SS' } }), true);
  });

  it('refuses what DynamoDB refuses: unused or undefined placeholders, reserved words, bad syntax, BETWEEN upside down', () => {
    refuses(() => ctx({ '#a': 'a' }, { ':v': { S: 'x' } }).checkAllUsed(), /unused in expressions: keys: \{#a\}/);
    const c = ctx(undefined, { ':v': { S: 'x' }, ':w': { S: 'y' } });
    parseCondition('a = :v', 'ConditionExpression', c);
    refuses(() => c.checkAllUsed(), /ExpressionAttributeValues unused in expressions: keys: \{:w\}/);
    refuses(
      () => parseCondition('#x = :v', 'ConditionExpression', ctx(undefined, { ':v': { S: 'x' } })),
      /attribute name used in the document path is not defined; attribute name: #x/,
    );
    refuses(() => parseCondition('a = :nope', 'ConditionExpression', ctx()), /attribute value used in expression is not defined; attribute value: :nope/);
    refuses(() => parseCondition('status = :v', 'ConditionExpression', ctx(undefined, { ':v': { S: 'x' } })), /reserved keyword; reserved keyword: status/);
    refuses(() => parseCondition('a = = :v', 'ConditionExpression', ctx(undefined, { ':v': { S: 'x' } })), /Syntax error; token: "="/);
    refuses(() => parseCondition('a = :v)', 'ConditionExpression', ctx(undefined, { ':v': { S: 'x' } })), /Syntax error; token: "\)"/);
    refuses(
      () => parseCondition('a BETWEEN :b AND :a', 'ConditionExpression', ctx(undefined, { ':a': { N: '1' }, ':b': { N: '2' } })),
      /upper bound to be greater than or equal to lower bound/,
    );
    refuses(() => parseCondition('nofn(a)', 'ConditionExpression', ctx()), /Invalid function name; function: nofn/);
    refuses(() => parseCondition('if_not_exists(a, :v) = :v', 'ConditionExpression', ctx(undefined, { ':v': { S: 'x' } })), /not allowed to be used this way/);
    refuses(() => parseCondition('   ', 'ConditionExpression', ctx()), /can not be empty/);
    refuses(() => parseCondition('a = :v', 'ConditionExpression', ctx(undefined, { ':v': { N: '1.2.3' } })), /cannot be converted to a numeric value/);
  });
});

describe('key conditions', () => {
  const kc = (src: string, values: Record<string, unknown>) => keyCondition(parseCondition(src, 'KeyConditionExpression', ctx(undefined, values)), 'pk', 'sk');

  it('accepts the hash key with one range condition in either order, and a value on the left', () => {
    assert.deepEqual(kc('begins_with(sk, :p) AND pk = :h', { ':h': { S: 'h' }, ':p': { S: 'E#' } }), { hash: { S: 'h' }, range: { op: 'begins_with', v: { S: 'E#' } } });
    assert.deepEqual(kc(':s < sk AND pk = :h', { ':h': { S: 'h' }, ':s': { S: 'x' } }).range, { op: '>', v: { S: 'x' } });
  });

  it('refuses OR, <>, a missing hash key, a non-key attribute, two conditions on one key', () => {
    refuses(() => kc('pk = :h OR sk = :s', { ':h': { S: 'h' }, ':s': { S: 's' } }), /Invalid operator used in KeyConditionExpression: OR/);
    refuses(() => kc('pk = :h AND sk <> :s', { ':h': { S: 'h' }, ':s': { S: 's' } }), /Unsupported operator on KeyConditionExpression/);
    refuses(() => kc('sk = :s', { ':s': { S: 's' } }), /missed key schema element: pk/);
    refuses(() => kc('pk = :h AND x1 = :s', { ':h': { S: 'h' }, ':s': { S: 's' } }), /missed key schema element/);
    refuses(() => kc('pk = :h AND sk > :s AND sk < :s', { ':h': { S: 'h' }, ':s': { S: 's' } }), /length 1 or 2 only/);
  });
});

describe('update expressions', () => {
  const upd = (src: string, values: Record<string, unknown> = {}, names?: Record<string, string>, on: Item = item) =>
    applyUpdate(on, parseUpdate(src, ctx(names, Object.keys(values).length ? values : undefined)));

  it('reads every right-hand side from the old item, and leaves the old item untouched', () => {
    const old = structuredClone(item);
    const { item: next, touched } = upd('SET n = n + :one, o = n REMOVE s ADD c :one, tags :t', { ':one': { N: '1' }, ':t': { SS: ['c'] } });
    assert.deepEqual(next.n, { N: '6' });
    assert.deepEqual(next.o, { N: '5' });
    assert.equal(next.s, undefined);
    assert.deepEqual(next.c, { N: '1' });
    assert.deepEqual(item, old);
    assert.deepEqual([...touched].sort(), ['c', 'n', 'o', 's', 'tags']);
  });

  it('refuses overlapping paths, a repeated clause, a missing operand attribute, wrong operand types', () => {
    refuses(() => upd('SET a = :v, a.b = :v', { ':v': { S: 'x' } }), /Two document paths overlap/);
    refuses(() => upd('SET a = :v SET b = :v', { ':v': { S: 'x' } }), /"SET" section can only be used once/);
    refuses(() => upd('SET a = nothing + :v', { ':v': { N: '1' } }), /refers to an attribute that does not exist/);
    refuses(() => upd('SET a = s + :v', { ':v': { N: '1' } }), /operator or function: \+, operand type: S/);
    refuses(() => upd('ADD s :v', { ':v': { N: '1' } }), /incorrect data type/);
    refuses(() => upd('SET nope.x = :v', { ':v': { N: '1' } }), /document path provided in the update expression is invalid/);
    refuses(() => upd('SET a = size(s)'), /not allowed in an update expression; function: size/);
  });

  it('appends to lists past their end, removes by index, and applies list_append(if_not_exists(...))', () => {
    const { item: next } = upd('SET m.l[9] = :x, h = list_append(if_not_exists(h, :empty), :one) REMOVE m.l[0]', {
      ':x': { S: 'end' },
      ':empty': { L: [] },
      ':one': { L: [{ N: '1' }] },
    });
    assert.deepEqual(next.m, { M: { l: { L: [{ S: 'x' }, { S: 'end' }] } } });
    assert.deepEqual(next.h, { L: [{ N: '1' }] });
  });
});

describe('numbers, strings and sizes', () => {
  it('normalises numbers, adds them exactly, and refuses more than 38 digits', () => {
    assert.equal(normalizeNumber('001.500'), '1.5');
    assert.equal(normalizeNumber('-0'), '0');
    assert.equal(normalizeNumber('1E+2'), '100');
    assert.equal(normalizeNumber('.5'), '0.5');
    assert.equal(addNumbers('0.1', '0.2'), '0.3');
    assert.equal(addNumbers('1', '1e38', true), '-99999999999999999999999999999999999999');
    refuses(() => normalizeNumber('1'.repeat(39)), /more than 38 significant digits/);
    assert.equal(compareScalars({ N: '10' }, { N: '9.99' }), 1);
    assert.equal(compareScalars({ N: '1' }, { S: '1' }), undefined);
  });

  it('orders strings by UTF-8 bytes (code points), not by UTF-16 units', () => {
    assert.ok(compareStrings('\uFFFD', '😀') < 0, 'U+FFFD sorts before U+1F600 in UTF-8; JS < says otherwise');
    assert.ok('\uFFFD' > '😀');
    assert.ok(compareStrings('B', 'a') < 0);
    assert.ok(compareStrings('a', 'a\u0000') < 0);
  });

  it('sizes items as DynamoDB counts them', () => {
    assert.equal(itemSize({ ab: { S: 'é' } }), 2 + 2);
    assert.equal(itemSize({ n: { N: '12345' } }), 1 + 4);
    assert.equal(itemSize({ l: { L: [{ BOOL: true }] } }), 1 + 3 + 1 + 1);
  });

  it('projects nested paths with their parents', () => {
    const c = ctx({ '#m': 'm' });
    assert.deepEqual(project(item, parseProjection('#m.l[1], n', c)), { m: { M: { l: { L: [{ S: 'x' }] } } }, n: { N: '5' } });
  });
});

describe('the store refuses what it does not implement', () => {
  const store = new MemoryDynamo();
  store.execute('CreateTable', {
    TableName: 't',
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
  });

  it('names an unknown operation and a parameter it does not implement', () => {
    assert.throws(
      () => store.execute('ExecuteStatement', { Statement: 'SELECT * FROM t' }),
      (e: unknown) => e instanceof DynamoWireError && e.code === 'UnknownOperationException' && /ExecuteStatement is not implemented/.test(e.message),
    );
    refuses(() => store.execute('PutItem', { TableName: 't', Item: { pk: { S: 'a' } }, Expected: { x: { Exists: false } } }), /the parameter Expected is not implemented/);
    refuses(() => store.execute('Scan', { TableName: 't', Segment: 0, TotalSegments: 2 }), /the parameter Segment is not implemented/);
    // Its answer would lack ConsumedCapacity: refused rather than silently absent.
    refuses(
      () => store.execute('GetItem', { TableName: 't', Key: { pk: { S: 'a' } }, ReturnConsumedCapacity: 'TOTAL' }),
      /the parameter ReturnConsumedCapacity is not implemented/,
    );
  });

  it('keeps no alias between a stored item and a returned one', () => {
    store.execute('PutItem', { TableName: 't', Item: { pk: { S: 'k' }, l: { L: [{ S: 'x' }] } } });
    const got = store.execute('GetItem', { TableName: 't', Key: { pk: { S: 'k' } } }).Item as Item;
    (got.l?.L as unknown[]).push({ S: 'mutated' });
    assert.deepEqual(store.execute('GetItem', { TableName: 't', Key: { pk: { S: 'k' } } }).Item, { pk: { S: 'k' }, l: { L: [{ S: 'x' }] } });
  });

  it('cuts a Query page at 1 MB and returns where to resume', () => {
    for (let i = 0; i < 4; i++) store.execute('PutItem', { TableName: 't', Item: { pk: { S: `big${i}` }, blob: { S: 'x'.repeat(300 * 1024) } } });
    const page = store.execute('Scan', { TableName: 't', FilterExpression: 'begins_with(pk, :b)', ExpressionAttributeValues: { ':b': { S: 'big' } } });
    assert.equal(page.Count, 3);
    assert.ok(page.LastEvaluatedKey);
    const rest = store.execute('Scan', {
      TableName: 't',
      FilterExpression: 'begins_with(pk, :b)',
      ExpressionAttributeValues: { ':b': { S: 'big' } },
      ExclusiveStartKey: page.LastEvaluatedKey,
    });
    assert.equal(rest.Count, 1);
  });
});

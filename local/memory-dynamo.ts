/**
 * DynamoDB in memory, for the local runtime and the tests: an SDK request handler that answers the
 * DynamoDB JSON protocol (`X-Amz-Target: DynamoDB_20120810.<Operation>`) from plain Maps. The SDK still
 * serialises, retries and deserialises exactly as against AWS, so the ledger adapter runs the same code
 * path; only HTTP, signing and a database engine are gone. It implements the operations and expression
 * forms the repository uses (docs/decisions/037-memory-dynamo.md) and refuses the rest with a
 * ValidationException naming what is missing. Fidelity is checked against DynamoDB Local by
 * test/storage/memory-dynamo.differential.test.ts.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLedgerTable } from '../lambdas/adapters/ledger-table';
import { DEFAULT_LOCAL_TABLE, type LocalDynamo, localClients } from './dynamo';
import {
  applyUpdate,
  type AttributeValue,
  canonicalItem,
  clone,
  compareScalars,
  type Condition,
  conditionAttributes,
  DynamoWireError,
  evaluate,
  ExpressionContext,
  type Item,
  itemSize,
  keyCondition,
  matchesRange,
  parseCondition,
  parseProjection,
  parseUpdate,
  type Path,
  project,
  typeOf,
  validation,
} from './dynamo-expressions';

export { DynamoWireError } from './dynamo-expressions';

export const MAX_ITEM_BYTES = 400 * 1024;
export const MAX_PAGE_BYTES = 1024 * 1024;
const API_PREFIX = 'DynamoDB_20120810.';
const ERROR_PREFIX = 'com.amazonaws.dynamodb.v20120810#';
const CONDITION_FAILED = 'The conditional request failed';

type Req = Record<string, unknown>;

interface KeySchema {
  readonly hash: string;
  readonly range?: string;
}

interface Index {
  readonly name: string;
  readonly schema: KeySchema;
  /** index hash key (encoded) → table primary key (encoded) → item */
  readonly partitions: Map<string, Map<string, Item>>;
}

interface Table {
  readonly name: string;
  readonly schema: KeySchema;
  readonly attributeTypes: Record<string, string>;
  readonly createdAt: number;
  readonly definition: Req;
  /** hash key (encoded) → range key (encoded, '' without a range key) → item */
  readonly partitions: Map<string, Map<string, Item>>;
  readonly indexes: Map<string, Index>;
  count: number;
}

const encode = (v: AttributeValue): string => `${typeOf(v)}:${String(Object.values(v)[0])}`;

function str(req: Req, field: string, op: string, required = true): string | undefined {
  const v = req[field];
  if (v === undefined || v === null) {
    if (required)
      throw validation(`1 validation error detected: Value null at '${field[0]?.toLowerCase()}${field.slice(1)}' failed to satisfy constraint: Member must not be null (${op})`);
    return undefined;
  }
  if (typeof v !== 'string') throw validation(`${op}: ${field} must be a string`);
  return v;
}

/** Request fields each operation understands; any other field is refused rather than ignored. */
const FIELDS: Record<string, ReadonlySet<string>> = {
  CreateTable: new Set(['TableName', 'AttributeDefinitions', 'KeySchema', 'GlobalSecondaryIndexes', 'BillingMode', 'ProvisionedThroughput', 'Tags', 'DeletionProtectionEnabled']),
  DescribeTable: new Set(['TableName']),
  DeleteTable: new Set(['TableName']),
  ListTables: new Set(['Limit', 'ExclusiveStartTableName']),
  GetItem: new Set(['TableName', 'Key', 'ConsistentRead', 'ProjectionExpression', 'ExpressionAttributeNames']),
  PutItem: new Set(['TableName', 'Item', 'ConditionExpression', 'ExpressionAttributeNames', 'ExpressionAttributeValues', 'ReturnValues', 'ReturnValuesOnConditionCheckFailure']),
  DeleteItem: new Set(['TableName', 'Key', 'ConditionExpression', 'ExpressionAttributeNames', 'ExpressionAttributeValues', 'ReturnValues', 'ReturnValuesOnConditionCheckFailure']),
  UpdateItem: new Set([
    'TableName',
    'Key',
    'UpdateExpression',
    'ConditionExpression',
    'ExpressionAttributeNames',
    'ExpressionAttributeValues',
    'ReturnValues',
    'ReturnValuesOnConditionCheckFailure',
  ]),
  Query: new Set([
    'TableName',
    'IndexName',
    'KeyConditionExpression',
    'FilterExpression',
    'ProjectionExpression',
    'ExpressionAttributeNames',
    'ExpressionAttributeValues',
    'ScanIndexForward',
    'Limit',
    'ExclusiveStartKey',
    'ConsistentRead',
    'Select',
  ]),
  Scan: new Set([
    'TableName',
    'IndexName',
    'FilterExpression',
    'ProjectionExpression',
    'ExpressionAttributeNames',
    'ExpressionAttributeValues',
    'Limit',
    'ExclusiveStartKey',
    'ConsistentRead',
    'Select',
  ]),
  BatchWriteItem: new Set(['RequestItems']),
  BatchGetItem: new Set(['RequestItems']),
  TransactWriteItems: new Set(['TransactItems', 'ClientRequestToken']),
};

function checkFields(op: string, req: Req): void {
  const allowed = FIELDS[op] as ReadonlySet<string>;
  for (const k of Object.keys(req))
    if (!allowed.has(k) && req[k] !== undefined)
      throw validation(`${op}: the parameter ${k} is not implemented by Gantry's in-memory DynamoDB (local/memory-dynamo.ts); it implements ${[...allowed].join(', ')}`);
}

function returnValues(req: Req, op: string, allowed: readonly string[]): string {
  const rv = (req.ReturnValues as string | undefined) ?? 'NONE';
  if (!allowed.includes(rv)) {
    if (['NONE', 'ALL_OLD', 'UPDATED_OLD', 'ALL_NEW', 'UPDATED_NEW'].includes(rv)) throw validation('Return values set to invalid value');
    throw validation(
      `1 validation error detected: Value '${rv}' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW] (${op})`,
    );
  }
  return rv;
}

function conditionFailed(req: Req, old: Item | undefined): DynamoWireError {
  const withItem = req.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' && old !== undefined;
  return new DynamoWireError('ConditionalCheckFailedException', CONDITION_FAILED, withItem ? { Item: clone(old) } : {});
}

/** One prepared write: checked and computed, applied only by `commit` (so a transaction is all-or-nothing). */
interface Write {
  readonly table: Table;
  readonly keyEnc: [string, string];
  readonly old: Item | undefined;
  /** undefined: delete; the item itself: put; absent for a ConditionCheck. */
  readonly next?: Item | null;
  readonly failed: boolean;
  readonly touched?: Set<string>;
}

export class MemoryDynamo {
  private readonly tables = new Map<string, Table>();
  private readonly tokens = new Map<string, string>();
  /** Each partition's items in range-key order, until the partition is next written. */
  private readonly sorted = new WeakMap<Map<string, Item>, Item[]>();
  /** Each stored item's DynamoDB size (stored items are never changed in place). */
  private readonly sizes = new WeakMap<Item, number>();
  /** Requests served, by operation (the bench counts them). */
  readonly requests = new Map<string, number>();

  /** Answer one JSON-protocol request: the response body (a copy), or a DynamoWireError. */
  execute(op: string, req: Req): Req {
    return clone(this.run(op, req));
  }

  /** As `execute`, but the answer may share objects with the store: serialise it before the next request. */
  run(op: string, req: Req): Req {
    this.requests.set(op, (this.requests.get(op) ?? 0) + 1);
    const run = (this as unknown as Record<string, ((r: Req) => Req) | undefined>)[`op${op}`];
    if (!FIELDS[op] || typeof run !== 'function')
      throw new DynamoWireError(
        'UnknownOperationException',
        `${op} is not implemented by Gantry's in-memory DynamoDB (local/memory-dynamo.ts); it implements ${Object.keys(FIELDS).join(', ')}`,
      );
    checkFields(op, req);
    return run.call(this, req);
  }

  // --- tables ---------------------------------------------------------------------------------------

  private table(name: unknown): Table {
    const t = typeof name === 'string' ? this.tables.get(name) : undefined;
    if (!t) throw new DynamoWireError('ResourceNotFoundException', 'Cannot do operations on a non-existent table');
    return t;
  }

  protected opCreateTable(req: Req): Req {
    const name = str(req, 'TableName', 'CreateTable') as string;
    if (this.tables.has(name)) throw new DynamoWireError('ResourceInUseException', `Cannot create preexisting table`);
    const defs = (req.AttributeDefinitions as Array<{ AttributeName: string; AttributeType: string }> | undefined) ?? [];
    const attributeTypes: Record<string, string> = {};
    for (const d of defs) {
      if (!['S', 'N', 'B'].includes(d.AttributeType))
        throw validation(
          `1 validation error detected: Value '${d.AttributeType}' at 'attributeDefinitions.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]`,
        );
      attributeTypes[d.AttributeName] = d.AttributeType;
    }
    const schemaOf = (ks: unknown, where: string): KeySchema => {
      const list = (ks as Array<{ AttributeName: string; KeyType: string }> | undefined) ?? [];
      const hash = list.find((k) => k.KeyType === 'HASH')?.AttributeName;
      const range = list.find((k) => k.KeyType === 'RANGE')?.AttributeName;
      if (!hash || list.length > 2 || (list.length === 2 && !range)) throw validation(`Invalid KeySchema of ${where}: one HASH key and at most one RANGE key`);
      for (const a of [hash, range])
        if (a && !attributeTypes[a])
          throw validation(
            `One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [${a}], AttributeDefinitions: [${Object.keys(attributeTypes).join(', ')}]`,
          );
      return { hash, ...(range ? { range } : {}) };
    };
    const schema = schemaOf(req.KeySchema, 'the table');
    const indexes = new Map<string, Index>();
    for (const g of (req.GlobalSecondaryIndexes as Array<Req> | undefined) ?? []) {
      const projection = (g.Projection as { ProjectionType?: string } | undefined)?.ProjectionType;
      if (projection !== 'ALL') throw validation(`CreateTable: only ProjectionType ALL is implemented by Gantry's in-memory DynamoDB (index ${String(g.IndexName)})`);
      indexes.set(g.IndexName as string, { name: g.IndexName as string, schema: schemaOf(g.KeySchema, `index ${String(g.IndexName)}`), partitions: new Map() });
    }
    const table: Table = { name, schema, attributeTypes, createdAt: Date.now() / 1000, definition: clone(req), partitions: new Map(), indexes, count: 0 };
    this.tables.set(name, table);
    return { TableDescription: this.describe(table) };
  }

  private describe(t: Table): Req {
    const d = t.definition;
    return {
      TableName: t.name,
      TableArn: `arn:aws:dynamodb:ddblocal:000000000000:table/${t.name}`,
      TableStatus: 'ACTIVE',
      CreationDateTime: t.createdAt,
      AttributeDefinitions: clone(d.AttributeDefinitions),
      KeySchema: clone(d.KeySchema),
      ItemCount: t.count,
      TableSizeBytes: 0,
      BillingModeSummary: { BillingMode: (d.BillingMode as string | undefined) ?? 'PROVISIONED' },
      ...(t.indexes.size > 0
        ? {
            GlobalSecondaryIndexes: ((d.GlobalSecondaryIndexes as Req[]) ?? []).map((g) => ({
              IndexName: g.IndexName,
              KeySchema: clone(g.KeySchema),
              Projection: clone(g.Projection),
              IndexStatus: 'ACTIVE',
              IndexArn: `arn:aws:dynamodb:ddblocal:000000000000:table/${t.name}/index/${String(g.IndexName)}`,
              ItemCount: 0,
              IndexSizeBytes: 0,
            })),
          }
        : {}),
    };
  }

  protected opDescribeTable(req: Req): Req {
    return { Table: this.describe(this.table(str(req, 'TableName', 'DescribeTable'))) };
  }

  protected opDeleteTable(req: Req): Req {
    const t = this.table(str(req, 'TableName', 'DeleteTable'));
    this.tables.delete(t.name);
    return { TableDescription: { ...this.describe(t), TableStatus: 'DELETING' } };
  }

  protected opListTables(req: Req): Req {
    const names = [...this.tables.keys()].sort();
    const from = req.ExclusiveStartTableName as string | undefined;
    const rest = from === undefined ? names : names.filter((n) => n > from);
    const limit = (req.Limit as number | undefined) ?? 100;
    const page = rest.slice(0, limit);
    return { TableNames: page, ...(rest.length > limit ? { LastEvaluatedTableName: page.at(-1) } : {}) };
  }

  // --- keys -----------------------------------------------------------------------------------------

  /** Validate a key (exactly the schema's attributes, of their types) and return it encoded. */
  private keyOf(t: Table, key: unknown, exact: boolean): [string, string] {
    const item = canonicalItem(key, 'key');
    const names = [t.schema.hash, ...(t.schema.range ? [t.schema.range] : [])];
    if (exact && (Object.keys(item).length !== names.length || !names.every((n) => item[n] !== undefined))) throw validation('The provided key element does not match the schema');
    return names
      .map((n) => {
        const v = item[n];
        if (!v) throw validation(`One or more parameter values were invalid: Missing the key ${n} in the item`);
        const type = typeOf(v);
        if (type !== t.attributeTypes[n]) {
          if (exact) throw validation('The provided key element does not match the schema');
          throw validation(`One or more parameter values were invalid: Type mismatch for key ${n} expected: ${t.attributeTypes[n]} actual: ${type}`);
        }
        if ((type === 'S' || type === 'B') && v[type] === '')
          throw validation(
            `One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty ${type === 'S' ? 'string' : 'binary'} value. Key: ${n}`,
          );
        return encode(v);
      })
      .concat(t.schema.range ? [] : ['']) as [string, string];
  }

  private checkIndexKeys(t: Table, item: Item): void {
    for (const idx of t.indexes.values())
      for (const n of [idx.schema.hash, idx.schema.range]) {
        const v = n ? item[n] : undefined;
        if (!n || !v) continue;
        const type = typeOf(v);
        if (type !== t.attributeTypes[n])
          throw validation(`One or more parameter values were invalid: Type mismatch for Index Key ${n} Expected: ${t.attributeTypes[n]} Actual: ${type} IndexName: ${idx.name}`);
        if ((type === 'S' || type === 'B') && v[type] === '')
          throw validation(
            `One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty ${type === 'S' ? 'string' : 'binary'} value. IndexName: ${idx.name}, IndexKey: ${n}`,
          );
      }
  }

  private get(t: Table, [h, r]: [string, string]): Item | undefined {
    return t.partitions.get(h)?.get(r);
  }

  // --- writes ---------------------------------------------------------------------------------------

  private condition(req: Req, ctx: ExpressionContext): Condition | undefined {
    const src = req.ConditionExpression;
    return typeof src === 'string' ? parseCondition(src, 'ConditionExpression', ctx) : undefined;
  }

  private checkSize(item: Item, update: boolean): void {
    if (itemSize(item) > MAX_ITEM_BYTES) throw validation(update ? 'Item size to update has exceeded the maximum allowed size' : 'Item size has exceeded the maximum allowed size');
  }

  private preparePut(req: Req): Write {
    const t = this.table(req.TableName);
    const item = canonicalItem(req.Item, 'item');
    const keyEnc = this.keyOf(t, Object.fromEntries([t.schema.hash, t.schema.range].filter((n): n is string => !!n).map((n) => [n, item[n]])), false);
    this.checkIndexKeys(t, item);
    this.checkSize(item, false);
    const ctx = new ExpressionContext(req.ExpressionAttributeNames as Record<string, string> | undefined, req.ExpressionAttributeValues as Req | undefined);
    const cond = this.condition(req, ctx);
    ctx.checkAllUsed();
    const old = this.get(t, keyEnc);
    return { table: t, keyEnc, old, next: item, failed: cond !== undefined && !evaluate(old ?? {}, cond) };
  }

  private prepareDelete(req: Req): Write {
    const t = this.table(req.TableName);
    const keyEnc = this.keyOf(t, req.Key, true);
    const ctx = new ExpressionContext(req.ExpressionAttributeNames as Record<string, string> | undefined, req.ExpressionAttributeValues as Req | undefined);
    const cond = this.condition(req, ctx);
    ctx.checkAllUsed();
    const old = this.get(t, keyEnc);
    return { table: t, keyEnc, old, next: null, failed: cond !== undefined && !evaluate(old ?? {}, cond) };
  }

  private prepareUpdate(req: Req): Write {
    const t = this.table(req.TableName);
    const keyEnc = this.keyOf(t, req.Key, true);
    const key = canonicalItem(req.Key, 'key');
    const ctx = new ExpressionContext(req.ExpressionAttributeNames as Record<string, string> | undefined, req.ExpressionAttributeValues as Req | undefined);
    const src = req.UpdateExpression;
    if (src !== undefined && typeof src !== 'string') throw validation('UpdateExpression must be a string');
    const update = src === undefined ? undefined : parseUpdate(src, ctx);
    const cond = this.condition(req, ctx);
    ctx.checkAllUsed();
    if (update) {
      const keyNames = [t.schema.hash, t.schema.range];
      for (const p of [...update.set.map((s) => s.path), ...update.remove, ...update.add.map((a) => a.path), ...update.delete.map((d) => d.path)])
        if (keyNames.includes(p[0] as string))
          throw validation(`One or more parameter values were invalid: Cannot update attribute ${String(p[0])}. This attribute is part of the key`);
    }
    const old = this.get(t, keyEnc);
    const failed = cond !== undefined && !evaluate(old ?? {}, cond);
    if (failed) return { table: t, keyEnc, old, next: old ?? null, failed };
    const { item, touched } = update ? applyUpdate(old ?? key, update) : { item: old ?? key, touched: new Set<string>() };
    this.checkIndexKeys(t, item);
    this.checkSize(item, true);
    return { table: t, keyEnc, old, next: item, failed, touched };
  }

  private prepareCheck(req: Req): Write {
    const t = this.table(req.TableName);
    const keyEnc = this.keyOf(t, req.Key, true);
    const ctx = new ExpressionContext(req.ExpressionAttributeNames as Record<string, string> | undefined, req.ExpressionAttributeValues as Req | undefined);
    if (typeof req.ConditionExpression !== 'string')
      throw validation(
        "1 validation error detected: Value null at 'transactItems.member.conditionCheck.conditionExpression' failed to satisfy constraint: Member must not be null",
      );
    const cond = this.condition(req, ctx) as Condition;
    ctx.checkAllUsed();
    const old = this.get(t, keyEnc);
    return { table: t, keyEnc, old, failed: !evaluate(old ?? {}, cond) };
  }

  private commit(w: Write): void {
    if (w.next === undefined) return;
    const t = w.table;
    const [h, r] = w.keyEnc;
    const pk = `${h}\u0000${r}`;
    if (w.old) {
      for (const idx of t.indexes.values()) {
        const ih = idx.schema.hash;
        const hv = w.old[ih];
        if (hv) {
          const p = idx.partitions.get(encode(hv));
          if (p) {
            p.delete(pk);
            this.sorted.delete(p);
          }
        }
      }
    }
    let partition = t.partitions.get(h);
    if (partition) this.sorted.delete(partition);
    if (w.next === null) {
      if (w.old) {
        partition?.delete(r);
        t.count--;
      }
      return;
    }
    const item = w.next;
    if (!partition) t.partitions.set(h, (partition = new Map()));
    if (!w.old) t.count++;
    partition.set(r, item);
    for (const idx of t.indexes.values()) {
      const hv = item[idx.schema.hash];
      if (!hv || (idx.schema.range && !item[idx.schema.range])) continue;
      const e = encode(hv);
      let p = idx.partitions.get(e);
      if (!p) idx.partitions.set(e, (p = new Map()));
      p.set(pk, item);
      this.sorted.delete(p);
    }
  }

  protected opPutItem(req: Req): Req {
    const rv = returnValues(req, 'PutItem', ['NONE', 'ALL_OLD']);
    const w = this.preparePut(req);
    if (w.failed) throw conditionFailed(req, w.old);
    this.commit(w);
    return rv === 'ALL_OLD' && w.old ? { Attributes: clone(w.old) } : {};
  }

  protected opDeleteItem(req: Req): Req {
    const rv = returnValues(req, 'DeleteItem', ['NONE', 'ALL_OLD']);
    const w = this.prepareDelete(req);
    if (w.failed) throw conditionFailed(req, w.old);
    this.commit(w);
    return rv === 'ALL_OLD' && w.old ? { Attributes: clone(w.old) } : {};
  }

  protected opUpdateItem(req: Req): Req {
    const rv = returnValues(req, 'UpdateItem', ['NONE', 'ALL_OLD', 'UPDATED_OLD', 'ALL_NEW', 'UPDATED_NEW']);
    const w = this.prepareUpdate(req);
    if (w.failed) throw conditionFailed(req, w.old);
    this.commit(w);
    const next = w.next as Item;
    const pick = (item: Item | undefined): Item | undefined => {
      if (!item) return undefined;
      const out: Item = {};
      for (const k of w.touched ?? []) if (item[k] !== undefined) out[k] = clone(item[k]);
      return Object.keys(out).length > 0 ? out : undefined;
    };
    const attrs =
      rv === 'ALL_NEW' ? clone(next) : rv === 'ALL_OLD' ? (w.old ? clone(w.old) : undefined) : rv === 'UPDATED_NEW' ? pick(next) : rv === 'UPDATED_OLD' ? pick(w.old) : undefined;
    return attrs ? { Attributes: attrs } : {};
  }

  protected opTransactWriteItems(req: Req): Req {
    const items = req.TransactItems;
    if (!Array.isArray(items) || items.length === 0 || items.length > 100)
      throw validation(
        `1 validation error detected: Value '${JSON.stringify(items)}' at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100, Member must have length greater than or equal to 1`,
      );
    const token = req.ClientRequestToken as string | undefined;
    const fingerprint = JSON.stringify(items);
    if (token !== undefined && this.tokens.has(token)) {
      if (this.tokens.get(token) !== fingerprint)
        throw new DynamoWireError('IdempotentParameterMismatchException', 'The request uses the same client token as a previous, but non-identical request.');
      return {};
    }
    const writes: Write[] = [];
    const seen = new Set<string>();
    for (const entry of items as Req[]) {
      const kinds = Object.keys(entry).filter((k) => entry[k] !== undefined);
      if (kinds.length !== 1) throw validation('TransactItems can only contain one of Check, Put, Update or Delete');
      const kind = kinds[0] as string;
      const inner = entry[kind] as Req;
      if (kind === 'Put') {
        returnValuesOnFailureOnly(inner);
        writes.push(this.preparePut(inner));
      } else if (kind === 'Update') {
        returnValuesOnFailureOnly(inner);
        writes.push(this.prepareUpdate(inner));
      } else if (kind === 'Delete') {
        returnValuesOnFailureOnly(inner);
        writes.push(this.prepareDelete(inner));
      } else if (kind === 'ConditionCheck') writes.push(this.prepareCheck(inner));
      else throw validation(`TransactWriteItems: ${kind} is not a transaction action (Put, Update, Delete, ConditionCheck)`);
      const w = writes.at(-1) as Write;
      const id = `${w.table.name}\u0000${w.keyEnc.join('\u0000')}`;
      if (seen.has(id)) throw validation('Transaction request cannot include multiple operations on one item');
      seen.add(id);
    }
    if (writes.some((w) => w.failed)) {
      const reasons = writes.map((w, i) => {
        if (!w.failed) return { Code: 'None' };
        const inner = Object.values((items as Req[])[i] as Req)[0] as Req;
        return { Code: 'ConditionalCheckFailed', Message: CONDITION_FAILED, ...(inner.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' && w.old ? { Item: clone(w.old) } : {}) };
      });
      throw new DynamoWireError(
        'TransactionCanceledException',
        `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
        {
          CancellationReasons: reasons,
        },
      );
    }
    for (const w of writes) this.commit(w);
    if (token !== undefined) this.tokens.set(token, fingerprint);
    return {};
  }

  protected opBatchWriteItem(req: Req): Req {
    const all = req.RequestItems as Record<string, Req[]> | undefined;
    if (!all || Object.keys(all).length === 0) throw validation("1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: Member must not be null");
    const count = Object.values(all).reduce((s, l) => s + l.length, 0);
    if (count > 25)
      throw validation(
        `1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]`,
      );
    const writes: Write[] = [];
    const seen = new Set<string>();
    for (const [table, list] of Object.entries(all))
      for (const r of list) {
        const w = r.PutRequest
          ? this.preparePut({ TableName: table, Item: (r.PutRequest as Req).Item })
          : r.DeleteRequest
            ? this.prepareDelete({ TableName: table, Key: (r.DeleteRequest as Req).Key })
            : undefined;
        if (!w) throw validation('BatchWriteItem: each request is a PutRequest or a DeleteRequest');
        const id = `${table}\u0000${w.keyEnc.join('\u0000')}`;
        if (seen.has(id)) throw validation('Provided list of item keys contains duplicates');
        seen.add(id);
        writes.push(w);
      }
    for (const w of writes) this.commit(w);
    return { UnprocessedItems: {} };
  }

  // --- reads ----------------------------------------------------------------------------------------

  private projection(req: Req, ctx: ExpressionContext): Path[] | undefined {
    const src = req.ProjectionExpression;
    return typeof src === 'string' ? parseProjection(src, ctx) : undefined;
  }

  protected opGetItem(req: Req): Req {
    const t = this.table(req.TableName);
    const keyEnc = this.keyOf(t, req.Key, true);
    const ctx = new ExpressionContext(req.ExpressionAttributeNames as Record<string, string> | undefined, undefined);
    const proj = this.projection(req, ctx);
    ctx.checkAllUsed();
    const item = this.get(t, keyEnc);
    if (!item) return {};
    return { Item: proj ? project(item, proj) : item };
  }

  protected opBatchGetItem(req: Req): Req {
    const all = req.RequestItems as Record<string, Req> | undefined;
    if (!all || Object.keys(all).length === 0) throw validation("1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: Member must not be null");
    const responses: Record<string, Item[]> = {};
    for (const [table, spec] of Object.entries(all)) {
      for (const k of Object.keys(spec))
        if (!['Keys', 'ProjectionExpression', 'ExpressionAttributeNames', 'ConsistentRead'].includes(k))
          throw validation(`BatchGetItem: ${k} is not implemented by Gantry's in-memory DynamoDB`);
      const t = this.table(table);
      const ctx = new ExpressionContext(spec.ExpressionAttributeNames as Record<string, string> | undefined, undefined);
      const proj = this.projection(spec, ctx);
      ctx.checkAllUsed();
      responses[table] = [];
      for (const key of (spec.Keys as Req[]) ?? []) {
        const item = this.get(t, this.keyOf(t, key, true));
        if (item) (responses[table] as Item[]).push(proj ? project(item, proj) : clone(item));
      }
    }
    return { Responses: responses, UnprocessedKeys: {} };
  }

  /** Query and Scan: the candidate items in order, then Limit, the 1 MB page, the filter and the projection. */
  private read(req: Req, op: 'Query' | 'Scan'): Req {
    const t = this.table(req.TableName);
    const indexName = req.IndexName as string | undefined;
    const index = indexName === undefined ? undefined : t.indexes.get(indexName);
    if (indexName !== undefined && !index) throw validation(`The table does not have the specified index: ${indexName}`);
    if (index && req.ConsistentRead === true) throw validation('Consistent reads are not supported on global secondary indexes');
    const schema = index?.schema ?? t.schema;
    const select = (req.Select as string | undefined) ?? 'ALL_ATTRIBUTES';
    if (!['ALL_ATTRIBUTES', 'COUNT', 'SPECIFIC_ATTRIBUTES'].includes(select)) throw validation(`${op}: Select ${select} is not implemented by Gantry's in-memory DynamoDB`);
    const limit = req.Limit as number | undefined;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1))
      throw validation(`1 validation error detected: Value '${limit}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1`);

    const ctx = new ExpressionContext(req.ExpressionAttributeNames as Record<string, string> | undefined, req.ExpressionAttributeValues as Req | undefined);
    let key: ReturnType<typeof keyCondition> | undefined;
    if (op === 'Query') {
      if (typeof req.KeyConditionExpression !== 'string') throw validation('Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.');
      key = keyCondition(parseCondition(req.KeyConditionExpression, 'KeyConditionExpression', ctx), schema.hash, schema.range);
      for (const [n, v] of [
        [schema.hash, key.hash],
        ...(key.range ? [[schema.range as string, key.range.v], ...(key.range.hi ? [[schema.range as string, key.range.hi]] : [])] : []),
      ] as Array<[string, AttributeValue]>)
        if (typeOf(v) !== t.attributeTypes[n]) throw validation('One or more parameter values were invalid: Condition parameter type does not match schema type');
      if (key.range?.op === 'begins_with' && t.attributeTypes[schema.range as string] === 'N')
        throw validation('Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N');
    }
    const filter = typeof req.FilterExpression === 'string' ? parseCondition(req.FilterExpression, 'FilterExpression', ctx) : undefined;
    if (filter && key)
      for (const n of conditionAttributes(filter))
        if (n === schema.hash || n === schema.range) throw validation(`Filter Expression can only contain non-primary key attributes: Primary key attribute: ${n}`);
    const proj = this.projection(req, ctx);
    if (select === 'SPECIFIC_ATTRIBUTES' && !proj) throw validation('Select SPECIFIC_ATTRIBUTES requires a ProjectionExpression');
    if (select === 'COUNT' && proj) throw validation('Cannot specify the ProjectionExpression when choosing to get only the Count');
    ctx.checkAllUsed();

    // Candidates, in DynamoDB's order: by range key within a partition (ties on an index by table key).
    const tableKeyNames = [t.schema.hash, ...(t.schema.range ? [t.schema.range] : [])];
    const sortWithin = (items: Item[]): Item[] => {
      const cmp = (a: Item, b: Item): number => {
        for (const n of [schema.range, ...(index ? tableKeyNames : [])]) {
          if (!n) continue;
          const c = compareScalars(a[n] as AttributeValue, b[n] as AttributeValue) ?? 0;
          if (c !== 0) return c;
        }
        return 0;
      };
      return items.sort(cmp);
    };
    const ordered = (p: Map<string, Item>): Item[] => {
      let list = this.sorted.get(p);
      if (!list) this.sorted.set(p, (list = sortWithin([...p.values()])));
      return list;
    };
    let candidates: Item[];
    if (key) {
      const source = index ? index.partitions.get(encode(key.hash)) : t.partitions.get(encode(key.hash));
      const range = key.range;
      const all = source ? ordered(source) : [];
      candidates = range ? all.filter((i) => matchesRange(i[schema.range as string] as AttributeValue, range)) : [...all];
      if (req.ScanIndexForward === false) candidates.reverse();
    } else {
      candidates = [];
      const parts = index ? index.partitions : t.partitions;
      for (const p of parts.values()) candidates.push(...ordered(p));
    }

    const keyNames = [...new Set([...tableKeyNames, ...(index ? [index.schema.hash, ...(index.schema.range ? [index.schema.range] : [])] : [])])];
    const start = req.ExclusiveStartKey;
    let from = 0;
    if (start !== undefined) {
      const s = canonicalItem(start, 'exclusiveStartKey');
      if (Object.keys(s).length !== keyNames.length || !keyNames.every((n) => s[n] !== undefined))
        throw validation('The provided starting key is invalid: The provided key element does not match the schema');
      const at = candidates.findIndex((i) => tableKeyNames.every((n) => compareScalars(i[n] as AttributeValue, s[n] as AttributeValue) === 0));
      if (at >= 0) from = at + 1;
      else if (key) {
        // The start item is gone: resume after its place in the order.
        const probe = { ...s };
        const pos = sortWithin([...candidates, probe]).indexOf(probe);
        from = req.ScanIndexForward === false ? candidates.length - pos : pos;
      } else {
        // Partitions are never removed from their Map, so a vanished start item still has a place.
        const parts = [...(index ? index.partitions : t.partitions).keys()];
        const place = (i: Item): number => parts.indexOf(encode(i[schema.hash] as AttributeValue));
        const hp = place(s);
        from = candidates.findIndex(
          (i) =>
            place(i) > hp || (place(i) === hp && schema.range !== undefined && (compareScalars(i[schema.range] as AttributeValue, s[schema.range] as AttributeValue) ?? 0) > 0),
        );
        if (from < 0 || hp < 0) from = candidates.length;
      }
    }

    const out: Item[] = [];
    let scanned = 0;
    let bytes = 0;
    let last: Item | undefined;
    let i = from;
    for (; i < candidates.length; i++) {
      if (limit !== undefined && scanned >= limit) break;
      const item = candidates[i] as Item;
      let size = this.sizes.get(item);
      if (size === undefined) this.sizes.set(item, (size = itemSize(item)));
      if (scanned > 0 && bytes + size > MAX_PAGE_BYTES) break;
      bytes += size;
      scanned++;
      last = item;
      if (filter && !evaluate(item, filter)) continue;
      out.push(item);
    }
    const more = i < candidates.length || (limit !== undefined && scanned >= limit);
    const lastKey = more && last ? Object.fromEntries(keyNames.map((n) => [n, clone(last[n] as AttributeValue)])) : undefined;
    return {
      ...(select === 'COUNT' ? {} : { Items: proj ? out.map((item) => project(item, proj)) : out }),
      Count: out.length,
      ScannedCount: scanned,
      ...(lastKey ? { LastEvaluatedKey: lastKey } : {}),
    };
  }

  protected opQuery(req: Req): Req {
    return this.read(req, 'Query');
  }

  protected opScan(req: Req): Req {
    return this.read(req, 'Scan');
  }
}

function returnValuesOnFailureOnly(req: Req): void {
  if (req.ReturnValues !== undefined) throw validation('TransactWriteItems: ReturnValues is not allowed in a transaction item (use ReturnValuesOnConditionCheckFailure)');
  const rv = req.ReturnValuesOnConditionCheckFailure;
  if (rv !== undefined && rv !== 'NONE' && rv !== 'ALL_OLD') throw validation(`ReturnValuesOnConditionCheckFailure must be NONE or ALL_OLD, not ${String(rv)}`);
}

let requestIds = 0;

/** The HTTP-shaped answer the SDK's deserialiser expects. */
function answer(status: number, body: Req): { statusCode: number; headers: Record<string, string>; body: Buffer } {
  const bytes = Buffer.from(JSON.stringify(body));
  return {
    statusCode: status,
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': `memory-${++requestIds}`, 'content-length': String(bytes.length) },
    body: bytes,
  };
}

/** Run one JSON-protocol request against the store: a 200 with the result, or a 400/500 wire error. */
export function respond(store: MemoryDynamo, target: string, body: string): { statusCode: number; headers: Record<string, string>; body: Buffer } {
  if (!target.startsWith(API_PREFIX)) return answer(400, { __type: `${ERROR_PREFIX}UnknownOperationException`, message: `Unknown target ${target}` });
  try {
    const req = body === '' ? {} : (JSON.parse(body) as Req);
    return answer(200, store.run(target.slice(API_PREFIX.length), req));
  } catch (e) {
    if (e instanceof DynamoWireError) return answer(400, { __type: `${ERROR_PREFIX}${e.code}`, message: e.message, ...e.extra });
    if (e instanceof SyntaxError) return answer(400, { __type: `${ERROR_PREFIX}SerializationException`, message: e.message });
    return answer(500, { __type: `${ERROR_PREFIX}InternalServerError`, message: e instanceof Error ? e.message : String(e) });
  }
}

interface SdkRequest {
  readonly headers: Record<string, string>;
  readonly body?: unknown;
}

/** An SDK request handler (the shape of `@smithy/node-http-handler`'s) answering from a MemoryDynamo. */
export class MemoryDynamoHandler {
  readonly metadata = { handlerProtocol: 'memory' };
  constructor(readonly store: MemoryDynamo = new MemoryDynamo()) {}

  handle(request: SdkRequest): Promise<{ response: ReturnType<typeof respond> }> {
    const target = request.headers['x-amz-target'] ?? request.headers['X-Amz-Target'] ?? '';
    const b = request.body;
    const text = b instanceof Uint8Array ? Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8') : typeof b === 'string' ? b : '';
    return Promise.resolve({ response: respond(this.store, target, text) });
  }

  updateHttpClientConfig(): void {}
  httpHandlerConfigs(): Record<string, never> {
    return {};
  }
  destroy(): void {}
}

/** Serve a store over HTTP on loopback, for a child process (the CLI's `--endpoint`). */
async function listen(store: MemoryDynamo): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const out = respond(store, String(req.headers['x-amz-target'] ?? ''), Buffer.concat(chunks).toString('utf8'));
      res.writeHead(out.statusCode, out.headers);
      res.end(out.body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

export interface MemoryDynamoOptions {
  readonly tableName?: string;
  /**
   * Also serve the store over HTTP on a loopback port, so another process (the CLI under test) can
   * reach it at `endpoint`. Without it `endpoint` is the placeholder `memory://<table>`.
   */
  readonly listen?: boolean;
}

/** The local runtime's ledger: a MemoryDynamo behind the real SDK clients, with the ledger table created. */
export async function startMemoryDynamo(options: MemoryDynamoOptions = {}): Promise<LocalDynamo & { readonly store: MemoryDynamo }> {
  const tableName = options.tableName ?? DEFAULT_LOCAL_TABLE;
  const handler = new MemoryDynamoHandler();
  const server = options.listen ? await listen(handler.store) : undefined;
  const endpoint = server ? `http://127.0.0.1:${(server.address() as AddressInfo).port}` : `memory://${tableName}`;
  const { client, doc } = localClients(server ? endpoint : 'http://memory.localhost', { requestHandler: handler, unsigned: true });
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      doc.destroy();
      client.destroy();
      if (server)
        await new Promise<void>((resolve, reject) => {
          server.close((err?: Error) => (err ? reject(err) : resolve()));
          server.closeAllConnections();
        });
    })();
    return closed;
  };
  try {
    await createLedgerTable(client, tableName);
  } catch (e) {
    await close();
    throw e;
  }
  return { endpoint, client, doc, tableName, close, store: handler.store };
}

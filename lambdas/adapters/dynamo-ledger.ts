/**
 * The ledger over one DynamoDB table (lib-dynamodb). The only Ledger implementation: AWS runs it against
 * the real table, the local runtime against the in-memory DynamoDB, the storage tests also against DynamoDB Local.
 *
 * One transaction: an append writes its events and the release summary in one TransactWriteItems
 * (docs/decisions/041-ledger-head.md). Every other invariant rests on single-item conditional writes,
 * and every multi-item write is ordered so a crash between two writes leaves a state the next call
 * repairs. Key design and reasons: docs/decisions/002-ledger-keys.md.
 *
 * Task tokens are credentials: nothing here logs, and no error message carries a token.
 */
import { createHash } from 'node:crypto';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  type ScanCommandInput,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { chainEvent, type LedgerEvent, type LedgerEventInput, projectRelease, REFUSALS_KEPT, type RefusalStats, type ReleaseSummary, withRefusals } from '../domain/ledger';
import { chainInsight, type InsightRecord, type InsightRecordInput } from '../domain/insight';
import {
  type ApprovalRefusal,
  type FreezeState,
  type LeaseResult,
  type LeaseState,
  type LeaseWaiter,
  type Ledger,
  type ReleaseQuery,
  scanIndexKey,
  type SignatureRecord,
  type SkipRecord,
  type StagePointer,
  type TokenRecord,
} from '../ports';
import { EVENT_SEQ_WIDTH, LEDGER_GSI_BY_SERVICE, LEDGER_TTL_ATTRIBUTE, MAX_EVENT_SEQ, ledgerKeys } from './ledger-table';

/** Concurrent writers kept taking the sequence number this append needed; the append wrote nothing. */
export class LedgerConflictError extends Error {
  override readonly name = 'LedgerConflictError';
}

/** A caller passed something the ledger cannot store (an unparseable timestamp, an empty id). */
export class LedgerInputError extends Error {
  override readonly name = 'LedgerInputError';
}

/**
 * A stage pointer write by a lease holder whose fencing token is older than one that already wrote the
 * pointer: another holder took the stage since (an operator rollback); the write is refused.
 */
export class FencedOffError extends Error {
  override readonly name = 'FencedOffError';
}

export interface DynamoLedgerOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Attempts of one append against concurrent writers of the same release. @default 40 */
  readonly maxAppendAttempts?: number;
  /** How long an initiator item lives (TTL); must outlast the longest execution. @default 366 days */
  readonly initiatorTtlSeconds?: number;
  /** How many digests a stage pointer's `promoted` history keeps (oldest dropped). @default 100 */
  readonly promotedHistoryLimit?: number;
}

type Item = Record<string, unknown>;

/** Item kinds, stored as `entity` on every item so a scan or an export reads as what it is. */
const ENTITY = {
  release: 'RELEASE',
  event: 'EVENT',
  pointer: 'POINTER',
  lease: 'LEASE',
  leaseWaiter: 'LEASE_WAITER',
  token: 'TOKEN',
  alarmIndex: 'ALARM_INDEX',
  skip: 'SKIP',
  skipListing: 'SKIP_LISTING',
  initiator: 'INITIATOR',
  startPusher: 'START_PUSHER',
  insight: 'INSIGHT',
  refusal: 'REFUSAL',
  refusalStats: 'REFUSAL_STATS',
  throttle: 'THROTTLE',
  signature: 'SIGNATURE',
} as const;

/** Attributes the adapter adds to an item; stripped when the item is read back as a domain record. */
const STORAGE_ATTRIBUTES = ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'entity'] as const;

const CONDITION_FAILED = 'ConditionalCheckFailedException';
const isConditionFailed = (e: unknown): boolean => e instanceof Error && e.name === CONDITION_FAILED;

/**
 * A transaction that lost to another writer: a condition failed (`TransactionCanceledException` whose
 * reasons include ConditionalCheckFailed) or another transaction held an item (`TransactionConflict` as
 * a reason, or `TransactionConflictException`). Any other cancellation (validation, throughput) is an error.
 */
function isWriteConflict(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (e.name === 'TransactionConflictException') return true;
  if (e.name !== 'TransactionCanceledException') return false;
  const reasons = (e as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons ?? [];
  return reasons.some((r) => r.Code === 'ConditionalCheckFailed' || r.Code === 'TransactionConflict');
}

/** Whether a cancelled transaction of `count` actions failed on its last action's condition alone. */
function onlyLastFailed(e: unknown, count: number): boolean {
  const reasons = (e as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons ?? [];
  return reasons.length === count && reasons.every((r, i) => (i === count - 1 ? r.Code === 'ConditionalCheckFailed' : !r.Code || r.Code === 'None'));
}

/** Events one appendAll may write: TransactWriteItems takes 100 actions, one of them the summary. */
export const MAX_EVENTS_PER_APPEND = 99;
/** Release chains one ledger instance keeps the head of (a Lambda instance serves one invocation at a time). */
const CACHED_CHAINS = 64;

/** JSON round trip: drops `undefined` (the caller's document client may not), and is exactly what a read returns. */
function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function strip(item: Item): Item {
  const out: Item = { ...item };
  for (const k of STORAGE_ATTRIBUTES) delete out[k];
  return out;
}

function epochSeconds(iso: string, what: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new LedgerInputError(`${what}: expected an ISO-8601 timestamp, got ${JSON.stringify(iso)}`);
  return Math.floor(ms / 1000);
}

function required(value: string, what: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new LedgerInputError(`${what}: expected a non-empty string, got ${JSON.stringify(value)}`);
  return value;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The global freeze: one item, its history inside it. */
const FREEZE_KEY = { pk: 'FREEZE', sk: 'GLOBAL' } as const;

export class DynamoLedger implements Ledger {
  private readonly doc: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly maxAppendAttempts: number;
  private readonly initiatorTtlSeconds: number;
  private readonly promotedHistoryLimit: number;
  /** The chains this instance last read or wrote, by release: where an append starts (appendAll). */
  private readonly chains = new Map<string, LedgerEvent[]>();

  constructor(options: DynamoLedgerOptions) {
    this.doc = options.client;
    this.tableName = required(options.tableName, 'tableName');
    this.maxAppendAttempts = options.maxAppendAttempts ?? 40;
    this.initiatorTtlSeconds = options.initiatorTtlSeconds ?? 366 * 24 * 3600;
    this.promotedHistoryLimit = options.promotedHistoryLimit ?? 100;
  }

  // ------------------------------------------------------------ release events

  async append(input: LedgerEventInput): Promise<{ event: LedgerEvent; duplicate: boolean }> {
    const [result] = await this.appendAll([input]);
    return result as { event: LedgerEvent; duplicate: boolean };
  }

  /**
   * Append events to one release's chain, in order, in ONE request when this instance already holds the
   * chain's head: a TransactWriteItems of each new event (`attribute_not_exists`, so a taken sequence
   * number cancels it) and the summary projected from them. A step key already in the chain is a
   * duplicate: its stored event is returned and nothing is written for it. When the cached head is stale
   * (another writer appended), the transaction is cancelled, the delta is read and the append retried —
   * a successful write at seq n+1 proves the chain held exactly the n events it was computed from, so the
   * step-key check against them was complete (docs/decisions/041-ledger-head.md).
   */
  async appendAll(inputs: readonly LedgerEventInput[]): Promise<Array<{ event: LedgerEvent; duplicate: boolean }>> {
    if (inputs.length === 0) return [];
    const releaseId = required(inputs[0]!.releaseId, 'releaseId');
    for (const input of inputs) {
      required(input.stepKey, 'stepKey');
      if (input.releaseId !== releaseId) throw new LedgerInputError(`appendAll: every event must belong to release ${releaseId}, got ${JSON.stringify(input.releaseId)}`);
    }
    if (inputs.length > MAX_EVENTS_PER_APPEND) throw new LedgerInputError(`appendAll: at most ${MAX_EVENTS_PER_APPEND} events at once, got ${inputs.length}`);
    // What is hashed must be exactly what a later read returns, or the chain would not verify.
    const bodies = inputs.map((input) => plain(input));
    let known = this.chains.get(releaseId) ?? (await this.readEvents(releaseId, 0));
    let summaryKept = false;
    for (let attempt = 1; attempt <= this.maxAppendAttempts; attempt++) {
      const results: Array<{ event: LedgerEvent; duplicate: boolean }> = [];
      const fresh: LedgerEvent[] = [];
      const byStep = new Map(known.map((e) => [e.stepKey, e]));
      for (const body of bodies) {
        const existing = byStep.get(body.stepKey);
        if (existing) {
          results.push({ event: existing, duplicate: true });
          continue;
        }
        const event = chainEvent(fresh.at(-1) ?? known.at(-1), body);
        if (event.seq > MAX_EVENT_SEQ) throw new LedgerInputError(`release ${releaseId}: more than ${MAX_EVENT_SEQ} events`);
        fresh.push(event);
        byStep.set(event.stepKey, event);
        results.push({ event, duplicate: false });
      }
      if (fresh.length === 0) {
        // Retried steps only: nothing to write. (The summary was written with their events, in the same transaction.)
        this.remember(releaseId, known);
        return results;
      }
      const chain = known.concat(fresh);
      const summary = summaryKept ? undefined : this.summaryPut(chain);
      try {
        await this.doc.send(new TransactWriteCommand({ TransactItems: [...fresh.map((e) => ({ Put: this.eventPut(e) })), ...(summary ? [{ Put: summary }] : [])] }));
      } catch (e) {
        if (!isWriteConflict(e)) throw e;
        if (summary && onlyLastFailed(e, fresh.length + 1)) {
          // The events were free but a summary of a later version is stored: keep it, write the events alone.
          summaryKept = true;
          continue;
        }
        // Another writer took a sequence number this append needed: read what it wrote (the tail after the head this
        // append started from, checked by hash as `events` does), back off a little (jittered) and try again.
        this.remember(releaseId, known);
        known = await this.events(releaseId);
        if (attempt > 1) await sleep(Math.random() * Math.min(100, 2 ** attempt));
        continue;
      }
      this.remember(releaseId, chain);
      return results;
    }
    this.chains.delete(releaseId);
    throw new LedgerConflictError(
      `release ${releaseId}: could not append ${inputs.map((i) => `${i.type} (step ${i.stepKey})`).join(', ')} after ${this.maxAppendAttempts} attempts against concurrent writers`,
    );
  }

  /** Keep a release's chain as this instance last wrote or read it (the head an append starts from); least recently used dropped. */
  private remember(releaseId: string, chain: LedgerEvent[]): void {
    this.chains.delete(releaseId);
    this.chains.set(releaseId, chain);
    while (this.chains.size > CACHED_CHAINS) this.chains.delete(this.chains.keys().next().value as string);
  }

  private eventPut(event: LedgerEvent): { TableName: string; Item: Item; ConditionExpression: string; ExpressionAttributeNames: Record<string, string> } {
    return {
      TableName: this.tableName,
      Item: { ...ledgerKeys.releaseEvent(event.releaseId, event.seq), entity: ENTITY.event, ...event },
      ConditionExpression: 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#pk': 'pk' },
    };
  }

  /** The summary item of `events` (none before a release.started), written only over a summary of an earlier version. */
  private summaryPut(events: readonly LedgerEvent[]) {
    const summary = projectRelease(events);
    if (!summary) return undefined;
    return {
      TableName: this.tableName,
      Item: {
        ...plain(summary),
        ...ledgerKeys.releaseMeta(summary.releaseId),
        ...ledgerKeys.releaseGsi(summary.service, summary.startedAt, summary.releaseId),
        entity: ENTITY.release,
      },
      ConditionExpression: 'attribute_not_exists(#v) OR #v < :v',
      ExpressionAttributeNames: { '#v': 'version' },
      ExpressionAttributeValues: { ':v': summary.version },
    };
  }

  /**
   * The chain, read consistently. When this instance already holds the chain, only its tail is read: the
   * events from the last one it knows (included, to check it is still there with the same hash) onwards —
   * one request either way, but a few items instead of the whole chain. If the last known event is gone or
   * differs, the whole chain is read again. An event before it that was rewritten in the table is not
   * noticed here: that is what `{ whole: true }` is for — the audit reads every event (decision 041).
   */
  async events(releaseId: string, options: { whole?: boolean } = {}): Promise<LedgerEvent[]> {
    const known = options.whole ? undefined : this.chains.get(releaseId);
    const last = known?.at(-1);
    if (known && last) {
      const tail = await this.readEvents(releaseId, last.seq - 1);
      if (tail[0]?.seq === last.seq && tail[0].hash === last.hash) {
        const chain = tail.length > 1 ? known.concat(tail.slice(1)) : known;
        this.remember(releaseId, chain);
        return chain.slice();
      }
    }
    const events = await this.readEvents(releaseId, 0);
    if (events.length > 0) this.remember(releaseId, events);
    else this.chains.delete(releaseId);
    return events.slice();
  }

  async getRelease(releaseId: string): Promise<ReleaseSummary | undefined> {
    const [{ Item }, refusals] = await Promise.all([
      this.doc.send(new GetCommand({ TableName: this.tableName, Key: ledgerKeys.releaseMeta(releaseId), ConsistentRead: true })),
      this.refusalStats(releaseId),
    ]);
    return Item ? withRefusals(strip(Item) as unknown as ReleaseSummary, refusals) : undefined;
  }

  /**
   * Release summaries ordered by `startedAt`. With a service: a Query of the byService index; without:
   * a Scan of that index (it holds only summaries and leases). `from`/`to` bound `startedAt`, both
   * inclusive; a `to` that is a prefix (a date) includes the whole of it. Index reads are eventually consistent.
   */
  async listReleases(query: ReleaseQuery = {}): Promise<ReleaseSummary[]> {
    const { service, from, to, status } = query;
    let items: Item[];
    if (service !== undefined) {
      const names: Record<string, string> = { '#gpk': 'gsi1pk' };
      const values: Item = { ':gpk': ledgerKeys.servicePartition(service) };
      let condition = '#gpk = :gpk';
      // gsi1sk is `<startedAt>#<releaseId>`: `to` + U+FFFF is above every key whose startedAt starts with `to`.
      if (from !== undefined) values[':from'] = from;
      if (to !== undefined) values[':to'] = `${to}\uffff`;
      if (from !== undefined || to !== undefined) names['#gsk'] = 'gsi1sk';
      if (from !== undefined && to !== undefined) condition += ' AND #gsk BETWEEN :from AND :to';
      else if (from !== undefined) condition += ' AND #gsk >= :from';
      else if (to !== undefined) condition += ' AND #gsk <= :to';
      if (status !== undefined) {
        names['#status'] = 'status';
        values[':status'] = status;
      }
      items = await this.queryAll({
        IndexName: LEDGER_GSI_BY_SERVICE,
        KeyConditionExpression: condition,
        ...(status !== undefined ? { FilterExpression: '#status = :status' } : {}),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      });
    } else {
      items = await this.scanAll({
        IndexName: LEDGER_GSI_BY_SERVICE,
        FilterExpression: '#entity = :release',
        ExpressionAttributeNames: { '#entity': 'entity' },
        ExpressionAttributeValues: { ':release': ENTITY.release },
      });
    }
    return items
      .filter((i) => i.entity === ENTITY.release && (status === undefined || i.status === status))
      .map((i) => strip(i) as unknown as ReleaseSummary)
      .filter((r) => (from === undefined || r.startedAt >= from) && (to === undefined || r.startedAt <= to || r.startedAt.startsWith(to)))
      .sort((a, b) => (a.startedAt < b.startedAt ? -1 : a.startedAt > b.startedAt ? 1 : a.releaseId < b.releaseId ? -1 : a.releaseId > b.releaseId ? 1 : 0));
  }

  /** Events with seq > afterSeq, in order, read consistently. */
  private async readEvents(releaseId: string, afterSeq: number): Promise<LedgerEvent[]> {
    const items = await this.queryAll({
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
      ExpressionAttributeValues: {
        ':pk': ledgerKeys.releasePartition(releaseId),
        ':from': ledgerKeys.releaseEvent(releaseId, afterSeq + 1).sk,
        ':to': `${ledgerKeys.eventSortKeyPrefix}${'9'.repeat(EVENT_SEQ_WIDTH)}`,
      },
      ConsistentRead: true,
    });
    return items.map((i) => strip(i) as unknown as LedgerEvent);
  }

  // ------------------------------------------------------------ stage pointers

  async getPointer(service: string, stage: string): Promise<StagePointer | undefined> {
    const item = await this.getPointerItem(service, stage);
    if (!item) return undefined;
    return plain({
      service: item.service as string,
      stage: item.stage as string,
      running: item.running as string | undefined,
      lastKnownGood: item.lastKnownGood as string | undefined,
      promoted: (item.promoted as string[] | undefined) ?? [],
      updatedAt: item.updatedAt as string | undefined,
    });
  }

  async setRunning(service: string, stage: string, digest: string, at: string, fence?: number): Promise<void> {
    const fenced = fence !== undefined;
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: ledgerKeys.stagePointer(required(service, 'service'), required(stage, 'stage')),
          UpdateExpression: `SET #entity = :entity, #service = :service, #stage = :stage, #running = :digest, #updatedAt = :at, #promoted = if_not_exists(#promoted, :empty)${fenced ? ', #fence = :fence' : ''}`,
          ...(fenced ? { ConditionExpression: 'attribute_not_exists(#fence) OR #fence <= :fence' } : {}),
          ExpressionAttributeNames: {
            '#entity': 'entity',
            '#service': 'service',
            '#stage': 'stage',
            '#running': 'running',
            '#updatedAt': 'updatedAt',
            '#promoted': 'promoted',
            ...(fenced ? { '#fence': 'fence' } : {}),
          },
          ExpressionAttributeValues: {
            ':entity': ENTITY.pointer,
            ':service': service,
            ':stage': stage,
            ':digest': required(digest, 'digest'),
            ':at': at,
            ':empty': [],
            ...(fenced ? { ':fence': fence } : {}),
          },
        }),
      );
    } catch (e) {
      if (isConditionFailed(e)) throw new FencedOffError(`stage ${service}/${stage}: lease token ${fence} is older than the one that last wrote the stage pointer`, { cause: e });
      throw e;
    }
  }

  /** Read-modify-write guarded by the pointer's revision, so two concurrent calls never lose an entry. */
  async markGood(service: string, stage: string, digest: string, at: string, options: { history?: boolean; fence?: number } = {}): Promise<void> {
    required(digest, 'digest');
    const fence = options.fence;
    const addToHistory = options.history ?? true;
    for (let attempt = 1; ; attempt++) {
      const item = await this.getPointerItem(required(service, 'service'), required(stage, 'stage'));
      const rev = item?.rev as number | undefined;
      if (fence !== undefined && typeof item?.fence === 'number' && item.fence > fence) {
        throw new FencedOffError(`stage ${service}/${stage}: lease token ${fence} is older than the one that last wrote the stage pointer (${item.fence})`);
      }
      const promoted = (item?.promoted as string[] | undefined) ?? [];
      const next = !addToHistory || promoted.at(-1) === digest ? promoted : [...promoted, digest].slice(-this.promotedHistoryLimit);
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: ledgerKeys.stagePointer(service, stage),
            UpdateExpression: `SET #entity = :entity, #service = :service, #stage = :stage, #lkg = :digest, #promoted = :promoted, #updatedAt = :at, #rev = :next${fence !== undefined ? ', #fence = :fence' : ''}`,
            // The revision guards the read-modify-write; the fence, a pointer written by a newer lease holder meanwhile.
            ConditionExpression: `${rev === undefined ? 'attribute_not_exists(#rev)' : '#rev = :rev'}${fence !== undefined ? ' AND (attribute_not_exists(#fence) OR #fence <= :fence)' : ''}`,
            ExpressionAttributeNames: {
              '#entity': 'entity',
              '#service': 'service',
              '#stage': 'stage',
              '#lkg': 'lastKnownGood',
              '#promoted': 'promoted',
              '#updatedAt': 'updatedAt',
              '#rev': 'rev',
              ...(fence !== undefined ? { '#fence': 'fence' } : {}),
            },
            ExpressionAttributeValues: {
              ':entity': ENTITY.pointer,
              ':service': service,
              ':stage': stage,
              ':digest': digest,
              ':promoted': next,
              ':at': at,
              ':next': (rev ?? 0) + 1,
              ...(rev === undefined ? {} : { ':rev': rev }),
              ...(fence !== undefined ? { ':fence': fence } : {}),
            },
          }),
        );
        return;
      } catch (e) {
        if (!isConditionFailed(e)) throw e;
        if (attempt >= this.maxAppendAttempts) throw new LedgerConflictError(`stage ${service}/${stage}: could not mark ${digest} good against concurrent writers`, { cause: e });
        await sleep(Math.random() * Math.min(100, 2 ** attempt));
      }
    }
  }

  private async getPointerItem(service: string, stage: string): Promise<Item | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: ledgerKeys.stagePointer(service, stage), ConsistentRead: true }));
    return Item;
  }

  // ------------------------------------------------------------ leases

  /**
   * The lease item stays once written: freeing it removes its owner, so its fencing counter keeps growing
   * for the life of the stage. A lease has no TTL: a live holder never loses it to a timer. The reconciler
   * frees the leases of executions that ended, and a waiter takes over a lease whose holder's record is
   * closed (docs/decisions/021-leases-with-fencing.md).
   */
  async acquireLease(service: string, stage: string, owner: string, at: string): Promise<LeaseResult> {
    required(service, 'service');
    required(stage, 'stage');
    required(owner, 'owner');
    epochSeconds(at, 'at');
    const current = await this.getLease(service, stage);
    if (current?.owner === owner) return { acquired: true, fence: current.fence };
    if (current?.owner) return { acquired: false, holder: current.owner, holderFence: current.fence, ...(current.deploying ? { holderDeploying: current.deploying } : {}) };
    const fence = await this.claimLease(service, stage, owner, at, 'attribute_not_exists(#owner)', {});
    if (fence !== undefined) return { acquired: true, fence };
    // Taken between the read and the write.
    const now = await this.getLease(service, stage);
    if (now?.owner === owner) return { acquired: true, fence: now.fence };
    return now?.owner ? { acquired: false, holder: now.owner, holderFence: now.fence, ...(now.deploying ? { holderDeploying: now.deploying } : {}) } : { acquired: false };
  }

  async getLease(service: string, stage: string): Promise<LeaseState | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: ledgerKeys.stageLease(service, stage), ConsistentRead: true }));
    if (!Item) return undefined;
    return plain({
      service,
      stage,
      owner: Item.owner as string | undefined,
      fence: (Item.fence as number | undefined) ?? 0,
      acquiredAt: Item.acquiredAt as string | undefined,
      deploying: Item.deploying as LeaseState['deploying'],
    });
  }

  async takeOverLease(service: string, stage: string, from: { owner: string; fence: number }, owner: string, at: string): Promise<number | undefined> {
    return this.claimLease(service, stage, owner, at, '#owner = :from AND #fence = :fromFence AND attribute_not_exists(#deploying)', {
      ':from': from.owner,
      ':fromFence': from.fence,
    });
  }

  /** One conditional update: the new owner and the next fencing token. Undefined when the condition failed. */
  private async claimLease(service: string, stage: string, owner: string, at: string, condition: string, values: Record<string, unknown>): Promise<number | undefined> {
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: ledgerKeys.stageLease(service, stage),
          UpdateExpression:
            'SET #entity = :entity, #service = :service, #stage = :stage, #owner = :owner, #acquiredAt = :at, #fence = if_not_exists(#fence, :zero) + :one, #gpk = :gpk, #gsk = :gsk REMOVE #deploying, #ttl',
          ConditionExpression: condition,
          ExpressionAttributeNames: {
            '#entity': 'entity',
            '#service': 'service',
            '#stage': 'stage',
            '#owner': 'owner',
            '#acquiredAt': 'acquiredAt',
            '#fence': 'fence',
            '#gpk': 'gsi1pk',
            '#gsk': 'gsi1sk',
            '#deploying': 'deploying',
            '#ttl': LEDGER_TTL_ATTRIBUTE,
          },
          ExpressionAttributeValues: {
            ':entity': ENTITY.lease,
            ':service': service,
            ':stage': stage,
            ':owner': owner,
            ':at': at,
            ':zero': 0,
            ':one': 1,
            ':gpk': ledgerKeys.leaseGsi(owner, service, stage).gsi1pk,
            ':gsk': ledgerKeys.leaseGsi(owner, service, stage).gsi1sk,
            ...values,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes?.fence as number;
    } catch (e) {
      if (isConditionFailed(e)) return undefined;
      throw e;
    }
  }

  async beginDeploy(service: string, stage: string, owner: string, fence: number, deploying: { kind: 'deploy' | 'rollback'; digest: string; at: string }): Promise<boolean> {
    // The holder may replace its own claim (a rollback after a deploy whose end could not be recorded).
    return this.updateHeldLease(service, stage, owner, fence, 'SET #deploying = :deploying', { ':deploying': plain(deploying) });
  }

  async endDeploy(service: string, stage: string, owner: string, fence: number): Promise<boolean> {
    return this.updateHeldLease(service, stage, owner, fence, 'REMOVE #deploying', {});
  }

  private async updateHeldLease(
    service: string,
    stage: string,
    owner: string,
    fence: number,
    update: string,
    values: Record<string, unknown>,
    extraCondition?: string,
    extraNames: Record<string, string> = {},
    extraValues: Record<string, unknown> = {},
  ): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: ledgerKeys.stageLease(required(service, 'service'), required(stage, 'stage')),
          UpdateExpression: update,
          ConditionExpression: `#owner = :owner AND #fence = :fence${extraCondition ? ` AND ${extraCondition}` : ''}`,
          ExpressionAttributeNames: { '#owner': 'owner', '#fence': 'fence', '#deploying': 'deploying', ...extraNames },
          ExpressionAttributeValues: { ':owner': owner, ':fence': fence, ...values, ...extraValues },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailed(e)) return false;
      throw e;
    }
  }

  async releaseLease(service: string, stage: string, owner: string): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: ledgerKeys.stageLease(service, stage),
          UpdateExpression: 'REMOVE #owner, #deploying, #gpk, #gsk, #ttl',
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner', '#deploying': 'deploying', '#gpk': 'gsi1pk', '#gsk': 'gsi1sk', '#ttl': LEDGER_TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ':owner': owner },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailed(e)) return false;
      throw e;
    }
  }

  /** A release waiting for the stage's lease: its task token, woken (SendTaskSuccess) when the lease is freed. */
  async addLeaseWaiter(waiter: LeaseWaiter): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...ledgerKeys.leaseWaiter(required(waiter.service, 'service'), required(waiter.stage, 'stage'), required(waiter.releaseId, 'releaseId')),
          entity: ENTITY.leaseWaiter,
          ...plain(waiter),
          // A waiter whose execution died is never woken by anyone: it goes after the longest wait allowed.
          [LEDGER_TTL_ATTRIBUTE]: epochSeconds(waiter.at, 'at') + 8 * 24 * 3600,
        },
      }),
    );
  }

  /** Claim every waiter of the stage exactly once (conditional deletes): the caller wakes each one it got. */
  async takeLeaseWaiters(service: string, stage: string): Promise<LeaseWaiter[]> {
    const items = await this.queryAll({
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :w)',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
      ExpressionAttributeValues: { ':pk': ledgerKeys.stageLease(service, stage).pk, ':w': ledgerKeys.leaseWaiterPrefix },
      ConsistentRead: true,
    });
    const taken = await Promise.all(
      items.map(async (i) => {
        try {
          const { Attributes } = await this.doc.send(
            new DeleteCommand({
              TableName: this.tableName,
              Key: { pk: i.pk, sk: i.sk },
              ConditionExpression: '#t = :t',
              ExpressionAttributeNames: { '#t': 'token' },
              ExpressionAttributeValues: { ':t': i.token },
              ReturnValues: 'ALL_OLD',
            }),
          );
          return Attributes ? (strip(Attributes) as unknown as LeaseWaiter) : undefined;
        } catch (e) {
          if (isConditionFailed(e)) return undefined;
          throw e;
        }
      }),
    );
    return taken.filter((w): w is LeaseWaiter => w !== undefined).sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  }

  /** Every lease item `owner` holds, expired or not (freeing an expired one is harmless). Index read. */
  async leasesOf(owner: string): Promise<Array<{ service: string; stage: string }>> {
    const items = await this.queryAll({
      IndexName: LEDGER_GSI_BY_SERVICE,
      KeyConditionExpression: '#gpk = :gpk AND begins_with(#gsk, :lease)',
      ExpressionAttributeNames: { '#gpk': 'gsi1pk', '#gsk': 'gsi1sk' },
      ExpressionAttributeValues: { ':gpk': ledgerKeys.ownerPartition(owner), ':lease': 'LEASE#' },
    });
    return items.filter((i) => i.entity === ENTITY.lease && i.owner === owner).map((i) => ({ service: i.service as string, stage: i.stage as string }));
  }

  // ------------------------------------------------------------ task tokens

  /**
   * Store a task token (replacing one of the same kind, release and stage) and index it under each of
   * its alarms. The token item is written first: an index entry never points at nothing for long.
   */
  async putToken(record: TokenRecord): Promise<void> {
    required(record.token, 'token');
    const key = ledgerKeys.token(record.kind, required(record.releaseId, 'releaseId'), required(record.stage, 'stage'));
    const expires = epochSeconds(record.expiresAt, 'expiresAt');
    const { Attributes: previous } = await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...key,
          entity: ENTITY.token,
          ...plain({ ...record, expiresAt: undefined }),
          tokenExpiresAt: record.expiresAt,
          [LEDGER_TTL_ATTRIBUTE]: expires,
        },
        ReturnValues: 'ALL_OLD',
      }),
    );
    const tokenHash = sha256(record.token);
    await Promise.all(
      record.alarms.map((alarm) =>
        this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: {
              ...ledgerKeys.alarmIndex(alarm, record.kind, record.releaseId, record.stage),
              entity: ENTITY.alarmIndex,
              alarmName: alarm,
              kind: record.kind,
              releaseId: record.releaseId,
              stage: record.stage,
              tokenHash,
              [LEDGER_TTL_ATTRIBUTE]: expires,
            },
          }),
        ),
      ),
    );
    if (previous) {
      const stale = ((previous.alarms as string[] | undefined) ?? []).filter((a) => !record.alarms.includes(a));
      await this.deleteAlarmIndex(stale, record.kind, record.releaseId, record.stage, sha256(previous.token as string));
    }
  }

  async takeToken(kind: TokenRecord['kind'], releaseId: string, stage: string, only?: { phase: string | null }): Promise<TokenRecord | undefined> {
    let old: Item | undefined;
    // A token of another bake phase is not this caller's to claim: the condition leaves it in place.
    const phase =
      only === undefined
        ? undefined
        : only.phase === null
          ? { expr: ' AND attribute_not_exists(#phase)', values: undefined }
          : { expr: ' AND #phase = :phase', values: { ':phase': only.phase } };
    try {
      ({ Attributes: old } = await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: ledgerKeys.token(kind, releaseId, stage),
          ConditionExpression: `attribute_exists(#pk)${phase?.expr ?? ''}`,
          ExpressionAttributeNames: { '#pk': 'pk', ...(phase ? { '#phase': 'phase' } : {}) },
          ...(phase?.values ? { ExpressionAttributeValues: phase.values } : {}),
          ReturnValues: 'ALL_OLD',
        }),
      ));
    } catch (e) {
      if (isConditionFailed(e)) return undefined; // someone else claimed it
      throw e;
    }
    if (!old) return undefined;
    const record = tokenFromItem(old);
    await this.deleteAlarmIndex(record.alarms, kind, releaseId, stage, sha256(record.token));
    return record;
  }

  async tokensForAlarm(alarmName: string): Promise<TokenRecord[]> {
    const index = await this.queryAll({
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :bake)',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
      ExpressionAttributeValues: { ':pk': ledgerKeys.alarmPartition(alarmName), ':bake': 'BAKE#' },
      ConsistentRead: true,
    });
    const found = await Promise.all(
      index.map(async (i) => {
        const { Item } = await this.doc.send(
          new GetCommand({ TableName: this.tableName, Key: ledgerKeys.token(i.kind as string, i.releaseId as string, i.stage as string), ConsistentRead: true }),
        );
        // The token item is the truth: an index entry left by a claimed or replaced token is ignored.
        return Item && ((Item.alarms as string[] | undefined) ?? []).includes(alarmName) ? tokenFromItem(Item) : undefined;
      }),
    );
    return found.filter((t): t is TokenRecord => t !== undefined).sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  }

  /**
   * Open scan-wait tokens for an image: the alarm index under `scanIndexKey(repository, digest)` (SCAN# entries
   * only), each checked against its token item, the truth (decision 040).
   */
  async tokensForImageScan(repository: string, digest: string): Promise<TokenRecord[]> {
    const key = scanIndexKey(required(repository, 'repository'), required(digest, 'digest'));
    const index = await this.queryAll({
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :scan)',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
      ExpressionAttributeValues: { ':pk': ledgerKeys.alarmPartition(key), ':scan': 'SCAN#' },
      ConsistentRead: true,
    });
    const found = await Promise.all(
      index.map(async (i) => {
        const { Item } = await this.doc.send(
          new GetCommand({ TableName: this.tableName, Key: ledgerKeys.token('SCAN', i.releaseId as string, i.stage as string), ConsistentRead: true }),
        );
        return Item && ((Item.alarms as string[] | undefined) ?? []).includes(key) ? tokenFromItem(Item) : undefined;
      }),
    );
    return found.filter((t): t is TokenRecord => t !== undefined).sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  }

  /** Delete alarm index entries that still belong to the token with `tokenHash` (never a newer token's). */
  private async deleteAlarmIndex(alarms: readonly string[], kind: string, releaseId: string, stage: string, tokenHash: string): Promise<void> {
    await Promise.all(
      alarms.map(async (alarm) => {
        try {
          await this.doc.send(
            new DeleteCommand({
              TableName: this.tableName,
              Key: ledgerKeys.alarmIndex(alarm, kind, releaseId, stage),
              ConditionExpression: '#h = :h',
              ExpressionAttributeNames: { '#h': 'tokenHash' },
              ExpressionAttributeValues: { ':h': tokenHash },
            }),
          );
        } catch (e) {
          if (!isConditionFailed(e)) throw e;
        }
      }),
    );
  }

  // ------------------------------------------------------------ skips

  /**
   * `SKIP#<eventId>` is the idempotency guard (first write wins); `SKIPS`/`<at>#<eventId>` is the listing,
   * always written from the guard's content so a replay with another `at` cannot list a skip twice.
   */
  async recordSkip(skip: SkipRecord): Promise<void> {
    const key = ledgerKeys.skip(required(skip.eventId, 'eventId'));
    let stored: SkipRecord = plain(skip);
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...key, entity: ENTITY.skip, ...stored },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': 'pk' },
        }),
      );
    } catch (e) {
      if (!isConditionFailed(e)) throw e;
      const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
      if (Item) stored = strip(Item) as unknown as SkipRecord;
    }
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { ...ledgerKeys.skipListing(stored.at, stored.eventId), entity: ENTITY.skipListing, ...stored } }));
  }

  async listSkips(): Promise<SkipRecord[]> {
    const items = await this.queryAll({
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': 'pk' },
      ExpressionAttributeValues: { ':pk': ledgerKeys.skipsPartition },
      ConsistentRead: true,
    });
    return items.map((i) => strip(i) as unknown as SkipRecord);
  }

  // ------------------------------------------------------------ initiators

  /** First writer wins: a replayed start (same execution name) cannot replace who really started it. */
  async getFreeze(): Promise<FreezeState> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: FREEZE_KEY, ConsistentRead: true }));
    if (!Item) return { on: false };
    return { on: Item.on === true, reason: Item.reason as string | undefined, principal: Item.principal as string | undefined, at: Item.at as string | undefined };
  }

  async setFreeze(state: FreezeState & { reason: string; principal: string; at: string }): Promise<void> {
    const change = { on: state.on, reason: required(state.reason, 'reason'), principal: required(state.principal, 'principal'), at: state.at };
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: FREEZE_KEY,
        UpdateExpression:
          'SET #on = :on, #reason = :reason, #principal = :principal, #at = :at, #entity = :entity, #history = list_append(if_not_exists(#history, :empty), :change)',
        ExpressionAttributeNames: { '#on': 'on', '#reason': 'reason', '#principal': 'principal', '#at': 'at', '#entity': 'entity', '#history': 'history' },
        ExpressionAttributeValues: {
          ':on': change.on,
          ':reason': change.reason,
          ':principal': change.principal,
          ':at': change.at,
          ':entity': 'FREEZE',
          ':empty': [],
          ':change': [change],
        },
      }),
    );
  }

  async putInitiator(executionName: string, principal: string, at: string): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...ledgerKeys.initiator(required(executionName, 'executionName')),
            entity: ENTITY.initiator,
            executionName,
            principal: required(principal, 'principal'),
            at,
            [LEDGER_TTL_ATTRIBUTE]: epochSeconds(at, 'at') + this.initiatorTtlSeconds,
          },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': 'pk' },
        }),
      );
    } catch (e) {
      if (!isConditionFailed(e)) throw e;
    }
  }

  /** Written once: a SIGNED item is never replaced, a FAILED one is (the next attempt's outcome wins). */
  async putSignature(record: SignatureRecord): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...ledgerKeys.signature(required(record.subject, 'subject')), entity: ENTITY.signature, ...plain(record) },
          ConditionExpression: 'attribute_not_exists(#pk) OR #status = :failed',
          ExpressionAttributeNames: { '#pk': 'pk', '#status': 'status' },
          ExpressionAttributeValues: { ':failed': 'FAILED' },
        }),
      );
      return true;
    } catch (e) {
      if (!isConditionFailed(e)) throw e;
      return false;
    }
  }

  async getSignature(subject: string): Promise<SignatureRecord | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: ledgerKeys.signature(subject), ConsistentRead: true }));
    if (!Item) return undefined;
    const { pk: _pk, sk: _sk, entity: _entity, ...rest } = Item;
    return rest as SignatureRecord;
  }

  async getInitiator(executionName: string): Promise<string | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: ledgerKeys.initiator(executionName), ConsistentRead: true }));
    return Item?.principal as string | undefined;
  }

  /** First writer wins; lives a day (it only matters until the release's first record is written). */
  async putStartPusher(executionName: string, principal: string, at: string): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...ledgerKeys.startPusher(required(executionName, 'executionName')),
            entity: ENTITY.startPusher,
            executionName,
            principal: required(principal, 'principal'),
            at,
            [LEDGER_TTL_ATTRIBUTE]: epochSeconds(at, 'at') + 24 * 3600,
          },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': 'pk' },
        }),
      );
    } catch (e) {
      if (!isConditionFailed(e)) throw e;
    }
  }

  async getStartPusher(executionName: string): Promise<string | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: ledgerKeys.startPusher(executionName), ConsistentRead: true }));
    return Item?.principal as string | undefined;
  }

  // ------------------------------------------------------------ refused approvals and throttling

  /**
   * The attempt item first (idempotent: `attribute_not_exists`), then the stage's counter (an atomic
   * ADD). A crash between the two leaves an attempt uncounted, never a count without its attempt.
   */
  async recordRefusal(refusal: ApprovalRefusal): Promise<{ duplicate: boolean }> {
    const item = refusalItem(refusal);
    const r = plain(refusal);
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': 'pk' },
        }),
      );
    } catch (e) {
      if (isConditionFailed(e)) return { duplicate: true };
      throw e;
    }
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: ledgerKeys.refusalStats(r.releaseId, r.stage),
        UpdateExpression: 'ADD #count :one SET #entity = :entity, #releaseId = :releaseId, #stage = :stage, #lastAt = :at',
        ExpressionAttributeNames: { '#count': 'count', '#entity': 'entity', '#releaseId': 'releaseId', '#stage': 'stage', '#lastAt': 'lastAt' },
        ExpressionAttributeValues: { ':one': 1, ':entity': ENTITY.refusalStats, ':releaseId': r.releaseId, ':stage': r.stage, ':at': r.at },
      }),
    );
    return { duplicate: false };
  }

  async refusalStats(releaseId: string): Promise<RefusalStats[]> {
    const counters = await this.queryAll({
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :stats)',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
      ExpressionAttributeValues: { ':pk': ledgerKeys.refusalPartition(releaseId), ':stats': ledgerKeys.refusalStatsPrefix },
      ConsistentRead: true,
    });
    return Promise.all(
      counters
        .filter((c) => typeof c.stage === 'string' && typeof c.count === 'number' && c.count > 0)
        .map(async (c) => {
          const last = await this.listRefusals(releaseId, { stage: c.stage as string, newest: REFUSALS_KEPT });
          return { stage: c.stage as string, count: c.count as number, last: last.map((x) => ({ principal: x.principal, reason: x.reason, at: x.at, code: x.code })) };
        }),
    );
  }

  async listRefusals(releaseId: string, query: { stage?: string; newest?: number } = {}): Promise<ApprovalRefusal[]> {
    const input: Omit<QueryCommandInput, 'TableName'> = {
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :attempt)',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
      ExpressionAttributeValues: { ':pk': ledgerKeys.refusalPartition(releaseId), ':attempt': ledgerKeys.refusalAttemptPrefix(query.stage) },
      ConsistentRead: true,
    };
    if (query.newest === undefined) return (await this.queryAll(input)).map((i) => strip(i) as unknown as ApprovalRefusal);
    if (query.newest <= 0) return [];
    // Newest first, one page of at most `newest` items; across stages the order is by stage, so a
    // time order needs a stage (refusalStats asks per stage).
    const page = await this.doc.send(new QueryCommand({ ...input, TableName: this.tableName, ScanIndexForward: false, Limit: query.newest }));
    return (page.Items ?? []).map((i) => strip(i) as unknown as ApprovalRefusal).reverse();
  }

  async takeThrottleSlot(bucket: string, window: string, limit: number, expiresAt: string): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: ledgerKeys.throttle(sha256(required(bucket, 'bucket')).slice(0, 40), required(window, 'window')),
          UpdateExpression: 'ADD #n :one SET #entity = :entity, #bucket = :bucket, #ttl = :ttl',
          ConditionExpression: 'attribute_not_exists(#n) OR #n < :limit',
          ExpressionAttributeNames: { '#n': 'n', '#entity': 'entity', '#bucket': 'bucket', '#ttl': LEDGER_TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ':one': 1, ':limit': limit, ':entity': ENTITY.throttle, ':bucket': bucket, ':ttl': epochSeconds(expiresAt, 'expiresAt') },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailed(e)) return false;
      throw e;
    }
  }

  async throttleUsed(bucket: string, window: string): Promise<number> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: ledgerKeys.throttle(sha256(required(bucket, 'bucket')).slice(0, 40), window), ConsistentRead: true }),
    );
    return typeof Item?.n === 'number' ? Item.n : 0;
  }

  // ------------------------------------------------------------ insight checks

  /**
   * Append an insight record to the `INSIGHT` chain with a conditional put per sequence number (like a
   * release event). A retried check finds its checkId among the newest records and writes nothing.
   */
  async putInsight(input: InsightRecordInput): Promise<{ record: InsightRecord; duplicate: boolean }> {
    required(input.checkId, 'checkId');
    epochSeconds(input.at, 'at');
    const body = plain(input);
    for (let attempt = 1; attempt <= this.maxAppendAttempts; attempt++) {
      const newest = await this.newestInsights(10);
      const existing = newest.find((r) => r.checkId === input.checkId);
      if (existing) return { record: existing, duplicate: true };
      const record = chainInsight(newest[0], body);
      if (record.seq > MAX_EVENT_SEQ) throw new LedgerInputError(`insight chain: more than ${MAX_EVENT_SEQ} records`);
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...ledgerKeys.insightRecord(record.seq), entity: ENTITY.insight, ...record },
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: { '#pk': 'pk' },
          }),
        );
        return { record, duplicate: false };
      } catch (e) {
        if (!isConditionFailed(e)) throw e;
        await sleep(Math.random() * Math.min(100, 2 ** attempt));
      }
    }
    throw new LedgerConflictError(`insight check ${input.checkId}: could not append after ${this.maxAppendAttempts} attempts against concurrent writers`);
  }

  async listInsights(query: { from?: string; to?: string; last?: number } = {}): Promise<InsightRecord[]> {
    const all =
      query.last !== undefined
        ? (await this.newestInsights(query.last)).reverse()
        : (
            await this.queryAll({
              KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :check)',
              ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
              ExpressionAttributeValues: { ':pk': ledgerKeys.insightPartition, ':check': ledgerKeys.insightSortKeyPrefix },
              ConsistentRead: true,
            })
          ).map((i) => strip(i) as unknown as InsightRecord);
    return all.filter((r) => (query.from === undefined || r.at >= query.from) && (query.to === undefined || r.at <= query.to || r.at.startsWith(query.to)));
  }

  /** The newest `n` insight records, newest first. */
  private async newestInsights(n: number): Promise<InsightRecord[]> {
    if (n <= 0) return [];
    const page = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :check)',
        ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
        ExpressionAttributeValues: { ':pk': ledgerKeys.insightPartition, ':check': ledgerKeys.insightSortKeyPrefix },
        ScanIndexForward: false,
        Limit: n,
        ConsistentRead: true,
      }),
    );
    return (page.Items ?? []).map((i) => strip(i) as unknown as InsightRecord);
  }

  // ------------------------------------------------------------ paging

  private async queryAll(input: Omit<QueryCommandInput, 'TableName'>): Promise<Item[]> {
    const out: Item[] = [];
    let ExclusiveStartKey: Item | undefined;
    do {
      const page = await this.doc.send(new QueryCommand({ ...input, TableName: this.tableName, ExclusiveStartKey }));
      out.push(...(page.Items ?? []));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return out;
  }

  private async scanAll(input: Omit<ScanCommandInput, 'TableName'>): Promise<Item[]> {
    const out: Item[] = [];
    let ExclusiveStartKey: Item | undefined;
    do {
      const page = await this.doc.send(new ScanCommand({ ...input, TableName: this.tableName, ExclusiveStartKey }));
      out.push(...(page.Items ?? []));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return out;
  }
}

/** The item of one refused approval attempt (keys, kind, the refusal; no TTL: it is evidence). */
export function refusalItem(refusal: ApprovalRefusal): Item {
  const r = plain(refusal);
  const key = ledgerKeys.refusal(required(r.releaseId, 'releaseId'), required(r.stage, 'stage'), r.at, required(r.requestId, 'requestId'));
  epochSeconds(r.at, 'at');
  return { ...key, entity: ENTITY.refusal, ...r };
}

function tokenFromItem(item: Item): TokenRecord {
  return plain({
    kind: item.kind as TokenRecord['kind'],
    releaseId: item.releaseId as string,
    service: item.service as string,
    stage: item.stage as string,
    token: item.token as string,
    alarms: (item.alarms as string[] | undefined) ?? [],
    createdAt: item.createdAt as string,
    expiresAt: item.tokenExpiresAt as string,
    attrs: item.attrs as Record<string, unknown> | undefined,
    phase: item.phase as string | undefined,
  });
}

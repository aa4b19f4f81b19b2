/**
 * Who may touch which items of the ledger table, in one place (docs/decisions/025-ledger-trust-boundary.md).
 *
 * The ledger is the trust boundary: a release's outcome is decided by its events, the stage pointers,
 * the task tokens, the start records and the freeze. Only the handler that owns an item kind may write
 * it, and no person writes the table at all (operators go through the operator API, lambdas/operator-api.ts).
 *
 * Three tables, read together:
 * - `LEDGER_ITEM_KINDS`: the item kinds, by the partition key prefix the adapter gives them
 *   (lambdas/adapters/ledger-table.ts `ledgerKeys`; the freeze item is `FREEZE`/`GLOBAL`);
 * - `LEDGER_METHODS`: what each Ledger method (lambdas/adapters/dynamo-ledger.ts) sends to DynamoDB, as
 *   (action, item kind) pairs, and whether it reads the `byService` index;
 * - `LEDGER_ACCESS`: the Ledger methods each handler calls, read from its code.
 *
 * `ledgerPolicy(handler, arns)` turns them into the IAM statements the handler's role gets: per DynamoDB
 * action the item kinds it may touch, held by `dynamodb:LeadingKeys` (ForAllValues:StringLike on the
 * partition key, with a Null check so a request without a partition key matches nothing), and a read of
 * the index without a key condition. The stack (lib/ReleaseControlPlane.ts) attaches exactly these
 * statements; test/infra/ledger-access.test.ts checks the template against them and who may write what;
 * test/workflow/ledger-access.test.ts runs scenarios through the real handlers, records every DynamoDB
 * request each one sends, and checks each against these statements with IAM's own matching rules.
 */
import type { Ledger } from '../lambdas/ports';
import type { HandlerName } from './ReleaseControlPlane';

/** The condition key that holds a request's partition key value(s). */
export const LEADING_KEYS = 'dynamodb:LeadingKeys';

/** Every kind of item in the ledger table, by the partition key the adapter writes it under. */
export const LEDGER_ITEM_KINDS = {
  release: { partition: 'RELEASE#*', holds: "a release's hash-chained events (EVENT#…) and its summary (META)" },
  stage: {
    partition: 'STAGE#*',
    holds: "a stage's pointer (running digest, last known good, promoted history), its lease (owner, fencing token, driver run under way) and the releases waiting for the lease",
  },
  token: { partition: 'TOKEN#*', holds: 'the task token of a bake, an approval or a scan wait (expires)' },
  alarmIndex: { partition: 'ALARM#*', holds: 'bake tokens indexed by alarm name, scan-wait tokens by image (expires)' },
  skip: { partition: 'SKIP#*', holds: "a skipped push's idempotency record" },
  skipListing: { partition: 'SKIPS', holds: 'the listing of skipped pushes' },
  initiator: { partition: 'INITIATOR#*', holds: 'the start record of an operator execution: who started it (expires)' },
  pusher: { partition: 'PUSHER#*', holds: 'the pusher intake put in the input of a release it started (expires; never read as the initiator)' },
  refusal: { partition: 'REFUSAL#*', holds: "a release's refused approval attempts and their count per stage (evidence, not in the chain)" },
  throttle: { partition: 'THROTTLE#*', holds: "a refused caller's (or role's) refusals in one minute (expires)" },
  freeze: { partition: 'FREEZE', holds: 'the global freeze and the history of its changes' },
  insight: { partition: 'INSIGHT', holds: "the insight checks' hash chain" },
  signature: { partition: 'SIGNATURE#*', holds: "Gantry's KMS signature of a release's end or of an insight chain head, written once (decision 048)" },
} as const;
export type LedgerItemKind = keyof typeof LEDGER_ITEM_KINDS;

/** The DynamoDB data actions the adapter uses (no batch, PartiQL or stream action; its one transaction, an append, is checked by IAM as its PutItem actions). */
export const LEDGER_ACTIONS = ['GetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem'] as const;
export type LedgerAction = (typeof LEDGER_ACTIONS)[number];
export const WRITE_ACTIONS: readonly LedgerAction[] = ['PutItem', 'UpdateItem', 'DeleteItem'];

export interface LedgerMethodAccess {
  /** What the method sends to the table: (action, item kind). */
  readonly table: ReadonlyArray<readonly [LedgerAction, LedgerItemKind]>;
  /** Whether it queries the `byService` index (release summaries by service, leases by owner). */
  readonly index?: true;
}

/**
 * What each Ledger method sends (lambdas/adapters/dynamo-ledger.ts). The token methods have one entry per
 * token kind: an approval token has no alarms, so its methods never touch the alarm index.
 * `listReleases` is the by-service Query; without a service it scans the index, which no handler may.
 */
export const LEDGER_METHODS = {
  // A TransactWriteItems of PutItem actions (IAM checks each action as a PutItem): events and summary.
  append: {
    table: [
      ['Query', 'release'],
      ['PutItem', 'release'],
    ],
  },
  appendAll: {
    table: [
      ['Query', 'release'],
      ['PutItem', 'release'],
    ],
  },
  events: { table: [['Query', 'release']] },
  getRelease: {
    table: [
      ['GetItem', 'release'],
      ['Query', 'refusal'],
    ],
  },
  listReleases: { table: [], index: true },
  getPointer: { table: [['GetItem', 'stage']] },
  setRunning: { table: [['UpdateItem', 'stage']] },
  markGood: {
    table: [
      ['GetItem', 'stage'],
      ['UpdateItem', 'stage'],
    ],
  },
  acquireLease: {
    table: [
      ['GetItem', 'stage'],
      ['UpdateItem', 'stage'],
    ],
  },
  getLease: { table: [['GetItem', 'stage']] },
  takeOverLease: { table: [['UpdateItem', 'stage']] },
  beginDeploy: { table: [['UpdateItem', 'stage']] },
  endDeploy: { table: [['UpdateItem', 'stage']] },
  releaseLease: { table: [['UpdateItem', 'stage']] },
  addLeaseWaiter: { table: [['PutItem', 'stage']] },
  takeLeaseWaiters: {
    table: [
      ['Query', 'stage'],
      ['DeleteItem', 'stage'],
    ],
  },
  leasesOf: { table: [], index: true },
  'putToken(BAKE)': {
    table: [
      ['PutItem', 'token'],
      ['PutItem', 'alarmIndex'],
      ['DeleteItem', 'alarmIndex'],
    ],
  },
  'putToken(APPROVAL)': { table: [['PutItem', 'token']] },
  'takeToken(BAKE)': {
    table: [
      ['DeleteItem', 'token'],
      ['DeleteItem', 'alarmIndex'],
    ],
  },
  'takeToken(APPROVAL)': { table: [['DeleteItem', 'token']] },
  'putToken(SCAN)': {
    table: [
      ['PutItem', 'token'],
      ['PutItem', 'alarmIndex'],
      ['DeleteItem', 'alarmIndex'],
    ],
  },
  'takeToken(SCAN)': {
    table: [
      ['DeleteItem', 'token'],
      ['DeleteItem', 'alarmIndex'],
    ],
  },
  tokensForImageScan: {
    table: [
      ['Query', 'alarmIndex'],
      ['GetItem', 'token'],
    ],
  },
  tokensForAlarm: {
    table: [
      ['Query', 'alarmIndex'],
      ['GetItem', 'token'],
    ],
  },
  recordSkip: {
    table: [
      ['PutItem', 'skip'],
      ['GetItem', 'skip'],
      ['PutItem', 'skipListing'],
    ],
  },
  listSkips: { table: [['Query', 'skipListing']] },
  getFreeze: { table: [['GetItem', 'freeze']] },
  setFreeze: { table: [['UpdateItem', 'freeze']] },
  putInitiator: { table: [['PutItem', 'initiator']] },
  getInitiator: { table: [['GetItem', 'initiator']] },
  putInsight: {
    table: [
      ['Query', 'insight'],
      ['PutItem', 'insight'],
    ],
  },
  recordRefusal: {
    table: [
      ['PutItem', 'refusal'],
      ['UpdateItem', 'refusal'],
    ],
  },
  refusalStats: { table: [['Query', 'refusal']] },
  listRefusals: { table: [['Query', 'refusal']] },
  takeThrottleSlot: { table: [['UpdateItem', 'throttle']] },
  throttleUsed: { table: [['GetItem', 'throttle']] },
  putStartPusher: { table: [['PutItem', 'pusher']] },
  getStartPusher: { table: [['GetItem', 'pusher']] },
  listInsights: { table: [['Query', 'insight']] },
  putSignature: { table: [['PutItem', 'signature']] },
  getSignature: { table: [['GetItem', 'signature']] },
} as const satisfies Record<Exclude<keyof Ledger, 'putToken' | 'takeToken'> | `${'putToken' | 'takeToken'}(${'BAKE' | 'APPROVAL' | 'SCAN'})`, LedgerMethodAccess>;
export type LedgerMethod = keyof typeof LEDGER_METHODS;

export interface HandlerLedgerAccess {
  /** The Ledger methods the handler's code calls (directly or through lambdas/shared/). */
  readonly calls: readonly LedgerMethod[];
  /** Why it needs them, in one line (docs/security.md shows it). */
  readonly why: string;
}

/** The ledger methods each handler calls. Adding a `deps.ledger.x()` call to a handler means adding `x` here. */
export const LEDGER_ACCESS = {
  'prepare-release': {
    calls: ['getInitiator', 'append', 'getPointer', 'listReleases'],
    why: "opens the record (release.started) with the initiator from the start record; a promotion's gate promotion.previous-stage reads the previous stage's pointer and the service's releases (decision 054)",
  },
  'stage-lease': {
    calls: [
      'getRelease',
      'events',
      'append',
      'getPointer',
      'listReleases',
      'getLease',
      'acquireLease',
      'takeOverLease',
      'releaseLease',
      'addLeaseWaiter',
      'takeLeaseWaiters',
      'takeToken(BAKE)',
      'putToken(BAKE)',
      'takeToken(APPROVAL)',
    ],
    why: "takes, waits for and frees the stage's lease; an operator rollback preempts the holder (fails its bake or approval)",
  },
  'deploy-check': {
    calls: ['events', 'append', 'getLease', 'getPointer', 'listReleases', 'getFreeze', 'beginDeploy'],
    why: 'the point of action: checks again and claims the deploy on the lease',
  },
  'window-gate': { calls: ['events', 'getFreeze', 'append'], why: 'records gate window (reads the freeze)' },
  'image-gates': {
    calls: ['events', 'append', 'putToken(SCAN)', 'takeToken(SCAN)'],
    why: "records the image gates; stores a scan wait's token against the image (and completes it when the scan already ended)",
  },
  'alarm-gate': { calls: ['events', 'getLease', 'append'], why: 'records polling bakes and recovery checks' },
  'record-step': {
    calls: [
      'events',
      'append',
      'getPointer',
      'setRunning',
      'markGood',
      'getLease',
      'beginDeploy',
      'endDeploy',
      'releaseLease',
      'takeLeaseWaiters',
      'leasesOf',
      'getFreeze',
      'takeToken(BAKE)',
      'takeToken(APPROVAL)',
    ],
    why: 'the bookkeeping steps: stage pointer (running, last known good), deploy claims, lease release, approval timeouts',
  },
  'bake-register': { calls: ['events', 'append', 'getLease', 'putToken(BAKE)', 'takeToken(BAKE)'], why: 'stores the bake token against the alarms; may end the bake at once' },
  'bake-timer': { calls: ['events', 'append', 'takeToken(BAKE)', 'putToken(BAKE)'], why: 'ends a bake: claims its token, records the outcome' },
  'alarm-watch': {
    calls: ['tokensForAlarm', 'events', 'append', 'takeToken(BAKE)', 'putToken(BAKE)'],
    why: 'fails the bakes watching an alarm: claims their tokens, records the outcome',
  },
  'scan-watch': {
    calls: ['tokensForImageScan', 'takeToken(SCAN)', 'putToken(SCAN)'],
    why: 'wakes the releases waiting for an image scan that ended: claims their tokens exactly once',
  },
  intake: {
    calls: ['recordSkip', 'putStartPusher', 'getStartPusher', 'events', 'append'],
    why: "records skipped pushes and the pusher it put in the execution input (release.attributed when CloudTrail's record comes late, and for a console start from CloudTrail's StartExecution record)",
  },
  reconciler: {
    calls: ['leasesOf', 'releaseLease', 'takeLeaseWaiters', 'events', 'append', 'takeToken(BAKE)', 'takeToken(APPROVAL)'],
    why: 'closes the record of an execution that died: frees its leases (waking the releases waiting for them), cancels its tokens',
  },
  'rollback-prepare': {
    calls: ['getPointer', 'getInitiator', 'events', 'append'],
    why: "opens an operator rollback record with its target and initiator (a drill's leg: the initiator its drill's record names, read-only)",
  },
  'approval-request': { calls: ['events', 'getLease', 'putToken(APPROVAL)', 'takeToken(APPROVAL)', 'append'], why: 'stores the approval token and records the wait' },
  'approval-decide': {
    calls: ['events', 'append', 'takeToken(APPROVAL)', 'putToken(APPROVAL)', 'recordRefusal', 'takeThrottleSlot', 'throttleUsed'],
    why: 'records refusals (their own items, throttled per caller) and the decision; claims the approval token exactly once',
  },
  'insight-plan': { calls: [], why: 'plans the check from the config alone (no ledger access)' },
  'insight-record': {
    calls: ['listReleases', 'getPointer', 'listInsights', 'putInsight', 'getSignature', 'putSignature'],
    why: "reads releases, pointers and the last check, appends one check to the insight chain and signs the chain's head once a day",
  },
  'canary-analysis': { calls: ['events', 'append'], why: "reads the canary step's bake from the release's record and records the analysis gate" },
  'rollout-check': { calls: ['events'], why: "reads the release's record (read-only)" },
  'operator-api': {
    calls: ['putInitiator', 'setFreeze', 'events', 'append'],
    why: "writes the start record naming the SigV4 caller, the freeze with its principal, and an abort's abort.requested on the release's chain (decision 053)",
  },
  'anchor-sign': {
    calls: ['events', 'getSignature', 'putSignature'],
    why: "reads a finished release's chain and signs its end with the anchor key, writing the signature once (decision 048)",
  },
  'drill-step': {
    calls: ['getPointer', 'getLease', 'getInitiator', 'events', 'append'],
    why: "opens a drill record (reads the stage's pointer, its lease and the start record the operator API wrote), reads the legs' records and records the figures",
  },
} as const satisfies Record<HandlerName, HandlerLedgerAccess>;

export class LedgerAccessError extends Error {
  override readonly name = 'LedgerAccessError';
}

/** What a set of ledger methods may do: for each action the item kinds, and whether the index is read. */
export interface LedgerGrants {
  readonly table: Readonly<Record<LedgerAction, readonly LedgerItemKind[]>>;
  readonly index: boolean;
}

const KIND_ORDER = Object.keys(LEDGER_ITEM_KINDS) as LedgerItemKind[];

export function grantsOf(calls: readonly LedgerMethod[]): LedgerGrants {
  const table = Object.fromEntries(LEDGER_ACTIONS.map((a) => [a, new Set<LedgerItemKind>()])) as Record<LedgerAction, Set<LedgerItemKind>>;
  let index = false;
  for (const call of calls) {
    const m: LedgerMethodAccess | undefined = LEDGER_METHODS[call];
    if (!m) throw new LedgerAccessError(`unknown ledger method ${JSON.stringify(call)} (known: ${Object.keys(LEDGER_METHODS).join(', ')})`);
    for (const [action, kind] of m.table) table[action].add(kind);
    if (m.index) index = true;
  }
  const sorted = (s: Set<LedgerItemKind>) => KIND_ORDER.filter((k) => s.has(k));
  return { table: Object.fromEntries(LEDGER_ACTIONS.map((a) => [a, sorted(table[a])])) as Record<LedgerAction, LedgerItemKind[]>, index };
}

/** The grants of one handler. @throws LedgerAccessError for a handler with no entry */
export function handlerGrants(handler: string): LedgerGrants {
  const entry = (LEDGER_ACCESS as Record<string, HandlerLedgerAccess | undefined>)[handler];
  if (!entry || !Object.hasOwn(LEDGER_ACCESS, handler))
    throw new LedgerAccessError(`handler ${handler} has no entry in LEDGER_ACCESS (lib/ledger-access.ts): list the ledger methods its code calls`);
  return grantsOf(entry.calls);
}

/** Whether the grants let the handler write (put, update or delete) anything. */
export function writes(grants: LedgerGrants): boolean {
  return WRITE_ACTIONS.some((a) => grants.table[a].length > 0);
}

/** An IAM policy statement as JSON (what CloudFormation holds). */
export interface PolicyStatementJson {
  readonly Sid: string;
  readonly Effect: 'Allow';
  readonly Action: string[];
  readonly Resource: string;
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

/**
 * The ledger statements of one handler's role: one statement per set of actions that share their item
 * kinds (e.g. GetItem and Query on RELEASE# and STAGE#), each held to those partitions by
 * `dynamodb:LeadingKeys`; and `dynamodb:Query` on the `byService` index when the handler reads it.
 */
export function ledgerPolicy(handler: string, arns: { readonly table: string; readonly index: string }): PolicyStatementJson[] {
  const grants = handlerGrants(handler);
  const groups = new Map<string, { actions: LedgerAction[]; kinds: readonly LedgerItemKind[] }>();
  for (const action of LEDGER_ACTIONS) {
    const kinds = grants.table[action];
    if (kinds.length === 0) continue;
    const key = kinds.join(',');
    const g = groups.get(key);
    if (g) g.actions.push(action);
    else groups.set(key, { actions: [action], kinds });
  }
  const statements: PolicyStatementJson[] = [...groups.values()].map(({ actions, kinds }) => ({
    Sid: `Ledger${actions.join('')}`,
    Effect: 'Allow',
    Action: actions.map((a) => `dynamodb:${a}`),
    Resource: arns.table,
    Condition: {
      'ForAllValues:StringLike': { [LEADING_KEYS]: kinds.map((k) => LEDGER_ITEM_KINDS[k].partition) },
      // ForAllValues is true when the key is absent: require it, so only keyed requests can match.
      Null: { [LEADING_KEYS]: 'false' },
    },
  }));
  if (grants.index) statements.push({ Sid: 'LedgerIndexQuery', Effect: 'Allow', Action: ['dynamodb:Query'], Resource: arns.index });
  return statements;
}

/** The item kind a partition key value belongs to (undefined for a key the adapter never writes). */
export function itemKindOf(partitionKey: string): LedgerItemKind | undefined {
  return KIND_ORDER.find((k) => {
    const p: string = LEDGER_ITEM_KINDS[k].partition;
    return p.endsWith('*') ? partitionKey.startsWith(p.slice(0, -1)) : partitionKey === p;
  });
}

/**
 * The table of owners as docs/security.md shows it (test/infra/ledger-access.test.ts checks the page has
 * it verbatim): per handler, the partitions it reads, puts, updates and deletes, whether it queries the
 * index, and why.
 */
export function ledgerAccessMarkdown(): string {
  const kinds = (ks: readonly LedgerItemKind[]) => (ks.length === 0 ? '—' : ks.map((k) => `\`${LEDGER_ITEM_KINDS[k].partition}\``).join(' '));
  const rows = Object.entries(LEDGER_ACCESS).map(([handler, entry]) => {
    const g = grantsOf(entry.calls);
    const reads = KIND_ORDER.filter((k) => g.table.GetItem.includes(k) || g.table.Query.includes(k));
    return `| ${handler} | ${kinds(reads)}${g.index ? ' + index' : ''} | ${kinds(g.table.PutItem)} | ${kinds(g.table.UpdateItem)} | ${kinds(g.table.DeleteItem)} | ${entry.why} |`;
  });
  return ['| handler | reads (GetItem, Query) | puts | updates | deletes | why |', '|---|---|---|---|---|---|', ...rows].join('\n');
}

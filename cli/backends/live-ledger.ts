/**
 * The live ledger as an export: release summaries from the table's byService index (`listReleases`),
 * each release's events read consistently, and the summary's `version`/`lastHash` as the release's
 * anchor. The summary is a separate item the ledger writes after each append, so a table whose events
 * were deleted from the end, or edited in place, no longer matches its own summaries.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoLedger } from '../../lambdas/adapters/dynamo-ledger';
import { type AnchorSignature, formatExport, type ParsedExport, parseExport } from '../../lambdas/domain/audit';
import type { LedgerEvent, ReleaseSummary } from '../../lambdas/domain/ledger';
import type { Ledger } from '../../lambdas/ports';
import type { ReleaseFilter } from '../release-filter';

export interface LiveTableOptions {
  readonly tableName: string;
  readonly region: string;
  /** A local DynamoDB (e.g. DynamoDB Local). @default the regional endpoint */
  readonly endpoint?: string;
  /** The AWS profile whose credentials read the table (`--profile`). @default the standard credential chain */
  readonly profile?: string;
}

/** The DynamoDB client configuration of the live ledger: region, endpoint and profile as the options give them. */
export function liveClientConfig(options: LiveTableOptions): { region: string; endpoint?: string; profile?: string } {
  return { region: options.region, ...(options.endpoint ? { endpoint: options.endpoint } : {}), ...(options.profile ? { profile: options.profile } : {}) };
}

/** How many times a release is re-read when it grew between reading its events and its summary. */
const MAX_READS = 3;

export function openLiveLedger(options: LiveTableOptions): { ledger: DynamoLedger; close: () => void } {
  const client = new DynamoDBClient(liveClientConfig(options));
  const doc = DynamoDBDocumentClient.from(client);
  return { ledger: new DynamoLedger({ client: doc, tableName: options.tableName }), close: () => doc.destroy() };
}

/**
 * The export text of the releases that match the filter, anchors from the summaries. A release still
 * running may append between the two reads: it is read again (up to 3 times) until its summary and
 * its events agree or the summary is the older of the two.
 */
export async function exportFromLedger(ledger: Ledger, filter: ReleaseFilter = {}): Promise<string> {
  let summaries: ReleaseSummary[];
  if (filter.releaseId !== undefined) {
    const one = await ledger.getRelease(filter.releaseId);
    summaries = one ? [one] : [];
  } else {
    summaries = await ledger.listReleases({
      ...(filter.service !== undefined ? { service: filter.service } : {}),
      ...(filter.since !== undefined ? { from: filter.since } : {}),
      ...(filter.until !== undefined ? { to: filter.until } : {}),
    });
  }
  if (filter.change !== undefined) summaries = summaries.filter((s) => s.change?.id === filter.change);
  const events: LedgerEvent[] = [];
  const anchors = new Map<string, { version: number; lastHash: string }>();
  const signatures = new Map<string, AnchorSignature>();
  for (const listed of summaries) {
    let chain: LedgerEvent[] = [];
    let summary: ReleaseSummary | undefined = listed;
    for (let i = 0; i < MAX_READS; i++) {
      // Every event from the table, never a cached head: an event rewritten in the table must show.
      chain = await ledger.events(listed.releaseId, { whole: true });
      summary = await ledger.getRelease(listed.releaseId);
      if (!summary || summary.version <= (chain.at(-1)?.seq ?? 0)) break;
    }
    events.push(...chain);
    if (summary) anchors.set(listed.releaseId, { version: summary.version, lastHash: summary.lastHash });
    // Gantry's signature of the release's end (decision 048), when it signed it: carried on the anchor line.
    if (chain.some((e) => e.type === 'release.finished')) {
      const sig = await ledger.getSignature(listed.releaseId);
      if (sig?.status === 'SIGNED' && sig.signature) signatures.set(listed.releaseId, sig.signature);
    }
  }
  return formatExport(events, { anchors, signatures });
}

export async function readLiveExport(options: LiveTableOptions, filter: ReleaseFilter = {}): Promise<ParsedExport> {
  const { ledger, close } = openLiveLedger(options);
  try {
    return parseExport(await exportFromLedger(ledger, filter));
  } finally {
    close();
  }
}

/** The ledger's anchor (its release summary's version and last hash) of each release, undefined when it has none. */
export async function anchorsFromLedger(ledger: Ledger, releaseIds: readonly string[]): Promise<Map<string, { version: number; lastHash: string } | undefined>> {
  const out = new Map<string, { version: number; lastHash: string } | undefined>();
  for (const id of releaseIds) {
    const summary = await ledger.getRelease(id);
    out.set(id, summary ? { version: summary.version, lastHash: summary.lastHash } : undefined);
  }
  return out;
}

export async function liveAnchors(options: LiveTableOptions, releaseIds: readonly string[]): Promise<Map<string, { version: number; lastHash: string } | undefined>> {
  const { ledger, close } = openLiveLedger(options);
  try {
    return await anchorsFromLedger(ledger, releaseIds);
  } finally {
    close();
  }
}

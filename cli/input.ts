/**
 * What the audit and metrics commands read: an export file (JSON Lines, lambdas/domain/audit/export.ts) or the
 * live ledger table, and the `--since`/`--until` bounds. Every problem with the input is a CliInputError
 * (exit 2) whose message names the file and, for a malformed line, the line number.
 */
import { readFileSync } from 'node:fs';
import { ExportFormatError, type ParsedExport, parseExport } from '../lambdas/domain/audit';
import { parseIsoDuration } from '../lambdas/domain/durations';
import { ValidationError } from '../lambdas/domain/validation';
import { CliInputError } from './errors';
import type { ReleaseFilter } from './release-filter';
// The live ledger (the DynamoDB client) is loaded only when a command reads it (issue 17).
import type { LiveTableOptions } from './backends/live-ledger';

export interface SourceOptions {
  readonly file?: string;
  readonly table?: string;
  readonly region?: string;
  readonly endpoint?: string;
  /** The AWS profile for --table (issue 20: --profile on every command that reads AWS). */
  readonly profile?: string;
}

export type { ReleaseFilter } from './release-filter';

/** Read and split an export file. */
export function readExportFile(file: string): ParsedExport {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliInputError(`${file}: expected a readable export file (JSON Lines): ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  try {
    return parseExport(text);
  } catch (e) {
    if (e instanceof ExportFormatError) throw new CliInputError(`${file}: ${e.message}`, { cause: e });
    throw e;
  }
}

/** The export from `--file` or from `--table` (the live ledger), filtered to whole releases. */
export async function readSource(opts: SourceOptions, filter: ReleaseFilter = {}): Promise<{ parsed: ParsedExport; source: string }> {
  if (opts.file && opts.table) throw new CliInputError('give either --file or --table, not both (only `gantry audit verify` takes both: it checks the file against the table)');
  if (opts.file) return { parsed: filterExport(readExportFile(opts.file), filter), source: opts.file };
  const live = liveTableOf(opts);
  if (live) return { parsed: await (await import('./backends/live-ledger')).readLiveExport(live, filter), source: `table ${live.tableName} (${live.region})` };
  throw new CliInputError('give the ledger to read: --file <export.jsonl> or --table <name> --region <region>');
}

/**
 * Whole releases only: a release is in when its release.started is within the bounds and it is of the
 * service. Its anchor goes with it. Events of a release without a release.started line are kept when
 * no filter is given (so a verifier sees them) and dropped otherwise.
 */
export function filterExport(parsed: ParsedExport, filter: ReleaseFilter): ParsedExport {
  const { service, since, until, releaseId, change } = filter;
  if (service === undefined && since === undefined && until === undefined && releaseId === undefined && change === undefined) return parsed;
  // --change: the releases whose change.record gate recorded that id (decision 051).
  const ofChange = new Set<unknown>();
  if (change !== undefined) {
    for (const l of parsed.events) {
      const d = (l.event.data ?? {}) as Record<string, unknown>;
      if (l.event.type === 'gate.evaluated' && d.gate === 'change.record' && (d.evidence as { id?: unknown } | undefined)?.id === change) ofChange.add(l.event.releaseId);
    }
  }
  const keep = new Set<unknown>();
  for (const l of parsed.events) {
    const e = l.event;
    if (e.type !== 'release.started') continue;
    const data = (e.data ?? {}) as Record<string, unknown>;
    const at = typeof e.at === 'string' ? normalizeInstant(e.at) : '';
    if (releaseId !== undefined && e.releaseId !== releaseId) continue;
    if (service !== undefined && data.service !== service) continue;
    if (since !== undefined && at < since) continue;
    if (until !== undefined && at > until) continue;
    if (change !== undefined && !ofChange.has(e.releaseId)) continue;
    keep.add(e.releaseId);
  }
  if (releaseId !== undefined) keep.add(releaseId);
  return {
    events: parsed.events.filter((l) => keep.has(l.event.releaseId)),
    anchors: parsed.anchors.filter((a) => keep.has(a.anchor.releaseId)),
  };
}

function normalizeInstant(s: string): string {
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? s : new Date(ms).toISOString();
}

/**
 * `--since` / `--until`: an ISO date (`2026-11-24`: from its start, or until its end), an ISO instant,
 * or an ISO duration back from now (`P30D`, `PT12H`). Returns a normalized ISO instant.
 */
export function parseTimeBound(value: string | undefined, which: 'since' | 'until', now: Date): string | undefined {
  if (value === undefined) return undefined;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(`${value}T00:00:00Z`))) {
    return which === 'since' ? `${value}T00:00:00.000Z` : `${value}T23:59:59.999Z`;
  }
  if (/^P/.test(value)) {
    try {
      return new Date(now.getTime() - parseIsoDuration(value, `--${which}`, `--${which}`)).toISOString();
    } catch (e) {
      if (e instanceof ValidationError) throw new CliInputError(e.problems.join('; '), { cause: e });
      throw e;
    }
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(Date.parse(value))) return new Date(Date.parse(value)).toISOString();
  throw new CliInputError(
    `--${which}: expected an ISO date (2026-11-24), an ISO instant (2026-11-24T10:00:00Z) or an ISO duration back from now (P30D), got ${JSON.stringify(value)}`,
  );
}

/** `--table/--region/--endpoint` as the live ledger's options; undefined without --table. */
export function liveTableOf(opts: SourceOptions): LiveTableOptions | undefined {
  if (!opts.table) return undefined;
  if (opts.profile !== undefined && !/^[\w.+=,@-]{1,128}$/.test(opts.profile))
    throw new CliInputError(`--profile: expected an AWS profile name (letters, digits and _.+=,@-), got ${JSON.stringify(opts.profile)}`);
  const region = opts.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region) throw new CliInputError('--table needs --region (or AWS_REGION)');
  return { tableName: opts.table, region, ...(opts.endpoint ? { endpoint: opts.endpoint } : {}), ...(opts.profile ? { profile: opts.profile } : {}) };
}

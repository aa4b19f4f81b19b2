/**
 * `gantry audit drift`: what the daily insight check found — stages whose cluster runs another image than
 * the ledger says (drift), and stale services — from the live ledger's insight records (`--table`) or a
 * file (`--file`). The records are hash-chained (lambdas/domain/insight.ts); the chain is checked first.
 *
 * `--file` takes either JSON Lines holding insight records (`{"kind":"insight",…}` lines; every other line,
 * such as a ledger export's events and anchors, is skipped), or the JSON object `gantry simulate --json`
 * prints (its `insight.checks`; not hash-chained, so nothing to verify).
 *
 * Exit codes: 0 read and shown (drift or not: a finding is an answer, not an error); 1 the insight chain
 * failed verification; 2 bad input.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { type DriftFinding, INSIGHT_KIND, type InsightCheckData, type InsightRecord, type StaleFinding, verifyInsightChain } from '../../lambdas/domain/insight';
import { CliInputError } from '../errors';
import { liveTableOf, parseTimeBound, type SourceOptions } from '../input';

type SetCode = (code: number) => void;

/** One check as the command shows it. */
export interface DriftCheckView {
  readonly checkId: string;
  readonly at: string;
  readonly seq?: number;
  readonly stale: StaleFinding[];
  readonly drift: DriftFinding[];
  readonly inSync: number;
}

export interface DriftReport {
  readonly source: string;
  /** `true`/`false`: the insight chain was checked; `null`: the source is not chained (a simulation's output). */
  readonly verified: boolean | null;
  readonly problems: string[];
  /** The checks shown: the latest only, or every one in the window with `--all`. */
  readonly checks: DriftCheckView[];
}

function viewOf(r: { checkId: string; at: string; seq?: number; data: unknown }): DriftCheckView {
  const d = (r.data ?? {}) as Partial<InsightCheckData>;
  const inSync = Array.isArray(d.inSync) ? d.inSync.length : typeof (r.data as { inSync?: unknown })?.inSync === 'number' ? Number((r.data as { inSync: number }).inSync) : 0;
  return { checkId: r.checkId, at: r.at, ...(r.seq !== undefined ? { seq: r.seq } : {}), stale: d.stale ?? [], drift: d.drift ?? [], inSync };
}

/** Read `--file`: JSON Lines of insight records, or a simulation's `--json` output. */
export function readDriftFile(file: string): { records?: InsightRecord[]; checks: DriftCheckView[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliInputError(
      `${file}: expected a readable file (insight records as JSON Lines, or gantry simulate --json output): ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      { cause: e },
    );
  }
  const trimmed = text.trim();
  // A simulation's output: one JSON object (possibly pretty-printed over many lines) with `simulated: true`.
  if (trimmed.startsWith('{')) {
    try {
      const whole = JSON.parse(trimmed) as { simulated?: unknown; insight?: { checks?: unknown } };
      if (whole && typeof whole === 'object' && whole.simulated === true) {
        const checks = Array.isArray(whole.insight?.checks) ? (whole.insight.checks as Array<Record<string, unknown>>) : [];
        return { checks: checks.map((c) => viewOf({ checkId: String(c.checkId ?? ''), at: String(c.at ?? ''), data: c })) };
      }
    } catch {
      // not one object: JSON Lines below
    }
  }
  const records: InsightRecord[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      throw new CliInputError(`${file}: line ${i + 1}: not JSON (${(e as Error).message})`, { cause: e });
    }
    if (!value || typeof value !== 'object' || (value as { kind?: unknown }).kind !== INSIGHT_KIND) return;
    const r = value as Record<string, unknown>;
    const shapeOk =
      typeof r.checkId === 'string' &&
      typeof r.at === 'string' &&
      Number.isInteger(r.seq) &&
      typeof r.prevHash === 'string' &&
      typeof r.hash === 'string' &&
      !!r.data &&
      typeof r.data === 'object';
    if (!shapeOk) throw new CliInputError(`${file}: line ${i + 1}: an insight line without checkId, at, seq, prevHash, hash and data`);
    records.push(value as InsightRecord);
  });
  records.sort((a, b) => a.seq - b.seq);
  return { records, checks: records.map(viewOf) };
}

/** The report: chain check, then the latest check (or every one at or after `since` with `all`). */
export function driftReport(source: string, read: { records?: InsightRecord[]; checks: DriftCheckView[] }, options: { all?: boolean; since?: string } = {}): DriftReport {
  const v = read.records ? verifyInsightChain(read.records) : undefined;
  let checks = read.checks.filter((c) => options.since === undefined || c.at >= options.since);
  if (!options.all) checks = checks.slice(-1);
  return { source, verified: v ? v.ok : null, problems: v?.problems ?? [], checks };
}

export function renderDrift(report: DriftReport): string {
  const lines: string[] = [];
  const integrity =
    report.verified === null
      ? 'not hash-chained (a simulation output)'
      : report.verified
        ? 'insight chain intact'
        : `insight chain FAILED verification (${report.problems.length} problem(s))`;
  lines.push(`INSIGHT  ${report.source}: ${integrity}`);
  for (const p of report.problems) lines.push(`  ✗ ${p}`);
  if (report.checks.length === 0) {
    lines.push('', 'No insight check found (the daily check has not run yet, or none in the window).');
    return lines.join('\n');
  }
  for (const c of report.checks) {
    lines.push('', `Check ${c.checkId} at ${c.at}${c.seq !== undefined ? ` (record #${c.seq})` : ''}: ${c.drift.length} drifted, ${c.inSync} in sync, ${c.stale.length} stale`);
    if (c.drift.length === 0 && c.inSync === 0) lines.push('  drift      no workload read (no stage names a workload, or insight.driftCheck is off)');
    else if (c.drift.length === 0) lines.push('  drift      none: every workload read runs the digest the ledger records');
    for (const d of c.drift) {
      lines.push(`  DRIFT      ${d.service}/${d.stage}  ${d.clusterName} ${d.namespace}/${d.deployment} container ${d.container}  [${d.kind}]`);
      lines.push(`             ${d.reason}`);
      lines.push(`             expected ${d.expected ?? '(nothing recorded)'}`);
      lines.push(`             found    ${d.found ?? '(could not be read)'}`);
    }
    for (const s of c.stale) lines.push(`  STALE      ${s.service} (${s.stage})  ${s.reason}`);
  }
  return lines.join('\n');
}

interface DriftOptions extends SourceOptions {
  /** A local Gantry (`gantry simulate --state`): its simulation's insight checks, its virtual now for `--since`. */
  readonly local?: string;
  readonly json?: boolean;
  readonly all?: boolean;
  readonly since?: string;
}

/** Adds `drift` under the `audit` command. */
export function registerDriftCommand(audit: Command, setCode: SetCode, now: () => Date = () => new Date()): void {
  audit
    .command('drift')
    .description('what the daily insight check found: stages whose cluster runs another image than the ledger records (drift), and stale services')
    .option('--file <file>', 'insight records as JSON Lines, or the output of gantry simulate --json')
    .option('--local <dir>', 'a local Gantry (a simulation directory made by gantry simulate --state): its insight checks')
    .option('--table <name>', 'the live ledger table (DynamoDB) instead of a file')
    .option('--region <region>', 'AWS region of --table (default: AWS_REGION)')
    .option('--profile <profile>', 'AWS profile for --table (default: the standard credential chain)')
    .option('--endpoint <url>', 'DynamoDB endpoint of --table (e.g. DynamoDB Local)')
    .option('--all', 'every check (in the --since window), not only the latest')
    .option('--since <when>', 'checks at or after: an ISO date, instant, or duration back from now (P30D)')
    .option('--json', 'print the report as one JSON object')
    .action(async (opts: DriftOptions) => {
      const given = [opts.file !== undefined && '--file', opts.local !== undefined && '--local', opts.table !== undefined && '--table'].filter(Boolean);
      if (given.length > 1) throw new CliInputError(`give one source of insight records: --file <file>, --local <dir> or --table <name>; got ${given.join(' and ')}`);
      let report: DriftReport;
      if (opts.local !== undefined) {
        // The local Gantry's own clock decides --since (its "now" is virtual), as for every other --local read.
        const { LocalBackend, SIMULATION_FILE } = await import('../backends/local-backend');
        const b = new LocalBackend(opts.local);
        try {
          const since = parseTimeBound(opts.since, 'since', b.now());
          report = driftReport(b.label, readDriftFile(join(opts.local, SIMULATION_FILE)), { all: opts.all, since });
        } finally {
          b.close();
        }
      } else if (opts.file) {
        const since = parseTimeBound(opts.since, 'since', now());
        report = driftReport(opts.file, readDriftFile(opts.file), { all: opts.all, since });
      } else {
        const since = parseTimeBound(opts.since, 'since', now());
        const live = liveTableOf(opts);
        if (!live) throw new CliInputError('give the insight records to read: --file <file>, --local <dir> or --table <name> --region <region>');
        const { openLiveLedger } = await import('../backends/live-ledger');
        const { ledger, close } = openLiveLedger(live);
        try {
          // The whole chain is read so that it can be verified from its first record.
          const records = await ledger.listInsights();
          report = driftReport(`table ${live.tableName} (${live.region})`, { records, checks: records.map(viewOf) }, { all: opts.all, since });
        } finally {
          close();
        }
      }
      process.stdout.write(`${opts.json ? JSON.stringify(report, null, 2) : renderDrift(report)}\n`);
      if (report.verified === false) setCode(1);
    });
}

/**
 * Where `gantry report` and `gantry audit show` read one release: an export file (`--file`), the live
 * ledger table (`--table --region`), or a Gantry through the GantryBackend the operator commands use —
 * a local one (`--local <dir>`) or a deployed one (`--stack`/`--outputs`, `--region`, `--profile`; the
 * default, as for `gantry status`). Either way the answer is the release as an audit export: its events
 * and its anchor, so the commands check the hash chain before they answer.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import type { ParsedExport } from '../lambdas/domain/audit';
import type { ReleaseSummary } from '../lambdas/domain/ledger';
import { CliInputError } from './errors';
import { filterExport, liveTableOf, readExportFile, readSource, type SourceOptions } from './input';
import { openBackend, type OperatorIo } from './commands/common';

export interface ReleaseSourceOptions extends SourceOptions {
  /** A local Gantry directory (`gantry simulate --state`). */
  readonly local?: string;
  readonly stack?: string;
  readonly profile?: string;
  /** `cdk deploy --outputs-file` JSON instead of DescribeStacks. */
  readonly outputs?: string;
}

export interface ReleaseSource {
  /** The release's events and anchor; no event lines when the source does not hold it. */
  readonly parsed: ParsedExport;
  /** Where it was read: a file, `table T (region)`, `local Gantry D (simulation)`, `stack S (region)`. */
  readonly source: string;
  /** The source is a simulation (a local Gantry, `--local`): `gantry report` shows its simulation banner. */
  readonly simulated?: boolean;
  /** Set when the release is not there: the releases the source holds (newest first when known) and the command that lists them. */
  readonly missing?: { readonly others: readonly string[]; readonly listWith: string };
}

/** The options of every place a release can be read from. */
export function releaseSourceOptions(cmd: Command): Command {
  return cmd
    .option('--file <export>', 'an export file (JSON Lines, from `gantry audit export` or `gantry simulate --export`)')
    .option('--local <dir>', 'a local Gantry (a simulation directory made by gantry simulate --state)')
    .option('--stack <name>', 'the Gantry CloudFormation stack (the default source; default name: GANTRY_STACK, else Gantry)')
    .option('--region <region>', "AWS region of the stack or --table (default: AWS_REGION or your profile's)")
    .option('--profile <profile>', 'AWS profile for the stack (default: the standard credential chain)')
    .option('--outputs <file>', 'read the stack outputs from `cdk deploy --outputs-file` JSON instead of CloudFormation')
    .option('--table <name>', 'the live ledger table (DynamoDB) by name instead of a stack')
    .option('--endpoint <url>', 'DynamoDB endpoint of --table (e.g. DynamoDB Local)');
}

/** The error line for a release the source does not hold. */
export function notFoundMessage(releaseId: string, r: ReleaseSource): string {
  const others = r.missing?.others ?? [];
  const has = others.length ? ` (it has: ${others.slice(0, 10).join(', ')}${others.length > 10 ? ', …' : ''})` : ' (it holds no release)';
  return `release ${releaseId} is not in ${r.source}${has}${r.missing ? `; list releases with \`${r.missing.listWith}\`` : ''}`;
}

const newestFirst = (list: readonly ReleaseSummary[]) =>
  [...list].sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.releaseId.localeCompare(a.releaseId)).map((r) => r.releaseId);

/** Read one release from the source the options name. */
export async function readRelease(releaseId: string, opts: ReleaseSourceOptions, io: Pick<OperatorIo, 'openBackend' | 'err'>): Promise<ReleaseSource> {
  const gantry = (['local', 'stack', 'outputs', 'profile'] as const).filter((k) => opts[k] !== undefined);
  const direct = (['file', 'table'] as const).filter((k) => opts[k] !== undefined);
  if (direct.length && gantry.length) {
    throw new CliInputError(
      `give one place to read the release from: --file, --table, --local <dir> or a stack (--stack/--outputs/--profile); got ${[...direct, ...gantry].map((k) => `--${k}`).join(' and ')}`,
    );
  }
  if (opts.file && !opts.table) {
    const whole = readExportFile(opts.file);
    const parsed = filterExport(whole, { releaseId });
    // A local Gantry's own ledger (`--file <dir>/ledger.jsonl`, beside its state file, local-backend.ts STATE_FILE) is a
    // simulation's, even for a release whose anchor is not signed yet (it has not finished).
    if (parsed.events.length) return { parsed, source: opts.file, simulated: existsSync(join(dirname(opts.file), 'gantry-local.json')) };
    const others = [...new Set(whole.events.map((l) => String(l.event.releaseId)))];
    return { parsed, source: opts.file, missing: { others, listWith: `gantry audit verify --file ${opts.file}` } };
  }
  if (direct.length) {
    const { parsed, source } = await readSource(opts, { releaseId });
    if (parsed.events.length) return { parsed, source };
    const live = liveTableOf(opts);
    let others: string[] = [];
    if (live) {
      const { openLiveLedger } = await import('./backends/live-ledger');
      const { ledger, close } = openLiveLedger(live);
      try {
        others = newestFirst(await ledger.listReleases());
      } catch {
        // only a hint: the release was not found either way
      } finally {
        close();
      }
    }
    return { parsed, source, missing: { others, listWith: `gantry audit verify --table ${opts.table} --region ${live?.region ?? '…'}` } };
  }
  const b = await openBackend(opts, io);
  try {
    const parsed = await b.exportRelease(releaseId);
    if (parsed.events.length) return { parsed, source: b.label, simulated: b.kind === 'local' };
    const others = newestFirst(await b.listReleases());
    const where = opts.local !== undefined ? ` --local ${opts.local}` : `${opts.stack ? ` --stack ${opts.stack}` : ''}${opts.outputs ? ` --outputs ${opts.outputs}` : ''}`;
    return { parsed, source: b.label, missing: { others, listWith: `gantry releases${where}` } };
  } finally {
    b.close();
  }
}

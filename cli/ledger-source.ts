/**
 * Where `gantry metrics`, `gantry audit verify` and `gantry audit export` read the ledger (issue 20: `--local` on
 * every read command, `--profile`/`--region` on every command that reads AWS): an export file (`--file`), the live
 * ledger table (`--table`, with `--region`, `--profile`, `--endpoint`), a local Gantry (`--local <dir>`: its ledger)
 * or a deployed Gantry (`--stack`/`--outputs`, `--region`, `--profile`; the default, as for `gantry status`), read
 * through the GantryBackend the operator commands use. Exactly one source; two are refused naming both. The answer is
 * always an audit export of whole releases (events and anchors), so the commands check the hash chains first.
 */
import type { Command } from 'commander';
import type { ParsedExport } from '../lambdas/domain/audit';
import { CliInputError } from './errors';
import { filterExport, type ReleaseFilter, readSource, type SourceOptions } from './input';
import { openBackend, type OperatorIo } from './commands/common';

export interface LedgerSourceOptions extends SourceOptions {
  /** A local Gantry directory (`gantry simulate --state`). */
  readonly local?: string;
  readonly stack?: string;
  /** `cdk deploy --outputs-file` JSON instead of DescribeStacks. */
  readonly outputs?: string;
}

/** The options of every place the ledger can be read from (`--file` first: the one these commands always took). */
export function ledgerSourceOptions(cmd: Command): Command {
  return cmd
    .option('--file <export>', 'an export file (JSON Lines, from `gantry audit export` or `gantry simulate --export`)')
    .option('--local <dir>', 'a local Gantry (a simulation directory made by gantry simulate --state): its ledger')
    .option('--stack <name>', 'the Gantry CloudFormation stack: its live ledger (the default source; default name: GANTRY_STACK, else Gantry)')
    .option('--outputs <file>', 'read the stack outputs from `cdk deploy --outputs-file` JSON instead of CloudFormation')
    .option('--table <name>', 'the live ledger table (DynamoDB) by name instead of a stack')
    .option('--region <region>', "AWS region of the stack or --table (default: AWS_REGION or your profile's)")
    .option('--profile <profile>', 'AWS profile for the stack or --table (default: the standard credential chain)')
    .option('--endpoint <url>', 'DynamoDB endpoint of --table (e.g. DynamoDB Local)');
}

/** The sources the options name (at most one may be given); `stack` also when only --outputs is. */
export function sourcesOf(opts: LedgerSourceOptions): string[] {
  return [
    opts.file !== undefined ? '--file' : '',
    opts.table !== undefined ? '--table' : '',
    opts.local !== undefined ? '--local' : '',
    opts.stack !== undefined ? '--stack' : '',
    opts.outputs !== undefined ? '--outputs' : '',
  ].filter(Boolean);
}

/** Refuse two sources (--stack with --outputs is one: the stack and where its outputs come from). */
export function oneSource(opts: LedgerSourceOptions, allow: ReadonlyArray<readonly string[]> = []): void {
  const given = sourcesOf(opts);
  const distinct = given.filter((s) => s !== '--outputs' || !given.includes('--stack'));
  if (distinct.length <= 1 || allow.some((pair) => pair.length === distinct.length && pair.every((p) => distinct.includes(p)))) return;
  throw new CliInputError(`give one ledger to read: --file <export>, --table <name>, --local <dir> or a stack (--stack/--outputs, the default); got ${given.join(' and ')}`);
}

/** The ledger the options name, as an export of the whole releases that match the filter. */
export async function readLedger(
  opts: LedgerSourceOptions & { profile?: string },
  filter: ReleaseFilter,
  io: Pick<OperatorIo, 'openBackend' | 'err'>,
): Promise<{ parsed: ParsedExport; source: string; simulated?: boolean }> {
  oneSource(opts);
  if (opts.file !== undefined || opts.table !== undefined) return readSource(opts, filter);
  if (opts.endpoint !== undefined) throw new CliInputError('--endpoint is for --table only');
  const b = await openBackend(opts, io);
  try {
    const releases = await b.listReleases({
      ...(filter.service !== undefined ? { service: filter.service } : {}),
      ...(filter.since !== undefined ? { from: filter.since } : {}),
      ...(filter.until !== undefined ? { to: filter.until } : {}),
    });
    const events: ParsedExport['events'][number][] = [];
    const anchors: ParsedExport['anchors'][number][] = [];
    for (const r of releases) {
      const one = await b.exportRelease(r.releaseId);
      events.push(...one.events);
      anchors.push(...one.anchors);
    }
    // The same whole-release bounds as a file's (and --change), whatever the backend's own query took.
    return { parsed: filterExport({ events, anchors }, filter), source: b.label, simulated: b.kind === 'local' };
  } finally {
    b.close();
  }
}

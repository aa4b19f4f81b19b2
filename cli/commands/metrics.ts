/**
 * `gantry metrics`: DORA figures per service and stage (lambdas/domain/metrics.ts) from an export file (`--file`), a
 * local Gantry's ledger (`--local <dir>`), the live ledger of a stack (`--stack`/`--outputs`, `--region`,
 * `--profile`: the default) or a table (`--table`): cli/ledger-source.ts.
 */
import type { Command } from 'commander';
import { exportEvents } from '../../lambdas/domain/audit';
import { doraMetrics } from '../../lambdas/domain/metrics';
import { type CommonOptions, checkIntegrity, err, filterOf, out, type SetCode, sourceOptions, windowOptions } from './audit';
import type { OperatorIo } from './common';
import { readLedger } from '../ledger-source';
import { renderDora } from '../render/render';
import { fitText, outputWidth } from '../render/text';

export function registerMetricsCommand(
  program: Command,
  setCode: SetCode,
  now: () => Date = () => new Date(),
  io: Pick<OperatorIo, 'openBackend' | 'err'> & { out?: (s: string) => void } = { err },
): void {
  windowOptions(
    sourceOptions(
      program
        .command('metrics')
        .description('DORA metrics per service and stage: deployment frequency, lead time for changes, change failure rate, failed deployment recovery time')
        .option('--json', 'print the report as one JSON object'),
    ),
  ).action(async (opts: CommonOptions) => {
    const filter = filterOf(opts, now());
    const { parsed, source } = await readLedger(opts, filter, io);
    checkIntegrity(parsed, source, setCode);
    const report = doraMetrics(exportEvents(parsed), filter);
    const print = io.out ?? out;
    const width = outputWidth({ isTTY: process.stdout.isTTY === true, ...(process.stdout.columns ? { columns: process.stdout.columns } : {}), env: process.env });
    if (opts.json) print(JSON.stringify(report, null, 2));
    else print(fitText(renderDora(report), width, 4));
  });
}

/** `gantry metrics`: DORA figures per service and stage from an export file or the live ledger (lambdas/domain/metrics.ts). */
import type { Command } from 'commander';
import { exportEvents } from '../../lambdas/domain/audit';
import { doraMetrics } from '../../lambdas/domain/metrics';
import { type CommonOptions, checkIntegrity, filterOf, out, type SetCode, sourceOptions, windowOptions } from './audit';
import { readSource } from '../input';
import { renderDora } from '../render/render';
import { fitText, outputWidth } from '../render/text';

export function registerMetricsCommand(program: Command, setCode: SetCode, now: () => Date = () => new Date()): void {
  windowOptions(
    sourceOptions(
      program
        .command('metrics')
        .description('DORA metrics per service and stage: deployment frequency, lead time for changes, change failure rate, failed deployment recovery time')
        .option('--json', 'print the report as one JSON object'),
    ),
  ).action(async (opts: CommonOptions) => {
    const filter = filterOf(opts, now());
    const { parsed, source } = await readSource(opts, filter);
    checkIntegrity(parsed, source, setCode);
    const report = doraMetrics(exportEvents(parsed), filter);
    if (opts.json) out(JSON.stringify(report, null, 2));
    else
      out(
        fitText(
          renderDora(report),
          outputWidth({ isTTY: process.stdout.isTTY === true, ...(process.stdout.columns ? { columns: process.stdout.columns } : {}), env: process.env }),
          4,
        ),
      );
  });
}

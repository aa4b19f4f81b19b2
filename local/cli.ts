/**
 * `gantry` commands (thin: the audit and metrics commands live in lib/cli). Exit codes: 0 ran, 2 invalid
 * input (one line per problem), 1 internal error — or, for audit/metrics, a record that failed verification.
 */
import { writeFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { formatExport } from '../lambdas/domain/audit';
import { ValidationError } from '../lambdas/domain/validation';
import { registerDecisionCommands } from '../lib/cli/approve';
import { registerAuditCommands } from '../lib/cli/audit';
import { CliInputError } from '../lib/cli/errors';
import { registerMetricsCommand } from '../lib/cli/metrics';
import { loadScenarioFile } from './scenario';
import { simulate } from './simulate';
import { renderTimeline } from './timeline';

export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = new Command('gantry')
    .description('Gantry: release control plane for Amazon EKS')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('simulate')
    .description('run a scenario through the real workflows and handlers on a local cloud (a simulation: no AWS account)')
    .argument('<scenario>', 'scenario JSON file')
    .option('--json', 'print the result as one JSON object on stdout')
    .option('--export <file>', 'also write the whole ledger as JSON Lines')
    .option('--verbose', 'show every step in the timeline')
    .action(async (file: string, opts: { json?: boolean; export?: string; verbose?: boolean }) => {
      const loaded = loadScenarioFile(file);
      const { output, ledgerEvents } = await simulate(loaded);
      // The audit export format: each release's events, then its anchor line (lambdas/domain/audit.ts).
      if (opts.export) writeFileSync(opts.export, formatExport(ledgerEvents));
      if (opts.json) process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
      else process.stdout.write(`${renderTimeline(output, { verbose: opts.verbose })}\n`);
    });

  registerAuditCommands(program, (c) => {
    code = Math.max(code, c);
  });
  registerMetricsCommand(program, (c) => {
    code = Math.max(code, c);
  });
  registerDecisionCommands(program, (c) => {
    code = Math.max(code, c);
  });

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof ValidationError) {
      process.stderr.write(`${err.source} is invalid:\n${err.problems.map((p) => `  ${p}`).join('\n')}\n`);
      return 2;
    }
    if (err instanceof CliInputError) {
      process.stderr.write(`gantry: ${err.message}\n`);
      return 2;
    }
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
  return code;
}

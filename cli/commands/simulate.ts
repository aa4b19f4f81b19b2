/**
 * `gantry simulate`: run a scenario through the real workflows and handlers on the local runtime
 * (local/), print its timeline or JSON, and optionally keep it as a local Gantry (`--state`).
 */
import type { Command } from 'commander';
import { formatExport } from '../../lambdas/domain/audit';
import { parseIsoDuration } from '../../lambdas/domain/durations';
import type { InsightRecord } from '../../lambdas/domain/insight';
import { ValidationError } from '../../lambdas/domain/validation';
import type { ChaosOptions } from '../../local/chaos';
import type { SimulationOutput } from '../../local/simulate';
import { CliInputError } from '../errors';
import { checkOutputFile, checkStateFolder, writeOutputFile } from '../files';
import { renderTimeline } from '../render/timeline';
import type { OperatorIo } from './common';

interface SimulateOptions {
  json?: boolean;
  export?: string;
  verbose?: boolean;
  state?: string;
  until?: string;
  advance?: string;
  chaos?: string | boolean;
  crash?: boolean;
  publicKeyOut?: string;
}

/** `--chaos [n]` (every AWS call fails its first n attempts, default 2) and `--crash` (local/chaos.ts). */
function chaosOf(opts: SimulateOptions): ChaosOptions | undefined {
  if (opts.chaos === undefined && !opts.crash) return undefined;
  let transientFailures = 0;
  if (opts.chaos !== undefined) {
    transientFailures = opts.chaos === true ? 2 : Number(opts.chaos);
    if (!Number.isInteger(transientFailures) || transientFailures < 1 || transientFailures > 10) {
      throw new CliInputError(`--chaos: expected the number of failed attempts per AWS call, from 1 to 10, got ${JSON.stringify(opts.chaos)}`);
    }
  }
  return { ...(transientFailures ? { transientFailures } : {}), ...(opts.crash ? { crashAfterLedgerWrite: true } : {}) };
}

function untilMs(scenarioClock: string, until: string): number {
  try {
    return Date.parse(scenarioClock) + parseIsoDuration(until, '--until', '--until');
  } catch (e) {
    if (e instanceof ValidationError)
      throw new CliInputError(`--until: expected an ISO-8601 duration from the scenario's clock such as PT2H, got ${JSON.stringify(until)}`, { cause: e });
    throw e;
  }
}

async function runSimulate(file: string | undefined, opts: SimulateOptions, io: OperatorIo): Promise<void> {
  let output: SimulationOutput;
  // Where the results go is checked before anything runs: a missing folder is bad input, not an internal error.
  if (opts.export !== undefined) checkOutputFile(opts.export, '--export');
  if (opts.state !== undefined) checkStateFolder(opts.state, '--state');
  if (opts.state) {
    if (file && opts.advance) throw new CliInputError('--advance moves an existing local Gantry: give --state <dir> --advance <duration> without a scenario');
    if (!file && !opts.advance && !opts.until) throw new CliInputError('give a scenario to create a local Gantry in --state, or --advance/--until to move an existing one');
    // The local runtime is loaded when a simulation runs, not at start (issue 17).
    const { advanceLocalGantry, createLocalGantry } = await import('../backends/local-backend');
    const result = file
      ? await createLocalGantry(opts.state, file, opts.until)
      : await advanceLocalGantry(opts.state, { ...(opts.advance ? { advance: opts.advance } : {}), ...(opts.until ? { until: opts.until } : {}) });
    output = result.output;
    if (opts.export)
      writeOutputFile(
        opts.export,
        formatExport(result.ledgerEvents, {
          ...('insightRecords' in result ? { insights: result.insightRecords as InsightRecord[] } : {}),
          ...(result.signatures ? { signatures: result.signatures } : {}),
        }),
        '--export',
      );
  } else {
    if (!file) throw new CliInputError('give the scenario file: gantry simulate <scenario.json>');
    if (opts.advance) throw new CliInputError('--advance needs --state <dir> (a local Gantry)');
    const chaos = chaosOf(opts);
    const [{ loadScenarioFile }, { simulate }] = await Promise.all([import('../../local/scenario'), import('../../local/simulate')]);
    const loaded = loadScenarioFile(file);
    const result = await simulate(loaded, { ...(opts.until ? { until: untilMs(loaded.scenario.clock, opts.until) } : {}), ...(chaos ? { chaos } : {}) });
    output = result.output;
    // The audit export format: each release's events, then its anchor line (lambdas/domain/audit/export.ts).
    if (opts.export)
      writeOutputFile(
        opts.export,
        formatExport(result.ledgerEvents, { insights: result.insightRecords, ...(result.signatures ? { signatures: result.signatures } : {}) }),
        '--export',
      );
  }
  // The local anchor key's public half (decision 048): what `gantry audit verify --public-key` checks the export with.
  if (opts.publicKeyOut) {
    const { localAnchorKey } = await import('../../local/anchor-key');
    writeOutputFile(opts.publicKeyOut, localAnchorKey().publicKeyPem, '--public-key-out');
    io.err(`gantry: the local anchor key ${localAnchorKey().keyId} (public half) written to ${opts.publicKeyOut}\n`);
  }
  if (opts.json) io.out(`${JSON.stringify(output, null, 2)}\n`);
  else io.out(`${renderTimeline(output, { verbose: opts.verbose })}\n`);
  if (opts.state && !opts.json) {
    io.err(
      `local Gantry ${opts.state}: now ${output.clock.end} (virtual). Next: gantry status --local ${opts.state}, gantry start --local ${opts.state} --service S --tag T, gantry simulate --state ${opts.state} --advance PT10M\n`,
    );
  }
}

/** Register `gantry simulate` on the program. */
export function registerSimulateCommand(program: Command, io: OperatorIo): void {
  program
    .command('simulate')
    .description(
      'run a scenario through the real workflows and handlers on a local cloud (a simulation: no AWS account); with --state, keep it as a local Gantry for the other commands (--local)',
    )
    .argument('[scenario]', 'scenario JSON file')
    .option('--json', 'print the result as one JSON object on stdout')
    .option('--export <file>', 'also write the whole ledger as JSON Lines (finished releases signed with the local anchor key)')
    .option('--public-key-out <file>', "write the local anchor key's public half (PEM) for gantry audit verify --public-key")
    .option('--verbose', 'show every step in the timeline')
    .option('--until <duration>', "stop the virtual clock this long after the scenario's start (ISO-8601, e.g. PT2H); releases are left where they are")
    .option('--state <dir>', 'keep the run as a local Gantry in this directory (gantry status|start|approve|rollback|freeze --local <dir>)')
    .option('--chaos [attempts]', 'faults: every AWS call fails its first attempts (default 2) with throttling or a 5xx; the output gains "chaos"')
    .option('--crash', 'faults: every handler crashes once right after its first ledger write')
    .option('--advance <duration>', "with --state and no scenario: move the local Gantry's clock on by this much (e.g. PT30M) and re-run")
    .action(async (file: string | undefined, opts: SimulateOptions) => {
      await runSimulate(file, opts, io);
    });
}

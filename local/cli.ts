/**
 * `gantry` commands (thin: every command lives in lib/cli). Exit codes (README "CLI"): 0 success;
 * 1 a release failed, was blocked, rejected or rolled back, a refusal, or a record that failed
 * verification; 2 bad input (one line per problem); 3 not found (a release, a stack, a local Gantry);
 * 4 an AWS error. No stack trace unless `--debug`.
 */
import { Command, CommanderError } from 'commander';
import { formatExport } from '../lambdas/domain/audit';
import type { InsightRecord } from '../lambdas/domain/insight';
import { parseIsoDuration } from '../lambdas/domain/durations';
import { ValidationError } from '../lambdas/domain/validation';
import { registerAuditCommands } from '../lib/cli/audit';
import { registerDoctorCommand } from '../lib/cli/doctor';
import { EXIT, GantryAwsError, NotFoundError, RefusedError } from '../lib/cli/backend';
import { CliInputError } from '../lib/cli/errors';
import { checkOutputFile, checkStateFolder, writeOutputFile } from '../lib/cli/files';
import { advanceLocalGantry, createLocalGantry } from '../lib/cli/local-backend';
import { registerMetricsCommand } from '../lib/cli/metrics';
import { type OperatorIo, processIo, registerOperatorCommands } from '../lib/cli/operator';
import { registerReportCommand } from '../lib/cli/report';
import type { ChaosOptions } from './chaos';
import { loadScenarioFile } from './scenario';
import { simulate, type SimulationOutput } from './simulate';
import { renderTimeline } from './timeline';

type SetCode = (code: number) => void;

interface SimulateOptions {
  json?: boolean;
  export?: string;
  verbose?: boolean;
  state?: string;
  until?: string;
  advance?: string;
  chaos?: string | boolean;
  crash?: boolean;
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
    if (e instanceof ValidationError) throw new CliInputError(`--until: expected an ISO-8601 duration from the scenario's clock such as PT2H, got ${JSON.stringify(until)}`, { cause: e });
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
    const result = file
      ? await createLocalGantry(opts.state, file, opts.until)
      : await advanceLocalGantry(opts.state, { ...(opts.advance ? { advance: opts.advance } : {}), ...(opts.until ? { until: opts.until } : {}) });
    output = result.output;
    if (opts.export) writeOutputFile(opts.export, formatExport(result.ledgerEvents, 'insightRecords' in result ? { insights: result.insightRecords as InsightRecord[] } : {}), '--export');
  } else {
    if (!file) throw new CliInputError('give the scenario file: gantry simulate <scenario.json>');
    if (opts.advance) throw new CliInputError('--advance needs --state <dir> (a local Gantry)');
    const chaos = chaosOf(opts);
    const loaded = loadScenarioFile(file);
    const result = await simulate(loaded, { ...(opts.until ? { until: untilMs(loaded.scenario.clock, opts.until) } : {}), ...(chaos ? { chaos } : {}) });
    output = result.output;
    // The audit export format: each release's events, then its anchor line (lambdas/domain/audit.ts).
    if (opts.export) writeOutputFile(opts.export, formatExport(result.ledgerEvents, { insights: result.insightRecords }), '--export');
  }
  if (opts.json) io.out(`${JSON.stringify(output, null, 2)}\n`);
  else io.out(`${renderTimeline(output, { verbose: opts.verbose })}\n`);
  if (opts.state && !opts.json) {
    io.err(
      `local Gantry ${opts.state}: now ${output.clock.end} (virtual). Next: gantry status --local ${opts.state}, gantry start --local ${opts.state} --service S --tag T, gantry simulate --state ${opts.state} --advance PT10M\n`,
    );
  }
}

/** Run `gantry`; `io` is where the operator commands, simulate, help and errors write (tests pass their own). */
export async function main(argv: string[], io: OperatorIo = processIo()): Promise<number> {
  let code = 0;
  const debug = argv.includes('--debug');
  const args = argv.filter((a) => a !== '--debug');
  const setCode: SetCode = (c) => {
    code = Math.max(code, c);
  };
  const program = new Command('gantry')
    .description('Gantry: release control plane for Amazon EKS')
    .option('--debug', 'print stack traces of unexpected errors')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });

  program
    .command('simulate')
    .description('run a scenario through the real workflows and handlers on a local cloud (a simulation: no AWS account); with --state, keep it as a local Gantry for the other commands (--local)')
    .argument('[scenario]', 'scenario JSON file')
    .option('--json', 'print the result as one JSON object on stdout')
    .option('--export <file>', 'also write the whole ledger as JSON Lines')
    .option('--verbose', 'show every step in the timeline')
    .option('--until <duration>', 'stop the virtual clock this long after the scenario\'s start (ISO-8601, e.g. PT2H); releases are left where they are')
    .option('--state <dir>', 'keep the run as a local Gantry in this directory (gantry status|start|approve|rollback|freeze --local <dir>)')
    .option('--chaos [attempts]', 'faults: every AWS call fails its first attempts (default 2) with throttling or a 5xx; the output gains "chaos"')
    .option('--crash', 'faults: every handler crashes once right after its first ledger write')
    .option('--advance <duration>', 'with --state and no scenario: move the local Gantry\'s clock on by this much (e.g. PT30M) and re-run')
    .action(async (file: string | undefined, opts: SimulateOptions) => {
      await runSimulate(file, opts, io);
    });

  registerAuditCommands(program, setCode);
  registerMetricsCommand(program, setCode);
  registerOperatorCommands(program, setCode, io);
  registerDoctorCommand(program, setCode, io);
  registerReportCommand(program, setCode, { out: io.out, err: io.err, now: () => new Date(), ...(io.openBackend ? { openBackend: io.openBackend } : {}) });

  try {
    await program.parseAsync(args);
  } catch (err) {
    if (err instanceof ValidationError) {
      io.err(`${err.source} is invalid:\n${err.problems.map((p) => `  ${p}`).join('\n')}\n`);
      return EXIT.badInput;
    }
    if (err instanceof CliInputError) {
      io.err(`gantry: ${err.message}\n`);
      return EXIT.badInput;
    }
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.badInput;
    if (err instanceof NotFoundError) {
      io.err(`gantry: ${err.message}\n`);
      return EXIT.notFound;
    }
    if (err instanceof RefusedError) {
      io.err(`gantry: ${err.message}\n`);
      return EXIT.releaseFailed;
    }
    if (err instanceof GantryAwsError || (typeof err === 'object' && err !== null && '$metadata' in err)) {
      io.err(`gantry: ${(err as Error).message}\n`);
      if (debug) io.err(`${(err as Error).stack}\n`);
      return EXIT.awsError;
    }
    io.err(`gantry: internal error: ${(err as Error)?.message ?? String(err)}\n`);
    io.err(debug ? `${(err as Error)?.stack ?? ''}\n` : 'run again with --debug for the stack trace, and report it with the command you ran\n');
    return EXIT.releaseFailed;
  }
  return code;
}

/**
 * The `gantry` CLI program: registers every command (cli/commands/*) and turns errors into exit codes.
 * Exit codes (README "CLI"): 0 success;
 * 1 a release failed, was blocked, rejected or rolled back, a refusal, or a record that failed
 * verification; 2 bad input (one line per problem); 3 not found (a release, a stack, a local Gantry);
 * 4 an AWS error; 5 `status --watch --timeout` ran out before the release ended. No stack trace unless `--debug`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { ValidationError } from '../lambdas/domain/validation';
import { EXIT, GantryAwsError, NotFoundError, RefusedError } from './backends/backend';
import { registerAuditCommands } from './commands/audit';
import { registerCompletionCommand } from './commands/completion';
import { registerDashboardCommand } from './commands/dashboard';
import { registerDoctorCommand } from './commands/doctor';
import { registerMetricsCommand } from './commands/metrics';
import { registerDrillCommand } from './commands/drill';
import { registerAbortCommand } from './commands/abort';
import { type OperatorIo, processIo } from './commands/common';
import { registerOperatorCommands } from './commands/operator';
import { registerPromoteCommand } from './commands/promote';
import { registerReportCommand } from './commands/report';
import { registerSimulateCommand } from './commands/simulate';
import { registerStagesCommand } from './commands/stages';
import { CliInputError } from './errors';

type SetCode = (code: number) => void;

/** The `version` of the package.json at the repository's root. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') throw new Error('package.json has no version');
  return pkg.version;
}

/** The `gantry` program with every command registered (`gantry completion` and its test read these definitions). */
export function buildProgram(io: OperatorIo, setCode: SetCode): Command {
  const program = new Command('gantry')
    .description('Gantry: release control plane for Amazon EKS')
    .version(packageVersion(), '-V, --version', 'print the version of Gantry (package.json)')
    .option('--debug', 'print stack traces of unexpected errors')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });

  registerSimulateCommand(program, io);
  registerAuditCommands(program, setCode, undefined, io);
  registerMetricsCommand(program, setCode, undefined, io);
  registerOperatorCommands(program, setCode, io);
  registerDrillCommand(program, setCode, io);
  registerAbortCommand(program, setCode, io);
  registerPromoteCommand(program, setCode, io);
  registerDoctorCommand(program, setCode, io);
  registerReportCommand(program, setCode, { out: io.out, err: io.err, now: () => new Date(), ...(io.openBackend ? { openBackend: io.openBackend } : {}) });
  registerCompletionCommand(program, io);
  registerDashboardCommand(program, setCode, io);
  registerStagesCommand(program, setCode, io);
  return program;
}

/** Run `gantry`; `io` is where the operator commands, simulate, help and errors write (tests pass their own). */
export async function main(argv: string[], io: OperatorIo = processIo()): Promise<number> {
  let code = 0;
  const debug = argv.includes('--debug');
  const args = argv.filter((a) => a !== '--debug');
  const setCode: SetCode = (c) => {
    code = Math.max(code, c);
  };
  const program = buildProgram(io, setCode);

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

/** What bin/gantry.js runs: `main` on the process's arguments, its answer as the exit code. */
export function run(argv: string[] = process.argv): void {
  main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      // main() answers every error itself; this is the last resort. No stack trace unless --debug.
      const debug = argv.includes('--debug');
      process.stderr.write(`gantry: internal error: ${debug ? ((err as Error)?.stack ?? String(err)) : ((err as Error)?.message ?? String(err))}\n`);
      process.exitCode = 1;
    },
  );
}

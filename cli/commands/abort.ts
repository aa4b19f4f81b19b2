/**
 * `gantry abort <releaseId> --reason R` (docs/decisions/053-abort.md): stop a running release, rollback or drill
 * through the Gantry API (`POST /v1/aborts`: the API records who and why, then StopExecution; the reconciler closes
 * the record as ABORTED with the reason and the caller and frees the leases), or in a local Gantry (`--local DIR`: the
 * same operator API code path, re-simulated at once, so the final status is printed).
 * Exit 0 aborted (or aborting), 1 refused (the release has ended), 2 bad input, 3 no such release, 4 AWS error.
 */
import type { Command } from 'commander';
import { parseAbortRequest } from '../../lambdas/domain/operator-requests';
import { ValidationError } from '../../lambdas/domain/validation';
import { EXIT } from '../backends/backend';
import { CliInputError } from '../errors';
import { backendOptions, type BackendOptions, json, localHint, type OperatorIo, processIo, type SetCode, simulated, withBackend } from './common';

interface AbortOptions extends BackendOptions {
  readonly reason: string;
  readonly json?: boolean;
}

/** The request's field as the command line spells it. */
const OPTION_OF: Readonly<Record<string, string>> = { releaseId: '<releaseId>', reason: '--reason' };

/** Validate before anything is opened or sent: a problem names the argument or option, and what is allowed. */
function validated(releaseId: string, reason: string): void {
  try {
    parseAbortRequest({ releaseId, reason });
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    const lines = e.problems.map((p) => {
      const field = /^([A-Za-z]+):/.exec(p)?.[1] ?? '';
      return OPTION_OF[field] ? `${OPTION_OF[field]}${p.slice(field.length)}` : p;
    });
    throw new CliInputError(`abort: ${lines.join('; ')}`);
  }
}

export function registerAbortCommand(program: Command, setCode: SetCode, io: OperatorIo = processIo()): void {
  backendOptions(
    program
      .command('abort')
      .description(
        'stop a running release, rollback or drill (StopExecution through the Gantry API); the record closes ABORTED with your reason and your principal, and its leases are freed',
      )
      .argument('<releaseId>', 'the release, rollback or drill id (gantry releases lists them)')
      .requiredOption('--reason <text>', 'why (an incident, a ticket); recorded with your principal')
      .option('--json', 'print the result as one JSON object'),
  ).action(async (releaseId: string, opts: AbortOptions) => {
    validated(releaseId, opts.reason);
    setCode(
      await withBackend(opts, io, async (b) => {
        const r = await b.abortRelease(releaseId, opts.reason);
        if (opts.json) {
          io.out(json({ source: b.label, simulated: simulated(b), ...r }));
          return EXIT.ok;
        }
        io.out(`Aborting release ${releaseId} (principal ${r.principal ?? 'the caller'}): ${opts.reason}`);
        if (b.kind === 'local') io.out(`  ${r.status}${r.reason ? `: ${r.reason}` : ''} (gantry status ${releaseId}${localHint(b, opts)})`);
        else io.out(`  ${r.message}`);
        return EXIT.ok;
      }),
    );
  });
}

/**
 * The operator commands: `gantry start | rollback | freeze` here, with `status` (status.ts), `releases`
 * (releases.ts) and `approve | reject` (approve.ts) registered in their order by registerOperatorCommands,
 * each against a deployed Gantry (`--stack`, default GANTRY_STACK or `Gantry`, with `--region` and
 * `--profile`) or a local one (`--local <dir>`, a simulation). Read commands take `--json` (schemas in
 * cli/render/schemas.ts). Exit codes: cli/backends/backend.ts EXIT (README "CLI").
 */
import type { Command } from 'commander';
import { TERMINAL_RELEASE_STATUSES } from '../../lambdas/domain/types';
import { EXIT, type GantryBackend } from '../backends/backend';
import { CliInputError } from '../errors';
import { exitCodeOf } from '../render/status-view';
import { outputWidth } from '../render/text';
import { registerDecisionCommands } from './approve';
import { type BackendOptions, backendOptions, clock, csv, json, localHint, type OperatorIo, processIo, type SetCode, simulated, useColour, withBackend } from './common';
import { registerReleasesCommand } from './releases';
import { rollbackCandidates, type RollbackCandidates } from './rollback-targets';
import { registerStatusCommand, renderStatus, statusOf } from './status';

interface StartOptions extends BackendOptions {
  readonly service: string;
  readonly tag?: string;
  readonly digest?: string;
  readonly stages?: string;
  readonly reason?: string;
  readonly breakGlass?: string;
  /** The change record id (decision 051): the release input's changeRecord. */
  readonly change?: string;
  readonly json?: boolean;
}

/** The release input of `gantry start` (docs/contracts.md §2), before validation. */
export function releaseInputOf(opts: StartOptions): Record<string, unknown> {
  if (opts.tag !== undefined && opts.digest !== undefined) throw new CliInputError('give either --tag or --digest, not both');
  if (opts.tag === undefined && opts.digest === undefined) throw new CliInputError('give the image: --tag <tag> or --digest sha256:<64 hex>');
  return {
    service: opts.service,
    image: opts.tag !== undefined ? { tag: opts.tag } : { digest: opts.digest },
    ...(opts.stages !== undefined ? { stages: csv(opts.stages) } : {}),
    ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
    ...(opts.breakGlass !== undefined ? { breakGlass: { reason: opts.breakGlass } } : {}),
    ...(opts.change !== undefined ? { changeRecord: opts.change } : {}),
  };
}

/**
 * Start a release, a promotion (a release input with `startAt`: cli/commands/promote.ts) or a rollback and print
 * what it did. A refusal in the first state (a rollback's target, a promotion's gate promotion.previous-stage) is
 * printed first, then `refusalHint`'s lines; nothing was deployed.
 */
export async function startAndReport(
  kind: 'release' | 'rollback' | 'promotion',
  input: Record<string, unknown>,
  opts: BackendOptions & { json?: boolean },
  io: OperatorIo,
  refusalHintOf?: (b: GantryBackend) => Promise<string[]>,
): Promise<number> {
  return withBackend(opts, io, async (b) => {
    const r = kind === 'rollback' ? await b.startRollback(input) : await b.startRelease(input);
    // A rollback or a promotion is refused in its first state: wait briefly for its first record to say so.
    let v = await statusOf(b, r.releaseId);
    for (
      let i = 0;
      kind !== 'release' && b.kind === 'aws' && i < 10 && (!v || (v.status === 'RUNNING' && v.stages.every((s) => s.phase === 'starting' || s.phase === 'not-started')));
      i++
    ) {
      await io.sleep(1000);
      v = await statusOf(b, r.releaseId);
    }
    const status = v?.status ?? null;
    const code = status && TERMINAL_RELEASE_STATUSES.has(status as never) ? exitCodeOf(status, kind === 'rollback' ? 'rollback' : 'release') : EXIT.ok;
    if (opts.json) {
      // A refused rollback (decision: the refusal names what may be rolled back to): the digests `--digest` may name.
      let rollbackTargets: Awaited<ReturnType<typeof rollbackCandidates>> | null | undefined;
      if (kind === 'rollback' && status === 'BLOCKED') {
        try {
          rollbackTargets = await rollbackCandidates(b, String(input.service), String(input.stage));
        } catch {
          rollbackTargets = null; // the refusal stands; the digests could not be read (the text output says why)
        }
      }
      io.out(
        json({
          source: b.label,
          simulated: simulated(b),
          releaseId: r.releaseId,
          // A promotion is a release (its input carries startAt).
          kind: kind === 'promotion' ? 'release' : kind,
          executionArn: r.executionArn,
          consoleUrl: r.consoleUrl ?? null,
          alreadyExists: r.alreadyExists,
          input,
          status,
          reason: v?.reason ?? null,
          ...(rollbackTargets !== undefined ? { rollbackTargets } : {}),
        }),
      );
      return code;
    }
    const what =
      kind === 'rollback'
        ? `rollback of ${String(input.service)}/${String(input.stage)}`
        : kind === 'promotion'
          ? `promotion of ${String(input.service)} to ${String(input.startAt)}`
          : `release of ${String(input.service)}`;
    // A rollback refused in its first state started nothing: the refusal comes first, then what may be rolled back to.
    // A promotion refused when it was prepared deployed nothing: no stage of it started.
    const refusedAtStart = kind === 'rollback' || (kind === 'promotion' && (v?.stages.every((s) => s.startedAt === null || s.startedAt === undefined) ?? false));
    if (v && status === 'BLOCKED' && refusedAtStart) {
      const service = String(input.service);
      const stage = String(input.stage);
      io.err(`gantry: ${v.reason ?? `${kind} refused`}`);
      io.err(`nothing was deployed (the refusal is recorded as ${r.releaseId})`);
      let hint: string[];
      try {
        hint = refusalHintOf ? await refusalHintOf(b) : refusalHint(await rollbackCandidates(b, service, stage), service, stage, localHint(b, opts));
      } catch (e) {
        // The refusal stands even when the digests cannot be read: say so, and where else to look.
        const where = kind === 'rollback' ? `${service}/${stage}` : service;
        hint = [`(the digests promoted in ${where} could not be read: ${(e as Error).message}; gantry releases --service ${service} lists its releases)`];
      }
      for (const line of hint) io.err(line);
      return code;
    }
    io.out(`${r.alreadyExists ? 'Already started' : 'Started'} ${what}: ${r.releaseId}`);
    if (r.consoleUrl) io.out(`  console  ${r.consoleUrl}`);
    if (v) io.out(renderStatus(v, useColour(io), b.label, outputWidth(io)));
    io.out(`  follow   gantry status ${r.releaseId}${localHint(b, opts)} --watch`);
    return code;
  });
}

/** The hint after a refused rollback: the digests `--digest` may name in the stage, newest promotion first, in full. */
export function refusalHint(c: RollbackCandidates, service: string, stage: string, where = ''): string[] {
  if (c.candidates.length === 0) {
    return [`no digest other than the one running${c.running ? ` (${c.running})` : ''} was promoted in ${service}/${stage}: there is nothing to roll back to`];
  }
  return [
    `digests promoted in ${service}/${stage} that --digest may name, newest first${c.running ? ` (running: ${c.running})` : ''}:`,
    ...c.candidates.map(
      (d) =>
        `  ${d.digest}  ${d.tags.length ? d.tags.join(', ') : '(no tag)'}  ${d.promotedAt ? `promoted ${clock(d.promotedAt)}` : '(promoted before any release in the ledger)'}`,
    ),
    `roll back with: gantry rollback --service ${service} --stage ${stage}${where} --digest <digest> --reason "<why>"`,
  ];
}

interface RollbackOptions extends BackendOptions {
  readonly service: string;
  readonly stage: string;
  readonly digest?: string;
  readonly reason: string;
  readonly json?: boolean;
}

async function runFreeze(action: 'on' | 'off' | 'status', opts: BackendOptions & { reason?: string; json?: boolean }, io: OperatorIo): Promise<number> {
  return withBackend(opts, io, async (b) => {
    let state = action === 'status' ? await b.getFreeze() : undefined;
    if (action !== 'status') {
      const reason = opts.reason ?? (action === 'off' ? 'freeze lifted' : undefined);
      if (!reason || !/\S/.test(reason)) throw new CliInputError('freeze on needs --reason "<why>" (it is recorded and shown to every blocked release)');
      state = await b.setFreeze(action === 'on', reason);
    }
    const s = state ?? { on: false };
    if (opts.json) {
      io.out(json({ source: b.label, simulated: simulated(b), on: s.on, reason: s.reason ?? null, principal: s.principal ?? null, at: s.at ?? null }));
    } else if (s.on) {
      io.out(`FREEZE ON since ${clock(s.at ?? null)} by ${s.principal ?? '?'}: ${s.reason ?? ''}`);
      io.out('  every stage deploy is blocked except a break-glass release (gantry start … --break-glass "<why>")');
    } else {
      io.out(`freeze off${s.at ? ` (since ${clock(s.at)} by ${s.principal ?? '?'}${s.reason ? `: ${s.reason}` : ''})` : ''}`);
    }
    return EXIT.ok;
  });
}

// ------------------------------------------------------------------ registration

/** Register the operator commands in the order `gantry --help` lists them: start, status, releases, rollback, freeze, approve, reject. */
export function registerOperatorCommands(program: Command, setCode: SetCode, io: OperatorIo = processIo()): void {
  backendOptions(
    program
      .command('start')
      .description('start a release of a service: validates the input as the workflow does, prints the release id and the console link')
      .requiredOption('--service <service>', 'the service (a key of the config\'s "services")')
      .option('--tag <tag>', 'the image tag (resolved to its digest once, at the start)')
      .option('--digest <digest>', 'the image digest sha256:<64 hex>')
      .option('--stages <list>', "comma-separated prefix of the service's stages (default: all)")
      .option('--reason <text>', 'why (a change ticket); recorded')
      .option('--break-glass <reason>', 'bypass deployment windows and the freeze (only those); flagged in the ledger and on the bus')
      .option('--change <id>', 'the change record id, such as CHG-1234, where the service\'s changeRecord.from is "input" (gate change.record checks it)')
      .option('--json', 'print the result as one JSON object'),
  ).action(async (opts: StartOptions) => {
    setCode(await startAndReport('release', releaseInputOf(opts), opts, io));
  });

  registerStatusCommand(program, setCode, io);
  registerReleasesCommand(program, setCode, io);

  backendOptions(
    program
      .command('rollback')
      .description('return a stage to the digest promoted there before the one running (or --digest): starts the rollback workflow; a refusal deploys nothing')
      .requiredOption('--service <service>', 'the service')
      .requiredOption('--stage <stage>', 'the stage to roll back')
      .option('--digest <digest>', 'the digest to return to (must have been promoted in that stage)')
      .requiredOption('--reason <text>', 'why (an incident); recorded')
      .option(
        '--force <reason>',
        "roll back even if the target now fails an image gate (recorded as WARNs with this reason; the stage's approvers are asked first where the stage requires approval)",
      )
      .option('--json', 'print the result as one JSON object'),
  ).action(async (opts: RollbackOptions & { force?: string }) => {
    const input = {
      service: opts.service,
      stage: opts.stage,
      ...(opts.digest !== undefined ? { digest: opts.digest } : {}),
      reason: opts.reason,
      ...(opts.force !== undefined ? { force: { reason: opts.force } } : {}),
    };
    setCode(await startAndReport('rollback', input, opts, io));
  });

  const freeze = program.command('freeze').description('the global change freeze: blocks every stage deploy except break-glass releases');
  for (const action of ['on', 'off'] as const) {
    backendOptions(
      freeze
        .command(action)
        .description(action === 'on' ? 'turn the freeze on (recorded with you and the reason)' : 'lift the freeze')
        .option('--reason <text>', action === 'on' ? 'why (required)' : 'why (default: "freeze lifted")')
        .option('--json', 'print the freeze as one JSON object'),
    ).action(async (opts: BackendOptions & { reason?: string; json?: boolean }) => {
      setCode(await runFreeze(action, opts, io));
    });
  }
  backendOptions(freeze.command('status').description('is the freeze on, since when, by whom, why').option('--json', 'print the freeze as one JSON object')).action(
    async (opts: BackendOptions & { json?: boolean }) => {
      setCode(await runFreeze('status', opts, io));
    },
  );

  registerDecisionCommands(program, setCode, io);
}

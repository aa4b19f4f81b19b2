/**
 * `gantry drill --service S --stage T [--reason R]` (docs/decisions/052-rollback-drills.md): a rehearsed rollback of a
 * non-production stage through the Gantry API (`POST /v1/drills`), or a local Gantry (`--local DIR`). Prints the drill's
 * outcome and time to restore when it has ended (a local Gantry runs it at once), else how to follow it.
 * Exit 0 SUCCEEDED (or still running), 1 refused or failed, 2 bad input (a production stage, an unknown stage).
 */
import type { Command } from 'commander';
import { TERMINAL_RELEASE_STATUSES } from '../../lambdas/domain/types';
import { EXIT, type GantryBackend } from '../backends/backend';
import { backendOptions, type BackendOptions, json, localHint, type OperatorIo, processIo, type SetCode, shortDigest, simulated, withBackend } from './common';
import { fitLine, outputWidth, shortDigests } from '../render/text';

interface DrillOptions extends BackendOptions {
  readonly service: string;
  readonly stage: string;
  readonly reason?: string;
  readonly json?: boolean;
}

/** What an operator does after a drill that did not succeed, by its status. */
export const DRILL_ADVICE: Readonly<Record<string, string>> = {
  BLOCKED: 'nothing was deployed; drill again when the stage has a previous last known good and no release or rollback in flight',
  FAILED:
    'the stage is as the failed leg left it: gantry status <leg> says where; if it runs the older digest, return it with gantry rollback --service S --stage T --digest <the digest that was running> --reason …',
  ROLLBACK_FAILED:
    'the roll-back deploy failed and the stage is as the rollback workflow left it (ROLLBACK_FAILED: possibly half-deployed); check the workload, then gantry rollback --service S --stage T --digest <the digest that was running> --reason … to return it',
};

const seconds = (s: number | undefined | null) => (typeof s === 'number' ? `${s} s` : '—');

async function statusOfDrill(b: GantryBackend, id: string, io: OperatorIo): Promise<Awaited<ReturnType<GantryBackend['listReleases']>>[number] | undefined> {
  // A deployed drill takes minutes (two deploys, two recovery windows): look briefly for a refusal in its first state.
  for (let i = 0; ; i++) {
    const found = (await b.listReleases({})).find((r) => r.releaseId === id);
    if (b.kind === 'local' || i >= 10 || (found && found.status !== 'RUNNING')) return found;
    await io.sleep(1000);
  }
}

export function registerDrillCommand(program: Command, setCode: SetCode, io: OperatorIo = processIo()): void {
  backendOptions(
    program
      .command('drill')
      .description(
        'rehearse a rollback of a non-production stage: back to its previous last known good and forward again, through the rollback workflow; records the time to restore (Rollback Drilled)',
      )
      .requiredOption('--service <service>', 'the service')
      .requiredOption('--stage <stage>', 'the stage to drill (never a production stage)')
      .option('--reason <text>', 'why (a rehearsal plan, a ticket); recorded')
      .option('--json', 'print the result as one JSON object'),
  ).action(async (opts: DrillOptions) => {
    const input = { service: opts.service, stage: opts.stage, ...(opts.reason !== undefined ? { reason: opts.reason } : {}) };
    setCode(
      await withBackend(opts, io, async (b) => {
        const r = await b.startDrill(input);
        const v = await statusOfDrill(b, r.releaseId, io);
        const status = v?.status ?? 'RUNNING';
        const done = TERMINAL_RELEASE_STATUSES.has(status as never);
        const code = !done || status === 'SUCCEEDED' ? EXIT.ok : EXIT.releaseFailed;
        const d = v?.drill;
        if (opts.json) {
          io.out(
            json({
              source: b.label,
              simulated: simulated(b),
              drillId: r.releaseId,
              executionArn: r.executionArn,
              input,
              status,
              reason: v?.reason ?? null,
              fromDigest: d?.fromDigest ?? v?.digest ?? null,
              toDigest: d?.toDigest ?? v?.rollbackTarget ?? null,
              timeToRestoreSeconds: d?.timeToRestoreSeconds ?? null,
              rollForwardSeconds: d?.rollForwardSeconds ?? null,
              legs: d?.legs ?? [],
            }),
          );
          return code;
        }
        io.out(`Started drill of ${opts.service}/${opts.stage}: ${r.releaseId}`);
        if (r.consoleUrl) io.out(`  console  ${r.consoleUrl}`);
        if (!done) {
          io.out(`  follow   gantry status ${r.releaseId}${localHint(b, opts)} --watch`);
          return code;
        }
        const width = outputWidth(io);
        io.out(fitLine(`  ${status}: ${shortDigests(v?.reason ?? '')}`, width, 4).join('\n'));
        if (d) {
          const dg = (x: string | undefined) => (x ? shortDigest(x) : '?');
          io.out(`  back     ${dg(d.fromDigest)} → ${dg(d.toDigest)}: time to restore ${seconds(d.timeToRestoreSeconds)}`);
          io.out(`  forward  ${dg(d.toDigest)} → ${dg(d.fromDigest)}: ${seconds(d.rollForwardSeconds)}`);
          for (const l of d.legs ?? []) io.out(`  leg      ${l.leg} ${l.releaseId} ${l.status}`);
        }
        if (status !== 'SUCCEEDED') io.err(`gantry: ${DRILL_ADVICE[status] ?? 'see gantry audit show for the record'}`);
        return code;
      }),
    );
  });
}

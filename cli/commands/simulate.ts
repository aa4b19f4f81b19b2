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
import type { SimulationOutput, TimelineEntry } from '../../local/simulate';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliInputError } from '../errors';
import { checkOutputFile, checkStateFolder, writeOutputFile } from '../files';
import { hanging, outputWidth, truncate } from '../render/text';
import { TimelineWriter } from '../render/timeline';
import { type OperatorIo, useColour } from './common';

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
  fullDigests?: boolean;
  all?: boolean;
}

/** How often (real time) the streamed timeline reads the ledger and the progress line is redrawn. */
const STREAM_EVERY_MS = 250;

const sameEntry = (a: TimelineEntry | undefined, b: TimelineEntry | undefined) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The human timeline printed while the virtual clock runs (issue 20): each settled instant's lines as soon as
 * they are final, and on a terminal a progress line redrawn in place and removed at the end. `finish` prints the
 * rest from the final output; the lines are those `renderTimeline` gives for it (a test compares them).
 */
class TimelineStream {
  private readonly printed: TimelineEntry[] = [];
  private diverged = false;
  private lastMs = Number.NEGATIVE_INFINITY;
  private progressShown = false;
  private readonly progress: boolean;

  constructor(
    private readonly io: OperatorIo,
    private readonly writer: TimelineWriter,
    private readonly startMs: number,
  ) {
    // Never a progress line in a pipe or a CI log: only on a terminal that can redraw it.
    this.progress = io.isTTY && io.outRaw !== undefined && io.env.TERM !== 'dumb';
  }

  private print(lines: string[]): void {
    if (lines.length === 0) return;
    this.clearProgress();
    this.io.out(`${lines.join('\n')}\n`);
  }

  private clearProgress(): void {
    if (this.progressShown) this.io.outRaw?.('\r\x1b[2K');
    this.progressShown = false;
  }

  /** `simulate`'s onClock: everything due by `nowMs` has happened. */
  readonly onClock = async (step: { nowMs: number; timeline: () => Promise<TimelineEntry[]> }): Promise<void> => {
    if (this.diverged) return;
    const real = this.io.monotonicMs?.() ?? performance.now();
    if (real - this.lastMs < STREAM_EVERY_MS) return;
    this.lastMs = real;
    const all = await step.timeline();
    if (!this.printed.every((t, i) => sameEntry(t, all[i]))) {
      this.diverged = true;
      return;
    }
    const batch: TimelineEntry[] = [];
    for (let i = this.printed.length; i < all.length && Date.parse((all[i] as TimelineEntry).at) <= step.nowMs; i++) batch.push(all[i] as TimelineEntry);
    this.printed.push(...batch);
    this.print(this.writer.entries(batch));
    if (this.progress) {
      // Within the width, or the terminal would wrap it and \r could not redraw it.
      this.io.outRaw?.(`\r\x1b[2K${truncate(`⏵ T+${elapsed(step.nowMs - this.startMs)} virtual · ${this.printed.length} events`, outputWidth(this.io) - 1)}`);
      this.progressShown = true;
    }
  };

  /** The rest of the timeline and the summary, from the final output. */
  finish(output: SimulationOutput, fresh: () => TimelineWriter): void {
    this.clearProgress();
    if (this.diverged || !this.printed.every((t, i) => sameEntry(t, output.timeline[i]))) {
      // Not expected (entries are final once their instant has passed); never print a timeline that is not the final one.
      const w = fresh();
      this.print(['', '(the timeline changed after it was printed: the final one follows)', ...w.entries(output.timeline), ...w.summary(output)]);
      return;
    }
    this.print([...this.writer.entries(output.timeline.slice(this.printed.length)), ...this.writer.summary(output)]);
  }
}

/** `00:42:00`, or `1d 02:00:00` past a day, for the progress line. */
function elapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const days = Math.floor(s / 86_400);
  const hms = [Math.floor((s % 86_400) / 3600), Math.floor((s % 3600) / 60), s % 60].map((n) => String(n).padStart(2, '0')).join(':');
  return days ? `${days}d ${hms}` : hms;
}

/** The timeline entries a local Gantry's previous output already had (the longest common prefix): `--advance` prints the rest. */
function earlierEntries(previousOutput: string, timeline: readonly TimelineEntry[]): number {
  let before: TimelineEntry[];
  try {
    before = (JSON.parse(previousOutput) as SimulationOutput).timeline ?? [];
  } catch {
    return 0;
  }
  let n = 0;
  while (n < before.length && n < timeline.length && sameEntry(before[n], timeline[n])) n++;
  return n;
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
  const writer = () =>
    new TimelineWriter({ width: outputWidth(io), colour: useColour(io), ...(opts.verbose ? { verbose: true } : {}), ...(opts.fullDigests ? { fullDigests: true } : {}) });
  let printed: TimelineStream | undefined;
  let earlier: TimelineEntry[] | undefined;
  if (opts.all && !opts.advance) throw new CliInputError('--all goes with --state <dir> --advance <duration>: it prints the whole timeline instead of only what is new');
  // Where the results go is checked before anything runs: a missing folder is bad input, not an internal error.
  if (opts.export !== undefined) checkOutputFile(opts.export, '--export');
  if (opts.state !== undefined) checkStateFolder(opts.state, '--state');
  if (opts.state) {
    if (file && opts.advance) throw new CliInputError('--advance moves an existing local Gantry: give --state <dir> --advance <duration> without a scenario');
    if (!file && !opts.advance && !opts.until) throw new CliInputError('give a scenario to create a local Gantry in --state, or --advance/--until to move an existing one');
    // The local runtime is loaded when a simulation runs, not at start (issue 17).
    const { advanceLocalGantry, createLocalGantry } = await import('../backends/local-backend');
    // --advance prints what is new: the previous output's timeline is read before it is replaced.
    const previous = !file && opts.advance && !opts.all && !opts.json ? opts.state : undefined;
    const before = previous && existsSync(join(previous, 'simulation.json')) ? readFileSync(join(previous, 'simulation.json'), 'utf8') : undefined;
    const result = file
      ? await createLocalGantry(opts.state, file, opts.until)
      : await advanceLocalGantry(opts.state, { ...(opts.advance ? { advance: opts.advance } : {}), ...(opts.until ? { until: opts.until } : {}) });
    output = result.output;
    if (before !== undefined) earlier = output.timeline.slice(0, earlierEntries(before, output.timeline));
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
    const until = opts.until ? untilMs(loaded.scenario.clock, opts.until) : undefined;
    // The human timeline streams: the banner now, each instant's lines as the virtual clock passes them (issue 20).
    if (!opts.json) {
      const w = writer();
      io.out(`${w.header(loaded.scenario.name).join('\n')}\n`);
      printed = new TimelineStream(io, w, Date.parse(loaded.scenario.clock));
    }
    const result = await simulate(loaded, { ...(until !== undefined ? { until } : {}), ...(chaos ? { chaos } : {}), ...(printed ? { onClock: printed.onClock } : {}) });
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
  else if (printed) printed.finish(output, writer);
  else {
    const w = writer();
    const lines = w.header(output.scenario);
    if (earlier) {
      // Only what is new since the previous "now"; the earlier lines are counted, not printed.
      // Counted by a writer of their own, so that the new lines start with their day and release heads.
      const hidden = writer().entries(earlier).length;
      if (hidden)
        lines.push(
          ...hanging(
            '',
            `(${hidden} earlier line${hidden === 1 ? '' : 's'} not shown: --all prints them; gantry audit show <release> --local ${opts.state ?? ''} shows a release)`,
            outputWidth(io),
            { minText: 1 },
          ),
        );
      lines.push(...w.entries(output.timeline.slice(earlier.length)));
    } else lines.push(...w.entries(output.timeline));
    io.out(`${[...lines, ...w.summary(output)].join('\n')}\n`);
  }
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
    .option('--advance <duration>', "with --state and no scenario: move the local Gantry's clock on by this much (e.g. PT30M) and re-run; prints only the new timeline lines")
    .option('--all', 'with --advance: print the whole timeline, not only what is new')
    .option('--full-digests', 'print whole digests (sha256: and 64 hex digits) instead of the short form sha256:1234567890ab')
    .action(async (file: string | undefined, opts: SimulateOptions) => {
      await runSimulate(file, opts, io);
    });
}

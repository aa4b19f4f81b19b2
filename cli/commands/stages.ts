/**
 * `gantry stages [--service S] [--json] [--full-digests]` (issue 20, decision 055): what runs in each stage of each service
 * now and since when, its last known good when that differs, and the releases, rollbacks and drills at work in or
 * waiting for each stage. The data is cli/stage-matrix.ts's; this file only lays it out to fit the terminal's width.
 */
import type { Command } from 'commander';
import { EXIT } from '../backends/backend';
import { ago } from '../render/status-view';
import { displayWidth, outputWidth, padEnd, wrap } from '../render/text';
import { type CellState, type DigestRef, type InFlight, type StageCell, type StageMatrix, stageMatrix } from '../stage-matrix';
import { type BackendOptions, backendOptions, clock, json, type OperatorIo, paint, processIo, type SetCode, shortDigest, useColour, withBackend } from './common';

export interface StagesOptions extends BackendOptions {
  readonly service?: string;
  readonly json?: boolean;
  /** `--full-digests`. */
  readonly fullDigests?: boolean;
}

/** The colour of each state, by the release status `paint` already colours that way. */
const STATE_COLOUR: Record<CellState, string> = {
  HEALTHY: 'SUCCEEDED',
  IN_FLIGHT: 'RUNNING',
  WAITING: 'WAITING',
  DEGRADED: 'FAILED',
  EMPTY: 'NOT_STARTED',
};

/** The marker of a production stage (and the legend under the matrix). */
export const PRODUCTION_MARK = '★';

/** How a cell's state reads in the human output. */
const STATE_WORD: Record<CellState, string> = { EMPTY: 'EMPTY', HEALTHY: 'HEALTHY', IN_FLIGHT: 'IN FLIGHT', WAITING: 'WAITING', DEGRADED: 'DEGRADED' };
const STATE_W = Math.max(...Object.values(STATE_WORD).map((s) => s.length));

export interface RenderOptions {
  /** The columns to fit (cli/render/text.ts outputWidth). */
  readonly width: number;
  readonly colour: boolean;
  /** Full digests instead of `sha256:1234567890ab`. */
  readonly full?: boolean;
}

const digestText = (ref: DigestRef, full: boolean) => `${full ? ref.digest : ref.short}${ref.tag ? ` ${ref.tag}` : ''}`;

/** `since <clock> (<ago>)`; `compact`: `since <ago>` (the JSON has the instant). */
function sinceText(iso: string | null, now: Date, compact = false): string {
  if (!iso) return compact ? 'since before the ledger' : 'since before the first release in the ledger';
  return compact ? `since ${ago(iso, now)}` : `since ${clock(iso)} (${ago(iso, now)})`;
}

function inFlightText(f: InFlight, full: boolean): string {
  const what = f.kind === 'rollback' ? 'rollback' : f.kind === 'drill' ? 'drill' : 'release';
  const target = f.tag ?? (f.digest ? (full ? f.digest : shortDigest(f.digest)) : null);
  const to = target ? (f.kind === 'release' ? ` (${target})` : ` → ${target}`) : '';
  return `${what} ${f.releaseId}${to}: ${f.message}`;
}

/** The detail lines of a cell (each wrapped later at the detail column's width, `width`). */
function cellDetails(c: StageCell, now: Date, full: boolean, width: number): string[] {
  const lines: string[] = [];
  if (c.running) {
    // What runs and since when on one line: with the instant when it fits, else only how long ago; else on two lines.
    const what = digestText(c.running, full);
    const one = [sinceText(c.running.since, now), sinceText(c.running.since, now, true)].map((since) => `${what}, ${since}`).find((l) => displayWidth(l) <= width);
    const since = sinceText(c.running.since, now);
    lines.push(...(one ? [one] : [`${what},`, displayWidth(since) <= width ? since : sinceText(c.running.since, now, true)]));
  } else lines.push(c.state === 'EMPTY' ? 'nothing deployed yet' : 'nothing known to run here');
  if (c.lastKnownGood && c.lastKnownGood.digest !== c.running?.digest)
    lines.push(`last known good ${digestText(c.lastKnownGood, full)}${c.lastKnownGood.since ? ` (promoted ${clock(c.lastKnownGood.since)})` : ''}`);
  if (c.state === 'DEGRADED') lines.push(`degraded: ${c.reason}`);
  for (const f of c.inFlight) lines.push(`↳ ${inFlightText(f, full)}`);
  return lines;
}

/** The human form of the matrix: one block per service, one row per stage; every line fits `width` columns. */
export function renderStageMatrix(m: StageMatrix, opts: RenderOptions): string {
  const width = opts.width;
  const now = new Date(m.generatedAt);
  const full = opts.full === true;
  const out: string[] = [];
  const fit = (text: string) => wrap(text, width).split('\n');
  out.push(...fit(`${m.source} at ${clock(m.generatedAt)}`));
  if (m.note) out.push(...fit(`note: ${m.note}`));
  if (m.services.length === 0) out.push(...fit('no services to show (no config, and no release in the ledger: give --config)'));
  const names = m.services.flatMap((s) => s.stages.map((c) => displayWidth(c.stage)));
  // The stage column shrinks (a longer name gets a line of its own) so that the details keep at least 24 columns.
  const nameW = Math.max(4, Math.min(Math.max(0, ...names), width - 2 - 2 - (STATE_W + 2) - 24));
  const prefixW = 2 + nameW + 2 + STATE_W + 2;
  const detailW = width - prefixW;
  for (const svc of m.services) {
    out.push('');
    out.push(...wrap(svc.service, width).split('\n'));
    for (const c of svc.stages) {
      const mark = c.production ? `${PRODUCTION_MARK} ` : '  ';
      const state = paint(opts.colour, STATE_COLOUR[c.state], padEnd(STATE_WORD[c.state], STATE_W));
      // A stage name wider than its column is never cut: it gets a line of its own, the row goes on under it.
      const long = displayWidth(c.stage) > nameW;
      if (long)
        out.push(
          ...wrap(c.stage, width - 2)
            .split('\n')
            .map((l, i) => `${i === 0 ? mark : '  '}${l}`),
        );
      const prefix = `${long ? '  ' : mark}${padEnd(long ? '' : c.stage, nameW)}  ${state}  `;
      const pad = ' '.repeat(prefixW);
      // An in-flight line's continuation is indented under its text (after `↳ `).
      const details = cellDetails(c, now, full, detailW).flatMap((d) => wrap(d, detailW, d.startsWith('↳ ') ? 2 : 0).split('\n'));
      details.forEach((d, i) => out.push(i === 0 ? `${prefix}${d}` : `${pad}${d}`));
    }
  }
  if (m.services.some((s) => s.stages.some((c) => c.production))) {
    out.push('');
    out.push(...fit(`${PRODUCTION_MARK} production stage`));
  }
  return out.join('\n');
}

export async function runStages(opts: StagesOptions, io: OperatorIo): Promise<number> {
  return withBackend(opts, io, async (b) => {
    const m = await stageMatrix(b, opts.service !== undefined ? { service: opts.service } : {});
    if (opts.json) {
      io.out(json(m));
      return EXIT.ok;
    }
    io.out(renderStageMatrix(m, { width: outputWidth(io), colour: useColour(io), full: opts.fullDigests === true }));
    return EXIT.ok;
  });
}

/** Register `gantry stages`. */
export function registerStagesCommand(program: Command, setCode: SetCode, io: OperatorIo = processIo()): void {
  backendOptions(
    program
      .command('stages')
      .description('what runs in each stage of each service now, since when, its last known good, and what is in flight there')
      .option('--service <service>', 'only this service')
      .option('--json', 'print the stage matrix as one JSON object (full digests)')
      .option('--full-digests', 'print full digests instead of sha256:1234567890ab (as gantry simulate --full-digests)'),
  ).action(async (opts: StagesOptions) => {
    setCode(await runStages(opts, io));
  });
}

/**
 * `gantry stages [--service S] [--json] [--full]` (issue 20, decision 055): what runs in each stage of each service
 * now and since when, its last known good when that differs, and the releases, rollbacks and drills at work in or
 * waiting for each stage. The data is cli/stage-matrix.ts's; this file only lays it out to fit the terminal's width.
 */
import type { Command } from 'commander';
import { EXIT } from '../backends/backend';
import { ago } from '../render/status-view';
import { displayWidth, outputWidth, padEnd, truncate, wrap } from '../render/text';
import { type CellState, type DigestRef, type InFlight, type StageCell, type StageMatrix, stageMatrix } from '../stage-matrix';
import { type BackendOptions, backendOptions, clock, json, type OperatorIo, paint, processIo, type SetCode, shortDigest, useColour, withBackend } from './common';

export interface StagesOptions extends BackendOptions {
  readonly service?: string;
  readonly json?: boolean;
  readonly full?: boolean;
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

function sinceText(iso: string | null, now: Date): string {
  return iso ? `since ${clock(iso)} (${ago(iso, now)})` : 'since before the ledger’s releases';
}

function inFlightText(f: InFlight, full: boolean): string {
  const what = f.kind === 'rollback' ? 'rollback' : f.kind === 'drill' ? 'drill' : 'release';
  const target = f.tag ?? (f.digest ? (full ? f.digest : shortDigest(f.digest)) : null);
  const to = target ? (f.kind === 'release' ? ` (${target})` : ` → ${target}`) : '';
  return `${what} ${f.releaseId}${to}: ${f.message}`;
}

/** The detail lines of a cell (each wrapped later at the detail column's width). */
function cellDetails(c: StageCell, now: Date, full: boolean): string[] {
  const lines: string[] = [];
  lines.push(c.running ? `${digestText(c.running, full)}, ${sinceText(c.running.since, now)}` : c.state === 'EMPTY' ? 'nothing deployed yet' : 'running: unknown');
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
  // The stage column shrinks (names are cut with …) so that the details keep at least 24 columns.
  const nameW = Math.max(4, Math.min(Math.max(0, ...names), width - 2 - 2 - (STATE_W + 2) - 24));
  const prefixW = 2 + nameW + 2 + STATE_W + 2;
  const detailW = width - prefixW;
  for (const svc of m.services) {
    out.push('');
    out.push(truncate(svc.service, width));
    for (const c of svc.stages) {
      const mark = c.production ? `${PRODUCTION_MARK} ` : '  ';
      const state = paint(opts.colour, STATE_COLOUR[c.state], padEnd(STATE_WORD[c.state], STATE_W));
      const prefix = `${mark}${padEnd(truncate(c.stage, nameW), nameW)}  ${state}  `;
      const pad = ' '.repeat(prefixW);
      // An in-flight line's continuation is indented under its text (after `↳ `).
      const details = cellDetails(c, now, full).flatMap((d) => wrap(d, detailW, d.startsWith('↳ ') ? 2 : 0).split('\n'));
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
    io.out(renderStageMatrix(m, { width: outputWidth(io), colour: useColour(io), full: opts.full === true }));
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
      .option('--full', 'print full digests instead of sha256:1234567890ab'),
  ).action(async (opts: StagesOptions) => {
    setCode(await runStages(opts, io));
  });
}

/**
 * The human rendering of a simulation: a timeline in virtual time, then each release's summary (issue 20,
 * decision 057). Every line fits the width (cli/render/text.ts): a reason wraps under itself, or on the next
 * line when too little room is left. Digests are short (`sha256:1234567890ab`) unless `fullDigests`. A stage's
 * gates evaluated at one instant are one line when they all PASS; any other result lists each gate. Results
 * are coloured on a terminal only (`colour`).
 *
 * `TimelineWriter` renders in batches so that `gantry simulate` can print the timeline while the virtual clock
 * runs: a batch holds whole instants, and the lines of a batch depend only on it and the lines before, so the
 * streamed lines are the same as those of `renderTimeline` on the final output.
 */
import { rollbackFromText } from '../../lambdas/domain/release';
import type { SimulationOutput, TimelineEntry } from '../../local/sim-types';
import { paint } from '../commands/common';
import { DEFAULT_WIDTH, hanging, padEnd, shortDigests } from './text';

export interface TimelineOptions {
  /** The columns to fit (text.ts `outputWidth`). */
  readonly width: number;
  /** Colour the results (a terminal without NO_COLOR: common.ts `useColour`). */
  readonly colour: boolean;
  /** Every step, each gate on its own line, the lease and stage-start lines too. */
  readonly verbose?: boolean;
  /** Whole digests instead of `sha256:` and 12 hex digits. */
  readonly fullDigests?: boolean;
}

const QUIET = new Set(['Lease Acquired', 'Lease Released', 'Stage Started']);
/** The columns before the reason: roomier from 100 columns on, tighter below so that a reason still fits beside them at 80. */
const WIDE = { time: 10, stage: 9, step: 25, result: 12 };
const NARROW = { time: 9, stage: 8, step: 24, result: 10 };
/** A reason narrower than this beside the columns goes on the next line, under the stage column. */
const MIN_REASON = 24;
/** Summary stage lines: the stage and status columns. */
const STAGE = 9;

/** `text` and at least one space, padded to `width` columns (a longer text pushes the next column, never cut). */
const cell = (text: string, width: number) => `${padEnd(text, width - 1)} `;

const isGate = (t: TimelineEntry) => t.event.startsWith('Gate ');

export class TimelineWriter {
  private day: string | undefined;
  private release: string | null | undefined;

  private readonly cols: typeof WIDE;

  constructor(private readonly o: TimelineOptions) {
    this.cols = o.width >= 100 ? WIDE : NARROW;
  }

  /** The digests as the options want them in free text. */
  text(s: string): string {
    return this.o.fullDigests ? s : shortDigests(s);
  }

  private fit(line: string): string[] {
    return hanging('', line, this.o.width, { minText: 1 });
  }

  /** The banner and the column heads: printed before the clock starts. */
  header(scenario: string): string[] {
    return [
      ...this.fit(`SIMULATION — "${scenario}"`),
      ...this.fit('Simulated: no AWS account was used. Times are virtual (UTC); the real workflows and handlers ran against a local cloud.'),
      '',
      `${cell('time', this.cols.time)}${cell('stage', this.cols.stage)}${cell('step', this.cols.step)}${cell('result', this.cols.result)}reason`,
    ];
  }

  /** The lines of a batch of timeline entries (whole instants, in the timeline's order). */
  entries(batch: readonly TimelineEntry[]): string[] {
    const shown = this.o.verbose ? batch : batch.filter((t) => !QUIET.has(t.event));
    const lines: string[] = [];
    for (let i = 0; i < shown.length;) {
      const t = shown[i] as TimelineEntry;
      // The gates of one stage at one instant: one line when they all PASS.
      let j = i + 1;
      if (isGate(t) && !this.o.verbose) while (j < shown.length && isGate(shown[j] as TimelineEntry) && sameGroup(t, shown[j] as TimelineEntry)) j++;
      const run = shown.slice(i, j);
      if (run.length > 1 && run.every((g) => g.result === 'PASS')) {
        lines.push(...this.row(t, 'Gates', paint(this.o.colour, 'PASS', `✓ ${run.length} PASS`), run.map(gateLabel).join(' ')));
      } else {
        for (const e of run) lines.push(...this.row(e, e.event, e.result ? paint(this.o.colour, e.result) : '', e.reason ?? ''));
      }
      i = j;
    }
    return lines;
  }

  private row(t: TimelineEntry, step: string, result: string, reason: string): string[] {
    const lines: string[] = [];
    const day = t.at.slice(0, 10);
    if (day !== this.day) {
      this.day = day;
      lines.push(`── ${day} ──`);
    }
    const release = t.release ?? null;
    if (release !== this.release) {
      this.release = release;
      lines.push(...this.fit(release ? `▸ ${release}` : '▸ outside a release'));
    }
    const c = this.cols;
    const prefix = `${cell(t.at.slice(11, 19), c.time)}${cell(t.stage ?? '—', c.stage)}${cell(step, c.step)}${cell(result, c.result)}`;
    lines.push(...hanging(prefix, this.text(reason), this.o.width, { minText: MIN_REASON, fallbackIndent: c.time }));
    return lines;
  }

  /** After the timeline: each release, the stages now, what went unused or wrong, the virtual time span. */
  summary(out: SimulationOutput): string[] {
    const { colour } = this.o;
    const d = (s: string | null | undefined) => this.text(s ?? '');
    const lines: string[] = ['', 'Summary'];
    const add = (text: string, indent: number) => lines.push(...hanging(' '.repeat(indent), text, this.o.width, { minText: 1 }));
    if (out.releases.length === 0) add('no release was started', 2);
    for (const r of out.releases) {
      add(`${r.releaseId}  ${r.kind === 'rollback' ? 'rollback of ' : ''}${r.service} ${r.tag ?? ''} ${r.digest ? d(r.digest) : '(unresolved)'}`, 2);
      add(`status: ${paint(colour, r.status)}${r.reason ? ` — ${d(r.reason)}` : ''}`, 4);
      add(`initiator: ${r.initiator ?? 'unknown'}`, 4);
      for (const s of r.stages) {
        const failing = s.gates.filter((g) => g.result !== 'PASS');
        const passed = s.gates.length - failing.length;
        const gates =
          failing.length === 0
            ? s.gates.length
              ? paint(colour, 'PASS', `✓ ${passed} gates PASS`)
              : 'no gate evaluated'
            : `${failing.map((g) => `${g.gate}:${paint(colour, g.result)}`).join(' ')}${passed ? ` (${passed} PASS)` : ''}`;
        const rb = s.rollback ? `; rollback ${String(s.rollback.result ?? 'started')} ${d(rollbackFromText(s.rollback))} → ${d(String(s.rollback.toDigest ?? ''))}` : '';
        lines.push(...hanging(`    ${cell(s.name, STAGE + 1)}${cell(paint(colour, s.status), 16)}`, `${gates}${rb}`, this.o.width, { minText: 24, fallbackIndent: 6 }));
      }
      add(`audit: ${r.audit.events} ledger events, hash chain ${r.audit.verified ? 'verified' : `BROKEN (${(r.audit.problems ?? []).join('; ')})`}`, 4);
    }
    for (const s of out.skipped) add(`skipped push ${s.repository}:${s.tag ?? '(no tag)'} — ${d(s.reason)}`, 2);
    if (Object.keys(out.stages).length) {
      lines.push('', 'Stages now');
      const keyWidth = Math.max(...Object.keys(out.stages).map((k) => k.length)) + 2;
      for (const [k, v] of Object.entries(out.stages))
        lines.push(
          ...hanging(`  ${cell(k, keyWidth)}`, `running ${d(v.running) || '—'}  last known good ${d(v.lastKnownGood) || '—'}`, this.o.width, { minText: 24, fallbackIndent: 4 }),
        );
    }
    for (const u of out.unused) add(`unused script line ${u.index}: ${d(u.reason)}`, 2);
    for (const w of out.warnings) add(`warning: ${d(w)}`, 2);
    lines.push('');
    add(`(simulation: virtual time ${out.clock.start} → ${out.clock.end})`, 0);
    return lines;
  }
}

function sameGroup(a: TimelineEntry, b: TimelineEntry): boolean {
  return a.at === b.at && a.release === b.release && a.stage === b.stage;
}

/** The whole human rendering of a finished simulation (what `gantry simulate` streams, in one piece). */
export function renderTimeline(out: SimulationOutput, options: Partial<TimelineOptions> = {}): string {
  const w = new TimelineWriter({ width: DEFAULT_WIDTH, colour: false, ...options });
  return [...w.header(out.scenario), ...w.entries(out.timeline), ...w.summary(out)].join('\n');
}

/** A gate's name in a grouped line; a control decided again at the point of action ("at deploy time: …") says so: `window@deploy`. */
function gateLabel(g: TimelineEntry): string {
  const when = /^at (deploy|rollback) time:/.exec(g.reason ?? '');
  return `${g.event.slice(5)}${when ? `@${when[1]}` : ''}`;
}

/**
 * Event-driven versus polling bakes (issue 5): how long after an alarm's transition the rollback
 * starts, and how many Step Functions state transitions a release costs as bakes get longer.
 * Virtual time from the simulation: the workflow and handlers are the real ones.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadScenario } from '../local/scenario';
import { simulate } from '../local/simulate';

const ROOT = join(__dirname, '..');
type Mode = { label: string; bake: { mode: 'event' | 'poll'; intervalSeconds?: number } };
export const MODES: Mode[] = [
  { label: 'event-driven', bake: { mode: 'event' } },
  { label: 'poll 30 s', bake: { mode: 'poll', intervalSeconds: 30 } },
  { label: 'poll 60 s', bake: { mode: 'poll', intervalSeconds: 60 } },
];

/**
 * The demo release (examples/scenarios/demo.json) with every stage baked in `mode` for `bakeMinutes`,
 * optionally an alarm in the prod bake, and the pushed image's scan already complete unless `scan` says otherwise.
 */
export function scenario(mode: Mode, bakeMinutes: number, alarmAfter?: string, scan: Record<string, unknown> = { status: 'COMPLETE', findings: [] }) {
  const s = JSON.parse(readFileSync(join(ROOT, 'examples', 'scenarios', 'demo.json'), 'utf8'));
  const cfg = JSON.parse(readFileSync(join(ROOT, 'examples', 'gantry.config.json'), 'utf8'));
  for (const st of cfg.services.payments.stages) {
    st.bake = mode.bake;
    st.bakeMinutes = bakeMinutes;
  }
  s.config = cfg;
  s.ecr['payments-api'].images[1].scan = scan;
  s.script = alarmAfter ? [{ when: { service: 'payments', stage: 'prod', phase: 'bake', after: alarmAfter }, alarm: { name: 'payments-prod-5xx', state: 'ALARM' } }] : [];
  return loadScenario(s, join(ROOT, 'examples', 'scenarios'));
}

export interface BakeFigures {
  mode: string;
  detectionSeconds: number[];
  transitions: Record<number, number>;
}

export async function measureBakes(): Promise<BakeFigures[]> {
  const offsets = ['PT7M', 'PT7M10S', 'PT7M25S', 'PT7M45S'];
  const out: BakeFigures[] = [];
  for (const mode of MODES) {
    const detectionSeconds: number[] = [];
    for (const after of offsets) {
      const { output } = await simulate(scenario(mode, 30, after));
      const rb = output.releases[0]?.stages.find((s) => s.name === 'prod')?.rollback as { detectedAt: string; startedAt: string } | undefined;
      if (!rb) throw new Error(`${mode.label} ${after}: no rollback`);
      detectionSeconds.push((Date.parse(rb.startedAt) - Date.parse(rb.detectedAt)) / 1000);
    }
    const transitions: Record<number, number> = {};
    for (const bakeMinutes of [10, 30, 120]) {
      const { output } = await simulate(scenario(mode, bakeMinutes));
      if (output.releases[0]?.status !== 'SUCCEEDED') throw new Error(`${mode.label}: clean release did not succeed`);
      transitions[bakeMinutes] = output.executions[0]?.transitions ?? Number.NaN;
    }
    out.push({ mode: mode.label, detectionSeconds, transitions });
  }
  return out;
}

export function bakeTable(figures: BakeFigures[]): string {
  const rows = [
    '| bake mode | alarm → rollback start (s), alarm at prod bake 7:00 / 7:10 / 7:25 / 7:45 | max (s) | transitions, 3-stage release, bakes of 10 / 30 / 120 min | transitions per stage, 30-min bake |',
    '|---|---|---|---|---|',
  ];
  for (const f of figures) {
    rows.push(
      `| ${f.mode} | ${f.detectionSeconds.join(' / ')} | ${Math.max(...f.detectionSeconds)} | ${[10, 30, 120].map((m) => f.transitions[m]).join(' / ')} | ${Math.round(((f.transitions[30] ?? 0) / 3) * 10) / 10} |`,
    );
  }
  return rows.join('\n');
}

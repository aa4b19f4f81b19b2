/**
 * `cdk synth` wall time: the real CLI (node_modules/.bin/cdk, the pinned 2.1148) running the real app
 * (cdk.json: `npx tsx bin/app.ts`), bundling every handler and running cdk-nag, into a fresh output
 * directory each time (no asset left over from a previous run). Median of 3.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, s, verdict } from './stats';

const ROOT = join(__dirname, '..');
export const SYNTH_COMMAND = 'CDK_DISABLE_CLI_TELEMETRY=true node_modules/.bin/cdk synth --no-notices -q -o <fresh temp dir>';
export const SYNTH_GOAL_MS = 15_000;

export interface SynthFigures {
  runsMs: number[];
  medianMs: number;
}

export function measureSynth(runs = 3): SynthFigures {
  const runsMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const out = mkdtempSync(join(tmpdir(), 'gantry-bench-synth-'));
    try {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(join(ROOT, 'node_modules', '.bin', 'cdk'), ['synth', '--no-notices', '-q', '-o', out], {
        cwd: ROOT,
        env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' },
        encoding: 'utf8',
      });
      const elapsed = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.status !== 0) throw new Error(`cdk synth failed (exit ${r.status}):\n${r.stderr.split('\n').filter((l) => !l.startsWith('Bundling asset')).join('\n')}`);
      runsMs.push(elapsed);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }
  return { runsMs, medianMs: median(runsMs) };
}

export function synthTable(f: SynthFigures): string {
  return [
    '| measure | runs | median | goal | |',
    '|---|---|---|---|---|',
    `| \`cdk synth\` wall time (bundles every handler, runs cdk-nag) | ${f.runsMs.map((v) => s(v)).join(' / ')} | ${s(f.medianMs)} | ≤ ${s(SYNTH_GOAL_MS, 0)} | ${verdict(f.medianMs <= SYNTH_GOAL_MS)} |`,
  ].join('\n');
}

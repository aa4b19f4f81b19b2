/**
 * `cdk synth` wall time: the real CLI (node_modules/.bin/cdk, the pinned 2.1148) running the real app
 * (cdk.json: `npx tsx bin/app.ts`), bundling every handler and running cdk-nag, into a fresh output
 * directory each time (no asset left over from a previous run). Median of 3.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, s, verdict } from './stats';

const ROOT = join(__dirname, '..');
export const SYNTH_COMMAND = 'CDK_DISABLE_CLI_TELEMETRY=true node_modules/.bin/cdk synth --no-notices -q -o <fresh temp dir>';
export const SYNTH_GOAL_MS = 15_000;

export interface SynthFigures {
  runsMs: number[];
  medianMs: number;
  /** CPU time (user + system) of the CLI and everything it ran, per run; NaN where /proc is missing. */
  cpuMs: number[];
}

/**
 * CPU time of this process's waited-for children (Linux /proc/self/stat cutime + cstime, in ticks of
 * 1/100 s). Less sensitive to other load on the machine than wall time.
 */
function childrenCpuMs(): number {
  if (!existsSync('/proc/self/stat')) return Number.NaN;
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

export function measureSynth(runs = 3): SynthFigures {
  const runsMs: number[] = [];
  const cpuMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const out = mkdtempSync(join(tmpdir(), 'gantry-bench-synth-'));
    try {
      const cpu0 = childrenCpuMs();
      const t0 = process.hrtime.bigint();
      const r = spawnSync(join(ROOT, 'node_modules', '.bin', 'cdk'), ['synth', '--no-notices', '-q', '-o', out], {
        cwd: ROOT,
        env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' },
        encoding: 'utf8',
      });
      const elapsed = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.status !== 0)
        throw new Error(
          `cdk synth failed (exit ${r.status}):\n${r.stderr
            .split('\n')
            .filter((l) => !l.startsWith('Bundling asset'))
            .join('\n')}`,
        );
      runsMs.push(elapsed);
      cpuMs.push(childrenCpuMs() - cpu0);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }
  return { runsMs, medianMs: median(runsMs), cpuMs };
}

export function synthTable(f: SynthFigures): string {
  return [
    '| measure | runs | median | goal | |',
    '|---|---|---|---|---|',
    `| \`cdk synth\` wall time (bundles every handler, runs cdk-nag) | ${f.runsMs.map((v) => s(v)).join(' / ')} | ${s(f.medianMs)} | ≤ ${s(SYNTH_GOAL_MS, 0)} | ${verdict(f.medianMs <= SYNTH_GOAL_MS)} |`,
    `| CPU time (user + sys) of the CLI, the app and esbuild | ${f.cpuMs.map((v) => s(v)).join(' / ')} | ${s(median(f.cpuMs))} | | |`,
  ].join('\n');
}

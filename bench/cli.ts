/**
 * `gantry` start-up (issue 17): median wall time of 10 cold processes (`node bin/gantry.js …`, a new Node each time)
 * for `--help`, `--version`, and the local read commands `status --local` and `releases --local` against a local
 * Gantry made from the demo scenario, once through the bundle (dist/cli/gantry.js, rebuilt first) and once through
 * the tsx fallback (GANTRY_NO_BUNDLE=1). Also: the bundle's freshness check (GANTRY_DEBUG) and the one-off time to
 * make the local Gantry (a simulation: helper A's part of the figure). Goal: 300 ms for each bundled command.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, ms, verdict } from './stats';

const ROOT = join(__dirname, '..');
const BIN = join(ROOT, 'bin', 'gantry.js');
export const CLI_GOAL_MS = 300;
const RUNS = 10;

export interface CliFigures {
  readonly rows: ReadonlyArray<{ readonly command: string; readonly bundleMs: number; readonly tsxMs: number }>;
  readonly checkMs: number;
  readonly simulateMs: number;
  readonly bundleKb: number;
}

class CliBenchError extends Error {
  override readonly name = 'CliBenchError';
}

function run(args: readonly string[], env: NodeJS.ProcessEnv): { ms: number; stderr: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } });
  const took = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new CliBenchError(`gantry ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { ms: took, stderr: r.stderr };
}

export function measureCli(): CliFigures {
  const build = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-cli.mjs')], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new CliBenchError(`build-cli failed: ${build.stderr}`);
  const bundleKb = Number(/\((\d+) KB/.exec(build.stdout)?.[1] ?? Number.NaN);
  const dir = mkdtempSync(join(tmpdir(), 'gantry-bench-cli-'));
  try {
    const local = join(dir, 'local');
    const simulateMs = run(['simulate', join(ROOT, 'examples', 'scenarios', 'demo.json'), '--state', local], { GANTRY_NO_BUNDLE: '' }).ms;
    const commands: Array<readonly string[]> = [['--help'], ['--version'], ['status', '--local', local], ['releases', '--local', local]];
    const rows = commands.map((args) => {
      const bundle: number[] = [];
      const tsx: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        bundle.push(run(args, { GANTRY_NO_BUNDLE: '', GANTRY_DEBUG: '' }).ms);
        tsx.push(run(args, { GANTRY_NO_BUNDLE: '1' }).ms);
      }
      return { command: `${args.join(' ').replace(local, '<demo dir>')}`, bundleMs: median(bundle), tsxMs: median(tsx) };
    });
    const checks: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const m = /checked in ([\d.]+) ms/.exec(run(['--version'], { GANTRY_DEBUG: '1', GANTRY_NO_BUNDLE: '' }).stderr);
      if (!m) throw new CliBenchError('bin/gantry.js did not run the bundle: is dist/cli/gantry.js fresh?');
      checks.push(Number(m[1]));
    }
    return { rows, checkMs: median(checks), simulateMs, bundleKb };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function cliTable(f: CliFigures): string {
  const lines = [
    `Median of ${RUNS} cold processes each (\`node bin/gantry.js …\`); goal ${CLI_GOAL_MS} ms through the bundle.`,
    '',
    '| `node bin/gantry.js …` | bundle (dist/cli/gantry.js) | tsx fallback | goal |',
    '|---|---|---|---|',
    ...f.rows.map((r) => `| \`${r.command}\` | ${ms(r.bundleMs)} | ${ms(r.tsxMs)} | ${verdict(r.bundleMs <= CLI_GOAL_MS)} |`),
    '',
    `Bundle ${f.bundleKb} KB (npm packages outside it). Freshness check (stat of every bundled source): ${ms(f.checkMs, 1)} median. ` +
      `Making the demo's local Gantry (one simulation, once): ${ms(f.simulateMs)}; the read commands only read its files.`,
  ];
  return lines.join('\n');
}

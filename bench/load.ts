/**
 * The load replay (issue 8's scenario, issue 17's measures): `services` × `digests` releases through the
 * real workflows and handlers (local/load.ts), each run in a fresh `node` process so its peak RSS is its
 * own. Per run: wall and CPU time, peak RSS, releases and how they ended, DynamoDB requests the handlers
 * sent (a TransactWriteItems is one request), state transitions.
 *
 * `npm run bench -- load` runs 500 (50 × 10) and 5,000 (100 × 50) releases; one size alone:
 * `node --import tsx bench/load.ts 50 10`.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { loadScenarioLoaded } from '../local/load';
import { simulate } from '../local/simulate';
import { s, verdict } from './stats';

export interface LoadFigures {
  readonly services: number;
  readonly digests: number;
  readonly releases: number;
  readonly succeeded: number;
  readonly blocked: number;
  readonly running: number;
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly maxRssMb: number;
  readonly requests: number;
  readonly transitions: number;
}

export const LOAD_GOAL_MS = 30_000;
export const LOAD_GOAL_RSS_MB = 1024;
export const LOAD_SIZES: ReadonlyArray<readonly [number, number]> = [
  [50, 10],
  [100, 50],
];

/** One replay in this process (the child's entry). */
export async function replay(services: number, digests: number): Promise<LoadFigures> {
  const loaded = loadScenarioLoaded({ services, digests });
  let requests = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const { output } = await simulate(loaded, { observeLedger: () => requests++ });
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    services,
    digests,
    releases: output.releases.length,
    succeeded: output.releases.filter((r) => r.status === 'SUCCEEDED').length,
    blocked: output.releases.filter((r) => r.status === 'BLOCKED').length,
    running: output.releases.filter((r) => r.status === 'RUNNING').length,
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    requests,
    transitions: output.executions.reduce((n, e) => n + e.transitions, 0),
  };
}

/** Each size in a fresh process. */
export function measureLoad(sizes = LOAD_SIZES): LoadFigures[] {
  return sizes.map(([services, digests]) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, 'load.ts'), String(services), String(digests)], {
      encoding: 'utf8',
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'SILENT' },
      maxBuffer: 16 * 1024 * 1024,
    });
    if (r.status !== 0) throw new Error(`load replay ${services} × ${digests} failed (exit ${r.status}): ${r.stderr.slice(-2000)}`);
    return JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as LoadFigures;
  });
}

export function loadTable(rows: readonly LoadFigures[]): string {
  const lines = [
    '| releases | services × digests | wall | CPU | peak RSS | ended | DynamoDB requests (per release) | transitions (per release) | ≤ 30 s, ≤ 1 GB (500) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const goal = r.releases === 500 ? verdict(r.wallMs <= LOAD_GOAL_MS && r.maxRssMb <= LOAD_GOAL_RSS_MB) : '—';
    lines.push(
      `| ${r.releases.toLocaleString('en-US')} | ${r.services} × ${r.digests} | ${s(r.wallMs)} | ${s(r.cpuMs)} | ${r.maxRssMb.toFixed(0)} MB | ${r.succeeded} SUCCEEDED, ${r.blocked} BLOCKED, ${r.running} RUNNING | ${r.requests.toLocaleString('en-US')} (${(r.requests / r.releases).toFixed(0)}) | ${r.transitions.toLocaleString('en-US')} (${(r.transitions / r.releases).toFixed(0)}) | ${goal} |`,
    );
  }
  return lines.join('\n');
}

if (require.main === module) {
  const [services, digests] = process.argv.slice(2).map(Number);
  replay(services ?? 50, digests ?? 10).then(
    (f) => process.stdout.write(`${JSON.stringify(f)}\n`),
    (e) => {
      process.stderr.write(`${(e as Error).stack}\n`);
      process.exitCode = 1;
    },
  );
}

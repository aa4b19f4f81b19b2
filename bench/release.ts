/**
 * One release through the simulation (the real `release` workflow and handlers, local engine, in-memory DynamoDB
 * ledger, virtual clock): Step Functions state transitions and the AWS cost they imply, for bakes of any
 * length, and how long one release takes to simulate.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadScenario, loadScenarioFile } from '../local/scenario';
import { HANDLERS, simulate } from '../local/simulate';
import { MODES, scenario } from './bake';
import { median, ms, s, verdict } from './stats';

const ROOT = join(__dirname, '..');
const DEMO = join(ROOT, 'examples', 'scenarios', 'demo.json');

export const TRANSITIONS_GOAL = 150;
/** Issue 17: a release's transitions stay flat whatever it waits for (scan, lease, window). */
export const WAIT_TRANSITIONS_GOAL = 80;
export const ONE_RELEASE_GOAL_MS = 1_000;

/** List prices (us-east-1, no free tier) and the assumptions of the cost estimate. */
export const PRICES = {
  /** Step Functions Standard: $0.025 per 1,000 state transitions. */
  perTransition: 0.025 / 1000,
  /** Lambda requests: $0.20 per million. */
  perInvocation: 0.2 / 1e6,
  /** Lambda arm64 compute: $0.0000133334 per GB-second. */
  perGbSecond: 0.0000133334,
  memoryGb: 0.5,
  /** Assumed billed duration of one invocation (handlers make 1–4 DynamoDB/EventBridge/ECR calls). */
  billedSeconds: 0.2,
} as const;

export interface TransitionFigures {
  /** The demo scenario as shipped. */
  demo: {
    status: string;
    transitions: number;
    workflowInvocations: number;
    byHandler: Record<string, { calls: number; meanMs: number }>;
    eventInvocations: number;
    ledgerEvents: number;
  };
  /** The demo release with every stage's bake (event-driven) set to these minutes → transitions. */
  byBake: Array<{ bakeMinutes: number; transitions: number; status: string }>;
  /** The same release (30-min event-driven bakes) with the image's scan finishing this many minutes in → transitions. */
  byScanWait: Array<{ scanMinutes: number; transitions: number; status: string }>;
  /** A second release of the same service pushed this many minutes after the first: it waits for each stage's lease → its transitions. */
  byLeaseWait: Array<{ pushedAfterMinutes: number; transitions: number; status: string }>;
  /** Every stage's release window opens this many hours after the push (policy: wait) → transitions. */
  byWindowWait: Array<{ opensAfterHours: number; transitions: number; status: string }>;
}

/** Counts (and times, in wall ms against the local ledger) every workflow Lambda task of one simulation. */
export async function withCountedHandlers<T>(fn: () => Promise<T>): Promise<{ result: T; byHandler: Record<string, { calls: number; meanMs: number }> }> {
  const original = { ...HANDLERS };
  const stats: Record<string, { calls: number; totalMs: number }> = {};
  for (const [name, run] of Object.entries(original)) {
    HANDLERS[name] = async (event, deps) => {
      const t0 = process.hrtime.bigint();
      try {
        return await run(event, deps);
      } finally {
        const st = (stats[name] ??= { calls: 0, totalMs: 0 });
        st.calls++;
        st.totalMs += Number(process.hrtime.bigint() - t0) / 1e6;
      }
    };
  }
  try {
    const result = await fn();
    return { result, byHandler: Object.fromEntries(Object.entries(stats).map(([k, v]) => [k, { calls: v.calls, meanMs: v.totalMs / v.calls }])) };
  } finally {
    Object.assign(HANDLERS, original);
  }
}

export async function measureTransitions(): Promise<TransitionFigures> {
  const { result, byHandler } = await withCountedHandlers(() => simulate(loadScenarioFile(DEMO)));
  const { output, ledgerEvents } = result;
  const stages = output.releases[0]?.stages.length ?? 0;
  const demo = {
    status: output.releases[0]?.status ?? 'none',
    transitions: releaseTransitions(output.executions),
    workflowInvocations: Object.values(byHandler).reduce((n, h) => n + h.calls, 0),
    byHandler,
    // Outside the workflow: intake for the ECR push and again for its CloudTrail PutImage record; one bake-timer per stage.
    eventInvocations: 2 + stages,
    ledgerEvents: ledgerEvents.length,
  };
  const event = MODES.find((m) => m.bake.mode === 'event');
  if (!event) throw new Error('no event-driven bake mode');
  const byBake: TransitionFigures['byBake'] = [];
  // 480, not 1,440: three stages of day-long bakes are refused by the history budget (docs/decisions/017-history-budget.md).
  for (const bakeMinutes of [10, 30, 120, 480]) {
    const { output: o } = await simulate(scenario(event, bakeMinutes));
    byBake.push({ bakeMinutes, transitions: releaseTransitions(o.executions), status: o.releases[0]?.status ?? 'none' });
  }
  const byScanWait: TransitionFigures['byScanWait'] = [];
  for (const scanMinutes of [0, 3, 10, 15]) {
    const scan = scanMinutes > 0 ? { status: 'IN_PROGRESS', completesAfter: `PT${scanMinutes}M`, findings: [] } : undefined;
    const { output: o } = await simulate(scenario(event, 30, undefined, scan));
    byScanWait.push({ scanMinutes, transitions: releaseTransitions(o.executions), status: o.releases[0]?.status ?? 'none' });
  }
  const byLeaseWait: TransitionFigures['byLeaseWait'] = [];
  for (const pushedAfterMinutes of [1, 20]) {
    const raw = rawDemo();
    const second = `sha256:${'3'.repeat(64)}`;
    raw.ecr['payments-api'].images.push({ ...raw.ecr['payments-api'].images[1], digest: second, tags: ['v1.4.3'], pushedAt: raw.clock });
    raw.triggers.push({ ...raw.triggers[0], tag: 'v1.4.3', digest: second, at: `PT${pushedAfterMinutes}M` });
    const { output: o } = await simulate(loadScenario(raw, SCENARIOS));
    // The second release: it finds each stage's lease held by the first and waits for it.
    const waiting = o.executions.filter((e) => e.machine === 'release').find((e) => e.name.includes('3333333333'));
    byLeaseWait.push({ pushedAfterMinutes, transitions: waiting?.transitions ?? Number.NaN, status: o.releases.map((r) => r.status).join('+') });
  }
  const byWindowWait: TransitionFigures['byWindowWait'] = [];
  for (const opensAfterHours of [0, 2, 12]) {
    const raw = rawDemo();
    if (opensAfterHours > 0) {
      const from = `${String((10 + opensAfterHours) % 24).padStart(2, '0')}:00`;
      const to = `${String((10 + opensAfterHours + 4) % 24).padStart(2, '0')}:00`;
      for (const st of raw.config.services.payments.stages) {
        st.windows = { timezone: 'UTC', allow: [{ days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'], from, to }], outside: 'wait' };
      }
    }
    const { output: o } = await simulate(loadScenario(raw, SCENARIOS));
    byWindowWait.push({ opensAfterHours, transitions: releaseTransitions(o.executions), status: o.releases[0]?.status ?? 'none' });
  }
  return { demo, byBake, byScanWait, byLeaseWait, byWindowWait };
}

const SCENARIOS = join(ROOT, 'examples', 'scenarios');

/** The demo scenario as JSON with the example config inline, 30-min event-driven bakes and the scan already complete (bench/bake.ts `scenario`, before parsing). */
function rawDemo(): any {
  const s = JSON.parse(readFileSync(DEMO, 'utf8'));
  const cfg = JSON.parse(readFileSync(join(ROOT, 'examples', 'gantry.config.json'), 'utf8'));
  for (const st of cfg.services.payments.stages) {
    st.bake = { mode: 'event' };
    st.bakeMinutes = 30;
  }
  s.config = cfg;
  s.ecr['payments-api'].images[1].scan = { status: 'COMPLETE', findings: [] };
  s.script = [];
  return s;
}

function releaseTransitions(executions: ReadonlyArray<{ machine: string; transitions: number }>): number {
  return executions.filter((e) => e.machine === 'release').reduce((n, e) => n + e.transitions, 0);
}

export function costOf(f: TransitionFigures['demo']): { sfn: number; lambda: number; total: number; invocations: number } {
  const invocations = f.workflowInvocations + f.eventInvocations;
  const sfn = f.transitions * PRICES.perTransition;
  const lambda = invocations * (PRICES.perInvocation + PRICES.memoryGb * PRICES.billedSeconds * PRICES.perGbSecond);
  return { sfn, lambda, total: sfn + lambda, invocations };
}

export function transitionsTable(f: TransitionFigures): string {
  const c = costOf(f.demo);
  const usd = (v: number) => `$${v.toFixed(5)}`;
  const worst = Math.max(f.demo.transitions, ...f.byBake.map((b) => b.transitions));
  return [
    '| measure | value | goal | |',
    '|---|---|---|---|',
    `| state transitions, demo release (3 stages, ${f.demo.status}) | ${f.demo.transitions} | ≤ ${TRANSITIONS_GOAL} | ${verdict(f.demo.transitions <= TRANSITIONS_GOAL)} |`,
    `| state transitions with event-driven bakes of ${f.byBake.map((b) => `${b.bakeMinutes}`).join(' / ')} min | ${f.byBake.map((b) => b.transitions).join(' / ')} (${[...new Set(f.byBake.map((b) => b.status))].join(', ')}) | ≤ ${TRANSITIONS_GOAL} whatever the bake | ${verdict(worst <= TRANSITIONS_GOAL)} |`,
    `| state transitions when the image scan is still running at the first gate for ${f.byScanWait.map((b) => `${b.scanMinutes}`).join(' / ')} min (event-driven scan wait, 30-min bakes) | ${f.byScanWait.map((b) => b.transitions).join(' / ')} (${[...new Set(f.byScanWait.map((b) => b.status))].join(', ')}) | ≤ ${WAIT_TRANSITIONS_GOAL} whatever the scan | ${verdict(Math.max(...f.byScanWait.map((b) => b.transitions)) <= WAIT_TRANSITIONS_GOAL)} |`,
    `| state transitions of a second release pushed ${f.byLeaseWait.map((b) => `${b.pushedAfterMinutes}`).join(' / ')} min after the first, waiting for each stage's lease | ${f.byLeaseWait.map((b) => b.transitions).join(' / ')} (${[...new Set(f.byLeaseWait.map((b) => b.status))].join(', ')}) | ≤ ${WAIT_TRANSITIONS_GOAL} whatever the lease wait | ${verdict(Math.max(...f.byLeaseWait.map((b) => b.transitions)) <= WAIT_TRANSITIONS_GOAL)} |`,
    `| state transitions when every stage's release window opens ${f.byWindowWait.map((b) => `${b.opensAfterHours}`).join(' / ')} h after the push (wait) | ${f.byWindowWait.map((b) => b.transitions).join(' / ')} (${[...new Set(f.byWindowWait.map((b) => b.status))].join(', ')}) | ≤ ${WAIT_TRANSITIONS_GOAL} whatever the window wait | ${verdict(Math.max(...f.byWindowWait.map((b) => b.transitions)) <= WAIT_TRANSITIONS_GOAL)} |`,
    `| Step Functions cost per release | ${usd(c.sfn)} (${f.demo.transitions} × $0.025 / 1,000) | | |`,
    `| Lambda invocations per release | ${c.invocations} (${f.demo.workflowInvocations} workflow tasks counted + ${f.demo.eventInvocations} event-driven, assumed) | | |`,
    `| Lambda cost per release | ${usd(c.lambda)} (${c.invocations} × ($0.20 / 1M + ${PRICES.memoryGb} GB × ${PRICES.billedSeconds} s × $0.0000133334 / GB-s)) | | |`,
    `| **estimated cost per 3-stage release** | **${usd(c.total)}** (≈ $${(c.total * 1000).toFixed(2)} per 1,000 releases) | | |`,
    `| ledger events written per release | ${f.demo.ledgerEvents} | | |`,
    '',
    `Workflow task invocations by handler (mean wall time per call against the local in-memory ledger): ${Object.entries(f.demo.byHandler)
      .sort((a, b) => b[1].calls - a[1].calls)
      .map(([k, v]) => `${k} ${v.calls} × ${ms(v.meanMs, 1)}`)
      .join(', ')}.`,
  ].join('\n');
}

export interface ThroughputFigures {
  coldMs: number;
  runsMs: number[];
  medianMs: number;
}

/** Wall time of `gantry simulate examples/scenarios/demo.json` in-process: load the scenario, simulate it (the in-memory DynamoDB start included). */
export async function measureThroughput(runs = 5): Promise<ThroughputFigures> {
  const once = async () => {
    const t0 = process.hrtime.bigint();
    const { output } = await simulate(loadScenarioFile(DEMO));
    if (output.releases[0]?.status !== 'SUCCEEDED') throw new Error(`demo release ended ${output.releases[0]?.status}`);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  const coldMs = await once();
  const runsMs: number[] = [];
  for (let i = 0; i < runs; i++) runsMs.push(await once());
  return { coldMs, runsMs, medianMs: median(runsMs) };
}

export function throughputTable(f: ThroughputFigures): string {
  return [
    '| measure | runs | median | goal | |',
    '|---|---|---|---|---|',
    `| one simulated release (demo scenario, 3 stages, load + simulate incl. ledger start) | ${f.runsMs.map((v) => ms(v)).join(' / ')} | ${ms(f.medianMs)} | ≤ ${s(ONE_RELEASE_GOAL_MS, 0)} | ${verdict(f.medianMs <= ONE_RELEASE_GOAL_MS)} |`,
    `| the same, first run in the process (module warm-up) | ${ms(f.coldMs)} | | | |`,
  ].join('\n');
}

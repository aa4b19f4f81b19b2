/**
 * Runs a model history through the simulator in process (the function behind `gantry simulate --json
 * --export FILE`), checks the invariants, writes a failing history to a file that reproduces it, and
 * shrinks a failing history to a smaller one that still breaks the same invariant.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatExport } from '../../lambdas/domain/audit';
import { type LoadedScenario, loadScenario } from '../../local/scenario';
import { type SimulationOutput, simulate } from '../../local/simulate';
import { scenarioForSeed } from './generator';
import { type InvariantName, type ModelRun, type ScenarioDoc, type Violation, checkRun } from './invariants';

const ROOT = join(__dirname, '..', '..');

/** Run one scenario document (it is not modified) and return what the invariants read. */
export async function runScenario(doc: Record<string, unknown>): Promise<ModelRun> {
  return runLoaded(doc, loadScenario(structuredClone(doc), ROOT));
}

async function runLoaded(doc: Record<string, unknown>, loaded: LoadedScenario): Promise<ModelRun> {
  const result = await simulate(loaded);
  const exportText = formatExport(result.ledgerEvents, { insights: result.insightRecords });
  return { doc: doc as unknown as ScenarioDoc, output: result.output, exportText };
}

export interface HistoryResult {
  readonly seed?: number;
  readonly doc: Record<string, unknown>;
  readonly violations: Violation[];
  readonly releases: number;
  readonly deployments: number;
  /** What happened in the history (OUTCOMES), to show that the generated histories reach the states the invariants are about. */
  readonly outcomes: ReadonlySet<Outcome>;
}

/** What a history can show; model.test.ts expects each in some history of its fixed seeds. */
export const OUTCOMES = {
  'a prod deploy': (o) => o.deployments.some((d) => d.stage === 'prod' && d.kind === 'deploy'),
  'a rollback driver run': (o) => o.deployments.some((d) => d.kind === 'rollback'),
  'an approval given': (o) => o.releases.some((r) => r.stages.some((s) => s.approval?.decision === 'APPROVED')),
  'an approval rejected': (o) => o.releases.some((r) => r.stages.some((s) => s.approval?.decision === 'REJECTED')),
  'an approval timed out': (o) => o.releases.some((r) => r.stages.some((s) => s.approval?.decision === 'TIMED_OUT')),
  'a wait for the window': (o) => o.timeline.some((t) => t.event === 'Waiting for window'),
  'a wait for a lease': (o) => o.timeline.some((t) => t.event === 'Waiting for lease'),
  'a stage blocked by the freeze': (o) => o.releases.some((r) => r.stages.some((s) => s.gates.some((g) => g.gate === 'window' && g.result === 'FAIL' && /freeze/.test(g.reason)))),
  'a break-glass WARN': (o) => o.releases.some((r) => r.stages.some((s) => s.gates.some((g) => g.gate === 'window' && g.result === 'WARN'))),
  'a bake failed by an alarm': (o) => o.releases.some((r) => r.stages.some((s) => s.gates.some((g) => g.gate === 'bake' && g.result === 'FAIL'))),
  'a release aborted': (o) => o.releases.some((r) => r.status === 'ABORTED'),
  'an operator rollback done': (o) => o.releases.some((r) => r.kind === 'rollback' && r.status === 'ROLLED_BACK'),
  'an operator rollback refused': (o) => o.releases.some((r) => r.kind === 'rollback' && r.status === 'BLOCKED'),
  'a release superseded': (o) => o.releases.some((r) => /superseded/i.test(r.reason ?? '') || r.stages.some((s) => s.status === 'SUPERSEDED')),
  'an AWS fault injected': (o) => o.timeline.some((t) => t.event === 'Fault Injected'),
  'a canary promoted': (o) => o.releases.some((r) => r.stages.some((s) => s.name === 'prod' && s.status === 'PROMOTED')) && o.deployments.some((d) => d.kind === 'canary'),
  'a canary aborted': (o) => o.timeline.some((t) => /^Canary Step/.test(t.event) && t.result === 'aborted'),
  'a duplicate delivery': (o) => o.timeline.some((t) => t.event === 'Push Received' && / ×\d/.test(t.reason ?? '')),
} satisfies Record<string, (o: SimulationOutput) => boolean>;
export type Outcome = keyof typeof OUTCOMES;

/**
 * Run and check one scenario. A scenario the schema refuses throws its ValidationError; a simulation
 * that throws is a violation of "no internal error" (so that its seed and scenario are printed like any other).
 */
export async function checkScenario(doc: Record<string, unknown>, seed?: number): Promise<HistoryResult> {
  const loaded = loadScenario(structuredClone(doc), ROOT);
  let run: ModelRun;
  try {
    run = await runLoaded(doc, loaded);
  } catch (e) {
    const message = `the simulation threw: ${(e as Error).stack?.split('\n').slice(0, 4).join(' | ') ?? String(e)}`;
    return { ...(seed !== undefined ? { seed } : {}), doc, violations: [{ invariant: 'no internal error', message }], releases: 0, deployments: 0, outcomes: new Set() };
  }
  const outcomes = new Set((Object.keys(OUTCOMES) as Outcome[]).filter((k) => OUTCOMES[k](run.output)));
  return { ...(seed !== undefined ? { seed } : {}), doc, violations: checkRun(run), releases: run.output.releases.length, deployments: run.output.deployments.length, outcomes };
}

export async function checkSeed(seed: number): Promise<HistoryResult> {
  return checkScenario(scenarioForSeed(seed), seed);
}

let reproDir: string | undefined;
/** Write a scenario to a temp file; returns its path and the command that replays it. */
export function writeRepro(doc: Record<string, unknown>, label: string): { file: string; command: string } {
  reproDir ??= mkdtempSync(join(tmpdir(), 'gantry-model-'));
  const file = join(reproDir, `${label.replace(/[^A-Za-z0-9._-]+/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
  return { file, command: `node bin/gantry.js simulate ${file} --json` };
}

/** One failure, as printed: the invariant, the first messages, the seed, the file and the command that reproduce it. */
export function describeFailure(invariant: string, r: HistoryResult, messages: readonly string[], repro: { file: string; command: string }): string {
  return [
    `invariant "${invariant}" failed on ${r.seed !== undefined ? `seed ${r.seed}` : 'a saved scenario'} (${r.releases} releases, ${r.deployments} driver runs):`,
    ...messages.slice(0, 5).map((m) => `  - ${m}`),
    ...(messages.length > 5 ? [`  … and ${messages.length - 5} more`] : []),
    `  scenario: ${repro.file}`,
    `  replay:   ${repro.command}`,
  ].join('\n');
}

// ---------------------------------------------------------------- shrinking

type Doc = Record<string, unknown> & { triggers?: unknown[]; script?: unknown[] };

/** Smaller variants of a document: one trigger or script line fewer, or fewer copies of a push. */
function* smaller(doc: Doc): Generator<Doc> {
  for (const key of ['triggers', 'script'] as const) {
    const list = doc[key] ?? [];
    for (let i = list.length - 1; i >= 0; i--) yield { ...doc, [key]: list.filter((_, j) => j !== i) };
  }
  const triggers = doc.triggers ?? [];
  for (let i = 0; i < triggers.length; i++) {
    if (((triggers[i] as { copies?: number }).copies ?? 1) > 1) yield { ...doc, triggers: triggers.map((x, j) => (j === i ? { ...(x as object), copies: 1 } : x)) };
  }
}

/**
 * Greedy shrinking: drop one trigger or script line at a time while the run still breaks `invariant`,
 * until nothing can be dropped or `budget` runs are spent. Returns the smallest document found.
 */
export async function shrink(
  doc: Record<string, unknown>,
  invariant: InvariantName,
  budget = 60,
): Promise<{ doc: Record<string, unknown>; runs: number; messages: string[]; result?: HistoryResult }> {
  let best = doc as Doc;
  let bestResult: HistoryResult | undefined;
  let messages: string[] = [];
  let runs = 0;
  let progress = true;
  while (progress && runs < budget) {
    progress = false;
    for (const candidate of smaller(best)) {
      if (runs >= budget) break;
      runs++;
      let r: HistoryResult;
      try {
        r = await checkScenario(candidate);
      } catch {
        continue; // an invalid candidate (e.g. a trigger the config needs) is not smaller, just wrong
      }
      const hits = r.violations.filter((x) => x.invariant === invariant).map((x) => x.message);
      if (hits.length > 0) {
        best = candidate;
        bestResult = r;
        messages = hits;
        progress = true;
        break;
      }
    }
  }
  const shrunk = { ...best, name: `${String(best.name ?? 'model history')} (shrunk for: ${invariant})` };
  return { doc: shrunk, runs, messages, ...(bestResult ? { result: { ...bestResult, doc: shrunk } } : {}) };
}

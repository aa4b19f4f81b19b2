/**
 * A local Gantry (`--local <dir>`): a directory holding a scenario (the environment: config, ECR
 * images, alarms, what runs where), the operator's actions so far, each at the virtual "now" it was
 * taken, and the result of re-running the deterministic simulation up to "now":
 *
 *   <dir>/gantry-local.json   the scenario (config inlined), "now", the actions
 *   <dir>/ledger.jsonl        the ledger, in the `gantry audit export` format (audit/metrics/report read it)
 *   <dir>/simulation.json     the simulation output (`gantry simulate --json`), for executions and alarms
 *
 * Every mutating command (start, rollback, approve/reject, freeze) appends an action at "now" and
 * re-runs the whole simulation from the scenario's start to "now"; read commands only read the files.
 * `gantry simulate <scenario> --state <dir> [--until D]` creates one; `gantry simulate --state <dir>
 * --advance D` moves its clock on. See docs/decisions/011-cli-backends.md.
 */
import { approvalState } from '../../lambdas/domain/approvers';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { type AnchorSignature, formatExport, parseExport, exportEvents, type ParsedExport } from '../../lambdas/domain/audit';
import type { GantryConfig } from '../../lambdas/domain/config';
import { parseIsoDuration } from '../../lambdas/domain/durations';
import { type LedgerEvent, projectRelease, type ReleaseSummary } from '../../lambdas/domain/ledger';
import { operatorExecutionName } from '../../lambdas/domain/release';
import { parseReleaseInput, parseRollbackInput } from '../../lambdas/domain/release-input';
import { parseDrillInput } from '../../lambdas/domain/drill';
import { ValidationError } from '../../lambdas/domain/validation';
import type { FreezeState, ReleaseQuery } from '../../lambdas/ports';
import { type LoadedScenario, loadScenario, readConfigFile, readScenarioJson } from '../../local/scenario';
// The simulation (the local runtime: SDK clients, the in-memory DynamoDB, aws-local-stepfunctions) is loaded only to run it:
// the read commands only read the files (issue 17).
import type { SimulationOutput } from '../../local/simulate';
const simulate: typeof import('../../local/simulate').simulate = async (...args) => (await import('../../local/simulate')).simulate(...args);
import {
  type AbortResult,
  type Decision,
  type DecisionResult,
  type ExecutionDescription,
  type GantryBackend,
  NotFoundError,
  RefusedError,
  type StagePointerView,
  type StartResult,
} from './backend';
import { abortRefusal, parseAbortRequest } from '../../lambdas/domain/operator-requests';
import { CliInputError } from '../errors';

export const STATE_FILE = 'gantry-local.json';
export const LEDGER_FILE = 'ledger.jsonl';
export const SIMULATION_FILE = 'simulation.json';
const FORMAT = 'gantry-local/1';

/** Who acts in a local Gantry unless `--as` says otherwise. */
export const DEFAULT_LOCAL_PRINCIPAL = 'arn:aws:sts::111122223333:assumed-role/Operators/local-operator';
const PRINCIPAL = /^arn:aws[a-z-]*:(iam|sts)::\d{12}:\S+$/;

const actionSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('start'), at: z.string(), principal: z.string(), input: z.record(z.string(), z.unknown()) }),
  z.object({ type: z.literal('rollback'), at: z.string(), principal: z.string(), input: z.record(z.string(), z.unknown()) }),
  z.object({ type: z.literal('drill'), at: z.string(), principal: z.string(), input: z.record(z.string(), z.unknown()) }),
  z.object({ type: z.literal('freeze'), at: z.string(), principal: z.string(), state: z.enum(['on', 'off']), reason: z.string() }),
  /** `gantry abort` (decision 053): POST /aborts through the operator API at `at`. */
  z.object({ type: z.literal('abort'), at: z.string(), principal: z.string(), releaseId: z.string(), reason: z.string() }),
  z.object({
    type: z.literal('decision'),
    at: z.string(),
    principal: z.string(),
    decision: z.enum(['approve', 'reject']),
    releaseId: z.string(),
    service: z.string(),
    stage: z.string(),
    comment: z.string().optional(),
    /** Decision 049: the saved Terraform plan decided on. */
    planSha256: z.string().optional(),
    /** When the stage's approval phase began (the decision's script line is keyed on it). */
    phaseAt: z.string(),
  }),
]);
export type LocalAction = z.infer<typeof actionSchema>;

const stateSchema = z.object({
  format: z.literal(FORMAT),
  /** The scenario as given, its config inlined so the directory stands alone. */
  scenario: z.record(z.string(), z.unknown()),
  /** Where the scenario's relative paths resolve. */
  baseDir: z.string(),
  /** The local Gantry's virtual "now": the simulation runs up to it. */
  now: z.string(),
  actions: z.array(actionSchema),
});
export type LocalState = z.infer<typeof stateSchema>;

const atDuration = (startIso: string, atIso: string) => `PT${Math.max(0, Date.parse(atIso) - Date.parse(startIso)) / 1000}S`;

/** The scenario with the actions as triggers and script lines, and the release id each start/rollback gets. */
export function scenarioWithActions(state: LocalState): { raw: Record<string, unknown>; names: Map<number, string> } {
  const raw = structuredClone(state.scenario) as Record<string, unknown> & { clock: string; triggers?: unknown[]; script?: unknown[] };
  const triggers = [...(raw.triggers ?? [])];
  const script = [...(raw.script ?? [])];
  const names = new Map<number, string>();
  state.actions.forEach((a, k) => {
    const at = atDuration(raw.clock, a.at);
    if (a.type === 'start' || a.type === 'rollback' || a.type === 'drill') {
      const index = triggers.length;
      const service = typeof a.input.service === 'string' && /^[a-z][a-z0-9-]{0,39}$/.test(a.input.service) ? a.input.service : 'release';
      const when = new Date(Date.parse(raw.clock) + parseIsoDuration(at));
      names.set(k, a.type === 'start' ? operatorExecutionName(service, when, String(index)) : operatorExecutionName(`${service}-${a.type}`, when, String(index)));
      triggers.push({ type: a.type, principal: a.principal, input: a.input, at });
    } else if (a.type === 'freeze') {
      triggers.push({ type: 'freeze', state: a.state, reason: a.reason, principal: a.principal, at });
    } else if (a.type === 'abort') {
      triggers.push({ type: 'abort', releaseId: a.releaseId, reason: a.reason, principal: a.principal, at });
    } else {
      const after = atDuration(a.phaseAt, a.at);
      script.push({
        // Keyed on the release decided on: another release of the service reaching this approval is not decided by it.
        when: { service: a.service, stage: a.stage, phase: 'approval', after, release: a.releaseId },
        // The plan the operator named (`--plan`), or none: a CLI decision never picks the plan for the caller (decision 049).
        [a.decision]: { principal: a.principal, ...(a.comment ? { comment: a.comment } : {}), planSha256: a.planSha256 ?? null },
      });
    }
  });
  raw.triggers = triggers;
  raw.script = script;
  return { raw, names };
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** Run the simulation of a local Gantry up to its "now" and store the ledger and the output. */
export async function runLocal(
  dir: string,
  state: LocalState,
): Promise<{ output: SimulationOutput; ledgerEvents: LedgerEvent[]; names: Map<number, string>; signatures?: ReadonlyMap<string, AnchorSignature> }> {
  const { raw, names } = scenarioWithActions(state);
  const loaded = loadScenario(raw, state.baseDir, join(dir, STATE_FILE));
  const { output, ledgerEvents, signatures } = await simulate(loaded, { until: Date.parse(state.now) });
  store(dir, state, output, ledgerEvents, signatures);
  return { output, ledgerEvents, names, ...(signatures ? { signatures } : {}) };
}

function store(dir: string, state: LocalState, output: SimulationOutput, ledgerEvents: readonly LedgerEvent[], signatures?: ReadonlyMap<string, AnchorSignature>): void {
  mkdirSync(dir, { recursive: true });
  // Each finished release's anchor carries the local key's signature (decision 048).
  writeAtomic(join(dir, LEDGER_FILE), formatExport(ledgerEvents, signatures ? { signatures } : {}));
  writeAtomic(join(dir, SIMULATION_FILE), `${JSON.stringify(output, null, 2)}\n`);
  // The state last: a directory with a state file always has the results that go with it.
  writeAtomic(join(dir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
}

/** Read a scenario file with its config inlined (so the local Gantry does not depend on the file later). */
export function readScenarioInlined(file: string): { scenario: Record<string, unknown>; baseDir: string } {
  // Read strictly (duplicate keys, deep nesting refused), as `gantry simulate` reads it.
  const raw = readScenarioJson(file);
  const baseDir = dirname(resolve(file));
  // Validate once as `gantry simulate` does (one line per problem), then inline the config.
  loadScenario(raw, baseDir, file);
  const scenario = raw as Record<string, unknown>;
  if (typeof scenario.config === 'string') scenario.config = readConfigFile(resolve(baseDir, scenario.config), scenario.config, file);
  return { scenario, baseDir };
}

/** `gantry simulate <scenario> --state <dir> [--until D]`: a new local Gantry whose "now" is start + D (default: when nothing is left to happen). */
export async function createLocalGantry(
  dir: string,
  scenarioFile: string,
  until?: string,
): Promise<{ state: LocalState; output: SimulationOutput; ledgerEvents: LedgerEvent[]; signatures?: ReadonlyMap<string, AnchorSignature> }> {
  if (existsSync(join(dir, STATE_FILE)))
    throw new CliInputError(
      `${dir} already holds a local Gantry (${STATE_FILE}); use another directory, or move its clock with gantry simulate --state ${dir} --advance <duration>`,
    );
  const { scenario, baseDir } = readScenarioInlined(scenarioFile);
  const start = Date.parse(String(scenario.clock));
  if (until !== undefined) {
    const state: LocalState = { format: FORMAT, scenario, baseDir, now: new Date(start + durationArg(until, '--until')).toISOString(), actions: [] };
    const { output, ledgerEvents, signatures } = await runLocal(dir, state);
    return { state, output, ledgerEvents, ...(signatures ? { signatures } : {}) };
  }
  // Run until nothing is left to happen; that moment is "now" (a re-run to it replays the same).
  const { output, ledgerEvents, signatures } = await simulate(loadScenario(scenario, baseDir, scenarioFile));
  const state: LocalState = { format: FORMAT, scenario, baseDir, now: new Date(Date.parse(output.clock.end)).toISOString(), actions: [] };
  store(dir, state, output, ledgerEvents, signatures);
  return { state, output, ledgerEvents, ...(signatures ? { signatures } : {}) };
}

/** `gantry simulate --state <dir> (--advance D | --until D)`: move a local Gantry's clock on and re-run. */
export async function advanceLocalGantry(
  dir: string,
  opts: { advance?: string; until?: string },
): Promise<{ state: LocalState; output: SimulationOutput; ledgerEvents: LedgerEvent[]; signatures?: ReadonlyMap<string, AnchorSignature> }> {
  const state = readState(dir);
  const start = Date.parse(String(state.scenario.clock));
  const target = opts.until !== undefined ? start + durationArg(opts.until, '--until') : Date.parse(state.now) + durationArg(opts.advance ?? 'PT0S', '--advance');
  if (target < Date.parse(state.now)) throw new CliInputError(`--until: the local Gantry is already at ${state.now}; time only moves forward (give a later --until, or --advance)`);
  const next: LocalState = { ...state, now: new Date(target).toISOString() };
  const { output, ledgerEvents, signatures } = await runLocal(dir, next);
  return { state: next, output, ledgerEvents, ...(signatures ? { signatures } : {}) };
}

function durationArg(value: string, option: string): number {
  try {
    return parseIsoDuration(value, option, option);
  } catch (e) {
    if (e instanceof ValidationError) throw new CliInputError(`${option}: expected an ISO-8601 duration such as PT2H or P1DT30M, got ${JSON.stringify(value)}`, { cause: e });
    throw e;
  }
}

export function readState(dir: string): LocalState {
  const file = join(dir, STATE_FILE);
  if (!existsSync(file)) {
    throw new NotFoundError(`${dir} is not a local Gantry (no ${STATE_FILE}); create one with gantry simulate <scenario.json> --state ${dir} [--until PT1H]`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CliInputError(`${file}: expected the JSON a local Gantry keeps (${(e as Error).message})`, { cause: e });
  }
  const r = stateSchema.safeParse(raw);
  if (!r.success) throw new CliInputError(`${file}: not a ${FORMAT} state file (${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')})`);
  return r.data;
}

export interface LocalBackendOptions {
  /** The principal the operator acts as (`--as`). @default DEFAULT_LOCAL_PRINCIPAL or GANTRY_LOCAL_PRINCIPAL */
  readonly principal?: string;
}

export class LocalBackend implements GantryBackend {
  readonly kind = 'local' as const;
  readonly label: string;
  private state: LocalState;
  private events: LedgerEvent[];
  /** ledger.jsonl as written: the events and each release's anchor line. */
  private parsed: ParsedExport;
  private output: SimulationOutput;
  private readonly principal: string;
  private readonly loadedConfig: GantryConfig;
  /** What the scenario says ran in each stage before it started (local/sim-world.ts seedStages). */
  private readonly seeds: LoadedScenario['scenario']['stages'];

  constructor(
    private readonly dir: string,
    options: LocalBackendOptions = {},
  ) {
    this.state = readState(dir);
    this.principal = options.principal ?? process.env.GANTRY_LOCAL_PRINCIPAL ?? DEFAULT_LOCAL_PRINCIPAL;
    if (!PRINCIPAL.test(this.principal)) throw new CliInputError(`--as: expected an IAM or STS principal ARN, got ${JSON.stringify(this.principal)}`);
    this.label = `local Gantry ${dir} (simulation)`;
    const loaded = loadScenario(this.state.scenario, this.state.baseDir, join(dir, STATE_FILE));
    this.loadedConfig = loaded.config;
    this.seeds = loaded.scenario.stages;
    ({ events: this.events, parsed: this.parsed, output: this.output } = this.readResults());
  }

  private readResults(): { events: LedgerEvent[]; parsed: ParsedExport; output: SimulationOutput } {
    try {
      const parsed = parseExport(readFileSync(join(this.dir, LEDGER_FILE), 'utf8'));
      const output = JSON.parse(readFileSync(join(this.dir, SIMULATION_FILE), 'utf8')) as SimulationOutput;
      return { events: exportEvents(parsed), parsed, output };
    } catch (e) {
      throw new CliInputError(
        `${this.dir}: the local Gantry's ${LEDGER_FILE} or ${SIMULATION_FILE} is missing or unreadable; re-run it with gantry simulate --state ${this.dir} --advance PT0S`,
        { cause: e },
      );
    }
  }

  /** Re-read the directory (another command may have changed it: `status --watch`). */
  refresh(): void {
    this.state = readState(this.dir);
    ({ events: this.events, parsed: this.parsed, output: this.output } = this.readResults());
  }

  config(): GantryConfig {
    return this.loadedConfig;
  }

  now(): Date {
    return new Date(this.state.now);
  }

  close(): void {}

  private async act(action: LocalAction): Promise<{ name?: string; output: SimulationOutput }> {
    const next: LocalState = { ...this.state, actions: [...this.state.actions, action] };
    const { output, ledgerEvents, names, signatures } = await runLocal(this.dir, next);
    this.state = next;
    this.events = ledgerEvents;
    this.parsed = parseExport(formatExport(ledgerEvents, signatures ? { signatures } : {}));
    this.output = output;
    return { name: names.get(next.actions.length - 1), output };
  }

  private async startAny(type: 'start' | 'rollback' | 'drill', input: Record<string, unknown>): Promise<StartResult> {
    const { name } = await this.act({ type, at: this.state.now, principal: this.principal, input });
    if (!name) throw new Error('unreachable: a start action has a name');
    return { releaseId: name, executionArn: `arn:aws:states:local:000000000000:execution:gantry-${type === 'start' ? 'release' : type}:${name}`, alreadyExists: false };
  }

  async startDrill(input: unknown): Promise<StartResult> {
    parseDrillInput(input, this.loadedConfig);
    return this.startAny('drill', input as Record<string, unknown>);
  }

  async startRelease(input: unknown): Promise<StartResult> {
    parseReleaseInput(input, this.loadedConfig);
    return this.startAny('start', input as Record<string, unknown>);
  }

  async startRollback(input: unknown): Promise<StartResult> {
    parseRollbackInput(input, this.loadedConfig);
    return this.startAny('rollback', input as Record<string, unknown>);
  }

  async stagePointer(service: string, stage: string): Promise<StagePointerView | undefined> {
    // The simulation's read-out keeps no promoted history: rebuild it as the ledger writes it, from the
    // scenario's seed (seedStages' markGood calls, in their order) and then each stage.promoted, in order.
    const seed = this.seeds[`${service}/${stage}`];
    const promoted: string[] = [];
    const add = (d: string | undefined) => {
      if (d && promoted.at(-1) !== d) promoted.push(d);
    };
    for (const d of seed?.promoted ?? []) add(d);
    add(seed?.lastKnownGood);
    if (seed?.running !== seed?.lastKnownGood) add(seed?.running);
    const ofService = new Set(this.events.filter((e) => e.type === 'release.started' && e.data.service === service).map((e) => e.releaseId));
    const promotions = this.events.filter((e) => e.type === 'stage.promoted' && e.stage === stage && ofService.has(e.releaseId));
    for (const e of promotions.sort((a, b) => a.at.localeCompare(b.at))) add(typeof e.data.digest === 'string' ? e.data.digest : undefined);
    const running = this.output.stages[`${service}/${stage}`]?.running;
    const lastKnownGood = this.output.stages[`${service}/${stage}`]?.lastKnownGood;
    return { ...(running ? { running } : {}), ...(lastKnownGood ? { lastKnownGood } : {}), promoted };
  }

  async listReleases(query: ReleaseQuery = {}): Promise<ReleaseSummary[]> {
    const groups = new Map<string, LedgerEvent[]>();
    for (const e of this.events) groups.set(e.releaseId, [...(groups.get(e.releaseId) ?? []), e]);
    const out: ReleaseSummary[] = [];
    for (const events of groups.values()) {
      const s = projectRelease(events);
      if (!s) continue;
      if (query.service !== undefined && s.service !== query.service) continue;
      if (query.from !== undefined && s.startedAt < query.from) continue;
      if (query.to !== undefined && s.startedAt > query.to) continue;
      out.push(s);
    }
    return out.sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.releaseId.localeCompare(a.releaseId));
  }

  async getReleaseEvents(releaseId: string): Promise<LedgerEvent[]> {
    return this.events.filter((e) => e.releaseId === releaseId).sort((a, b) => a.seq - b.seq);
  }

  async exportRelease(releaseId: string): Promise<ParsedExport> {
    return { events: this.parsed.events.filter((l) => l.event.releaseId === releaseId), anchors: this.parsed.anchors.filter((a) => a.anchor.releaseId === releaseId) };
  }

  async describeExecution(releaseId: string): Promise<ExecutionDescription | undefined> {
    const ex = this.output.executions.find((e) => e.name === releaseId);
    if (!ex) return undefined;
    return {
      releaseId,
      executionArn: `arn:aws:states:local:000000000000:execution:gantry-${ex.machine}:${ex.name}`,
      status: ex.status,
      ...(ex.error ? { error: ex.error } : {}),
    };
  }

  async getFreeze(): Promise<FreezeState> {
    const raw = scenarioWithActions(this.state).raw as { clock: string; triggers: Array<Record<string, unknown>> };
    const now = Date.parse(this.state.now);
    let state: FreezeState = { on: false };
    const freezes = raw.triggers
      .map((t, i) => ({ t, i, at: Date.parse(raw.clock) + parseIsoDuration(t.at ?? 'PT0S') }))
      .filter((x) => x.t.type === 'freeze' && x.at <= now)
      .sort((a, b) => a.at - b.at || a.i - b.i);
    for (const { t, at } of freezes) state = { on: t.state === 'on', reason: String(t.reason), principal: String(t.principal), at: new Date(at).toISOString() };
    return state;
  }

  async setFreeze(on: boolean, reason: string): Promise<FreezeState> {
    await this.act({ type: 'freeze', at: this.state.now, principal: this.principal, state: on ? 'on' : 'off', reason });
    return this.getFreeze();
  }

  /**
   * `gantry abort` (decision 053): refused here with the API's words when the release has ended, else an `abort` action
   * (POST /aborts through the operator API in the re-run: the local engine stops the execution and the reconciler closes
   * the record). Answers the release's status after the re-run.
   */
  async abortRelease(releaseId: string, reason: string): Promise<AbortResult> {
    parseAbortRequest({ releaseId, reason });
    const before = projectRelease(await this.getReleaseEvents(releaseId));
    if (!before) throw new NotFoundError(`release ${releaseId} is not in ${this.label}; list them with gantry releases --local ${this.dir}`);
    if (before.status !== 'RUNNING') throw new RefusedError(abortRefusal(releaseId, before.status, before.endedAt));
    const { output } = await this.act({ type: 'abort', at: this.state.now, principal: this.principal, releaseId, reason });
    const refused = output.timeline.find((t) => t.event === 'Abort Refused' && t.release === releaseId && t.at === this.state.now);
    if (refused) throw new RefusedError(`the operator API refused the abort of ${releaseId}: ${refused.reason ?? ''}`);
    const after = projectRelease(await this.getReleaseEvents(releaseId));
    const status = after?.status ?? 'RUNNING';
    return {
      releaseId,
      status,
      principal: this.principal,
      ...(after?.reason ? { reason: after.reason } : {}),
      message: `release ${releaseId} ${status}${after?.reason ? `: ${after.reason}` : ''}`,
    };
  }

  async decide(d: Decision): Promise<DecisionResult> {
    const events = await this.getReleaseEvents(d.releaseId);
    const summary = projectRelease(events);
    if (!summary) throw new NotFoundError(`release ${d.releaseId} is not in ${this.label}; list them with gantry releases --local ${this.dir}`);
    const what = `${d.stage} of ${d.releaseId}`;
    const waitingAt = events.filter((e) => e.stage === d.stage && e.type === 'stage.waiting' && e.data.waitingFor === 'approval').at(-1)?.at;
    // The stage's current approval round (a Terraform stage asks again for each new plan: decision 049).
    const decided = approvalState(events, d.stage).kind === 'decided';
    if (summary.status !== 'RUNNING' || !waitingAt || decided) {
      return { code: 1, lines: [{ stream: 'err', text: `no approval is waiting for ${what} (release ${summary.status}${decided ? ', already decided' : ''})` }] };
    }
    // Refusals are items beside the chain (not release events): the simulation's timeline notes each one.
    const refusedNotes = (o: SimulationOutput) => o.timeline.filter((t) => t.event === 'Approval Refused');
    const refusedBefore = refusedNotes(this.output).length;
    await this.act({
      type: 'decision',
      at: this.state.now,
      principal: this.principal,
      decision: d.decision,
      releaseId: d.releaseId,
      service: summary.service,
      stage: d.stage,
      // The script keys a decision on the stage's FIRST entry into its approval phase (local/sim-script.ts): a stage that
      // asks again (a new Terraform plan, decision 049) is decided now too, not that long after its first request.
      phaseAt: events.find((e) => e.stage === d.stage && e.type === 'stage.waiting' && e.data.waitingFor === 'approval')?.at ?? waitingAt,
      ...(d.comment ? { comment: d.comment } : {}),
      ...(d.planSha256 ? { planSha256: d.planSha256 } : {}),
    });
    const after = await this.getReleaseEvents(d.releaseId);
    const gate = after.find((e) => e.stage === d.stage && e.type === 'gate.evaluated' && e.data.gate === 'approval' && e.seq > events.length);
    if (gate) {
      return {
        code: 0,
        lines: [
          {
            stream: 'out',
            text: `${String(gate.data.decision ?? d.decision.toUpperCase())}: ${what} by ${String(gate.data.principal ?? this.principal)} at ${gate.at}${d.comment ? ` (${d.comment})` : ''}`,
          },
        ],
      };
    }
    // N-of-M (decision 050): an approval recorded that does not complete the count.
    const recorded = after.filter((e) => e.stage === d.stage && e.type === 'approval.recorded' && !events.some((x) => x.seq === e.seq)).at(-1);
    if (recorded) {
      const [count, required] = [Number(recorded.data.count), Number(recorded.data.required)];
      return {
        code: 0,
        lines: [
          {
            stream: 'out',
            text: `APPROVED (${count} of ${required} approvals; the stage waits for ${required - count} more): ${what} by ${String(recorded.data.principal)} at ${recorded.at}${d.comment ? ` (${d.comment})` : ''}`,
          },
        ],
      };
    }
    const refusal = refusedNotes(this.output).at(refusedBefore);
    if (refusal) {
      // The note reads `<decision> by <principal>: HTTP <status> <message>`.
      const m = /: HTTP (\d{3}) (.*)$/s.exec(String(refusal.reason ?? ''));
      const message = m?.[2];
      // 409: a decision on another plan than the stage's (decision 049) is refused before anything is recorded.
      if (m?.[1] === '409') return { code: 1, lines: [{ stream: 'err', text: message || `no approval is waiting for ${what}` }] };
      return {
        code: 1,
        lines: [
          { stream: 'err', text: `refused: ${message || 'the decision was refused'}` },
          { stream: 'err', text: `the refusal is recorded; ${what} keeps waiting for an approver` },
        ],
      };
    }
    throw new RefusedError(
      `the decision on ${what} did not reach the release (it was no longer waiting for an approval when the local Gantry re-ran up to now: gantry status ${summary.releaseId})`,
    );
  }

  async alarmStates(names: readonly string[]): Promise<Record<string, string>> {
    const initial = (this.state.scenario.alarms ?? {}) as Record<string, string>;
    const out: Record<string, string> = {};
    for (const n of names) out[n] = initial[n] ?? 'OK';
    for (const t of this.output.timeline) {
      if (t.event !== 'Alarm State Changed' || typeof t.reason !== 'string') continue;
      const m = /^(.*): (\S+) → (\S+)$/.exec(t.reason);
      if (m && names.includes(m[1] as string)) out[m[1] as string] = m[3] as string;
    }
    return out;
  }
}

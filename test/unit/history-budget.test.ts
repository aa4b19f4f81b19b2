/**
 * The history budget (lambdas/domain/history-budget.ts): its numbers checked against the committed workflow
 * (statemachines/release.asl.json) and the handlers, its arithmetic, and the configs it refuses and accepts.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { configSchema, type GantryConfig, historyProblems, parseConfig, type ServiceConfig } from '../../lambdas/domain/config';
import {
  type AslState,
  about,
  BAKE_SAFETY_MINUTES,
  DEPLOY_STARTUP_MINUTES,
  EXECUTION_EVENTS,
  EXECUTION_FIXED_EVENTS,
  eventsOfState,
  HISTORY_BUDGET,
  historyBudgetProblems,
  LEASE_WAIT,
  LOOP_EVENTS,
  type LoopName,
  SCAN_POLL_SECONDS,
  STAGE_FIXED_EVENTS,
  KUBERNETES_CONFLICT_LOOP_EVENTS,
  KUBERNETES_CONFLICT_RETRIES,
  KUBERNETES_WRITES_PER_STAGE,
  CANARY_FIXED_EXTRA_EVENTS,
  CANARY_STEP_EVENTS,
  CANARY_CONFLICT_LOOP_EVENTS,
  WINDOW_LOOKAHEAD_MINUTES,
  worstCaseHistory,
  worstEventsOfState,
  WAVE_LOOP_EVENTS,
  WAVE_FIXED_EVENTS,
  CLUSTER_DEPLOY_EVENTS,
  CLUSTER_ROLLBACK_EVENTS,
  MAP_ITERATION_EVENTS,
  TERRAFORM_PLAN_FIXED_EXTRA_EVENTS,
  TERRAFORM_PLAN_ROUND_EVENTS,
  TERRAFORM_PLANS_PER_STAGE,
  terraformPlanTerms,
} from '../../lambdas/domain/history-budget';
import { bakeTimeoutSeconds, deployTimeoutSeconds } from '../../lambdas/domain/release';
import { ValidationError } from '../../lambdas/domain/validation';
import { LOOKAHEAD_DAYS } from '../../lambdas/domain/windows';
import { SCAN_POLL_SECONDS as IMAGE_GATES_SCAN_POLL_SECONDS } from '../../lambdas/image-gates';
import { loadScenario } from '../../local/scenario';
import { MAX_UPDATE_ATTEMPTS } from '../../lambdas/domain/rollout';
import { CANARY_STATE_NAMES } from '../../drivers/kubernetes/canary-workflow';
import { TERRAFORM_PLAN_STATES } from '../../workflows/fragments/terraform-plan';
import { MAX_TERRAFORM_PLANS, plansBeforeApproval } from '../../lambdas/domain/plan-approval';

const ROOT = join(__dirname, '..', '..');
type State = AslState & { Next?: string; Default?: string; End?: boolean; Seconds?: number; Choices?: Array<{ Next: string }>; Catch?: Array<{ Next: string }> };
const ASL = JSON.parse(readFileSync(join(ROOT, 'statemachines', 'release.asl.json'), 'utf8')) as { StartAt: string; States: Record<string, State> };
const S = ASL.States;

/** Where a state can go next: Next, Default, each Choice, and (unless told not to) each Catch. */
function successors(s: State, withCatch = true): string[] {
  return [
    ...new Set(
      [s.Next, s.Default, ...(s.Choices ?? []).map((c) => c.Next), ...(withCatch ? (s.Catch ?? []).map((c) => c.Next) : [])].filter((n): n is string => typeof n === 'string'),
    ),
  ];
}

/** The shortest cycle from `wait` back to itself without Catch edges (a loop's normal iteration), as state names. */
function cycleOf(wait: string): string[] | undefined {
  const queue: string[][] = successors(S[wait] as State, false).map((n) => [n]);
  const seen = new Set<string>();
  while (queue.length > 0) {
    const path = queue.shift() as string[];
    const last = path.at(-1) as string;
    if (last === wait) return [wait, ...path.slice(0, -1)];
    if (seen.has(last)) continue;
    seen.add(last);
    for (const n of successors(S[last] as State, false)) queue.push([...path, n]);
  }
  return undefined;
}

/** The plan-first states of a Terraform stage with an approval (workflows/fragments/terraform-plan.ts, decision 049): no other stage enters them. */
const PLAN = new Set<string>(Object.values(TERRAFORM_PLAN_STATES));

/** The canary chain's states (drivers/kubernetes/canary-workflow.ts) but its Choice: a non-canary stage never enters them. */
const CANARY = new Set<string>(Object.values(CANARY_STATE_NAMES).filter((x) => x !== CANARY_STATE_NAMES.choose));

/**
 * The heaviest simple path from `from` until a state in `stops` (not counted) or the end, every Retry used up;
 * states in `skip` are never entered, and `withCatch: false` follows no Catch.
 */
function longest(from: string, stops: ReadonlySet<string>, visited = new Set<string>(), skip: ReadonlySet<string> = new Set(), withCatch = true): number {
  const s = S[from] as State;
  const next = successors(s, withCatch).filter((x) => !skip.has(x));
  if (next.length === 0) return worstEventsOfState(s);
  visited.add(from);
  let best = Number.NEGATIVE_INFINITY;
  for (const n of next) {
    if (stops.has(n)) best = Math.max(best, 0);
    else if (!visited.has(n)) best = Math.max(best, longest(n, stops, visited, skip, withCatch));
  }
  visited.delete(from);
  return worstEventsOfState(s) + best;
}

const example = (): any => JSON.parse(readFileSync(join(ROOT, 'examples', 'gantry.config.json'), 'utf8'));
const APPROVERS = ['arn:aws:iam::111122223333:role/ReleaseApprovers'];

function problemsOf(raw: unknown): string[] {
  try {
    parseConfig(raw);
  } catch (e) {
    assert.ok(e instanceof ValidationError, `expected a ValidationError, got ${String(e)}`);
    return e.problems;
  }
  return [];
}

/** A one-stage service of the example, with the stage edited (parsed by the schema alone: its budget may not fit). */
function oneStage(edit: (st: any) => void = () => undefined): ServiceConfig {
  const raw = example();
  raw.services.payments.stages = [raw.services.payments.stages[2]];
  edit(raw.services.payments.stages[0]);
  delete raw.services.ledger;
  return configSchema.parse(raw).services.payments as ServiceConfig;
}

describe('the history budget against the committed workflow', () => {
  it("has a loop entry for exactly the waits that close a cycle in the release workflow (Wait states, and the lease wait's task token)", () => {
    const waits = (name: string, s: State) => s.Type === 'Wait' || (s.Type === 'Task' && /waitForTaskToken/.test(s.Resource ?? '') && /^WaitFor/.test(name));
    const cyclic = Object.entries(S)
      .filter(([name, s]) => waits(name, s as State) && cycleOf(name) !== undefined)
      .map(([name]) => name)
      .sort();
    assert.deepEqual(cyclic, Object.keys(LOOP_EVENTS).sort());
  });

  for (const loop of Object.keys(LOOP_EVENTS) as LoopName[]) {
    it(`counts ${loop}'s events per iteration as the workflow's cycle adds them up`, () => {
      const cycle = cycleOf(loop);
      assert.ok(cycle, `${loop} is on a cycle`);
      const derived = cycle.reduce((n, name) => n + eventsOfState(S[name] as State), 0);
      assert.equal(LOOP_EVENTS[loop], derived, `${cycle.join(' → ')}`);
    });
  }

  it('counts the fixed part of an execution as the longest path before the first stage and after the last, plus the execution events', () => {
    const prologue = longest(ASL.StartAt, new Set(['BeginStage', 'FinishRelease']));
    const epilogue = longest('FinishRelease', new Set());
    assert.equal(EXECUTION_FIXED_EVENTS, EXECUTION_EVENTS + prologue + epilogue);
  });

  it('counts the fixed part of a stage as the longest path from BeginStage to the next stage, FinishRelease or the end, plus the bounded extra passes of the Kubernetes update loop', () => {
    const loops = KUBERNETES_WRITES_PER_STAGE * KUBERNETES_CONFLICT_RETRIES * KUBERNETES_CONFLICT_LOOP_EVENTS;
    assert.equal(STAGE_FIXED_EVENTS, longest('BeginStage', new Set(['BeginStage', 'FinishRelease']), new Set(), new Set([...CANARY, ...PLAN])) + loops);
  });

  it('counts what a plan-first Terraform stage adds as the ASL has it: the plan states over the path without them, one more round per re-plan (decision 049)', () => {
    const stops = new Set(['BeginStage', 'FinishRelease']);
    const without = longest('BeginStage', stops, new Set(), new Set([...CANARY, ...PLAN]));
    assert.equal(TERRAFORM_PLAN_FIXED_EXTRA_EVENTS, longest('BeginStage', stops, new Set(), CANARY) - without);
    // One round: from the plan, through the approval and the point of action, to the apply's verdict that goes back to the plan.
    const round = [
      TERRAFORM_PLAN_STATES.prepare,
      TERRAFORM_PLAN_STATES.plan,
      TERRAFORM_PLAN_STATES.record,
      TERRAFORM_PLAN_STATES.verdict,
      TERRAFORM_PLAN_STATES.approval,
      TERRAFORM_PLAN_STATES.startCheck,
      'ConfirmDeploy',
      'DeployCheckVerdict',
      TERRAFORM_PLAN_STATES.applyStarted,
      TERRAFORM_PLAN_STATES.apply,
      TERRAFORM_PLAN_STATES.applyFailed,
      TERRAFORM_PLAN_STATES.applyVerdict,
    ];
    round.forEach((name, k) => {
      const next = round[(k + 1) % round.length] as string;
      assert.ok(successors(S[name] as State).includes(next), `${name} leads to ${next}`);
    });
    assert.equal(
      TERRAFORM_PLAN_ROUND_EVENTS,
      round.reduce((n, name) => n + worstEventsOfState(S[name] as State), 0),
    );
    assert.equal(TERRAFORM_PLANS_PER_STAGE, MAX_TERRAFORM_PLANS);
  });

  it('adds the plan term only to a Terraform stage with an approval and no waves, and its holds to the lease wait (decision 049)', () => {
    const tf = { driver: 'terraform', source: 's3://tf-sources/payments.zip', workdir: 'prod', imageVariable: 'image', timeoutMinutes: 20 };
    const approval = { approvers: APPROVERS, timeoutMinutes: 60 };
    const planned = oneStage((st) => Object.assign(st, { deploy: tf, approval }));
    const plain = oneStage((st) => Object.assign(st, { deploy: tf }));
    const term = terraformPlanTerms(planned.stages[0] as never, 0);
    assert.equal(term.length, 1);
    assert.equal(term[0]?.events, TERRAFORM_PLAN_FIXED_EXTRA_EVENTS + (TERRAFORM_PLANS_PER_STAGE - 1) * TERRAFORM_PLAN_ROUND_EVENTS);
    assert.deepEqual(terraformPlanTerms(plain.stages[0] as never, 0), []);
    assert.ok(worstCaseHistory(planned).total > worstCaseHistory(plain).total);
    assert.equal(plansBeforeApproval(planned.stages[0] as never), true);
    assert.equal(plansBeforeApproval(plain.stages[0] as never), false);
  });

  it('counts what a canary stage adds as the ASL has it: the canary chain over the path it replaces, one more step, one 409 loop', () => {
    const stops = new Set(['BeginStage', 'FinishRelease']);
    const without = longest('BeginStage', stops, new Set(), CANARY);
    assert.equal(CANARY_FIXED_EXTRA_EVENTS, longest('BeginStage', stops) - without);
    // One more step: BeginCanaryStep to IsLastCanaryStep on its normal path (no Catch), the Choice included.
    const exits = new Set<string>([CANARY_STATE_NAMES.abort, CANARY_STATE_NAMES.conflictFailed, CANARY_STATE_NAMES.rolloutFailed, CANARY_STATE_NAMES.analysisFailed]);
    const step = longest(CANARY_STATE_NAMES.beginStep, new Set([CANARY_STATE_NAMES.isLast]), new Set(), exits, false) + worstEventsOfState(S[CANARY_STATE_NAMES.isLast] as State);
    assert.equal(CANARY_STEP_EVENTS, step);
    const loop = [
      CANARY_STATE_NAMES.readCanary,
      CANARY_STATE_NAMES.prepareCanary,
      CANARY_STATE_NAMES.writeCanary,
      CANARY_STATE_NAMES.countConflict,
      CANARY_STATE_NAMES.isConflictRetryable,
    ];
    assert.equal((S[CANARY_STATE_NAMES.writeCanary]?.Catch ?? [])[0]?.Next, CANARY_STATE_NAMES.countConflict);
    assert.equal(
      CANARY_CONFLICT_LOOP_EVENTS,
      loop.reduce((n, name) => n + worstEventsOfState(S[name] as State), 0),
    );
  });

  it("counts the Kubernetes update loop (409 Conflict back to the GET) as the workflow's cycle adds it up, every Retry used up, for the deploy and the rollback alike", () => {
    for (const [read, write, count, retry] of [
      ['ReadDeployment', 'ReplaceDeployment', 'CountDeploymentConflict', 'IsDeploymentConflictRetryable'],
      ['ReadRollbackDeployment', 'ReplaceRollbackDeployment', 'CountRollbackConflict', 'IsRollbackConflictRetryable'],
    ] as const) {
      // The cycle: read → … → write, then the write's Catch to the counter → the Choice → read.
      const toWrite: string[] = [read];
      while (toWrite.at(-1) !== write) {
        const next = successors(S[toWrite.at(-1) as string] as State, false).find((n) => n !== toWrite.at(-1) && !n.startsWith('Kubernetes'));
        assert.ok(next, `a path from ${read} to ${write}`);
        toWrite.push(next);
      }
      assert.equal((S[write]?.Catch ?? [])[0]?.Next, count);
      assert.ok(successors(S[retry] as State).includes(read));
      const derived = [...toWrite, count, retry].reduce((n, name) => n + worstEventsOfState(S[name] as State), 0);
      assert.equal(KUBERNETES_CONFLICT_LOOP_EVENTS, derived, [...toWrite, count, retry].join(' → '));
    }
  });

  it("counts the extra conflicts as MAX_UPDATE_ATTEMPTS − 1, the bound the workflow's Choice uses", () => {
    assert.equal(KUBERNETES_CONFLICT_RETRIES, MAX_UPDATE_ATTEMPTS - 1);
    const choice = S.IsDeploymentConflictRetryable as State & { Choices: Array<{ NumericLessThan?: number }> };
    assert.equal(choice.Choices[0]?.NumericLessThan, MAX_UPDATE_ATTEMPTS);
  });

  it('models the lease wait as WaitForStageLease hands it off: woken when freed, re-checking on its own timeout, no TTL', () => {
    assert.equal(LEASE_WAIT.loop, 'WaitForStageLease');
    assert.equal(S.WaitForStageLease?.Resource, 'arn:aws:states:::lambda:invoke.waitForTaskToken');
    assert.equal((S.WaitForStageLease as { TimeoutSeconds?: number }).TimeoutSeconds, LEASE_WAIT.recheckSeconds);
    assert.equal(LEASE_WAIT.capMinutes, null);
  });

  it("uses the handlers' scan poll, window lookahead, bake safety net and deploy start-up allowance", () => {
    const st = oneStage().stages[0];
    assert.ok(st);
    assert.equal(SCAN_POLL_SECONDS, IMAGE_GATES_SCAN_POLL_SECONDS);
    assert.equal(WINDOW_LOOKAHEAD_MINUTES, LOOKAHEAD_DAYS * 24 * 60);
    assert.equal(bakeTimeoutSeconds(st), (st.bakeMinutes + BAKE_SAFETY_MINUTES) * 60);
    // The hold allows each deploy (and a rollback deploy) timeoutMinutes + DEPLOY_STARTUP_MINUTES; the deploy task's own
    // timeout (queue + build budget, drivers.md#timeouts) may run longer, by less than two hours of lease re-checks (26 events).
    const cfg = parseConfig(example());
    const prod = cfg.services.payments?.stages[2];
    assert.ok(prod);
    assert.ok(deployTimeoutSeconds(cfg, prod) / 60 - (prod.deploy.timeoutMinutes + DEPLOY_STARTUP_MINUTES) < 120);
  });

  it('counts events per state type as the Step Functions history writes them', () => {
    assert.equal(eventsOfState({ Type: 'Task', Resource: '${RecordStepFunctionArn}' }), 5);
    assert.equal(eventsOfState({ Type: 'Task', Resource: 'arn:aws:states:::eks:call' }), 5);
    assert.equal(eventsOfState({ Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken' }), 6);
    assert.equal(eventsOfState({ Type: 'Task', Resource: 'arn:aws:states:::codebuild:startBuild.sync' }), 6);
    assert.deepEqual(
      ['Wait', 'Choice', 'Pass', 'Succeed', 'Fail'].map((Type) => eventsOfState({ Type })),
      [2, 2, 2, 2, 1],
    );
    assert.equal(worstEventsOfState({ Type: 'Task', Resource: 'x', Retry: [{ MaxAttempts: 4 }, {}] }), 5 + 7 * 4);
    // A Map's own events (its iterations' are counted with them: decision 044); a Parallel has no count.
    assert.equal(eventsOfState({ Type: 'Map' }), 4);
    assert.throws(() => eventsOfState({ Type: 'Parallel' }), /no event count for state type Parallel/);
  });
});

describe('the history budget arithmetic', () => {
  it('adds the fixed parts and every loop of the example services', () => {
    const cfg = parseConfig(example());
    const payments = worstCaseHistory(cfg.services.payments as ServiceConfig);
    // Lease waits: the hold of each stage (scan 15 + 2 × (deploy timeout + 10) + bake + 15 + recovery 5), re-checked hourly, 13 events a time.
    const holds = [15 + 2 * (10 + 10) + 10 + 15 + 5, 15 + 2 * (10 + 10) + 15 + 15 + 5, 15 + 2 * (15 + 10) + 30 + 15 + 5];
    const leases = holds.reduce((n, m) => n + Math.ceil(m / 60) * 13, 0);
    // Scan waits: one event-driven wait (13 events) and, at worst, 30-s polls for the whole 15 minutes (9 events each), at each stage.
    const scans = 3 * (13 + (15 * 2 + 1) * 9);
    assert.equal(payments.total, EXECUTION_FIXED_EVENTS + 3 * STAGE_FIXED_EVENTS + leases + scans);
  });

  it('counts a polling bake of 1,440 minutes every 30 s as 2,880 polls of 9 events', () => {
    const term = worstCaseHistory(oneStage((st) => Object.assign(st, { bakeMinutes: 1440, bake: { mode: 'poll', intervalSeconds: 30 } }))).terms.find(
      (t) => t.loop === 'WaitBakePollInterval',
    );
    assert.equal(term?.iterations, 2880);
    assert.equal(term?.events, 25_920);
  });

  it('counts a Kubernetes rollout watch for the deploy and again for a rollback', () => {
    const svc = oneStage((st) => (st.deploy = { driver: 'kubernetes', deployment: 'payments', container: 'app', timeoutMinutes: 10, pollSeconds: 15 }));
    const term = worstCaseHistory(svc).terms.find((t) => t.loop === 'WaitForRollout');
    assert.equal(term?.events, (Math.ceil(600 / 15) + 1) * (LOOP_EVENTS.WaitForRollout + LOOP_EVENTS.WaitForRollbackRollout));
  });

  it('allows one window wait plus one per allow window and blackout, at each of the two window checkpoints', () => {
    const svc = oneStage(
      (st) =>
        (st.windows = {
          timezone: 'Europe/London',
          allow: [
            { days: ['Mon'], from: '22:00', to: '02:00' },
            { days: ['Tue'], from: '09:00', to: '12:00' },
          ],
          blackouts: [{ from: '2026-12-20T00:00', to: '2026-12-27T00:00', reason: 'xmas' }],
        }),
    );
    assert.equal(worstCaseHistory(svc).terms.find((t) => t.loop === 'WaitForReleaseWindow')?.events, 2 * 4 * 9);
  });

  it("lets a lease wait last the holder's whole hold of the stage (no TTL), and caps it where a model has one", () => {
    const svc = oneStage((st) => (st.approval = { approvers: APPROVERS, timeoutMinutes: 3000 }));
    const hold = 3000 + 15 + 2 * (15 + 10) + 30 + 15 + 5;
    const handOff = worstCaseHistory(svc).terms.find((t) => t.loop === 'WaitForStageLease');
    assert.equal(handOff?.iterations, Math.ceil((hold * 60) / 3600));
    const capped = worstCaseHistory(svc, { loop: 'WaitForStageLease', recheckSeconds: 60, capMinutes: 24 * 60 }).terms.find((t) => t.loop === 'WaitForStageLease');
    assert.equal(capped?.iterations, 1440);
  });

  it('refuses one event over the budget and accepts the budget itself', () => {
    const svc = parseConfig(example()).services.payments as ServiceConfig;
    const total = worstCaseHistory(svc).total;
    assert.deepEqual(historyBudgetProblems(svc, LEASE_WAIT, total), []);
    assert.equal(historyBudgetProblems(svc, LEASE_WAIT, total - 1).length, 1);
  });

  it('rounds "about" figures to two significant figures', () => {
    assert.deepEqual([25_920, 12_960, 4_329, 40_180, 95].map(about), ['26,000', '13,000', '4,300', '40,000', '95']);
  });
});

describe('configs the history budget refuses (issue 13), with exit-2 messages naming the service, stage and setting', () => {
  it('refuses a polling bake of 1,440 minutes every 30 s, and the interval it suggests is enough', () => {
    const raw = example();
    Object.assign(raw.services.payments.stages[2], { bakeMinutes: 1440, bake: { mode: 'poll', intervalSeconds: 30 } });
    const problems = problemsOf(raw);
    assert.equal(problems.length, 1);
    assert.match(
      problems[0] ?? '',
      /^services\.payments\.stages\[2\]\.bake\.intervalSeconds: a polling bake of 1440 minutes every 30 s in stage prod can take about 26,000 history events \(the release's worst case is about \d{2},\d{3}, limit 20,000\); poll less often \(at least (\d+) s\) or use the event-driven bake$/,
    );
    const least = Number(/at least (\d+) s/.exec(problems[0] ?? '')?.[1]);
    raw.services.payments.stages[2].bake.intervalSeconds = least;
    assert.deepEqual(problemsOf(raw), []);
    raw.services.payments.stages[2].bake.intervalSeconds = least - 1;
    assert.equal(problemsOf(raw).length, 1);
  });

  it('refuses two stages polling a 1,440-minute bake every 60 s, naming the polling bake to change', () => {
    const raw = example();
    for (const i of [1, 2]) Object.assign(raw.services.payments.stages[i], { bakeMinutes: 1440, bake: { mode: 'poll', intervalSeconds: 60 } });
    const problems = problemsOf(raw);
    assert.ok(problems.length >= 1, 'refused');
    for (const p of problems) {
      assert.match(
        p,
        /^services\.payments\.stages\[[12]\]\.bake\.intervalSeconds: a polling bake of 1440 minutes every 60 s in stage (staging|prod) can take about 13,000 history events \(the release's worst case is about 30,000, limit 20,000\)/,
      );
    }
  });

  it('refused 24-hour lease waits at two stages under the old 60-s polling; accepts them now that a lease wait is a hand-off', () => {
    const raw = example();
    for (const i of [1, 2]) raw.services.payments.stages[i].approval = { approvers: APPROVERS, timeoutMinutes: 1440 };
    const cfg = configSchema.parse(raw) as GantryConfig;
    // The lease wait as it was (a poll every 60 s for up to the 24-hour lease TTL) passes the budget...
    const polling = historyBudgetProblems(cfg.services.payments as ServiceConfig, { loop: 'WaitForStageLease', recheckSeconds: 60, capMinutes: 1440 });
    assert.ok(polling.length >= 1);
    assert.match(
      polling.map((p) => p.message).join('\n'),
      /waiting for stage (staging|prod)'s lease \(another release can hold it for 1,440 minutes, the lease TTL; re-checked every 60 s\) can take about 19,000 history events/,
    );
    // ...the hand-off (woken when freed, an hourly re-check, no TTL) does not: the config is accepted.
    assert.deepEqual(problemsOf(raw), []);
    assert.deepEqual(historyProblems(cfg), []);
  });

  it('refuses a Kubernetes rollout watched every 5 s for 120 minutes', () => {
    const raw = example();
    raw.services.payments.stages[2].deploy = { driver: 'kubernetes', deployment: 'payments', container: 'app', timeoutMinutes: 120, pollSeconds: 5 };
    const problems = problemsOf(raw);
    assert.equal(problems.length, 1);
    assert.match(
      problems[0] ?? '',
      /^services\.payments\.stages\[2\]\.deploy\.pollSeconds: a rollout watch of up to 120 minutes every 5 s in stage prod \(for the deploy, and again for a rollback\) can take about 40,000 history events .*; poll less often \(at least \d+ s\) or shorten deploy\.timeoutMinutes$/,
    );
  });
});

describe('configs the history budget accepts', () => {
  it('accepts examples/gantry.config.json', () => {
    assert.deepEqual(historyProblems(parseConfig(example())), []);
    for (const svc of Object.values(parseConfig(example()).services)) assert.ok(worstCaseHistory(svc).total < HISTORY_BUDGET / 2);
  });

  const dir = join(ROOT, 'examples', 'scenarios');
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    it(`accepts the config of examples/scenarios/${file}`, () => {
      const loaded = loadScenario(JSON.parse(readFileSync(join(dir, file), 'utf8')), dir);
      assert.deepEqual(historyProblems(loaded.config), []);
    });
  }
});

describe('the history budget of a stage with waves (decision 044)', () => {
  type Processor = { StartAt: string; States: Record<string, State> };
  const processorOf = (name: string) => (S[name] as unknown as { ItemProcessor: Processor }).ItemProcessor;
  /** The heaviest simple path through a Map's processor, every Retry used up. */
  function longestIn(p: Processor, from = p.StartAt, visited = new Set<string>()): number {
    const s = p.States[from] as State;
    const next = successors(s).filter((n) => n in p.States);
    if (next.length === 0) return worstEventsOfState(s);
    visited.add(from);
    let best = 0;
    for (const n of next) if (!visited.has(n)) best = Math.max(best, longestIn(p, n, visited));
    visited.delete(from);
    return worstEventsOfState(s) + best;
  }
  const sum = (names: string[]) => names.reduce((n, name) => n + worstEventsOfState(S[name] as State), 0);

  it('counts one wave as the wave loop of the workflow adds it up, and the loop closes at BeginWave', () => {
    const loop = ['BeginWave', 'DeployWave', 'FinishWave', 'WaveVerdict', 'BakeWave', 'AdvanceWave'];
    loop.forEach((name, k) => assert.ok(successors(S[name] as State, false).includes(loop[(k + 1) % loop.length] as string), `${name} → ${loop[(k + 1) % loop.length]}`));
    assert.equal(WAVE_LOOP_EVENTS, sum(loop));
  });

  it("counts the wave path's other states, deploy and rollback, as the workflow has them", () => {
    assert.equal(
      WAVE_FIXED_EVENTS,
      sum([
        'RecordWavesDeployStarted',
        'InitialiseWaveCursor',
        'RecordWavesDeployed',
        'CarryWaveFailure',
        'RollbackClusters',
        'RecordClusterRollbacks',
        'DidEveryClusterRollBack',
        'CarryClusterRollbackFailure',
      ]),
    );
  });

  it("counts one cluster's deploy and rollback iterations as the longest paths through the Maps' processors", () => {
    assert.equal(CLUSTER_DEPLOY_EVENTS, longestIn(processorOf('DeployWave')));
    assert.equal(CLUSTER_ROLLBACK_EVENTS, longestIn(processorOf('RollbackClusters')));
    // The rollout watch inside the processors is the same cycle as the single-cluster one (LOOP_EVENTS per read).
    const p = processorOf('DeployWave');
    const cycle = ['WaitForRolloutInWave', 'ReadRolloutInWave', 'CheckRolloutInWave', 'RolloutVerdictInWave'];
    assert.equal(
      cycle.reduce((n, name) => n + eventsOfState(p.States[name] as State), 0),
      LOOP_EVENTS.WaitForRollout,
    );
  });

  it('adds the waves to the worst case: every wave, and per cluster a deploy, a rollback and the Kubernetes watches', () => {
    const plain = oneStage((st) => {
      st.deploy = { driver: 'kubernetes', deployment: 'payments-api', container: 'api', timeoutMinutes: 10, pollSeconds: 15 };
    });
    const waved = oneStage((st) => {
      st.deploy = { driver: 'kubernetes', deployment: 'payments-api', container: 'api', timeoutMinutes: 10, pollSeconds: 15 };
      delete st.cluster;
      st.waves = [['prod'], ['dev', 'staging']];
    });
    const term = worstCaseHistory(waved).terms.find((t) => t.loop === 'waves');
    const reads = Math.ceil((10 * 60) / 15) + 1;
    const perCluster =
      CLUSTER_DEPLOY_EVENTS +
      CLUSTER_ROLLBACK_EVENTS +
      2 * MAP_ITERATION_EVENTS +
      reads * (LOOP_EVENTS.WaitForRollout + LOOP_EVENTS.WaitForRollbackRollout) +
      KUBERNETES_WRITES_PER_STAGE * KUBERNETES_CONFLICT_RETRIES * KUBERNETES_CONFLICT_LOOP_EVENTS;
    assert.equal(term?.events, WAVE_FIXED_EVENTS + 2 * WAVE_LOOP_EVENTS + 3 * perCluster);
    assert.equal(worstCaseHistory(waved).total, worstCaseHistory(plain).total + (term?.events ?? Number.NaN));
    assert.equal(
      worstCaseHistory(plain).terms.some((t) => t.loop === 'waves'),
      false,
    );
  });

  it('refuses a wave stage whose clusters would pass the budget, naming its waves', () => {
    const raw = example();
    const clusters: Record<string, unknown> = {};
    for (let k = 0; k < 30; k++) clusters[`c${k}`] = { name: `c${k}`, region: 'eu-west-2' };
    raw.clusters = { ...raw.clusters, ...clusters };
    const prod = raw.services.payments.stages[2];
    delete prod.cluster;
    prod.deploy = { driver: 'kubernetes', deployment: 'payments-api', container: 'api', timeoutMinutes: 10, pollSeconds: 15 };
    prod.waves = [Object.keys(clusters).slice(0, 10), Object.keys(clusters).slice(10)];
    const problems = problemsOf(raw);
    assert.ok(
      problems.some((p) => p.startsWith('services.payments.stages[2].waves: 2 wave(s) of 30 cluster(s) in stage prod') && p.includes('deploy to fewer clusters')),
      problems.join('\n'),
    );
  });
});

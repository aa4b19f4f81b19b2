/**
 * The model-based test's generator (issue 13, decision 019): seeded fast-check histories of two
 * services × three stages, rendered as scenario documents in the docs/scenarios.md format (config inline,
 * so a document written to a temp file runs alone with `node bin/gantry.js simulate <file>`).
 *
 * A history is about two hours of virtual time from 2026-11-24T10:00Z (a Tuesday): pushes of several
 * digests close together (some delivered more than once), an operator's break-glass start, approvals,
 * rejections and approval timeouts (no decision), the global freeze on and off, prod's release window
 * (short allow slots, `outside: "wait"`) and a blackout, alarms and flaps during bakes, failed deploys,
 * operator rollbacks, aborts and throttled AWS calls. In about half of them beta's prod deploys in two waves of
 * clusters (issue 18, decision 044). Times are whole minutes, and a third of them are
 * snapped to a window or blackout edge so that decisions fall on the edges.
 *
 * Everything the invariants need is in the document itself (the config's windows, the images'
 * pushedAt, the freeze triggers), so a saved or shrunk document can be re-checked on its own.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';

export const CLOCK = '2026-11-24T10:00:00Z';
export const CLOCK_MS = Date.parse(CLOCK);
/** The window's time zone: UTC, so that the invariants can read the window without a time-zone library (see invariants.ts). */
export const WINDOW_TIMEZONE = 'UTC';
export const SERVICES = ['alpha', 'beta'] as const;
export const STAGES = ['dev', 'staging', 'prod'] as const;
export type ServiceName = (typeof SERVICES)[number];
export type StageName = (typeof STAGES)[number];

const ACCOUNT = '111122223333';
export const APPROVER_ROLE = `arn:aws:iam::${ACCOUNT}:role/ReleaseApprovers`;
const approver = (who: string) => `arn:aws:sts::${ACCOUNT}:assumed-role/ReleaseApprovers/${who}`;
const OPERATOR = `arn:aws:sts::${ACCOUNT}:assumed-role/Operators/carol`;
const DEPLOYER = `arn:aws:sts::${ACCOUNT}:assumed-role/Deployers/alice`;
const CHANGE_BOARD = `arn:aws:sts::${ACCOUNT}:assumed-role/ChangeBoard/dana`;
const pusher = (n: number) => `arn:aws:sts::${ACCOUNT}:assumed-role/ci-pusher/build-${n}`;

/** The k-th digest of a service in a history (k = 0 is the one running everywhere at the start). */
export const digestOf = (service: string, k: number): string => `sha256:${createHash('sha256').update(`model/${service}#${k}`).digest('hex')}`;
export const tagOf = (k: number): string => `v1.0.${k}`;
export const repositoryOf = (service: string): string => `${service}-api`;
export const alarmOf = (service: string, stage: string): string => `${service}-${stage}-errors`;

// ---------------------------------------------------------------- the model

/** A moment of the history: minutes after the start, or `plus` minutes after "the i-th window/blackout edge" (resolved when rendered). */
export type Moment = { readonly minute: number } | { readonly edge: number; readonly plus: number };

export interface History {
  /** Bake minutes of dev, staging and prod. */
  readonly bake: readonly [number, number, number];
  /** prod's approval.timeoutMinutes. */
  readonly approvalTimeout: number;
  /** prod's allow slots, [from, to) in minutes after the start; the last one runs to midnight. */
  readonly slots: ReadonlyArray<readonly [number, number]>;
  /** prod's blackout, [from, to) in minutes after the start. */
  readonly blackout?: readonly [number, number];
  /** Pushes: service, when, how many deliveries. A service's k-th push pushes its digest k (1-based). */
  readonly pushes: ReadonlyArray<{ readonly service: ServiceName; readonly at: Moment; readonly copies: number }>;
  /** An operator's break-glass start (in half the histories) of the digest of push `push` (modulo the pushes), `delay` minutes after that push. */
  readonly breakGlass?: { readonly push: number; readonly delay: number };
  readonly freezes: ReadonlyArray<{ readonly on: boolean; readonly at: Moment }>;
  readonly rollbacks: ReadonlyArray<{ readonly service: ServiceName; readonly stage: StageName; readonly at: Moment; readonly toFirst: boolean }>;
  /** Decisions on prod approvals: minutes after the service's first prod approval request (docs/scenarios.md phase lines). */
  readonly decisions: ReadonlyArray<{ readonly service: ServiceName; readonly after: number; readonly approve: boolean }>;
  /** Alarms during a bake; a flap goes back to OK `flap` minutes later. */
  readonly alarms: ReadonlyArray<{ readonly service: ServiceName; readonly stage: StageName; readonly after: number; readonly flap?: number }>;
  readonly deployFailures: ReadonlyArray<{ readonly service: ServiceName; readonly stage: StageName; readonly phase: 'deploy' | 'rollback' }>;
  readonly aborts: ReadonlyArray<{ readonly service: ServiceName; readonly at: Moment }>;
  readonly faults: ReadonlyArray<{ readonly api: 'ecr' | 'cloudwatch'; readonly at: Moment; readonly count: number }>;
  /** In some histories beta's prod deploys in two waves of clusters (decision 044): prod, then prod-b and prod-c. */
  readonly waves?: { readonly bakeMinutes: number };
}

/** beta's prod in waves: the waves and the extra clusters (issue 18). */
export const WAVE_SERVICE: ServiceName = 'beta';
export const PROD_WAVES = [['prod'], ['prod-b', 'prod-c']] as const;

// ---------------------------------------------------------------- arbitraries

const service = fc.constantFrom(...SERVICES);
const stage = fc.constantFrom(...STAGES);
/** The span of a history in which things are scheduled (minutes). */
const HORIZON = 90;
const moment: fc.Arbitrary<Moment> = fc.oneof(
  { weight: 2, arbitrary: fc.integer({ min: 0, max: HORIZON }).map((minute) => ({ minute })) },
  { weight: 1, arbitrary: fc.nat(31).map((edge) => ({ edge, plus: 0 })) },
);

/** Allow slots: open 5–25 min, closed 3–15 min, from the start (or a few minutes later); the last slot runs to midnight. */
const slots = fc
  .record({ first: fc.integer({ min: 0, max: 10 }), spans: fc.array(fc.tuple(fc.integer({ min: 5, max: 25 }), fc.integer({ min: 3, max: 15 })), { minLength: 3, maxLength: 10 }) })
  .map(({ first, spans }) => {
    const out: Array<[number, number]> = [];
    let t = first;
    for (const [open, closed] of spans) {
      out.push([t, t + open]);
      t += open + closed;
    }
    return out;
  });

const burst = (maxGaps: number) =>
  fc.record({
    service,
    start: moment,
    gaps: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 0, maxLength: maxGaps }),
    copies: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 3, maxLength: 3 }),
  });

/** One or two bursts: a service's digests pushed 0–3 minutes apart (up to three, then one of a second burst). */
const pushes = fc.tuple(burst(2), fc.option(burst(0), { nil: undefined })).map(([first, second]) => {
  const out: Array<{ service: ServiceName; at: Moment; copies: number }> = [];
  for (const b of second ? [first, second] : [first]) {
    out.push({ service: b.service, at: b.start, copies: b.copies[0] ?? 1 });
    let offset = 0;
    b.gaps.forEach((g, i) => {
      offset += g;
      out.push({ service: b.service, at: shift(b.start, offset), copies: b.copies[i + 1] ?? 1 });
    });
  }
  return out;
});

export const historyArb: fc.Arbitrary<History> = fc.record(
  {
    bake: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 5 })),
    approvalTimeout: fc.integer({ min: 5, max: 15 }),
    slots,
    blackout: fc.option(
      fc.tuple(fc.integer({ min: 0, max: 120 }), fc.integer({ min: 5, max: 30 })).map(([a, len]) => [a, a + len] as const),
      { nil: undefined },
    ),
    pushes,
    breakGlass: fc.option(fc.record({ push: fc.nat(4), delay: fc.integer({ min: 0, max: 20 }) }), { nil: undefined, freq: 2 }),
    freezes: fc.oneof(
      { weight: 2, arbitrary: fc.constant([]) },
      {
        weight: 2,
        arbitrary: fc.tuple(moment, fc.integer({ min: 0, max: 40 })).map(([at, len]) => [
          { on: true, at },
          { on: false, at: shift(at, len) },
        ]),
      },
      { weight: 1, arbitrary: moment.map((at) => [{ on: true, at }]) },
    ),
    rollbacks: fc.array(fc.record({ service, stage, at: moment, toFirst: fc.boolean() }), { maxLength: 1 }),
    // Mostly approvals: a decision is a rejection only when it is drawn as one and its minute is a multiple of 3.
    decisions: fc
      .array(fc.record({ service, after: fc.integer({ min: 0, max: 60 }), approve: fc.boolean() }), { minLength: 2, maxLength: 6 })
      .map((ds) => ds.map((d) => ({ ...d, approve: d.approve || d.after % 3 !== 0 }))),
    alarms: fc.array(fc.record({ service, stage, after: fc.integer({ min: 0, max: 4 }), flap: fc.option(fc.integer({ min: 1, max: 2 }), { nil: undefined }) }), { maxLength: 2 }),
    deployFailures: fc.array(fc.record({ service, stage, phase: fc.constantFrom('deploy' as const, 'deploy' as const, 'rollback' as const) }), { maxLength: 1 }),
    aborts: fc.array(fc.record({ service, at: moment }), { maxLength: 1 }),
    faults: fc.array(fc.record({ api: fc.constantFrom('ecr' as const, 'cloudwatch' as const), at: moment, count: fc.integer({ min: 1, max: 3 }) }), { maxLength: 2 }),
    waves: fc.option(fc.record({ bakeMinutes: fc.integer({ min: 0, max: 2 }) }), { nil: undefined }),
  },
  { requiredKeys: ['bake', 'approvalTimeout', 'slots', 'pushes', 'freezes', 'rollbacks', 'decisions', 'alarms', 'deployFailures', 'aborts', 'faults'] },
);

function shift(m: Moment, by: number): Moment {
  return 'minute' in m ? { minute: m.minute + by } : { edge: m.edge, plus: m.plus + by };
}

export class HistoryGeneratorError extends Error {
  override readonly name = 'HistoryGeneratorError';
}

/** The history of a seed: the same seed gives the same history (fast-check's seeded generator). */
export function historyOf(seed: number): History {
  const [h] = fc.sample(historyArb, { seed, numRuns: 1 });
  if (!h) throw new HistoryGeneratorError(`fast-check gave no history for seed ${seed}`);
  return h;
}

// ---------------------------------------------------------------- rendering

const hhmm = (minuteOfDay: number): string => `${String(Math.floor(minuteOfDay / 60)).padStart(2, '0')}:${String(minuteOfDay % 60).padStart(2, '0')}`;
const localAt = (minute: number): string => new Date(CLOCK_MS + minute * 60_000).toISOString().slice(0, 16);
const dur = (minutes: number): string => `PT${minutes}M`;
const START_MINUTE_OF_DAY = new Date(CLOCK_MS).getUTCHours() * 60 + new Date(CLOCK_MS).getUTCMinutes();

/** Every window and blackout edge, in minutes after the start. */
export function edgesOf(h: History): number[] {
  const e = h.slots.flatMap(([a, b]) => [a, b]);
  if (h.blackout) e.push(h.blackout[0], h.blackout[1]);
  return [...new Set(e)].sort((a, b) => a - b);
}

/** A moment in minutes after the start. */
export function minuteOf(h: History, m: Moment): number {
  if ('minute' in m) return m.minute;
  const edges = edgesOf(h);
  return (edges[m.edge % edges.length] ?? 0) + m.plus;
}

/** Whether a stage of a history is a canary stage (docs/decisions/043-canary-steps.md): the first service's prod, when the prod bake drawn is odd. */
export function canaryStage(h: History, svc: string, st: string): boolean {
  return svc === SERVICES[0] && st === 'prod' && (h.bake[2] ?? 0) % 2 === 1;
}

function configOf(h: History): Record<string, unknown> {
  const services: Record<string, unknown> = {};
  for (const svc of SERVICES) {
    services[svc] = {
      repository: repositoryOf(svc),
      tagPattern: '^v[0-9]+\\.[0-9]+\\.[0-9]+$',
      imagePolicy: { maxFindings: { CRITICAL: 0 }, scanWaitMinutes: 5 },
      stages: STAGES.map((st, i) => ({
        name: st,
        ...(h.waves && svc === WAVE_SERVICE && st === 'prod' ? { waves: PROD_WAVES, waveBakeMinutes: h.waves.bakeMinutes } : { cluster: st }),
        namespace: svc,
        deploy: canaryStage(h, svc, st)
          ? {
              // Issue 18: in about half the histories the first service's prod is a canary (two steps;
              // decided from the drawn prod bake, so the fast-check stream and the saved seeds stay as they were).
              driver: 'kubernetes',
              deployment: svc,
              container: 'app',
              timeoutMinutes: 5,
              pollSeconds: 15,
              // The traffic mode from the drawn staging bake (gateway-api when odd): both modes in the fixed seeds.
              rollout:
                (h.bake[1] ?? 0) % 2 === 1
                  ? { strategy: 'canary', traffic: 'gateway-api', route: { name: svc }, steps: [{ weight: 50, bakeMinutes: 1 }, { weight: 100 }] }
                  : { strategy: 'canary', traffic: 'replicas', steps: [{ weight: 50, bakeMinutes: 1 }, { weight: 100 }] },
            }
          : { driver: 'helm', release: svc, chart: `oci://${ACCOUNT}.dkr.ecr.eu-west-2.amazonaws.com/charts/${svc}`, version: '1.0.0', timeoutMinutes: 5 },
        alarms: [alarmOf(svc, st)],
        bakeMinutes: h.bake[i],
        insufficientData: 'ignore',
        recoveryMinutes: 1,
        ...(st === 'prod'
          ? {
              approval: { approvers: [APPROVER_ROLE], timeoutMinutes: h.approvalTimeout },
              windows: {
                timezone: WINDOW_TIMEZONE,
                allow: h.slots.map(([a, b], j) => ({
                  days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'],
                  from: hhmm(START_MINUTE_OF_DAY + a),
                  to: j === h.slots.length - 1 ? '24:00' : hhmm(START_MINUTE_OF_DAY + b),
                })),
                outside: 'wait',
                blackouts: h.blackout ? [{ from: localAt(h.blackout[0]), to: localAt(h.blackout[1]), reason: 'model blackout' }] : [],
              },
            }
          : {}),
      })),
    };
  }
  const clusters = [...STAGES, ...(h.waves ? PROD_WAVES.flat().filter((c) => c !== 'prod') : [])];
  return { services, clusters: Object.fromEntries(clusters.map((c) => [c, { name: `${c}-eks`, region: 'eu-west-2' }])) };
}

/** The scenario document of a history (docs/scenarios.md format, config inline). */
export function scenarioOf(h: History, name: string): Record<string, unknown> {
  const ecr: Record<string, { tagMutability: string; images: unknown[] }> = {};
  const stages: Record<string, unknown> = {};
  const alarms: Record<string, string> = {};
  for (const svc of SERVICES) {
    ecr[repositoryOf(svc)] = {
      tagMutability: 'IMMUTABLE',
      images: [{ digest: digestOf(svc, 0), tags: [tagOf(0)], pushedAt: new Date(CLOCK_MS - 7 * 86_400_000).toISOString(), scan: { status: 'COMPLETE', findings: [] } }],
    };
    for (const st of STAGES) {
      stages[`${svc}/${st}`] = { running: digestOf(svc, 0), lastKnownGood: digestOf(svc, 0) };
      alarms[alarmOf(svc, st)] = 'OK';
    }
  }
  const triggers: Array<{ at: number; order: number; trigger: Record<string, unknown> }> = [];
  const script: Array<Record<string, unknown>> = [];
  const count: Record<string, number> = {};
  const pushed: Array<{ service: ServiceName; k: number; at: number }> = [];
  // Pushes in time order; a service's k-th push (in time) is its digest k, pushedAt one second per push apart so "older" is strict.
  const ordered = h.pushes.map((p, i) => ({ ...p, i, minute: minuteOf(h, p.at) })).sort((a, b) => a.minute - b.minute || a.i - b.i);
  ordered.forEach((p, n) => {
    const k = (count[p.service] = (count[p.service] ?? 0) + 1);
    pushed.push({ service: p.service, k, at: p.minute });
    ecr[repositoryOf(p.service)]?.images.push({
      digest: digestOf(p.service, k),
      tags: [],
      pushedAt: new Date(CLOCK_MS + p.minute * 60_000 - 30_000 + n * 1_000).toISOString(),
      scan: { status: 'COMPLETE', findings: [] },
    });
    triggers.push({
      at: p.minute,
      order: n,
      trigger: {
        type: 'ecr-push',
        repository: repositoryOf(p.service),
        tag: tagOf(k),
        digest: digestOf(p.service, k),
        copies: p.copies,
        principal: pusher(n + 1),
        at: dur(p.minute),
      },
    });
  });
  // Script lines and rollbacks aim at a service that was pushed (a line for an idle service would only be unused).
  const pushedServices = [...new Set(pushed.map((p) => p.service))];
  const aim = (svc: ServiceName, i: number): ServiceName =>
    pushedServices.length === 0 || pushedServices.includes(svc) ? svc : (pushedServices[i % pushedServices.length] as ServiceName);
  if (h.breakGlass && pushed.length > 0) {
    const p = pushed[h.breakGlass.push % pushed.length] as (typeof pushed)[number];
    const at = p.at + h.breakGlass.delay;
    triggers.push({
      at,
      order: 100,
      trigger: { type: 'start', principal: DEPLOYER, input: { service: p.service, image: { tag: tagOf(p.k) }, breakGlass: { reason: 'INC-42 model break-glass' } }, at: dur(at) },
    });
  }
  h.freezes.forEach((f, i) => {
    const at = minuteOf(h, f.at);
    triggers.push({
      at,
      order: 200 + i,
      trigger: { type: 'freeze', state: f.on ? 'on' : 'off', reason: f.on ? 'model freeze' : 'model thaw', principal: CHANGE_BOARD, at: dur(at) },
    });
  });
  h.rollbacks.forEach((r0, i) => {
    const r = { ...r0, service: aim(r0.service, i) };
    const at = minuteOf(h, r.at);
    triggers.push({
      at,
      order: 300 + i,
      trigger: {
        type: 'rollback',
        principal: OPERATOR,
        input: { service: r.service, stage: r.stage, ...(r.toFirst ? { digest: digestOf(r.service, 0) } : {}), reason: `INC-${100 + i} model rollback` },
        at: dur(at),
      },
    });
  });
  h.decisions.forEach((d0, i) => {
    const d = { ...d0, service: aim(d0.service, i) };
    const who = d.approve ? { approve: { principal: approver(`bob${i}`), comment: 'ok' } } : { reject: { principal: approver(`bob${i}`), comment: 'not now' } };
    script.push({ when: { service: d.service, stage: 'prod', phase: 'approval', after: dur(d.after) }, ...who });
  });
  for (const [i, a0] of h.alarms.entries()) {
    const a = { ...a0, service: aim(a0.service, i) };
    script.push({ when: { service: a.service, stage: a.stage, phase: 'bake', after: dur(a.after) }, alarm: { name: alarmOf(a.service, a.stage), state: 'ALARM' } });
    if (a.flap !== undefined)
      script.push({ when: { service: a.service, stage: a.stage, phase: 'bake', after: dur(a.after + a.flap) }, alarm: { name: alarmOf(a.service, a.stage), state: 'OK' } });
  }
  for (const [i, f0] of h.deployFailures.entries()) {
    const f = { ...f0, service: aim(f0.service, i) };
    script.push({ when: { service: f.service, stage: f.stage, phase: f.phase }, deploy: { result: 'FAILED', message: `UPGRADE FAILED: model ${f.phase} failure` } });
  }
  for (const [i, a] of h.aborts.entries()) script.push({ when: { at: dur(minuteOf(h, a.at)) }, abort: { service: aim(a.service, i) } });
  for (const f of h.faults) {
    const fault = f.api === 'ecr' ? { service: 'ecr', operation: 'DescribeImages' } : { service: 'cloudwatch', operation: 'DescribeAlarms' };
    script.push({ when: { at: dur(minuteOf(h, f.at)) }, fault: { ...fault, error: 'ThrottlingException', count: f.count } });
  }
  return {
    name,
    description: 'A generated history of the model-based test (test/model, decision 019).',
    config: configOf(h),
    clock: CLOCK,
    ecr,
    stages,
    alarms,
    triggers: triggers.sort((a, b) => a.at - b.at || a.order - b.order).map((t) => t.trigger),
    script,
  };
}

/** The scenario document of a seed. */
export function scenarioForSeed(seed: number): Record<string, unknown> {
  return scenarioOf(historyOf(seed), `model history seed ${seed}`);
}

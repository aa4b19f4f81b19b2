/**
 * Step keys: the one place that spells them. A ledger event's `stepKey` makes its write idempotent
 * (`Ledger.append` with a key already in the release's chain returns the recorded event and writes
 * nothing), so a retried Lambda never records a step twice. The keys are stored data: an existing
 * ledger holds them, and a key spelled differently would let a retry write a second event. The
 * spellings below are therefore fixed (test/unit/step-keys.test.ts pins each one).
 *
 *   release.started | release.finished | release.attributed          once per release
 *   release.abort-requested                                           once per release (decision 053)
 *   stage:<stage>:<step>                                              once per release and stage
 *   stage:<stage>:at-deploy:<attempt>:<what>                          once per deploy attempt (deploy-check)
 *   stage:<stage>:at-rollback:gate:window                             the window checked again before a rollback
 *   stage:<stage>:cluster:<cluster>:<step>                            once per release, stage and cluster of a wave stage
 *   stage:<stage>:wave:<k>:<step>                                     once per release, stage and wave (decision 044)
 *   stage:<stage>:approval:<n>                                        the n-th of several approvals of a stage (decision 050)
 *   stage:<stage>:plan:<n>[:<step>]                                   once per Terraform plan n of the stage (decision 049)
 *
 * A stage is a Kubernetes DNS label (no `:`), so a key splits back into its parts (`parseStepKey`).
 */

/** Release-level steps, each recorded once per release. */
export const RELEASE_STEP = {
  started: 'release.started',
  finished: 'release.finished',
  /** Who pushed the image (CloudTrail PutImage), recorded by intake. */
  attributed: 'release.attributed',
  /** `gantry abort` (decision 053): the first abort request of the release; a replayed or repeated one records nothing. */
  abortRequested: 'release.abort-requested',
} as const;

/** Where the release or rollback is waiting. */
export type WaitingFor = 'approval' | 'lease' | 'scan';

const stage = (name: string, step: string): string => `stage:${name}:${step}`;

/** Stage-level step keys, each recorded once per release and stage (or per its extra parts). */
export const stageStep = {
  started: (s: string) => stage(s, 'started'),
  finished: (s: string) => stage(s, 'finished'),
  promoted: (s: string) => stage(s, 'promoted'),

  leaseAcquired: (s: string) => stage(s, 'lease.acquired'),
  leaseReleased: (s: string) => stage(s, 'lease.released'),
  leaseLost: (s: string) => stage(s, 'lease.lost'),

  /** A gate's verdict at the stage (`window`, `approval`, `bake`, an image gate …). */
  gate: (s: string, gate: string) => stage(s, `gate:${gate}`),
  /** Waiting for an approval, the lease or a scan: once per stage. */
  waiting: (s: string, what: WaitingFor) => stage(s, `waiting:${what}`),
  /** Waiting for a deploy window: once per window opening it waits for. */
  waitingForWindow: (s: string, until: string) => stage(s, `waiting:window:${until}`),

  /** A bake of the stage; with a phase (`canary-2`, `wave-1`: decision 047), one of the bakes inside the stage. */
  bakeStarted: (s: string, phase?: string) => stage(s, phase ? `bake.started:${phase}` : 'bake.started'),
  bakeFinished: (s: string, phase?: string) => stage(s, phase ? `bake.finished:${phase}` : 'bake.finished'),
  /** The `bake` gate's verdict of a phase's bake (the stage's own bake records `gate(s, 'bake')`). */
  phaseBakeGate: (s: string, phase: string) => stage(s, `gate:bake:${phase}`),
  /** An alarm event the bake did not act on: once per alarm and state change. */
  bakeEventIgnored: (s: string, alarm: string, changedAt: string) => stage(s, `bake.event-ignored:${alarm}:${changedAt}`),

  deployStarted: (s: string) => stage(s, 'deploy.started'),
  deployFinished: (s: string) => stage(s, 'deploy.finished'),

  rollbackStarted: (s: string) => stage(s, 'rollback.started'),
  rollbackDeployStarted: (s: string) => stage(s, 'rollback.deploy.started'),
  rollbackDeployFinished: (s: string) => stage(s, 'rollback.deploy.finished'),
  rollbackFinished: (s: string) => stage(s, 'rollback.finished'),

  /** The controls taken again right before a deploy (deploy-check): once per deploy attempt and control. */
  atDeploy: (s: string, attempt: number, what: string) => stage(s, `at-deploy:${attempt}:${what}`),
  /** A canary step (docs/decisions/043-canary-steps.md): `started`, `passed` or `aborted`, once per step (1-based). */
  canaryStep: (s: string, step: number, what: 'started' | 'passed' | 'aborted') => stage(s, `canary:${step}:${what}`),
  /** Gate `window` checked again before a canary step raises the traffic, or before the promotion (`promotion`). */
  canaryWindow: (s: string, at: number | 'promotion') => stage(s, `canary:${at}:gate:window`),
  /** The canary analysis of one step (gate `canary.analysis`). */
  canaryAnalysis: (s: string, step: number) => stage(s, `canary:${step}:gate:canary.analysis`),
  /** One cluster's run in a wave stage (decision 044): `deploy.started`, `deploy.finished`, `rollback.deploy.started`, `rollback.deploy.finished`. */
  cluster: (s: string, cluster: string, step: 'deploy.started' | 'deploy.finished' | 'rollback.deploy.started' | 'rollback.deploy.finished') =>
    stage(s, `cluster:${cluster}:${step}`),
  /** A wave of a wave stage: `started`, `finished` (1-based wave number). */
  wave: (s: string, wave: number, step: 'started' | 'finished') => stage(s, `wave:${wave}:${step}`),
  /** The n-th accepted approval of a stage that requires several (decision 050), n = 1, 2, …: one person per place in the count. */
  approvalRecorded: (s: string, n: number) => stage(s, `approval:${n}`),
  /** A Terraform stage with an approval (decision 049): its plan n (1-based), recorded as `plan.recorded`. */
  plan: (s: string, n: number) => stage(s, `plan:${n}`),
  /** A step of plan n's round (its approval wait and decision, its apply) when n > 1: plan 1 keeps the stage's own keys. */
  planRound: (s: string, n: number, step: string) => stage(s, `plan:${n}:${step}`),
  /** A gate taken again right before a rollback deploys. */
  atRollbackGate: (s: string, gate: 'window') => stage(s, `at-rollback:gate:${gate}`),
  /** A drill's record of its figures (decision 052): once per drill. */
  drillRecorded: (s: string) => stage(s, 'drill.recorded'),
} as const;

/** A step key split into its parts: `stage` is absent for a release-level step. */
export interface ParsedStepKey {
  readonly stage?: string;
  readonly step: string;
}

/** Split a step key; `undefined` for a text that is not one (an empty stage or step). */
export function parseStepKey(key: string): ParsedStepKey | undefined {
  if (!key.startsWith('stage:')) return key === '' ? undefined : { step: key };
  const rest = key.slice('stage:'.length);
  const colon = rest.indexOf(':');
  if (colon <= 0 || colon === rest.length - 1) return undefined;
  return { stage: rest.slice(0, colon), step: rest.slice(colon + 1) };
}

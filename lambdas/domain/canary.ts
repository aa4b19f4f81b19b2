/**
 * Canary steps of a Kubernetes stage (`deploy.rollout`, docs/decisions/043-canary-steps.md): the canary's target,
 * each step's replica count, the HTTPRoute PUT that weighs the stable and canary backendRefs, the PUT that scales a
 * Deployment, and the analysis verdict (canary vs stable over a step's bake). Pure: no AWS SDK, no clock.
 */
import type { StageConfig } from './config';
import { K8S_NAME_PATTERN } from './config';
import { ANNOTATIONS, type DeploymentView, deploymentPath, KubernetesDriverError, planUpdate, type RolloutTarget } from './rollout';

/** A canary step that cannot be taken: a route without the two backendRefs, an object that is not the one named. */
export class CanaryStepError extends Error {
  override readonly name = 'CanaryStepError';
}

/** Set on the canary Deployment by every canary write (metadata only): this Deployment is a stage's canary. */
export const CANARY_ANNOTATION = 'gantry.dev/canary';

/** One step as the workflow runs it. */
export interface CanaryStepPlan {
  /** 0-based position in `rollout.steps`. */
  readonly index: number;
  /** 1-based, as people say it ("step 2"). */
  readonly number: number;
  readonly weight: number;
  /** 0: the step does not bake (nor analyse). */
  readonly bakeMinutes: number;
  readonly last: boolean;
}

/** The HTTPRoute a `gateway-api` canary weighs. */
export interface CanaryRouteTarget {
  readonly namespace: string;
  readonly name: string;
  /** `/apis/gateway.networking.k8s.io/v1/namespaces/<ns>/httproutes/<name>` */
  readonly path: string;
  readonly rule: number;
  readonly stableService: string;
  readonly canaryService: string;
}

/** What the plan adds to a Kubernetes target when the stage is a canary (`$.kube.target.canary`). */
export interface CanaryTarget {
  readonly traffic: 'gateway-api' | 'replicas';
  /** The canary Deployment as a rollout target: same cluster, namespace, container and image as the stable one. */
  readonly deployment: RolloutTarget;
  readonly steps: readonly CanaryStepPlan[];
  readonly alarms: readonly string[];
  readonly analysis: boolean;
  readonly route?: CanaryRouteTarget;
}

/** The gateway.networking.k8s.io/v1 path of an HTTPRoute; both names must be DNS labels. */
export function httpRoutePath(namespace: string, name: string): string {
  for (const [v, what] of [
    [namespace, 'namespace'],
    [name, 'HTTPRoute name'],
  ] as const)
    if (!K8S_NAME_PATTERN.test(v)) throw new KubernetesDriverError(`refusing to use ${what} ${JSON.stringify(v)} in a Kubernetes request (expected ${K8S_NAME_PATTERN.source})`);
  return `/apis/gateway.networking.k8s.io/v1/namespaces/${namespace}/httproutes/${name}`;
}

/** The canary part of a Kubernetes stage's target, or undefined for a stage without `rollout`. */
export function canaryTarget(stage: StageConfig, stable: RolloutTarget): CanaryTarget | undefined {
  if (stage.deploy.driver !== 'kubernetes' || !stage.deploy.rollout) return undefined;
  const r = stage.deploy.rollout;
  const name = r.canaryDeployment ?? `${stage.deploy.deployment}-canary`;
  const steps = r.steps.map((s, i) => ({ index: i, number: i + 1, weight: s.weight, bakeMinutes: s.bakeMinutes ?? 0, last: i === r.steps.length - 1 }));
  const route = r.route
    ? {
        namespace: r.route.namespace ?? stage.namespace,
        name: r.route.name,
        path: httpRoutePath(r.route.namespace ?? stage.namespace, r.route.name),
        rule: r.route.rule,
        stableService: r.stableService ?? stage.deploy.deployment,
        canaryService: r.canaryService ?? name,
      }
    : undefined;
  return {
    traffic: r.traffic,
    deployment: { ...stable, deployment: name, path: deploymentPath(stable.namespace, name) },
    steps,
    alarms: r.canaryAlarms,
    analysis: r.analysis !== undefined,
    ...(route ? { route } : {}),
  };
}

/**
 * The canary's replicas at a step: the step's share of the stable's replica count, rounded UP, at least 1 —
 * `ceil(stable × weight / 100)`. With traffic `replicas` this count IS the split, and it is approximate: the
 * Service spreads requests over stable + canary pods, so the canary gets canary / (stable + canary) of them
 * (4 stable, 25 %: 1 canary pod, 20 % of the traffic; 100 %: as many pods as the stable, half of it).
 */
export function canaryReplicas(stableReplicas: number, weight: number): number {
  return Math.max(1, Math.ceil((Math.max(0, stableReplicas) * weight) / 100));
}

/** The share of requests a `replicas` canary gets: canary / (stable + canary) pods, in %. */
export function replicasShare(stableReplicas: number, canary: number): number {
  return stableReplicas + canary === 0 ? 0 : Math.round((canary * 1000) / (stableReplicas + canary)) / 10;
}

/** The PUT of the canary Deployment for a step: the release's image (as the stable's update sets it) and the step's replicas. */
export function planCanaryUpdate(
  canary: RolloutTarget,
  d: DeploymentView,
  replicas: number,
  now: Date,
): { requestBody: Record<string, unknown>; deadline: string; reason: string; evidence: unknown } {
  const plan = planUpdate(canary, d, now);
  if (plan.decision !== 'PUT') throw new CanaryStepError(`canary ${plan.reason}`);
  const body = plan.requestBody as { metadata: { annotations: Record<string, string> }; spec: Record<string, unknown> };
  const metadata = { ...body.metadata, annotations: { ...body.metadata.annotations, [CANARY_ANNOTATION]: 'true' } };
  return {
    requestBody: { ...body, metadata, spec: { ...body.spec, replicas } },
    deadline: plan.deadline,
    reason: `${plan.reason}; ${replicas} replica(s)`,
    evidence: plan.evidence,
  };
}

/** The PUT that sets a Deployment's replicas only (the pod template as read): scaling the canary down to 0. */
export function planScale(target: RolloutTarget, d: DeploymentView, replicas: number): { requestBody: Record<string, unknown>; reason: string } {
  const metadata = d.metadata;
  if (!metadata || metadata.name !== target.deployment || metadata.namespace !== target.namespace)
    throw new CanaryStepError(`the object read is not deployment ${target.namespace}/${target.deployment} (got ${metadata?.namespace ?? '?'}/${metadata?.name ?? '?'})`);
  const { managedFields: _managedFields, ...kept } = metadata;
  return {
    requestBody: {
      apiVersion: d.apiVersion ?? 'apps/v1',
      kind: d.kind ?? 'Deployment',
      metadata: {
        ...kept,
        ...(d.resourceVersion ? { resourceVersion: d.resourceVersion } : {}),
        annotations: { ...(metadata.annotations ?? {}), [ANNOTATIONS.release]: target.releaseId, [ANNOTATIONS.stage]: target.stage, [CANARY_ANNOTATION]: 'true' },
      },
      spec: { ...d.spec, replicas },
    },
    reason: `deployment ${target.namespace}/${target.deployment}: ${d.spec.replicas ?? 1} → ${replicas} replica(s)`,
  };
}

/** An HTTPRoute as the workflow selected it from the eks:call GET (apiVersion, kind, metadata, spec). */
export interface HttpRouteView {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: { readonly name?: string; readonly namespace?: string; readonly resourceVersion?: string; readonly [f: string]: unknown };
  readonly spec?: {
    readonly rules?: ReadonlyArray<{ readonly backendRefs?: ReadonlyArray<Record<string, unknown>>; readonly [f: string]: unknown }>;
    readonly [f: string]: unknown;
  };
}

/**
 * The PUT of the HTTPRoute that sends `canaryWeight` % to the canary Service and the rest to the stable one: the route
 * as read (resourceVersion kept: a change since the GET is a 409), the weights of the rule's two backendRefs set to
 * `100 − w` (stable) and `w` (canary), every other field and backendRef as read. A route without that rule or without
 * a backendRef to each Service is refused (CanaryStepError): Gantry never adds or removes backends.
 */
export function planRouteWeights(route: CanaryRouteTarget, r: HttpRouteView, canaryWeight: number): { requestBody: Record<string, unknown>; reason: string } {
  if (!Number.isInteger(canaryWeight) || canaryWeight < 0 || canaryWeight > 100)
    throw new CanaryStepError(`a canary weight is a whole percentage from 0 to 100, got ${canaryWeight}`);
  const m = r.metadata;
  if (!m || m.name !== route.name || (m.namespace !== undefined && m.namespace !== route.namespace))
    throw new CanaryStepError(`the object read is not httproute ${route.namespace}/${route.name} (got ${m?.namespace ?? '?'}/${m?.name ?? '?'})`);
  const rules = r.spec?.rules ?? [];
  const rule = rules[route.rule];
  if (!rule) throw new CanaryStepError(`httproute ${route.namespace}/${route.name} has no rule ${route.rule} (it has ${rules.length})`);
  const refs = rule.backendRefs ?? [];
  const isService = (b: Record<string, unknown>, name: string) => b.name === name && (b.kind === undefined || b.kind === 'Service') && (b.group === undefined || b.group === '');
  for (const svc of [route.stableService, route.canaryService])
    if (!refs.some((b) => isService(b, svc)))
      throw new CanaryStepError(
        `httproute ${route.namespace}/${route.name} rule ${route.rule} has no backendRef to Service ${svc} (backendRefs: ${refs.map((b) => String(b.name)).join(', ') || 'none'})`,
      );
  const weighed = refs.map((b) =>
    isService(b, route.stableService) ? { ...b, weight: 100 - canaryWeight } : isService(b, route.canaryService) ? { ...b, weight: canaryWeight } : { ...b },
  );
  const { managedFields: _managedFields, ...kept } = m;
  return {
    requestBody: {
      apiVersion: r.apiVersion ?? 'gateway.networking.k8s.io/v1',
      kind: r.kind ?? 'HTTPRoute',
      metadata: kept,
      spec: { ...r.spec, rules: rules.map((x, i) => (i === route.rule ? { ...x, backendRefs: weighed } : x)) },
    },
    reason: `httproute ${route.namespace}/${route.name}: ${route.stableService} ${100 - canaryWeight} %, ${route.canaryService} ${canaryWeight} %`,
  };
}

// ---------------------------------------------------------------- analysis

export interface AnalysisSettings {
  readonly maxRatio: number;
  readonly minSamples: number;
}

export interface AnalysisVerdict {
  readonly result: 'PASS' | 'FAIL';
  readonly reason: string;
  readonly stable: { readonly samples: number; readonly value: number | null };
  readonly canary: { readonly samples: number; readonly value: number | null };
  readonly maxRatio: number;
  readonly minSamples: number;
  /** canary / stable, or null when the stable's value is 0 or missing. */
  readonly ratio: number | null;
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
const round = (x: number | null) => (x === null ? null : Math.round(x * 10_000) / 10_000);

/**
 * Canary vs stable over a step's bake: each side's value is the mean of its datapoints (one per period, the metric's
 * stat). FAIL "not enough samples" when either side has fewer than minSamples (it never passes without them); FAIL when
 * canary > stable × maxRatio (a stable of 0 makes any canary above 0 a FAIL); PASS otherwise.
 */
export function decideAnalysis(s: AnalysisSettings, stable: readonly number[], canary: readonly number[]): AnalysisVerdict {
  const clean = (xs: readonly number[]) => xs.filter((x) => Number.isFinite(x));
  const st = clean(stable);
  const ca = clean(canary);
  const sv = mean(st);
  const cv = mean(ca);
  const ratio = sv !== null && cv !== null && sv !== 0 ? cv / sv : null;
  const base = {
    stable: { samples: st.length, value: round(sv) },
    canary: { samples: ca.length, value: round(cv) },
    maxRatio: s.maxRatio,
    minSamples: s.minSamples,
    ratio: round(ratio),
  };
  if (st.length < s.minSamples || ca.length < s.minSamples)
    return { ...base, result: 'FAIL', reason: `not enough samples: stable ${st.length}, canary ${ca.length}, at least ${s.minSamples} each needed` };
  const limit = (sv as number) * s.maxRatio;
  if ((cv as number) > limit)
    return { ...base, result: 'FAIL', reason: `canary ${round(cv)} > stable ${round(sv)} × ${s.maxRatio}${ratio !== null ? ` (ratio ${round(ratio)})` : ''}` };
  return { ...base, result: 'PASS', reason: `canary ${round(cv)} ≤ stable ${round(sv)} × ${s.maxRatio} (${ca.length} and ${st.length} samples)` };
}

/** "canary aborted at step 2 (25 %)" */
export function abortWords(step: Pick<CanaryStepPlan, 'number' | 'weight'> | undefined): string {
  return step ? `canary aborted at step ${step.number} (${step.weight} %)` : 'canary aborted before its first step';
}

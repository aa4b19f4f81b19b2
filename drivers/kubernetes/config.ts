/** The Kubernetes driver's `deploy` block (docs/config.md). Pure: zod only. */
import * as z from 'zod';
import { k8sName, positiveMinutes } from '../../lambdas/domain/config-fields';

/** The traffic routers a canary can use (docs/decisions/043-canary-steps.md). */
export const CANARY_TRAFFIC = ['gateway-api', 'replicas'] as const;
/** A canary may have this many steps at most (each step is a loop of the workflow: the history budget counts them). */
export const MAX_CANARY_STEPS = 10;

const wholeNumber = (min: number, max: number, what = 'a whole number') =>
  z
    .number({ error: `expected ${what} from ${min} to ${max}` })
    .int(`expected ${what} from ${min} to ${max}`)
    .min(min, `expected ${what} from ${min} to ${max}`)
    .max(max, `expected ${what} from ${min} to ${max}`);

const alarmName = z.string().regex(/^[^\u0000-\u001f]{1,255}$/, 'expected a CloudWatch alarm name');
/** A CloudWatch dimension set: name → value (GetMetricData's Dimensions). */
const dimensions = z
  .record(z.string().regex(/^[^\u0000-\u001f]{1,255}$/, 'expected a dimension name'), z.string().min(1, 'expected a dimension value').max(1024, 'expected a dimension value'))
  .refine((d) => Object.keys(d).length >= 1 && Object.keys(d).length <= 30, { message: 'expected 1 to 30 dimensions' });

/** One canary step: the share of traffic on the canary, and how long it bakes there (0 or absent: no bake, no analysis). */
const canaryStep = z.strictObject({
  weight: wholeNumber(1, 100, 'a whole percentage'),
  bakeMinutes: wholeNumber(0, 1440).optional(),
});

/** Compare a metric of the canary with the stable's over each step's bake (CloudWatch GetMetricData). */
const canaryAnalysis = z.strictObject({
  metric: z.strictObject({
    namespace: z.string().regex(/^[^:][^\u0000-\u001f]{0,254}$/, 'expected a CloudWatch namespace'),
    name: z.string().regex(/^[^\u0000-\u001f]{1,255}$/, 'expected a CloudWatch metric name'),
    stat: z.string().regex(/^(Average|Sum|Minimum|Maximum|SampleCount|p\d{1,2}(\.\d{1,2})?)$/, 'expected Average, Sum, Minimum, Maximum, SampleCount or a percentile such as p99'),
  }),
  stableDimensions: dimensions,
  canaryDimensions: dimensions,
  /** FAIL when the canary's value > the stable's × maxRatio. */
  maxRatio: z.number({ error: 'expected a number from 1 to 100' }).min(1, 'expected a number from 1 to 100').max(100, 'expected a number from 1 to 100'),
  /** Datapoints needed on BOTH series before a verdict: fewer is a FAIL ("not enough samples"). */
  minSamples: wholeNumber(1, 1440),
  periodSeconds: wholeNumber(60, 3600).default(60),
});

const route = z.strictObject({
  name: k8sName('an HTTPRoute name'),
  /** Default: the stage's namespace. */
  namespace: k8sName('a namespace').optional(),
  /** The index of the route's rule whose backendRefs carry the two Services (default 0). */
  rule: wholeNumber(0, 15).default(0),
});

/** `rollout`: a canary in steps (docs/config.md, docs/decisions/043-canary-steps.md). */
export const canaryRollout = z
  .strictObject({
    strategy: z.literal('canary', { error: 'expected "canary" (the only rollout strategy)' }),
    traffic: z.enum(CANARY_TRAFFIC, { error: `expected one of ${CANARY_TRAFFIC.join(', ')}` }),
    steps: z.array(canaryStep).min(1, 'expected at least one step (the last with weight 100)').max(MAX_CANARY_STEPS, `expected at most ${MAX_CANARY_STEPS} steps`),
    /** Alarms on the canary, watched by each step's bake besides the stage's own. */
    canaryAlarms: z.array(alarmName).max(50, 'expected at most 50 alarm names').default([]),
    analysis: canaryAnalysis.optional(),
    /** The canary Deployment (default `<deployment>-canary`). */
    canaryDeployment: k8sName('a Deployment name').optional(),
    /** The HTTPRoute whose backendRefs Gantry weighs (required with traffic "gateway-api"). */
    route: route.optional(),
    /** The Services the route's backendRefs name (default `<deployment>` and `<canaryDeployment>`). */
    stableService: k8sName('a Service name').optional(),
    canaryService: k8sName('a Service name').optional(),
  })
  .superRefine((r, ctx) => {
    let previous = 0;
    r.steps.forEach((s, i) => {
      if (s.weight <= previous)
        ctx.addIssue({ code: 'custom', path: ['steps', i, 'weight'], message: `expected a weight above the previous step's (${previous}): weights strictly increase` });
      previous = s.weight;
    });
    const last = r.steps.at(-1);
    if (last && last.weight !== 100)
      ctx.addIssue({ code: 'custom', path: ['steps', r.steps.length - 1, 'weight'], message: `expected the last step to have weight 100, got ${last.weight}` });
    if (r.traffic === 'gateway-api' && !r.route)
      ctx.addIssue({ code: 'custom', path: ['route'], message: 'expected a route ({ name, namespace?, rule? }): traffic "gateway-api" weighs the backendRefs of an HTTPRoute' });
    if (r.traffic === 'replicas' && r.route)
      ctx.addIssue({ code: 'custom', path: ['route'], message: 'expected no route with traffic "replicas" (no router: the replica counts make the split)' });
    if (r.analysis && !r.steps.some((s) => (s.bakeMinutes ?? 0) > 0))
      ctx.addIssue({ code: 'custom', path: ['analysis'], message: "expected at least one step with bakeMinutes: the analysis reads the metric over a step's bake" });
  });
export type CanaryRollout = z.output<typeof canaryRollout>;

/** Native driver: Step Functions `eks:call` patches the Deployment's container image and watches its rollout. */
export const kubernetesDeploy = z
  .strictObject({
    driver: z.literal('kubernetes'),
    deployment: k8sName('a Deployment name'),
    container: k8sName('a container name'),
    timeoutMinutes: positiveMinutes(120).default(10),
    /** Seconds between rollout status reads. */
    pollSeconds: z
      .number({ error: 'expected a whole number of seconds from 5 to 300' })
      .int('expected a whole number of seconds from 5 to 300')
      .min(5, 'expected a whole number of seconds from 5 to 300')
      .max(300, 'expected a whole number of seconds from 5 to 300')
      .default(10),
    /** A canary in steps instead of replacing the whole Deployment at once (docs/config.md "rollout"). */
    rollout: canaryRollout.optional(),
  })
  .superRefine((d, ctx) => {
    const canary = d.rollout?.canaryDeployment ?? `${d.deployment}-canary`;
    if (d.rollout && canary === d.deployment)
      ctx.addIssue({ code: 'custom', path: ['rollout', 'canaryDeployment'], message: `expected a Deployment other than the stable one (${d.deployment})` });
    if (d.rollout && canary.length > 63)
      ctx.addIssue({
        code: 'custom',
        path: ['rollout', 'canaryDeployment'],
        message: `expected a canary Deployment name of at most 63 characters ("${canary}" is the default; set canaryDeployment)`,
      });
  });
export type KubernetesDeploy = z.output<typeof kubernetesDeploy>;

/** The canary Deployment of a canary stage. */
export const canaryDeploymentOf = (d: KubernetesDeploy): string => d.rollout?.canaryDeployment ?? `${d.deployment}-canary`;
